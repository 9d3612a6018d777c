#include "http.hpp"

#include <catch2/catch.hpp>

using dialtone::http::normalize_path;

namespace {
std::string norm(std::string_view raw) {
    std::string out;
    int status = normalize_path(raw, out);
    return status == 0 ? out : "<" + std::to_string(status) + ">";
}
} // namespace

TEST_CASE("plain paths are kept as they are", "[http][path]") {
    CHECK(norm("/") == "/");
    CHECK(norm("/index.html") == "/index.html");
    CHECK(norm("/a/b/c.txt") == "/a/b/c.txt");
    CHECK(norm("/dir/") == "/dir/");
}

TEST_CASE("dot segments and repeated slashes are resolved", "[http][path]") {
    CHECK(norm("/a/./b") == "/a/b");
    CHECK(norm("/a/../b") == "/b");
    CHECK(norm("//a///b") == "/a/b");
    CHECK(norm("/a/b/..") == "/a/");
    CHECK(norm("/a/.") == "/a/");
    CHECK(norm("/a/b/../../c") == "/c");
    CHECK(norm("/a/..") == "/");
}

TEST_CASE("dot-dot can never climb above the root", "[http][path][security]") {
    CHECK(norm("/..") == "<400>");
    CHECK(norm("/../etc/passwd") == "<400>");
    CHECK(norm("/a/../../etc/passwd") == "<400>");
    CHECK(norm("/%2e%2e/etc/passwd") == "<400>");
    CHECK(norm("/a/%2E%2E/%2e%2e/x") == "<400>");
    CHECK(norm("/.%2e/x") == "<400>");
}

TEST_CASE("percent escapes are decoded", "[http][path]") {
    CHECK(norm("/a%20b") == "/a b");
    CHECK(norm("/%7Euser/") == "/~user/");
    CHECK(norm("/caf%C3%A9") == "/caf\xC3\xA9");
}

TEST_CASE("bad escapes, encoded slashes, NUL and invalid UTF-8 get 400", "[http][path][security]") {
    CHECK(norm("/a%2fb") == "<400>");
    CHECK(norm("/a%2Fb") == "<400>");
    CHECK(norm("/a%00b") == "<400>");
    CHECK(norm("/a%zz") == "<400>");
    CHECK(norm("/a%2") == "<400>");
    CHECK(norm("/a%") == "<400>");
    CHECK(norm(std::string_view("/a\0b", 4)) == "<400>");
    CHECK(norm("/%C3%28") == "<400>");       // bad continuation byte
    CHECK(norm("/%C0%AF") == "<400>");       // overlong '/'
    CHECK(norm("/%ED%A0%80") == "<400>");    // UTF-16 surrogate
    CHECK(norm("/%F4%90%80%80") == "<400>"); // past U+10FFFF
    CHECK(norm("relative") == "<400>");
    CHECK(norm("") == "<400>");
}

TEST_CASE("a request target splits into path and query", "[http][path]") {
    std::string_view path, query;
    bool has_query;
    dialtone::http::split_target("/a/b?x=1&y", path, query, has_query);
    CHECK(path == "/a/b");
    CHECK(query == "x=1&y");
    CHECK(has_query);
    dialtone::http::split_target("/a", path, query, has_query);
    CHECK(path == "/a");
    CHECK_FALSE(has_query);
}

TEST_CASE("location prefixes match on segment boundaries", "[http][routing]") {
    using dialtone::http::prefix_matches;
    CHECK(prefix_matches("/", "/anything"));
    CHECK(prefix_matches("/site", "/site"));
    CHECK(prefix_matches("/site", "/site/"));
    CHECK(prefix_matches("/site", "/site/a.html"));
    CHECK_FALSE(prefix_matches("/site", "/sitemap.xml"));
    CHECK(prefix_matches("/site/", "/site/a"));
    CHECK_FALSE(prefix_matches("/site/", "/site"));
    CHECK_FALSE(prefix_matches("/site", "/"));
}

TEST_CASE("header token lists are matched case-insensitively", "[http]") {
    using dialtone::http::has_token;
    CHECK(has_token("keep-alive, Upgrade", "upgrade"));
    CHECK(has_token("close", "Close"));
    CHECK_FALSE(has_token("closed", "close"));
    CHECK_FALSE(has_token("", "close"));
}

