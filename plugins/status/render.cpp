// The status plugin's renderers (render.hpp): text built from a Snapshot, nothing else.
#include "render.hpp"

#include <cstdio>
#include <ctime>
#include <utility>

namespace dialtone::status {

namespace {

std::string version_of(const Snapshot &s) {
    return s.server.version ? s.server.version : "unknown";
}

// Not std::to_string: its digit table is a GNU unique symbol that would be exported.
std::string num(uint64_t v) {
    char text[24];
    snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(v));
    return text;
}

// Every per-worker counter, in the order the JSON, the table and the script show them.
struct Counter {
    const char *key;   // JSON member and data-field
    const char *title; // table column
    uint64_t dt_worker_stats_t::*field;
};
constexpr Counter kCounters[] = {
    {"connections", "Connections", &dt_worker_stats_t::connections},
    {"accepted", "Accepted", &dt_worker_stats_t::accepted},
    {"requests", "Requests", &dt_worker_stats_t::requests},
    {"active", "Active", &dt_worker_stats_t::active},
    {"suspended", "Suspended", &dt_worker_stats_t::suspended},
    {"bytes_sent", "Bytes sent", &dt_worker_stats_t::bytes_sent},
    {"upstream_exchanges", "Upstream exchanges", &dt_worker_stats_t::upstream_exchanges},
    {"upstream_active", "Upstream active", &dt_worker_stats_t::upstream_active},
    {"upstream_failed", "Upstream failed", &dt_worker_stats_t::upstream_failed},
    {"upstream_connects", "Upstream connects", &dt_worker_stats_t::upstream_connects},
    {"upstream_idle", "Upstream idle", &dt_worker_stats_t::upstream_idle},
};

// The counters of one worker (or the totals) as a JSON object's members.
std::string json_counters(const dt_worker_stats_t &w) {
    std::string out;
    for (const Counter &c : kCounters)
        out += std::string(out.empty() ? "\"" : ",\"") + c.key + "\":" + num(w.*c.field);
    return out;
}

// One metric family: HELP, TYPE, then one sample per worker.
void prometheus_family(std::string &out, const Snapshot &s, const char *name, const char *type,
                       const char *help, uint64_t dt_worker_stats_t::*field) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const dt_worker_stats_t &w : s.workers)
        out += std::string(name) + "{worker=\"" + num(w.index) + "\"} " + num(w.*field) + "\n";
}

void prometheus_single(std::string &out, const char *name, const char *type, const char *help,
                       const std::string &sample) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + sample + "\n";
}

// Cells of one table row, in the order of the header; `data-field` lets the script find them.
std::string html_cells(const dt_worker_stats_t &w) {
    std::string out;
    for (const Counter &c : kCounters)
        out += std::string("<td data-field=\"") + c.key + "\">" + num(w.*c.field) + "</td>";
    return out;
}

// Redraws from ?format=json: rows by worker index, totals, uptime, then #updated.
constexpr std::string_view kScript = R"(<script>
(function () {
  "use strict";
  var fields = FIELDS;
  var updated = document.getElementById("updated");
  function duration(ms) {
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,
        m = Math.floor(s / 60) % 60, text = (s % 60) + "s";
    if (s >= 60) text = m + "m " + text;
    if (s >= 3600) text = (s >= 86400 ? h : Math.floor(s / 3600)) + "h " + text;
    if (s >= 86400) text = d + "d " + text;
    return text;
  }
  function fill(row, counters) {
    fields.forEach(function (f) {
      var cell = row.querySelector('td[data-field="' + f + '"]');
      if (!cell) { cell = document.createElement("td"); cell.dataset.field = f; row.appendChild(cell); }
      cell.textContent = String(counters[f]);
    });
  }
  function render(s) {
    var body = document.querySelector("#workers tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    s.workers.forEach(function (w) {
      var row = document.createElement("tr"), head = document.createElement("th");
      row.dataset.worker = String(w.index);
      head.scope = "row";
      head.textContent = String(w.index);
      row.appendChild(head);
      fill(row, w);
      body.appendChild(row);
    });
    fill(document.getElementById("totals"), s.totals);
    document.getElementById("uptime").textContent = duration(s.server.uptime_ms);
    document.getElementById("version").textContent = s.server.version;
    document.getElementById("max-connections").textContent = String(s.server.max_connections);
  }
  function refresh() {
    fetch("?format=json", {cache: "no-store", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) {
        render(s);
        updated.textContent = "Live: updated " + new Date().toISOString() + ", every " +
                              EVERY + " s.";
      })
      .catch(function (e) { updated.textContent = "Refresh failed: " + e.message; });
  }
  refresh();
  setInterval(refresh, EVERY * 1000);
})();
</script>
)";

} // namespace

