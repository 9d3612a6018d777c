#include "access_log.hpp"

#include "dialtone/server.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

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

std::string contents(const std::filesystem::path &p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A directory of its own under TMPDIR, removed with everything in it at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "dt-access-log-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()));
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

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

TEST_CASE("a reopened access log keeps its descriptor number and appends to the new file",
          "[access_log][file]") {
    TempDir dir;
    dialtone::AccessLogFile file;
    CHECK(file.fd() < 0);
    file.open((dir.path / "a.log").string());
    int fd = file.fd();
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "one\n", 4) == 4);
    file.open((dir.path / "b.log").string()); // open already: kept
    CHECK(file.fd() == fd);
    std::filesystem::rename(dir.path / "a.log", dir.path / "a.log.1"); // rotation
    file.reopen((dir.path / "a.log").string());
    CHECK(file.fd() == fd);
    REQUIRE(::write(fd, "two\n", 4) == 4);
    CHECK(contents(dir.path / "a.log.1") == "one\n");
    CHECK(contents(dir.path / "a.log") == "two\n");
    CHECK_FALSE(std::filesystem::exists(dir.path / "b.log"));
}

TEST_CASE("an access log that cannot be opened is a StartError and the open file stays",
          "[access_log][file]") {
    TempDir dir;
    dialtone::AccessLogFile file;
    CHECK_THROWS_AS(file.open((dir.path / "missing" / "a.log").string()), dialtone::StartError);
    CHECK(file.fd() < 0);
    file.open((dir.path / "a.log").string());
    int fd = file.fd();
    CHECK_THROWS_WITH(file.reopen((dir.path / "missing" / "a.log").string()),
                      Catch::Contains("server.access_log: cannot open"));
    CHECK(file.fd() == fd);
    REQUIRE(::write(fd, "still\n", 6) == 6);
    CHECK(contents(dir.path / "a.log") == "still\n");
}
