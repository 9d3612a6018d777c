#include "response_head.hpp"

#include "http.hpp"

#include <charconv>
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
    // std::to_chars, not snprintf: this runs for every response.
    char digits[24];
    out.append("HTTP/1.1 ");
    out.append(digits, std::to_chars(digits, digits + sizeof digits, head.status).ptr);
    out.append(" ").append(reason_phrase(head.status)).append("\r\n");
    out.append(head.date_line);
    out.append(kServerLine);
    switch (body_framing(head.status, head.content_length, head.http_version)) {
    case BodyFraming::length:
        out.append("Content-Length: ");
        out.append(digits, std::to_chars(digits, digits + sizeof digits, head.content_length).ptr);
        out.append("\r\n");
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
