// The status plugin's three formats — JSON, the Prometheus text format 0.0.4 and the HTML
// page — as pure functions over one reading of the counters. They make no plugin API call, so
// unit tests hand them a Snapshot and compare the text; status.cpp takes the reading and
// answers. Threads: any (no shared state).
#pragma once

#include <dialtone/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone::status {

// One reading of the counters. `totals.index` is unused.
struct Snapshot {
    dt_server_stats_t server{};
    std::vector<dt_worker_stats_t> workers;
    dt_worker_stats_t totals{};
};

// The workers' counters summed (`index` left 0), for Snapshot::totals.
dt_worker_stats_t add_up(const std::vector<dt_worker_stats_t> &workers);

// {"server":{...},"totals":{...},"workers":[...]} and a newline; the README lists the members.
std::string render_json(const Snapshot &s);
// HELP, TYPE and samples of every dialtone_* metric; per-worker ones labelled worker="N".
std::string render_prometheus(const Snapshot &s);
// The whole page, complete without JavaScript; with refresh_seconds > 0 an inline script
// refetches ?format=json that often and redraws the table.
std::string render_html(const Snapshot &s, int64_t refresh_seconds);

// The pieces, for tests.
// "2026-11-26T12:56:07.123Z"
std::string rfc3339(uint64_t unix_ms);
// "2d 3h 4m 5s", leading zero units left out; the page's script writes the same.
std::string duration(uint64_t ms);
// A quoted JSON string: '"' and '\\' escaped, control bytes as \u00XX.
std::string json_string(std::string_view s);
// A Prometheus label value: '\\', '"' and newline escaped.
std::string label_value(std::string_view s);
// Text safe in HTML content and quoted attributes: & < > " ' as entities.
std::string html_escape(std::string_view s);

} // namespace dialtone::status
