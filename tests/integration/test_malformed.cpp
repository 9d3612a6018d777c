// Malformed requests and request-smuggling defences: each gets its status (400, or 501 for a
// transfer coding the server does not implement) and a close, and the server keeps serving.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;
using namespace std::string_literals;

namespace {

// Sends `bytes` on a new connection; requires the answer `status` with an error body and then
// the close, and then that a fresh client is still served.
void expect_rejected(std::uint16_t port, const std::string &bytes, int status) {
    RawClient client(port);
    REQUIRE(client.send(bytes));
    auto response = client.read_response(3s);
    REQUIRE(response);
    CHECK(response->status == status);
    CHECK(response->header("Content-Length") == std::to_string(response->body.size()));
    CHECK(client.wait_closed(2s));

    auto next = fetch(port, get("/still-serving"));
    REQUIRE(next);
    CHECK(next->status == 200);
}

} // namespace

TEST_CASE("a malformed request gets 400 and the connection closes", "[integration][malformed]") {
    HostProcess host(config("", echo_everywhere));
    SECTION("a request line that is not HTTP") {
        expect_rejected(host.port(), "HELLO THERE\r\n\r\n", 400);
    }
    SECTION("a header line without a colon") {
        expect_rejected(host.port(), "GET / HTTP/1.1\r\nHost: test\r\nno colon\r\n\r\n", 400);
    }
    SECTION("whitespace between a header name and its colon (RFC 9112 section 5.1)") {
        expect_rejected(host.port(),
                        "POST / HTTP/1.1\r\nHost: test\r\nContent-Length : 5\r\n\r\nhello", 400);
    }
    SECTION("a bare CR inside a header") {
        expect_rejected(host.port(), "GET / HTTP/1.1\r\nHost: test\r\nX-A: a\rb\r\n\r\n", 400);
    }
    SECTION("a NUL byte inside a header value") {
        expect_rejected(host.port(), "GET / HTTP/1.1\r\nHost: test\r\nX-A: a\0b\r\n\r\n"s, 400);
    }
    SECTION("a Content-Length that is not a number") {
        expect_rejected(host.port(), request("POST", "/", "Content-Length: abc\r\n"), 400);
    }
    SECTION("a negative Content-Length") {
        expect_rejected(host.port(), request("POST", "/", "Content-Length: -1\r\n"), 400);
    }
    SECTION("a chunk size that is not hexadecimal") {
        expect_rejected(host.port(),
                        request("POST", "/", "Transfer-Encoding: chunked\r\n") + "zz\r\nab\r\n",
                        400);
    }
}

// RFC 9112 section 3.2: a server MUST answer 400 to a request with more than one Host line or
// a Host with an invalid value.
TEST_CASE("a request with two Host lines or an invalid Host gets 400", "[integration][malformed]") {
    HostProcess host(config("", echo_everywhere));
    SECTION("two Host lines") {
        expect_rejected(host.port(), "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    }
    SECTION("a Host with a space inside") {
        expect_rejected(host.port(), "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    }
}

TEST_CASE("Content-Length together with Transfer-Encoding gets 400 and a close",
          "[integration][malformed][smuggling]") {
    HostProcess host(config("", echo_everywhere));
    expect_rejected(host.port(),
                    request("POST", "/", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") +
                        "0\r\n\r\n",
                    400);
}

TEST_CASE("two different Content-Length values get 400 and a close",
          "[integration][malformed][smuggling]") {
    HostProcess host(config("", echo_everywhere));
    SECTION("two header lines") {
        expect_rejected(
            host.port(),
            request("POST", "/", "Content-Length: 5\r\nContent-Length: 6\r\n") + "hello!", 400);
    }
    SECTION("one list-valued header") {
        expect_rejected(host.port(), request("POST", "/", "Content-Length: 5, 6\r\n") + "hello!",
                        400);
    }
}

// RFC 9112 section 6.3: a request whose Transfer-Encoding does not end in chunked has no
// determinable length: "the server MUST respond with the 400 (Bad Request) status code and then
// close the connection". Section 6.1: a server that gets a transfer coding it does not
// understand "SHOULD respond with 501 (Not Implemented)" — the case when chunked is final.
TEST_CASE("a Transfer-Encoding that does not end in chunked gets 400 and a close",
          "[integration][malformed][smuggling]") {
    HostProcess host(config("", echo_everywhere));
    expect_rejected(
        host.port(),
        request("POST", "/", "Transfer-Encoding: bogus\r\n") + "5\r\nhello\r\n0\r\n\r\n", 400);
}

TEST_CASE("an unknown transfer coding before chunked gets 501 and a close",
          "[integration][malformed][smuggling]") {
    HostProcess host(config("", echo_everywhere));
    expect_rejected(host.port(),
                    request("POST", "/", "Transfer-Encoding: bogus, chunked\r\n") +
                        "5\r\nhello\r\n0\r\n\r\n",
                    501);
}

TEST_CASE("after a malformed request the server still serves another client",
          "[integration][malformed]") {
    HostProcess host(config("", echo_everywhere));
    // One client is connected before the bad one and one after; both are served.
    RawClient before(host.port());
    REQUIRE(before.connected());

    RawClient bad(host.port());
    REQUIRE(bad.send("\x01\x02\x03 garbage \xff\r\n\r\n"));
    auto rejected = bad.read_response(3s);
    REQUIRE(rejected);
    CHECK(rejected->status == 400);
    CHECK(bad.wait_closed(2s));

    RawClient after(host.port());
    REQUIRE(after.send(get("/after")));
    REQUIRE(before.send(get("/before")));
    auto after_response = after.read_response();
    auto before_response = before.read_response();
    REQUIRE(after_response);
    REQUIRE(before_response);
    CHECK(parse_echo(after_response->body)["path"] == "/after");
    CHECK(parse_echo(before_response->body)["path"] == "/before");
}

TEST_CASE("a malformed request pipelined after a good one gets the good answer first",
          "[integration][malformed]") {
    HostProcess host(config("", echo_everywhere));
    RawClient client(host.port());
    REQUIRE(client.send(get("/good") + "BROKEN\r\n\r\n"));
    auto good = client.read_response();
    REQUIRE(good);
    CHECK(good->status == 200);
    CHECK(parse_echo(good->body)["path"] == "/good");
    auto bad = client.read_response();
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(client.wait_closed(2s));
}
