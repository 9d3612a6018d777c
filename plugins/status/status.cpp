// status — live counters of the server, like Apache's mod_status or nginx's stub_status.
//
//   [[location]]
//   prefix = "/server-status"
//   handler = "status"
//   [location.status]
//   refresh_seconds = 5      # how often the HTML page refetches the JSON; 0: no script
//
// One location, three formats. `?format=html|json|prometheus` wins; else the path below the
// prefix: `/json` is JSON, `/metrics` the Prometheus text format 0.0.4, `/` (or nothing) is
// negotiated: JSON when Accept names application/json, else the HTML page. Other paths are 404.
// GET and HEAD only (else 405 with Allow); every answer is Cache-Control: no-store.
//
// The numbers come from api->server_stats (ABI 1.1), hence min_host_minor = 1. The HTML page is
// complete without JavaScript; its small inline script refetches the JSON and redraws the table.
#include <dialtone/plugin.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

const dt_api_t *api;

constexpr int64_t kDefaultRefreshSeconds = 5;
constexpr int64_t kMaxRefreshSeconds = 3600;

struct Instance {
    int64_t refresh_seconds = kDefaultRefreshSeconds;
};

enum class Format { html, json, prometheus, unknown_path, unknown_format };

// One reading of the counters. `totals.index` is unused.
struct Snapshot {
    dt_server_stats_t server{};
    std::vector<dt_worker_stats_t> workers;
    dt_worker_stats_t totals{};
};

std::string_view view(dt_str_t s) { return s.ptr ? std::string_view(s.ptr, s.len) : ""; }

// The value of `key` in an undecoded query ("a=1&format=json"); empty when absent.
std::string_view query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        if (pair.size() > key.size() && pair.substr(0, key.size()) == key &&
            pair[key.size()] == '=')
            return pair.substr(key.size() + 1);
        query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    }
    return {};
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y)
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Whether an Accept header lists application/json with a non-zero q.
bool accepts_json(std::string_view accept) {
    while (!accept.empty()) {
        size_t comma = accept.find(',');
        std::string_view range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? "" : accept.substr(comma + 1);
        size_t semi = range.find(';');
        if (!iequals(trim(range.substr(0, semi)), "application/json"))
            continue;
        std::string_view params = semi == std::string_view::npos ? "" : range.substr(semi);
        size_t q = params.find("q=");
        if (q == std::string_view::npos)
            return true;
        std::string_view value = trim(params.substr(q + 2));
        return !(value.substr(0, 1) == "0" &&
                 value.find_first_of("123456789") == std::string_view::npos);
    }
    return false;
}

Format choose_format(dt_req_t *req, bool &negotiated) {
    negotiated = false;
    std::string_view format = query_param(view(api->req_query(req)), "format");
    if (!format.empty()) {
        if (format == "html")
            return Format::html;
        if (format == "json")
            return Format::json;
        if (format == "prometheus")
            return Format::prometheus;
        return Format::unknown_format;
    }
    std::string_view path = view(api->req_path_info(req));
    if (path == "/json")
        return Format::json;
    if (path == "/metrics")
        return Format::prometheus;
    if (!path.empty() && path != "/")
        return Format::unknown_path;
    negotiated = true;
    return accepts_json(view(api->req_header(req, "Accept", 6))) ? Format::json : Format::html;
}

bool take_snapshot(dt_req_t *req, Snapshot &s) {
    s.server.size = sizeof s.server;
    int n = api->server_stats(req, &s.server, nullptr, 0);
    for (int attempt = 0; n >= 0 && attempt < 3; ++attempt) {
        dt_worker_stats_t blank{};
        blank.size = sizeof blank;
        s.workers.assign(static_cast<size_t>(n), blank);
        int now = api->server_stats(req, nullptr, s.workers.data(), static_cast<uint32_t>(n));
        if (now <= n) { // the count changes only if the server does; retry if it grew
            s.workers.resize(static_cast<size_t>(now < 0 ? 0 : now));
            n = now;
            break;
        }
        n = now;
    }
    if (n < 0)
        return false;
    for (const dt_worker_stats_t &w : s.workers) {
        s.totals.connections += w.connections;
        s.totals.accepted += w.accepted;
        s.totals.requests += w.requests;
        s.totals.active += w.active;
        s.totals.suspended += w.suspended;
        s.totals.bytes_sent += w.bytes_sent;
    }
    return true;
}

std::string version_of(const Snapshot &s) {
    return s.server.version ? s.server.version : "unknown";
}

// "2026-11-26T12:56:07.123Z"
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

// "2d 3h 4m 5s", leading zero units left out; the page's script writes the same.
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

// Escapes for JSON strings, Prometheus label values and HTML text/attributes.
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

// Not std::to_string: its digit table is a GNU unique symbol that would be exported.
std::string num(uint64_t v) {
    char text[24];
    snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(v));
    return text;
}

// The counters of one worker (or the totals) as a JSON object's members.
std::string json_counters(const dt_worker_stats_t &w) {
    return "\"connections\":" + num(w.connections) + ",\"accepted\":" + num(w.accepted) +
           ",\"requests\":" + num(w.requests) + ",\"active\":" + num(w.active) +
           ",\"suspended\":" + num(w.suspended) + ",\"bytes_sent\":" + num(w.bytes_sent);
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
    return out;
}

