// The upstream fixture the proxy tests will stand on: each Reply does what it says on the wire,
// requests are recorded as sent, connections are counted and reused, and stopping never waits
// on a client.
#include "test_support.hpp"
#include "upstream_server.hpp"

#include <cerrno>

using namespace dialtone::test;
using Catch::Matchers::StartsWith;

namespace {

using Clock = std::chrono::steady_clock;

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

UpstreamRequest head_request() {
    UpstreamRequest request;
    request.method = "HEAD";
    return request;
}

} // namespace

TEST_CASE("generated replies frame their bodies as they say", "[upstream-fixture]") {
    UpstreamServer up;
    RawClient client(up.port());
    REQUIRE(client.connected());

    SECTION("ok: 200 with Content-Length, and the connection stays open") {
        up.on("/ok", Reply::ok("hello").header("X-Up", "1"));
        REQUIRE(client.send(get("/ok")));
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("Content-Length") == "5");
        CHECK(r->header("X-Up") == "1");
        CHECK(r->body == "hello");
        CHECK_FALSE(client.wait_closed(200ms));
    }
    SECTION("chunked: one chunk per piece, then the last chunk") {
        up.on("/chunked", Reply::chunked({"abc", "", "defg"}));
        REQUIRE(client.send(get("/chunked")));
        REQUIRE(client.read_bytes(1, 2s) > 0);
        client.read_some(100ms);
        CHECK(client.buffer().find("\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n") !=
              std::string::npos);
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->chunked);
        CHECK(r->header_count("Content-Length") == 0);
        CHECK(r->body == "abcdefg");
    }
    SECTION("until_close: no length, the body ends at the close") {
        up.on("/close-delimited", Reply::until_close("body"));
        REQUIRE(client.send(get("/close-delimited")));
        REQUIRE(client.wait_closed(2s));
        CHECK_FALSE(client.peer_reset());
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->header_count("Content-Length") == 0);
        CHECK(r->header_count("Transfer-Encoding") == 0);
        CHECK(r->body == "body");
    }
    SECTION("the default is 404, and set_default replaces it") {
        REQUIRE(client.send(get("/nothing")));
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->status == 404);
        up.set_default(Reply::status(503, "down"));
        REQUIRE(client.send(get("/nothing")));
        r = client.read_response();
        REQUIRE(r);
        CHECK(r->status == 503);
        CHECK(r->body == "down");
    }
    SECTION("an exact target wins over its path; a query still finds the path") {
        up.on("/p", Reply::ok("path"));
        up.on("/p?exact", Reply::ok("exact"));
        REQUIRE(client.send(get("/p?other")));
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->body == "path");
        REQUIRE(client.send(get("/p?exact")));
        r = client.read_response();
        REQUIRE(r);
        CHECK(r->body == "exact");
    }
    SECTION("HEAD gets the GET's fields without the body") {
        up.on("/ok", Reply::ok("hello"));
        REQUIRE(client.send(request("HEAD", "/ok")));
        auto r = client.read_response(2s, true);
        REQUIRE(r);
        CHECK(r->header("Content-Length") == "5");
        client.read_some(200ms);
        CHECK(client.buffer().empty());
    }
}

