#include "response_head.hpp"

#include "http.hpp"

#include <cstdio>

namespace dialtone::http {

namespace {
constexpr std::string_view kServerLine = "Server: dialtone/" DIALTONE_VERSION "\r\n";
} // namespace

BodyFraming body_framing(int status, int64_t content_length, int http_version) {
    if (status < 200 || status == 204 || status == 304)
        return BodyFraming::none;
    if (content_length >= 0)
        return BodyFraming::length;
    return http_version >= 11 ? BodyFraming::chunked : BodyFraming::close;
}

void append_response_head(std::string &out, const ResponseHead &head) {
    char line[128];
    std::string_view reason = reason_phrase(head.status);
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d %.*s\r\n", head.status,
                     static_cast<int>(reason.size()), reason.data());
    out.append(line, static_cast<size_t>(n));
    out.append(head.date_line);
    out.append(kServerLine);
    switch (body_framing(head.status, head.content_length, head.http_version)) {
    case BodyFraming::length:
        n = snprintf(line, sizeof line, "Content-Length: %lld\r\n",
                     static_cast<long long>(head.content_length));
        out.append(line, static_cast<size_t>(n));
        break;
    case BodyFraming::chunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
    case BodyFraming::none:
    case BodyFraming::close:
        break;
    }
    if (head.status == 101)
        out.append("Connection: Upgrade\r\n"); // a tunnel follows (the plugin sent Upgrade)
    else if (!head.keep_alive)
        out.append("Connection: close\r\n");
    else if (head.http_version == 10)
        out.append("Connection: keep-alive\r\n");
    out.append(head.headers);
    out.append("\r\n");
}

std::string error_page(int status) {
    char body[256];
    std::string_view reason = reason_phrase(status);
    int n = snprintf(body, sizeof body,
                     "<html><head><title>%d %.*s</title></head><body><h1>%d %.*s</h1></body>"
                     "</html>\n",
                     status, static_cast<int>(reason.size()), reason.data(), status,
                     static_cast<int>(reason.size()), reason.data());
    return std::string(body, static_cast<size_t>(n));
}

size_t format_chunk_size(size_t len, char (&buf)[kChunkSizeLineMax]) {
    return static_cast<size_t>(snprintf(buf, sizeof buf, "%zx\r\n", len));
}

} // namespace dialtone::http
