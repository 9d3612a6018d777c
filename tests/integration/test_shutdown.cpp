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
