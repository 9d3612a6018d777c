#include "response_parser.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using dialtone::ResponseError;
using dialtone::ResponseLimits;
using dialtone::ResponseParser;
using dialtone::http::BodyFraming;
using Event = ResponseParser::Event;
using namespace std::string_literals;

namespace {

const char *framing_name(BodyFraming f) {
    switch (f) {
    case BodyFraming::none:
        return "none";
    case BodyFraming::length:
        return "length";
    case BodyFraming::chunked:
        return "chunked";
    case BodyFraming::close:
        return "close";
    }
    return "?";
}

const char *error_name(ResponseError e) {
    switch (e) {
    case ResponseError::none:
        return "none";
    case ResponseError::invalid_head:
        return "invalid_head";
    case ResponseError::invalid_framing:
        return "invalid_framing";
    case ResponseError::invalid_body:
        return "invalid_body";
    case ResponseError::head_too_large:
        return "head_too_large";
    case ResponseError::too_many_fields:
        return "too_many_fields";
    case ResponseError::truncated:
        return "truncated";
    case ResponseError::no_response:
        return "no_response";
    }
    return "?";
}

// What a parser made of a byte stream, as lines: "interim 103", "head 200 length 5 keep-alive",
// "body <bytes>" (consecutive pieces joined: how the bytes were split must not show), "done",
// "upgrade 101", "error truncated: <reason>". `rest`: the bytes after done or upgrade.
struct Outcome {
    std::vector<std::string> events;
    std::string rest;
    bool keep_alive = false; // after done
    bool operator==(const Outcome &) const = default;
};

std::string describe_head(const char *what, const dialtone::UpstreamHead &h) {
    std::string s = what + " "s + std::to_string(h.status);
    if (std::string_view(what) == "head") {
        s += " "s + framing_name(h.framing);
        if (h.has_content_length)
            s += " cl=" + std::to_string(h.content_length);
        s += h.keep_alive ? " keep-alive" : " close";
    }
    return s;
}

// Feeds `bytes` to `parser` `step` bytes a read (0: all at once) as an event-loop client would:
// unconsumed bytes are fed again with the next read's. `eof`: the connection closes after the
// last byte (finish()).
Outcome drive(ResponseParser &parser, std::string_view bytes, size_t step, bool eof) {
    Outcome out;
    std::string buf; // received, not yet consumed
    size_t received = 0;
    for (;;) {
        ResponseParser::Step s;
        bool at_eof = received == bytes.size();
        if (buf.empty() && at_eof && eof) {
            s = parser.finish();
        } else {
            s = parser.feed(buf);
            REQUIRE(s.used <= buf.size());
        }
        switch (s.event) {
        case Event::more:
            REQUIRE(s.used == buf.size());
            buf.erase(0, s.used);
            if (at_eof && !eof)
                return out;
            if (at_eof) {
                s = parser.finish();
                break;
            }
            {
                size_t n = step ? std::min(step, bytes.size() - received) : bytes.size() - received;
                buf.append(bytes.substr(received, n));
                received += n;
            }
            continue;
        case Event::body:
            // A view into the fed buffer, never a copy, and never empty.
            REQUIRE(!s.body.empty());
            REQUIRE(s.body.data() >= buf.data());
            REQUIRE(s.body.data() + s.body.size() == buf.data() + s.used);
            if (out.events.empty() || out.events.back().rfind("body ", 0) != 0)
                out.events.push_back("body ");
            out.events.back() += s.body;
            buf.erase(0, s.used);
            continue;
        case Event::interim:
        case Event::head:
            out.events.push_back(
                describe_head(s.event == Event::head ? "head" : "interim", parser.head()));
            buf.erase(0, s.used);
            continue;
        default:
            break;
        }
        // finish() may have answered instead of feed().
        switch (s.event) {
        case Event::done:
            out.events.push_back("done");
            out.keep_alive = parser.head().keep_alive;
            break;
        case Event::upgrade:
            out.events.push_back("upgrade " + std::to_string(parser.head().status));
            break;
        case Event::error:
            REQUIRE(s.error != ResponseError::none);
            out.events.push_back("error "s + error_name(s.error) + ": " + s.reason);
            break;
        default:
            FAIL("finish() answered neither done nor error");
        }
        buf.erase(0, s.used);
        std::string unconsumed = buf + std::string(bytes.substr(received));
        if (s.event != Event::error) // after an error the connection is closed: nothing is next
            out.rest = unconsumed;
        // Terminal: the same answer again, taking nothing.
        ResponseParser::Step again = parser.feed(unconsumed);
        REQUIRE(again.event == s.event);
        REQUIRE(again.used == 0);
        return out;
    }
}

// The outcome of `bytes` fed whole; fed one byte a read, it must be the same.
Outcome parse(std::string_view bytes, std::string_view method = "GET", bool eof = false,
              ResponseLimits limits = {}) {
    ResponseParser whole(limits);
    whole.reset(method);
    Outcome a = drive(whole, bytes, 0, eof);
    ResponseParser bytewise(limits);
    bytewise.reset(method);
    Outcome b = drive(bytewise, bytes, 1, eof);
    REQUIRE(a.events == b.events);
    REQUIRE(a.rest == b.rest);
    REQUIRE(a.keep_alive == b.keep_alive);
    return a;
}

using Lines = std::vector<std::string>;

// The error a response stream ends in ("" if none).
std::string error_of(std::string_view bytes, std::string_view method = "GET", bool eof = false,
                     ResponseLimits limits = {}) {
    Outcome o = parse(bytes, method, eof, limits);
    if (o.events.empty() || o.events.back().rfind("error ", 0) != 0)
        return "";
    std::string e = o.events.back().substr(6);
    return e.substr(0, e.find(':'));
}

} // namespace

