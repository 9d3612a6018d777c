#include "dialtone/config.hpp"

#include <catch2/catch.hpp>

using dialtone::ConfigError;
using dialtone::load_config_text;

namespace {

// The problems a config text produces ("" when it loads).
std::string problems(const std::string &text) {
    try {
        load_config_text(text, "/etc/dialtone/test.toml");
        return "";
    } catch (const ConfigError &e) {
        return e.what();
    }
}

const char *kMinimal = R"(
[server]
listen = ["127.0.0.1:8080"]

[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "www"
)";

} // namespace

TEST_CASE("a minimal config loads with the documented defaults", "[config]") {
    auto cfg = load_config_text(kMinimal, "/etc/dialtone/test.toml");
    REQUIRE(cfg.listen.size() == 1);
    CHECK(cfg.listen[0].host == "127.0.0.1");
    CHECK(cfg.listen[0].port == 8080);
    CHECK(cfg.workers == 0);
    CHECK(cfg.limits.max_head_size == 8192);
    CHECK(cfg.timeouts.keepalive_ms == 65000);
    CHECK(cfg.dir == "/etc/dialtone");
    REQUIRE(cfg.locations.size() == 1);
    CHECK(cfg.locations[0].handler == "static");
    CHECK(cfg.locations[0].section == "location[0].static");
    CHECK(cfg.locations[0].settings != nullptr);
}

TEST_CASE("listen accepts IPv4, IPv6 and a single string", "[config]") {
    auto cfg = load_config_text(R"(
[server]
listen = ["0.0.0.0:80", "[::1]:8443", "*:81"]
[[location]]
prefix = "/"
handler = "static"
)",
                                "t.toml");
    REQUIRE(cfg.listen.size() == 3);
    CHECK(cfg.listen[1].host == "::1");
    CHECK(cfg.listen[1].port == 8443);
    CHECK(cfg.listen[2].host == "0.0.0.0");
    auto single = load_config_text("[server]\nlisten = \"127.0.0.1:0\"\n[[location]]\n"
                                   "prefix = \"/\"\nhandler = \"x\"\n",
                                   "t.toml");
    CHECK(single.listen.size() == 1);
}

TEST_CASE("an unknown key is named with its file, line and column", "[config][errors]") {
    std::string p = problems("[server]\nlisten = [\"127.0.0.1:1\"]\nworkerz = 2\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n");
    CHECK_THAT(p, Catch::Contains("/etc/dialtone/test.toml:3:1: server.workerz: unknown key"));
    CHECK_THAT(p, Catch::Contains("workers")); // the fix: the known keys are listed
}

TEST_CASE("a value of the wrong type is named with its position and the expected type",
          "[config][errors]") {
    std::string p = problems("[server]\nlisten = [\"127.0.0.1:1\"]\nworkers = \"two\"\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n");
    CHECK_THAT(p, Catch::Contains("test.toml:3:11: server.workers: expected an integer, got a "
                                  "string"));
}

TEST_CASE("out-of-range limits are refused with the allowed range", "[config][errors]") {
    std::string p = problems("[server]\nlisten = [\"127.0.0.1:1\"]\n[server.limits]\n"
                             "max_head_size = 10\n[[location]]\nprefix = \"/\"\n"
                             "handler = \"static\"\n");
    CHECK_THAT(p, Catch::Contains("test.toml:4:17: server.limits.max_head_size: must be between"));
}

TEST_CASE("bad listen addresses say what is expected", "[config][errors]") {
    CHECK_THAT(problems("[server]\nlisten = [\"localhost:80\"]\n[[location]]\nprefix = \"/\"\n"
                        "handler = \"s\"\n"),
               Catch::Contains("server.listen: \"localhost\" is not an IP address"));
    CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1\"]\n[[location]]\nprefix = \"/\"\n"
                        "handler = \"s\"\n"),
               Catch::Contains("expected \"host:port\""));
    CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1:99999\"]\n[[location]]\n"
                        "prefix = \"/\"\nhandler = \"s\"\n"),
               Catch::Contains("port must be a number from 0 to 65535"));
}

TEST_CASE("location mistakes are caught", "[config][errors]") {
    SECTION("missing handler") {
        CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1:1\"]\n[[location]]\nprefix = \"/\"\n"),
                   Catch::Contains("location[0].handler: missing"));
    }
    SECTION("relative prefix") {
        CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1:1\"]\n[[location]]\n"
                            "prefix = \"site\"\nhandler = \"static\"\n"),
                   Catch::Contains("location[0].prefix: \"site\" must be a normalised absolute"));
    }
    SECTION("settings table named after another handler") {
        CHECK_THAT(
            problems("[server]\nlisten = [\"127.0.0.1:1\"]\n[[location]]\n"
                     "prefix = \"/\"\nhandler = \"static\"\n[location.dialup]\nroot = \"x\"\n"),
            Catch::Contains("location[0].dialup: settings table does not match handler "
                            "\"static\": name it [location.static]"));
    }
    SECTION("the same prefix twice") {
        CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1:1\"]\n[[location]]\nprefix = \"/\"\n"
                            "handler = \"a\"\n[[location]]\nprefix = \"/\"\nhandler = \"b\"\n"),
                   Catch::Contains("location[1].prefix: prefix \"/\" is already used"));
    }
    SECTION("no location at all") {
        CHECK_THAT(problems("[server]\nlisten = [\"127.0.0.1:1\"]\n"),
                   Catch::Contains("no [[location]]"));
    }
}

TEST_CASE("TOML syntax errors carry the parser's position", "[config][errors]") {
    std::string p = problems("[server]\nlisten = [\"127.0.0.1:1\"\n");
    CHECK_THAT(p, Catch::StartsWith("/etc/dialtone/test.toml:"));
}

TEST_CASE("every problem is reported, not just the first", "[config][errors]") {
    std::string p = problems("[server]\nlisten = [\"127.0.0.1:1\"]\nworkers = 0\nfoo = 1\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n");
    CHECK_THAT(p, Catch::Contains("server.workers"));
    CHECK_THAT(p, Catch::Contains("server.foo"));
}

TEST_CASE("relative plugin paths and the access log resolve against the config's folder",
          "[config]") {
    auto cfg = load_config_text(R"(
[server]
listen = ["127.0.0.1:0"]
access_log = "logs/access.log"
[[plugin]]
name = "hello"
path = "plugins/hello.so"
[[location]]
prefix = "/"
handler = "hello"
)",
                                "/srv/site/dialtone.toml");
    CHECK(cfg.access_log == "/srv/site/logs/access.log");
    REQUIRE(cfg.plugins.size() == 1);
    CHECK(cfg.plugins[0].path == "/srv/site/plugins/hello.so");
}
