// SIGTERM and SIGINT: stop accepting, let in-flight requests finish within grace_ms, cut the
// rest, exit 0.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

using Clock = std::chrono::steady_clock;

// A response of `pieces` lines, one every 100 ms, from a suspended request.
std::string slow_config(int pieces, int grace_ms) {
    return config("[server.timeouts]\ngrace_ms = " + std::to_string(grace_ms) + "\n",
                  "[[location]]\nprefix = \"/\"\nhandler = \"echo\"\n\n"
                  "[[location]]\nprefix = \"/slow\"\nhandler = \"chunked\"\n"
                  "[location.chunked]\ndelay_ms = 100\npieces = " +
                      std::to_string(pieces) + "\n");
}

std::string expected_pieces(int pieces) {
    std::string text;
    for (int i = 0; i < pieces; i++)
        text += "piece " + std::to_string(i) + " of " + std::to_string(pieces) + "\n";
    return text;
}

} // namespace

TEST_CASE("SIGTERM and SIGINT stop an idle host with exit 0", "[integration][shutdown]") {
    int sig = 0;
    SECTION("SIGTERM") { sig = SIGTERM; }
    SECTION("SIGINT") { sig = SIGINT; }
    HostProcess host(config("", echo_everywhere));
    REQUIRE(fetch(host.port(), get("/")));
    auto start = Clock::now();
    CHECK(host.stop(sig, 5s) == 0);
    CHECK(Clock::now() - start < 2s);
}

TEST_CASE("an idle keep-alive connection does not hold up shutdown", "[integration][shutdown]") {
    HostProcess host(config("", echo_everywhere));
    RawClient client(host.port());
    REQUIRE(client.send(get("/")));
    REQUIRE(client.read_response());
    auto start = Clock::now();
    CHECK(host.stop(SIGTERM, 5s) == 0);
    CHECK(Clock::now() - start < 2s); // grace_ms is 10 s by default
    CHECK(client.wait_closed(1s));
}

TEST_CASE("a suspended response in flight finishes within the grace period",
          "[integration][shutdown]") {
    HostProcess host(slow_config(10, 5000));
    RawClient client(host.port());
    REQUIRE(client.send(get("/slow")));
    REQUIRE(client.read_bytes(1, 2s) > 0); // the head and first piece are out
    REQUIRE(kill(host.pid(), SIGTERM) == 0);

    // New connections are no longer served.
    std::this_thread::sleep_for(200ms);
    RawClient late(host.port());
    if (late.connected()) {
        late.send(get("/late"));
        CHECK_FALSE(late.read_response(500ms));
    }

    auto response = client.read_response(5s);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == expected_pieces(10));
    CHECK(client.wait_closed(2s)); // a stopping server keeps no connection alive
    client.close();                // so the host's lingering close ends at once
    CHECK(host.wait_exit(5s) == 0);
}

TEST_CASE("a response outlasting grace_ms is aborted and the host still exits 0",
          "[integration][shutdown][abort]") {
    HostProcess host(slow_config(1000, 300));
    RawClient client(host.port());
    REQUIRE(client.send(get("/slow")));
    REQUIRE(client.read_bytes(1, 2s) > 0);
    auto start = Clock::now();
    REQUIRE(kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait_exit(5s) == 0);
    CHECK(Clock::now() - start < 3s);
    CHECK_THAT(host.stderr_text(), Contains("chunked: aborted after"));
    CHECK(client.wait_closed(1s));
    CHECK_FALSE(client.read_response(100ms)); // the final chunk never came
}

// Graceful stop under load: wrk and eight checking clients fetch a 1 MiB file over keep-alive
// connections when SIGTERM arrives. Every response that had started must arrive whole; what the
// stop may cost is requests it never started (an idle connection closed as the client sent on
// it, connections refused once the listeners are closed).
TEST_CASE("SIGTERM under wrk load loses no response in flight", "[integration][shutdown][load]") {
    const fs::path wrk = "/usr/bin/wrk";
    INFO("wrk comes from Debian's wrk package (.ci/deps installs it)");
    REQUIRE(fs::exists(wrk));
    const size_t size = 1 << 20;
    HostOptions options;
    options.prepare = [&](const fs::path &dir) {
        write_file(dir / "files" / "big.bin", std::string(size, 'x'));
    };
    HostProcess host(config("[server.timeouts]\ngrace_ms = 5000\n", R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "files"
)"),
                     options);
    std::atomic<int> whole{0}, cut{0}, unanswered{0};
    auto checker = [&] {
        for (;;) {
            RawClient c(host.port());
            if (!c.connected())
                return; // the listeners are closed: the stop is under way
            for (;;) {
                if (!c.send(get("/big.bin"))) {
                    ++unanswered;
                    break;
                }
                auto r = c.read_response(10s);
                if (!r) {
                    // No whole response: the stop may close an idle connection as a request
                    // arrives, but never one whose response has begun.
                    (c.buffer().empty() ? unanswered : cut)++;
                    break;
                }
                if (r->status == 200 && r->body.size() == size)
                    ++whole;
                else
                    ++cut;
                if (r->header("Connection") == "close") {
                    c.wait_closed(2s);
                    break;
                }
            }
        }
    };
    ProcessResult wrk_result;
    std::thread load([&] {
        wrk_result =
            run_process({wrk.string(), "-t2", "-c32", "-d4s", url(host.port(), "/big.bin")}, 20s);
    });
    std::vector<std::thread> checkers;
    for (int i = 0; i < 8; ++i)
        checkers.emplace_back(checker);

    std::this_thread::sleep_for(1500ms);
    int whole_before_stop = whole.load();
    auto signalled = Clock::now();
    CHECK(host.stop(SIGTERM, 15s) == 0);
    CHECK(Clock::now() - signalled < 5s); // within grace_ms: nothing had to be cut
    for (auto &t : checkers)
        t.join();
    load.join();

    INFO("checking clients: " << whole << " whole, " << cut << " cut, " << unanswered
                              << " unanswered");
    CHECK(whole_before_stop > 0);
    CHECK(cut == 0);
    INFO("wrk said:\n" << wrk_result.out);
    CHECK_THAT(wrk_result.out, Contains("requests in"));
    CHECK_THAT(wrk_result.out, !Contains("Non-2xx"));
    // The socket errors a stop causes: one read error per wrk connection (the close after its
    // last response), then write errors, one per reconnection wrk attempts in a tight loop once
    // the listeners are closed (its non-blocking connect fails on the first write). Never a
    // timeout, and never more than one read error per connection (that would be a response cut
    // short, then another on the reconnected socket).
    std::smatch m;
    if (std::regex_search(wrk_result.out, m,
                          std::regex(R"(connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
        CHECK(std::stoi(m[2]) <= 32);
        CHECK(std::stoi(m[4]) == 0);
    }
}
