// The end of a request's and a server's life, as a plugin with threads of its own sees it (the
// hold fixture, tests/fixtures/hold): references held past on_abort and past the stop, on_destroy
// after the last of them, release callbacks before on_destroy, grace_ms to the millisecond, a
// client that half-closes after its request, and the timer contract from foreign threads.
#include "test_support.hpp"

#include <sys/socket.h>

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

using Clock = std::chrono::steady_clock;

std::string hold_config(std::string_view server_extra, std::string_view hold_settings = "") {
    return config(server_extra, std::string(R"(
[[location]]
prefix = "/"
handler = "echo"

[[location]]
prefix = "/hold"
handler = "hold"
[location.hold]
)") + std::string(hold_settings) + R"(

[[location]]
prefix = "/s"
handler = "suspend"

[[location]]
prefix = "/slow"
handler = "chunked"
[location.chunked]
delay_ms = 100
pieces = 1000
)");
}

// `count` connections, each sending `bytes`.
std::vector<std::unique_ptr<RawClient>> open_clients(std::uint16_t port, int count,
                                                     const std::string &bytes) {
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<RawClient>(port));
        REQUIRE(clients.back()->send(bytes));
    }
    return clients;
}

} // namespace

TEST_CASE("a stop while plugin threads hold requests destroys the instance after the last release",
          "[integration][lifecycle][shutdown]") {
    // 40 requests held by the instance's threads for a second; SIGTERM with grace_ms = 100 aborts
    // them, the threads notice 300 ms later and resume and release them (after the workers have
    // ended), and only then does on_destroy run, on the host's thread. Under ASan this was a
    // heap-use-after-free in the resume; in every build on_destroy never ran.
    HostProcess host(hold_config("[server.timeouts]\ngrace_ms = 100\n", "threads = 40\n"));
    auto clients = open_clients(host.port(), 40, get("/hold/job?ms=2000&notice=300"));
    std::this_thread::sleep_for(300ms); // every request reached the plugin
    auto signalled = Clock::now();
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait_exit(5s) == 0);
    CHECK(Clock::now() - signalled < 1500ms); // aborted at grace_ms, not when the jobs were due
    for (auto &c : clients) {
        CHECK(c->wait_closed(1s));
        CHECK_FALSE(c->read_response(10ms)); // aborted: no answer
    }
    CHECK_THAT(host.stderr_text(),
               Contains("hold: on_destroy: jobs=40 held=0 releases_pending=0 on_own_thread=0"));
}

TEST_CASE("a plugin holding requests past the wait is left alive and the host still exits",
          "[integration][lifecycle][shutdown]") {
    // The jobs ignore on_abort and hold their requests for 3 s: the host waits its bounded time
    // (max(grace_ms, 1 s)) for them, says so, and exits without destroying the instance.
    HostProcess host(hold_config("[server.timeouts]\ngrace_ms = 100\n", "ignore_abort = true\n"));
    auto clients = open_clients(host.port(), 8, get("/hold/job?ms=3000"));
    std::this_thread::sleep_for(200ms);
    auto signalled = Clock::now();
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait_exit(5s) == 0);
    auto took = Clock::now() - signalled;
    CHECK(took >= 1000ms);
    CHECK(took < 2500ms);
    CHECK_THAT(host.stderr_text(), Contains("plugins still hold 8 request(s)"));
    CHECK_THAT(host.stderr_text(), !Contains("hold: on_destroy"));
}

TEST_CASE("a reload destroys the old instance on a host thread after its last request",
          "[integration][lifecycle][reload]") {
    HostProcess host(hold_config(""));
    RawClient client(host.port());
    // The thread keeps its reference 300 ms after the answer, the connection closes after it.
    REQUIRE(client.send(get("/hold/job?ms=300&linger=300", "Connection: close\r\n")));
    std::this_thread::sleep_for(100ms);
    REQUIRE(kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for_stderr("reloaded"));
    auto r = client.read_response(3s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "done\n");
    CHECK(client.wait_closed(1s));
    CHECK_THAT(host.stderr_text(), !Contains("hold: on_destroy"));
    // The instance thread dropped the request's last reference; on_destroy still ran on a
    // worker (an instance thread cannot join itself).
    CHECK(host.wait_for_stderr("hold: on_destroy: jobs=4 held=0 releases_pending=0 "
                               "on_own_thread=0"));
}

TEST_CASE("grace_ms is honoured to the millisecond", "[integration][lifecycle][shutdown]") {
    int grace_ms = GENERATE(100, 350);
    HostProcess host(hold_config("[server.timeouts]\ngrace_ms = " + std::to_string(grace_ms)));
    RawClient client(host.port());
    REQUIRE(client.send(get("/slow")));
    REQUIRE(client.read_bytes(1, 2s) > 0);
    auto signalled = Clock::now();
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    REQUIRE(client.wait_closed(3s));
    auto cut_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled);
    INFO("cut " << cut_after.count() << " ms after SIGTERM, grace_ms = " << grace_ms);
    CHECK(cut_after.count() >= grace_ms - 5);  // libuv's clock counts whole milliseconds
    CHECK(cut_after.count() < grace_ms + 250); // was rounded up to a whole-second tick
    CHECK(host.wait_exit(3s) == 0);
}

