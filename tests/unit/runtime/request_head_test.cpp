#include "request_head.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace dialtone::http;

namespace {

constexpr uint64_t kMaxBody = 1000;

// A parsed head as llhttp would report it: the target and fields laid out in one buffer.
struct Head {
    std::string method = "GET";
    std::string target = "/";
    int major = 1, minor = 1;
    bool chunked = false;
    bool has_length = false;
    uint64_t length = 0;
    std::vector<std::pair<std::string, std::string>> fields{{"Host", "example.com"}};

    HeadVerdict check() const {
        std::string buf = target;
        std::vector<HeaderRef> refs;
        for (const auto &[name, value] : fields) {
            auto name_off = static_cast<uint32_t>(buf.size());
            buf += name;
            auto value_off = static_cast<uint32_t>(buf.size());
            buf += value;
            refs.push_back({name_off, static_cast<uint32_t>(name.size()), value_off,
                            static_cast<uint32_t>(value.size())});
        }
        trim_field_values(buf, refs);
        ParsedHead p{method, major, minor, chunked, has_length, length, buf, target, refs};
        return check_request_head(p, kMaxBody);
    }
    int status() const { return check().status; }
};

Head with(std::vector<std::pair<std::string, std::string>> fields) {
    Head h;
    h.fields = std::move(fields);
    return h;
}

} // namespace

TEST_CASE("a plain GET passes with its path decoded and normalised", "[http][request_head]") {
    Head h;
    h.target = "/a/./b/../c%20d?x=1";
    HeadVerdict v = h.check();
    CHECK(v.status == 0);
    CHECK(v.path == "/a/c d");
    CHECK_FALSE(v.close);
    CHECK_FALSE(v.expect_continue);
}

TEST_CASE("an HTTP major version other than 1 gets 505", "[http][request_head]") {
    Head h;
    h.major = 2;
    h.minor = 0;
    CHECK(h.status() == 505);
}

TEST_CASE("HTTP/1.1 needs exactly one valid Host; HTTP/1.0 at most one",
          "[http][request_head][host]") {
    CHECK(with({}).status() == 400);
    CHECK(with({{"Host", "a"}, {"host", "a"}}).status() == 400);
    CHECK(with({{"Host", "a b"}}).status() == 400);
    Head old = with({});
    old.minor = 0;
    CHECK(old.status() == 0);
    old.fields = {{"Host", "a"}, {"Host", "b"}};
    CHECK(old.status() == 400);
}

TEST_CASE("a field value holding a line break (obs-fold) gets 400", "[http][request_head]") {
    CHECK(with({{"Host", "a"}, {"X-A", "b\r\n c"}}).status() == 400);
}

TEST_CASE("trailing whitespace is not part of a field value", "[http][request_head]") {
    CHECK(with({{"Host", "example.com \t"}}).status() == 0);
    CHECK(with({{"Host", "a"}, {"Expect", "100-continue  "}}).check().expect_continue);
}

TEST_CASE("CONNECT gets 501", "[http][request_head]") {
    Head h;
    h.method = "CONNECT";
    h.target = "example.com:443";
    CHECK(h.status() == 501);
}

TEST_CASE("a target outside RFC 9112's grammar gets 400", "[http][request_head][target]") {
    for (const char *target : {"/a#b", "/a b", "/\x01", "a", "/%zz"}) {
        Head h;
        h.target = target;
        CAPTURE(target);
        CHECK(h.status() == 400);
    }
}

TEST_CASE("an absolute-form target must name the Host's authority",
          "[http][request_head][target]") {
    Head h;
    h.target = "http://Example.com/x";
    HeadVerdict v = h.check();
    CHECK(v.status == 0);
    CHECK(v.path == "/x");
    h.target = "http://example.com";
    CHECK(h.check().path == "/");
    h.target = "http://other.example/x";
    CHECK(h.status() == 400);
    SECTION("HTTP/1.0 without Host takes the target's authority") {
        h.minor = 0;
        h.fields = {};
        CHECK(h.status() == 0);
    }
}

TEST_CASE("Transfer-Encoding must end in chunked and be only chunked, in HTTP/1.1",
          "[http][request_head][framing]") {
    Head h = with({{"Host", "a"}, {"Transfer-Encoding", "chunked"}});
    h.chunked = true;
    CHECK(h.status() == 0);
    SECTION("not chunked last: no reliable length") {
        h.fields[1].second = "gzip";
        h.chunked = false;
        CHECK(h.status() == 400);
    }
    SECTION("empty") {
        h.fields[1].second = "";
        h.chunked = false;
        CHECK(h.status() == 400);
    }
    SECTION("another coding before chunked") {
        h.fields[1].second = "gzip, chunked";
        CHECK(h.status() == 501);
    }
    SECTION("in HTTP/1.0") {
        h.minor = 0;
        CHECK(h.status() == 400);
    }
    SECTION("on two field lines") {
        h.fields.insert(h.fields.begin() + 1, {"Transfer-Encoding", "gzip x"});
        CHECK(h.status() == 400);
    }
}

TEST_CASE("a declared body over the limit gets 413", "[http][request_head][limits]") {
    Head h;
    h.has_length = true;
    h.length = kMaxBody + 1;
    CHECK(h.status() == 413);
    h.length = kMaxBody;
    CHECK(h.status() == 0);
}

TEST_CASE("Expect other than 100-continue gets 417; 100-continue only counts in HTTP/1.1",
          "[http][request_head][expect]") {
    CHECK(with({{"Host", "a"}, {"Expect", "x"}}).status() == 417);
    Head h = with({{"Host", "a"}, {"Expect", "100-Continue"}});
    CHECK(h.check().expect_continue);
    h.minor = 0;
    CHECK_FALSE(h.check().expect_continue);
}

TEST_CASE("Connection: close is seen, also before a tab", "[http][request_head]") {
    CHECK(with({{"Host", "a"}, {"Connection", "close\t"}}).check().close);
    CHECK(with({{"Host", "a"}, {"Connection", "keep-alive, close"}}).check().close);
    CHECK_FALSE(with({{"Host", "a"}, {"Connection", "keep-alive"}}).check().close);
}

TEST_CASE("asterisk-form is for OPTIONS only", "[http][request_head][target]") {
    Head h;
    h.method = "OPTIONS";
    h.target = "*";
    HeadVerdict v = h.check();
    CHECK(v.status == 0);
    CHECK(v.path.empty());
    h.method = "GET";
    CHECK(h.status() == 400);
}
