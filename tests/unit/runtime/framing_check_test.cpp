#include "framing_check.hpp"

#include <catch2/catch.hpp>

#include <string>

using dialtone::http::FramingCheck;
using namespace std::string_literals;

namespace {

// What the check makes of a whole request, fed as a parser would: the head, then (when `body`
// says so) the body, then the next message. `step` > 0 feeds that many bytes a call.
struct Outcome {
    int status = 0;    // the check's answer
    size_t passed = 0; // bytes the parser was allowed to take
    bool holding = false;
};

enum class Body { none, chunked, length };

Outcome run(const std::string &bytes, Body body = Body::none, uint64_t length = 0,
            size_t step = 0) {
    FramingCheck check;
    Outcome out;
    bool in_head = true;
    int idle = 0;
    for (size_t received = 0; received < bytes.size();) {
        size_t n = step ? std::min(step, bytes.size() - received) : bytes.size() - received;
        std::string_view read = std::string_view(bytes).substr(received, n);
        received += n;
        while (!read.empty()) {
            size_t ok = check.feed(read);
            out.passed += ok;
            read.remove_prefix(ok);
            if (check.status() != 0) {
                out.status = check.status();
                return out;
            }
            if (check.holding())
                break; // held bytes never reach the parser
            if (read.empty())
                break;
            // A phase ended: say what the parser says at that point.
            REQUIRE(++idle < 4);
            if (in_head && body == Body::chunked)
                check.expect_chunked();
            else if (in_head)
                check.expect_length(body == Body::length ? length : 0);
            else
                check.next_message();
            in_head = !in_head;
            if (ok > 0)
                idle = 0;
        }
    }
    out.holding = check.holding();
    return out;
}

// The answer both when the bytes come at once and one byte a read.
int status_of(const std::string &bytes, Body body = Body::none, uint64_t length = 0) {
    Outcome whole = run(bytes, body, length);
    Outcome trickled = run(bytes, body, length, 1);
    CHECK(whole.status == trickled.status);
    CHECK(whole.passed == trickled.passed);
    return whole.status;
}

const std::string head = "POST / HTTP/1.1\r\nHost: a\r\n";
const std::string chunked_head = head + "Transfer-Encoding: chunked\r\n\r\n";

} // namespace

TEST_CASE("well-framed requests pass whole, in any split", "[http][framing]") {
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    CHECK(status_of("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n") == 0);
    CHECK(status_of("GET / HTTP/1.1\r\nX-Obs-Text: caf\xc3\xa9\r\n\r\n") == 0);
    CHECK(status_of(head + "Content-Length: 5\r\n\r\nhello", Body::length, 5) == 0);
    CHECK(status_of(chunked_head + "5\r\nhello\r\n0\r\n\r\n", Body::chunked) == 0);
    CHECK(status_of(chunked_head + "5;a=b\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n",
                    Body::chunked) == 0);
    for (const char *method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
                               "PURGE", "PROPFIND", "MKCOL", "M-SEARCH", "UNSUBSCRIBE", "CONNECT"})
        CHECK(status_of(method + " / HTTP/1.1\r\nHost: a\r\n\r\n"s) == 0);
}

TEST_CASE("the check stops where the head and the body end", "[http][framing]") {
    FramingCheck check;
    std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    std::string two = get + get;
    CHECK(check.feed(two) == get.size());
    check.expect_length(0);
    CHECK(check.feed(std::string_view(two).substr(get.size())) == 0); // the message ended
    check.next_message();
    CHECK(check.feed(std::string_view(two).substr(get.size())) == get.size());

    FramingCheck body;
    std::string post = head + "Content-Length: 3\r\n\r\n";
    std::string bytes = post + "abc" + get;
    CHECK(body.feed(bytes) == post.size());
    body.expect_length(3);
    CHECK(body.feed(std::string_view(bytes).substr(post.size())) == 3);

    FramingCheck chunked;
    std::string chunks = "3\r\nabc\r\n0\r\n\r\n";
    bytes = chunked_head + chunks + get;
    CHECK(chunked.feed(bytes) == chunked_head.size());
    chunked.expect_chunked();
    CHECK(chunked.feed(std::string_view(bytes).substr(chunked_head.size())) == chunks.size());
    CHECK(chunked.status() == 0);
}

