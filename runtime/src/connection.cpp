#include "connection.hpp"

#include "dialtone/log.hpp"
#include "exchange.hpp"
#include "listener.hpp"
#include "response_head.hpp"
#include "server_core.hpp"
#include "timer.hpp"
#include "worker.hpp"

#include <cerrno>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dialtone {

namespace {

constexpr uint64_t kLingerMs = 2000;        // how long to drain a client's input before closing
constexpr size_t kMaxPipelined = 64 * 1024; // buffered input while a request is served

} // namespace

Connection::Connection(Worker &worker, int fd, const sockaddr_storage &peer,
                       std::shared_ptr<const Generation> generation)
    : worker_(worker), fd_(fd), generation_(std::move(generation)), peer_(peer),
      parser_(*this, generation_->config().limits) {}

void Connection::start() {
    uv_poll_init_socket(worker_.loop(), &poll_, fd_);
    uv_timer_init(worker_.loop(), &timer_);
    poll_.data = this;
    timer_.data = this;
    open_handles_ = 2;
    idle_since_ = uv_now(worker_.loop());
    worker_.connection_opened(this);
    update_events();
    update_timer();
}

bool Connection::idle() const { return state_ == State::head && !cur_ && out_.empty(); }

bool Connection::awaiting_input() const {
    bool reading = state_ == State::head || state_ == State::body || state_ == State::lingering;
    return reading && !reading_paused_ && inbuf_.empty() && out_.empty();
}

void Connection::begin_drain() {
    draining_ = true;
    end_keep_alive();
    if (idle())
        close_now();
}

void Connection::refuse(int status) {
    answer_and_close(status); // the client's request may not have arrived yet
    flush();
}

// ---- Reading and parsing ------------------------------------------------------------------

void Connection::on_poll(uv_poll_t *h, int status, int events) {
    auto *c = static_cast<Connection *>(h->data);
    if (status < 0) {
        c->close_now();
        return;
    }
    if (events & UV_WRITABLE)
        c->on_writable_event();
    if (c->state_ == State::closed)
        return;
    if (events & UV_PRIORITIZED) {
        c->on_error_watch();
        return;
    }
    if (events & UV_READABLE) {
        c->on_readable();
    } else if (events & UV_DISCONNECT) {
        // The peer half-closed while we were not reading (input paused).
        c->on_eof();
    }
}

void Connection::on_readable() {
    char *buf = worker_.read_buffer();
    ssize_t n = ::read(fd_, buf, Worker::read_buffer_size);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        if (cur_ && state_ == State::processing)
            abort_request("connection reset by the client");
        close_now();
        return;
    }
    if (n == 0) {
        on_eof();
        return;
    }
    switch (state_) {
    case State::head:
    case State::body:
        drive(buf, static_cast<size_t>(n));
        break;
    case State::processing:
        if (Exchange *t = tunnel()) {
            if (!t->from_client(std::string_view(buf, static_cast<size_t>(n))) &&
                state_ != State::closed) {
                reading_paused_ = true; // until the upstream takes what it has
                update_events();
            }
            break;
        }
        // Pipelined input: keep it for after this response, within bounds.
        inbuf_.append(buf, static_cast<size_t>(n));
        if (inbuf_.size() > kMaxPipelined) {
            reading_paused_ = true;
            update_events();
        }
        break;
    case State::closing_after_flush:
    case State::lingering:
    case State::closed:
        break; // discarded
    }
}

void Connection::on_eof() {
    // The client half-closed: it sends nothing more, but may still read what we owe it (nc,
    // HTTP/1.0 clients and health checkers shut down their side after the request). Requests
    // received whole are answered, then the connection closes; a suspended request is not
    // aborted for this. The client is gone only on a reset, a failed write or the send timeout.
    input_ended_ = true;
    switch (state_) {
    case State::processing:
        if (Exchange *t = tunnel())
            t->client_eof(); // passed on: the upstream sees the client's half-close
        if (inbuf_.empty())
            end_keep_alive(); // this response is the last one
        update_events();      // stop watching input: it would report the end over and over
        break;
    case State::head:
    case State::body:
        end_of_input();
        break;
    case State::closing_after_flush:
        update_events();
        break;
    case State::lingering:
        close_now();
        break;
    case State::closed:
        break;
    }
}

