// ResponseReader: the framing of one HTTP/1.x response, read incrementally from a socket that
// carries nothing else until the response ends. It tells the load client which of the bytes it
// reads are body (payload) bytes, when the response is complete and whether the connection may
// carry another request; it never touches a socket, so every case can be fed from a string.
//
// The body is delimited as RFC 9112 section 6.3 says for a response to GET: chunked when
// Transfer-Encoding ends in "chunked", else Content-Length, else the connection's close.
// Trailers are skipped. Interim (1xx) responses are not expected and read as the final one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dialtone::bench {

class ResponseReader {
  public:
    enum class State {
        head,     // reading the status line and header fields
        body,     // reading the body
        complete, // the whole response was read
        failed,   // see error()
    };
    enum class Error {
        none,
        malformed, // a bad status line, header field or chunk, a head over the limit, or bytes
                   // after the end of the body
        truncated, // the connection closed before the response was complete
    };

    explicit ResponseReader(size_t max_head = 16 * 1024) : max_head_(max_head) {}

    // Consumes the next `n` bytes of the connection. Returns how many of them are body payload
    // (chunk framing excluded); the state says whether the response is now complete or failed.
    // Bytes fed after that are an error (malformed) and count as no body.
    uint64_t feed(const char *p, size_t n);
    // The peer closed the connection: completes a close-delimited body, else fails (truncated).
    void eof();

    State state() const { return state_; }
    Error error() const { return error_; }
    // The status code, once the head has been read (state is body or complete); 0 before.
    int status() const { return status_; }
    // Body bytes still due when the length is known (Content-Length); UINT64_MAX otherwise.
    uint64_t known_remaining() const;
    // Whether the server ends the connection after this response (RFC 9112 section 9.3): a
    // `close` token in Connection, HTTP/1.0 without `keep-alive`, or a body the close delimits.
    // Read once the head has been read; false before.
    bool closes_connection() const { return closes_; }

  private:
    enum class Framing { length, chunked, until_close };
    enum class Chunk { size, extension, size_lf, data, data_cr, data_lf, trailer };

    bool parse_head(const std::string &head);
    uint64_t feed_chunked(const char *p, size_t n);
    void fail(Error e);

    size_t max_head_;
    State state_ = State::head;
    Error error_ = Error::none;
    int status_ = 0;
    std::string head_; // the head while it arrives; released once parsed
    Framing framing_ = Framing::until_close;
    uint64_t remaining_ = 0; // length: body bytes due; chunked: bytes left in this chunk
    Chunk chunk_ = Chunk::size;
    bool chunk_size_digits_ = false;
    bool trailer_line_empty_ = true;
    bool closes_ = false;
};

} // namespace dialtone::bench
