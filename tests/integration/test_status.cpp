// The bundled status plugin, loaded by the real host: its counters move with real traffic
// (requests, bytes, idle keep-alive connections, a parked suspended request), its JSON parses
// (jq), its Prometheus text parses line by line, and its HTML page redraws itself in headless
// Chromium.
#include "test_support.hpp"

#include <unistd.h>

using namespace dialtone::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The bundled status plugin at /server-status with `settings`, beside the fixture plugins:
// suspend parks requests under /s and echo answers everything else.
std::string status_config(std::string_view settings = "") {
    std::string locations = R"(
[[location]]
prefix = "/server-status"
handler = "status"
[location.status]
)";
    locations.append(settings).append("\n").append(suspend_and_echo);
    return config("", locations);
}

HttpResponse get_ok(std::uint16_t port, std::string_view target, std::string_view extra = "") {
    auto r = fetch(port, get(target, extra));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return *r;
}

// Runs jq with `filter` on `json`; the raw output without its final newline.
std::string jq(const std::string &json, const std::string &filter) {
    TempDir dir;
    fs::path file = dir.write("in.json", json);
    ProcessResult r = run_process({"/usr/bin/jq", "-r", "-e", filter, file.string()});
    INFO("jq " << filter << "\n" << json << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    if (!r.out.empty() && r.out.back() == '\n')
        r.out.pop_back();
    return r.out;
}

std::uint64_t jq_num(const std::string &json, const std::string &filter) {
    return std::stoull(jq(json, filter));
}

std::string status_json(std::uint16_t port) { return get_ok(port, "/server-status/json").body; }

std::uint64_t total(std::uint16_t port, const std::string &field) {
    return jq_num(status_json(port), ".totals." + field);
}

// Polls a JSON total until `ok` holds, up to 3 s; returns the last value.
template <typename Pred>
std::uint64_t wait_total(std::uint16_t port, const std::string &field, Pred ok) {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
        std::uint64_t v = total(port, field);
        if (ok(v) || std::chrono::steady_clock::now() >= deadline)
            return v;
        std::this_thread::sleep_for(20ms);
    }
}

// Parses the Prometheus text format 0.0.4: every line is a HELP or TYPE comment or a sample
// `name{labels} value`, and every sample follows its family's TYPE. Returns "name{labels}" to
// value.
std::map<std::string, double> prometheus_samples(const std::string &text) {
    static const std::regex comment(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$)");
    static const std::regex sample(
        R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")re"
        R"re((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9]+(?:\.[0-9]+)?)$)re");
    std::map<std::string, double> out;
    std::map<std::string, std::string> types;
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string line = text.substr(start, end - start);
        start = end + 1;
        INFO("line: " << line);
        std::smatch m;
        if (std::regex_match(line, m, comment)) {
            if (m[1] == "TYPE") {
                CHECK((m[3] == "counter" || m[3] == "gauge"));
                if (m[3] == "counter")
                    CHECK_THAT(m[2].str(), Catch::Matchers::EndsWith("_total"));
                types[m[2]] = m[3];
            }
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample));
        CHECK(types.count(m[1]) == 1);
        out[m[1].str() + m[2].str()] = std::stod(m[3]);
    }
    return out;
}

// The sum of a family's samples over all workers.
double sum_family(const std::map<std::string, double> &samples, const std::string &name) {
    double sum = 0;
    for (const auto &[key, value] : samples)
        if (key.rfind(name + "{", 0) == 0)
            sum += value;
    return sum;
}

const char *const counter_fields[] = {
    "connections",     "accepted",          "requests",           "active",
    "suspended",       "bytes_sent",        "upstream_exchanges", "upstream_active",
    "upstream_failed", "upstream_connects", "upstream_idle"};

// The rows of the workers table in an HTML page or DOM dump: worker index (-1 for the totals
// row) to field to value.
std::map<int, std::map<std::string, std::uint64_t>> html_rows(const std::string &html) {
    static const std::regex row(R"re(<tr (?:data-worker="(\d+)"|id="totals")>(.*?)</tr>)re");
    static const std::regex cell(R"re(<td data-field="(\w+)">(\d+)</td>)re");
    std::map<int, std::map<std::string, std::uint64_t>> rows;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), row);
         it != std::sregex_iterator(); ++it) {
        int index = (*it)[1].matched ? std::stoi((*it)[1]) : -1;
        std::string cells = (*it)[2];
        for (auto c = std::sregex_iterator(cells.begin(), cells.end(), cell);
             c != std::sregex_iterator(); ++c)
            rows[index][(*c)[1]] = std::stoull((*c)[2]);
    }
    return rows;
}

} // namespace

