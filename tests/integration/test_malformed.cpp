// Malformed requests and request-smuggling defences: each gets its status (400, or 501 for a
// method or a transfer coding the server does not implement) and a close, and the server keeps
// serving.
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

struct Shape {
    const char *name;
    std::string bytes;
    int status;
};

// Sends each shape on a fresh connection, at once and then one byte a read (the checks carry
// their state across reads): each gets `status`, never reaches echo, and the connection closes.
void expect_refused_before_plugins(std::uint16_t port, const std::vector<Shape> &shapes) {
    for (bool trickle : {false, true}) {
        for (const Shape &shape : shapes) {
            INFO(shape.name << (trickle ? ", one byte a read" : ""));
            RawClient client(port);
            if (trickle) {
                for (char ch : shape.bytes) {
                    if (!client.send(std::string(1, ch)))
                        break; // refused mid-way: the server may have closed already
                    std::this_thread::sleep_for(200us);
                }
            } else {
                REQUIRE(client.send(shape.bytes));
            }
            auto response = client.read_response(3s);
            REQUIRE(response);
            CHECK(response->status == shape.status);
            CHECK_FALSE(response->header("X-Echo-Handled"));
            CHECK(client.wait_closed(2s));
        }
    }
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

// The request-smuggling and parser edge cases of issue 4, each on a fresh connection: every one
// gets its status and a close, and none reaches the plugin (echo counts what it handles).
TEST_CASE("smuggling shapes and parser edge cases never reach a plugin",
          "[integration][malformed][smuggling]") {
    const std::string host = "Host: test\r\n";
    const std::vector<Shape> cases = {
        {"Content-Length with Transfer-Encoding",
         "POST / HTTP/1.1\r\n" + host +
             "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
         400},
        {"two equal Content-Length lines",
         "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
        {"a Content-Length list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\nabc",
         400},
        // RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing
        // (keep-alive would let the next bytes be read as another request).
        {"Transfer-Encoding in HTTP/1.0",
         "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n\r\nGET /second HTTP/1.0\r\n\r\n",
         400},
        {"an empty Transfer-Encoding", // found by fuzz_connection's oracle
         "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \r\n\r\n0\r\n\r\n", 400},
        {"Transfer-Encoding on two lines, the first not chunked", // found by fuzz_connection
         "POST / HTTP/1.1\r\n" + host +
             "Transfer-Encoding: gzip x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"Transfer-Encoding chunked twice",
         "POST / HTTP/1.1\r\n" + host +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: one\r\n two\r\n\r\n", 400},
        {"obs-fold with a tab", "GET / HTTP/1.1\r\n" + host + "X-A: one\r\n\ttwo\r\n\r\n", 400},
        {"bare LF line ends", "GET / HTTP/1.1\nHost: test\n\n", 400},
        {"a bare LF after the request line", "GET / HTTP/1.1\n" + host + "\r\n", 400},
        {"a bare CR after the version", "GET / HTTP/1.1\r" + host + "\r\n", 400},
        {"a NUL byte in a header value", "GET / HTTP/1.1\r\n" + host + "X-A: a\0b\r\n\r\n"s, 400},
        {"a NUL byte in the target", "GET /a\0b HTTP/1.1\r\n"s + host + "\r\n", 400},
        {"a tab in the target", "GET /a\tb HTTP/1.1\r\n" + host + "\r\n", 400},
        {"two spaces before the version", "GET /a  HTTP/1.1\r\n" + host + "\r\n", 400},
        {"two spaces before the target", "GET  /a HTTP/1.1\r\n" + host + "\r\n", 400},
        {"a DEL in the target", "GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", 400},
        {"a control byte in a header name", "GET / HTTP/1.1\r\n" + host + "X\x01Y: z\r\n\r\n", 400},
        // RFC 9112 section 3: a method longer than any the server implements SHOULD get 501;
        // RFC 9110 section 9.1: so should any method token it does not implement.
        {"an overlong method", std::string(300, 'A') + " / HTTP/1.1\r\n" + host + "\r\n", 501},
        {"an unknown method", "BREW / HTTP/1.1\r\n" + host + "\r\n", 501},
        {"a lower-case method", "get / HTTP/1.1\r\n" + host + "\r\n", 501},
        {"a method that is not a token", "G@T / HTTP/1.1\r\n" + host + "\r\n", 400},
        {"absolute-form naming another host", "GET http://elsewhere/x HTTP/1.1\r\n" + host + "\r\n",
         400},
        {"absolute-form without a host", "GET http:///x HTTP/1.1\r\n" + host + "\r\n", 400},
        {"absolute-form with another scheme", "GET ftp://test/x HTTP/1.1\r\n" + host + "\r\n", 400},
        {"authority-form outside CONNECT", "GET test:80 HTTP/1.1\r\n" + host + "\r\n", 400},
        {"CONNECT", "CONNECT test:443 HTTP/1.1\r\n" + host + "\r\n", 501},
        {"%2e%2e climbing above the root", "GET /%2e%2e/etc/passwd HTTP/1.1\r\n" + host + "\r\n",
         400},
        {"%2E%2E in upper case", "GET /a/%2E%2E/%2E%2E/x HTTP/1.1\r\n" + host + "\r\n", 400},
        {"an encoded slash", "GET /a%2fb HTTP/1.1\r\n" + host + "\r\n", 400},
        {"an encoded NUL", "GET /a%00b HTTP/1.1\r\n" + host + "\r\n", 400},
        {"invalid UTF-8 (overlong dot)", "GET /%c0%ae%c0%ae/x HTTP/1.1\r\n" + host + "\r\n", 400},
        {"invalid UTF-8, raw bytes", "GET /\xc3\x28 HTTP/1.1\r\n" + host + "\r\n", 400},
        {"a bad escape", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", 400},
        {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
        {"two Host lines", "GET / HTTP/1.1\r\n" + host + host + "\r\n", 400},
        {"a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"a malformed version", "GET / HTTP/1.x\r\n" + host + "\r\n", 400},
        {"HTTP/2.0 in an HTTP/1 request line", "GET / HTTP/2.0\r\n" + host + "\r\n", 505},
    };
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), cases);
    // Shapes whose refusal depends on bytes of an earlier read (obs-fold, the request line's
    // CRLF: the framing check carries its state across reads), with every byte in a read of its
    // own; the good request sent that way is served.
    auto trickle = [&](const std::string &bytes) {
        RawClient client(host_process.port());
        for (char ch : bytes) {
            REQUIRE(client.send(std::string(1, ch)));
            std::this_thread::sleep_for(1ms);
        }
        return client.read_response(3s);
    };
    for (const std::string &bad : {"GET / HTTP/1.1\r\n" + host + "X-A: one\r\n two\r\n\r\n",
                                   "GET / HTTP/1.1\n" + host + "\r\n"}) {
        auto r = trickle(bad);
        REQUIRE(r);
        CHECK(r->status == 400);
    }
    auto trickled = trickle("GET /t?h=X-A HTTP/1.1\r\n" + host + "X-A: one two\r\n\r\n");
    REQUIRE(trickled);
    CHECK(trickled->status == 200);
    CHECK(parse_echo(trickled->body)["header"] == "one two");

    // Only these two requests have reached echo.
    auto good = fetch(host_process.port(), get("/after"));
    REQUIRE(good);
    CHECK(good->status == 200);
    CHECK(good->header("X-Echo-Handled") == "2");
}

// The accepted counterparts: what RFC 9112 says a server must or may accept is served.
TEST_CASE("absolute-form matching Host, HTTP/1.0 without Host and dot segments inside the root "
          "are served",
          "[integration][malformed]") {
    HostProcess host(config("", echo_everywhere));
    auto abs = fetch(host.port(), "GET http://TEST:80/x?q=1 HTTP/1.1\r\nHost: test:80\r\n\r\n");
    REQUIRE(abs);
    CHECK(abs->status == 200);
    CHECK(parse_echo(abs->body)["path"] == "/x");
    CHECK(parse_echo(abs->body)["query"] == "q=1");
    auto http10 = fetch(host.port(), "GET http://test/y HTTP/1.0\r\n\r\n");
    REQUIRE(http10);
    CHECK(http10->status == 200);
    CHECK(parse_echo(http10->body)["path"] == "/y");
    auto inside = fetch(host.port(), get("/a/%2e%2e/b/./c"));
    REQUIRE(inside);
    CHECK(inside->status == 200);
    CHECK(parse_echo(inside->body)["path"] == "/b/c");
}

// Issue 11: llhttp 8.1.0 takes a bare CR for a line end (CVE-2023-30589 is fixed in 8.1.1) and
// skips any two bytes after chunk data; RFC 9112 sections 2.2 and 7.1 allow neither.
TEST_CASE("a bare CR or LF in a head or in chunked framing gets 400 and never reaches a plugin",
          "[integration][malformed][smuggling][framing]") {
    const std::string host = "Host: test\r\n";
    const std::string chunked = "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n";
    const std::string second = "GET /second HTTP/1.1\r\n" + host + "\r\n";
    const std::vector<Shape> shapes = {
        {"CVE-2023-30589: a header value ended by a bare CR",
         "POST / HTTP/1.1\r\n" + host +
             "X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n",
         400},
        {"an empty header value ended by a bare CR (llhttp 8.1.1's test)",
         "POST / HTTP/1.1\r\n" + host + "x:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n",
         400},
        {"a head ended by CRLF CR X", "GET / HTTP/1.1\r\n" + host + "\rX\r\n\r\n" + second, 400},
        {"headers separated by a bare CR and a byte (llhttp 9.0.0's test)",
         "GET / HTTP/1.1\r\n" + host + "\rZGET /evil: HTTP/1.1\r\n" + host + "\r\n", 400},
        {"a bare CR instead of the empty line before a body",
         "PUT / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\rabc", 400},
        {"a head ended by a bare LF", "GET / HTTP/1.1\r\n" + host + "\n", 400},
        {"a bare LF before the request line", "\nGET / HTTP/1.1\r\n" + host + "\r\n", 400},
        {"a bare CR before the request line", "\rGET / HTTP/1.1\r\n" + host + "\r\n", 400},
        {"chunk data not followed by CRLF", chunked + "5\r\nhelloXX0\r\n\r\n" + second, 400},
        {"chunk data followed by a bare LF", chunked + "5\r\nhello\n0\r\n\r\n" + second, 400},
        {"a chunk-size line ended by a bare CR", chunked + "5\rhello\r\n0\r\n\r\n", 400},
        {"a chunk-size line ended by CR CR (llhttp 9.0.0's test)",
         chunked + "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n" + second, 400},
        {"a chunk extension ended by a bare CR", chunked + "5;a=b\rhello\r\n0\r\n\r\n", 400},
        {"the last chunk ended by CR CR LF", chunked + "0\r\r\n" + second, 400},
        {"a trailer section ended by a bare LF", chunked + "0\r\n\n" + second, 400},
        {"a trailer section ended by CR X", chunked + "0\r\n\rX" + second, 400},
        {"a trailer line ended by a bare CR", chunked + "0\r\nT: a\rT2: b\r\n\r\n", 400},
    };
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), shapes);

    // Well-framed requests sent one byte a read are served, pipelined ones in order.
    RawClient client(host_process.port());
    for (char ch : chunked + "5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n" + "\r\n" + second) {
        REQUIRE(client.send(std::string(1, ch)));
        std::this_thread::sleep_for(200us);
    }
    auto first = client.read_response(3s);
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK(parse_echo(first->body)["body"] == "hello");
    auto next = client.read_response(3s);
    REQUIRE(next);
    CHECK(parse_echo(next->body)["path"] == "/second");
    CHECK(next->header("X-Echo-Handled") == "2");
}

TEST_CASE("a field name that is not a token gets 400 and never reaches a plugin",
          "[integration][malformed][smuggling][framing]") {
    const std::string line = "GET / HTTP/1.1\r\nHost: test\r\n";
    const std::vector<Shape> shapes = {
        {"an empty field name", line + ": x\r\n\r\n", 400},
        {"a space inside a field name", line + "X Y: z\r\n\r\n", 400},
        {"a space before the colon", line + "X-A : z\r\n\r\n", 400},
        {"a non-token byte in a field name", line + "X(A): z\r\n\r\n", 400},
        {"whitespace before the first field line", "GET / HTTP/1.1\r\n X: y\r\nHost: test\r\n\r\n",
         400},
        {"obs-fold after an empty value", line + "X-A:\r\n two\r\n\r\n", 400},
        {"CVE-2024-27982: whitespace before Content-Length (llhttp 8.1.2)",
         "POST / HTTP/1.1\r\nHost: test\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n"
         "GET /second HTTP/1.1\r\nHost: test\r\n\r\n",
         400},
        {"an empty trailer field name",
         "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n: x\r\n\r\n",
         400},
    };
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), shapes);
}

