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

namespace {

// A config whose [[upstream]] text starts on line 6, so positions in messages are predictable.
std::string with_upstream(const std::string &upstream) {
    return "[server]\nlisten = [\"127.0.0.1:1\"]\n[[location]]\nprefix = \"/\"\n"
           "handler = \"static\"\n" +
           upstream;
}

} // namespace

TEST_CASE("an upstream group loads every key", "[config][upstream]") {
    auto cfg = load_config_text(with_upstream(R"([[upstream]]
name = "cache-tier"
servers = ["10.0.0.1:80", { address = "[0:0::1]:8080", weight = 3 }, "10.0.0.3:81"]
balancer = "hash"
hash_key = "host_uri"
keepalive = 0
idle_timeout_ms = 1500
connect_timeout_ms = 250
first_byte_timeout_ms = 2000
io_timeout_ms = 3000
tries = 2
max_fails = 0
fail_timeout_ms = 700
spool_max_size = 0
spool_dir = "/tmp"
recv_buffer = 65536
)"),
                                "/etc/dialtone/test.toml");
    REQUIRE(cfg.upstreams.size() == 1);
    const dialtone::UpstreamConfig &up = cfg.upstreams[0];
    CHECK(up.name == "cache-tier");
    CHECK(up.where == "/etc/dialtone/test.toml:6:1");
    REQUIRE(up.servers.size() == 3);
    CHECK(up.servers[0].host == "10.0.0.1");
    CHECK(up.servers[0].port == 80);
    CHECK(up.servers[0].weight == 1);
    CHECK(up.servers[0].address == "10.0.0.1:80");
    CHECK(up.servers[1].host == "::1"); // canonical spelling
    CHECK(up.servers[1].port == 8080);
    CHECK(up.servers[1].weight == 3);
    CHECK(up.servers[1].address == "[::1]:8080");
    CHECK(up.servers[2].address == "10.0.0.3:81");
    CHECK(up.balancer == dialtone::BalancerKind::hash);
    CHECK(up.hash_key == dialtone::HashKey::host_uri);
    CHECK(up.keepalive == 0);
    CHECK(up.idle_timeout_ms == 1500);
    CHECK(up.connect_timeout_ms == 250);
    CHECK(up.first_byte_timeout_ms == 2000);
    CHECK(up.io_timeout_ms == 3000);
    CHECK(up.tries == 2);
    CHECK(up.tries_per_request() == 2);
    CHECK(up.max_fails == 0);
    CHECK(up.fail_timeout_ms == 700);
    CHECK(up.spool_max_size == 0);
    CHECK(up.spool_dir == "/tmp");
    CHECK(up.recv_buffer == 65536);
}

TEST_CASE("an upstream group's defaults are the documented ones", "[config][upstream]") {
    auto cfg = load_config_text(with_upstream("[[upstream]]\nname = \"one\"\n"
                                              "servers = [\"127.0.0.1:8080\"]\n"
                                              "[[upstream]]\nname = \"five\"\nbalancer = "
                                              "\"least_conn\"\nservers = [\"127.0.0.1:1\", "
                                              "\"127.0.0.1:2\", \"127.0.0.1:3\", \"127.0.0.1:4\", "
                                              "\"127.0.0.1:5\"]\n"),
                                "t.toml");
    REQUIRE(cfg.upstreams.size() == 2);
    const dialtone::UpstreamConfig &one = cfg.upstreams[0];
    CHECK(one.balancer == dialtone::BalancerKind::round_robin);
    CHECK(one.hash_key == dialtone::HashKey::uri);
    CHECK(one.keepalive == 32);
    CHECK(one.idle_timeout_ms == 60000);
    CHECK(one.connect_timeout_ms == 5000);
    CHECK(one.first_byte_timeout_ms == 60000);
    CHECK(one.io_timeout_ms == 60000);
    CHECK(one.max_fails == 1);
    CHECK(one.fail_timeout_ms == 10000);
    CHECK(one.tries == 0);
    CHECK(one.tries_per_request() == 1); // one try per server, up to 3
    CHECK(one.spool_max_size == 1024 * 1024 * 1024);
    CHECK(one.spool_dir == "/var/tmp");
    CHECK(one.recv_buffer == 0);
    CHECK(cfg.upstreams[1].balancer == dialtone::BalancerKind::least_conn);
    CHECK(cfg.upstreams[1].tries_per_request() == 3);
    CHECK(load_config_text(kMinimal, "t.toml").upstreams.empty());
}

