// Formatting of what the server writes around a response body: the status line and head, the
// runtime's error pages and chunked framing (RFC 9112 §4, §6, §7.1). Pure functions: no
// sockets, no state; nginx keeps the same work in its header and chunked filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dialtone::http {

// How a response's body is delimited on the wire.
enum class BodyFraming {
    none,    // no body by definition: 1xx, 204, 304 (RFC 9110 §6.4.1)
    length,  // Content-Length
    chunked, // Transfer-Encoding: chunked (HTTP/1.1 without a declared length)
    close,   // HTTP/1.0 without a declared length: the body ends when the connection does
};

// The framing for a response of `status` with `content_length` (-1: none declared) to a request
// of `http_version` (10 or 11).
BodyFraming body_framing(int status, int64_t content_length, int http_version);

struct ResponseHead {
    int status = 200;
    int64_t content_length = -1; // -1: none declared
    int http_version = 11;       // the request's
    bool keep_alive = true;      // the connection stays open after this response
    std::string_view date_line;  // "Date: ...\r\n"
    std::string_view headers;    // the plugin's "Name: value\r\n" lines
};

// Appends the status line and head, ending with the empty line, to `out`: status line, Date,
// Server, then Content-Length or Transfer-Encoding as body_framing() says, Connection (close,
// or keep-alive for HTTP/1.0), the plugin's headers. The caller passes keep_alive false for
// BodyFraming::close.
void append_response_head(std::string &out, const ResponseHead &head);

// The Content-Type line of the runtime's error pages.
inline constexpr std::string_view kErrorPageHeaders = "Content-Type: text/html; charset=utf-8\r\n";
// The small HTML page the runtime answers an error status with.
std::string error_page(int status);

// The interim response to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// The chunk-size line before `len` bytes of chunked body ("1a2b\r\n"), into `buf`; returns its
// length. A chunk's data is followed by kChunkEnd; the body by kLastChunk (no trailers).
inline constexpr size_t kChunkSizeLineMax = 24;
size_t format_chunk_size(size_t len, char (&buf)[kChunkSizeLineMax]);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

} // namespace dialtone::http