// Node.js's CVE-2024-22019: extensions read without bound. llhttp 8.1 counts them nowhere.
TEST_CASE("a chunk-size line with more than 4 KiB of extensions gets 400",
          "[integration][malformed][framing][limits]") {
    const std::string chunked =
        "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    HostProcess host_process(config("", echo_everywhere));
    auto fits = fetch(host_process.port(),
                      chunked + "5;" + std::string(4094, 'a') + "\r\nhello\r\n0\r\n\r\n");
    REQUIRE(fits);
    CHECK(fits->status == 200);
    expect_rejected(host_process.port(),
                    chunked + "5;" + std::string(4095, 'a') + "\r\nhello\r\n0\r\n\r\n", 400);
    // Extensions that never end are cut at the cap, not read until a timeout.
    RawClient client(host_process.port());
    REQUIRE(client.send(chunked + "5;"));
    for (int i = 0; i < 8 && client.send(std::string(1024, 'a')); ++i) {
    }
    auto response = client.read_response(3s);
    REQUIRE(response);
    CHECK(response->status == 400);
}

TEST_CASE("a Host that is not uri-host and an optional port gets 400",
          "[integration][malformed][host]") {
    const std::vector<Shape> shapes = {
        {"a port that is not a number", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400},
        {"two ports", "GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n", 400},
        {"a port over 65535", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400},
        {"a port without a host", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400},
        {"userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400},
        {"an unclosed IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
        {"an IPv6 address without brackets", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", 400},
        {"a bad escape", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400},
    };
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), shapes);
    for (const char *good : {"[::1]:8080", "a:", "a:80", "127.0.0.1"}) {
        INFO(good);
        auto response = fetch(host_process.port(), "GET / HTTP/1.1\r\nHost: "s + good + "\r\n\r\n");
        REQUIRE(response);
        CHECK(response->status == 200);
    }
}

TEST_CASE("a request-target outside RFC 9112's grammar gets 400",
          "[integration][malformed][target]") {
    std::vector<Shape> shapes;
    for (const char *target :
         {"/a#b", "/a#", "/a{b}", "/a|b", "/a^b", "/a`b", "/a\"b", "/a<b", "/a>b", "/a\\b",
          "/caf\xc3\xa9", "/a?q=%", "/a?q=%zz", "/a?q#f", "http://test/a#b", "http://user@test/a"})
        shapes.push_back({target, "GET "s + target + " HTTP/1.1\r\nHost: test\r\n\r\n", 400});
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), shapes);
    auto good = fetch(host_process.port(), get("/a:b@c/!$&'()*+,;=-._~?/?:@%20"));
    REQUIRE(good);
    CHECK(good->status == 200);
    CHECK(parse_echo(good->body)["query"] == "/?:@%20");
}

