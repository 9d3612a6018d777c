// The upstream client's HTTP/1.1 response parser: bytes an upstream sent in, events out. Pure:
// no sockets, no timers, no allocation per body byte. The request parser's sibling, as strict:
// every byte goes through the framing check (framing_check.hpp, Kind::response) first; llhttp
// (response mode) parses the head the check passed; check_response_head (upstream_head.hpp)
// decides the framing. The body is delimited and de-chunked by the framing check alone, which
// reads every chunk-size line anyway: one reading of the body's framing, so no second parser
// can disagree with it.
//
// Driving it (one exchange; `buf` holds what the socket delivered and not yet consumed):
//     parser.reset("GET");
//     for (;;) {
//         ResponseParser::Step s = parser.feed(buf);   // or parser.finish() at EOF
//         buf.consume(s.used);
//         switch (s.event) { case more: read the socket; ... }
//     }
// Each call returns at one event, so the caller may stop between any two (backpressure: stop
// reading the socket and feeding, keep the unconsumed bytes, feed them again later). Bytes past
// `used` were not consumed: the next feed() must begin with them.
//
// Owner thread only; one object per upstream connection, reset() between exchanges.
#pragma once

#include "framing_check.hpp"
#include "head_fields.hpp"
#include "response_head.hpp"
#include "upstream_head.hpp"

#include <cstddef>
#include <cstdint>
#include <llhttp.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone {

// Bounds on what an upstream may make the parser hold.
struct ResponseLimits {
    // Bytes of the heads of one exchange, status lines and interim (1xx) heads included: an
    // upstream cannot hold the exchange with endless 1xx responses either.
    size_t max_head_bytes = 16 * 1024;
    // Field lines of one head.
    size_t max_fields = 100;
};

// Why a response was refused. Every error ends the connection's use: close it.
enum class ResponseError : uint8_t {
    none,
    invalid_head,    // the status line or a field line breaks RFC 9112's grammar
    invalid_framing, // the head's framing is ambiguous or not ours (TE with CL, two CLs, gzip TE)
    invalid_body,    // chunked framing broken: chunk-size, extensions, CRLFs, trailer lines
    head_too_large,  // ResponseLimits::max_head_bytes
    too_many_fields, // ResponseLimits::max_fields
    truncated,       // the connection closed inside a head or a body of declared length
    no_response,     // the connection closed before any byte of a response (a reused idle
                     // connection the upstream closed: the one case a retry may follow)
};

// A response head as received. Owns its bytes: copy or keep it as long as needed.
class UpstreamHead {
  public:
    int status = 0;                                      // 100..599
    int http_minor = 1;                                  // HTTP/1.0 or HTTP/1.1
    http::BodyFraming framing = http::BodyFraming::none; // how the body is delimited
    bool has_content_length = false; // a Content-Length was sent (HEAD and 304 answers too)
    uint64_t content_length = 0;     // its value; the body's length when framing is `length`
    bool keep_alive = false;         // the connection may carry the next exchange afterwards

    std::string_view reason() const { return std::string_view(buf_).substr(0, reason_len_); }
    size_t field_count() const { return fields_.size(); }
    // Field line `i` (< field_count()) as received: the name's case kept, the value without the
    // whitespace around it. Trailers are not fields of the head (the parser discards them).
    std::string_view field_name(size_t i) const { return http::field_name(buf_, fields_[i]); }
    std::string_view field_value(size_t i) const { return http::field_value(buf_, fields_[i]); }
    // The value of the first field line named `name` (ASCII case-insensitive), if any.
    std::optional<std::string_view> field(std::string_view name) const;

  private:
    friend class ResponseParser;
    std::string buf_; // the reason phrase, then each field's name and value
    uint32_t reason_len_ = 0;
    std::vector<http::HeaderRef> fields_;
};

class ResponseParser {
  public:
    enum class Event : uint8_t {
        more,    // every byte was consumed (used == data.size()): feed more
        interim, // a 1xx head other than 101 (100 Continue, 103 Early Hints) is in head(); the
                 // final response follows: feed on. head() holds it until the next feed()
        head,    // the final response's head is in head(): body events follow, then `done`
        body,    // `body` is the next piece of the body, de-chunked: a view into the fed data,
                 // valid as long as that buffer; its bytes are included in `used`
        done,    // the response is complete; head().keep_alive says whether the connection
                 // can carry another exchange (then reset() and feed the bytes after `used`)
        upgrade, // 101 (or 2xx to CONNECT): head() holds it; the bytes after `used` belong to
                 // the tunnel, and the parser takes no more
        error,   // `error` and `reason` say why; the parser takes no more: close
    };

    struct Step {
        Event event = Event::more;
        size_t used = 0;                           // bytes of the fed data consumed by this step
        std::string_view body;                     // Event::body only
        ResponseError error = ResponseError::none; // Event::error only
        const char *reason = ""; // Event::error: why, for the log (static storage)
    };

    explicit ResponseParser(ResponseLimits limits = {});
    ResponseParser(const ResponseParser &) = delete;
    ResponseParser &operator=(const ResponseParser &) = delete;

    // Readies the parser for the response to a request of `method` ("GET", "HEAD", "CONNECT";
    // as sent). The parser starts ready for a GET's response.
    void reset(std::string_view method);

    // Parses from the start of `data` up to the next event. After `done`, `upgrade` or `error`
    // it returns that event again with used == 0 until reset().
    Step feed(std::string_view data);

    // The connection reached EOF (the caller had fed every byte it received). `done` if the
    // response was complete (a close-delimited body ends here; a response completed earlier
    // stays done); else `error`: no_response before any byte of a response, truncated after.
    Step finish();

    // The head of the last interim or final response (status 0 before one).
    const UpstreamHead &head() const { return head_; }

  private:
    enum class Phase : uint8_t {
        head, // reading a head (status line, fields)
        body, // between the final head and the end of the message (`done` next if no body)
        done,
        upgraded,
        failed,
    };

    Step feed_head(std::string_view data);
    Step feed_body(std::string_view data);
    Step fail(ResponseError error, const char *reason);
    // The head ended: check it, decide what follows. `used`: the bytes it took of this feed.
    Step head_complete(size_t used);

    static int on_status(llhttp_t *p, const char *at, size_t len);
    static int on_header_field(llhttp_t *p, const char *at, size_t len);
    static int on_header_field_complete(llhttp_t *p);
    static int on_header_value(llhttp_t *p, const char *at, size_t len);
    static int on_headers_complete(llhttp_t *p);
    static const llhttp_settings_t &settings();

    ResponseLimits limits_;
    std::string method_ = "GET";
    Phase phase_ = Phase::head;
    llhttp_t llhttp_;
    http::FramingCheck framing_{http::FramingCheck::Kind::response};
    UpstreamHead head_;
    http::ParsedResponse parsed_; // what llhttp said at the end of the head
    bool new_head_ = true;        // the next head byte begins a head: clear head_ first
    bool field_done_ = true;      // the next header-field bytes begin a new field line
    bool head_parsed_ = false;    // llhttp called on_headers_complete
    ResponseError callback_error_ = ResponseError::none; // a callback stopped llhttp
    size_t head_bytes_ = 0; // bytes of this exchange's heads, against max_head_bytes
    Step last_;             // the terminal step, repeated by feed() until reset()
};

} // namespace dialtone
