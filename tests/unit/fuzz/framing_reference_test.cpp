#include "framing_reference.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace dialtone::test;

namespace {

const std::string kGet = "GET /a HTTP/1.1\r\nHost: fuzz\r\n\r\n";
const std::string kPostLength =
    "POST /b?q=1 HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\nhello";
const std::string kPostChunked =
    "POST /c HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=\"v a l\"\r\nhello\r\n"
    "A ; x = y\r\n0123456789\r\n"
    "00\r\nChecksum: 1\r\n\r\n";

// The rule the input breaks, or "" when it frames without an error.
std::string why_invalid(const std::string &input) {
    FramingVerdict v = frame_requests(input);
    return v.ending == Ending::invalid ? v.reason : "";
}

// A request with one extra head line (or a replaced request-line) around a GET.
std::string get_with(const std::string &fields) {
    return "GET / HTTP/1.1\r\nHost: fuzz\r\n" + fields + "\r\n";
}

std::string post_with(const std::string &fields, const std::string &body) {
    return "POST /echo HTTP/1.1\r\nHost: fuzz\r\n" + fields + "\r\n" + body;
}

} // namespace

TEST_CASE("a GET frames as one request without a body", "[fuzz][framing]") {
    FramingVerdict v = frame_requests(kGet);
    REQUIRE(v.requests.size() == 1);
    CHECK(v.ending == Ending::clean);
    const FramedRequest &r = v.requests[0];
    CHECK(r.start == 0);
    CHECK(r.end == kGet.size());
    CHECK(r.method == "GET");
    CHECK(r.target == "/a");
    CHECK(r.http_minor == 1);
    CHECK(r.framing == Framing::none);
    CHECK(r.body_length == 0);
}

TEST_CASE("a pipeline is split where each request ends, bodies decoded", "[fuzz][framing]") {
    std::string in = kPostLength + kPostChunked + kGet;
    FramingVerdict v = frame_requests(in);
    REQUIRE(v.requests.size() == 3);
    CHECK(v.ending == Ending::clean);
    CHECK(v.requests[0].end == kPostLength.size());
    CHECK(v.requests[0].framing == Framing::content_length);
    CHECK(v.requests[0].body_length == 5);
    CHECK(v.requests[0].target == "/b?q=1");
    CHECK(v.requests[1].start == kPostLength.size());
    CHECK(v.requests[1].end == kPostLength.size() + kPostChunked.size());
    CHECK(v.requests[1].framing == Framing::chunked);
    CHECK(v.requests[1].body_length == 15);
    CHECK(v.requests[2].method == "GET");
    CHECK(v.requests[2].end == in.size());
}

TEST_CASE("empty lines before a request-line are skipped, CRLF only", "[fuzz][framing]") {
    FramingVerdict v = frame_requests("\r\n\r\n" + kGet + "\r\n");
    REQUIRE(v.requests.size() == 1);
    CHECK(v.requests[0].start == 4);
    CHECK(v.ending == Ending::clean);
    CHECK(why_invalid("\n" + kGet) == "a bare LF ends a line");
    CHECK(why_invalid(kGet + "\r\r\n" + kGet) == "a bare CR");
}

TEST_CASE("a request cut anywhere is incomplete, never invalid", "[fuzz][framing]") {
    std::string in = kPostLength + kPostChunked + kGet;
    size_t boundaries[] = {0, kPostLength.size(), kPostLength.size() + kPostChunked.size(),
                           in.size()};
    for (size_t cut = 0; cut <= in.size(); ++cut) {
        CAPTURE(cut);
        FramingVerdict v = frame_requests(in.substr(0, cut));
        size_t complete = 0;
        while (complete + 1 < std::size(boundaries) && boundaries[complete + 1] <= cut)
            ++complete;
        CHECK(v.requests.size() == complete);
        bool at_boundary = cut == boundaries[complete];
        CHECK(v.ending == (at_boundary ? Ending::clean : Ending::incomplete));
        CHECK(v.at == boundaries[complete]);
    }
}