TEST_CASE("HTTP dates are IMF-fixdate", "[http][date]") {
    char buf[32];
    size_t n = dialtone::http::format_http_date(784111777, buf);
    CHECK(std::string(buf, n) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_CASE("every status the runtime renders has its reason phrase", "[http]") {
    using dialtone::http::reason_phrase;
    for (int s : {400, 404, 408, 413, 414, 417, 431, 500, 501, 503, 505})
        CHECK(reason_phrase(s) != "Unknown");
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(reason_phrase(299) == "Unknown");
}

TEST_CASE("Host values must be a host and an optional port", "[http][host]") {
    using dialtone::http::valid_host;
    CHECK(valid_host("example.com"));
    CHECK(valid_host("127.0.0.1:8080"));
    CHECK(valid_host("[::1]:80"));
    CHECK(valid_host(""));
    CHECK_FALSE(valid_host("exa mple.com"));
    CHECK_FALSE(valid_host("a\tb"));
    CHECK_FALSE(valid_host("a/b"));
    CHECK_FALSE(valid_host("a\"b"));
}

TEST_CASE("a Host port is digits up to 65535, possibly empty, after a non-empty host",
          "[http][host]") {
    using dialtone::http::valid_host;
    CHECK(valid_host("a:"));
    CHECK(valid_host("a:65535"));
    CHECK(valid_host("[::1]"));
    CHECK(valid_host("[::1]:8080"));
    CHECK(valid_host("[2001:db8::7]:"));
    CHECK(valid_host("[v1.fe80::a+en1]"));
    CHECK(valid_host("xn--caf-dma.example"));
    CHECK(valid_host("a%2Db.example"));
    CHECK_FALSE(valid_host("a:b"));
    CHECK_FALSE(valid_host("a:80:80"));
    CHECK_FALSE(valid_host("a:65536"));
    CHECK_FALSE(valid_host("a:000080"));
    CHECK_FALSE(valid_host(":80"));
    CHECK_FALSE(valid_host("::1"));
    CHECK_FALSE(valid_host("[::1"));
    CHECK_FALSE(valid_host("[::1]x"));
    CHECK_FALSE(valid_host("[not-an-address]"));
    CHECK_FALSE(valid_host("[fe80::1%25eth0]"));
    CHECK_FALSE(valid_host("user@a"));
    CHECK_FALSE(valid_host("a%zz"));
    CHECK_FALSE(valid_host("a%2"));
    CHECK_FALSE(valid_host("caf\xc3\xa9.example"));
}

TEST_CASE("request-targets follow RFC 9112 section 3.2", "[http][target]") {
    using dialtone::http::valid_target;
    SECTION("origin-form, absolute-form and asterisk-form are accepted") {
        CHECK(valid_target("/"));
        CHECK(valid_target("/a/b.txt?x=1&y=%20z"));
        CHECK(valid_target("/a:b@c/!$&'()*+,;=-._~?/?:@"));
        CHECK(valid_target("/hello%20world.txt"));
        CHECK(valid_target("http://example.com/x?q"));
        CHECK(valid_target("HTTPS://[::1]:8443/x"));
        CHECK(valid_target("http://example.com"));
        CHECK(valid_target("*"));
    }
    SECTION("a fragment and bytes outside the URI grammar are refused") {
        for (const char *target :
             {"/a#b", "/a#", "/a{b", "/a}b", "/a|b", "/a^b", "/a`b", "/a\"b", "/a<b", "/a>b",
              "/a\\b", "/a b", "/a\tb", "/a\x7f", "/caf\xc3\xa9", "/?q=\xff", "/?q#f", "/a[b]"})
            CHECK_FALSE(valid_target(target));
    }
    SECTION("'%' must begin an escape, in the query too") {
        CHECK_FALSE(valid_target("/a%zz"));
        CHECK_FALSE(valid_target("/a%2"));
        CHECK_FALSE(valid_target("/a?b=%"));
        CHECK_FALSE(valid_target("/a?b=%g0"));
    }
    SECTION("other forms are refused") {
        CHECK_FALSE(valid_target(""));
        CHECK_FALSE(valid_target("a/b"));
        CHECK_FALSE(valid_target("example.com:443"));
        CHECK_FALSE(valid_target("ftp://example.com/x"));
        CHECK_FALSE(valid_target("http:///x"));
        CHECK_FALSE(valid_target("http://user@example.com/x"));
        CHECK_FALSE(valid_target("http://example.com:x/"));
        CHECK_FALSE(valid_target("**"));
    }
}
