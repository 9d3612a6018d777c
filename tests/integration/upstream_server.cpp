#include "upstream_server.hpp"

#include "runtime/src/http.hpp" // reason_phrase

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dialtone::test {

namespace {

using Clock = std::chrono::steady_clock;

// Bounds that keep a runaway client from filling the test's memory.
constexpr std::size_t max_head = 1 << 20;
constexpr std::size_t max_body = 64 << 20;

bool has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

std::string chunk(std::string_view data) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return std::string(size).append(data).append("\r\n");
}

// The request line and fields of `head` (which ends in CRLF CRLF); an error text, or "".
std::string parse_request_head(std::string_view head, UpstreamRequest &request) {
    head.remove_suffix(4);
    std::size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1)
        return "malformed request line";
    request.method = std::string(line.substr(0, sp1));
    request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    request.version = std::string(line.substr(sp2 + 1));
    if (request.version != "HTTP/1.1" && request.version != "HTTP/1.0")
        return "unknown version";
    if (line_end != std::string_view::npos &&
        !parse_field_lines(head.substr(line_end + 2), request.fields))
        return "malformed field line";
    return "";
}

// Whether the connection ends after this request's answer (RFC 9112 §9.3).
bool request_wants_close(const UpstreamRequest &request) {
    auto connection = request.field("Connection");
    if (request.version == "HTTP/1.0")
        return !connection || !contains_token(*connection, "keep-alive");
    return connection && contains_token(*connection, "close");
}

enum class Io { ok, timeout, closed, stopped };

// One accepted socket whose every wait also watches the server's stop signal. Closes the
// socket when it goes.
class Wire {
  public:
    Wire(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
    ~Wire() { ::close(fd_); }
    Wire(const Wire &) = delete;
    Wire &operator=(const Wire &) = delete;

    // Waits for `events` on the socket for up to `timeout_ms` (-1: until stopped).
    Io wait(short events, int timeout_ms) const {
        pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
        for (;;) {
            int rc = poll(fds, 2, timeout_ms);
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc < 0 || fds[1].revents)
                return Io::stopped;
            return rc == 0 ? Io::timeout : Io::ok;
        }
    }

    // Sleeps for `delay` unless stopped first.
    bool sleep(Millis delay) const {
        pollfd stop{stop_fd_, POLLIN, 0};
        auto until = Clock::now() + delay;
        for (;;) {
            auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
            if (left <= 0)
                return true;
            if (poll(&stop, 1, static_cast<int>(left)) > 0)
                return false;
        }
    }

    // Appends what arrives within `timeout_ms` (-1: until stopped) to `buffer`.
    Io fill(std::string &buffer, int timeout_ms) const {
        for (;;) {
            Io ready = wait(POLLIN, timeout_ms);
            if (ready != Io::ok)
                return ready;
            char data[16384];
            ssize_t n = ::recv(fd_, data, sizeof data, 0);
            if (n > 0) {
                buffer.append(data, static_cast<std::size_t>(n));
                return Io::ok;
            }
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            return Io::closed;
        }
    }

    bool send_all(std::string_view data) const {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                if (wait(POLLOUT, -1) != Io::ok)
                    return false;
            } else {
                return false;
            }
        }
        return true;
    }

    bool send_paced(std::string_view data, std::size_t bytes_per_second) const {
        // Slices of ~20 ms keep the rate smooth without a wake-up per byte.
        std::size_t slice = std::max<std::size_t>(1, bytes_per_second / 50);
        auto start = Clock::now();
        for (std::size_t sent = 0; sent < data.size(); sent += slice) {
            auto due = start + pacing_due(sent, bytes_per_second);
            if (!sleep(std::chrono::duration_cast<Millis>(due - Clock::now())) ||
                !send_all(data.substr(sent, slice)))
                return false;
        }
        return true;
    }

    // Reads and drops whatever the client sends until it goes or the server stops.
    void hold() const {
        std::string sink;
        while (fill(sink, -1) == Io::ok)
            sink.clear();
    }

    void shutdown_write() const { ::shutdown(fd_, SHUT_WR); }
    void set_reset_on_close() const {
        linger l{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }

  private:
    int fd_;
    int stop_fd_;
};