void Connection::on_error_watch() {
    // After the end of input only errors are watched (update_events), and a wake-up here is
    // urgent data, a hang-up (the client closed its side entirely: a socketpair reports it as
    // such, TCP as an error) or a spurious event. Urgent data is dropped, or it wakes us
    // forever; a hang-up shows as a failed empty send, which means the client is gone.
    char oob;
    if (::recv(fd_, &oob, 1, MSG_OOB | MSG_DONTWAIT) == 1)
        return;
    if (::send(fd_, nullptr, 0, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN &&
        errno != EINTR) {
        if (cur_ && state_ == State::processing)
            abort_request("the client hung up");
        close_now();
        return;
    }
    // Nothing to learn: stop watching rather than be woken again (a write still finds out).
    error_watch_ = false;
    update_events();
}

void Connection::end_of_input() {
    // Waiting for a request (or the rest of one) that can no longer come.
    if (cur_)
        abort_request("the client closed the connection mid-request");
    end_keep_alive();
    if (out_.queued() == 0) {
        close_now();
        return;
    }
    state_ = State::closing_after_flush; // earlier responses still go out
    inbuf_.clear();
    update_events();
    flush();
}

void Connection::drive(const char *data, size_t len) {
    driving_ = true;
    parse(data, len);
    // Run every pipelined request already received, as long as the responses drain.
    while (state_ == State::head && !inbuf_.empty() && out_.queued() <= kHighWatermark) {
        std::string pending;
        pending.swap(inbuf_);
        parse(pending.data(), pending.size());
    }
    driving_ = false;
    if (input_ended_ && (state_ == State::head || state_ == State::body) && inbuf_.empty()) {
        end_of_input(); // the last pipelined request was answered or is incomplete
        return;
    }
    if (state_ != State::closed)
        flush();
}

void Connection::parse(const char *data, size_t len) {
    if (len == 0)
        return;
    RequestParser::Result res = parser_.feed(data, len);
    switch (res.kind) {
    case RequestParser::Result::more:
        update_timer();
        break;
    case RequestParser::Result::message:
        // One request at a time: the bytes after it wait until it is answered.
        state_ = State::processing;
        if (res.used < len)
            inbuf_.assign(data + res.used, len - res.used);
        dispatch();
        break;
    case RequestParser::Result::refused:
        fail_parse(res.status, res.reason);
        break;
    case RequestParser::Result::stopped:
        break; // the connection closed
    }
}

void Connection::fail_parse(int status, const char *why) {
    DT_LOG(LogLevel::debug, "bad request (%d) from %s: %s", status, cur_ ? cur_->remote : "-",
           why ? why : "");
    answer_and_close(status); // the rest of the request may still be on its way
}

void Connection::answer_and_close(int status) {
    end_keep_alive();
    linger_needed_ = true;
    state_ = State::processing;
    respond_error(status);
    request_finished();
}

Request &Connection::begin_request() {
    auto *r = new Request(&worker_);
    r->conn = this;
    r->generation = generation_;
    r->start_ms = uv_now(worker_.loop());
    format_peer(peer_, r->remote, sizeof r->remote);
    cur_ = r;
    WorkerCounters::add(worker_.counters().active, 1);
    return *r;
}

Request &Connection::message_begun() {
    head_started_ = begin_request().start_ms;
    return *cur_;
}

bool Connection::head_complete(bool has_body) {
    if (!has_body)
        return true;
    state_ = State::body;
    last_progress_ = uv_now(worker_.loop());
    if (cur_->expect_continue) {
        out_.copy(http::kContinue);
        flush();
    }
    return state_ != State::closed;
}

void Connection::body_received() { last_progress_ = uv_now(worker_.loop()); }

// ---- Running a request ----------------------------------------------------------------------

void Connection::dispatch() {
    Request &r = *cur_;
    if (!r.keep_alive || draining_ || worker_.draining() || (input_ended_ && inbuf_.empty()))
        end_keep_alive(); // the client asked, we are stopping, or it sends nothing more
    if (r.target() == "*") {
        answer_server_options();
        return;
    }
    r.next_route = 0;
    run_handler();
}

void Connection::run_handler() {
    Request &r = *cur_;
    int idx = generation_->route(r.path, r.next_route);
    if (idx < 0) {
        respond_error(404);
        after_plugin_call();
        return;
    }
    const Location &loc = generation_->locations()[static_cast<size_t>(idx)];
    r.loc = &loc;
    r.next_route = static_cast<size_t>(idx) + 1;
    size_t off = loc.prefix.size();
    if (loc.prefix.back() == '/')
        --off; // keep the slash: path_info always starts with '/'
    r.path_info_off = off;
    if (!loc.plugin->desc->on_handle) {
        handle_verdict(DT_DECLINED);
        return;
    }
    // on_handle holds the request's strand: a continuation another thread posts meanwhile
    // runs after it returns.
    r.retain();
    bool entered = r.strand_enter();
    ++in_plugin_;
    int verdict = loc.plugin->desc->on_handle(loc.instance, r.c());
    --in_plugin_;
    handle_verdict(verdict);
    if (entered)
        r.strand_leave();
    r.release();
}

void Connection::handle_verdict(int verdict) {
    Request &r = *cur_;
    bool aborted, touched;
    {
        MutexLock lock(r.mu); // a plugin thread may be writing meanwhile
        aborted = r.phase == Phase::aborted;
        touched = r.touched;
    }
    if (close_pending_ || aborted) {
        after_plugin_call();
        return;
    }
    const char *plugin = r.loc ? r.loc->plugin->name.c_str() : "-";
    switch (verdict) {
    case DT_DONE: {
        ResponseOp fin{ResponseOp::finish};
        r.submit(std::move(fin)); // DT_ESTATE if the plugin finished already: fine
        break;
    }
    case DT_DECLINED:
        if (!touched) {
            run_handler();
            return;
        }
        DT_LOG(LogLevel::error, "plugin %s declined %s after starting a response", plugin,
               r.path.c_str());
        respond_error(500);
        break;
    case DT_SUSPENDED:
        if (!r.suspended)
            WorkerCounters::add(worker_.counters().suspended, 1);
        r.suspended = true;
        break;
    default:
        if (verdict < 400 || verdict > 599) {
            DT_LOG(LogLevel::error,
                   "plugin %s returned %d from on_handle for %s: not a verdict "
                   "or an HTTP error status; answering 500",
                   plugin, verdict, r.path.c_str());
            verdict = 500;
        }
        respond_error(verdict);
        break;
    }
    after_plugin_call();
}

void Connection::enter_plugin() { ++in_plugin_; }

void Connection::leave_plugin() {
    --in_plugin_;
    after_plugin_call();
}

void Connection::after_plugin_call() {
    if (in_plugin_ > 0)
        return;
    if (close_pending_) {
        close_pending_ = false;
        close_now();
        return;
    }
    if (cur_ && state_ == State::processing && cur_->current_phase() == Phase::complete)
        request_finished();
    if (!driving_)
        flush();
}

Request *Connection::detach_request(bool served, bool log) {
    Request *r = cur_;
    cur_ = nullptr;
    WorkerCounters &n = worker_.counters();
    WorkerCounters::sub(n.active, 1);
    if (served)
        WorkerCounters::add(n.requests, 1);
    if (r->suspended)
        WorkerCounters::sub(n.suspended, 1);
    if (log)
        log_access(*r);
    {
        MutexLock lock(r->mu); // detached before its timers go: see start_timer
        if (r->phase != Phase::aborted)
            r->phase = Phase::served;
    }
    cancel_timers(*r);
    r->conn = nullptr;
    // Its upstream exchanges end with it (detached ones excepted): on_done runs now, before
    // on_abort when the request was aborted.
    if (!r->exchanges.empty())
        Exchange::request_ended(*r, served ? DT_ECANCELED : DT_EABORTED);
    return r;
}

void Connection::request_finished() {
    detach_request(true, true)->release(); // the runtime's reference
    if (keep_alive_ && !draining_) {
        state_ = State::head;
        idle_since_ = uv_now(worker_.loop());
        if (reading_paused_) {
            reading_paused_ = false;
            update_events();
        }
    } else {
        state_ = State::closing_after_flush;
        if (!inbuf_.empty())
            linger_needed_ = true; // pipelined requests we will not answer
        inbuf_.clear();
    }
}

void Connection::abort_request(const char *why) {
    Request *r = cur_;
    DT_LOG(LogLevel::debug, "request %s aborted: %s", r->path.c_str(), why);
    bool notify, log;
    {
        // From here on no other thread changes the response: every setter checks `aborted`.
        MutexLock lock(r->mu);
        notify = r->suspended && r->phase < Phase::finished;
        log = r->phase != Phase::open || r->status != 200;
        r->phase = Phase::aborted;
    }
    detach_request(false, log);
    // Exactly once, after any continuation still running on another worker.
    if (notify)
        r->run({Continuation::abort});
    r->release();
}

// ---- Events, timers, closing ----------------------------------------------------------------

void Connection::update_events() {
    if (state_ == State::closed)
        return;
    // After the end of input only errors matter: watching for urgent data keeps the socket in
    // the poll set, so a reset is still reported (as an error), without the end of input waking
    // the loop again and again.
    int want = input_ended_ ? (error_watch_ ? UV_PRIORITIZED : 0) : UV_DISCONNECT;
    if (!reading_paused_ && !input_ended_)
        want |= UV_READABLE;
    if (write_blocked_)
        want |= UV_WRITABLE;
    if (want != poll_events_) {
        if (want == 0)
            uv_poll_stop(&poll_);
        else
            uv_poll_start(&poll_, want, on_poll);
        poll_events_ = want;
    }
}

uint64_t Connection::state_deadline() const {
    const Timeouts &t = generation_->config().timeouts;
    switch (state_) {
    case State::head:
        return cur_ ? head_started_ + t.head_ms : idle_since_ + t.keepalive_ms;
    case State::body:
        return last_progress_ + t.body_ms;
    case State::processing:
        return 0; // the plugin's business, unless sending stalls (update_timer)
    case State::closing_after_flush:
        return last_progress_ + t.send_ms;
    case State::lingering:
        return linger_started_ + kLingerMs;
    case State::closed:
        break;
    }
    return 0;
}

void Connection::update_timer() {
    if (state_ == State::closed)
        return;
    uint64_t deadline = state_deadline();
    if (write_blocked_) {
        uint64_t send = last_progress_ + generation_->config().timeouts.send_ms;
        if (deadline == 0 || send < deadline)
            deadline = send;
    }
    if (deadline == 0)
        return; // an armed timer finds nothing to do and stays quiet
    if (armed_deadline_ == 0 || deadline < armed_deadline_) {
        uint64_t now = uv_now(worker_.loop());
        uv_timer_start(&timer_, on_timer, deadline > now ? deadline - now : 0, 0);
        armed_deadline_ = deadline;
    }
}

void Connection::on_timer(uv_timer_t *h) {
    auto *c = static_cast<Connection *>(h->data);
    c->armed_deadline_ = 0;
    if (c->state_ != State::closed)
        c->on_deadline();
}

void Connection::on_deadline() {
    uint64_t send_ms = generation_->config().timeouts.send_ms;
    uint64_t now = uv_now(worker_.loop());
    if (write_blocked_ && now >= last_progress_ + send_ms) {
        DT_LOG(LogLevel::info, "send timeout: the client read nothing for %llu ms; closing",
               static_cast<unsigned long long>(send_ms));
        if (cur_)
            abort_request("send timeout");
        close_now();
        return;
    }
    uint64_t deadline = state_deadline();
    if (deadline == 0 || now < deadline) {
        update_timer(); // woken early, or for a deadline that moved
        return;
    }
    switch (state_) {
    case State::head:
        if (!cur_ && request_waiting(deadline))
            break; // this loop iteration's poll reads it
        if (cur_)
            DT_LOG(LogLevel::info, "request head not complete after %llu ms from %s; closing",
                   static_cast<unsigned long long>(generation_->config().timeouts.head_ms),
                   cur_->remote);
        close_now(); // else idle past keepalive_ms
        break;
    case State::body:
        fail_parse(408, "request body timeout");
        flush();
        break;
    default:
        close_now(); // the send after the last response stalled, or lingering is over
        break;
    }
}

bool Connection::request_waiting(uint64_t deadline) {
    // libuv runs due timers before it polls, so after a stalled loop the idle deadline can fire
    // with the next request already received; closing then resets the connection under it.
    // Once per deadline: blank lines trickled between requests do not keep a connection open.
    if (deadline == deferred_deadline_ || !(poll_events_ & UV_READABLE))
        return false;
    char byte;
    if (::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
        return false; // nothing waiting, or the end of input: closing loses nothing
    deferred_deadline_ = deadline;
    return true;
}

void Connection::start_lingering_close() {
    // Half-close and drain what the client still sends, so that closing with unread input
    // does not turn into a reset that destroys the response in flight (nginx's lingering close).
    // Only when input may still be coming (an error cut the request short, pipelined requests
    // were dropped, bytes are waiting): a client that sent one whole request gets a plain
    // close, and shutdown does not wait on clients that keep their end open.
    int unread = 0;
    ioctl(fd_, FIONREAD, &unread);
    if (input_ended_ || reading_paused_ || (!linger_needed_ && unread == 0)) {
        close_now(); // nothing to drain (or the client already half-closed)
        return;
    }
    state_ = State::lingering;
    ::shutdown(fd_, SHUT_WR);
    linger_started_ = uv_now(worker_.loop());
    write_blocked_ = false;
    update_events();
    update_timer();
}

void Connection::close_now() {
    if (state_ == State::closed)
        return;
    if (in_plugin_ > 0) {
        close_pending_ = true;
        return;
    }
    if (cur_)
        abort_request("the connection closed");
    state_ = State::closed;
    out_.clear();
    uv_poll_stop(&poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(&poll_), on_close);
    uv_close(reinterpret_cast<uv_handle_t *>(&timer_), on_close);
}

void Connection::on_close(uv_handle_t *h) {
    auto *c = static_cast<Connection *>(h->data);
    if (--c->open_handles_ > 0)
        return;
    ::close(c->fd_);
    c->worker_.connection_closed(c);
    delete c;
}

Exchange *Connection::tunnel() const {
    Exchange *t = cur_ ? cur_->forwarding : nullptr;
    return t && t->tunneling() ? t : nullptr;
}

void Connection::start_tunnel(Exchange &t) {
    end_keep_alive(); // nothing after a tunnel is HTTP
    std::string pending;
    pending.swap(inbuf_);
    bool more = pending.empty() || t.from_client(pending);
    if (state_ == State::closed)
        return;
    reading_paused_ = !more;
    update_events();
}

void Connection::resume_tunnel() {
    if (state_ == State::closed || !reading_paused_)
        return;
    reading_paused_ = false;
    update_events();
}

void Connection::log_access(Request &r) {
    if (worker_.server().access_log_fd() < 0)
        return;
    std::string line;
    line.reserve(256);
    append_access_log_line(line, {r.remote, worker_.log_time(), r.method_name, r.target(),
                                  r.http_version, r.status, r.is_head ? 0 : r.body_bytes,
                                  r.header("referer"), r.header("user-agent")});
    worker_.log_access(line);
}

} // namespace dialtone