TEST_CASE("methods: unknown tokens get 501, registered ones reach plugins, OPTIONS * is answered",
          "[integration][malformed][method]") {
    HostProcess host_process(config("", echo_everywhere));
    const std::vector<Shape> shapes = {
        {"an unknown method", "BREW / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"a lower-case method", "get / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"a prefix of a known method", "GE / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"an RTSP method", "DESCRIBE / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"QUERY, which llhttp 8.1 does not know", "QUERY / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"an overlong method", std::string(64, 'A') + " / HTTP/1.1\r\nHost: test\r\n\r\n", 501},
        {"a method that is not a token", "G(T / HTTP/1.1\r\nHost: test\r\n\r\n", 400},
        {"GET *", "GET * HTTP/1.1\r\nHost: test\r\n\r\n", 400},
        {"POST *", "POST * HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n", 400},
    };
    expect_refused_before_plugins(host_process.port(), shapes);

    SECTION("registered methods reach the plugin") {
        for (const char *method : {"PURGE", "PROPFIND", "MKCOL", "REPORT", "M-SEARCH", "LINK"}) {
            INFO(method);
            auto response = fetch(host_process.port(), request(method, "/x"));
            REQUIRE(response);
            CHECK(response->status == 200);
            CHECK(parse_echo(response->body)["method"] == method);
        }
    }
    SECTION("OPTIONS * gets 200 from the runtime and the connection stays open") {
        RawClient client(host_process.port());
        REQUIRE(client.send("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n" + get("/after")));
        auto options = client.read_response(3s);
        REQUIRE(options);
        CHECK(options->status == 200);
        CHECK(options->header("Content-Length") == "0");
        CHECK(options->body.empty());
        CHECK_FALSE(options->header("X-Echo-Handled"));
        auto after = client.read_response(3s);
        REQUIRE(after);
        CHECK(parse_echo(after->body)["path"] == "/after");
    }
}

// The README's audit of llhttp's fixes since 8.1.0: the rows where llhttp 8.1's own answer
// stands, and its exact test inputs for the rows the runtime's checks answer.
TEST_CASE("shapes from llhttp's later fixes get 400 before reaching a plugin",
          "[integration][malformed][smuggling][framing]") {
    const std::string chunked =
        "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::vector<Shape> shapes = {
        {"several chunk-extension parameters (llhttp 9.1.3 parses them)",
         chunked + "5;a=b;c=d\r\nhello\r\n0\r\n\r\n", 400},
        {"a tab after Content-Length (llhttp 9.4.0 accepts it)",
         "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\t\r\n\r\nabc", 400},
        {"UTF-8 and a fragment in the target (llhttp 9.0.0 refuses them)",
         "GET /\xce\xb4\xc2\xb6/\xce\xb4t/pope?q=1#narf HTTP/1.1\r\nHost: test\r\n\r\n", 400},
        {"a bare CR after the version (llhttp 9.0.0's test)",
         "GET / HTTP/1.1\rLine: 1\r\nHost: test\r\n\r\n", 400},
    };
    HostProcess host_process(config("", echo_everywhere));
    expect_refused_before_plugins(host_process.port(), shapes);
}

// llhttp 9.4.2's fix #866: llhttp 8.1 keeps the connection open after "Connection: close\t".
TEST_CASE("Connection: close followed by a tab closes the connection",
          "[integration][malformed][framing]") {
    HostProcess host_process(config("", echo_everywhere));
    RawClient client(host_process.port());
    REQUIRE(client.send("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\t\r\n\r\n"));
    auto response = client.read_response(3s);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("Connection") == "close");
    CHECK(client.wait_closed(2s));
}
