// ResponseReader (bench/http_response.hpp): the framing the load clients trust to count body
// bytes and to say when a response is complete. Every case is also fed split at every byte, as
// a socket may deliver it.
#include "http_response.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

using dialtone::bench::ResponseReader;
using State = ResponseReader::State;
using Error = ResponseReader::Error;

namespace {

struct Fed {
    uint64_t body = 0;
    State state = State::head;
    Error error = Error::none;
    int status = 0;
};

// What `r` says after the peer's close when `close` is set; `body` is what feed() returned.
Fed outcome(ResponseReader &r, uint64_t body, bool close) {
    if (close)
        r.eof();
    return {body, r.state(), r.error(), r.status()};
}

// Feeds `bytes` in two parts split at `split`, then the peer's close when `close` is set.
Fed feed_split(const std::string &bytes, size_t split, bool close = false) {
    ResponseReader r;
    uint64_t body = r.feed(bytes.data(), split);
    body += r.feed(bytes.data() + split, bytes.size() - split);
    return outcome(r, body, close);
}

// Feeds `bytes` one byte at a time.
Fed feed_bytewise(const std::string &bytes, bool close = false) {
    ResponseReader r;
    uint64_t body = 0;
    for (char ch : bytes)
        body += r.feed(&ch, 1);
    return outcome(r, body, close);
}

// Checks that every split of `bytes`, and feeding it byte by byte, ends as `want` says.
void check_every_split(const std::string &bytes, const Fed &want, bool close = false) {
    for (size_t split = 0; split <= bytes.size(); ++split) {
        INFO("split at byte " << split);
        Fed got = feed_split(bytes, split, close);
        CHECK(got.body == want.body);
        CHECK(got.state == want.state);
        CHECK(got.error == want.error);
        CHECK(got.status == want.status);
    }
    Fed got = feed_bytewise(bytes, close);
    CHECK(got.body == want.body);
    CHECK(got.state == want.state);
    CHECK(got.error == want.error);
}

const std::string kHead = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 11\r\n\r\n";

} // namespace

TEST_CASE("a Content-Length response is complete after its last body byte, however it is split",
          "[bench][response]") {
    check_every_split(kHead + "hello world", {11, State::complete, Error::none, 200});

    SECTION("an empty body completes with the head") {
        check_every_split("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
                          {0, State::complete, Error::none, 204});
    }
    SECTION("the length still due is known while the body arrives") {
        ResponseReader r;
        std::string head_and_some = kHead + "hel";
        CHECK(r.known_remaining() == UINT64_MAX);
        CHECK(r.feed(head_and_some.data(), head_and_some.size()) == 3);
        CHECK(r.state() == State::body);
        CHECK(r.known_remaining() == 8);
    }
}

TEST_CASE("a partial response fails as truncated when the connection closes", "[bench][response]") {
    SECTION("in the head") {
        check_every_split("HTTP/1.1 200 OK\r\nContent-Le", {0, State::failed, Error::truncated, 0},
                          true);
    }
    SECTION("in a Content-Length body") {
        check_every_split(kHead + "hello", {5, State::failed, Error::truncated, 200}, true);
    }
    SECTION("in a chunked body") {
        check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                          {5, State::failed, Error::truncated, 200}, true);
    }
    SECTION("without the close it is still being read") {
        check_every_split(kHead + "hello", {5, State::body, Error::none, 200});
    }
}

TEST_CASE("a chunked response counts only the chunks' data and ends after the trailers",
          "[bench][response]") {
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
    check_every_split(head + "5\r\nhello\r\nA;name=value\r\n0123456789\r\n0\r\n\r\n",
                      {15, State::complete, Error::none, 200});

    SECTION("trailer fields are skipped") {
        check_every_split(head + "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n",
                          {3, State::complete, Error::none, 200});
    }
    SECTION("chunked wins over Content-Length") {
        check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                          {2, State::complete, Error::none, 200});
    }
    SECTION("a bad chunk size is malformed") {
        Fed got = feed_bytewise(head + "5x\r\nhello\r\n0\r\n\r\n");
        CHECK(got.state == State::failed);
        CHECK(got.error == Error::malformed);
    }
    SECTION("a chunk without its CRLF is malformed") {
        Fed got = feed_bytewise(head + "5\r\nhelloXX0\r\n\r\n");
        CHECK(got.state == State::failed);
        CHECK(got.error == Error::malformed);
    }
}

TEST_CASE("a response without a length ends with the connection", "[bench][response]") {
    std::string bytes = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close";
    check_every_split(bytes, {15, State::body, Error::none, 200});
    check_every_split(bytes, {15, State::complete, Error::none, 200}, true);
    SECTION("with an empty body") {
        check_every_split("HTTP/1.1 200 OK\r\n\r\n", {0, State::complete, Error::none, 200}, true);
    }
}

TEST_CASE("a response says whether the connection carries another request", "[bench][response]") {
    auto closes = [](const std::string &bytes) {
        ResponseReader r;
        r.feed(bytes.data(), bytes.size());
        return r.closes_connection();
    };
    CHECK_FALSE(closes(kHead));
    CHECK(closes("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
    CHECK(closes("HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n"));
    CHECK(closes("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    CHECK_FALSE(closes("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
    CHECK(closes("HTTP/1.1 200 OK\r\n\r\nuntil the close"));
    SECTION("not before the head is read") { CHECK_FALSE(closes("HTTP/1.1 200 OK\r\nConn")); }
}

TEST_CASE("bytes past the end of a response are malformed", "[bench][response]") {
    SECTION("past Content-Length") {
        Fed got = feed_split(kHead + "hello world!", 0);
        CHECK(got.body == 11);
        CHECK(got.state == State::failed);
        CHECK(got.error == Error::malformed);
    }
    SECTION("in a later read") {
        check_every_split(kHead + "hello world" + "HTTP",
                          {11, State::failed, Error::malformed, 200});
    }
    SECTION("past the last chunk") {
        Fed got = feed_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 0);
        CHECK(got.state == State::failed);
        CHECK(got.error == Error::malformed);
    }
}

TEST_CASE("a bad head is malformed", "[bench][response]") {
    auto malformed = [](const std::string &bytes) {
        Fed got = feed_bytewise(bytes);
        CHECK(got.state == State::failed);
        CHECK(got.error == Error::malformed);
        CHECK(got.body == 0);
    };
    malformed("HTTP/2.0 200 OK\r\n\r\n");
    malformed("HTTP/1.1 2x0 OK\r\n\r\n");
    malformed("HTTP/1.1 200 OK\r\nno colon\r\n\r\n");
    malformed("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n");
    malformed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");

    SECTION("a head over the limit fails before its end arrives") {
        ResponseReader r(64);
        std::string head = "HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'a');
        r.feed(head.data(), head.size());
        CHECK(r.state() == State::failed);
        CHECK(r.error() == Error::malformed);
    }
}