TEST_CASE("the status JSON names the server, every worker and totals that are their sums",
          "[integration][status][json]") {
    HostProcess host(status_config());
    SECTION("by path, by query and by Accept") {
        for (auto [target, extra] :
             {std::pair{"/server-status/json", ""}, std::pair{"/server-status?format=json", ""},
              std::pair{"/server-status", "Accept: application/json\r\n"}}) {
            INFO(target << " " << extra);
            HttpResponse r = get_ok(host.port(), target, extra);
            CHECK(r.header("Content-Type") == "application/json");
            CHECK(r.header("Cache-Control") == "no-store");
            CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
            CHECK(jq(r.body, "type") == "object");
        }
        // Negotiated answers vary with Accept; fixed ones do not.
        CHECK(
            get_ok(host.port(), "/server-status", "Accept: application/json\r\n").header("Vary") ==
            "Accept");
        CHECK_FALSE(get_ok(host.port(), "/server-status/json").header("Vary"));
    }
    SECTION("the members and their values") {
        std::string json = status_json(host.port());
        CHECK(jq(json, ".server.version | test(\"^[0-9]+\\\\.[0-9]+\\\\.[0-9]+\")") == "true");
        CHECK(jq_num(json, ".server.workers") == 2);
        CHECK(jq_num(json, ".server.max_connections") > 0);
        CHECK(jq(json,
                 ".server.started | test(\"^\\\\d{4}-\\\\d\\\\d-\\\\d\\\\dT\\\\d\\\\d:\\\\d\\\\d:"
                 "\\\\d\\\\d\\\\.\\\\d{3}Z$\")") == "true");
        // started and started_unix_ms name the same instant, a moment ago.
        CHECK(jq(json, "(.server.started_unix_ms / 1000 | floor | todate) == "
                       "(.server.started | sub(\"\\\\.\\\\d+Z$\"; \"Z\"))") == "true");
        auto now_ms =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
        std::uint64_t started = jq_num(json, ".server.started_unix_ms");
        CHECK(started <= now_ms);
        CHECK(started + 60000 > now_ms);
        CHECK(jq_num(json, ".server.uptime_ms") < 60000);
        CHECK(jq(json, "[.workers[].index] | tostring") == "[0,1]");
        for (const char *field : counter_fields) {
            INFO(field);
            CHECK(jq(json, std::string("([.workers[].") + field + "] | add) == .totals." + field) ==
                  "true");
        }
        CHECK(jq_num(json, ".totals.active") >= 1); // this very request
    }
}

TEST_CASE("requests and bytes sent elsewhere make the status counters grow",
          "[integration][status][json][prometheus]") {
    HostProcess host(status_config());
    std::string before = status_json(host.port());
    double prom_before =
        sum_family(prometheus_samples(get_ok(host.port(), "/server-status/metrics").body),
                   "dialtone_requests_total");
    constexpr int n = 12;
    std::uint64_t received = 0;
    for (int i = 0; i < n; ++i) {
        HttpResponse r = get_ok(host.port(), "/hello/" + std::to_string(i));
        received += r.body.size();
    }
    std::string after = status_json(host.port());
    CHECK(jq_num(after, ".totals.requests") >= jq_num(before, ".totals.requests") + n + 1);
    CHECK(jq_num(after, ".totals.bytes_sent") >= jq_num(before, ".totals.bytes_sent") + received);
    CHECK(jq_num(after, ".totals.accepted") >= jq_num(before, ".totals.accepted") + n);
    double prom_after =
        sum_family(prometheus_samples(get_ok(host.port(), "/server-status/metrics").body),
                   "dialtone_requests_total");
    CHECK(prom_after >= prom_before + n);
}

TEST_CASE("a parked request counts in status as active and suspended until it completes",
          "[integration][status][suspend]") {
    HostProcess host(status_config());
    CHECK(total(host.port(), "suspended") == 0);
    RawClient parked(host.port());
    REQUIRE(parked.send(get("/s/park?key=status")));
    CHECK(wait_total(host.port(), "suspended", [](std::uint64_t v) { return v >= 1; }) == 1);
    std::string json = status_json(host.port());
    CHECK(jq_num(json, ".totals.active") >= 2); // the parked one and this one
    auto samples = prometheus_samples(get_ok(host.port(), "/server-status/metrics").body);
    CHECK(sum_family(samples, "dialtone_requests_suspended") == 1);
    CHECK(sum_family(samples, "dialtone_requests_active") >= 2);

    HttpResponse woke = get_ok(host.port(), "/s/wake?key=status");
    auto r = parked.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(wait_total(host.port(), "suspended", [](std::uint64_t v) { return v == 0; }) == 0);
    CHECK(wait_total(host.port(), "active", [](std::uint64_t v) { return v == 1; }) == 1);
}