TEST_CASE("a spool_dir must be a folder; a relative one is the config's", "[config][upstream]") {
    auto spool = [](const std::string &dir) {
        return with_upstream("[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n"
                             "spool_dir = \"" +
                             dir + "\"\n");
    };
    CHECK_THAT(problems(spool("/nonexistent/spool")),
               Catch::Contains("test.toml:9:13: upstream[0].spool_dir: \"/nonexistent/spool\" is "
                               "not a folder (create it, or use \"/var/tmp\")"));
    CHECK_THAT(problems(spool("/etc/hostname")), Catch::Contains("is not a folder"));
    CHECK(load_config_text(spool("."), "/tmp/t.toml").upstreams[0].spool_dir == "/tmp/.");
    CHECK_THAT(problems(with_upstream("[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n"
                                      "spool_max_size = -1\n")),
               Catch::Contains("upstream[0].spool_max_size: must be between 0 and"));
}

TEST_CASE("upstream names are required, valid and unique", "[config][upstream][errors]") {
    CHECK_THAT(problems(with_upstream("[[upstream]]\nservers = [\"127.0.0.1:1\"]\n")),
               Catch::Contains("test.toml:6:1: upstream[0].name: missing"));
    CHECK_THAT(problems(with_upstream("[[upstream]]\nname = \"Back End\"\n"
                                      "servers = [\"127.0.0.1:1\"]\n")),
               Catch::Contains("test.toml:7:8: upstream[0].name: \"Back End\" is not a valid "
                               "name (use a-z, 0-9, _ and -)"));
    CHECK_THAT(problems(with_upstream("[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n"
                                      "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n")),
               Catch::Contains("test.toml:10:8: upstream[1].name: upstream \"b\" is already "
                               "declared at /etc/dialtone/test.toml:6:1"));
    CHECK_THAT(problems(with_upstream("[upstream]\nname = \"b\"\n")),
               Catch::Contains("test.toml:6:1: upstream: expected an array of tables: write "
                               "[[upstream]]"));
}

