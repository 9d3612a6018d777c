#include "timer.hpp"

#include "inbox.hpp"
#include "request.hpp"
#include "worker.hpp"

namespace dialtone {

RequestTimer *TimerPool::acquire() {
    if (!pool_.empty()) {
        RequestTimer *t = pool_.back();
        pool_.pop_back();
        return t;
    }
    auto *t = new RequestTimer{};
    uv_timer_init(loop_, &t->handle);
    t->handle.data = t;
    return t;
}

void TimerPool::release(RequestTimer *t) {
    uv_timer_stop(&t->handle);
    t->req = nullptr;
    t->cb = nullptr;
    t->arg = nullptr;
    if (!closed_ && pool_.size() < 65536) {
        pool_.push_back(t);
        return;
    }
    uv_close(reinterpret_cast<uv_handle_t *>(&t->handle),
             [](uv_handle_t *h) { delete static_cast<RequestTimer *>(h->data); });
}

void TimerPool::close() {
    if (closed_)
        return;
    closed_ = true;
    for (RequestTimer *t : pool_)
        uv_close(reinterpret_cast<uv_handle_t *>(&t->handle),
                 [](uv_handle_t *h) { delete static_cast<RequestTimer *>(h->data); });
    pool_.clear();
}

void cancel_timers(Request &q) {
    for (RequestTimer *t : q.timers)
        q.worker->timers().release(t);
    q.timers.clear();
    MutexLock lock(q.mu);
    q.pending_timer_ids.clear();
}

namespace {

// Removes `id` from the request's pending timers; false if it was not there (ran, stopped,
// or cancelled with the request).
bool take_pending(Request *q, dt_timer_id_t id) {
    MutexLock lock(q->mu);
    auto &ids = q->pending_timer_ids;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == id) {
            ids[i] = ids.back();
            ids.pop_back();
            return true;
        }
    }
    return false;
}

void on_request_timer(uv_timer_t *h) {
    auto *t = static_cast<RequestTimer *>(h->data);
    Request *q = t->req;
    auto &timers = q->timers;
    for (size_t i = 0; i < timers.size(); ++i) {
        if (timers[i] == t) {
            timers[i] = timers.back();
            timers.pop_back();
            break;
        }
    }
    dt_req_cb cb = t->cb;
    void *arg = t->arg;
    dt_timer_id_t id = t->id;
    q->worker->timers().release(t);
    if (!take_pending(q, id))
        return; // stopped from another thread meanwhile
    // Timers are cancelled when the request detaches, so the request is live here.
    q->run({Continuation::timer, cb, arg});
}

// Owner thread: arms a timer that was started `started_ms` (uv_hrtime in ms) ago.
void arm_timer(Request *q, uint64_t delay_ms, uint64_t started_ms, dt_req_cb cb, void *arg,
               dt_timer_id_t id) {
    if (!q->conn)
        return; // detached before the owner got to it: the timer went with the request
    uv_loop_t *loop = q->worker->loop();
    uv_update_time(loop); // the delay counts from the call, not from the loop's cached time
    uint64_t elapsed = uv_hrtime() / 1000000 - started_ms;
    RequestTimer *t = q->worker->timers().acquire();
    t->req = q;
    t->cb = cb;
    t->arg = arg;
    t->id = id;
    uv_timer_start(&t->handle, on_request_timer, delay_ms > elapsed ? delay_ms - elapsed : 0, 0);
    q->timers.push_back(t);
}

// Owner thread: disarms the uv timer of `id` if it is armed.
void disarm_timer(Request *q, dt_timer_id_t id) {
    auto &timers = q->timers;
    for (size_t i = 0; i < timers.size(); ++i) {
        RequestTimer *t = timers[i];
        if (t->id != id)
            continue;
        timers[i] = timers.back();
        timers.pop_back();
        q->worker->timers().release(t);
        return;
    }
}

} // namespace

int start_timer(Request &request, uint64_t delay_ms, dt_req_cb cb, void *arg, dt_timer_id_t *id) {
    Request *q = &request;
    if (!cb)
        return DT_EINVAL;
    uint64_t started = uv_hrtime() / 1000000;
    dt_timer_id_t tid = q->next_timer_id.fetch_add(1, std::memory_order_relaxed);
    {
        MutexLock lock(q->mu);
        // The request detaches (phase served or aborted) before its timers are cleared under
        // this lock, so a timer registered here is either seen by that clearing or refused.
        if (q->detached())
            return DT_EABORTED;
        q->pending_timer_ids.push_back(tid);
    }
    if (id)
        *id = tid;
    if (q->on_owner_thread()) {
        arm_timer(q, delay_ms, started, cb, arg, tid);
        return 0;
    }
    q->retain();
    bool posted = q->inbox->post([q, delay_ms, started, cb, arg, tid] {
        arm_timer(q, delay_ms, started, cb, arg, tid);
        q->release();
    });
    if (!posted) {
        take_pending(q, tid);
        q->release();
        return DT_EABORTED;
    }
    return 0;
}

int stop_timer(Request &request, dt_timer_id_t id) {
    Request *q = &request;
    // Once the id leaves the pending list the callback cannot run, whichever thread asks.
    if (!take_pending(q, id))
        return DT_ENOENT;
    if (q->on_owner_thread()) {
        if (q->conn)
            disarm_timer(q, id);
        return 0;
    }
    // Free the uv timer early rather than let it fire for nothing (best effort).
    q->retain();
    if (!q->inbox->post([q, id] {
            if (q->conn)
                disarm_timer(q, id);
            q->release();
        }))
        q->release();
    return 0;
}

} // namespace dialtone
