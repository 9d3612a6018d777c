#include "render.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace dialtone::status;
using Catch::Matchers::Contains;

namespace {

dt_worker_stats_t worker(uint32_t index, uint64_t base) {
    dt_worker_stats_t w{};
    w.size = sizeof w;
    w.index = index;
    w.connections = base + 1;
    w.accepted = base + 2;
    w.requests = base + 3;
    w.active = base + 4;
    w.suspended = base + 5;
    w.bytes_sent = base + 6;
    w.upstream_exchanges = base + 7;
    w.upstream_active = base + 8;
    w.upstream_failed = base + 9;
    w.upstream_connects = base + 10;
    w.upstream_idle = base + 11;
    return w;
}

// Two workers, started 2025-11-26T12:56:07.123Z, up 1 day 2 h 3 min 4.005 s.
Snapshot two_workers(const char *version = "0.2.0") {
    Snapshot s;
    s.server.size = sizeof s.server;
    s.server.workers = 2;
    s.server.started_unix_ms = 1764161767123;
    s.server.uptime_ms = 93784005;
    s.server.max_connections = 1024;
    s.server.version = version;
    s.workers = {worker(0, 0), worker(1, 10)};
    s.totals = add_up(s.workers);
    return s;
}

} // namespace

TEST_CASE("the totals add up every worker's counters", "[status][render]") {
    const dt_worker_stats_t t = add_up({worker(0, 0), worker(1, 10), worker(2, 100)});
    CHECK(t.connections == 1 + 11 + 101);
    CHECK(t.accepted == 2 + 12 + 102);
    CHECK(t.requests == 3 + 13 + 103);
    CHECK(t.active == 4 + 14 + 104);
    CHECK(t.suspended == 5 + 15 + 105);
    CHECK(t.bytes_sent == 6 + 16 + 106);
    CHECK(t.upstream_exchanges == 7 + 17 + 107);
    CHECK(t.upstream_idle == 11 + 21 + 111);
    CHECK(t.index == 0);
    CHECK(add_up({}).requests == 0);
}

TEST_CASE("the JSON of a snapshot is exactly the documented object on one line",
          "[status][render][json]") {
    CHECK(render_json(two_workers()) ==
          "{\"server\":{\"version\":\"0.2.0\",\"started\":\"2025-11-26T12:56:07.123Z\","
          "\"started_unix_ms\":1764161767123,\"uptime_ms\":93784005,\"workers\":2,"
          "\"max_connections\":1024},"
          "\"totals\":{\"connections\":12,\"accepted\":14,\"requests\":16,\"active\":18,"
          "\"suspended\":20,\"bytes_sent\":22,\"upstream_exchanges\":24,"
          "\"upstream_active\":26,\"upstream_failed\":28,\"upstream_connects\":30,"
          "\"upstream_idle\":32},"
          "\"workers\":[{\"index\":0,\"connections\":1,\"accepted\":2,\"requests\":3,"
          "\"active\":4,\"suspended\":5,\"bytes_sent\":6,\"upstream_exchanges\":7,"
          "\"upstream_active\":8,\"upstream_failed\":9,\"upstream_connects\":10,"
          "\"upstream_idle\":11},"
          "{\"index\":1,\"connections\":11,\"accepted\":12,\"requests\":13,\"active\":14,"
          "\"suspended\":15,\"bytes_sent\":16,\"upstream_exchanges\":17,"
          "\"upstream_active\":18,\"upstream_failed\":19,\"upstream_connects\":20,"
          "\"upstream_idle\":21}]}\n");
}

TEST_CASE("the JSON of a server without workers has an empty array", "[status][render][json]") {
    Snapshot s;
    CHECK(render_json(s) ==
          "{\"server\":{\"version\":\"unknown\",\"started\":\"1970-01-01T00:00:00.000Z\","
          "\"started_unix_ms\":0,\"uptime_ms\":0,\"workers\":0,\"max_connections\":0},"
          "\"totals\":{\"connections\":0,\"accepted\":0,\"requests\":0,\"active\":0,"
          "\"suspended\":0,\"bytes_sent\":0,\"upstream_exchanges\":0,\"upstream_active\":0,"
          "\"upstream_failed\":0,\"upstream_connects\":0,\"upstream_idle\":0},"
          "\"workers\":[]}\n");
}

