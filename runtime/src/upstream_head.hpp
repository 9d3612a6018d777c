// The head of a response an upstream sent, as llhttp parsed it, and every RFC 9112 rule the
// upstream client holds it to beyond the byte grammar (framing_check.hpp checks that first):
// how the body is delimited, whether the connection can carry another exchange, and the field
// shapes a proxy must not forward because two recipients could read them differently. One pure
// function, so that each rule is tested without a socket.
#pragma once

#include "head_fields.hpp"
#include "response_head.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace dialtone::http {

// What llhttp reports once a response head is complete.
struct ParsedResponse {
    int status = 0;                    // 100..599 (the framing check holds it there)
    int http_minor = 1;                // HTTP/1.0 or HTTP/1.1
    bool has_content_length = false;   // llhttp's F_CONTENT_LENGTH
    uint64_t content_length = 0;       // llhttp's reading of it
    std::string_view buf;              // the head buffer the fields point into
    std::span<const HeaderRef> fields; // trailing whitespace trimmed (trim_field_values)
};

// What comes after a response head.
enum class ResponseKind : uint8_t {
    interim, // 1xx but 101: another response head follows (RFC 9110 §15.2)
    final,   // the response; its body is delimited by `framing`
    tunnel,  // 101, or 2xx to CONNECT: the bytes after the head are another protocol's
};

struct ResponseVerdict {
    const char *error = nullptr; // why the head is refused (invalid framing); null: accepted
    ResponseKind kind = ResponseKind::final;
    BodyFraming framing = BodyFraming::none;
    bool has_content_length = false; // a valid Content-Length, even where it frames nothing
    uint64_t content_length = 0;
    bool keep_alive = false; // the connection may carry another exchange after this one
};

// Checks a response head to a request of `method` (as sent: "HEAD", "GET", ...). Refused:
// a line break in a value (obs-fold); more than one Transfer-Encoding or Content-Length field
// line; a Content-Length that is not 1*DIGIT within 64 bits or that llhttp read otherwise;
// Transfer-Encoding together with Content-Length; Transfer-Encoding in HTTP/1.0 (RFC 9112
// §6.1: faulty framing); Transfer-Encoding other than exactly "chunked" (no coding we could
// decode, and a proxy drops the field as hop-by-hop: nginx refuses it with 502 too). These hold
// for every response, also those whose body is none by definition: an upstream sending them is
// not one whose framing a proxy should guess at.
// Framing (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304 whatever the fields say; chunked;
// Content-Length; else until the connection closes. Keep-alive: HTTP/1.1 unless Connection
// names close, HTTP/1.0 only when it names keep-alive, never for a close-delimited body or a
// tunnel.
ResponseVerdict check_response_head(const ParsedResponse &head, std::string_view method);

} // namespace dialtone::http