TEST_CASE("a bare CR or a bare LF in a head gets 400", "[http][framing][smuggling]") {
    // CVE-2023-30589's reproducer: llhttp 8.1.0 reads a Transfer-Encoding header out of it.
    CHECK(status_of(head + "X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n") ==
          400);
    CHECK(status_of(head + "x:\rTransfer-Encoding: chunked\r\n\r\n") == 400);
    // A head ended by "\r\n\rX": llhttp 8.1.0 serves what follows as another request.
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\nGET /second HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n") ==
          400);
    CHECK(status_of("PUT / HTTP/1.1\r\nContent-Length: 3\r\n\rabc") == 400);
    CHECK(status_of("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
    CHECK(status_of("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(status_of("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("a control byte anywhere in a field value or reason phrase is refused, text is not",
          "[http][framing]") {
    // Every byte value at every place of two eight-byte words: the check reads values a word at
    // a time, and must answer as the byte-by-byte rule does (HTAB and obs-text are text).
    for (int b = 0; b < 256; ++b) {
        auto c = static_cast<char>(b);
        bool control = (b < 0x20 && b != '\t') || b == 0x7f;
        for (size_t at = 0; at < 16; ++at) {
            std::string value(20, 'v');
            value[at] = c;
            INFO("byte " << b << " at " << at);
            CHECK((status_of("GET / HTTP/1.1\r\nX-Long: " + value + "\r\n\r\n") != 0) == control);
            FramingCheck response(FramingCheck::Kind::response);
            std::string head = "HTTP/1.1 200 " + value + "\r\nServer: s\r\n\r\n";
            size_t passed = response.feed(head);
            CHECK((response.status() != 0) == control);
            if (!control)
                CHECK(passed == head.size());
        }
    }
}

TEST_CASE("a field line that is not token colon value gets 400", "[http][framing]") {
    CHECK(status_of("GET / HTTP/1.1\r\n: x\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nX Y: z\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nXY : z\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nX\x01Y: z\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nno colon\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"s) == 400);
    SECTION("whitespace at the start of a line: obs-fold, or before the first field") {
        CHECK(status_of("GET / HTTP/1.1\r\n X: y\r\n\r\n") == 400);
        CHECK(status_of("GET / HTTP/1.1\r\nX:\r\n two\r\n\r\n") == 400);
        // CVE-2024-27982's shape (llhttp 8.1.2).
        CHECK(status_of(head + "Foo: bar\r\n Content-Length: 38\r\n\r\n") == 400);
    }
}

TEST_CASE("a request line is method, one SP, target, one SP, version", "[http][framing]") {
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    CHECK(status_of("GET /a  HTTP/1.1\r\nHost: a\r\n\r\n") == 400); // found by fuzz_connection
    CHECK(status_of("GET  /a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(status_of("GET /a HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
    CHECK(status_of("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(status_of("GET /a\r\nHost: a\r\n\r\n") == 400); // no version (HTTP/0.9)
}

TEST_CASE("a method llhttp does not parse gets 501 if it is a token, else 400",
          "[http][framing][method]") {
    CHECK(status_of("BREW / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("get / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("GE / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("GETS / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("QUERY / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("DESCRIBE / HTTP/1.1\r\n\r\n") == 501);
    CHECK(status_of("G@T / HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("BR(W / HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET\r\n\r\n") == 400);
    SECTION("501 only for an otherwise well-formed request line") {
        CHECK(status_of("HELLO THERE\r\n\r\n") == 400);
        CHECK(status_of("BREW  / HTTP/1.1\r\n\r\n") == 400);
        CHECK(status_of("BREW / HTTP/1.1\n\r\n") == 400);
        CHECK(status_of("BREW / HTTP/1.1\rX") == 400);
        CHECK(status_of("BREW /\x01 HTTP/1.1\r\n") == 400);
        CHECK(status_of("BREW / HTTP/x.1\r\n") == 400);
        CHECK(status_of("BREW / HTTP/2.0\r\n") == 501);
    }
    SECTION("a method longer than any implemented is 501 at once (RFC 9112 section 3)") {
        Outcome long_method = run(std::string(300, 'A'), Body::none, 0, 1);
        CHECK(long_method.status == 501);
        CHECK(long_method.passed <= 1);
    }
    SECTION("the parser never sees a method it would refuse") {
        Outcome brew = run("BRE", Body::none, 0, 1);
        CHECK(brew.holding);
        CHECK(brew.passed == 1); // "B" begins BIND
        CHECK(brew.status == 0);
        CHECK(run("get", Body::none, 0, 1).passed == 0);
    }
}

TEST_CASE("chunk extensions follow RFC 9112's grammar", "[http][framing][smuggling]") {
    auto chunk = [](const std::string &size_line) {
        return status_of(chunked_head + size_line + "\r\nhello\r\n0\r\n\r\n", Body::chunked);
    };
    CHECK(chunk("5") == 0);
    CHECK(chunk("5;a") == 0);
    CHECK(chunk("5;a=b") == 0);
    CHECK(chunk("5 ; a = b") == 0);
    CHECK(chunk("5;a=\"q \\\" x\";b") == 0);
    CHECK(chunk("5;ext;=1") == 400); // an empty name: found by fuzz_connection's oracle
    CHECK(chunk("5;=1") == 400);
    CHECK(chunk("5;") == 400);
    CHECK(chunk("5;a=") == 400);
    CHECK(chunk("5;a=b c") == 400);
    CHECK(chunk("5;a=\"x\"y") == 400);
    CHECK(chunk("5;a ") == 400); // whitespace before the CRLF
    CHECK(chunk("5 ") == 400);
    CHECK(chunk("5;a@b") == 400);
    CHECK(chunk("5;a=\"x\x01\"") == 400);
}

TEST_CASE("chunked framing that is not RFC 9112's gets 400", "[http][framing][smuggling]") {
    SECTION("chunk data not followed by CRLF (llhttp 8.1.0 skips any two bytes)") {
        CHECK(status_of(chunked_head + "5\r\nhelloXX0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5\r\nhello\rX0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5\r\nhello\n0\r\n\r\n", Body::chunked) == 400);
    }
    SECTION("a chunk-size line not ended by CRLF") {
        CHECK(status_of(chunked_head + "5\rhello\r\n0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5\nhello\r\n0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5;a=b\rhello\r\n0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "5\r\nhello\r\n0\r\r\n", Body::chunked) == 400);
    }
    SECTION("a trailer section not ended by CRLF CRLF") {
        CHECK(status_of(chunked_head + "0\r\n\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "0\r\n\rX", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "0\r\nT: a\rT2: b\r\n\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "0\r\n: a\r\n\r\n", Body::chunked) == 400);
    }
    SECTION("a chunk size that is not hexadecimal or too long") {
        CHECK(status_of(chunked_head + "zz\r\nab\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + ";a\r\n", Body::chunked) == 400);
        CHECK(status_of(chunked_head + "00000000000000001\r\na\r\n", Body::chunked) == 400);
    }
    SECTION("chunk extensions are capped per chunk-size line") {
        std::string ext(FramingCheck::kMaxChunkLine - 2, 'a');
        CHECK(status_of(chunked_head + "5;" + ext + "\r\nhello\r\n0\r\n\r\n", Body::chunked) == 0);
        CHECK(status_of(chunked_head + "5;" + ext + "a\r\nhello\r\n0\r\n\r\n", Body::chunked) ==
              400);
        // The cap is per line, not per body.
        std::string twice = "5;" + ext + "\r\nhello\r\n5;" + ext + "\r\nhello\r\n0\r\n\r\n";
        CHECK(status_of(chunked_head + twice, Body::chunked) == 0);
    }
}
