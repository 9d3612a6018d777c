// HTTP/1.1 semantics through the echo, chunked and decline fixtures: keep-alive, pipelining,
// HTTP/1.0, Connection: close, HEAD, Expect: 100-continue, request bodies, chunked responses,
// Date and Server headers, error pages.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr std::string_view locations = R"(
[[location]]
prefix = "/"
handler = "echo"

[[location]]
prefix = "/chunked"
handler = "chunked"
[location.chunked]
pieces = 5

[[location]]
prefix = "/slow"
handler = "chunked"
[location.chunked]
pieces = 3
delay_ms = 100
)";

// Nothing at "/": a declined request has nowhere left to go.
constexpr std::string_view declined_only = R"(
[[location]]
prefix = "/declined"
handler = "decline"

[[location]]
prefix = "/echo"
handler = "echo"
)";

const std::string five_pieces =
    "piece 0 of 5\npiece 1 of 5\npiece 2 of 5\npiece 3 of 5\npiece 4 of 5\n";

std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
    return request("POST", target,
                   std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n") +
           std::string(body);
}

} // namespace

TEST_CASE("curl reaches the echo plugin which sees method path query and a chosen header",
          "[integration][http]") {
    HostProcess host(config("", locations));
    CurlResult got =
        curl({"-H", "X-Test: hello there", url(host.port(), "/some/where?h=X-Test&x=1")});
    INFO(got.err);
    REQUIRE(got.exit_code == 0);
    CHECK(got.status() == 200);
    CHECK_THAT(got.header("Content-Type").value_or(""), StartsWith("text/plain"));
    CHECK(got.header("Content-Length") == std::to_string(got.body.size()));
    auto echo = parse_echo(got.body);
    CHECK(echo["method"] == "GET");
    CHECK(echo["target"] == "/some/where?h=X-Test&x=1");
    CHECK(echo["path"] == "/some/where");
    CHECK(echo["path_info"] == "/some/where");
    CHECK(echo["query"] == "h=X-Test&x=1");
    CHECK(echo["header"] == "hello there");
    CHECK(echo["version"] == "11");
    CHECK(echo["remote"] == "127.0.0.1");
    CHECK(echo["body_length"] == "0");
}

TEST_CASE("a target without a query has no query and an absent header is absent",
          "[integration][http]") {
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), get("/plain"));
    REQUIRE(response);
    auto echo = parse_echo(response->body);
    CHECK(echo["query"] == "<none>");
    CHECK(echo["header"] == "<absent>");

    auto missing = fetch(host.port(), get("/plain?h=X-Missing"));
    REQUIRE(missing);
    CHECK(parse_echo(missing->body)["header"] == "<absent>");
}

TEST_CASE("every response carries one Date and one Server header", "[integration][http]") {
    std::string_view routes = locations;
    std::string request_text;
    int expected_status = 0;
    SECTION("a plugin's 200") {
        request_text = get("/hello");
        expected_status = 200;
    }
    SECTION("a chunked 200") {
        request_text = get("/chunked");
        expected_status = 200;
    }
    SECTION("the runtime's 404") {
        routes = declined_only;
        request_text = get("/declined");
        expected_status = 404;
    }
    SECTION("the runtime's 400 for a malformed request") {
        request_text = "GET / HTTP/1.1\r\nHost: test\r\nno colon here\r\n\r\n";
        expected_status = 400;
    }
    HostProcess host(config("", routes));
    auto response = fetch(host.port(), request_text);
    REQUIRE(response);
    CHECK(response->status == expected_status);
    CHECK(response->header_count("Date") == 1);
    CHECK(matches(response->header("Date").value_or(""), imf_fixdate));
    CHECK(response->header_count("Server") == 1);
    CHECK(response->header("Server") == "dialtone/0.1.0");
}

TEST_CASE("keep-alive serves several requests on one connection", "[integration][http]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    for (int i = 0; i < 5; i++) {
        std::string path = "/request/" + std::to_string(i);
        REQUIRE(client.send(get(path)));
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(parse_echo(response->body)["path"] == path);
        CHECK_THAT(lower(response->header("Connection").value_or("")), !Contains("close"));
    }
    CHECK_FALSE(client.peer_closed());
}