TEST_CASE("the Prometheus text of a snapshot is exactly the documented families",
          "[status][render][prometheus]") {
    CHECK(render_prometheus(two_workers()) ==
          R"(# HELP dialtone_build_info The runtime's version; always 1.
# TYPE dialtone_build_info gauge
dialtone_build_info{version="0.2.0"} 1
# HELP dialtone_start_time_seconds When the server started, in seconds since 1970.
# TYPE dialtone_start_time_seconds gauge
dialtone_start_time_seconds 1764161767.123
# HELP dialtone_uptime_seconds Seconds since the server started.
# TYPE dialtone_uptime_seconds gauge
dialtone_uptime_seconds 93784.005
# HELP dialtone_workers Worker threads.
# TYPE dialtone_workers gauge
dialtone_workers 2
# HELP dialtone_max_connections The configured connection limit over all workers.
# TYPE dialtone_max_connections gauge
dialtone_max_connections 1024
# HELP dialtone_connections_accepted_total Connections accepted (including refused ones).
# TYPE dialtone_connections_accepted_total counter
dialtone_connections_accepted_total{worker="0"} 2
dialtone_connections_accepted_total{worker="1"} 12
# HELP dialtone_requests_total Requests answered (every status).
# TYPE dialtone_requests_total counter
dialtone_requests_total{worker="0"} 3
dialtone_requests_total{worker="1"} 13
# HELP dialtone_sent_bytes_total Bytes written to clients (heads and bodies).
# TYPE dialtone_sent_bytes_total counter
dialtone_sent_bytes_total{worker="0"} 6
dialtone_sent_bytes_total{worker="1"} 16
# HELP dialtone_connections Connections open now.
# TYPE dialtone_connections gauge
dialtone_connections{worker="0"} 1
dialtone_connections{worker="1"} 11
# HELP dialtone_requests_active Requests in progress now, suspended ones included.
# TYPE dialtone_requests_active gauge
dialtone_requests_active{worker="0"} 4
dialtone_requests_active{worker="1"} 14
# HELP dialtone_requests_suspended Requests in progress whose handler suspended them.
# TYPE dialtone_requests_suspended gauge
dialtone_requests_suspended{worker="0"} 5
dialtone_requests_suspended{worker="1"} 15
# HELP dialtone_upstream_exchanges_total Upstream exchanges started.
# TYPE dialtone_upstream_exchanges_total counter
dialtone_upstream_exchanges_total{worker="0"} 7
dialtone_upstream_exchanges_total{worker="1"} 17
# HELP dialtone_upstream_failed_total Upstream exchanges ended by an upstream failure.
# TYPE dialtone_upstream_failed_total counter
dialtone_upstream_failed_total{worker="0"} 9
dialtone_upstream_failed_total{worker="1"} 19
# HELP dialtone_upstream_connects_total Upstream connections opened.
# TYPE dialtone_upstream_connects_total counter
dialtone_upstream_connects_total{worker="0"} 10
dialtone_upstream_connects_total{worker="1"} 20
# HELP dialtone_upstream_active Upstream exchanges under way now.
# TYPE dialtone_upstream_active gauge
dialtone_upstream_active{worker="0"} 8
dialtone_upstream_active{worker="1"} 18
# HELP dialtone_upstream_idle_connections Kept-alive upstream connections idle now.
# TYPE dialtone_upstream_idle_connections gauge
dialtone_upstream_idle_connections{worker="0"} 11
dialtone_upstream_idle_connections{worker="1"} 21
)");
}

