// Timeouts, configured small: a request head that does not complete (slowloris), an idle
// keep-alive connection (and one whose request came during a stalled loop), a stalled request
// body (408) and a stalled send.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - since).count());
}

// All timeouts long except the ones a test sets.
std::string timeouts(std::string_view overrides) {
    return "[server.timeouts]\n" + std::string(overrides) + "\n";
}

} // namespace

TEST_CASE("a request head that never completes is closed after head_ms",
          "[integration][timeouts]") {
    HostProcess host(config(timeouts("head_ms = 300"), echo_everywhere));
    RawClient client(host.port());
    auto start = Clock::now();
    REQUIRE(client.send("GET / HTTP/1.1\r\nHost: test\r\n"));
    CHECK(client.wait_closed(3s));
    long waited = elapsed_ms(start);
    CHECK(waited >= 250);
    CHECK(waited < 2500);
    // Either a silent close or a 408.
    if (!client.buffer().empty())
        CHECK_THAT(client.buffer(), StartsWith("HTTP/1.1 408"));
}

TEST_CASE("a head trickled a byte at a time is still cut at head_ms (slowloris)",
          "[integration][timeouts]") {
    HostProcess host(config(timeouts("head_ms = 300"), echo_everywhere));
    RawClient client(host.port());
    auto start = Clock::now();
    std::string trickle = "GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(200, 's');
    for (char byte : trickle) {
        if (!client.send(std::string_view(&byte, 1)) || client.read_some(50ms) > 0 ||
            client.peer_closed() || elapsed_ms(start) > 3000)
            break;
    }
    CHECK(client.wait_closed(500ms));
    CHECK(elapsed_ms(start) < 2000);
}

TEST_CASE("an idle keep-alive connection is closed after keepalive_ms", "[integration][timeouts]") {
    HostProcess host(config(timeouts("keepalive_ms = 300"), echo_everywhere));
    RawClient client(host.port());
    REQUIRE(client.send(get("/")));
    REQUIRE(client.read_response());
    auto idle_since = Clock::now();
    CHECK(client.wait_closed(3s));
    long waited = elapsed_ms(idle_since);
    CHECK(waited >= 250);
    CHECK(waited < 2500);
    CHECK(client.buffer().empty());
}

TEST_CASE("a keep-alive connection in use is not closed by keepalive_ms",
          "[integration][timeouts]") {
    HostProcess host(config(timeouts("keepalive_ms = 300"), echo_everywhere));
    RawClient client(host.port());
    for (int i = 0; i < 8; i++) {
        REQUIRE(client.send(get("/busy")));
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 200);
        std::this_thread::sleep_for(150ms);
    }
}

TEST_CASE("a request that arrived while the worker was stalled past keepalive_ms is answered",
          "[integration][timeouts][stall]") {
    // One worker: a /block request stalls its loop while the other connection's idle deadline
    // passes and its request arrives. libuv runs the due timer before it polls for that input.
    std::string toml = config(timeouts("keepalive_ms = 300"), suspend_and_echo);
    toml.replace(toml.find("workers = 2"), 11, "workers = 1");
    HostProcess host(toml);
    RawClient idle(host.port());
    SECTION("a keep-alive connection that went idle") {
        REQUIRE(idle.send(get("/first")));
        REQUIRE(idle.read_response());
    }
    SECTION("a new connection that sent nothing yet") {
        std::this_thread::sleep_for(50ms); // accepted before the stall
    }
    RawClient staller(host.port());
    REQUIRE(staller.send(get("/s/block?ms=1200")));
    std::this_thread::sleep_for(600ms); // past keepalive_ms, well inside the stall
    REQUIRE(idle.send(get("/next")));
    auto response = idle.read_response(5s);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK_FALSE(idle.peer_reset());
    auto blocked = staller.read_response(5s);
    REQUIRE(blocked);
    CHECK(blocked->body == "blocked\n");
}

TEST_CASE("a stalled request body gets 408 and a close after body_ms",
          "[integration][timeouts][body]") {
    HostProcess host(config(timeouts("body_ms = 300"), echo_everywhere));
    RawClient client(host.port());
    auto start = Clock::now();
    REQUIRE(client.send(request("POST", "/", "Content-Length: 100\r\n") + "only ten.."));
    auto response = client.read_response(3s);
    REQUIRE(response);
    CHECK(response->status == 408);
    CHECK(elapsed_ms(start) >= 250);
    CHECK(client.wait_closed(2s));
}

TEST_CASE("a send stalled by a client that reads nothing is cut after send_ms",
          "[integration][timeouts][backpressure]") {
    HostProcess host(config(timeouts("send_ms = 300"), R"(
[[location]]
prefix = "/"
handler = "firehose"
[location.firehose]
mib = 64
)"));
    RawClient client(host.port(), "127.0.0.1", /*rcvbuf=*/16 * 1024);
    REQUIRE(client.send(get("/")));
    // The plugin holds the request suspended, so a cut send must abort it.
    CHECK(host.wait_for_stderr("firehose: aborted after", 5s));
    client.wait_closed(5s);
    CHECK(client.peer_closed());
    CHECK(client.buffer().size() < 64u * 1024 * 1024);
}
