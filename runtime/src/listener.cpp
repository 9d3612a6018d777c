#include "listener.hpp"

#include "dialtone/log.hpp"
#include "dialtone/server.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace dialtone {

namespace {

constexpr uint64_t kAcceptPauseMs = 100; // back-off when out of descriptors
constexpr int kAcceptBatch = 64;         // per wakeup: one busy listener cannot starve the rest
constexpr int kBacklog = 4096;

// inet_ntop(AF_INET) without its sprintf: it runs for every request (Request::remote).
void format_ipv4(const void *addr, char *out, size_t cap) {
    const auto *b = static_cast<const unsigned char *>(addr);
    char text[INET_ADDRSTRLEN];
    size_t n = 0;
    for (int i = 0; i < 4; ++i) {
        unsigned v = b[i];
        if (v >= 100)
            text[n++] = static_cast<char>('0' + v / 100);
        if (v >= 10)
            text[n++] = static_cast<char>('0' + v / 10 % 10);
        text[n++] = static_cast<char>('0' + v % 10);
        text[n++] = i < 3 ? '.' : '\0';
    }
    if (n <= cap)
        memcpy(out, text, n);
    else if (cap > 0)
        out[0] = '\0'; // as inet_ntop leaves nothing usable when it does not fit
}

int bind_one(const ListenAddress &a, uint16_t port, std::string &err) {
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    if (inet_pton(AF_INET, a.host.c_str(), &reinterpret_cast<sockaddr_in *>(&ss)->sin_addr) == 1) {
        auto *in = reinterpret_cast<sockaddr_in *>(&ss);
        in->sin_family = family = AF_INET;
        in->sin_port = htons(port);
        len = sizeof(sockaddr_in);
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&ss);
        inet_pton(AF_INET6, a.host.c_str(), &in6->sin6_addr);
        in6->sin6_family = family = AF_INET6;
        in6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = strerror(errno);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // One listening socket per worker and address: the kernel spreads connections evenly and
    // no accept lock or hand-off between threads is needed.
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || listen(fd, kBacklog) != 0) {
        err = strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

uint16_t local_port(int fd) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
}

std::string bracketed(const std::string &host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

} // namespace

BoundSockets bind_listeners(const std::vector<ListenAddress> &listen, unsigned workers) {
    BoundSockets out;
    out.fds.resize(workers);
    for (const ListenAddress &a : listen) {
        uint16_t port = a.port;
        for (unsigned i = 0; i < workers; ++i) {
            std::string err;
            int fd = bind_one(a, port, err);
            if (fd < 0) {
                for (auto &per : out.fds)
                    for (int o : per)
                        ::close(o);
                throw StartError("server.listen: cannot listen on " + bracketed(a.host) + ":" +
                                 std::to_string(port) + ": " + err);
            }
            out.fds[i].push_back(fd);
            if (port == 0)
                port = local_port(fd); // the other workers' sockets share the port
        }
        out.bound.push_back({a.host, port});
        DT_LOG(LogLevel::info, "listening on %s:%u", bracketed(a.host).c_str(), port);
    }
    return out;
}

Listeners::Listeners(uv_loop_t *loop, ConnectionFn on_connection)
    : on_connection_(std::move(on_connection)), loop_(loop) {}

void Listeners::add(int fd) {
    auto s = std::make_unique<Socket>();
    s->fd = fd;
    s->owner = this;
    uv_poll_init_socket(loop_, &s->poll, fd);
    s->poll.data = s.get();
    sockets_.push_back(std::move(s));
}

void Listeners::start() {
    uv_timer_init(loop_, &pause_);
    pause_.data = this;
    started_ = true;
    resume();
}

void Listeners::resume() {
    for (auto &s : sockets_)
        uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

void Listeners::shutdown_reads() {
    for (auto &s : sockets_)
        ::shutdown(s->fd, SHUT_RD);
}

void Listeners::close() {
    if (closed_)
        return;
    closed_ = true;
    for (auto &s : sockets_) {
        uv_poll_stop(&s->poll);
        uv_close(reinterpret_cast<uv_handle_t *>(&s->poll), nullptr);
        ::close(s->fd);
    }
    if (started_)
        uv_close(reinterpret_cast<uv_handle_t *>(&pause_), nullptr);
}

void Listeners::on_readable(uv_poll_t *h, int status, int) {
    auto *s = static_cast<Socket *>(h->data);
    if (status < 0)
        return;
    s->owner->accept_from(*s);
}

void Listeners::accept_from(Socket &s) {
    for (int i = 0; i < kAcceptBatch && !closed_; ++i) {
        sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd =
            accept4(s.fd, reinterpret_cast<sockaddr *>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EINVAL) { // shut down by shutdown_reads(); close() closes it
                uv_poll_stop(&s.poll);
                return;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                DT_LOG(LogLevel::warn,
                       "accept: %s: pausing accepts for %llu ms (raise the "
                       "open-files limit or lower limits.max_connections)",
                       strerror(errno), static_cast<unsigned long long>(kAcceptPauseMs));
                pause();
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        on_connection_(fd, ss);
    }
}

void Listeners::pause() {
    for (auto &s : sockets_)
        uv_poll_stop(&s->poll);
    uv_timer_start(&pause_, on_pause_over, kAcceptPauseMs, 0);
}

void Listeners::on_pause_over(uv_timer_t *t) {
    auto *self = static_cast<Listeners *>(t->data);
    if (!self->closed_)
        self->resume();
}

void format_peer(const sockaddr_storage &ss, char *out, size_t cap) {
    if (ss.ss_family == AF_INET6) {
        auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            format_ipv4(&a->sin6_addr.s6_addr[12], out, cap);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, out, static_cast<socklen_t>(cap));
    } else if (ss.ss_family == AF_INET) {
        format_ipv4(&reinterpret_cast<const sockaddr_in *>(&ss)->sin_addr, out, cap);
    } else {
        snprintf(out, cap, "-");
    }
}

} // namespace dialtone