TEST_CASE("a method that is a token frames, known or not", "[fuzz][framing]") {
    FramingVerdict v = frame_requests("BREW /pot HTTP/1.1\r\nHost: fuzz\r\n\r\n");
    REQUIRE(v.requests.size() == 1);
    CHECK(v.requests[0].method == "BREW");
    CHECK(why_invalid("GE(T / HTTP/1.1\r\nHost: fuzz\r\n\r\n") ==
          "the method is not followed by one SP");
    CHECK(why_invalid(" GET / HTTP/1.1\r\nHost: fuzz\r\n\r\n") == "the method is not a token");
}

TEST_CASE("the issue's smuggling shapes are invalid where they break the grammar",
          "[fuzz][framing][smuggling]") {
    SECTION("a bare CR as a header line delimiter") {
        std::string in = post_with("X-Abc: \rxTransfer-Encoding: chunked\r\n",
                                   "0\r\n\r\nGET /second HTTP/1.1\r\nHost: fuzz\r\n\r\n");
        FramingVerdict v = frame_requests(in);
        CHECK(v.requests.empty());
        CHECK(v.ending == Ending::invalid);
        CHECK(v.reason == "a bare CR");
        CHECK(v.error == in.find('\r', in.find("X-Abc")));
    }
    SECTION("a bare CR line ending the head early") {
        std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n"
                         "GET /second HTTP/1.1\r\nHost: a\r\n\r\n";
        FramingVerdict v = frame_requests(in);
        CHECK(v.requests.empty());
        CHECK(v.reason == "a bare CR");
    }
    SECTION("chunk data not followed by CRLF") {
        std::string in =
            post_with("Transfer-Encoding: chunked\r\n", "5\r\nhelloXX0\r\n\r\n") + kGet;
        FramingVerdict v = frame_requests(in);
        CHECK(v.requests.empty());
        CHECK(v.reason == "chunk data is not followed by CRLF");
        CHECK(v.error == in.find("XX0"));
    }
}

TEST_CASE("Content-Length and Transfer-Encoding conflicts are invalid",
          "[fuzz][framing][smuggling]") {
    CHECK(why_invalid(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                "0\r\n\r\n")) == "both Content-Length and Transfer-Encoding");
    CHECK(why_invalid(post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                                "0\r\n\r\n")) == "both Content-Length and Transfer-Encoding");
    CHECK(why_invalid(post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")) ==
          "more than one Content-Length");
    CHECK(why_invalid(post_with("Content-Length: 5, 5\r\n", "hello")) ==
          "Content-Length is not 1*DIGIT");
    for (const char *bad : {"+5", "-1", "0x5", "5 5", "5;", "", "٥"}) {
        CAPTURE(bad);
        CHECK(why_invalid(post_with(std::string("Content-Length: ") + bad + "\r\n", "hello")) ==
              "Content-Length is not 1*DIGIT");
    }
    CHECK(why_invalid(post_with("Content-Length: 18446744073709551616\r\n", "")) ==
          "Content-Length overflows 64 bits");
    FramingVerdict huge = frame_requests(post_with("Content-Length: 18446744073709551615\r\n", ""));
    CHECK(huge.ending == Ending::incomplete);
    FramingVerdict padded = frame_requests(post_with("Content-Length: \t 0005 \r\n", "hello"));
    REQUIRE(padded.requests.size() == 1);
    CHECK(padded.requests[0].body_length == 5);
}

