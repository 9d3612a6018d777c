// One client connection: reads requests (its RequestParser parses them), runs them through the
// location's plugin, and writes responses in order with backpressure.
//
// Reads and writes go straight to the non-blocking socket (read, writev, sendfile) from a
// uv_poll_t: no per-write allocation, and file bodies go out zero-copy.
//
// Watermarks: a plugin write is refused with DT_EAGAIN while more than kHighWatermark bytes
// are queued; on_writable runs once the queue drains to kLowWatermark or below.
#pragma once

#include "generation.hpp"
#include "output_queue.hpp"
#include "request.hpp"
#include "request_parser.hpp"

#include <memory>
#include <string>
#include <sys/socket.h>
#include <vector>

#include <uv.h>

namespace dialtone {

class Exchange;
class Worker;

class Connection final : private RequestParser::Events {
  public:
    static constexpr size_t kHighWatermark = 256 * 1024;
    static constexpr size_t kLowWatermark = 64 * 1024;

    Connection(Worker &worker, int fd, const sockaddr_storage &peer,
               std::shared_ptr<const Generation> generation);
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    void start();
    // Closes at once: the current request (if any) is aborted. Safe to call repeatedly.
    void close_now();
    // Graceful stop: close if idle, else close after the current response.
    void begin_drain();
    bool idle() const;
    // Nothing will happen on this connection until the client sends more: waiting for a head
    // or a body with nothing buffered, no request being served and nothing left to send.
    bool awaiting_input() const;

    // Sends a minimal response "503 Service Unavailable" and closes (over max_connections).
    void refuse(int status);

    // Owner thread: appends a request's response operations to the output queue.
    void apply(Request &r, ResponseOp *ops, size_t count);
    // Owner thread: brackets plugin code, so that closing waits until it returns and what it
    // queued is flushed after.
    void enter_plugin();
    void leave_plugin();

    // Owner thread, from an exchange whose 101 was forwarded: from now on the client's bytes
    // go to `tunnel` (pipelined ones first), and the connection closes after the tunnel.
    void start_tunnel(Exchange &tunnel);
    // Owner thread: the upstream drained what the client sent; read the client again.
    void resume_tunnel();

    // Owner thread: the client reads slower than the response comes (its bytes are spooled):
    // the kernel keeps at most `bytes` unsent beyond what is in flight (TCP_NOTSENT_LOWAT),
    // rather than a send buffer grown for a fast client — at 10,000 slow clients that is the
    // difference between the machine's TCP memory limit and room to spare.
    void limit_unsent(size_t bytes);

    Worker &worker() { return worker_; }

    Connection *prev = nullptr, *next = nullptr; // the worker's list
    bool counted = true;                         // counts against limits.max_connections

  private:
    enum class State { head, body, processing, closing_after_flush, lingering, closed };

    // What the parser reports (RequestParser::Events).
    Request &message_begun() override;
    bool head_complete(bool has_body) override;
    void body_received() override;

    static void on_poll(uv_poll_t *h, int status, int events);
    static void on_timer(uv_timer_t *h);
    static void on_close(uv_handle_t *h);

    void on_readable();
    void on_writable_event();
    // Feeds bytes to the parser and runs every complete request it can (pipelining).
    void drive(const char *data, size_t len);
    // Parses received bytes: a complete request is dispatched (the bytes after it wait in
    // inbuf_), a refused one answered.
    void parse(const char *data, size_t len);
    // Answers a request refused before it ran (parse error, body timeout); the input that
    // follows cannot be trusted, so the connection closes after the answer.
    void fail_parse(int status, const char *why);
    // Answers `status` for the current request (or a synthetic one) with the input untrusted:
    // the connection closes after the answer, lingering, as more input may be on its way.
    void answer_and_close(int status);
    void dispatch();
    void run_handler();
    void handle_verdict(int verdict);
    // Answers with an error page, or closes when the head has gone already.
    void respond_error(int status);
    void answer_server_options();
    // A whole response from the runtime itself: status, fields, body. False (nothing sent)
    // when a response has begun already.
    bool answer_whole(Request &r, int status, std::string_view fields, std::string_view body);
    void start_response(Request &r);
    // Starts a request: the parser's, or a synthetic one for an error before any began.
    Request &begin_request();
    // Takes the current request off the connection (counters, access log, timers, its link
    // back here) and returns it, still holding the runtime's reference.
    Request *detach_request(bool served, bool log);
    // The response went out whole: detach, then wait for the next request or close.
    void request_finished();
    // The client or the connection failed first: detach and tell the plugin once.
    void abort_request(const char *why);
    // The one way the keep-alive decision is made: the connection closes after the current
    // response. It never opens up again. Reasons: the client asked (Connection: close,
    // HTTP/1.0 without keep-alive) or half-closed, the server is stopping, a parse error or
    // an error status that leaves the input untrustworthy, a body delimited by the close
    // (HTTP/1.0 without a length), a plugin that sent less than it declared.
    void end_keep_alive() { keep_alive_ = false; }
    void after_plugin_call();
    void flush();
    // Writes what the socket takes, and accounts for it.
    OutputQueue::Status write_out();
    void call_on_writable();
    void on_eof();
    void end_of_input();
    void on_error_watch();
    void update_events();
    // The deadline of the current state's timeout (head, keep-alive, body, send, linger), or
    // 0 when it has none.
    uint64_t state_deadline() const;
    // Arms the timer for the earliest deadline (the state's, or a stalled send's).
    void update_timer();
    // The timer fired: closes, or answers 408, for a deadline that passed; else re-arms.
    void on_deadline();
    // True when bytes of a next request wait unread for an idle connection whose deadline
    // passed: the read path, not the timeout, then deals with the connection.
    bool request_waiting(uint64_t deadline);
    void start_lingering_close();
    void log_access(Request &r);
    // The exchange the client's bytes go to, when the current request became a tunnel.
    Exchange *tunnel() const;

    Worker &worker_;
    int fd_;
    uv_poll_t poll_;
    uv_timer_t timer_;
    int open_handles_ = 0;
    int poll_events_ = 0;
    uint64_t armed_deadline_ = 0;
    uint64_t deferred_deadline_ = 0; // the idle deadline request_waiting let pass once

    std::shared_ptr<const Generation> generation_;
    sockaddr_storage peer_;
    RequestParser parser_; // after generation_: it keeps a reference to its limits
    State state_ = State::head;
    Request *cur_ = nullptr; // the request being parsed or served; holds the runtime's ref
    std::string inbuf_;      // received bytes not parsed yet (pipelined requests)
    bool driving_ = false;
    bool reading_paused_ = false;
    bool input_ended_ = false; // the client half-closed: no further requests
    bool error_watch_ = true;  // after the end of input: still polled for errors
    bool keep_alive_ = true;
    bool draining_ = false;
    int in_plugin_ = 0;
    bool close_pending_ = false;
    bool linger_needed_ = false; // close gracefully: input may still arrive
    bool flushing_ = false;
    bool flush_again_ = false;

    OutputQueue out_;
    bool write_blocked_ = false;

    uint64_t idle_since_ = 0;
    uint64_t head_started_ = 0;
    uint64_t last_progress_ = 0;
    uint64_t linger_started_ = 0;
};

} // namespace dialtone
