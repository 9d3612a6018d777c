// Suspended requests continued every way the ABI allows, through the suspend fixture plugin
// (tests/fixtures/suspend): from a thread the runtime does not own, from another worker, by
// runtime timers; aborted while a timer is pending; thousands at once.
#include "test_support.hpp"

#include <poll.h>
#include <sys/resource.h>

using namespace dialtone::test;

namespace {

std::string suspend_config(std::string_view server_extra = "") {
    std::string text = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n";
    text.append(server_extra).append("\n").append(fixture_plugins);
    text.append(R"(
[[location]]
prefix = "/s"
handler = "suspend"
)");
    return text;
}

std::map<std::string, std::string> stats(std::uint16_t port) {
    auto r = fetch(port, get("/s/stats"));
    REQUIRE(r);
    return fields(r->body);
}

} // namespace

TEST_CASE("a plugin thread the runtime does not own writes and finishes a suspended request",
          "[integration][suspend][threads]") {
    HostProcess host(suspend_config());
    RawClient c(host.port());
    REQUIRE(c.send(get("/s/thread?ms=50")));
    auto r = c.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->chunked); // no length declared: chunked, pieces in call order
    REQUIRE(matches(r->body, R"(^part1;thread handled=(\d+) wrote=(\d+)\n$)"));
    auto f = fields(r->body);
    CHECK(f["handled"] != f["wrote"]); // written from the plugin's own thread
    // The connection stays usable: keep-alive after a suspended response.
    REQUIRE(c.send(get("/s/stats")));
    auto again = c.read_response(5s);
    REQUIRE(again);
    CHECK(again->status == 200);
}

TEST_CASE("req_resume from a foreign thread continues the request on a worker",
          "[integration][suspend][threads]") {
    HostProcess host(suspend_config());
    auto r = fetch(host.port(), get("/s/resume?ms=30"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(matches(r->body, R"(^resumed handled=\d+ continued=\d+\n$)"));
}

TEST_CASE("a continuation can run on another worker than the connection's",
          "[integration][suspend][threads]") {
    HostProcess host(suspend_config());
    // Park a request on one connection, then wake it from requests on other connections until
    // a wake lands on the other worker (connections spread over the two by SO_REUSEPORT).
    bool crossed = false;
    for (int attempt = 0; attempt < 40 && !crossed; ++attempt) {
        std::string key = "k" + std::to_string(attempt);
        RawClient parked(host.port());
        REQUIRE(parked.send(get("/s/park?key=" + key)));
        std::this_thread::sleep_for(20ms); // let the park reach the plugin
        auto woke = fetch(host.port(), get("/s/wake?key=" + key));
        REQUIRE(woke);
        REQUIRE(woke->status == 200);
        auto w = fields(woke->body);
        auto r = parked.read_response(5s);
        REQUIRE(r);
        REQUIRE(r->status == 200);
        auto f = fields(r->body);
        CHECK(f["continued"] == w["on"]); // the resume ran on the waking request's worker
        crossed = f["handled"] != f["continued"];
    }
    CHECK(crossed);
}

TEST_CASE("runtime timers continue a suspended request, several in a row",
          "[integration][suspend][timers]") {
    HostProcess host(suspend_config());
    auto start = std::chrono::steady_clock::now();
    auto r = fetch(host.port(), get("/s/timers?ms=40&n=3"));
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(matches(r->body, R"(^timer 3 on \d+\ntimer 2 on \d+\ntimer 1 on \d+\n$)"));
    CHECK(took >= 120ms);
}

TEST_CASE("a client that leaves during a pending timer aborts the request exactly once",
          "[integration][suspend][abort]") {
    HostProcess host(suspend_config());
    auto before = stats(host.port());
    {
        RawClient c(host.port());
        REQUIRE(c.send(get("/s/abort-timer?ms=300")));
        std::this_thread::sleep_for(50ms);
        c.reset(); // gone with the timer pending (a FIN alone would still be answered)
    }
    std::this_thread::sleep_for(500ms); // past the timer's deadline
    auto after = stats(host.port());
    CHECK(std::stol(after["aborts"]) == std::stol(before["aborts"]) + 1);
    CHECK(after["double_aborts"] == "0");
    CHECK(after["timer_after_abort"] == "0"); // the pending timer was cancelled
    CHECK(after["live"] == "0");              // the plugin let go of the request
}

TEST_CASE("a resume that arrives after the client left still runs, so the plugin can free",
          "[integration][suspend][abort]") {
    HostProcess host(suspend_config());
    auto before = stats(host.port());
    {
        RawClient c(host.port());
        REQUIRE(c.send(get("/s/resume?ms=200")));
        std::this_thread::sleep_for(30ms);
        c.reset();
    }
    std::this_thread::sleep_for(400ms);
    auto after = stats(host.port());
    CHECK(std::stol(after["aborts"]) == std::stol(before["aborts"]) + 1);
    CHECK(after["live"] == "0");
}

TEST_CASE("thousands of suspended requests are held at once on two workers",
          "[integration][suspend][scale]") {
    constexpr int n = 3000;
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    REQUIRE(rl.rlim_cur > n + 100);

    HostProcess host(suspend_config());
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < n; ++i) {
        auto c = std::make_unique<RawClient>(host.port());
        REQUIRE(c->connected());
        REQUIRE(c->send(get("/s/timers?ms=3000&n=1")));
        clients.push_back(std::move(c));
    }
    // All of them are suspended at the same time: the server holds n live requests (polled:
    // under a sanitizer on a loaded machine the last ones take a while to be read).
    auto mid = stats(host.port());
    for (auto until = std::chrono::steady_clock::now() + 2500ms;
         std::stol(mid["live"]) < n && std::chrono::steady_clock::now() < until;)
        mid = stats(host.port());
    CHECK(std::stol(mid["live"]) == n);
    int ok = 0;
    for (auto &c : clients) {
        auto r = c->read_response(10s);
        if (r && r->status == 200 && matches(r->body, "^timer 1 on "))
            ++ok;
    }
    CHECK(ok == n);
    auto end = stats(host.port());
    CHECK(end["live"] == "0");
}