TEST_CASE("pipelined requests get their responses in order", "[integration][http]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send(get("/one") + post("/two", "body of two") + get("/chunked") +
                        request("HEAD", "/four") + get("/five")));
    auto one = client.read_response();
    auto two = client.read_response();
    auto three = client.read_response();
    auto four = client.read_response(5s, /*head_request=*/true);
    auto five = client.read_response();
    REQUIRE(one);
    REQUIRE(two);
    REQUIRE(three);
    REQUIRE(four);
    REQUIRE(five);
    CHECK(parse_echo(one->body)["path"] == "/one");
    CHECK(parse_echo(two->body)["method"] == "POST");
    CHECK(parse_echo(two->body)["body"] == "body of two");
    CHECK(three->body == five_pieces);
    CHECK(four->status == 200);
    CHECK(parse_echo(five->body)["path"] == "/five");
    CHECK(client.buffer().empty());
}

// Found by fuzz_connection: llhttp reports an Upgrade request's upgrade once more when parsing
// resumes after it, and the runtime took that for a new request (null dereference).
TEST_CASE("a request asking for an Upgrade is answered in HTTP/1.1, and pipelined ones after it",
          "[integration][http]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send("GET /ws HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\n"
                        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" +
                        get("/after")));
    auto ws = client.read_response();
    auto after = client.read_response();
    REQUIRE(ws);
    CHECK(ws->status == 200); // Upgrade ignored (RFC 9110 §7.8 lets a server do so)
    CHECK(parse_echo(ws->body)["path"] == "/ws");
    REQUIRE(after);
    CHECK(parse_echo(after->body)["path"] == "/after");
    // A second request on the same connection after an upgrade request, sent later.
    REQUIRE(client.send(get("/later")));
    auto later = client.read_response();
    REQUIRE(later);
    CHECK(parse_echo(later->body)["path"] == "/later");
}

TEST_CASE("an HTTP/1.0 request without keep-alive is answered and the connection closed",
          "[integration][http][http10]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send("GET /old HTTP/1.0\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_echo(response->body)["version"] == "10");
    CHECK(client.wait_closed(2s));
}