// Reads the body `request`'s fields announce from the front of `buffer` (consuming it). An
// error text, "" when the body is complete, or "gone" when the client left or the server stops.
std::string read_body(const Wire &wire, std::string &buffer, UpstreamRequest &request) {
    auto te = request.field("Transfer-Encoding");
    std::size_t lengths = request.field_count("Content-Length");
    if (te && lengths > 0)
        return "both Transfer-Encoding and Content-Length";
    if (lengths > 1)
        return "more than one Content-Length";
    auto expect = request.field("Expect");
    if ((te || lengths == 1) && expect && contains_token(*expect, "100-continue") &&
        !wire.send_all("HTTP/1.1 100 Continue\r\n\r\n"))
        return "gone";
    if (te) {
        if (!contains_token(*te, "chunked"))
            return "Transfer-Encoding without chunked";
        request.chunked = true;
        for (;;) {
            bool invalid = false;
            std::string body;
            std::size_t end = dechunk(buffer, 0, body, invalid);
            if (invalid)
                return "malformed chunked body";
            if (end != std::string::npos) {
                request.body = std::move(body);
                request.raw_body = buffer.substr(0, end);
                buffer.erase(0, end);
                return "";
            }
            if (buffer.size() > max_body)
                return "chunked body too large";
            if (wire.fill(buffer, -1) != Io::ok)
                return "gone";
        }
    }
    if (lengths == 0)
        return "";
    const std::string text = *request.field("Content-Length");
    if (text.empty() || text.size() > 12 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return "malformed Content-Length";
    std::size_t length = std::stoull(text);
    if (length > max_body)
        return "body too large";
    while (buffer.size() < length)
        if (wire.fill(buffer, -1) != Io::ok)
            return "gone";
    request.body = request.raw_body = buffer.substr(0, length);
    buffer.erase(0, length);
    return "";
}

} // namespace

Millis pacing_due(std::size_t sent, std::size_t bytes_per_second) {
    if (bytes_per_second == 0)
        return Millis(0);
    return Millis(static_cast<long long>(sent * 1000 / bytes_per_second));
}

// --- Reply

Reply Reply::ok(std::string body) { return status(200, std::move(body)); }

Reply Reply::status(int code, std::string body) {
    Reply reply(Framing::length, code, Ending::keep_alive);
    reply.body_.push_back(std::move(body));
    return reply;
}

Reply Reply::chunked(std::vector<std::string> chunks) {
    Reply reply(Framing::chunked, 200, Ending::keep_alive);
    reply.body_ = std::move(chunks);
    return reply;
}

Reply Reply::until_close(std::string body) {
    Reply reply(Framing::until_close, 200, Ending::close);
    reply.body_.push_back(std::move(body));
    return reply;
}

Reply Reply::raw(std::string bytes) {
    Reply reply(Framing::raw, 0, Ending::keep_alive);
    reply.body_.push_back(std::move(bytes));
    return reply;
}

Reply Reply::stall() { return Reply(Framing::raw, 0, Ending::stall); }

Reply Reply::reset() { return Reply(Framing::raw, 0, Ending::reset); }

Reply Reply::echo() { return Reply(Framing::echo, 200, Ending::keep_alive); }

Reply Reply::header(std::string name, std::string value) const {
    Reply copy = *this;
    copy.fields_.emplace_back(std::move(name), std::move(value));
    return copy;
}

Reply Reply::then_close() const {
    Reply copy = *this;
    copy.ending_ = Ending::close;
    return copy;
}

Reply Reply::then_echo_tunnel() const {
    Reply copy = *this;
    copy.ending_ = Ending::echo_tunnel;
    return copy;
}

Reply Reply::then_stall() const {
    Reply copy = *this;
    copy.ending_ = Ending::stall;
    return copy;
}

Reply Reply::then_reset() const {
    Reply copy = *this;
    copy.ending_ = Ending::reset;
    return copy;
}

Reply Reply::paced(std::size_t bytes_per_second) const {
    Reply copy = *this;
    copy.bytes_per_second_ = bytes_per_second;
    return copy;
}

Reply Reply::after(Millis delay) const {
    Reply copy = *this;
    copy.delay_ = delay;
    return copy;
}

std::string Reply::render(const UpstreamRequest &request) const {
    if (framing_ == Framing::raw)
        return body_.empty() ? std::string() : body_.front();

    std::string body;
    if (framing_ == Framing::echo)
        body = request.head + request.raw_body;
    for (const std::string &piece : body_)
        if (framing_ != Framing::chunked || !piece.empty())
            body.append(framing_ == Framing::chunked ? chunk(piece) : piece);
    if (framing_ == Framing::chunked)
        body.append("0\r\n\r\n");

    std::string out = "HTTP/1.1 " + std::to_string(status_) + " " +
                      std::string(http::reason_phrase(status_)) + "\r\n";
    if (framing_ == Framing::chunked)
        out.append("Transfer-Encoding: chunked\r\n");
    else if (framing_ != Framing::until_close && !has_no_body(status_))
        out.append("Content-Length: " + std::to_string(body.size()) + "\r\n");
    for (const auto &[name, value] : fields_)
        out.append(name).append(": ").append(value).append("\r\n");
    out.append("\r\n");
    if (request.method != "HEAD" && !has_no_body(status_))
        out.append(body);
    return out;
}

// --- UpstreamServer

struct UpstreamServer::Connection {
    int fd;
    std::size_t number;
    std::thread thread;
    std::atomic<bool> done{false};
};

UpstreamServer::UpstreamServer(std::uint16_t port) : port_(port) { start(); }

UpstreamServer::~UpstreamServer() { stop(); }

void UpstreamServer::start() {
    if (running())
        return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
        listen(fd, 1024) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        std::string why = std::strerror(errno);
        if (fd >= 0)
            ::close(fd);
        throw std::runtime_error(
            "upstream server: cannot listen on 127.0.0.1:" + std::to_string(port_) + ": " + why);
    }
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) {
        ::close(fd);
        throw std::runtime_error("upstream server: eventfd failed");
    }
    port_ = ntohs(address.sin_port);
    listener_ = fd;
    acceptor_ = std::thread([this] { accept_loop(); });
}

