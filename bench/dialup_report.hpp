// dialup_client, the report: the run's connections summarised (nearest-rank percentiles of the
// rates, first-byte wait, transfer and connect times; error kinds; the client's own CPU, memory
// and loop lag) as text or one JSON object, and each connection's rates for a plot.
// The arithmetic is in rates.hpp; this file only gathers and prints.
#pragma once

#include "dialup_client.hpp"

#include <cstdint>
#include <string>

namespace dialtone::bench::dialup {

struct Report {
    uint32_t completed = 0;
    uint32_t failures[static_cast<int>(Failure::count)] = {};
    Summary rate_first, rate_request, ttfb_ms, transfer_s, connect_ms, first_read, body, lag;
    uint32_t undefined_first = 0; // completed, but the whole body came in one read
    uint32_t on_rate_first = 0, on_rate_request = 0;
    double cpu_user = 0, cpu_sys = 0, max_rss_mib = 0;
};

// Summarises the finished run, with this process's resource usage so far.
Report build_report(const Client &cl);

// Prints the report on stdout as one JSON object (bench/report reads it), or as text.
void print_json(const Client &cl, const Report &r);
void print_text(const Client &cl, const Report &r);

// Writes each completed connection's rate from first byte and rate from request (B/s; - where
// undefined), one line each, to `path`; false (errno set) when the file cannot be written.
bool write_rates(const Client &cl, const std::string &path);

} // namespace dialtone::bench::dialup
