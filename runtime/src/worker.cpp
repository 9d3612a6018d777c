#include "worker.hpp"

#include "connection.hpp"
#include "dialtone/log.hpp"
#include "http.hpp"
#include "request.hpp"
#include "server_core.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace dialtone {

namespace {
thread_local Worker *t_current = nullptr;
} // namespace

Worker *Worker::current() { return t_current; }

Worker::Worker(ServerCore &server, unsigned index, uv_loop_t *external)
    : server_(server), index_(index), loop_(external ? external : &own_loop_),
      external_(external != nullptr), read_buf_(new char[read_buffer_size]),
      inbox_(std::make_shared<Inbox>(&async_, &server)),
      listeners_(loop_, [this](int fd, const sockaddr_storage &peer) { adopt(fd, peer); }),
      timers_(loop_) {
    if (!external_)
        uv_loop_init(&own_loop_);
    uv_async_init(loop_, &async_, on_async);
    async_.data = this;
    for (uv_timer_t *t : {&tick_, &grace_}) {
        uv_timer_init(loop_, t);
        t->data = this;
    }
}

Worker::~Worker() {
    join();
    if (external_)
        return; // the application's loop: it closes it
    // The loop ran to completion: every handle is closed.
    int rc = uv_loop_close(&own_loop_);
    if (rc != 0)
        DT_LOG(LogLevel::error, "worker %u: loop closed with live handles", index_);
}

void Worker::add_listener(int fd) { listeners_.add(fd); }

void Worker::start() {
    listeners_.start();
    uv_timer_start(&tick_, on_tick, 1000, 1000);
    if (external_)
        t_current = this; // the application's thread runs the loop
    else
        thread_ = std::thread([this] { run(); });
}

void Worker::join() {
    if (thread_.joinable())
        thread_.join();
}

void Worker::run() {
    t_current = this;
    uv_run(loop_, UV_RUN_DEFAULT);
    flush_access_log();
}

void Worker::stop() {
    if (stop_requested_.exchange(true))
        return;
    // Refuse new connections now, from the calling thread, on every worker at once: a client
    // that reconnects while another worker has yet to see its stop task would otherwise wait in
    // that worker's accept queue, only to be reset when the listener closes. (The worker closes
    // the descriptors itself in begin_stop, after this; connections already queued are reset.)
    listeners_.shutdown_reads();
    post([this] { begin_stop(); });
}

void Worker::on_async(uv_async_t *h) { static_cast<Worker *>(h->data)->drain_inbox(); }

void Worker::drain_inbox() {
    for (auto &t : inbox_->take())
        t();
}

void Worker::adopt(int fd, const sockaddr_storage &peer) {
    WorkerCounters::add(counters_.accepted, 1);
    bool admitted = server_.open_connection();
    auto *c = new Connection(*this, fd, peer, server_.generation());
    c->start();
    if (!admitted) {
        // Over limits.max_connections: answer 503 and close. The refused connection does
        // not count against the limit while it closes.
        server_.connection_closed();
        c->counted = false;
        c->refuse(503);
    }
}

void Worker::connection_opened(Connection *c) {
    c->next = conns_;
    if (conns_)
        conns_->prev = c;
    conns_ = c;
    ++conn_count_;
    WorkerCounters::add(counters_.connections, 1);
}

void Worker::connection_closed(Connection *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        conns_ = c->next;
    if (c->next)
        c->next->prev = c->prev;
    --conn_count_;
    WorkerCounters::sub(counters_.connections, 1);
    if (c->counted)
        server_.connection_closed();
    if (draining_ && conn_count_ == 0)
        finish_stop();
}

void Worker::begin_stop() {
    if (draining_)
        return;
    draining_ = true;
    // Connections still busy when the grace period is over are cut then, to the millisecond
    // configured (not at the next whole-second tick).
    uv_timer_start(&grace_, on_grace_over, server_.generation()->config().timeouts.grace_ms, 0);
    listeners_.close();
    // Idle connections close now; busy ones after their response.
    for (Connection *c = conns_; c;) {
        Connection *next = c->next;
        c->begin_drain();
        c = next;
    }
    if (conn_count_ == 0)
        finish_stop();
}

void Worker::finish_stop() {
    // Last one out: close the worker's own handles so that the loop ends.
    if (handles_closed_)
        return;
    handles_closed_ = true;
    upstreams_.close_all(); // detached exchanges end, idle upstream connections close
    timers_.close();
    for (uv_timer_t *t : {&tick_, &grace_})
        uv_close(reinterpret_cast<uv_handle_t *>(t), nullptr);
    // Tasks posted before the inbox closed still run (they hold request references); later
    // posts fail and their callers run or drop the work themselves.
    for (auto &t : inbox_->close())
        t();
    // The async handle is the worker's last: once it is closed nothing of ours is left on the
    // loop (listeners, connections, timers closed before it, in order).
    uv_close(reinterpret_cast<uv_handle_t *>(&async_), [](uv_handle_t *h) {
        auto *w = static_cast<Worker *>(h->data);
        if (w->external_) {
            w->flush_access_log();
            if (t_current == w)
                t_current = nullptr;
        }
        w->finished_.store(true, std::memory_order_release);
        w->server_.worker_finished();
    });
}

void Worker::on_tick(uv_timer_t *h) {
    auto *w = static_cast<Worker *>(h->data);
    w->flush_access_log();
    // Upstream pools of a replaced configuration drain: idle connections close now, the
    // pool's state goes once its last exchange ended.
    w->upstreams_.sweep(w->server_.generation().get());
}

void Worker::on_grace_over(uv_timer_t *h) {
    auto *w = static_cast<Worker *>(h->data);
    if (w->conn_count_ > 0)
        DT_LOG(LogLevel::warn, "worker %u: grace period over, aborting %zu connection(s)",
               w->index_, w->conn_count_);
    for (Connection *c = w->conns_; c;) {
        Connection *next = c->next;
        c->close_now();
        c = next;
    }
}

void Worker::refresh_clock() {
    time_t now = time(nullptr);
    if (now == clock_sec_)
        return;
    clock_sec_ = now;
    memcpy(date_line_, "Date: ", 6);
    size_t n = http::format_http_date(now, date_line_ + 6);
    memcpy(date_line_ + 6 + n, "\r\n", 2);
    date_len_ = 6 + n + 2;
    tm t;
    gmtime_r(&now, &t);
    log_time_len_ = strftime(log_time_, sizeof log_time_, "[%d/%b/%Y:%H:%M:%S +0000]", &t);
}

std::string_view Worker::date_line() {
    refresh_clock();
    return {date_line_, date_len_};
}

std::string_view Worker::log_time() {
    refresh_clock();
    return {log_time_, log_time_len_};
}

void Worker::log_access(std::string_view line) { access_log_.add(line, server_.access_log_fd()); }

void Worker::flush_access_log() { access_log_.flush(server_.access_log_fd()); }

} // namespace dialtone
