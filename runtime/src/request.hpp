// One HTTP request and its response: what dt_req_t points to.
#pragma once

#include "output_queue.hpp"
#include "request_head.hpp"

#include <dialtone/plugin.h>

#include "mutex.hpp"
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

namespace dialtone {

class Connection;
class Inbox;
struct RequestTimer;
class Worker;
struct Location;
class Generation;

// Bump allocator for dt_api_t.req_alloc: everything is freed with the request.
class Arena {
  public:
    void *alloc(size_t size);

  private:
    std::vector<std::unique_ptr<char[]>> blocks_;
    size_t used_ = 0;
    size_t cap_ = 0;
};

using http::HeaderRef;

class Request;

// A response operation from the plugin, applied to the connection on the owning worker in the
// order the plugin made the calls.
struct ResponseOp {
    enum Kind : uint8_t { head, body, finish };
    explicit ResponseOp(Kind k) : kind(k) {}
    ResponseOp(BodyPart p) : kind(body), part(p) {}
    Kind kind;
    // body: a copy's `ptr` is borrowed for the call on the owner thread; a copy made on
    // another thread is owned in `data` (ptr null).
    BodyPart part;
    std::string data;

    // Gives back what the op holds when it will not be sent.
    void discard() { part.release(); }
};

// Something to run for a request on a worker: a plugin callback (resume or timer) or a hook.
struct Continuation {
    enum Kind : uint8_t { callback, timer, writable, abort };
    Continuation(Kind k = callback, dt_req_cb cb = nullptr, void *arg = nullptr)
        : kind(k), cb(cb), arg(arg) {}
    Kind kind;
    dt_req_cb cb;
    void *arg;
};

class Request {
  public:
    explicit Request(Worker *worker); // owner thread
    ~Request();
    Request(const Request &) = delete;
    Request &operator=(const Request &) = delete;

    static Request *from(dt_req_t *r) { return reinterpret_cast<Request *>(r); }
    static const Request *from(const dt_req_t *r) { return reinterpret_cast<const Request *>(r); }
    dt_req_t *c() { return reinterpret_cast<dt_req_t *>(this); }

    void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
    // Drops a reference, from any thread. The last one frees the request (and with it maybe
    // its generation's plugin instances: on_destroy) on a worker thread, or on the thread
    // destroying the server: never on a thread of a plugin's own.
    void release();
    // True on the request's own worker thread (its connection's).
    bool on_owner_thread() const;

    std::string_view target() const { return {hbuf.data(), target_len}; }
    std::string_view header(std::string_view name) const;
    std::string_view header_name(const HeaderRef &h) const {
        return {hbuf.data() + h.name_off, h.name_len};
    }
    std::string_view header_value(const HeaderRef &h) const {
        return {hbuf.data() + h.value_off, h.value_len};
    }

    // Queues a response operation from any thread, with the ABI's state checks (DT_EABORTED,
    // DT_ESTATE, DT_EAGAIN, DT_ERANGE). On the owner thread it is applied at once; elsewhere it
    // is carried to the owner through its inbox. On error the caller keeps `op`'s resources.
    int submit(ResponseOp op);
    // Owner thread: applies the operations other threads queued.
    void apply_pending();
    // Gives back what queued operations hold (release callbacks, descriptors): they will not
    // be sent.
    void discard_pending();

    // Runs a continuation on the calling worker thread, unless another of this request's
    // continuations is running (on any thread): then it runs right after that one, on that
    // thread. So a request's hooks and callbacks never run concurrently.
    void run(Continuation c);
    // The owner marks the strand busy around on_handle (true if it was free), and runs what
    // queued up meanwhile when done.
    bool strand_enter();
    void strand_leave();
    void run_now(const Continuation &c);

    std::atomic<uint32_t> refs{1}; // the runtime's reference
    std::atomic<bool> gone{false}; // detached from its connection: finished or aborted
    // The owning worker's inbox: valid for the request's whole life, also after the worker
    // and its server are gone (posting then fails). Any thread.
    std::shared_ptr<Inbox> inbox;
    // The owning worker: use only on its thread while `conn` is set (the worker may be gone
    // once the request is detached).
    Worker *worker;
    Connection *conn = nullptr; // owner thread only; null once detached

    // Request head.
    int method = 0;               // llhttp_method_t
    std::string_view method_name; // static storage
    int http_version = 11;        // 10 or 11
    std::string hbuf;             // target, then header names and values
    uint32_t target_len = 0;
    std::vector<HeaderRef> headers;
    std::string path;         // decoded, normalised
    size_t path_info_off = 0; // where path_info starts in path
    std::string body;
    bool is_head = false;
    bool keep_alive = true;
    bool expect_continue = false;
    char remote[48] = {0};
    uint64_t start_ms = 0;

    // Routing. The request keeps its generation (and so its plugin instance) alive, also past
    // its connection while the plugin holds it.
    std::shared_ptr<const Generation> generation;
    const Location *loc = nullptr;
    size_t next_route = 0;

    // Response. Members marked DT_GUARDED_BY(mu) are read and written only under `mu` (clang
    // checks it: -Wthread-safety). The head fields after them (status .. chunked) are written
    // under `mu` until head_sent is set, and then frozen: the owner reads them without it.
    Mutex mu;
    std::vector<ResponseOp> ops DT_GUARDED_BY(mu); // queued by other threads for the owner
    size_t ops_bytes DT_GUARDED_BY(mu) = 0;        // body bytes in `ops`
    bool drain_posted DT_GUARDED_BY(mu) = false;   // an apply_pending task is on its way
    std::atomic<size_t> conn_queued{0}; // the connection's unsent bytes, published by the owner
    bool cb_running DT_GUARDED_BY(mu) = false;             // a continuation or hook is running
    std::deque<Continuation> cb_waiting DT_GUARDED_BY(mu); // continuations waiting for it
    bool finish_applied = false; // owner: the finish op reached the connection
    int status = 200;
    std::string resp_headers; // "Name: value\r\n" lines added by the plugin
    int64_t resp_length = -1; // declared Content-Length, -1 if none
    uint64_t body_bytes = 0;  // body bytes accepted from the plugin
    bool head_sent DT_GUARDED_BY(mu) = false;
    bool chunked = false;
    bool finished DT_GUARDED_BY(mu) = false; // req_finish called (or implied by DT_DONE)
    bool suspended = false;                  // on_handle returned DT_SUSPENDED
    bool aborted DT_GUARDED_BY(mu) = false;
    std::atomic<bool> want_writable{false}; // a write got DT_EAGAIN: on_writable on drain
    bool touched DT_GUARDED_BY(mu) = false; // the plugin set or wrote something (no DECLINED after)
    void *plugin_data = nullptr;
    Arena arena DT_GUARDED_BY(mu); // req_alloc may be called from any hook's thread

    std::vector<RequestTimer *> timers; // owner thread: armed timers
    // Under mu: ids of timers started and neither run nor stopped. A timer whose id left this
    // list (timer_stop from any thread, the request's end) never runs its callback.
    std::vector<dt_timer_id_t> pending_timer_ids DT_GUARDED_BY(mu);
    std::atomic<dt_timer_id_t> next_timer_id{1};
};

} // namespace dialtone