TEST_CASE("an HTTP/1.0 request asking for keep-alive keeps the connection",
          "[integration][http][http10]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send("GET /first HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto first = client.read_response();
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK_THAT(lower(first->header("Connection").value_or("")), Contains("keep-alive"));
    REQUIRE(client.send("GET /second HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto second = client.read_response();
    REQUIRE(second);
    CHECK(parse_echo(second->body)["path"] == "/second");
}

TEST_CASE("an HTTP/1.0 client gets an unlengthed body delimited by the close",
          "[integration][http][http10]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send("GET /chunked HTTP/1.0\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK_FALSE(response->chunked);
    CHECK_FALSE(response->header("Transfer-Encoding"));
    CHECK(response->body == five_pieces);
    CHECK(client.peer_closed());
}

TEST_CASE("Connection: close is honoured and later pipelined requests are not answered",
          "[integration][http]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send(get("/last", "Connection: close\r\n") + get("/never")));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_echo(response->body)["path"] == "/last");
    CHECK_THAT(lower(response->header("Connection").value_or("")), Contains("close"));
    CHECK(client.wait_closed(2s));
    CHECK(client.buffer().empty());
}

TEST_CASE("HEAD gets the headers GET would get and no body", "[integration][http][head]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());

    SECTION("a plugin that declares its length") {
        REQUIRE(client.send(get("/same")));
        auto got = client.read_response();
        REQUIRE(got);
        REQUIRE(client.send(request("HEAD", "/same")));
        auto head = client.read_response(5s, /*head_request=*/true);
        REQUIRE(head);
        CHECK(head->status == 200);
        // The echo body says "HEAD" where it said "GET": one byte longer.
        CHECK(head->header("Content-Length") == std::to_string(got->body.size() + 1));
        CHECK(head->header("Content-Type") == got->header("Content-Type"));
    }
    SECTION("a plugin that writes without a length") {
        REQUIRE(client.send(request("HEAD", "/chunked")));
        auto head = client.read_response(5s, /*head_request=*/true);
        REQUIRE(head);
        CHECK(head->status == 200);
    }
    // No body bytes followed: the next response starts right away and parses.
    REQUIRE(client.send(get("/after")));
    auto after = client.read_response();
    REQUIRE(after);
    CHECK(parse_echo(after->body)["path"] == "/after");
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent",
          "[integration][http][expect]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(
        client.send(request("POST", "/upload", "Content-Length: 11\r\nExpect: 100-continue\r\n")));
    auto interim = client.read_response(2s);
    REQUIRE(interim);
    CHECK(interim->status == 100);
    CHECK(interim->version == "HTTP/1.1");
    REQUIRE(client.send("hello world"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_echo(response->body)["body"] == "hello world");
}

TEST_CASE("curl's Expect: 100-continue upload gets 100 and then the answer",
          "[integration][http][expect]") {
    HostProcess host(config("", locations));
    std::string body(2000, 'x');
    CurlResult got =
        curl({"-H", "Expect: 100-continue", "--data-binary", body, url(host.port(), "/upload")});
    REQUIRE(got.exit_code == 0);
    REQUIRE(got.responses.size() == 2);
    CHECK(got.responses[0].status == 100);
    CHECK(got.status() == 200);
    CHECK(parse_echo(got.body)["body"] == body);
}

TEST_CASE("Expect: 100-continue with a body over the limit gets 413 and no 100",
          "[integration][http][expect][limits]") {
    HostProcess host(config("[server.limits]\nmax_body_size = 1024\n", locations));
    RawClient client(host.port());
    REQUIRE(client.send(
        request("POST", "/upload", "Content-Length: 4096\r\nExpect: 100-continue\r\n")));
    auto response = client.read_response(2s);
    REQUIRE(response);
    CHECK(response->status == 413);
}

TEST_CASE("a Content-Length request body reaches the plugin whole", "[integration][http][body]") {
    HostProcess host(config("", locations));
    SECTION("a small form post through curl") {
        CurlResult got = curl({"--data-binary", "a=1&b=2", url(host.port(), "/form")});
        REQUIRE(got.status() == 200);
        auto echo = parse_echo(got.body);
        CHECK(echo["method"] == "POST");
        CHECK(echo["body_length"] == "7");
        CHECK(echo["body"] == "a=1&b=2");
    }
    SECTION("512 KiB of binary bytes in small pieces") {
        std::string body;
        for (int i = 0; i < 512 * 1024; i++)
            body.push_back(static_cast<char>(i * 7 % 256));
        RawClient client(host.port());
        std::string head = request("PUT", "/blob", "Content-Length: 524288\r\n");
        REQUIRE(client.send(head));
        for (std::size_t at = 0; at < body.size(); at += 100000) {
            REQUIRE(client.send(std::string_view(body).substr(at, 100000)));
            std::this_thread::sleep_for(5ms);
        }
        auto response = client.read_response();
        REQUIRE(response);
        auto echo = parse_echo(response->body);
        CHECK(echo["body_length"] == "524288");
        CHECK(echo["body"] == body);
    }
}

TEST_CASE("a chunked request body reaches the plugin whole", "[integration][http][body]") {
    HostProcess host(config("", locations));
    SECTION("several chunks") {
        auto response =
            fetch(host.port(), request("POST", "/chunks", "Transfer-Encoding: chunked\r\n") +
                                   "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(parse_echo(response->body)["body"] == "hello, world");
    }
    SECTION("a chunk extension and a trailer") {
        auto response =
            fetch(host.port(), request("POST", "/chunks", "Transfer-Encoding: chunked\r\n") +
                                   "5;name=value\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n");
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(parse_echo(response->body)["body"] == "hello");
    }
    SECTION("curl sending chunked") {
        CurlResult got = curl({"-H", "Transfer-Encoding: chunked", "--data-binary", "streamed body",
                               url(host.port(), "/chunks")});
        REQUIRE(got.status() == 200);
        CHECK(parse_echo(got.body)["body"] == "streamed body");
    }
}

TEST_CASE("a response without a declared length is sent chunked to HTTP/1.1 clients",
          "[integration][http][chunked]") {
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), get("/chunked"));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->chunked);
    CHECK_FALSE(response->header("Content-Length"));
    CHECK(response->body == five_pieces);

    CurlResult got = curl({url(host.port(), "/chunked")});
    CHECK(got.status() == 200);
    CHECK(got.body == five_pieces);
}

TEST_CASE("a request without Host in HTTP/1.1 gets 400", "[integration][http][errors]") {
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), "GET / HTTP/1.1\r\n\r\n");
    REQUIRE(response);
    CHECK(response->status == 400);
}

