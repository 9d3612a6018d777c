#include "http_client.hpp"

#include "host_process.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dialtone::test {

namespace {

using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// Parses the status line and header lines of `head` (without the final CRLF CRLF).
bool parse_head(std::string_view head, HttpResponse &response) {
    std::size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ')
        return false;
    response.version = std::string(status_line.substr(0, 8));
    for (std::size_t i = 9; i < 12; i++)
        if (!std::isdigit(static_cast<unsigned char>(status_line[i])))
            return false;
    response.status = std::stoi(std::string(status_line.substr(9, 3)));
    response.reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : "";
    return line_end == std::string_view::npos ||
           parse_field_lines(head.substr(line_end + 2), response.headers);
}

} // namespace

bool contains_token(std::string_view list, std::string_view token) {
    std::string lower(list);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find(token) != std::string::npos;
}

std::optional<std::string> field_value(const Fields &fields, std::string_view name) {
    for (const auto &[key, value] : fields)
        if (iequals(key, name))
            return value;
    return std::nullopt;
}

std::size_t field_count(const Fields &fields, std::string_view name) {
    return static_cast<std::size_t>(std::count_if(
        fields.begin(), fields.end(), [&](const auto &f) { return iequals(f.first, name); }));
}

bool parse_field_lines(std::string_view lines, Fields &fields) {
    std::size_t start = 0;
    for (;;) {
        std::size_t line_end = lines.find("\r\n", start);
        std::string_view line = lines.substr(
            start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return false;
        fields.emplace_back(std::string(line.substr(0, colon)),
                            std::string(trim(line.substr(colon + 1))));
        if (line_end == std::string_view::npos)
            return true;
        start = line_end + 2;
    }
}

std::size_t dechunk(std::string_view data, std::size_t pos, std::string &body, bool &invalid) {
    for (;;) {
        std::size_t line_end = data.find("\r\n", pos);
        if (line_end == std::string_view::npos)
            return std::string_view::npos;
        std::string_view size_text = data.substr(pos, line_end - pos);
        size_text = size_text.substr(0, size_text.find(';'));
        if (size_text.empty() || size_text.size() > 15 ||
            !std::all_of(size_text.begin(), size_text.end(),
                         [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
            invalid = true;
            return std::string_view::npos;
        }
        std::size_t size = std::stoul(std::string(size_text), nullptr, 16);
        pos = line_end + 2;
        if (size == 0) {
            if (data.substr(pos, 2) == "\r\n")
                return pos + 2;
            std::size_t end = data.find("\r\n\r\n", pos);
            return end == std::string_view::npos ? end : end + 4;
        }
        if (data.size() < pos + size + 2)
            return std::string_view::npos;
        if (data.substr(pos + size, 2) != "\r\n") {
            invalid = true;
            return std::string_view::npos;
        }
        body.append(data.substr(pos, size));
        pos += size + 2;
    }
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
    return field_value(headers, name);
}

std::size_t HttpResponse::header_count(std::string_view name) const {
    return field_count(headers, name);
}

ParsedResponse parse_response(std::string_view data, bool head_request, bool at_eof) {
    ParsedResponse parsed;
    std::size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
        if (at_eof && !data.empty())
            parsed.result = Parse::invalid;
        return parsed;
    }
    HttpResponse &response = parsed.response;
    if (!parse_head(data.substr(0, head_end), response)) {
        parsed.result = Parse::invalid;
        return parsed;
    }
    std::size_t body_start = head_end + 4;
    if (head_request || response.status < 200 || response.status == 204 || response.status == 304) {
        parsed.result = Parse::complete;
        parsed.consumed = body_start;
        return parsed;
    }
    auto transfer_encoding = response.header("Transfer-Encoding");
    auto content_length = response.header("Content-Length");
    if (transfer_encoding && contains_token(*transfer_encoding, "chunked")) {
        response.chunked = true;
        bool invalid = false;
        std::size_t end = dechunk(data, body_start, response.body, invalid);
        if (invalid || (end == std::string_view::npos && at_eof)) {
            parsed.result = Parse::invalid;
        } else if (end != std::string_view::npos) {
            parsed.result = Parse::complete;
            parsed.consumed = end;
        }
        return parsed;
    }
    if (content_length) {
        std::size_t length = std::stoull(*content_length);
        if (data.size() - body_start >= length) {
            response.body = std::string(data.substr(body_start, length));
            parsed.result = Parse::complete;
            parsed.consumed = body_start + length;
        } else if (at_eof) {
            parsed.result = Parse::invalid;
        }
        return parsed;
    }
    if (at_eof) {
        response.body = std::string(data.substr(body_start));
        parsed.result = Parse::complete;
        parsed.consumed = data.size();
    }
    return parsed;
}

RawClient::RawClient(std::uint16_t port, const std::string &host, int rcvbuf) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
        connect_errno_ = EINVAL;
        return;
    }
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (fd < 0 || ::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
        connect_errno_ = errno;
        if (fd >= 0)
            ::close(fd);
        freeaddrinfo(found);
        return;
    }
    freeaddrinfo(found);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fd_ = fd;
}

