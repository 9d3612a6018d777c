// Minimal HTTP/1.1 client pieces for the integration tests: a raw socket that sends exact bytes
// and reads with timeouts, a response parser, and curl run as a child process.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dialtone::test {

using namespace std::chrono_literals;

// Header fields in the order they arrived: (name, value) with the value's outer whitespace trimmed.
using Fields = std::vector<std::pair<std::string, std::string>>;

// The value of the first field named `name` (case-insensitive), and how many fields have it.
std::optional<std::string> field_value(const Fields &fields, std::string_view name);
std::size_t field_count(const Fields &fields, std::string_view name);

// Whether the field value `list` mentions `token` (lower case), ignoring case: "chunked" in
// "gzip, Chunked". A substring test, loose enough for the tests' own framing.
bool contains_token(std::string_view list, std::string_view token);

// Appends the "name: value" lines of `lines` (separated by CRLF, no final CRLF) to `fields`;
// false at the first line without a name and colon.
bool parse_field_lines(std::string_view lines, Fields &fields);

// De-chunks a chunked body starting at data[pos] into `body`; returns the offset just past the
// last chunk and trailers, or npos while incomplete. Sets `invalid` on malformed framing.
std::size_t dechunk(std::string_view data, std::size_t pos, std::string &body, bool &invalid);

struct HttpResponse {
    std::string version; // "HTTP/1.1"
    int status = 0;
    std::string reason;
    Fields headers;
    std::string body; // de-chunked
    bool chunked = false;

    // The first header named `name` (case-insensitive).
    std::optional<std::string> header(std::string_view name) const;
    std::size_t header_count(std::string_view name) const;
};

enum class Parse { complete, incomplete, invalid };

struct ParsedResponse {
    Parse result = Parse::incomplete;
    HttpResponse response;
    std::size_t consumed = 0; // bytes of `data` the response took
};

// Parses one response from the front of `data`. 1xx, 204 and 304 responses and answers to HEAD
// (`head_request`) have no body; a response with neither Content-Length nor chunked coding ends
// at the close, so it is complete only when `at_eof`.
ParsedResponse parse_response(std::string_view data, bool head_request, bool at_eof);

// A blocking-connect, poll-read TCP client. Sends never raise SIGPIPE.
class RawClient {
  public:
    // Connects to host:port; `rcvbuf` > 0 sets SO_RCVBUF before connecting.
    explicit RawClient(std::uint16_t port, const std::string &host = "127.0.0.1", int rcvbuf = 0);
    ~RawClient();
    RawClient(const RawClient &) = delete;
    RawClient &operator=(const RawClient &) = delete;

    bool connected() const { return fd_ >= 0; }
    int connect_error() const { return connect_errno_; }
    int fd() const { return fd_; }

    // Sends all of `data`; false if the connection refused it (reset, closed).
    bool send(std::string_view data);
    void shutdown_write();
    void close();
    // Closes with a reset (SO_LINGER 0) rather than a FIN: how a client that is really gone
    // looks (a FIN only says the client sends nothing more).
    void reset();

    // Reads one response (parsing what is buffered first); nullopt on timeout, close or
    // unparsable bytes. Interim 1xx responses are returned like any other.
    std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s,
                                              bool head_request = false);
    // Reads until the peer closes (true) or the timeout passes (false); keeps the bytes.
    bool wait_closed(std::chrono::milliseconds timeout = 5s);
    // Reads whatever arrives within `timeout` (at least one read attempt).
    std::size_t read_some(std::chrono::milliseconds timeout);
    // Reads up to `count` more bytes into the buffer; returns how many arrived in time.
    std::size_t read_bytes(std::size_t count, std::chrono::milliseconds timeout);

    // Bytes received and not consumed by read_response.
    std::string &buffer() { return buffer_; }
    bool peer_closed() const { return eof_; }
    bool peer_reset() const { return reset_; }

  private:
    // One poll + recv; false on timeout or EOF.
    bool fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    int connect_errno_ = 0;
    std::string buffer_;
    bool eof_ = false;
    bool reset_ = false;
};

// A request with a Host header: "<method> <target> HTTP/1.1\r\nHost: test\r\n<extra>\r\n".
// `extra` holds whole header lines, each ending in "\r\n".
std::string request(std::string_view method, std::string_view target, std::string_view extra = "");
inline std::string get(std::string_view target, std::string_view extra = "") {
    return request("GET", target, extra);
}

// The "key: value" lines of an echo fixture response, and the echoed body under "body".
std::map<std::string, std::string> parse_echo(const std::string &text);

struct CurlResult {
    int exit_code = -1;
    std::vector<HttpResponse> responses; // one per header block curl saw (100 Continue, ...)
    std::string body;
    std::string err;

    int status() const { return responses.empty() ? 0 : responses.back().status; }
    std::optional<std::string> header(std::string_view name) const;
};

// Runs `curl -sS -D <file> -o <file> --max-time 10 <args...>`.
CurlResult curl(const std::vector<std::string> &args);

std::string url(std::uint16_t port, std::string_view path, std::string_view host = "127.0.0.1");

} // namespace dialtone::test