TEST_CASE("with nothing to serve the answer is 404 with a small HTML body and its length",
          "[integration][http][errors]") {
    HostProcess host(config("", declined_only));
    RawClient client(host.port());
    REQUIRE(client.send(get("/declined/thing")));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 404);
    CHECK_THAT(response->header("Content-Type").value_or(""), StartsWith("text/html"));
    CHECK(response->header("Content-Length") == std::to_string(response->body.size()));
    CHECK_THAT(response->body, Contains("404"));
    CHECK(response->body.size() < 1024);

    // A 404 does not end the connection.
    REQUIRE(client.send(get("/echo/still-here")));
    auto next = client.read_response();
    REQUIRE(next);
    CHECK(next->status == 200);
}

TEST_CASE("many concurrent connections are all served", "[integration][http][workers]") {
    HostProcess host(config("", locations));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 64; i++) {
        clients.push_back(std::make_unique<RawClient>(host.port()));
        REQUIRE(clients.back()->connected());
    }
    for (std::size_t i = 0; i < clients.size(); i++)
        REQUIRE(clients[i]->send(get("/client/" + std::to_string(i))));
    int served = 0;
    for (std::size_t i = 0; i < clients.size(); i++) {
        auto response = clients[i]->read_response();
        if (response && parse_echo(response->body)["path"] == "/client/" + std::to_string(i))
            served++;
    }
    CHECK(served == 64);
}

TEST_CASE("a deep pipeline is answered completely and in order", "[integration][http]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    std::string burst;
    for (int i = 0; i < 200; i++)
        burst += get("/deep/" + std::to_string(i));
    REQUIRE(client.send(burst));
    int in_order = 0;
    for (int i = 0; i < 200; i++) {
        auto response = client.read_response();
        if (!response)
            break;
        if (parse_echo(response->body)["path"] == "/deep/" + std::to_string(i))
            in_order++;
    }
    CHECK(in_order == 200);
}

TEST_CASE("a pipelined request waits for the suspended request before it",
          "[integration][http][suspend]") {
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send(get("/slow") + get("/fast")));
    auto slow = client.read_response();
    auto fast = client.read_response();
    REQUIRE(slow);
    REQUIRE(fast);
    CHECK(slow->body == "piece 0 of 3\npiece 1 of 3\npiece 2 of 3\n");
    CHECK(parse_echo(fast->body)["path"] == "/fast");
}

TEST_CASE("a request target in absolute form is accepted", "[integration][http]") {
    // RFC 9112 section 3.2.2: "A server MUST accept the absolute-form in requests".
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), "GET http://test/absolute/path?q=1 HTTP/1.1\r\n"
                                       "Host: test\r\n\r\n");
    REQUIRE(response);
    CHECK(response->status == 200);
    auto echo = parse_echo(response->body);
    CHECK(echo["path"] == "/absolute/path");
    CHECK(echo["query"] == "q=1");
}

TEST_CASE("header values are trimmed and header names match in any case", "[integration][http]") {
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), get("/?h=x-test", "X-TEST: \t  padded value \t\r\n"));
    REQUIRE(response);
    CHECK(parse_echo(response->body)["header"] == "padded value");
}

TEST_CASE("an HTTP/1.0 request with Expect: 100-continue gets no interim 100",
          "[integration][http][expect][http10]") {
    // RFC 9110 section 10.1.1: a server MUST NOT send a 100 response to an HTTP/1.0 client.
    HostProcess host(config("", locations));
    RawClient client(host.port());
    REQUIRE(client.send("POST /old HTTP/1.0\r\nExpect: 100-continue\r\n"
                        "Content-Length: 5\r\n\r\n"));
    client.read_some(300ms);
    REQUIRE(client.send("hello"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_echo(response->body)["body"] == "hello");
}

TEST_CASE("HEAD on an error page gets its headers and no body", "[integration][http][head]") {
    HostProcess host(config("", declined_only));
    RawClient client(host.port());
    REQUIRE(client.send(request("HEAD", "/declined/x") + get("/echo/after")));
    auto head = client.read_response(5s, /*head_request=*/true);
    REQUIRE(head);
    CHECK(head->status == 404);
    auto after = client.read_response();
    REQUIRE(after);
    CHECK(after->status == 200);
    CHECK(parse_echo(after->body)["path"] == "/echo/after");
}

TEST_CASE("an empty request body with Content-Length 0 is accepted", "[integration][http][body]") {
    HostProcess host(config("", locations));
    auto response = fetch(host.port(), request("POST", "/empty", "Content-Length: 0\r\n"));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_echo(response->body)["body_length"] == "0");
}
