// Request timers (dt_api_t.timer_start, timer_stop): a per-worker pool of uv timers, and
// starting, stopping, firing and cancelling the timers of a request.
//
// A timer belongs to its request's worker loop. From another thread, timer_start registers the
// id at once (so timer_stop is exact from any thread) and posts the arming to the owner, with
// the delay counted from the call.
#pragma once

#include <dialtone/plugin.h>

#include <cstdint>
#include <vector>

#include <uv.h>

namespace dialtone {

class Request;

// One armed uv timer of a request. Lives on the owning worker's loop.
struct RequestTimer {
    uv_timer_t handle;
    Request *req;
    dt_req_cb cb;
    void *arg;
    dt_timer_id_t id;
};

// A worker's pool of initialised, stopped uv timers: a paced transfer arms ten a second, and a
// pool saves an allocation and a close per tick. Owner thread only.
class TimerPool {
  public:
    explicit TimerPool(uv_loop_t *loop) : loop_(loop) {}
    TimerPool(const TimerPool &) = delete;
    TimerPool &operator=(const TimerPool &) = delete;
    RequestTimer *acquire();
    void release(RequestTimer *t); // stops it
    // At the worker's end: closes the pooled handles; later releases close theirs.
    void close();

  private:
    uv_loop_t *loop_;
    std::vector<RequestTimer *> pool_;
    bool closed_ = false;
};

// dt_api_t.timer_start and timer_stop for `request`, from any thread.
int start_timer(Request &request, uint64_t delay_ms, dt_req_cb cb, void *arg, dt_timer_id_t *id);
int stop_timer(Request &request, dt_timer_id_t id);
// Owner thread, when the request detaches: every timer is cancelled (none will run).
void cancel_timers(Request &request);

} // namespace dialtone