TEST_CASE("Transfer-Encoding must end in chunked, once, without parameters",
          "[fuzz][framing][smuggling]") {
    auto te = [](const std::string &value) {
        return why_invalid(post_with("Transfer-Encoding: " + value + "\r\n", "0\r\n\r\n"));
    };
    CHECK(te("chunked") == "");
    CHECK(te("CHUNKED") == "");
    CHECK(te("gzip, chunked") == ""); // framed as chunked; the runtime answers 501 for gzip
    CHECK(te("gzip;level=\"9, x\" , chunked") == "");
    CHECK(te(", chunked,") == "");
    CHECK(te("chunked, gzip") == "Transfer-Encoding does not end in chunked");
    CHECK(te("gzip") == "Transfer-Encoding does not end in chunked");
    CHECK(te("chunked;x=1") == "Transfer-Encoding does not end in chunked");
    CHECK(te("chunked, chunked") == "chunked is applied twice");
    CHECK(te("") == "Transfer-Encoding names no coding");
    CHECK(te("chunked chunked") == "transfer codings are not separated by commas");
    CHECK(te("chunk\"ed") == "transfer codings are not separated by commas");
    CHECK(te("gzip;q, chunked") == "a transfer parameter has no value");
    CHECK(te("gzip;q=\"1, chunked") == "a quoted-string does not end");
    // Two field lines are one list (RFC 9110 §5.3).
    CHECK(why_invalid(post_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                                "0\r\n\r\n")) == "");
    CHECK(why_invalid(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
                                "0\r\n\r\n")) == "Transfer-Encoding does not end in chunked");
    CHECK(why_invalid("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") ==
          "Transfer-Encoding in an HTTP/1.0 request");
}

