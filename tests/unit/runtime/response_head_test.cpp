#include "response_head.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace dialtone::http;

namespace {

std::string head(ResponseHead h) {
    h.date_line = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    std::string out;
    append_response_head(out, h);
    return out;
}

const std::string kPrefix =
    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: dialtone/" DIALTONE_VERSION "\r\n";

} // namespace

TEST_CASE("a response with a declared length says Content-Length", "[response_head]") {
    CHECK(head({200, 5, 11, true, {}, "X-A: b\r\n"}) ==
          "HTTP/1.1 200 OK\r\n" + kPrefix + "Content-Length: 5\r\nX-A: b\r\n\r\n");
}

TEST_CASE("an HTTP/1.1 response without a length is chunked", "[response_head]") {
    CHECK(body_framing(200, -1, 11) == BodyFraming::chunked);
    CHECK(head({200, -1, 11, true, {}, {}}) ==
          "HTTP/1.1 200 OK\r\n" + kPrefix + "Transfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("an HTTP/1.0 response without a length ends with the connection", "[response_head]") {
    CHECK(body_framing(200, -1, 10) == BodyFraming::close);
    CHECK(head({200, -1, 10, false, {}, {}}) ==
          "HTTP/1.1 200 OK\r\n" + kPrefix + "Connection: close\r\n\r\n");
}

TEST_CASE("an HTTP/1.0 keep-alive response says so", "[response_head]") {
    CHECK(head({200, 0, 10, true, {}, {}}) ==
          "HTTP/1.1 200 OK\r\n" + kPrefix + "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("204, 304 and 1xx responses carry no framing headers", "[response_head]") {
    for (int status : {101, 204, 304}) {
        CHECK(body_framing(status, 10, 11) == BodyFraming::none);
        CHECK(head({status, 10, 11, true, {}, {}}).find("Content-Length") == std::string::npos);
    }
    CHECK(head({304, -1, 11, true, {}, {}}) == "HTTP/1.1 304 Not Modified\r\n" + kPrefix + "\r\n");
}

TEST_CASE("a response on a closing connection says Connection: close", "[response_head]") {
    CHECK(head({404, 3, 11, false, {}, {}}) ==
          "HTTP/1.1 404 Not Found\r\n" + kPrefix +
              "Content-Length: 3\r\nConnection: close\r\n\r\n");
}

TEST_CASE("an error page names the status and its reason", "[response_head][error]") {
    CHECK(error_page(404) == "<html><head><title>404 Not Found</title></head><body><h1>404 Not "
                             "Found</h1></body></html>\n");
}

TEST_CASE("chunk framing is a hex size line, CRLF after the data and a zero chunk at the end",
          "[response_head][chunked]") {
    char buf[kChunkSizeLineMax];
    CHECK(std::string(buf, format_chunk_size(0x1a2b, buf)) == "1a2b\r\n");
    CHECK(std::string(buf, format_chunk_size(1, buf)) == "1\r\n");
    CHECK(kChunkEnd == "\r\n");
    CHECK(kLastChunk == "0\r\n\r\n");
}
