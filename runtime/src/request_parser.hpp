// A connection's request parser: received bytes go through the framing check (framing_check.hpp)
// to llhttp, whose callbacks fill the Request a message begins with (target, header fields,
// body) within the configured limits and check its head once complete (request_head.hpp).
// The connection owns one and drives it with feed(); the parser tells it, through Events, that a
// message began, its head is complete or body bytes came, and returns with the message complete,
// the status to refuse it with, or all bytes parsed.
//
// Owner thread only (the connection's). One message at a time: feed() returns at the end of
// each, and the connection feeds the bytes after it once that request is answered.
#pragma once

#include "dialtone/config.hpp"
#include "framing_check.hpp"

#include <cstddef>
#include <llhttp.h>

namespace dialtone {

class Request;

class RequestParser {
  public:
    // What the connection does as a message goes by; called from inside feed().
    class Events {
      public:
        // A message began (its first byte after any empty lines): the request to parse it into.
        virtual Request &message_begun() = 0;
        // The head was parsed and passed check_request_head; a body follows if `has_body`.
        // False: the connection closed meanwhile (sending 100 Continue failed), stop parsing.
        virtual bool head_complete(bool has_body) = 0;
        // Body bytes were appended to the request's body.
        virtual void body_received() = 0;

      protected:
        ~Events() = default;
    };

    struct Result {
        enum Kind {
            more,    // every byte was parsed (or held by the framing check): send more
            message, // a message is complete: `used` bytes were its; the rest is the next one's
            refused, // answer `status` (400, 413, 414, 431, 501, 505); `reason` for the log
            stopped, // head_complete returned false
        };
        Kind kind = more;
        size_t used = 0;
        int status = 0;
        const char *reason = nullptr; // may be null
    };

    // `limits` must outlive the parser (the connection's generation holds them).
    RequestParser(Events &events, const Limits &limits);
    RequestParser(const RequestParser &) = delete;
    RequestParser &operator=(const RequestParser &) = delete;

    // Parses what it can of [data, data + len). After `message` the parser is ready for the
    // next message; after `refused` or `stopped` it is not to be fed again.
    Result feed(const char *data, size_t len);

  private:
    static int on_message_begin(llhttp_t *p);
    static int on_url(llhttp_t *p, const char *at, size_t len);
    static int on_header_field(llhttp_t *p, const char *at, size_t len);
    static int on_header_value(llhttp_t *p, const char *at, size_t len);
    static int on_header_field_complete(llhttp_t *p);
    static int on_headers_complete(llhttp_t *p);
    static int on_body(llhttp_t *p, const char *at, size_t len);
    static int on_message_complete(llhttp_t *p);
    static const llhttp_settings_t &settings();

    // A callback's refusal: answer `status`. Returns -1, which stops llhttp.
    int refuse(int status);
    // Counts `len` more bytes of the head: 0, or refuse(431) once over limits.max_head_size.
    int count_head_bytes(size_t len);
    // llhttp stopped with `err`, an error: the status a callback asked for, or llhttp's own.
    Result refused_by_llhttp(llhttp_errno_t err) const;

    Events &events_;
    const Limits &limits_;
    llhttp_t parser_;
    http::FramingCheck framing_;      // what llhttp 8.1 lets through: checked before it parses
    Request *req_ = nullptr;          // the message being parsed
    int status_ = 0;                  // the HTTP status a callback refused the message with
    bool field_done_ = true;          // the next header-field bytes begin a new field
    size_t head_bytes_ = 0;           // the head so far, counted against limits.max_head_size
    bool message_done_ = false;       // on_message_complete paused the parser
    bool stopped_ = false;            // head_complete returned false
    const char *parse_end_ = nullptr; // the end of the bytes llhttp is parsing now
};

} // namespace dialtone
