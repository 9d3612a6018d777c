#include "access_log.hpp"

#include <catch2/catch.hpp>

#include <string>

using dialtone::AccessLogEntry;

namespace {

std::string line(const AccessLogEntry &e) {
    std::string out;
    dialtone::append_access_log_line(out, e);
    return out;
}

AccessLogEntry entry() {
    AccessLogEntry e;
    e.remote = "192.0.2.7";
    e.time = "[26/Nov/2026:04:50:00 +0000]";
    e.method = "GET";
    e.target = "/a?b=c";
    e.status = 200;
    e.body_bytes = 1234;
    e.referer = "http://example.com/";
    e.user_agent = "curl/8.0";
    return e;
}

} // namespace

TEST_CASE("an access log line is in the Combined Log Format", "[access_log]") {
    CHECK(line(entry()) == "192.0.2.7 - - [26/Nov/2026:04:50:00 +0000] \"GET /a?b=c HTTP/1.1\" "
                           "200 1234 \"http://example.com/\" \"curl/8.0\"\n");
}

TEST_CASE("absent fields are logged as a dash", "[access_log]") {
    AccessLogEntry e = entry();
    e.http_version = 10;
    e.referer = {};
    e.user_agent = {};
    CHECK(line(e) == "192.0.2.7 - - [26/Nov/2026:04:50:00 +0000] \"GET /a?b=c HTTP/1.0\" 200 1234 "
                     "\"-\" \"-\"\n");
}

TEST_CASE("a request refused before its request line was parsed logs a dash as the request",
          "[access_log]") {
    AccessLogEntry e = entry();
    e.method = {};
    e.status = 400;
    e.body_bytes = 0;
    e.referer = {};
    e.user_agent = {};
    CHECK(line(e) == "192.0.2.7 - - [26/Nov/2026:04:50:00 +0000] \"-\" 400 0 \"-\" \"-\"\n");
}

TEST_CASE("quotes, backslashes and control bytes from the client are escaped so a line cannot "
          "be forged",
          "[access_log][escaping]") {
    AccessLogEntry e = entry();
    e.target = "/\"x\\";
    e.referer = "a\nb\tc";
    e.user_agent = "ua\x7f\xc3\xa9";
    CHECK(line(e) == "192.0.2.7 - - [26/Nov/2026:04:50:00 +0000] \"GET /\\x22x\\x5C HTTP/1.1\" "
                     "200 1234 \"a\\x0Ab\\x09c\" \"ua\\x7F\\xC3\\xA9\"\n");
}