void UpstreamServer::stop() {
    if (!running())
        return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
    acceptor_.join();
    for (auto &connection : connections_)
        connection->thread.join();
    connections_.clear();
    ::close(listener_);
    ::close(stop_fd_);
    listener_ = stop_fd_ = -1;
}

void UpstreamServer::accept_loop() {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[1].revents)
            return;
        int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Join the threads of connections that have ended, so a long test holds only live ones.
        for (auto it = connections_.begin(); it != connections_.end();) {
            if ((*it)->done) {
                (*it)->thread.join();
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
        auto connection = std::make_unique<Connection>();
        connection->fd = fd;
        connection->number = ++accepted_;
        ++open_;
        Connection &c = *connection;
        connections_.push_back(std::move(connection));
        c.thread = std::thread([this, &c] {
            serve(c);
            --open_;
            c.done = true;
        });
    }
}

void UpstreamServer::serve(Connection &connection) {
    Wire wire(connection.fd, stop_fd_);
    std::string buffer;
    for (std::size_t sequence = 0;; ++sequence) {
        std::size_t head_end;
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
            if (buffer.size() > max_head) {
                UpstreamRequest request;
                request.connection = connection.number;
                request.sequence = sequence;
                request.head = buffer.substr(0, 1024);
                request.error = "head too large";
                record(std::move(request));
                wire.send_all("HTTP/1.1 431 Request Header Fields Too Large\r\n"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n");
                return;
            }
            long long idle = idle_ms_;
            int timeout = buffer.empty() && idle > 0 ? static_cast<int>(idle) : -1;
            if (wire.fill(buffer, timeout) != Io::ok)
                return; // idle timeout, the client left, or stop(): close
        }
        UpstreamRequest request;
        request.connection = connection.number;
        request.sequence = sequence;
        request.head = buffer.substr(0, head_end + 4);
        buffer.erase(0, head_end + 4);
        request.error = parse_request_head(request.head, request);
        if (request.error.empty())
            request.error = read_body(wire, buffer, request);
        if (request.error == "gone")
            return;
        if (!request.error.empty()) {
            record(std::move(request));
            wire.send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
            return;
        }
        Reply reply = reply_for(request);
        bool close_after = request_wants_close(request);
        std::string bytes = reply.render(request);
        record(std::move(request));

        if (!wire.sleep(reply.delay()))
            return;
        bool sent = reply.bytes_per_second() > 0 ? wire.send_paced(bytes, reply.bytes_per_second())
                                                 : wire.send_all(bytes);
        if (!sent)
            return;
        switch (reply.ending()) {
        case Reply::Ending::keep_alive:
            break;
        case Reply::Ending::close:
            wire.shutdown_write();
            return;
        case Reply::Ending::stall:
            wire.hold();
            return;
        case Reply::Ending::reset:
            wire.set_reset_on_close();
            return;
        case Reply::Ending::echo_tunnel:
            for (;;) {
                if (!buffer.empty() && !wire.send_all(buffer))
                    return;
                buffer.clear();
                if (wire.fill(buffer, -1) != Io::ok) {
                    wire.shutdown_write(); // the client's half-close, passed on; then the close
                    return;
                }
            }
        }
        if (close_after)
            return;
    }
}

void UpstreamServer::record(UpstreamRequest request) {
    MutexLock lock(mu_);
    requests_.push_back(std::move(request));
    arrived_.notify_all();
}

Reply UpstreamServer::reply_for(const UpstreamRequest &request) const {
    MutexLock lock(mu_);
    auto found = script_.find(request.target);
    if (found == script_.end())
        found = script_.find(request.target.substr(0, request.target.find('?')));
    return found == script_.end() ? default_ : found->second;
}

void UpstreamServer::on(const std::string &target, Reply reply) {
    MutexLock lock(mu_);
    script_.insert_or_assign(target, std::move(reply));
}

void UpstreamServer::set_default(Reply reply) {
    MutexLock lock(mu_);
    default_ = std::move(reply);
}

void UpstreamServer::close_idle_after(Millis idle) { idle_ms_ = idle.count(); }

std::vector<UpstreamRequest> UpstreamServer::requests() const {
    MutexLock lock(mu_);
    return requests_;
}

std::size_t UpstreamServer::request_count() const {
    MutexLock lock(mu_);
    return requests_.size();
}

std::optional<UpstreamRequest> UpstreamServer::last_request() const {
    MutexLock lock(mu_);
    if (requests_.empty())
        return std::nullopt;
    return requests_.back();
}

bool UpstreamServer::wait_requests(std::size_t count, Millis timeout) const {
    auto until = Clock::now() + timeout;
    MutexLock lock(mu_);
    while (requests_.size() < count)
        if (arrived_.wait_until(mu_, until) == std::cv_status::timeout)
            return requests_.size() >= count;
    return true;
}

} // namespace dialtone::test