TEST_CASE("render: bodiless statuses carry no length, raw ignores the method",
          "[upstream-fixture]") {
    UpstreamRequest get_request;
    get_request.method = "GET";
    CHECK(Reply::status(204).render(get_request) == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(Reply::status(304, "x").render(get_request) == "HTTP/1.1 304 Not Modified\r\n\r\n");
    CHECK(Reply::ok("hello").render(head_request()) ==
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    CHECK(Reply::raw("HTTP/1.1 200 OK\r\n\r\nx").render(head_request()) ==
          "HTTP/1.1 200 OK\r\n\r\nx");
    CHECK(Reply::stall().render(get_request).empty());
    CHECK(Reply::reset().ending() == Reply::Ending::reset);
    CHECK(Reply::until_close("b").ending() == Reply::Ending::close);
    CHECK(Reply::raw("x").ending() == Reply::Ending::keep_alive);
}

TEST_CASE("raw replies send exactly their bytes, then end as told", "[upstream-fixture]") {
    UpstreamServer up;
    const std::string truncated = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    RawClient client(up.port());
    REQUIRE(client.connected());

    SECTION("then_close: the bytes, then a FIN") {
        up.on("/truncated", Reply::raw(truncated).then_close());
        REQUIRE(client.send(get("/truncated")));
        REQUIRE(client.wait_closed(2s));
        CHECK_FALSE(client.peer_reset());
        CHECK(client.buffer() == truncated);
    }
    SECTION("then_stall: the bytes, then silence on an open connection") {
        up.on("/stall-body", Reply::raw(truncated).then_stall());
        REQUIRE(client.send(get("/stall-body")));
        CHECK_FALSE(client.wait_closed(300ms));
        CHECK(client.buffer() == truncated);
    }
    SECTION("then_reset: the bytes, then a reset") {
        up.on("/cut", Reply::raw(truncated).then_reset());
        REQUIRE(client.send(get("/cut")));
        REQUIRE(client.wait_closed(2s));
        CHECK(client.peer_reset());
    }
    SECTION("no ending: the connection serves the next request") {
        const std::string malformed = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                                      "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab";
        up.on("/a", Reply::raw(malformed));
        REQUIRE(client.send(get("/a")));
        REQUIRE(client.send(get("/a")));
        REQUIRE(client.read_bytes(2 * malformed.size(), 2s) == 2 * malformed.size());
        CHECK(client.buffer() == malformed + malformed);
        CHECK(up.connections_accepted() == 1);
    }
}

TEST_CASE("stall and reset read the request and never answer", "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/stall-head", Reply::stall());
    up.on("/reset", Reply::reset());
    RawClient stalled(up.port());
    RawClient reset(up.port());
    REQUIRE(stalled.send(get("/stall-head")));
    REQUIRE(reset.send(get("/reset")));

    REQUIRE(reset.wait_closed(2s));
    CHECK(reset.peer_reset());
    CHECK(reset.buffer().empty());

    CHECK(stalled.read_some(300ms) == 0);
    CHECK_FALSE(stalled.peer_closed());
    REQUIRE(up.wait_requests(2));
    CHECK(up.connections_open() == 1);
}

TEST_CASE("echo answers with the request as it arrived", "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/echo", Reply::echo());
    const std::string sent = "POST /echo HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 10.0.0.1\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    auto r = fetch(up.port(), sent);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == sent);
}

TEST_CASE("every request is recorded with its fields, decoded body and connection",
          "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/ok", Reply::ok("fine"));
    CHECK_FALSE(up.last_request());
    CHECK_FALSE(up.wait_requests(1, 50ms));

    RawClient first(up.port());
    REQUIRE(
        first.send(request("POST", "/ok", "Content-Length: 3\r\nX-A: 1\r\nX-A: 2\r\n") + "xyz"));
    REQUIRE(first.read_response());
    REQUIRE(first.send(request("POST", "/ok", "Transfer-Encoding: chunked\r\n") +
                       "2;ext=1\r\nab\r\n1\r\nc\r\n0\r\nTrailer: t\r\n\r\n"));
    REQUIRE(first.read_response());
    REQUIRE(first.send(get("/ok?q=1", "Connection: close\r\n")));
    REQUIRE(first.read_response());
    CHECK(first.wait_closed(2s));

    RawClient second(up.port());
    REQUIRE(second.send(get("/other")));
    REQUIRE(second.read_response());

    REQUIRE(up.wait_requests(4));
    auto all = up.requests();
    REQUIRE(all.size() == 4);
    CHECK(all[0].method == "POST");
    CHECK(all[0].body == "xyz");
    CHECK(all[0].field_count("x-a") == 2);
    CHECK(all[0].field("X-A") == "1");
    CHECK(all[1].chunked);
    CHECK(all[1].body == "abc");
    CHECK(all[1].raw_body == "2;ext=1\r\nab\r\n1\r\nc\r\n0\r\nTrailer: t\r\n\r\n");
    CHECK(all[2].target == "/ok?q=1");
    CHECK_THAT(all[2].head, StartsWith("GET /ok?q=1 HTTP/1.1\r\nHost: test\r\n"));
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(all[i].connection == 1);
        CHECK(all[i].sequence == i);
        CHECK(all[i].error.empty());
    }
    CHECK(all[3].connection == 2);
    CHECK(all[3].sequence == 0);
    CHECK(up.last_request()->target == "/other");
    CHECK(up.connections_accepted() == 2);
}

