// The arithmetic of the dialup benchmark's report, as pure functions: one connection's rates
// from its timestamps, and nearest-rank percentiles over connections. See README.md ("Which
// rate") for why both rates are reported and which one the ±2% criterion uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace dialtone::bench {

// One completed transfer. Times are nanoseconds on one clock (the client uses CLOCK_REALTIME,
// the clock of the kernel's receive timestamps).
struct Transfer {
    uint64_t t_request = 0;        // the request was written
    uint64_t t_first = 0;          // arrival of the first read that carried body bytes
    uint64_t t_last = 0;           // arrival of the read that carried the last body byte
    uint64_t body_bytes = 0;       // the whole body
    uint64_t first_read_bytes = 0; // body bytes that arrived at t_first
};

// body_bytes / (t_last − t_request), bytes per second: what the user sees, first-byte wait and
// any opening burst included. Empty without body bytes or a positive interval.
std::optional<double> rate_from_request(const Transfer &t);

// (body_bytes − first_read_bytes) / (t_last − t_first): the steady rate over the transfer. The
// first read's bytes arrived at the start of the interval, not during it, so counting them would
// overstate the rate by one slice. Empty when the body came in one read.
std::optional<double> rate_from_first_byte(const Transfer &t);

// |rate / nominal − 1| ≤ tolerance (tolerance 0.02 for ±2%).
bool within(double rate, double nominal, double tolerance);

struct Summary {
    size_t count = 0;
    double min = 0, p1 = 0, p50 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles (the p-th percentile is the ceil(p/100 × count)-th smallest value).
Summary summarize(std::vector<double> values);

} // namespace dialtone::bench