TEST_CASE("an idle keep-alive connection counts in status as open until it closes",
          "[integration][status][json]") {
    HostProcess host(status_config());
    CHECK(wait_total(host.port(), "connections", [](std::uint64_t v) { return v == 1; }) == 1);
    {
        RawClient idle(host.port());
        REQUIRE(idle.send(get("/keep")));
        auto r = idle.read_response(5s);
        REQUIRE(r);
        REQUIRE(r->status == 200);
        CHECK(total(host.port(), "connections") == 2); // the idle one and this one
        auto samples = prometheus_samples(get_ok(host.port(), "/server-status/metrics").body);
        CHECK(sum_family(samples, "dialtone_connections") == 2);
    }
    CHECK(wait_total(host.port(), "connections", [](std::uint64_t v) { return v == 1; }) == 1);
}

TEST_CASE("the status Prometheus text has HELP, TYPE, _total counters and worker labels",
          "[integration][status][prometheus]") {
    HostProcess host(status_config());
    std::string json = status_json(host.port());
    for (const char *target : {"/server-status/metrics", "/server-status?format=prometheus"}) {
        INFO(target);
        HttpResponse r = get_ok(host.port(), target);
        CHECK(r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
        CHECK(r.header("Cache-Control") == "no-store");
        CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
        auto samples = prometheus_samples(r.body);
        CHECK(samples.at("dialtone_build_info{version=\"" + jq(json, ".server.version") + "\"}") ==
              1);
        CHECK(samples.at("dialtone_workers") == 2);
        CHECK(samples.at("dialtone_max_connections") ==
              static_cast<double>(jq_num(json, ".server.max_connections")));
        CHECK(samples.at("dialtone_uptime_seconds") >= 0);
        CHECK(samples.at("dialtone_uptime_seconds") < 60);
        CHECK(samples.at("dialtone_start_time_seconds") ==
              Approx(jq_num(json, ".server.started_unix_ms") / 1000.0));
        for (const char *family : {"dialtone_requests_total", "dialtone_connections_accepted_total",
                                   "dialtone_sent_bytes_total", "dialtone_connections",
                                   "dialtone_requests_active", "dialtone_requests_suspended"})
            for (const char *worker : {"0", "1"}) {
                INFO(family << " worker " << worker);
                CHECK(samples.count(std::string(family) + "{worker=\"" + worker + "\"}") == 1);
            }
    }
}

TEST_CASE("the status HTML page shows the workers and totals, complete without JavaScript",
          "[integration][status][html]") {
    const std::string browser_accept =
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n";
    SECTION("with the refreshing script") {
        HostProcess host(status_config());
        for (const char *target :
             {"/server-status", "/server-status/", "/server-status?format=html"}) {
            INFO(target);
            HttpResponse r = get_ok(host.port(), target, browser_accept);
            CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
            CHECK(r.header("Cache-Control") == "no-store");
            CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
            CHECK_THAT(r.header("Content-Security-Policy").value_or(""),
                       StartsWith("default-src 'none'"));
            CHECK_THAT(r.body, StartsWith("<!DOCTYPE html>\n<html lang=\"en\">"));
            CHECK_THAT(r.body, Contains("<meta charset=\"utf-8\">"));
            CHECK_THAT(r.body, Contains("setInterval(refresh, 5 * 1000)"));
            CHECK_FALSE(matches(r.body, R"((src|href)="(https?:)?//)")); // nothing external
            auto rows = html_rows(r.body);
            REQUIRE(rows.size() == 3); // workers 0 and 1, totals
            for (const char *field : counter_fields) {
                INFO(field);
                CHECK(rows[-1][field] == rows[0][field] + rows[1][field]);
            }
            CHECK(rows[-1]["active"] >= 1);
        }
    }
    SECTION("refresh_seconds = 0 leaves the script out") {
        HostProcess host(status_config("refresh_seconds = 0\n"));
        HttpResponse r = get_ok(host.port(), "/server-status", browser_accept);
        CHECK_THAT(r.body, !Contains("<script"));
        CHECK(html_rows(r.body).size() == 3);
    }
}

TEST_CASE("status allows only GET and HEAD, and HEAD has no body",
          "[integration][status][methods]") {
    HostProcess host(status_config());
    for (const char *method : {"POST", "PUT", "DELETE"}) {
        INFO(method);
        auto r =
            fetch(host.port(), request(method, "/server-status/json", "Content-Length: 0\r\n"));
        REQUIRE(r);
        CHECK(r->status == 405);
        CHECK(r->header("Allow") == "GET, HEAD");
    }
    // HEAD then GET on one connection: a body after the HEAD would spoil the second response.
    RawClient c(host.port());
    REQUIRE(c.send(request("HEAD", "/server-status/metrics")));
    auto head = c.read_response(5s, true);
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->body.empty());
    CHECK(std::stoul(head->header("Content-Length").value_or("0")) > 100);
    REQUIRE(c.send(get("/server-status/json")));
    auto after = c.read_response(5s);
    REQUIRE(after);
    CHECK(after->status == 200);
    CHECK(jq(after->body, "type") == "object");
    CHECK(c.buffer().empty());
}

TEST_CASE("unknown status paths are 404 and unknown formats 400", "[integration][status]") {
    HostProcess host(status_config());
    auto missing = fetch(host.port(), get("/server-status/nope"));
    REQUIRE(missing);
    CHECK(missing->status == 404);
    auto bad = fetch(host.port(), get("/server-status?format=xml"));
    REQUIRE(bad);
    CHECK(bad->status == 400);
}

TEST_CASE("a bad status refresh_seconds is a config error naming the key",
          "[integration][status]") {
    for (const char *value : {"-1", "3601", "\"5\""}) {
        INFO(value);
        TempDir dir;
        ProcessResult r =
            run_host_with_config(dir, status_config(std::string("refresh_seconds = ") + value));
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Contains("refresh_seconds"));
    }
}

// Chromium (Debian's `chromium`) loads the page, runs its script with virtual time, and dumps
// the DOM: the script must have fetched the JSON and redrawn the table with live values.
// Hidden ([.chromium]): plain runs skip it by name, .ci/test runs it explicitly, and then a
// missing browser is a failure, never a silent pass.
TEST_CASE("in headless Chromium the status page's script redraws the table from the JSON",
          "[integration][status][html][.chromium]") {
    const fs::path chromium = "/usr/bin/chromium";
    INFO(chromium << " comes from Debian's chromium package (.ci/deps installs it)");
    REQUIRE(access(chromium.c_str(), X_OK) == 0);
    HostProcess host(status_config("refresh_seconds = 1\n"));
    RawClient parked(host.port()); // a live value the page must show
    REQUIRE(parked.send(get("/s/park?key=chromium")));
    REQUIRE(wait_total(host.port(), "suspended", [](std::uint64_t v) { return v >= 1; }) == 1);
    std::uint64_t requests_before = total(host.port(), "requests");

    TempDir home;
    ProcessResult dump = run_process(
        {"/usr/bin/env", "HOME=" + home.path().string(), chromium.string(), "--headless",
         "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--user-data-dir=" + (home.path() / "profile").string(), "--virtual-time-budget=3000",
         "--dump-dom", url(host.port(), "/server-status")},
        30s);
    INFO("chromium stderr:\n" << dump.err << "\nDOM:\n" << dump.out);
    REQUIRE(dump.exit_code == 0);
    std::string json = status_json(host.port());

    // The script ran, fetched the JSON, and said so.
    CHECK(matches(dump.out,
                  R"(<p id="updated">Live: updated \d{4}-\d\d-\d\dT[0-9:.]+Z, every 1 s\.</p>)"));
    auto rows = html_rows(dump.out);
    REQUIRE(rows.size() == 3);
    CHECK(rows.count(0) == 1);
    CHECK(rows.count(1) == 1);
    for (const char *field : counter_fields) {
        INFO(field);
        CHECK(rows[-1].size() == std::size(counter_fields));
        CHECK(rows[-1][field] == rows[0][field] + rows[1][field]);
    }
    // Values from a fetch made while Chromium ran: between the readings before and after.
    CHECK(rows[-1]["requests"] > requests_before);
    CHECK(rows[-1]["requests"] <= jq_num(json, ".totals.requests"));
    CHECK(rows[-1]["suspended"] == 1);
    CHECK(rows[-1]["active"] >= 1);
    CHECK(matches(dump.out, "<span id=\"version\">" + jq(json, ".server.version") + "</span>"));

    HttpResponse woke = get_ok(host.port(), "/s/wake?key=chromium");
    auto r = parked.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
}
