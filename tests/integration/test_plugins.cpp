// Loading plugins through the C ABI: each defective fixture is refused (or answered 500) with
// a message that points at the problem, and compatible plugins load.
#include "test_support.hpp"

#include <dialtone/plugin.h>

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

// Declares fixture plugin `name` and routes prefix "/" (or `prefix`) to it.
std::string one_plugin(const std::string &name, const std::string &prefix = "/") {
    return "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n\n[[plugin]]\nname = \"" + name +
           "\"\npath = \"@PLUGINS@/" + name + ".so\"\n\n[[location]]\nprefix = \"" + prefix +
           "\"\nhandler = \"" + name + "\"\n";
}

std::string plugin_path(const std::string &name) {
    return (fixture_plugin_dir() / (name + ".so")).string();
}

// Runs the host on `toml` both with and without --check; both must exit 1 without listening.
ProcessResult expect_refusal(const std::string &toml) {
    TempDir dir;
    ProcessResult checked = run_host_with_config(dir, toml, true);
    ProcessResult started = run_host_with_config(dir, toml, false);
    INFO("--check stderr:\n" << checked.err << "\nrun stderr:\n" << started.err);
    CHECK(checked.exit_code == 1);
    CHECK(started.exit_code == 1);
    CHECK_THAT(started.err, !Contains("listening on"));
    return checked;
}

} // namespace

TEST_CASE("a plugin built for another ABI major is refused with its path and both versions",
          "[integration][plugins][abi]") {
    ProcessResult run = expect_refusal(one_plugin("wrong_abi"));
    CHECK_THAT(run.err, Contains(plugin_path("wrong_abi")));
    CHECK_THAT(run.err, Contains("built for plugin ABI 99.0"));
    CHECK_THAT(run.err, Contains("this host speaks " + std::to_string(DT_ABI_MAJOR) + "." +
                                 std::to_string(DT_ABI_MINOR)));
    CHECK_THAT(run.err, Contains("rebuild the plugin against dialtone/plugin.h 1.x"));
}

TEST_CASE("a plugin without a dt_plugin_entry symbol is refused with its path and the symbol name",
          "[integration][plugins][abi]") {
    ProcessResult run = expect_refusal(one_plugin("no_entry"));
    CHECK_THAT(run.err, Contains(plugin_path("no_entry")));
    CHECK_THAT(run.err, Contains("dt_plugin_entry"));
}

TEST_CASE("a plugin whose entry returns no descriptor is refused with its path",
          "[integration][plugins][abi]") {
    ProcessResult run = expect_refusal(one_plugin("null_descriptor"));
    CHECK_THAT(run.err, Contains(plugin_path("null_descriptor")));
}

TEST_CASE("a plugin that needs a newer host minor is refused with its path and that minor",
          "[integration][plugins][abi]") {
    ProcessResult run = expect_refusal(one_plugin("future_minor"));
    CHECK_THAT(run.err, Contains(plugin_path("future_minor")));
    CHECK_THAT(run.err, Contains("999"));
}

TEST_CASE("a plugin path that does not exist is refused with the path", "[integration][plugins]") {
    std::string toml = one_plugin("echo");
    toml.replace(toml.find("echo.so"), 7, "does_not_exist.so");
    ProcessResult run = expect_refusal(toml);
    CHECK_THAT(run.err, Contains(plugin_path("does_not_exist")));
}

TEST_CASE("a failing on_create stops the host with the plugin and location and reason",
          "[integration][plugins]") {
    ProcessResult run = expect_refusal(one_plugin("failing_create", "/refused"));
    CHECK_THAT(run.err, Contains("failing_create"));
    CHECK_THAT(run.err, Contains("this fixture refuses every location"));
    CHECK(matches(run.err, R"(location\[\d+\]|/refused)"));
}

TEST_CASE("a plugin built against a newer minor of the same major loads and serves",
          "[integration][plugins][abi]") {
    TempDir dir;
    ProcessResult checked = run_host_with_config(dir, one_plugin("newer_minor"));
    INFO("--check stderr:\n" << checked.err);
    CHECK(checked.exit_code == 0);

    HostProcess host(one_plugin("newer_minor"));
    CurlResult got = curl({url(host.port(), "/")});
    CHECK(got.status() == 200);
    CHECK(got.body == "newer minor ok\n");
}

TEST_CASE("the --check option loads every plugin and accepts good ones",
          "[integration][plugins][cli]") {
    TempDir dir;
    ProcessResult run = run_host_with_config(dir, config("", echo_everywhere));
    INFO("stderr:\n" << run.err);
    CHECK(run.exit_code == 0);
}

TEST_CASE("a handler verdict that is neither a verdict nor an HTTP status gets 500",
          "[integration][plugins]") {
    HostProcess host(one_plugin("bad_verdict"));
    RawClient client(host.port());
    REQUIRE(client.send(get("/")));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 500);
    CHECK(response->header("Content-Length") == std::to_string(response->body.size()));
    CHECK(host.wait_for_stderr("42", 2s));

    // The plugin's bug does not take the server down.
    RawClient again(host.port());
    REQUIRE(again.send(get("/")));
    auto second = again.read_response();
    REQUIRE(second);
    CHECK(second->status == 500);
}

TEST_CASE("a plugin returning an HTTP error status gets the runtime's error page",
          "[integration][plugins]") {
    HostProcess host(config("", R"(
[[location]]
prefix = "/teapot"
handler = "fixed_status"
[location.fixed_status]
status = 418

[[location]]
prefix = "/unavailable"
handler = "fixed_status"
[location.fixed_status]
status = 503

[[location]]
prefix = "/created"
handler = "fixed_status"
[location.fixed_status]
status = 201
)"));
    auto teapot = fetch(host.port(), get("/teapot"));
    REQUIRE(teapot);
    CHECK(teapot->status == 418);
    CHECK_THAT(teapot->header("Content-Type").value_or(""), Contains("text/html"));
    CHECK(teapot->header("Content-Length") == std::to_string(teapot->body.size()));

    auto unavailable = fetch(host.port(), get("/unavailable"));
    REQUIRE(unavailable);
    CHECK(unavailable->status == 503);
    CHECK_THAT(unavailable->header("Content-Type").value_or(""), Contains("text/html"));

    auto created = fetch(host.port(), get("/created"));
    REQUIRE(created);
    CHECK(created->status == 201);
    CHECK(created->body == "status 201\n");
}
