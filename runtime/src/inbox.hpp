// A worker's inbox: tasks any thread posts for the worker's thread, and the part of a worker
// that outlives it.
//
// Requests hold their worker's inbox (shared ownership), not the worker: a plugin thread may
// keep a request past the end of its server (after on_abort, while the server stops, after it
// is destroyed) and call req_resume, timer_start or req_release on it. Those calls reach the
// inbox, which is then closed: posting fails cleanly instead of touching a freed worker.
//
// The inbox also counts its worker's live requests, so that the thread destroying the server
// can wait (bounded) until plugins let go of theirs, and destroy the requests released on
// plugin threads meanwhile: a request's last release may destroy plugin instances
// (on_destroy), which must never run on a thread of the plugin's own.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include <uv.h>

namespace dialtone {

class ServerCore;

class Inbox {
  public:
    // `async` wakes the worker's loop; it must stay valid until close(). `server` only
    // identifies the server (it is never dereferenced through the inbox).
    Inbox(uv_async_t *async, const ServerCore *server) : async_(async), server_(server) {}
    Inbox(const Inbox &) = delete;
    Inbox &operator=(const Inbox &) = delete;

    // Queues `task` for the worker's thread, in order of posting. Thread-safe: any thread.
    // Returns false once the inbox is closed (the task is dropped, not run).
    bool post(std::function<void()> task);
    // Owner thread: the tasks posted so far, in order.
    std::vector<std::function<void()>> take();
    // Owner thread, when the worker ends: posting fails from now on. Returns the tasks still
    // queued (the caller runs them: they may hold request references).
    std::vector<std::function<void()>> close();
    const ServerCore *server() const { return server_; }

    // ---- Requests of this worker that are still alive --------------------------------------
    void request_created() { live_.fetch_add(1, std::memory_order_relaxed); }
    void request_destroyed();
    // Runs `destroy` (the end of a request released on a thread that is not a worker) where
    // plugin instances may be destroyed: on the worker while it runs, else on the thread
    // waiting in reap(). Returns false when neither will happen any more (the server's wait
    // has ended): the caller must then do without.
    bool hand_over(std::function<void()> destroy);
    // The thread destroying the server, after the worker ended: destroys requests handed over
    // until none of this worker's requests is alive or `deadline_ms` (uv_hrtime in ms) passes.
    // Returns how many are still alive; from then on hand_over() refuses.
    uint64_t reap(uint64_t deadline_ms);
    uint64_t live() const { return live_.load(std::memory_order_acquire); }

  private:
    std::mutex mu_;
    std::condition_variable cv_;                 // reap() waits on it
    std::vector<std::function<void()>> tasks_;   // under mu_
    std::vector<std::function<void()>> orphans_; // under mu_: for reap()
    bool closed_ = false;                        // under mu_
    bool abandoned_ = false;                     // under mu_: reap() has given up
    std::atomic<bool> reaping_{false};
    std::atomic<uint64_t> live_{0};
    uv_async_t *async_;
    const ServerCore *server_;
};

} // namespace dialtone