dt_worker_stats_t add_up(const std::vector<dt_worker_stats_t> &workers) {
    dt_worker_stats_t totals{};
    for (const dt_worker_stats_t &w : workers)
        for (const Counter &c : kCounters)
            totals.*c.field += w.*c.field;
    return totals;
}

std::string rfc3339(uint64_t unix_ms) {
    time_t secs = static_cast<time_t>(unix_ms / 1000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char text[80];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             static_cast<unsigned>(unix_ms % 1000));
    return text;
}

std::string duration(uint64_t ms) {
    uint64_t s = ms / 1000;
    char text[64];
    if (s >= 86400)
        snprintf(text, sizeof text, "%llud %lluh %llum %llus", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60),
                 (unsigned long long)(s % 60));
    else if (s >= 3600)
        snprintf(text, sizeof text, "%lluh %llum %llus", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    else if (s >= 60)
        snprintf(text, sizeof text, "%llum %llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(text, sizeof text, "%llus", (unsigned long long)s);
    return text;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string label_value(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string render_json(const Snapshot &s) {
    std::string out = "{\"server\":{\"version\":" + json_string(version_of(s)) +
                      ",\"started\":" + json_string(rfc3339(s.server.started_unix_ms)) +
                      ",\"started_unix_ms\":" + num(s.server.started_unix_ms) +
                      ",\"uptime_ms\":" + num(s.server.uptime_ms) +
                      ",\"workers\":" + num(s.workers.size()) +
                      ",\"max_connections\":" + num(s.server.max_connections) + "},";
    out += "\"totals\":{" + json_counters(s.totals) + "},\"workers\":[";
    for (size_t i = 0; i < s.workers.size(); ++i) {
        out += i ? ",{" : "{";
        out += "\"index\":" + num(s.workers[i].index) + "," + json_counters(s.workers[i]) + "}";
    }
    return out + "]}\n";
}

std::string render_prometheus(const Snapshot &s) {
    std::string out;
    char uptime[48], started[48];
    snprintf(uptime, sizeof uptime, " %llu.%03llu", (unsigned long long)(s.server.uptime_ms / 1000),
             (unsigned long long)(s.server.uptime_ms % 1000));
    snprintf(started, sizeof started, " %llu.%03llu",
             (unsigned long long)(s.server.started_unix_ms / 1000),
             (unsigned long long)(s.server.started_unix_ms % 1000));
    prometheus_single(out, "dialtone_build_info", "gauge", "The runtime's version; always 1.",
                      "{version=\"" + label_value(version_of(s)) + "\"} 1");
    prometheus_single(out, "dialtone_start_time_seconds", "gauge",
                      "When the server started, in seconds since 1970.", started);
    prometheus_single(out, "dialtone_uptime_seconds", "gauge", "Seconds since the server started.",
                      uptime);
    prometheus_single(out, "dialtone_workers", "gauge", "Worker threads.",
                      " " + num(s.workers.size()));
    prometheus_single(out, "dialtone_max_connections", "gauge",
                      "The configured connection limit over all workers.",
                      " " + num(s.server.max_connections));
    prometheus_family(out, s, "dialtone_connections_accepted_total", "counter",
                      "Connections accepted (including refused ones).",
                      &dt_worker_stats_t::accepted);
    prometheus_family(out, s, "dialtone_requests_total", "counter",
                      "Requests answered (every status).", &dt_worker_stats_t::requests);
    prometheus_family(out, s, "dialtone_sent_bytes_total", "counter",
                      "Bytes written to clients (heads and bodies).",
                      &dt_worker_stats_t::bytes_sent);
    prometheus_family(out, s, "dialtone_connections", "gauge", "Connections open now.",
                      &dt_worker_stats_t::connections);
    prometheus_family(out, s, "dialtone_requests_active", "gauge",
                      "Requests in progress now, suspended ones included.",
                      &dt_worker_stats_t::active);
    prometheus_family(out, s, "dialtone_requests_suspended", "gauge",
                      "Requests in progress whose handler suspended them.",
                      &dt_worker_stats_t::suspended);
    prometheus_family(out, s, "dialtone_upstream_exchanges_total", "counter",
                      "Upstream exchanges started.", &dt_worker_stats_t::upstream_exchanges);
    prometheus_family(out, s, "dialtone_upstream_failed_total", "counter",
                      "Upstream exchanges ended by an upstream failure.",
                      &dt_worker_stats_t::upstream_failed);
    prometheus_family(out, s, "dialtone_upstream_connects_total", "counter",
                      "Upstream connections opened.", &dt_worker_stats_t::upstream_connects);
    prometheus_family(out, s, "dialtone_upstream_active", "gauge",
                      "Upstream exchanges under way now.", &dt_worker_stats_t::upstream_active);
    prometheus_family(out, s, "dialtone_upstream_idle_connections", "gauge",
                      "Kept-alive upstream connections idle now.",
                      &dt_worker_stats_t::upstream_idle);
    return out;
}

std::string render_html(const Snapshot &s, int64_t refresh_seconds) {
    std::string version = html_escape(version_of(s));
    std::string started = rfc3339(s.server.started_unix_ms);
    std::string out = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dialtone status</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.2em 0.6em; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tfoot { font-weight: bold; }
</style>
</head>
<body>
<h1>dialtone status</h1>
)";
    out += "<p>Version <span id=\"version\">" + version + "</span>, started <time id=\"started\" " +
           "datetime=\"" + started + "\">" + started + "</time>, up <span id=\"uptime\">" +
           duration(s.server.uptime_ms) + "</span>. <span id=\"worker-count\">" +
           num(s.workers.size()) + "</span> workers, at most <span id=\"max-connections\">" +
           num(s.server.max_connections) + "</span> connections.</p>\n";
    out += "<table id=\"workers\">\n<thead><tr><th scope=\"col\">Worker</th>";
    for (const Counter &c : kCounters)
        out += std::string("<th scope=\"col\">") + c.title + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const dt_worker_stats_t &w : s.workers)
        out += "<tr data-worker=\"" + num(w.index) + "\"><th scope=\"row\">" + num(w.index) +
               "</th>" + html_cells(w) + "</tr>\n";
    out += "</tbody>\n<tfoot><tr id=\"totals\"><th scope=\"row\">Total</th>" +
           html_cells(s.totals) + "</tr></tfoot>\n</table>\n";
    out += "<p id=\"updated\">Rendered by the server" +
           std::string(refresh_seconds > 0 ? "; the page refreshes itself with JavaScript." : ".") +
           "</p>\n<p>Also as <a href=\"?format=json\">JSON</a> and <a "
           "href=\"?format=prometheus\">Prometheus metrics</a>.</p>\n";
    if (refresh_seconds > 0) {
        std::string script(kScript);
        std::string every = num(static_cast<uint64_t>(refresh_seconds));
        for (size_t at; (at = script.find("EVERY")) != std::string::npos;)
            script.replace(at, 5, every);
        std::string fields;
        for (const Counter &c : kCounters)
            fields += std::string(fields.empty() ? "[\"" : ", \"") + c.key + "\"";
        script.replace(script.find("FIELDS"), 6, fields + "]");
        out += script;
    }
    return out + "</body>\n</html>\n";
}

} // namespace dialtone::status