TEST_CASE("a Content-Length body is delivered and the connection kept", "[upstream][response]") {
    Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhelloNEXT");
    CHECK(o.events == Lines{"head 200 length cl=5 keep-alive", "body hello", "done"});
    CHECK(o.keep_alive);
    CHECK(o.rest == "NEXT");

    ResponseParser p;
    p.feed("HTTP/1.1 404 Not  Found\r\ncontent-length: 0\r\nX-A:  b \r\n\r\n");
    CHECK(p.head().status == 404);
    CHECK(p.head().reason() == "Not  Found");
    REQUIRE(p.head().field_count() == 2);
    CHECK(p.head().field_name(0) == "content-length");
    CHECK(p.head().field_value(1) == "b");
    CHECK(p.head().field("x-a") == "b");
    CHECK(!p.head().field("x-b"));
    CHECK(p.feed("").event == Event::done);
}

TEST_CASE("an empty reason phrase is allowed, its SP is not optional", "[upstream][response]") {
    CHECK(parse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").events ==
          Lines{"head 200 length cl=0 keep-alive", "done"});
    CHECK(error_of("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == "invalid_head");
}

TEST_CASE("a chunked body is de-chunked; extensions and trailers are checked and dropped",
          "[upstream][response][chunked]") {
    Outcome o = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;name=value;q=\"a \\\" b\"\r\nhello\r\n"
                      "1A\r\n abcdefghijklmnopqrstuvwxy\r\n"
                      "0\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\nNEXT");
    CHECK(o.events ==
          Lines{"head 200 chunked keep-alive", "body hello abcdefghijklmnopqrstuvwxy", "done"});
    CHECK(o.rest == "NEXT");
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n").events ==
          Lines{"head 200 chunked keep-alive", "done"});
}

TEST_CASE("a body without a length runs to the connection's end", "[upstream][response]") {
    std::string bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes";
    CHECK(parse(bytes, "GET", true).events ==
          Lines{"head 200 close close", "body some bytes", "done"});
    // Without EOF it is not done, and never reusable.
    Outcome open = parse(bytes, "GET", false);
    CHECK(open.events == Lines{"head 200 close close", "body some bytes"});
    CHECK(parse("HTTP/1.0 200 OK\r\n\r\n", "GET", true).events ==
          Lines{"head 200 close close", "done"});
}

TEST_CASE("responses without a body by definition ignore their framing fields",
          "[upstream][response]") {
    SECTION("HEAD with Content-Length: the length is reported, no body read") {
        Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1", "HEAD");
        CHECK(o.events == Lines{"head 200 none cl=5 keep-alive", "done"});
        CHECK(o.rest == "HTTP/1.1");
        CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").events ==
              Lines{"head 200 none keep-alive", "done"});
    }
    SECTION("304 with Content-Length (llhttp 8.1 alone would read 5 bytes of body)") {
        Outcome o = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello");
        CHECK(o.events == Lines{"head 304 none cl=5 keep-alive", "done"});
        CHECK(o.rest == "hello");
    }
    SECTION("204 with Content-Length or chunked") {
        CHECK(parse("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n").events ==
              Lines{"head 204 none cl=3 keep-alive", "done"});
        CHECK(parse("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n").events ==
              Lines{"head 204 none keep-alive", "done"});
    }
}

