// SIGHUP reloads the config and plugins without dropping a connection: new connections get the
// new config, open ones finish on theirs, a bad config is refused and the old one keeps serving.
#include "test_support.hpp"

using namespace dialtone::test;

namespace {

std::string labelled(std::string_view label, std::string_view server_extra = "") {
    std::string locations = "[[location]]\nprefix = \"/\"\nhandler = \"echo\"\n"
                            "[location.echo]\nlabel = \"";
    locations.append(label).append("\"\n");
    return config(server_extra, locations);
}

std::string label_of(const std::optional<HttpResponse> &r) {
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return parse_echo(r->body)["label"];
}

void reload(HostProcess &host, const std::string &toml, std::string_view expect) {
    write_file(host.config_path(), expand_placeholders(toml, host.dir()));
    REQUIRE(::kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for_stderr(expect));
}

} // namespace

TEST_CASE("SIGHUP gives new connections the new config and open ones keep theirs",
          "[integration][reload]") {
    HostProcess host(labelled("one"));
    RawClient open(host.port());
    REQUIRE(open.send(get("/")));
    CHECK(label_of(open.read_response()) == "one");

    reload(host, labelled("two"), "reloaded");
    CHECK(label_of(fetch(host.port(), get("/"))) == "two");
    // The keep-alive connection accepted before the reload still answers from its generation.
    REQUIRE(open.send(get("/")));
    CHECK(label_of(open.read_response()) == "one");
}

TEST_CASE("a bad config on SIGHUP is refused with its errors and the old one keeps serving",
          "[integration][reload]") {
    HostProcess host(labelled("one"));
    reload(host, labelled("two") + "\n[server.bogus]\n", "reload refused");
    CHECK(matches(host.stderr_text(), R"(config\.toml:\d+:\d+: server\.bogus: unknown key)"));
    CHECK(label_of(fetch(host.port(), get("/"))) == "one");

    // A plugin that refuses its settings is refused the same way.
    reload(host,
           config("", "[[location]]\nprefix = \"/\"\nhandler = \"fixed_status\"\n"
                      "[location.fixed_status]\nstatus = 42\n"),
           "must be between 200 and 599");
    CHECK(label_of(fetch(host.port(), get("/"))) == "one");
}

TEST_CASE("a paced transfer in flight finishes across a reload", "[integration][reload][dialup]") {
    auto site = [](const fs::path &dir) {
        write_file(dir / "site" / "f.bin", std::string(20000, 'x'));
    };
    std::string cfg = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n"
                      "[[location]]\nprefix = \"/slow\"\nhandler = \"dialup\"\n"
                      "[location.dialup]\nroot = \"site\"\nbits_per_second = 160000\n";
    HostOptions options;
    options.prepare = site;
    HostProcess host(cfg, options);
    RawClient c(host.port());
    REQUIRE(c.send(get("/slow/f.bin")));
    std::this_thread::sleep_for(300ms); // 20,000 bytes at 20,000 B/s: under way
    std::string next = cfg;
    next.replace(next.find("160000"), 6, "800000");
    reload(host, next, "reloaded");
    auto r = c.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == std::string(20000, 'x'));
}
