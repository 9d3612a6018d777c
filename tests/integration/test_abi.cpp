// ABI compatibility across releases: plugins built against each released header (tests/abi/)
// load and serve in the current host. Refusals (another major, a newer required minor) are in
// test_plugins.cpp.
#include "test_support.hpp"

using namespace dialtone::test;

TEST_CASE("a plugin built against the released 1.0 header loads and serves in this host",
          "[integration][plugins][abi]") {
    const std::string toml = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n\n"
                             "[[plugin]]\nname = \"v1_0\"\npath = \"@PLUGINS@/v1_0.so\"\n\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"v1_0\"\n";
    TempDir dir;
    ProcessResult checked = run_host_with_config(dir, toml);
    INFO("--check stderr:\n" << checked.err);
    CHECK(checked.exit_code == 0);

    HostProcess host(toml);
    CurlResult got = curl({url(host.port(), "/any/path")});
    CHECK(got.status() == 200);
    CHECK(got.body == "abi 1.0 ok\n");
}

TEST_CASE("a plugin built against the released 1.1 header uses server_stats in this host",
          "[integration][plugins][abi]") {
    const std::string toml = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n\n"
                             "[[plugin]]\nname = \"v1_1\"\npath = \"@PLUGINS@/v1_1.so\"\n\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"v1_1\"\n";
    HostProcess host(toml);
    CurlResult got = curl({url(host.port(), "/")});
    CHECK(got.status() == 200);
    CHECK(got.body == "abi 1.1 ok: 2 workers\n");
}

TEST_CASE("a plugin built against the released 1.2 header serves and gets on_stop in this host",
          "[integration][plugins][abi]") {
    const std::string toml = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n\n"
                             "[[plugin]]\nname = \"v1_2\"\npath = \"@PLUGINS@/v1_2.so\"\n\n"
                             "[[location]]\nprefix = \"/\"\nhandler = \"v1_2\"\n";
    HostProcess host(toml);
    CurlResult got = curl({url(host.port(), "/")});
    CHECK(got.status() == 200);
    CHECK(got.body == "abi 1.2 ok\n");
    CHECK(host.stop() == 0);
    CHECK_THAT(host.stderr_text(), Catch::Matchers::Contains("v1_2: on_stop"));
}
