// The libuv scaffolding both bench clients run on: timers that carry the client, SIGINT and
// SIGTERM ending a run early, and a run that reports handles left open.
#pragma once

#include <uv.h>

#include <csignal>
#include <cstdio>
#include <initializer_list>

namespace dialtone::bench {

// Initialises each timer on `loop`, with `data` for its callback.
inline void init_timers(uv_loop_t *loop, std::initializer_list<uv_timer_t *> timers, void *data) {
    for (uv_timer_t *t : timers) {
        uv_timer_init(loop, t);
        t->data = data;
    }
}

// Closes each timer (no close callback: its memory outlives the loop).
inline void close_timers(std::initializer_list<uv_timer_t *> timers) {
    for (uv_timer_t *t : timers)
        uv_close(reinterpret_cast<uv_handle_t *>(t), nullptr);
}

// SIGINT and SIGTERM, each calling `on_signal` with `data` in the handle. Ownership: the struct
// outlives the loop; close() before the loop ends.
struct StopSignals {
    uv_signal_t sigint{}, sigterm{};

    void start(uv_loop_t *loop, void *data, uv_signal_cb on_signal) {
        for (uv_signal_t *s : {&sigint, &sigterm}) {
            uv_signal_init(loop, s);
            s->data = data;
        }
        uv_signal_start(&sigint, on_signal, SIGINT);
        uv_signal_start(&sigterm, on_signal, SIGTERM);
    }

    void close() {
        for (uv_signal_t *s : {&sigint, &sigterm})
            uv_close(reinterpret_cast<uv_handle_t *>(s), nullptr);
    }
};

// Runs `loop` until no handle is left, then closes it; a handle still open is reported as
// "<program>: handles left open" on stderr.
inline void run_to_end(uv_loop_t *loop, const char *program) {
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        fprintf(stderr, "%s: handles left open\n", program);
}

} // namespace dialtone::bench