TEST_CASE("a request with bad framing is recorded with its error and answered 400",
          "[upstream-fixture]") {
    UpstreamServer up;
    RawClient client(up.port());
    REQUIRE(client.send(
        request("POST", "/", "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n"));
    auto r = client.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(client.wait_closed(2s));
    REQUIRE(up.last_request());
    CHECK(up.last_request()->error == "both Transfer-Encoding and Content-Length");
}

TEST_CASE("Expect: 100-continue gets an interim response before the body is read",
          "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/up", Reply::ok("stored"));
    RawClient client(up.port());
    REQUIRE(client.send(request("PUT", "/up", "Content-Length: 4\r\nExpect: 100-continue\r\n")));
    auto interim = client.read_response(2s);
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(client.send("data"));
    auto r = client.read_response(2s);
    REQUIRE(r);
    CHECK(r->body == "stored");
    CHECK(up.last_request()->body == "data");
}

TEST_CASE("after() delays the answer and paced() holds the rate", "[upstream-fixture]") {
    CHECK(pacing_due(0, 1000) == 0ms);
    CHECK(pacing_due(500, 1000) == 500ms);
    CHECK(pacing_due(3000, 1000) == 3000ms);

    UpstreamServer up;
    SECTION("after") {
        up.on("/late", Reply::ok("x").after(200ms));
        auto start = Clock::now();
        auto r = fetch(up.port(), get("/late"));
        REQUIRE(r);
        CHECK(r->body == "x");
        CHECK(since(start) >= 190ms);
        CHECK(since(start) < 1500ms);
    }
    SECTION("paced") {
        // About 4,000 bytes at 10,000 B/s: 0.4 s, with room for a loaded machine.
        std::string big(4000, 'p');
        up.on("/slow", Reply::ok(big).paced(10000));
        RawClient client(up.port());
        auto start = Clock::now();
        REQUIRE(client.send(get("/slow")));
        auto r = client.read_response(5s);
        REQUIRE(r);
        CHECK(r->body == big);
        CHECK(since(start) >= 350ms);
        CHECK(since(start) < 2s);
    }
}

TEST_CASE("keep-alive connections are reused, and close_idle_after closes idle ones",
          "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/ok", Reply::ok("hello"));
    RawClient client(up.port());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(client.send(get("/ok")));
        REQUIRE(client.read_response());
    }
    CHECK(up.connections_accepted() == 1);
    CHECK_FALSE(client.wait_closed(300ms));

    up.close_idle_after(50ms);
    RawClient idle(up.port());
    REQUIRE(idle.send(get("/ok")));
    REQUIRE(idle.read_response());
    auto answered = Clock::now();
    REQUIRE(idle.wait_closed(2s));
    CHECK_FALSE(idle.peer_reset());
    CHECK(since(answered) >= 40ms);
    CHECK(up.connections_accepted() == 2);
}

TEST_CASE("stop refuses connections and start listens again on the same port",
          "[upstream-fixture]") {
    UpstreamServer up;
    up.on("/ok", Reply::ok("hello"));
    const std::uint16_t port = up.port();
    RawClient open_before(port);
    REQUIRE(open_before.send(get("/ok")));
    REQUIRE(open_before.read_response());

    up.stop();
    CHECK_FALSE(up.running());
    CHECK(open_before.wait_closed(1s));
    RawClient refused(port);
    CHECK_FALSE(refused.connected());
    CHECK(refused.connect_error() == ECONNREFUSED);

    up.start();
    CHECK(up.running());
    CHECK(up.port() == port);
    auto r = fetch(port, get("/ok"));
    REQUIRE(r);
    CHECK(r->body == "hello");
    CHECK(up.connections_accepted() == 2);
    CHECK(up.request_count() == 2);
}

TEST_CASE("the destructor returns at once whatever the clients are doing", "[upstream-fixture]") {
    std::vector<std::unique_ptr<RawClient>> clients;
    auto start = Clock::now();
    {
        UpstreamServer up;
        up.on("/stall", Reply::stall());
        up.on("/big", Reply::ok(std::string(32 << 20, 'b'))); // more than the socket buffers
        up.on("/slow", Reply::ok("x").paced(1).after(10s));
        for (const char *sent : {"GET /stall HTTP/1.1\r\nHost: t\r\n\r\n",
                                 "GET /half HTTP/1.1\r\nHost:", // a head never finished
                                 "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc",
                                 "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", // never read
                                 "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"}) {
            clients.push_back(std::make_unique<RawClient>(up.port(), "127.0.0.1", 4096));
            REQUIRE(clients.back()->send(sent));
        }
        REQUIRE(up.wait_requests(3));
        CHECK(up.connections_open() == 5);
        start = Clock::now();
    }
    CHECK(since(start) < 1s);
    for (auto &client : clients)
        CHECK(client->wait_closed(1s));
}