// Cells of one table row, in the order of the header; `data-field` lets the script find them.
std::string html_cells(const dt_worker_stats_t &w) {
    std::string out;
    const std::pair<const char *, uint64_t> cells[] = {
        {"connections", w.connections}, {"accepted", w.accepted},   {"requests", w.requests},
        {"active", w.active},           {"suspended", w.suspended}, {"bytes_sent", w.bytes_sent},
    };
    for (const auto &[field, value] : cells)
        out += std::string("<td data-field=\"") + field + "\">" + num(value) + "</td>";
    return out;
}

// Redraws from ?format=json: rows by worker index, totals, uptime, then #updated.
constexpr std::string_view kScript = R"(<script>
(function () {
  "use strict";
  var fields = ["connections", "accepted", "requests", "active", "suspended", "bytes_sent"];
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
    out += "<table id=\"workers\">\n<thead><tr><th scope=\"col\">Worker</th>"
           "<th scope=\"col\">Connections</th><th scope=\"col\">Accepted</th>"
           "<th scope=\"col\">Requests</th><th scope=\"col\">Active</th>"
           "<th scope=\"col\">Suspended</th><th scope=\"col\">Bytes sent</th></tr></thead>\n"
           "<tbody>\n";
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
        out += script;
    }
    return out + "</body>\n</html>\n";
}

int add_header(dt_req_t *req, std::string_view name, std::string_view value) {
    return api->resp_add_header(req, name.data(), name.size(), value.data(), value.size());
}

// A whole response with a declared length (counted, not sent, on HEAD).
int respond(dt_req_t *req, int status, std::string_view type, const std::string &body,
            bool vary_accept) {
    if (api->resp_set_status(req, status) != 0 || add_header(req, "Content-Type", type) != 0 ||
        add_header(req, "Cache-Control", "no-store") != 0 ||
        add_header(req, "X-Content-Type-Options", "nosniff") != 0 ||
        (vary_accept && add_header(req, "Vary", "Accept") != 0) ||
        api->resp_set_length(req, body.size()) != 0)
        return 500;
    if (type.substr(0, 9) == "text/html" &&
        add_header(req, "Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'") != 0)
        return 500;
    if (!body.empty())
        api->req_write(req, body.data(), body.size()); // fails only if the client is gone
    return DT_DONE;
}

int handle(const Instance &in, dt_req_t *req) {
    std::string_view method = view(api->req_method(req));
    if (method != "GET" && method != "HEAD") {
        if (add_header(req, "Allow", "GET, HEAD") != 0)
            return 500;
        return respond(req, 405, "text/plain; charset=utf-8", "405 method not allowed\n", false);
    }
    bool negotiated = false;
    Format format = choose_format(req, negotiated);
    if (format == Format::unknown_path)
        return 404;
    if (format == Format::unknown_format)
        return respond(req, 400, "text/plain; charset=utf-8",
                       "unknown format: use format=html, json or prometheus\n", false);
    Snapshot s;
    if (!take_snapshot(req, s))
        return 500;
    switch (format) {
    case Format::json:
        return respond(req, 200, "application/json", render_json(s), negotiated);
    case Format::prometheus:
        return respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(s),
                       negotiated);
    default:
        return respond(req, 200, "text/html; charset=utf-8", render_html(s, in.refresh_seconds),
                       negotiated);
    }
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    if (api->size < offsetof(dt_api_t, server_stats) + sizeof api->server_stats) {
        snprintf(err, err_len, "status: the host lacks server_stats (needs ABI 1.1)");
        return 1;
    }
    try {
        auto in = std::make_unique<Instance>();
        int rc = api->config_int(cfg, "refresh_seconds", &in->refresh_seconds);
        if (rc != 0 && rc != DT_ENOENT)
            return 1; // the host reported the type mismatch
        if (in->refresh_seconds < 0 || in->refresh_seconds > kMaxRefreshSeconds) {
            api->config_error(cfg, "refresh_seconds",
                              "%lld is out of range: use 0 (no refreshing) to %lld seconds",
                              static_cast<long long>(in->refresh_seconds),
                              static_cast<long long>(kMaxRefreshSeconds));
            return 1;
        }
        *instance = in.release();
        return 0;
    } catch (const std::exception &e) {
        snprintf(err, err_len, "status: %s", e.what());
        return 1;
    }
}

void on_destroy(void *instance) {
    const std::unique_ptr<Instance> in(static_cast<Instance *>(instance));
}

int on_handle(void *instance, dt_req_t *req) {
    try {
        return handle(*static_cast<const Instance *>(instance), req);
    } catch (...) { // bad_alloc: nothing may cross the C ABI
        return 500;
    }
}

const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    1, // min_host_minor: server_stats arrived in 1.1
    0, // flags
    "status",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr, // on_writable: a page is far below the write watermark
    nullptr, // on_abort: nothing is held past on_handle
    nullptr, // on_stop: nothing waits
    {},
};

} // namespace

extern "C" {
DT_PLUGIN_DEFINE(plugin, api)
}
