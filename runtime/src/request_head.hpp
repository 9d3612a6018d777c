// The request head as llhttp parsed it, and every RFC 9112 rule the runtime holds it to that
// llhttp does not: one pure function over the head and the limits, so each rule is tested
// without a socket. The raw-byte rules llhttp 8.1 gets wrong (bare CR or LF, framing bytes)
// are checked before it parses, in framing_check.hpp.
#pragma once

#include "head_fields.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dialtone::http {

// What llhttp reports once a request head is complete.
struct ParsedHead {
    std::string_view method; // "GET"; llhttp's name for the method
    int http_major = 1, http_minor = 1;
    bool chunked = false;            // the last transfer coding is chunked (llhttp's F_CHUNKED)
    bool has_content_length = false; // llhttp's F_CONTENT_LENGTH
    uint64_t content_length = 0;
    std::string_view buf;              // the head buffer the target and fields point into
    std::string_view target;           // the request-target, as received
    std::span<const HeaderRef> fields; // trailing whitespace trimmed (trim_field_values)
};

struct HeadVerdict {
    int status = 0;               // 0: the head is acceptable; otherwise the status to answer
    bool close = false;           // "Connection: close" (llhttp 8.1 misses it before a tab)
    bool expect_continue = false; // "Expect: 100-continue" in HTTP/1.1: send 100 before the body
    std::string path;             // the decoded, normalised path; empty for "OPTIONS *"
};

// Checks a complete head, in this order (the first failure answers): the HTTP major version
// (505); field values holding a line break (obs-fold, 400); the Host count and syntax (exactly
// one in HTTP/1.1, at most one in 1.0; 400); CONNECT (501); the target's grammar (400); an
// absolute-form authority that is empty or differs from Host (400); Transfer-Encoding (400
// unless chunked is last and the request is HTTP/1.1, 501 for another coding before it); a
// Content-Length over `max_body_size` (413); Expect other than 100-continue (417); then the
// path's decoding and normalisation (400), except for asterisk-form "OPTIONS *".
HeadVerdict check_request_head(const ParsedHead &head, uint64_t max_body_size);

} // namespace dialtone::http