RawClient::~RawClient() { close(); }

void RawClient::close() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void RawClient::reset() {
    if (fd_ < 0)
        return;
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
}

void RawClient::shutdown_write() {
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_WR);
}

bool RawClient::send(std::string_view data) {
    auto deadline = Clock::now() + 5s;
    while (fd_ >= 0 && !data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() < deadline) {
            pollfd p{fd_, POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        return false;
    }
    return fd_ >= 0;
}

bool RawClient::fill(Clock::time_point deadline) {
    if (fd_ < 0 || eof_)
        return false;
    constexpr std::size_t chunk = 1 << 20;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd_, POLLIN, 0};
        int rc = poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        std::size_t old_size = buffer_.size();
        buffer_.resize(old_size + chunk);
        ssize_t n = ::recv(fd_, buffer_.data() + old_size, chunk, 0);
        buffer_.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(0, n)));
        if (n > 0)
            return true;
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            reset_ = true;
        eof_ = true;
        return false;
    }
}

std::optional<HttpResponse> RawClient::read_response(std::chrono::milliseconds timeout,
                                                     bool head_request) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        ParsedResponse parsed = parse_response(buffer_, head_request, eof_);
        if (parsed.result == Parse::complete) {
            buffer_.erase(0, parsed.consumed);
            return std::move(parsed.response);
        }
        if (parsed.result == Parse::invalid || eof_)
            return std::nullopt;
        if (!fill(deadline) && !eof_)
            return std::nullopt;
    }
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
}

std::size_t RawClient::read_some(std::chrono::milliseconds timeout) {
    std::size_t before = buffer_.size();
    if (fill(Clock::now() + timeout)) {
        while (fill(Clock::now())) {
        }
    }
    return buffer_.size() - before;
}

std::size_t RawClient::read_bytes(std::size_t count, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t before = buffer_.size();
    while (buffer_.size() - before < count && fill(deadline)) {
    }
    return buffer_.size() - before;
}

std::string request(std::string_view method, std::string_view target, std::string_view extra) {
    std::string text;
    text.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    text.append(extra).append("\r\n");
    return text;
}

std::map<std::string, std::string> parse_echo(const std::string &text) {
    std::map<std::string, std::string> fields;
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            return fields;
        if (end == pos) {
            fields["body"] = text.substr(end + 1);
            return fields;
        }
        std::string line = text.substr(pos, end - pos);
        std::size_t colon = line.find(": ");
        if (colon != std::string::npos)
            fields[line.substr(0, colon)] = line.substr(colon + 2);
        pos = end + 1;
    }
}

std::optional<std::string> CurlResult::header(std::string_view name) const {
    return responses.empty() ? std::nullopt : responses.back().header(name);
}

CurlResult curl(const std::vector<std::string> &args) {
    TempDir dir;
    std::vector<std::string> argv{"curl",       "-sS",
                                  "--max-time", "10",
                                  "-D",         (dir.path() / "head").string(),
                                  "-o",         (dir.path() / "body").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult run = run_process(argv, 15s);
    CurlResult result;
    result.exit_code = run.exit_code;
    result.err = run.err;
    result.body = read_file(dir.path() / "body");
    std::string head = read_file(dir.path() / "head");
    std::size_t pos = 0;
    while (pos < head.size()) {
        std::size_t end = head.find("\r\n\r\n", pos);
        std::size_t block_end = end == std::string::npos ? head.size() : end + 4;
        ParsedResponse parsed =
            parse_response(std::string_view(head).substr(pos, block_end - pos), true, true);
        if (parsed.result == Parse::complete)
            result.responses.push_back(std::move(parsed.response));
        pos = block_end;
    }
    return result;
}

std::string url(std::uint16_t port, std::string_view path, std::string_view host) {
    return "http://" + std::string(host) + ":" + std::to_string(port) + std::string(path);
}

} // namespace dialtone::test