TEST_CASE("interim responses are reported and the final one follows",
          "[upstream][response][interim]") {
    Outcome o = parse("HTTP/1.1 100 Continue\r\n\r\n"
                      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                      "HTTP/1.1 102 Processing\r\nContent-Length: 4\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    CHECK(o.events == Lines{"interim 100", "interim 103", "interim 102",
                            "head 200 length cl=2 keep-alive", "body ok", "done"});

    ResponseParser p;
    auto s = p.feed("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");
    REQUIRE(s.event == Event::interim);
    CHECK(p.head().field("link") == "</a.css>");
}

TEST_CASE("101 and a 2xx to CONNECT end parsing: the rest is the tunnel's",
          "[upstream][response][upgrade]") {
    Outcome o = parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n\x81\x05hello");
    CHECK(o.events == Lines{"upgrade 101"});
    CHECK(o.rest == "\x81\x05hello");
    CHECK(parse("HTTP/1.1 101 Switching Protocols\r\n\r\nraw").rest == "raw");
    o = parse("HTTP/1.1 200 Connection established\r\n\r\nTLS", "CONNECT");
    CHECK(o.events == Lines{"upgrade 200"});
    CHECK(o.rest == "TLS");
    CHECK(parse("HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nx", "CONNECT").events ==
          Lines{"head 407 length cl=1 keep-alive", "body x", "done"});
}

TEST_CASE("whether the connection can carry another exchange", "[upstream][response]") {
    auto keep = [](const std::string &head) {
        Outcome o = parse(head + "Content-Length: 0\r\n\r\n");
        REQUIRE(o.events.back() == "done");
        return o.keep_alive;
    };
    CHECK(keep("HTTP/1.1 200 OK\r\n"));
    CHECK(!keep("HTTP/1.1 200 OK\r\nConnection: close\r\n"));
    CHECK(!keep("HTTP/1.1 200 OK\r\nConnection: x,\tclose\r\n"));
    CHECK(!keep("HTTP/1.0 200 OK\r\n"));
    CHECK(keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"));
    CHECK(!keep("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n"));
}

TEST_CASE("one parser reads a connection's responses one after another after reset",
          "[upstream][response]") {
    std::string two = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree";
    for (size_t step : {size_t(0), size_t(1), size_t(7)}) {
        ResponseParser p;
        std::vector<std::string> methods = {"GET", "HEAD", "GET"};
        std::string rest = two;
        Lines all;
        for (const std::string &m : methods) {
            p.reset(m);
            Outcome o = drive(p, rest, step, false);
            all.insert(all.end(), o.events.begin(), o.events.end());
            rest = o.rest;
        }
        // The HEAD's response is the chunked one's head: its body is then read as a response.
        CHECK(all[0] == "head 200 length cl=3 keep-alive");
        CHECK(all[1] == "body one");
        CHECK(all[3] == "head 200 none keep-alive");
        CHECK(all[5].rfind("error invalid_head", 0) == 0); // "3\r\ntwo..." is no status line
    }
    ResponseParser p;
    p.reset("GET");
    Outcome first = drive(p, two, 1, false);
    p.reset("GET");
    Outcome second = drive(p, first.rest, 1, false);
    p.reset("GET");
    Outcome third = drive(p, second.rest, 1, true);
    CHECK(second.events == Lines{"head 200 chunked keep-alive", "body two", "done"});
    CHECK(third.events == Lines{"head 200 length cl=5 keep-alive", "body three", "done"});
}

TEST_CASE("a body piece is a view into the fed bytes; unconsumed bytes are fed again",
          "[upstream][response][backpressure]") {
    ResponseParser p;
    std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234";
    auto s = p.feed(buf);
    REQUIRE(s.event == Event::head);
    buf.erase(0, s.used);
    // The client stops here (its window is full) and reads more later: nothing is lost.
    buf += "56789";
    s = p.feed(buf);
    REQUIRE(s.event == Event::body);
    CHECK(s.body.data() == buf.data());
    CHECK(s.body == "0123456789");
    CHECK(p.feed(std::string_view(buf).substr(s.used)).event == Event::done);
}

TEST_CASE("ambiguous or foreign body framing is refused", "[upstream][response][smuggling]") {
    auto head = [](const std::string &fields) { return "HTTP/1.1 200 OK\r\n" + fields + "\r\n"; };
    CHECK(error_of(head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) ==
          "invalid_framing");
    CHECK(error_of(head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) ==
          "invalid_framing");
    CHECK(error_of(head("Content-Length: 5\r\nContent-Length: 6\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: 5\r\nContent-Length: 5\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: 5, 5\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: 5,6\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: +5\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: 0x5\r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: \r\n")) == "invalid_framing");
    CHECK(error_of(head("Content-Length: 18446744073709551616\r\n")) == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: gzip\r\n")) == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: gzip, chunked\r\n")) == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: chunked, chunked\r\n")) == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: \r\n")) == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
          "invalid_framing");
    CHECK(error_of("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == "invalid_framing");
    // Refused on a response without a body too: the upstream's framing is not to be trusted.
    CHECK(error_of("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 5\r\n\r\n") == "invalid_framing");
    CHECK(error_of(head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), "HEAD") ==
          "invalid_framing");
    // The largest length is fine.
    CHECK(parse(head("Content-Length: 18446744073709551615\r\n")).events ==
          Lines{"head 200 length cl=18446744073709551615 keep-alive"});
}

