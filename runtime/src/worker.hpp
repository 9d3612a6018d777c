// A worker: one thread, one libuv loop, its listeners (SO_REUSEPORT sockets: the kernel
// spreads connections over workers) and the connections accepted on them. With
// Server::start_on the loop and the thread are the application's.
#pragma once

#include "access_log.hpp"
#include "generation.hpp"
#include "inbox.hpp"
#include "listener.hpp"
#include "timer.hpp"
#include "upstream.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include <uv.h>

namespace dialtone {

class Connection;
class ServerCore;

// Live counters of one worker. Written only by the worker's own thread (a load and a store,
// no locked instruction on the hot path); read by any thread.
struct WorkerCounters {
    std::atomic<uint64_t> connections{0}, accepted{0}, requests{0}, active{0}, suspended{0},
        bytes_sent{0};
    std::atomic<uint64_t> up_exchanges{0}, up_active{0}, up_failed{0}, up_connects{0}, up_idle{0};
    static void add(std::atomic<uint64_t> &c, uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    static void sub(std::atomic<uint64_t> &c, uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
};

class Worker {
  public:
    // With `external` the worker runs on that loop, owned and run by the application, on the
    // thread that calls start() (no thread of its own); otherwise on its own loop and thread.
    Worker(ServerCore &server, unsigned index, uv_loop_t *external = nullptr);
    ~Worker();
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    // Takes a listening socket (non-blocking, bound, listening) to accept from.
    void add_listener(int fd);
    // Owner thread: serves a connected, non-blocking socket as if just accepted (counted
    // against limits.max_connections, refused with 503 over it). Takes ownership of `fd`.
    // accept() uses it; so does the fuzzer's in-memory transport (one end of a socketpair).
    void adopt(int fd, const sockaddr_storage &peer);
    // Owner thread: the open connections (intrusive list, newest first), and how many.
    Connection *connections() const { return conns_; }
    size_t connection_count() const { return conn_count_; }
    void start();
    void join();

    // Runs `task` on this worker's thread, in order of posting. Thread-safe: any thread.
    // Returns false once the worker has stopped (the task is dropped).
    bool post(std::function<void()> task) { return inbox_->post(std::move(task)); }
    // The worker's inbox, which outlives it (requests hold it).
    const std::shared_ptr<Inbox> &inbox() const { return inbox_; }
    // Graceful stop (any thread): stop accepting, close idle connections, abort the rest
    // after the grace period.
    void stop();

    bool on_own_thread() const { return current() == this; }
    // The worker whose thread is calling, or nullptr on any other thread.
    static Worker *current();
    uv_loop_t *loop() { return loop_; }
    // Owner thread writes, any thread reads.
    WorkerCounters &counters() { return counters_; }
    const WorkerCounters &counters() const { return counters_; }
    // True once the worker closed its last handle (its loop has nothing of ours left).
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    ServerCore &server() { return server_; }
    unsigned index() const { return index_; }
    bool draining() const { return draining_; }

    // Shared read buffer: a connection copies out only what it must keep (pipelined bytes).
    char *read_buffer() { return read_buf_.get(); }
    static constexpr size_t read_buffer_size = 64 * 1024;

    // A string any code on the worker's thread may format into and copy out of before it
    // returns to the loop (response heads): one buffer per worker, not per connection.
    std::string &scratch() { return scratch_; }

    // "Date: <IMF-fixdate>\r\n", refreshed once a second.
    std::string_view date_line();
    // "[26/Nov/2026:04:50:00 +0000]" for the access log.
    std::string_view log_time();

    void log_access(std::string_view line); // buffered; flushed each second and at exit

    // The pool request timers come from (owner thread).
    TimerPool &timers() { return timers_; }
    // Upstream pools and balancers, per group (owner thread).
    WorkerUpstreams &upstreams() { return upstreams_; }

    void connection_opened(Connection *c);
    void connection_closed(Connection *c);

  private:
    static void on_async(uv_async_t *h);
    static void on_tick(uv_timer_t *h);
    static void on_grace_over(uv_timer_t *h);
    void run();
    void drain_inbox();
    void begin_stop();
    void finish_stop();
    void flush_access_log();
    void refresh_clock();

    ServerCore &server_;
    unsigned index_;
    uv_loop_t own_loop_;
    uv_loop_t *loop_;
    bool external_;
    std::atomic<bool> finished_{false};
    alignas(64) WorkerCounters counters_;
    uv_async_t async_;
    uv_timer_t tick_;  // once a second: clock, access log, grace period
    uv_timer_t grace_; // stopping: the end of the grace period
    std::thread thread_;
    std::unique_ptr<char[]> read_buf_;
    std::string scratch_;

    std::shared_ptr<Inbox> inbox_;
    Listeners listeners_;
    std::atomic<bool> stop_requested_{false};

    Connection *conns_ = nullptr; // intrusive list
    size_t conn_count_ = 0;
    bool draining_ = false;

    time_t clock_sec_ = 0;
    char date_line_[64];
    size_t date_len_ = 0;
    char log_time_[40];
    size_t log_time_len_ = 0;
    AccessLogBuffer access_log_;
    TimerPool timers_;
    WorkerUpstreams upstreams_{*this};
    bool handles_closed_ = false;
};

} // namespace dialtone
