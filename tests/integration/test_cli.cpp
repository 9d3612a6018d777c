// The host's command line: --version, --help, unknown options, --check on good and bad configs.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

// A config using every documented key, which --check must accept.
constexpr std::string_view full_config = R"([server]
listen = ["127.0.0.1:0"]
workers = 2
access_log = "access.log"
log_level = "info"

[server.limits]
max_head_size = 8192
max_uri_size = 4096
max_body_size = 1048576
max_connections = 10000
max_headers = 100

[server.timeouts]
head_ms = 10000
keepalive_ms = 65000
body_ms = 30000
send_ms = 30000
grace_ms = 10000

[[plugin]]
name = "echo"
path = "@PLUGINS@/echo.so"

[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "@WWW@"
index = "index.html"
follow_symlinks = false

[[location]]
prefix = "/echo"
handler = "echo"
)";

// Runs --check on `toml` and requires exit 1 with "<config>:<line>:<col>: <key>" on stderr,
// where `key` is a regex.
void expect_config_error(std::string_view toml, int line, const std::string &key) {
    TempDir dir;
    ProcessResult run = run_host_with_config(dir, toml);
    INFO("stderr:\n" << run.err);
    CHECK(run.exit_code == 1);
    std::string config = (dir.path() / "config.toml").string();
    std::string escaped =
        std::regex_replace(config, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    CHECK(matches(run.err, escaped + ":" + std::to_string(line) + ":\\d+: " + key));
}

} // namespace

TEST_CASE("the --version option prints the name and version and exits 0", "[integration][cli]") {
    ProcessResult run = run_host({"--version"});
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Contains("dialtone 0.1.0"));
}

TEST_CASE("the --help option prints a usage that names every option and exits 0",
          "[integration][cli]") {
    ProcessResult run = run_host({"--help"});
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Contains("--config"));
    CHECK_THAT(run.out, Contains("--check"));
    CHECK_THAT(run.out, Contains("--version"));
}

TEST_CASE("an unknown option exits 2 with the usage on stderr", "[integration][cli]") {
    ProcessResult run = run_host({"--frobnicate"});
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.err, Contains("--config"));
}

TEST_CASE("the --check option accepts a config using every documented key and says ok",
          "[integration][cli][config]") {
    TempDir dir;
    ProcessResult run = run_host_with_config(dir, full_config);
    INFO("stdout:\n" << run.out << "\nstderr:\n" << run.err);
    CHECK(run.exit_code == 0);
    CHECK(matches(lower(run.out + run.err), R"(\bok\b)"));
    CHECK_THAT(run.err, !Contains("listening on"));
}

TEST_CASE("the --check option refuses a config file that does not exist and names it",
          "[integration][cli][config]") {
    TempDir dir;
    std::string missing = (dir.path() / "missing.toml").string();
    ProcessResult run = run_host({"--check", "--config", missing});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Contains(missing));
}

TEST_CASE("the --check option names the file line column and key of a bad config value",
          "[integration][cli][config]") {
    SECTION("an unknown key in [server]") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\nworkerz = 2\n"
                            "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n"
                            "[location.static]\nroot = \"@WWW@\"\n",
                            4, R"(server\.workerz)");
    }
    SECTION("a string where a number belongs") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n\nworkers = \"two\"\n"
                            "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n"
                            "[location.static]\nroot = \"@WWW@\"\n",
                            4, R"(server\.workers)");
    }
    SECTION("a wrong type in [server.limits]") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n[server.limits]\n"
                            "max_head_size = \"big\"\n"
                            "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n"
                            "[location.static]\nroot = \"@WWW@\"\n",
                            4, R"(server\.limits\.max_head_size)");
    }
    SECTION("an unknown key in [server.timeouts]") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n[server.timeouts]\n"
                            "head_msec = 100\n"
                            "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n"
                            "[location.static]\nroot = \"@WWW@\"\n",
                            4, R"(server\.timeouts\.head_msec)");
    }
    SECTION("a listen address that is not host:port") {
        expect_config_error("[server]\nworkers = 1\n\nlisten = [\"127.0.0.1:notaport\"]\n"
                            "[[location]]\nprefix = \"/\"\nhandler = \"static\"\n"
                            "[location.static]\nroot = \"@WWW@\"\n",
                            4, R"(server\.listen)");
    }
    SECTION("an unknown handler name") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n[[location]]\nprefix = \"/\"\n"
                            "handler = \"nope\"\n",
                            5, R"(location\[\d+\]\.handler)");
    }
    SECTION("a location without a handler, reported at its table") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n[[location]]\nprefix = \"/\"\n",
                            3, R"(location\[\d+\]\.handler)");
    }
    SECTION("a key the location's plugin does not know") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n[[location]]\nprefix = \"/\"\n"
                            "handler = \"static\"\n[location.static]\nroot = \"@WWW@\"\n"
                            "rooot = \"@WWW@\"\n",
                            8, R"(location\[\d+\]\.static\.rooot)");
    }
    SECTION("a TOML syntax error") {
        expect_config_error("[server]\nlisten = [\"127.0.0.1:0\"]\n\nworkers = = 2\n", 4, "");
    }
}

TEST_CASE("the host refuses to run with a bad config and exits 1 without listening",
          "[integration][cli][config]") {
    TempDir dir;
    ProcessResult run = run_host_with_config(
        dir, "[server]\nlisten = [\"127.0.0.1:0\"]\nworkerz = 2\n", /*check=*/false);
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Contains("server.workerz"));
    CHECK_THAT(run.err, !Contains("listening on"));
}
