// Limits with their standard answers: head size and header count (431), URI length (414),
// body size (413, up front for Content-Length and while reading chunked), connections (503).
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

constexpr std::string_view limits = R"(
[server.limits]
max_head_size = 1024
max_uri_size = 256
max_body_size = 4096
max_headers = 10
)";

std::string header_lines(int count) {
    std::string lines;
    for (int i = 0; i < count; i++)
        lines += "X-Header-" + std::to_string(i) + ": value\r\n";
    return lines;
}

std::string chunked_body(std::size_t chunk_size, int chunks) {
    std::string body;
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk_size);
    for (int i = 0; i < chunks; i++)
        body += size + std::string(chunk_size, 'c') + "\r\n";
    return body + "0\r\n\r\n";
}

} // namespace

TEST_CASE("a request head over the limit gets 431", "[integration][limits]") {
    HostProcess host(config(limits, echo_everywhere));
    SECTION("just under the limit is served") {
        auto response = fetch(host.port(), get("/", "X-Big: " + std::string(800, 'a') + "\r\n"));
        REQUIRE(response);
        CHECK(response->status == 200);
    }
    SECTION("one long header over it") {
        RawClient client(host.port());
        REQUIRE(client.send(get("/", "X-Big: " + std::string(2000, 'a') + "\r\n")));
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 431);
        CHECK(client.wait_closed(2s));
    }
    SECTION("a head that never ends") {
        RawClient client(host.port());
        REQUIRE(client.send("GET / HTTP/1.1\r\nHost: test\r\n"));
        // 12 lines of 110 bytes pass the 1024-byte limit without any "\r\n\r\n".
        for (int i = 0; i < 12 && client.send("X-More: " + std::string(100, 'm') + "\r\n"); i++)
            std::this_thread::sleep_for(2ms);
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 431);
    }
}

TEST_CASE("more header lines than max_headers get 431", "[integration][limits]") {
    HostProcess host(config(limits, echo_everywhere));
    auto few = fetch(host.port(), get("/", header_lines(5)));
    REQUIRE(few);
    CHECK(few->status == 200);

    auto many = fetch(host.port(), get("/", header_lines(12)));
    REQUIRE(many);
    CHECK(many->status == 431);
}

TEST_CASE("a request URI over the limit gets 414", "[integration][limits]") {
    HostProcess host(config(limits, echo_everywhere));
    auto short_enough = fetch(host.port(), get("/" + std::string(200, 'u')));
    REQUIRE(short_enough);
    CHECK(short_enough->status == 200);

    RawClient client(host.port());
    REQUIRE(client.send(get("/" + std::string(400, 'u'))));
    auto too_long = client.read_response();
    REQUIRE(too_long);
    CHECK(too_long->status == 414);
}

TEST_CASE("a Content-Length over max_body_size gets 413 before the body is read",
          "[integration][limits][body]") {
    HostProcess host(config(limits, echo_everywhere));
    SECTION("exactly the limit is served") {
        auto response = fetch(host.port(), request("POST", "/", "Content-Length: 4096\r\n") +
                                               std::string(4096, 'b'));
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(parse_echo(response->body)["body_length"] == "4096");
    }
    SECTION("one byte more gets 413 without sending the body") {
        RawClient client(host.port());
        REQUIRE(client.send(request("POST", "/", "Content-Length: 4097\r\n")));
        auto response = client.read_response(2s);
        REQUIRE(response);
        CHECK(response->status == 413);
        CHECK_THAT(response->header("Content-Type").value_or(""), Contains("text/html"));
    }
}

TEST_CASE("a chunked body growing over max_body_size gets 413", "[integration][limits][body]") {
    HostProcess host(config(limits, echo_everywhere));
    auto small = fetch(host.port(), request("POST", "/", "Transfer-Encoding: chunked\r\n") +
                                        chunked_body(1000, 4));
    REQUIRE(small);
    CHECK(small->status == 200);
    CHECK(parse_echo(small->body)["body_length"] == "4000");

    RawClient client(host.port());
    REQUIRE(client.send(request("POST", "/", "Transfer-Encoding: chunked\r\n")));
    client.send(chunked_body(2000, 5));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(client.wait_closed(2s));
}

TEST_CASE("connections over max_connections get 503 and a close until capacity comes back",
          "[integration][limits][connections]") {
    HostProcess host(config("[server.limits]\nmax_connections = 3\n", echo_everywhere));
    // Three connections, each proven accepted by a completed request, stay open.
    std::vector<std::unique_ptr<RawClient>> open;
    for (int i = 0; i < 3; i++) {
        open.push_back(std::make_unique<RawClient>(host.port()));
        REQUIRE(open.back()->send(get("/held")));
        auto response = open.back()->read_response();
        REQUIRE(response);
        REQUIRE(response->status == 200);
    }

    RawClient extra(host.port());
    extra.send(get("/extra"));
    auto refused = extra.read_response(3s);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(extra.wait_closed(2s));

    // Once one of the three goes, a new connection is served again — at once, even though the
    // refused client has not closed its end yet: a refused connection holds no capacity.
    open.front()->close();
    bool served = false;
    for (int attempt = 0; attempt < 20 && !served; attempt++) {
        auto response = fetch(host.port(), get("/later"));
        served = response && response->status == 200;
        if (!served)
            std::this_thread::sleep_for(50ms);
    }
    CHECK(served);
}
