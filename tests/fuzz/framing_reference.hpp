// A strict RFC 9112 framing reference: where each request in a byte stream ends.
//
// The connection fuzz target's differential oracle. It is written from the RFC's ABNF (RFC 9112
// §2-§7, with RFC 9110 §5 for fields and RFC 3986 for the request-target) and shares no code
// with the runtime's parser (llhttp and its glue), so the two can disagree. Where the RFC lets a
// recipient choose between lenient and strict, this reference is strict; every such choice is
// marked "Strict:" in framing_reference.cpp. It has no limits: the runtime refuses what passes
// its limits with an error and closes, which the oracle counts as agreement.
//
// It depends on the C++ standard library only and does no I/O: a pure function of its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone::test {

// How a request's body is delimited (RFC 9112 §6.3).
enum class Framing {
    none,           // neither Content-Length nor Transfer-Encoding: no body
    content_length, // Content-Length octets
    chunked,        // Transfer-Encoding ending in chunked
};

// One complete, valid request.
struct FramedRequest {
    size_t start = 0; // offset of its request-line (after any leading empty lines)
    size_t end = 0;   // one past its last byte: where the next request's bytes begin
    std::string method;
    std::string target;
    int http_minor = 1; // HTTP/1.<minor>
    Framing framing = Framing::none;
    uint64_t body_length = 0; // decoded: the sum of the chunk sizes when chunked
};

// How the input ends after the last complete request.
enum class Ending {
    clean,      // at a request boundary (possibly after empty lines)
    incomplete, // inside a request that more bytes could still complete
    invalid,    // inside a request no further bytes can make valid
};

struct FramingVerdict {
    std::vector<FramedRequest> requests; // the complete requests, in input order
    Ending ending = Ending::clean;
    size_t at = 0;      // incomplete or invalid: where that request begins (the last one's end)
    size_t error = 0;   // invalid: the offset of the first byte that makes it so
    std::string reason; // invalid: the rule that byte breaks, in a few words
};

// Splits `input`, a client's bytes on one connection, into requests. Never throws for any input.
FramingVerdict frame_requests(std::string_view input);

} // namespace dialtone::test