TEST_CASE("status lines other than HTTP/1.x SP 3DIGIT SP reason are refused",
          "[upstream][response]") {
    for (const std::string &line : std::vector<std::string>{
             "HTTP/1.1  200 OK", "http/1.1 200 OK", "HTTP/2.0 200 OK", "HTTP/1.2 200 OK",
             "HTTP/1.1 600 Nope", "HTTP/1.1 099 Nope", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK",
             "HTTP/1.1 200OK", "HTTP/1.1 20x OK", " HTTP/1.1 200 OK", "\r\nHTTP/1.1 200 OK",
             "HTTP/1.1 200 O\x01K", "HTTP/1.1 200 O\rK", "HTTP/1.1 200 OK\n", "ICY 200 OK"}) {
        INFO(line);
        CHECK(error_of(line + "\r\nContent-Length: 0\r\n\r\n") == "invalid_head");
    }
    // A reason phrase may hold HTAB, SP (even first) and obs-text.
    CHECK(parse("HTTP/1.1 200  OK\r\nContent-Length: 0\r\n\r\n").events.front() ==
          "head 200 length cl=0 keep-alive");
    CHECK(parse("HTTP/1.1 200 \tOK\x80\r\nContent-Length: 0\r\n\r\n").events.front() ==
          "head 200 length cl=0 keep-alive");
    CHECK(parse("HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n").events.front() ==
          "head 599 length cl=0 keep-alive");
}