TEST_CASE("a version is escaped for JSON, Prometheus labels and HTML", "[status][render]") {
    const Snapshot s = two_workers("1.0 \"<b>&'\\\n");
    CHECK_THAT(render_json(s), Contains("\"version\":\"1.0 \\\"<b>&'\\\\\\u000a\""));
    CHECK_THAT(render_prometheus(s), Contains("{version=\"1.0 \\\"<b>&'\\\\\\n\"} 1\n"));
    const std::string html = render_html(s, 0);
    CHECK_THAT(html, Contains("<span id=\"version\">1.0 &quot;&lt;b&gt;&amp;&#39;\\\n</span>"));
    CHECK(html.find("<b>") == std::string::npos);
}

TEST_CASE("the escapes cover exactly their special characters", "[status][render]") {
    CHECK(json_string("plain") == "\"plain\"");
    CHECK(json_string(std::string("a\"b\\c\x01\x1f\x7f", 8)) ==
          "\"a\\\"b\\\\c\\u0001\\u001f\x7f\"");
    CHECK(label_value("a\\b\"c\nd\te") == "a\\\\b\\\"c\\nd\te");
    CHECK(html_escape("<a href=\"x\">'&'</a>") ==
          "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CHECK(html_escape("caf\xc3\xa9") == "caf\xc3\xa9"); // UTF-8 passes through
}

TEST_CASE("times read as RFC 3339 UTC and durations leave out leading zero units",
          "[status][render]") {
    CHECK(rfc3339(0) == "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339(1764161767123) == "2025-11-26T12:56:07.123Z");
    CHECK(duration(0) == "0s");
    CHECK(duration(59999) == "59s");
    CHECK(duration(60000) == "1m 0s");
    CHECK(duration(3600000) == "1h 0m 0s");
    CHECK(duration(93784005) == "1d 2h 3m 4s");
}

TEST_CASE("the HTML page shows the snapshot in its table and totals", "[status][render][html]") {
    const std::string html = render_html(two_workers(), 0);
    CHECK_THAT(html, Contains("<!DOCTYPE html>"));
    CHECK_THAT(html, Contains("<time id=\"started\" datetime=\"2025-11-26T12:56:07.123Z\">"
                              "2025-11-26T12:56:07.123Z</time>, up <span id=\"uptime\">"
                              "1d 2h 3m 4s</span>"));
    CHECK_THAT(html, Contains("<tr data-worker=\"1\"><th scope=\"row\">1</th>"
                              "<td data-field=\"connections\">11</td>"
                              "<td data-field=\"accepted\">12</td>"
                              "<td data-field=\"requests\">13</td>"
                              "<td data-field=\"active\">14</td>"
                              "<td data-field=\"suspended\">15</td>"
                              "<td data-field=\"bytes_sent\">16</td>"
                              "<td data-field=\"upstream_exchanges\">17</td>"
                              "<td data-field=\"upstream_active\">18</td>"
                              "<td data-field=\"upstream_failed\">19</td>"
                              "<td data-field=\"upstream_connects\">20</td>"
                              "<td data-field=\"upstream_idle\">21</td></tr>\n"));
    CHECK_THAT(html, Contains("<tr id=\"totals\"><th scope=\"row\">Total</th>"
                              "<td data-field=\"connections\">12</td>"));
    CHECK_THAT(html, Contains("at most <span id=\"max-connections\">1024</span> connections"));
    CHECK(html.size() >= 16);
    CHECK(html.substr(html.size() - 16) == "</body>\n</html>\n");
}

TEST_CASE("the HTML page carries its refresh script only when refresh_seconds is set",
          "[status][render][html]") {
    SECTION("0 leaves the script out") {
        const std::string html = render_html(two_workers(), 0);
        CHECK(html.find("<script>") == std::string::npos);
        CHECK_THAT(html, Contains("<p id=\"updated\">Rendered by the server.</p>"));
    }
    SECTION("a period is written into the script wherever it is used") {
        const std::string html = render_html(two_workers(), 7);
        CHECK_THAT(html, Contains("<script>"));
        CHECK_THAT(html, Contains("\", every \" +\n                              7 + \" s.\""));
        CHECK_THAT(html, Contains("setInterval(refresh, 7 * 1000);"));
        CHECK(html.find("EVERY") == std::string::npos);
        CHECK_THAT(html, Contains("the page refreshes itself with JavaScript."));
    }
}
