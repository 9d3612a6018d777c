// The paced reader's schedule (dialup_client --read-rate), as a pure function: how many bytes a
// connection that reads `rate` bytes a second may take now. A client that reads slowly is what
// makes a proxy hold a response: the server side of it is as fast as the upstream.
#pragma once

#include <cstdint>

namespace dialtone::bench {

// Bytes a reader paced at `rate` bytes/s may read now: what an absolute schedule allows
// `elapsed_ns` after it began, plus `burst` bytes of slack (one pacing tick's worth, so the
// first read need not wait), less the `taken` bytes read so far; 0 when the reader is ahead.
// A late check catches up at once (the schedule is absolute), and nothing is read early.
inline uint64_t paced_allowance(double rate, uint64_t elapsed_ns, uint64_t taken, uint64_t burst) {
    double due = rate * (static_cast<double>(elapsed_ns) / 1e9) + static_cast<double>(burst);
    auto allowed = static_cast<uint64_t>(due);
    return allowed > taken ? allowed - taken : 0;
}

// The paced reader checks its connections every kPaceTickMs; a connection may read one tick's
// worth ahead of its schedule (at least a byte), so it reads about once a tick.
constexpr uint64_t kPaceTickMs = 100;
inline uint64_t pace_burst(double rate) {
    auto b = static_cast<uint64_t>(rate * kPaceTickMs / 1000);
    return b > 0 ? b : 1;
}

} // namespace dialtone::bench