TEST_CASE("field lines outside RFC 9112's grammar are refused", "[upstream][response]") {
    auto with = [](const std::string &lines) {
        return error_of("HTTP/1.1 200 OK\r\n" + lines + "Content-Length: 0\r\n\r\n");
    };
    CHECK(with("X-A: a\r\n b\r\n") == "invalid_head"); // obs-fold
    CHECK(with(" X-A: a\r\n") == "invalid_head");      // whitespace before the first
    CHECK(with("X-A : a\r\n") == "invalid_head");      // whitespace before the colon
    CHECK(with("X-A\t: a\r\n") == "invalid_head");
    CHECK(with("X(A): a\r\n") == "invalid_head");        // name not a token
    CHECK(with(": a\r\n") == "invalid_head");            // empty name
    CHECK(with("X-A a\r\n") == "invalid_head");          // no colon
    CHECK(with("X-A: a\rb\r\n") == "invalid_head");      // bare CR
    CHECK(with("X-A: a\nX-B: b\r\n") == "invalid_head"); // bare LF
    CHECK(with("X-A: a\0b\r\n"s) == "invalid_head");     // NUL
    CHECK(with("X-A: a\x7f\r\n") == "invalid_head");     // DEL
    CHECK(error_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n") == "invalid_head");
    CHECK(error_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\r") == "invalid_head");
    CHECK(with("X-A: \tvalue with\ttab and \x80\xff obs-text\r\n") == "");
}

TEST_CASE("chunked framing errors are refused", "[upstream][response][chunked]") {
    auto chunked = [](const std::string &body) {
        return error_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    };
    CHECK(chunked("11111111111111111\r\n") == "invalid_body"); // over 64 bits of size
    CHECK(chunked("00000000000000005\r\n") == "invalid_body"); // 17 digits, small or not
    CHECK(chunked("ffffffffffffffff\r\nabc") == "");           // 16 digits: waits for data
    CHECK(chunked("g\r\n") == "invalid_body");
    CHECK(chunked("-1\r\n") == "invalid_body");
    CHECK(chunked("\r\n") == "invalid_body");
    CHECK(chunked("5\r\nhelloXX0\r\n\r\n") == "invalid_body"); // data not followed by CRLF
    CHECK(chunked("5\nhello\r\n") == "invalid_body");          // bare LF
    CHECK(chunked("5\rhello\r\n") == "invalid_body");          // bare CR
    CHECK(chunked("5;=x\r\nhello\r\n") == "invalid_body");     // extension without a name
    CHECK(chunked("5 \r\nhello\r\n") == "invalid_body");       // whitespace before CRLF
    CHECK(chunked("5;a=\"\x01\"\r\nhello\r\n") == "invalid_body");
    CHECK(chunked("5;" + std::string(5000, 'a') + "\r\n") == "invalid_body");
    CHECK(chunked("0\r\nX: a\rb\r\n\r\n") == "invalid_body"); // a bare CR in a trailer
    CHECK(chunked("0\r\n bad: fold\r\n\r\n") == "invalid_body");
    CHECK(chunked("0\r\n\r\r") == "invalid_body");
}

TEST_CASE("EOF says whether the response was complete", "[upstream][response][eof]") {
    CHECK(error_of("", "GET", true) == "no_response");
    CHECK(error_of("HTTP/1.1 200 OK\r\nContent-Le", "GET", true) == "truncated");
    CHECK(error_of("HTTP/1.1 100 Continue\r\n\r\n", "GET", true) == "truncated");
    CHECK(error_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell", "GET", true) == "truncated");
    CHECK(error_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", true) == "truncated");
    CHECK(error_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "GET",
                   true) == "truncated");
    CHECK(error_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "GET", true) ==
          "truncated");
    Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET", true);
    CHECK(o.events.back() == "done");
    o = parse("HTTP/1.1 204 No Content\r\n\r\n", "GET", true);
    CHECK(o.events.back() == "done");
}

TEST_CASE("the head and field limits the caller sets are held", "[upstream][response][limits]") {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: b\r\n\r\n";
    ResponseLimits limits;
    limits.max_head_bytes = head.size();
    CHECK(error_of(head, "GET", false, limits) == "");
    limits.max_head_bytes = head.size() - 1;
    CHECK(error_of(head, "GET", false, limits) == "head_too_large");
    // Interim heads count too: an upstream cannot hold an exchange with endless 1xx.
    limits.max_head_bytes = head.size() + 10;
    CHECK(error_of("HTTP/1.1 100 Continue\r\n\r\n" + head, "GET", false, limits) ==
          "head_too_large");
    // A head over the limit is refused before an error later in it.
    limits.max_head_bytes = 20;
    CHECK(error_of("HTTP/1.1 200 OK\r\nX-A: b\r\nX B: c\r\n\r\n", "GET", false, limits) ==
          "head_too_large");

    limits = {};
    limits.max_fields = 2;
    CHECK(error_of(head, "GET", false, limits) == "");
    CHECK(error_of("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "GET", false, limits) ==
          "too_many_fields");
    // Trailers are not head fields: not counted.
    CHECK(error_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n"
                   "C: 3\r\n\r\n",
                   "GET", false, limits) == "");
}

TEST_CASE("a Content-Length is one decimal number", "[upstream][response]") {
    using dialtone::http::parse_content_length;
    CHECK(parse_content_length("0") == 0u);
    CHECK(parse_content_length("0012") == 12u);
    CHECK(parse_content_length("18446744073709551615") == UINT64_MAX);
    CHECK(!parse_content_length("18446744073709551616"));
    CHECK(!parse_content_length(""));
    CHECK(!parse_content_length("1 2"));
    CHECK(!parse_content_length("-1"));
}