TEST_CASE("lines end in CRLF only: a bare LF or a bare CR is invalid",
          "[fuzz][framing][smuggling]") {
    CHECK(why_invalid("GET / HTTP/1.1\nHost: fuzz\r\n\r\n") == "a bare LF ends a line");
    CHECK(why_invalid("GET / HTTP/1.1\r\nHost: fuzz\n\r\n") == "a bare LF ends a line");
    CHECK(why_invalid("GET / HTTP/1.1\r\nHost: fuzz\r\n\n") == "a bare LF ends a line");
    CHECK(why_invalid("GET / HTTP/1.1\rHost: fuzz\r\n\r\n") == "a bare CR");
    CHECK(why_invalid(post_with("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n")) ==
          "a bare LF ends a line");
    CHECK(why_invalid(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello\n0\r\n\r\n")) ==
          "chunk data is not followed by CRLF");
    CHECK(why_invalid(post_with("Transfer-Encoding: chunked\r\n", "0\r\n\n")) ==
          "a bare LF ends a line");
}

TEST_CASE("field lines are strict: no obs-fold, token names, no controls", "[fuzz][framing]") {
    CHECK(why_invalid(get_with("X-A: one\r\n two\r\n")) ==
          "obs-fold or whitespace before a field name");
    CHECK(why_invalid(get_with("X-A: one\r\n\ttwo\r\n")) ==
          "obs-fold or whitespace before a field name");
    CHECK(why_invalid(get_with("X-A : one\r\n")) == "whitespace after a field name");
    CHECK(why_invalid(get_with("X A: one\r\n")) == "whitespace after a field name");
    CHECK(why_invalid(get_with("X@A: one\r\n")) == "a field name is not a token");
    CHECK(why_invalid(get_with("If-None 1994 GMT\r\n")) == "whitespace after a field name");
    CHECK(why_invalid(get_with("X-A\r\n")) == "a field line has no colon");
    CHECK(why_invalid(get_with(": one\r\n")) == "a field name is not a token");
    CHECK(why_invalid(get_with(std::string("X-A: a\0b\r\n", 11))) ==
          "a control character in a field value");
    CHECK(why_invalid(get_with("X-A: a\x7f\r\n")) == "a control character in a field value");
    CHECK(why_invalid(get_with("X-A: caf\xc3\xa9\t x\r\n")) == ""); // obs-text and inner HTAB
    CHECK(why_invalid(get_with("X-Empty:\r\n")) == "");
}

TEST_CASE("chunk sizes and extensions follow RFC 9112 §7.1", "[fuzz][framing][smuggling]") {
    auto chunked = [](const std::string &body) {
        return why_invalid(post_with("Transfer-Encoding: chunked\r\n", body));
    };
    CHECK(chunked("10000000000000000\r\n") == "the chunk size overflows 64 bits");
    CHECK(frame_requests(post_with("Transfer-Encoding: chunked\r\n", "ffffffffffffffff\r\nab"))
              .ending == Ending::incomplete);
    CHECK(chunked("ffffffffffffffff\r\n") == "");
    CHECK(chunked("-5\r\nhello\r\n0\r\n\r\n") == "a chunk does not start with its size in hex");
    CHECK(chunked("0x5\r\nhello\r\n0\r\n\r\n") ==
          "the chunk size is followed by neither an extension nor CRLF");
    CHECK(chunked("5 \r\nhello\r\n0\r\n\r\n") == "whitespace before the CRLF of a chunk-size line");
    CHECK(chunked("5;a=b \r\nhello\r\n0\r\n\r\n") ==
          "whitespace before the CRLF of a chunk-size line");
    CHECK(chunked("5;\r\nhello\r\n0\r\n\r\n") == "a chunk extension's name is not a token");
    CHECK(chunked("5;a=\r\nhello\r\n0\r\n\r\n") ==
          "a parameter value is neither a token nor a quoted-string");
    CHECK(chunked("5;a=\"x\ry\"\r\nhello\r\n0\r\n\r\n") ==
          "a control character in a quoted-string");
    CHECK(chunked("5 ; a ; b = \"q\\\"\" ;c\r\nhello\r\n0;z\r\n\r\n") == "");
    CHECK(chunked("0\r\nTrailer: ok\r\n folded\r\n\r\n") ==
          "obs-fold or whitespace before a field name");
    CHECK(chunked("0\r\n\r\n") == "");
}

TEST_CASE("the request-line is method SP target SP HTTP/1.x CRLF", "[fuzz][framing]") {
    CHECK(why_invalid("GET  / HTTP/1.1\r\nHost: fuzz\r\n\r\n") == "the request-target is empty");
    CHECK(why_invalid("GET\t/ HTTP/1.1\r\nHost: fuzz\r\n\r\n") ==
          "the method is not followed by one SP");
    CHECK(why_invalid("GET /\tHTTP/1.1\r\nHost: fuzz\r\n\r\n") ==
          "a byte that is not a visible ASCII character in the target");
    CHECK(why_invalid("GET / HTTP/1.1 \r\nHost: fuzz\r\n\r\n") == "a line does not end in CRLF");
    CHECK(why_invalid("GET /\r\n") == "the request-line has no HTTP-version");
    CHECK(why_invalid("GET / http/1.1\r\nHost: fuzz\r\n\r\n") == "the version is not HTTP/1.x");
    CHECK(why_invalid("GET / HTTP/2.0\r\nHost: fuzz\r\n\r\n") == "the version is not HTTP/1.x");
    CHECK(why_invalid("GET / HTTP/1.10\r\nHost: fuzz\r\n\r\n") == "a line does not end in CRLF");
    FramingVerdict v10 = frame_requests("GET / HTTP/1.0\r\n\r\n");
    REQUIRE(v10.requests.size() == 1);
    CHECK(v10.requests[0].http_minor == 0);
}

TEST_CASE("the request-target is in one of the four forms, RFC 3986 bytes only",
          "[fuzz][framing]") {
    auto target = [](const std::string &method, const std::string &t) {
        return why_invalid(method + " " + t + " HTTP/1.1\r\nHost: fuzz\r\n\r\n");
    };
    CHECK(target("GET", "/a/b;c=d?e=f&g=/h?i:@!$'()*+,~") == "");
    CHECK(target("GET", "/%41%7e") == "");
    CHECK(target("GET", "http://fuzz/x?y") == "");
    CHECK(target("GET", "http://[::1]:80/") == "");
    CHECK(target("OPTIONS", "*") == "");
    CHECK(target("CONNECT", "fuzz:443") == "");
    CHECK(target("CONNECT", "[::1]:443") == "");
    CHECK(target("GET", "/a#frag") ==
          "the origin-form target has a byte RFC 3986 does not allow there");
    CHECK(target("GET", "/a%zz") ==
          "the origin-form target has a byte RFC 3986 does not allow there");
    CHECK(target("GET", "/a%4") ==
          "the origin-form target has a byte RFC 3986 does not allow there");
    for (const char *bad : {"/\"", "/<", "/>", "/\\", "/^", "/`", "/{", "/|", "/}", "/["}) {
        CAPTURE(bad);
        CHECK(target("GET", bad) ==
              "the origin-form target has a byte RFC 3986 does not allow there");
    }
    CHECK(target("GET", "http://fuzz/#x") ==
          "the absolute-form target has a byte RFC 3986 does not allow there");
    CHECK(target("GET", "*") == "the asterisk-form is for OPTIONS only");
    CHECK(target("GET", "fuzz") == "the request-target is in none of the four forms");
    CHECK(target("GET", "1http://fuzz/") == "the request-target is in none of the four forms");
    CHECK(target("CONNECT", "/x") == "CONNECT needs the authority-form target host:port");
    CHECK(target("CONNECT", "[::1]") == "CONNECT needs the authority-form target host:port");
    CHECK(why_invalid("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: fuzz\r\n\r\n") ==
          "a byte that is not a visible ASCII character in the target");
}

TEST_CASE("Host is required once in HTTP/1.1 and must be uri-host [:port]", "[fuzz][framing]") {
    CHECK(why_invalid("GET / HTTP/1.1\r\n\r\n") == "an HTTP/1.1 request without Host");
    CHECK(why_invalid("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == "more than one Host");
    CHECK(why_invalid("GET / HTTP/1.0\r\n\r\n") == "");
    for (const char *good : {"fuzz", "fuzz:80", "fuzz:", "", "127.0.0.1:8080", "[::1]", "[::1]:80",
                             "a%20b", "x_y~z!$&'()*+,;="}) {
        CAPTURE(good);
        CHECK(why_invalid("GET / HTTP/1.1\r\nHost: " + std::string(good) + "\r\n\r\n") == "");
    }
    for (const char *bad : {"a b", "a:b", "a:80:80", "a@b", "a/b", "a%2", "[::1", "[]", "[::1]x",
                            "a#b", "caf\xc3\xa9"}) {
        CAPTURE(bad);
        CHECK(why_invalid("GET / HTTP/1.1\r\nHost: " + std::string(bad) + "\r\n\r\n") ==
              "Host is not uri-host [ \":\" port ]");
    }
}

TEST_CASE("an invalid request ends the sequence after the valid ones before it",
          "[fuzz][framing]") {
    std::string in = kGet + kPostLength + "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n" + kGet;
    FramingVerdict v = frame_requests(in);
    CHECK(v.requests.size() == 2);
    CHECK(v.ending == Ending::invalid);
    CHECK(v.at == kGet.size() + kPostLength.size());
    CHECK(v.error == in.find("\rX"));
}

TEST_CASE("incomplete and invalid are told apart at the last byte", "[fuzz][framing]") {
    CHECK(frame_requests("GET / HTTP/1.1\r\nHost: a\r").ending == Ending::incomplete);
    CHECK(frame_requests("GET / HTTP/1.1\r\nHost: a\rX").ending == Ending::invalid);
    CHECK(frame_requests("\r").ending == Ending::incomplete);
    CHECK(frame_requests("").ending == Ending::clean);
    CHECK(frame_requests(post_with("Transfer-Encoding: chunked\r\n", "5;a=\"q")).ending ==
          Ending::incomplete);
}
