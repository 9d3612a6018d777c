// An upstream HTTP/1.1 server inside the test process, scripted per target, for the proxy's
// integration tests: the proxy under test (a real host) forwards to 127.0.0.1:port(), and the
// script decides whether this upstream answers well, slowly, truncated, malformed, or not at all.
//
//     UpstreamServer up;                                 // listening on 127.0.0.1, port 0
//     up.on("/ok", Reply::ok("hello"));
//     up.on("/cut", Reply::raw("HTTP/1.1 200 OK\r\nContent-Length:
//     100\r\n\r\nshort").then_close()); HostProcess host(config("", proxy_to(up.port())));  // the
//     proxy test's own config
//     ... fetch through the host ...
//     CHECK(up.last_request()->field("Via"));            // what the proxy forwarded
//     CHECK(up.connections_accepted() == 1);             // the pool reused its connection
//
// Every request that arrives is recorded (requests(), wait_requests()). Each connection has its
// own thread; every wait also watches a stop signal, so stop() and the destructor return at once
// however the script or the client left a connection (stalled, half-sent, unread).
//
// Threads: call from the test's thread, unless the function says otherwise.
#pragma once

#include "host_process.hpp" // Millis
#include "http_client.hpp"  // Fields

#include "runtime/src/mutex.hpp" // the mutex clang's -Wthread-safety understands

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dialtone::test {

// One request as the upstream received it.
struct UpstreamRequest {
    std::size_t connection = 0; // which accepted connection (1 = the first since construction)
    std::size_t sequence = 0;   // its place on that connection (0 = the first request)
    std::string method;
    std::string target;
    std::string version; // "HTTP/1.1"
    Fields fields;
    std::string head;     // the bytes of the request line and fields, through the blank line
    std::string raw_body; // the body bytes as framed on the wire (chunk sizes included)
    std::string body;     // the body, de-chunked
    bool chunked = false;
    // Empty when the request parsed; otherwise why not (the upstream answered 400 and closed).
    std::string error;

    std::optional<std::string> field(std::string_view name) const {
        return field_value(fields, name);
    }
    std::size_t field_count(std::string_view name) const { return test::field_count(fields, name); }
};

// What the upstream does with a request: the bytes it sends, how fast, and what it does to the
// connection afterwards. Built by one of the factories, adjusted by the modifiers (each returns
// a changed copy, so a Reply reads as one expression).
class Reply {
  public:
    // After the reply's bytes: read the next request, close (FIN), say nothing more while
    // holding the connection open, or reset it (RST, SO_LINGER 0).
    enum class Ending { keep_alive, close, stall, reset, echo_tunnel };

    // 200 with Content-Length.
    static Reply ok(std::string body);
    // `code` with a standard reason and `body` under Content-Length (no Content-Length and no
    // body for 1xx, 204 and 304).
    static Reply status(int code, std::string body = "");
    // 200 with Transfer-Encoding: chunked, one chunk per element (empty ones are skipped: an
    // empty chunk would end the body), then the last chunk.
    static Reply chunked(std::vector<std::string> chunks);
    // 200 with neither Content-Length nor chunked: the body ends when the upstream closes.
    static Reply until_close(std::string body);
    // Exactly `bytes`, whatever the request (also for HEAD), then keep-alive unless a then_*()
    // says otherwise: malformed heads, bad framing, interim responses, pipelined answers.
    static Reply raw(std::string bytes);
    // Reads the request and never answers; the connection stays open until the client goes.
    static Reply stall();
    // Reads the request and resets the connection without a byte.
    static Reply reset();
    // 200 whose body is the request's head and raw body as they arrived.
    static Reply echo();

    // Adds a field to a generated head (ignored by raw, stall and reset).
    Reply header(std::string name, std::string value) const;
    Reply then_close() const;
    Reply then_stall() const;
    // After the reply (a 101, say) the connection echoes every byte it receives until the
    // client half-closes, then half-closes too: a tunnel's far end.
    Reply then_echo_tunnel() const;
    Reply then_reset() const;
    // Sends the reply's bytes (head included) at about `bytes_per_second`.
    Reply paced(std::size_t bytes_per_second) const;
    // Waits `delay` after the request has arrived before the first byte.
    Reply after(Millis delay) const;

    // The bytes this reply sends for `request`. Generated replies to HEAD keep their fields
    // (Content-Length included) and drop the body.
    std::string render(const UpstreamRequest &request) const;
    Ending ending() const { return ending_; }
    Millis delay() const { return delay_; }
    std::size_t bytes_per_second() const { return bytes_per_second_; } // 0: all at once

  private:
    enum class Framing { length, chunked, until_close, raw, echo };

    Reply(Framing framing, int status, Ending ending) noexcept
        : framing_(framing), status_(status), ending_(ending) {}

    Framing framing_;
    int status_;
    Ending ending_;
    Fields fields_;
    std::vector<std::string> body_; // the chunks, or one piece; raw: the bytes
    Millis delay_{0};
    std::size_t bytes_per_second_ = 0;
};

// When a paced sender should have sent `sent` bytes, counted from its first byte.
Millis pacing_due(std::size_t sent, std::size_t bytes_per_second);

class UpstreamServer {
  public:
    // Listens on 127.0.0.1:`port` (0: an ephemeral port) and serves; throws std::runtime_error
    // when it cannot listen. Until the test scripts it, every request gets Reply::status(404).
    explicit UpstreamServer(std::uint16_t port = 0);
    // Stops (see stop()).
    ~UpstreamServer();
    UpstreamServer(const UpstreamServer &) = delete;
    UpstreamServer &operator=(const UpstreamServer &) = delete;

    std::uint16_t port() const { return port_; }

    // Answers requests for `target` with `reply`. A request matches its exact target first,
    // then its path (the target before '?'). Threads: any thread; takes effect for requests
    // that arrive afterwards.
    void on(const std::string &target, Reply reply);
    // The reply for targets nothing in the script matches. Threads: any thread.
    void set_default(Reply reply);
    // Closes a connection that waits that long for a request (the upstream's keep-alive
    // timeout); zero (the default) waits for ever. Threads: any thread.
    void close_idle_after(Millis idle);

    // Closes the listener (a connect is then refused: the upstream is down) and every open
    // connection, and joins all threads; returns within a poll's wake-up. Idempotent.
    void stop();
    // Listens again on the same port (SO_REUSEADDR) after stop(); throws std::runtime_error
    // when it cannot. Idempotent while running.
    void start();
    bool running() const { return listener_ >= 0; }

    // Every request received so far, in arrival order. Threads: any thread.
    std::vector<UpstreamRequest> requests() const;
    std::size_t request_count() const;
    std::optional<UpstreamRequest> last_request() const;
    // Waits until at least `count` requests have arrived; false at the timeout.
    // Threads: any thread.
    bool wait_requests(std::size_t count, Millis timeout = 5s) const;
    // Connections accepted since construction (across restarts), and those open right now.
    // Threads: any thread.
    std::size_t connections_accepted() const { return accepted_; }
    std::size_t connections_open() const { return open_; }

  private:
    struct Connection;

    void accept_loop();
    void serve(Connection &connection);
    void record(UpstreamRequest request) DT_EXCLUDES(mu_);
    Reply reply_for(const UpstreamRequest &request) const DT_EXCLUDES(mu_);

    std::uint16_t port_;
    int listener_ = -1;
    int stop_fd_ = -1; // an eventfd every wait polls; written once by stop()
    std::thread acceptor_;
    // Touched by the acceptor thread, and by stop() once it has joined that thread.
    std::vector<std::unique_ptr<Connection>> connections_;
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> open_{0};
    std::atomic<long long> idle_ms_{0};

    mutable Mutex mu_;
    mutable std::condition_variable_any arrived_; // a request was recorded
    std::map<std::string, Reply> script_ DT_GUARDED_BY(mu_);
    Reply default_ DT_GUARDED_BY(mu_) = Reply::status(404);
    std::vector<UpstreamRequest> requests_ DT_GUARDED_BY(mu_);
};

} // namespace dialtone::test
