// One HTTP request and its response: what dt_req_t points to.
#pragma once

#include "output_queue.hpp"
#include "request_head.hpp"

#include <dialtone/plugin.h>

#include "mutex.hpp"
#include <atomic>
#include <cstdint>
#include <memory>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

namespace dialtone {

class Connection;
class Exchange;
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
    enum Kind : uint8_t { head, body, finish, fail }; // fail: finish as broken (req_fail)
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

// Where a request stands. It only moves forward (down this list), and `aborted` may follow any
// phase before `served`. Read and written under the request's lock: plugin threads check it on
// every call, the owner thread moves it.
//
//   open ──► head_sent ──► finished ──► complete ──► served
//     └──────────┴─────────────┴────────────┴──────► aborted
enum class Phase : uint8_t {
    open,      // no response yet: the plugin may set the status and fields, or decline
    head_sent, // the head is on its way (the first write or the finish): fields are frozen
    finished,  // req_finish (or DT_DONE, or an error page): nothing more from the plugin
    complete,  // owner: the finish reached the connection's output queue
    served,    // detached from its connection after its response (may still be draining)
    aborted,   // the client or the connection failed first; detached
};

class Request {
  public:
    explicit Request(Worker *worker); // owner thread
    // A request of `inbox`'s worker, for tests that drive a request without a connection:
    // `worker` may be null (nothing then runs as the owner).
    Request(std::shared_ptr<Inbox> inbox, Worker *worker);
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
    // dt_api_t.req_fail: before the head, an error page for `status`; after it, a finish that
    // leaves the response visibly broken (no last chunk, the connection closes). Any thread.
    int fail(int status);
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

    // Under mu: the response is past the plugin's reach (finished or gone).
    bool detached() const DT_REQUIRES(mu) { return phase >= Phase::served; }
    // Takes the lock: for the owner thread's checks between plugin calls.
    Phase current_phase() {
        MutexLock lock(mu);
        return phase;
    }

    // The members below are grouped by who may touch them, and how.

    // -- Any thread, lock-free ------------------------------------------------------------------
    std::atomic<uint32_t> refs{1};          // the runtime's reference, plus one per holder
    std::atomic<size_t> conn_queued{0};     // the connection's unsent bytes, published by the owner
    std::atomic<bool> want_writable{false}; // a write got DT_EAGAIN: on_writable on drain
    // on_writable (or the forwarding exchange) runs once the queue drains to this.
    std::atomic<size_t> writable_below{64 * 1024};
    std::atomic<dt_timer_id_t> next_timer_id{1};
    // The owning worker's inbox: set at creation, valid for the request's whole life, also
    // after the worker and its server are gone (posting then fails).
    std::shared_ptr<Inbox> inbox;
    // The request keeps its generation (and so its plugin instances) alive, also past its
    // connection while a plugin holds it. Set at creation.
    std::shared_ptr<const Generation> generation;

    // -- Fixed once the head is parsed (the owner writes them before any plugin sees the
    //    request; every thread reads them freely after) ------------------------------------------
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

    // -- Owner thread only ------------------------------------------------------------------------
    // The owning worker: use only while the request is attached (it may be gone after).
    Worker *worker;
    Connection *conn = nullptr; // null once detached (phase served or aborted)
    // Routing: changes only while on_handle runs on the owner (DECLINED tries the next
    // location); fixed once a plugin keeps the request, so its hooks may read `loc`.
    const Location *loc = nullptr;
    size_t next_route = 0;
    bool suspended = false;             // on_handle returned DT_SUSPENDED
    bool chunked = false;               // the response body goes out chunked (start_response)
    std::vector<RequestTimer *> timers; // armed uv timers
    std::vector<Exchange *> exchanges;  // upstream exchanges attached to the request
    Exchange *forwarding = nullptr;     // the exchange whose response the host forwards

    // -- Under `mu` (clang checks these: -Wthread-safety)
    // ------------------------------------------
    Mutex mu;
    Phase phase DT_GUARDED_BY(mu) = Phase::open;
    std::vector<ResponseOp> ops DT_GUARDED_BY(mu); // queued by other threads for the owner
    size_t ops_bytes DT_GUARDED_BY(mu) = 0;        // body bytes in `ops`
    bool drain_posted DT_GUARDED_BY(mu) = false;   // an apply_pending task is on its way
    bool cb_running DT_GUARDED_BY(mu) = false;     // a continuation or hook is running
    // Continuations waiting for it, oldest first. A vector: nearly always empty, and a deque
    // allocates two blocks when constructed, on every request.
    std::vector<Continuation> cb_waiting DT_GUARDED_BY(mu);
    bool touched DT_GUARDED_BY(mu) = false; // the plugin set or wrote something (no DECLINED after)
    Arena arena DT_GUARDED_BY(mu);          // req_alloc may be called from any hook's thread
    // Ids of timers started and neither run nor stopped. A timer whose id left this list
    // (timer_stop from any thread, the request's end) never runs its callback.
    std::vector<dt_timer_id_t> pending_timer_ids DT_GUARDED_BY(mu);

    // -- The response head: written under `mu` while the phase is `open`, frozen after, when
    //    the owner reads it without the lock (the op that moved the phase carried it there) ------
    int status = 200;
    std::string resp_headers; // "Name: value\r\n" lines added by the plugin
    int64_t resp_length = -1; // declared Content-Length, -1 if none
    // Body bytes accepted from the plugin: grows under `mu`; the owner reads it once it stops
    // changing: the finish op reached it (complete), or the abort was marked under `mu`.
    uint64_t body_bytes = 0;

    // -- The plugin's own (dt_api_t.req_set_data): its threads, its synchronisation --------------
    void *plugin_data = nullptr;
};

} // namespace dialtone
