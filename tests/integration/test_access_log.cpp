// The access log: one Combined Log Format line per response, flushed within about a second
// and at exit; off when the config has no access_log.
#include "test_support.hpp"

#include <algorithm>

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

constexpr std::string_view site = R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "@WWW@"
)";

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    for (std::size_t end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1)
        lines.push_back(text.substr(pos, end - pos));
    return lines;
}

std::size_t line_count(const std::string &text) { return lines_of(text).size(); }

// "[26/Nov/2026:04:50:00 +0000]"
constexpr const char *clf_time = R"(\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\])";

} // namespace

TEST_CASE("each response gets one Combined Log Format line", "[integration][access_log]") {
    HostProcess host(config("access_log = \"access.log\"\n", site));
    CurlResult page = curl({"-A", "dialtone-it/1.0", "-e", "http://referrer.test/page",
                            url(host.port(), "/index.html")});
    REQUIRE(page.status() == 200);
    CurlResult missing = curl({"-A", "dialtone-it/2.0", url(host.port(), "/missing")});
    REQUIRE(missing.status() == 404);

    std::string log = wait_for_file(
        host.dir() / "access.log", [](const std::string &text) { return line_count(text) >= 2; },
        3s);
    INFO("access.log:\n" << log);
    auto lines = lines_of(log);
    REQUIRE(lines.size() == 2);
    // Two connections may land on two workers, which buffer their lines separately: the
    // order between connections is not promised, so each line is looked for.
    std::string size = std::to_string(read_file(fixture_www_dir() / "index.html").size());
    std::string prefix = std::string(R"(^127\.0\.0\.1 - - )") + clf_time;
    auto logged = [&](const std::string &pattern) {
        return std::count_if(lines.begin(), lines.end(),
                             [&](const std::string &line) { return matches(line, pattern); });
    };
    CHECK(logged(prefix + R"( "GET /index\.html HTTP/1\.1" 200 )" + size +
                 R"( "http://referrer\.test/page" "dialtone-it/1\.0"$)") == 1);
    CHECK(logged(prefix + R"( "GET /missing HTTP/1\.1" 404 \d+ "-" "dialtone-it/2\.0"$)") == 1);
}

TEST_CASE("pipelined requests on one connection are logged one line each in order",
          "[integration][access_log]") {
    HostProcess host(config("access_log = \"access.log\"\n", site));
    RawClient client(host.port());
    REQUIRE(client.send(get("/index.html") + get("/style.css") + get("/pixel.png")));
    for (int i = 0; i < 3; i++)
        REQUIRE(client.read_response());
    std::string log = wait_for_file(
        host.dir() / "access.log", [](const std::string &text) { return line_count(text) >= 3; },
        3s);
    INFO("access.log:\n" << log);
    auto lines = lines_of(log);
    REQUIRE(lines.size() == 3);
    CHECK_THAT(lines[0], Contains("\"GET /index.html HTTP/1.1\" 200"));
    CHECK_THAT(lines[1], Contains("\"GET /style.css HTTP/1.1\" 200"));
    CHECK_THAT(lines[2], Contains("\"GET /pixel.png HTTP/1.1\" 200"));
}

TEST_CASE("the access log is flushed when the host stops", "[integration][access_log]") {
    HostProcess host(config("access_log = \"access.log\"\n", site));
    auto response = fetch(host.port(), get("/file4k.txt"));
    REQUIRE(response);
    CHECK(host.stop() == 0);
    CHECK_THAT(read_file(host.dir() / "access.log"),
               Contains("\"GET /file4k.txt HTTP/1.1\" 200 4096"));
}

TEST_CASE("without access_log no access log is written", "[integration][access_log]") {
    HostProcess host(config("", site));
    REQUIRE(fetch(host.port(), get("/index.html")));
    CHECK(host.stop() == 0);
    for (const auto &entry : fs::directory_iterator(host.dir())) {
        INFO(entry.path());
        CHECK(entry.path().extension() != ".log");
    }
}