TEST_CASE("upstream servers are checked one by one", "[config][upstream][errors]") {
    auto servers = [](const std::string &list) {
        return problems(with_upstream("[[upstream]]\nname = \"b\"\nservers = " + list + "\n"));
    };
    CHECK_THAT(problems(with_upstream("[[upstream]]\nname = \"b\"\n")),
               Catch::Contains("test.toml:6:1: upstream[0].servers: missing (e.g. servers = "
                               "[\"127.0.0.1:8080\"])"));
    CHECK_THAT(servers("[]"),
               Catch::Contains("test.toml:8:11: upstream[0].servers: empty: list at least one"));
    CHECK_THAT(servers("\"127.0.0.1:1\""),
               Catch::Contains("test.toml:8:11: upstream[0].servers: expected an array, got a "
                               "string"));
    CHECK_THAT(servers("[\"127.0.0.1:1\", 80]"),
               Catch::Contains("test.toml:8:27: upstream[0].servers[1]: expected a string "
                               "\"host:port\" or a table { address = \"host:port\", weight = N }, "
                               "got an integer"));
    CHECK_THAT(servers("[\"backend:80\"]"),
               Catch::Contains("test.toml:8:12: upstream[0].servers[0]: \"backend\" is not an IP "
                               "address (names are not resolved: use the server's IP address"));
    CHECK_THAT(servers("[\"0.0.0.0:80\"]"),
               Catch::Contains("upstream[0].servers[0]: \"0.0.0.0:80\" is a wildcard address"));
    CHECK_THAT(servers("[\"[::]:80\"]"),
               Catch::Contains("upstream[0].servers[0]: \"[::]:80\" is a wildcard address"));
    CHECK_THAT(servers("[\"127.0.0.1:0\"]"),
               Catch::Contains("upstream[0].servers[0]: the port must be a number from 1 to "
                               "65535"));
    CHECK_THAT(servers("[\"127.0.0.1\"]"),
               Catch::Contains("upstream[0].servers[0]: expected \"host:port\""));
    CHECK_THAT(servers("[\"127.0.0.1:80\", { address = \"127.0.0.1:80\" }]"),
               Catch::Contains("test.toml:8:40: upstream[0].servers[1].address: 127.0.0.1:80 is "
                               "already servers[0]: list a server once and give it a weight"));
    CHECK_THAT(servers("[{ address = \"127.0.0.1:80\", weight = 0 }]"),
               Catch::Contains("test.toml:8:49: upstream[0].servers[0].weight: must be between 1 "
                               "and 1000, got 0"));
    CHECK_THAT(servers("[{ address = \"127.0.0.1:80\", wieght = 2 }]"),
               Catch::Contains("test.toml:8:40: upstream[0].servers[0].wieght: unknown key "
                               "(known keys here: address, weight)"));
    CHECK_THAT(servers("[{ weight = 2 }]"),
               Catch::Contains("test.toml:8:12: upstream[0].servers[0].address: missing"));
    CHECK_THAT(servers("[{ address = 80 }]"),
               Catch::Contains("test.toml:8:24: upstream[0].servers[0].address: expected a string "
                               "\"host:port\", got an integer"));
}

TEST_CASE("upstream settings out of range name the key and the fix", "[config][upstream][errors]") {
    auto setting = [](const std::string &line) {
        return problems(with_upstream("[[upstream]]\nname = \"b\"\n"
                                      "servers = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n" +
                                      line + "\n"));
    };
    CHECK_THAT(setting("balancer = \"random\""),
               Catch::Contains("test.toml:9:12: upstream[0].balancer: \"random\" is not one of the "
                               "choices: use round_robin, least_conn or hash"));
    CHECK_THAT(setting("balancer = \"hash\"\nhash_key = \"cookie\""),
               Catch::Contains("test.toml:10:12: upstream[0].hash_key: \"cookie\" is not one of "
                               "the choices: use uri, host_uri or client_ip"));
    CHECK_THAT(setting("hash_key = \"uri\""),
               Catch::Contains("test.toml:9:12: upstream[0].hash_key: only the hash balancer "
                               "reads it: add balancer = \"hash\" or remove it"));
    CHECK_THAT(setting("tries = 3"),
               Catch::Contains("test.toml:9:9: upstream[0].tries: 3 tries but 2 servers: each "
                               "try goes to another server, so use at most 2"));
    CHECK_THAT(setting("tries = 0"), Catch::Contains("upstream[0].tries: must be between 1"));
    CHECK_THAT(setting("keepalive = -1"),
               Catch::Contains("test.toml:9:13: upstream[0].keepalive: must be between 0 and "));
    CHECK_THAT(setting("max_fails = 1001"),
               Catch::Contains("upstream[0].max_fails: must be between 0 and 1000"));
    for (const char *key : {"idle_timeout_ms", "connect_timeout_ms", "first_byte_timeout_ms",
                            "io_timeout_ms", "fail_timeout_ms"}) {
        CAPTURE(key);
        CHECK_THAT(setting(std::string(key) + " = 0"),
                   Catch::Contains("test.toml:9:") &&
                       Catch::Contains("upstream[0]." + std::string(key) +
                                       ": must be between 1 and 86400000, got 0"));
    }
    CHECK_THAT(setting("connect_timeout_ms = \"5s\""),
               Catch::Contains("upstream[0].connect_timeout_ms: expected an integer, got a "
                               "string"));
    CHECK_THAT(setting("retries = 2"),
               Catch::Contains("test.toml:9:1: upstream[0].retries: unknown key (known keys "
                               "here: name, servers, balancer, hash_key"));
}