TEST_CASE("a client that half-closes after its request still gets the whole response",
          "[integration][lifecycle][halfclose]") {
    HostProcess host(hold_config("", "") + R"(
[[location]]
prefix = "/files"
handler = "static"
[location.static]
root = "files"
)",
                     HostOptions{[](const fs::path &dir) {
                         write_file(dir / "files" / "big.bin", std::string(4 << 20, 'b'));
                     }});

    SECTION("a suspended request continued by a plugin thread") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/s/resume?ms=200")));
        c.shutdown_write();
        auto r = c.read_response(3s);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK_THAT(r->body, Contains("resumed"));
        CHECK(c.wait_closed(2s)); // no further requests can come: closed after the answer
    }
    SECTION("a suspended request continued by timers") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/s/timers?ms=50&n=3")));
        c.shutdown_write();
        auto r = c.read_response(3s);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("Connection") == "close");
        CHECK(c.wait_closed(2s));
    }
    SECTION("pipelined requests, the last one suspended") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/a") + get("/s/resume?ms=100") + get("/b")));
        c.shutdown_write();
        for (const char *want : {"path: /a", "resumed", "path: /b"}) {
            auto r = c.read_response(3s);
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK_THAT(r->body, Contains(want));
        }
        CHECK(c.wait_closed(2s));
    }
    SECTION("a large file read slowly") {
        // The end of input arrives while the response is still queued: it goes out whole.
        RawClient c(host.port(), "127.0.0.1", 16 * 1024);
        REQUIRE(c.send(get("/files/big.bin")));
        c.shutdown_write();
        std::this_thread::sleep_for(300ms);
        auto r = c.read_response(10s);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body.size() == (4u << 20));
        CHECK(c.wait_closed(2s));
    }
    SECTION("an incomplete request is dropped without an answer") {
        RawClient c(host.port());
        REQUIRE(c.send("GET /a HTTP/1.1\r\nHost: x\r\n"));
        c.shutdown_write();
        CHECK(c.wait_closed(2s));
        CHECK(c.buffer().empty());
    }
}

TEST_CASE("a reset after a half-close aborts the suspended request",
          "[integration][lifecycle][halfclose]") {
    HostProcess host(hold_config(""));
    RawClient c(host.port());
    REQUIRE(c.send(get("/hold/job?ms=5000")));
    c.shutdown_write();
    std::this_thread::sleep_for(200ms);
    c.reset(); // the client is really gone now
    // on_abort wakes the job, whose thread then finds every call failing cleanly.
    std::map<std::string, std::string> stats;
    for (int i = 0; i < 50 && stats["aborts"] != "1"; ++i) {
        std::this_thread::sleep_for(40ms);
        auto r = fetch(host.port(), get("/hold/stats"));
        REQUIRE(r);
        stats = fields(r->body);
    }
    CHECK(stats["aborts"] == "1");
    // timer_start: DT_EABORTED, timer_stop: DT_ENOENT, req_write: DT_EABORTED.
    CHECK(stats["after_abort"] == "-4,-6,-4");
}

TEST_CASE("timers started and stopped from a plugin thread keep their contract",
          "[integration][lifecycle][timers]") {
    HostProcess host(hold_config(""));
    for (int i = 0; i < 5; ++i) {
        auto r = fetch(host.port(), get("/hold/timers"));
        REQUIRE(r);
        REQUIRE(r->status == 200);
        auto f = fields(r->body);
        CHECK(f["stop"] == "0");      // stopped before it ran: 0, and ...
        CHECK(f["first_ran"] == "0"); // ... its callback never runs
        long elapsed = std::stol(f["elapsed_ms"]);
        CHECK(elapsed >= 150); // the delay counts from the call, never early
        CHECK(elapsed < 400);
    }
}

TEST_CASE("on_stop lets a plugin answer its waiting requests at once",
          "[integration][lifecycle][shutdown][on_stop]") {
    // grace_ms is 10 s and the jobs would wait 20 s: without on_stop (ABI 1.2) the host would sit
    // out the grace period and abort them.
    HostProcess host(hold_config("[server.timeouts]\ngrace_ms = 10000\n",
                                 "threads = 8\nanswer_on_stop = true\n"));
    auto clients = open_clients(host.port(), 8, get("/hold/job?ms=20000"));
    std::this_thread::sleep_for(200ms);
    auto signalled = Clock::now();
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    for (auto &c : clients) {
        auto r = c->read_response(2s);
        REQUIRE(r);
        CHECK(r->status == 503);
        CHECK(r->body == "stopping\n");
    }
    CHECK(host.wait_exit(5s) == 0);
    CHECK(Clock::now() - signalled < 2s);
    std::string log = host.stderr_text();
    CHECK(count(log, "hold: on_stop") == 1);
    CHECK_THAT(log, !Contains("grace period over"));
}

TEST_CASE("on_stop reaches the instances a reload retired that still serve requests",
          "[integration][lifecycle][reload][on_stop]") {
    HostProcess host(
        hold_config("[server.timeouts]\ngrace_ms = 10000\n", "answer_on_stop = true\n"));
    RawClient old_config(host.port());
    REQUIRE(old_config.send(get("/hold/job?ms=20000")));
    std::this_thread::sleep_for(100ms);
    REQUIRE(kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for_stderr("reloaded"));
    RawClient new_config(host.port());
    REQUIRE(new_config.send(get("/hold/job?ms=20000")));
    std::this_thread::sleep_for(100ms);
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    for (RawClient *c : {&old_config, &new_config}) {
        auto r = c->read_response(2s);
        REQUIRE(r);
        CHECK(r->status == 503);
    }
    CHECK(host.wait_exit(5s) == 0);
    CHECK(count(host.stderr_text(), "hold: on_stop") == 2); // one per live instance
}
