// Strict checks of an HTTP/1.1 message's framing bytes, run before llhttp sees them: requests a
// server receives, and responses the upstream client receives (Kind::response).
//
// llhttp 8.1.0 (Debian 12's, built without LLHTTP_STRICT_MODE) takes a bare CR for a line end,
// skips any two bytes after chunk data and reads chunk extensions without bound: each lets two
// parsers disagree about where a request ends (request smuggling; README, "llhttp 8.1.0 and its
// later fixes"). This check holds every request to RFC 9112's framing instead: lines end in
// CRLF and nothing else (§2.2), the head ends at the first empty line after the request line
// (empty lines before it are allowed), header and trailer lines are `token ":" value` with no
// control byte but HTAB in the value (§5), chunk data is followed by CRLF and a chunk-size line
// with its extensions is at most kMaxChunkLine bytes (§7.1). It also reads the method, because
// llhttp answers every method it does not know with the same error as a malformed one.
//
// A response begins with a status line instead (`HTTP/1.0` or `HTTP/1.1`, SP, a status code of
// 100..599, SP, a reason phrase without control bytes; RFC 9112 §4), with no empty line before
// it, and its body may run to the end of the connection (expect_close).
//
// Only framing: the target, Host and the meaning of fields are checked once llhttp has parsed
// the head. No I/O and no allocation; state is carried across reads (a client may send one byte
// a read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dialtone::http {

class FramingCheck {
  public:
    enum class Kind : uint8_t { request, response };

    explicit FramingCheck(Kind kind = Kind::request);

    // The bytes of a chunk-size line with its extensions, before its CRLF (Node.js caps
    // extensions at 16 KiB a body since CVE-2024-22019; 4 KiB a line is more than clients send).
    static constexpr size_t kMaxChunkLine = 4096;

    // Checks the next bytes received. Returns how many leading bytes of `data` the parser may
    // take: all of them, or fewer when
    //   - the head or the body ends inside `data`: let the parser take these first (it then says
    //     what follows the head: expect_chunked/expect_length; the end of the message:
    //     next_message), then feed the rest;
    //   - a byte is refused: status() says 400 or 501, the bytes before it may still be parsed
    //     (the parser's own answer to them, 414 or 431, comes first);
    //   - the method is not one the parser knows (holding()): these bytes never go to the
    //     parser; the check answers 501 once the request line is whole and well-formed, 400
    //     when it is not.
    size_t feed(std::string_view data);
    // As feed(), but also stops where body data begins (a length body, a chunk's data, a body
    // running to the end of the connection): for a parser that delimits the body itself and
    // takes the data with take_data().
    size_t feed_framing(std::string_view data);
    // How many bytes of body data may come next: 0 outside body data, UINT64_MAX in a body that
    // runs to the end of the connection.
    uint64_t data_left() const;
    // Takes the next `n` bytes, at most data_left(), as body data.
    void take_data(uint64_t n);

    // The head was parsed and a chunked body follows.
    void expect_chunked();
    // The head was parsed and a body of `length` bytes follows (0: none, the message ended).
    void expect_length(uint64_t length);
    // Responses: the body runs until the connection closes (RFC 9112 §6.3 ¶8).
    void expect_close();
    // The message ended: the next byte begins a new message of the same kind.
    void next_message();

    // The last byte passed ended the head: expect_* says what follows.
    bool head_ended() const { return phase_ == Phase::head_done; }
    // The last byte passed ended the message (its body, or its trailer section).
    bool message_ended() const { return phase_ == Phase::message_done; }

    // 0 while the bytes are acceptable; else the status to answer: 400, or 501 for a method
    // token the server does not implement (RFC 9110 §9.1) or longer than any it implements
    // (RFC 9112 §3). Responses: 502 for every refusal (a gateway's answer to an invalid
    // response, RFC 9110 §15.6.3).
    int status() const { return status_; }
    // Why the bytes were refused, for the debug log ("" while status() is 0).
    const char *reason() const { return reason_; }
    // The method read so far is one llhttp does not know: more bytes are needed for the answer.
    bool holding() const {
        return phase_ == Phase::unknown_method || phase_ == Phase::unknown_target ||
               phase_ == Phase::unknown_version;
    }

  private:
    enum class Phase : uint8_t {
        status_line,    // a response's status line up to the reason phrase
        reason,         // the reason phrase, up to CRLF
        before_line,    // empty lines before the request line
        before_line_lf, // a CR there: LF must follow
        method,
        unknown_method, // a method llhttp does not know: read the line (501 if well-formed)
        unknown_target,
        unknown_version,
        request_line, // target and version, up to CRLF
        line_lf,      // after a CR ending a line: LF must follow
        field_start,  // the start of a field line or of the empty line ending the section
        field_name,
        field_value,
        section_lf, // CR of the empty line: LF must follow
        head_done,  // waiting for expect_chunked or expect_length
        length_body,
        chunk_size,
        chunk_ext,
        chunk_size_lf,
        chunk_data,
        chunk_data_cr,
        chunk_data_lf,
        close_body,   // a response body delimited by the end of the connection
        message_done, // waiting for next_message
        refused,
    };

    size_t scan(std::string_view data, bool stop_at_data);
    // One byte of a line-oriented phase (the head, chunk-size lines, the trailer section).
    void step(unsigned char c);
    void method_byte(unsigned char c);
    void status_line_byte(unsigned char c);
    // A byte of a field value or a reason phrase; refuses with `bare_lf` or `control`.
    void text_byte(unsigned char c, const char *bare_lf, const char *control);
    void ext_byte(unsigned char c);
    void refuse(int status, const char *why);

    // Where in a chunk-size line's extensions (Phase::chunk_ext).
    enum class Ext : uint8_t {
        before_name,
        name,
        after_name_ws,
        before_value,
        value,
        quoted,
        quoted_pair,
        after_quoted,
        after_value_ws,
    };

    Kind kind_;
    Phase phase_;
    Ext ext_ = Ext::before_name;
    bool trailers_ = false; // field lines are the trailer section, not the head
    char method_[16] = {};  // the method so far (longer than any llhttp knows: 501)
    size_t method_len_ = 0;
    size_t line_len_ = 0;    // bytes of the current chunk-size line; of the version or status line
    uint64_t remaining_ = 0; // bytes of the current chunk or of a length body still to come
    int chunk_digits_ = 0;
    bool after_space_ = false; // request line: the last byte was SP
    int status_ = 0;
    const char *reason_ = "";
};

} // namespace dialtone::http
