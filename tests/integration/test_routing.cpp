// Location routing: longest prefix on path-segment boundaries of the decoded, normalised path;
// declined requests fall to the next shorter prefix, finally 404; no climbing above "/".
#include "test_support.hpp"

using namespace dialtone::test;

namespace {

constexpr std::string_view locations = R"(
[[location]]
prefix = "/"
handler = "echo"
[location.echo]
label = "root"

[[location]]
prefix = "/api"
handler = "echo"
[location.echo]
label = "api"

[[location]]
prefix = "/api/v1"
handler = "fixed_status"
[location.fixed_status]
status = 201

[[location]]
prefix = "/api/deep"
handler = "decline"

[[location]]
prefix = "/api/deep/er"
handler = "decline"

[[location]]
prefix = "/mysite/"
handler = "echo"
[location.echo]
label = "mysite"
)";

// Fetches `target` and returns the echo fields (empty when the answer was not 200).
std::map<std::string, std::string> echo_of(std::uint16_t port, const std::string &target) {
    auto response = fetch(port, get(target));
    if (!response || response->status != 200)
        return {};
    return parse_echo(response->body);
}

int status_of(std::uint16_t port, const std::string &target) {
    auto response = fetch(port, get(target));
    return response ? response->status : 0;
}

} // namespace

TEST_CASE("the longest matching prefix wins and its prefix is stripped from path_info",
          "[integration][routing]") {
    HostProcess host(config("", locations));
    CHECK(status_of(host.port(), "/api/v1/users") == 201);
    CHECK(status_of(host.port(), "/api/v1") == 201);

    auto api = echo_of(host.port(), "/api/v2/users");
    CHECK(api["label"] == "api");
    CHECK(api["path"] == "/api/v2/users");
    CHECK(api["path_info"] == "/v2/users");

    auto exact = echo_of(host.port(), "/api");
    CHECK(exact["label"] == "api");
    CHECK(exact["path_info"] == "/");

    auto root = echo_of(host.port(), "/elsewhere/x");
    CHECK(root["label"] == "root");
    CHECK(root["path_info"] == "/elsewhere/x");
}

TEST_CASE("a prefix matches only on path-segment boundaries", "[integration][routing]") {
    HostProcess host(config("", locations));
    auto apix = echo_of(host.port(), "/apix");
    CHECK(apix["label"] == "root");
    CHECK(apix["path_info"] == "/apix");

    auto v1x = echo_of(host.port(), "/api/v1x");
    CHECK(v1x["label"] == "api");
    CHECK(v1x["path_info"] == "/v1x");
}

TEST_CASE("a prefix with a trailing slash is stripped to a path_info starting with /",
          "[integration][routing]") {
    HostProcess host(config("", locations));
    auto site = echo_of(host.port(), "/mysite/a.html");
    CHECK(site["label"] == "mysite");
    CHECK(site["path_info"] == "/a.html");
}

TEST_CASE("a declining handler falls through to the next shorter matching prefix",
          "[integration][routing]") {
    HostProcess host(config("", locations));
    auto once = echo_of(host.port(), "/api/deep/x");
    CHECK(once["label"] == "api");
    CHECK(once["path_info"] == "/deep/x");

    auto twice = echo_of(host.port(), "/api/deep/er/x");
    CHECK(twice["label"] == "api");
    CHECK(twice["path_info"] == "/deep/er/x");
}

TEST_CASE("a request every matching handler declines gets 404", "[integration][routing]") {
    HostProcess host(config("", R"(
[[location]]
prefix = "/only"
handler = "decline"

[[location]]
prefix = "/only/inner"
handler = "decline"
)"));
    CHECK(status_of(host.port(), "/only/inner/x") == 404);
    CHECK(status_of(host.port(), "/only") == 404);
    CHECK(status_of(host.port(), "/no/location/at/all") == 404);
}

TEST_CASE("the path is decoded and normalised before matching", "[integration][routing]") {
    HostProcess host(config("", locations));
    SECTION("dot segments") {
        auto echo = echo_of(host.port(), "/x/../api/./v2");
        CHECK(echo["label"] == "api");
        CHECK(echo["path"] == "/api/v2");
        CHECK(echo["target"] == "/x/../api/./v2");
    }
    SECTION("repeated slashes") {
        auto echo = echo_of(host.port(), "//api//v2");
        CHECK(echo["label"] == "api");
        CHECK(echo["path"] == "/api/v2");
    }
    SECTION("percent-encoded letters") {
        auto echo = echo_of(host.port(), "/%61pi/v2");
        CHECK(echo["label"] == "api");
        CHECK(echo["path"] == "/api/v2");
    }
    SECTION("a percent-encoded space") {
        auto echo = echo_of(host.port(), "/api/a%20b");
        CHECK(echo["path"] == "/api/a b");
        CHECK(echo["path_info"] == "/a b");
        CHECK(echo["target"] == "/api/a%20b");
    }
    SECTION("an encoded dot segment that stays below the root") {
        auto echo = echo_of(host.port(), "/api/x/%2e%2e/v2");
        CHECK(echo["label"] == "api");
        CHECK(echo["path"] == "/api/v2");
    }
    SECTION("the query is not part of the path") {
        CHECK(status_of(host.port(), "/api/v1?next=/../../x") == 201);
    }
}

TEST_CASE("a path that climbs above the root gets 400", "[integration][routing][security]") {
    HostProcess host(config("", locations));
    for (const char *target :
         {"/..", "/../etc/passwd", "/a/../../etc/passwd", "/./../x", "/%2e%2e/etc/passwd",
          "/%2E%2e/etc/passwd", "/api/%2e%2e/%2e%2e/etc/passwd", "/.%2e/x"}) {
        INFO(target);
        CHECK(status_of(host.port(), target) == 400);
    }
}

TEST_CASE("a NUL byte in the path gets 400", "[integration][routing][security]") {
    HostProcess host(config("", locations));
    CHECK(status_of(host.port(), "/a%00b") == 400);
    CHECK(status_of(host.port(), "/api/%00") == 400);
}
