// Fuzz target: the upstream client's response parser (runtime/src/response_parser.hpp), as a
// connection to an upstream would drive it: the responses to several requests in a row on one
// connection, read in pieces. Input: byte 0 picks the requests' methods (two bits each: GET,
// HEAD, CONNECT, POST) and whether the connection ends after the last byte (bit 7); byte 1
// seeds how the rest is split into reads. The same bytes are parsed whole, in random pieces and
// one byte a read, each by its own parser. Checks on every input:
//   - the three give the same transcript (events, heads, body bytes, errors, what is left);
//   - a step never consumes more than it was fed; `more` consumes all of it; a body piece is a
//     non-empty view into the fed bytes;
//   - a body is at most its declared Content-Length, exactly it when done; none for responses
//     without one; a close-delimited body is never followed by reuse;
//   - after done, upgrade or error, feed answers the same again and takes nothing;
//   - no crash, leak or undefined behaviour (ASan, UBSan).
#include "response_parser.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace dialtone;
using Event = ResponseParser::Event;

namespace {

[[noreturn]] void fail(const char *what) {
    std::fprintf(stderr, "fuzz_response: %s\n", what);
    std::abort();
}

void check(bool ok, const char *what) {
    if (!ok)
        fail(what);
}

constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};

// Read sizes: 0 = everything at once, 1 = a byte a read, else pseudo-random from `seed`.
struct Reads {
    int mode;
    uint32_t state;
    size_t next(size_t left) {
        if (mode == 0)
            return left;
        if (mode == 1)
            return 1;
        state = state * 1103515245u + 12345u;
        size_t n = 1 + (state >> 16) % 64;
        return n < left ? n : left;
    }
};

// Everything observable, in order; body pieces joined, since reads split them differently.
std::string transcript(std::string_view bytes, uint8_t methods, bool eof, Reads reads) {
    ResponseLimits limits;
    limits.max_head_bytes = 1024;
    limits.max_fields = 12;
    ResponseParser parser(limits);
    std::string out;
    std::string buf; // read, not yet consumed
    size_t received = 0;
    for (int exchange = 0;; ++exchange) {
        parser.reset(kMethods[(methods >> (2 * (exchange % 3))) & 3]);
        uint64_t body = 0;
        bool in_body = false;
        bool last_was_body = false;
        ResponseParser::Step s;
        for (;;) {
            bool at_eof = received == bytes.size();
            if (buf.empty() && at_eof && eof) {
                s = parser.finish();
            } else {
                s = parser.feed(buf);
                check(s.used <= buf.size(), "a step used more than it was fed");
            }
            if (s.event == Event::more) {
                check(s.used == buf.size(), "more without using every byte");
                buf.clear();
                if (at_eof && !eof)
                    return out + "|more";
                if (!at_eof) {
                    size_t n = reads.next(bytes.size() - received);
                    buf.append(bytes.substr(received, n));
                    received += n;
                }
                continue;
            }
            const UpstreamHead &h = parser.head();
            if (s.event == Event::body) {
                check(in_body && !s.body.empty(), "an empty or unexpected body piece");
                check(s.body.data() >= buf.data() &&
                          s.body.data() + s.body.size() == buf.data() + s.used,
                      "a body piece outside the fed bytes");
                check(h.framing != http::BodyFraming::none, "a body where none may be");
                body += s.body.size();
                check(h.framing != http::BodyFraming::length || body <= h.content_length,
                      "more body than Content-Length");
                if (!last_was_body) // join pieces: reads split them differently
                    out += "|body ";
                out.append(s.body);
            } else if (s.event == Event::interim || s.event == Event::head) {
                check(h.status >= 100 && h.status <= 599, "a status outside 100..599");
                check((s.event == Event::interim) == (h.status / 100 == 1),
                      "an interim head that is not 1xx, or a final one that is");
                in_body = s.event == Event::head;
                out += (s.event == Event::head ? "|head " : "|interim ") +
                       std::to_string(h.status) + " " + std::string(h.reason()) + " " +
                       std::to_string(static_cast<int>(h.framing)) + " " +
                       std::to_string(h.content_length) + " " + std::to_string(h.keep_alive);
                for (size_t i = 0; i < h.field_count(); ++i)
                    out.append(" ").append(h.field_name(i)).append(":").append(h.field_value(i));
            }
            last_was_body = s.event == Event::body;
            buf.erase(0, s.used);
            if (s.event != Event::done && s.event != Event::upgrade && s.event != Event::error)
                continue;
            // Terminal: the same answer again, taking nothing.
            ResponseParser::Step again = parser.feed(buf);
            check(again.event == s.event && again.used == 0, "a terminal step did not repeat");
            if (s.event == Event::error)
                return out + "|error " + std::to_string(static_cast<int>(s.error)) + " " + s.reason;
            if (s.event == Event::upgrade)
                return out + "|upgrade " + buf + std::string(bytes.substr(received));
            check(h.framing != http::BodyFraming::length || body == h.content_length,
                  "done before Content-Length bytes");
            check(h.framing != http::BodyFraming::close || !h.keep_alive,
                  "a close-delimited body kept the connection");
            out += "|done " + std::to_string(h.keep_alive);
            if (!h.keep_alive || (buf.empty() && received == bytes.size()))
                return out;
            break; // the next exchange on this connection
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    uint8_t methods = data[0];
    bool eof = (data[0] & 0x80) != 0;
    std::string_view bytes(reinterpret_cast<const char *>(data) + 2, size - 2);
    std::string whole = transcript(bytes, methods, eof, {0, 0});
    std::string pieces = transcript(bytes, methods, eof, {2, data[1]});
    std::string bytewise = transcript(bytes, methods, eof, {1, 0});
    if (whole != pieces || whole != bytewise) {
        std::fprintf(stderr, "whole:    %s\npieces:   %s\nbytewise: %s\n", whole.c_str(),
                     pieces.c_str(), bytewise.c_str());
        fail("the transcript depends on how the bytes were split");
    }
    return 0;
}
