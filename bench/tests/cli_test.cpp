// CommandLine and parse_number (bench/cli.hpp): the option parsing both bench clients share.
// A usage error prints the usage on stderr; the tests only look at what parse() returns and
// what it stored.
#include "cli.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

using dialtone::bench::CommandLine;
using dialtone::bench::is_origin_form;
using dialtone::bench::parse_number;

namespace {

// A mutable argv (getopt_long permutes it), program name first.
struct Argv {
    std::vector<std::string> words;
    std::vector<char *> pointers;

    Argv(std::initializer_list<const char *> args) : words{"client"} {
        words.insert(words.end(), args.begin(), args.end());
        for (std::string &w : words)
            pointers.push_back(w.data());
        pointers.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words.size()); }
    char **argv() { return pointers.data(); }
};

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    uint32_t connections = 10;
    double rate = 1;
    uint32_t max = 0;
    bool json = false;
    std::vector<std::string> paths;
};

std::optional<int> parse(Options &o, Argv args) {
    CommandLine cli("client", "usage: client\n");
    cli.string("host", o.host);
    cli.whole_number("port", 1, 65535, o.port);
    cli.whole_number("connections", 1, 1e6, o.connections, 'n');
    cli.number("rate", 0.5, 100, o.rate);
    cli.number("max", 1, 100, o.max);
    cli.flag("json", o.json);
    cli.target("path", [&o](const char *p) { o.paths.emplace_back(p); });
    return cli.parse(args.argc(), args.argv());
}

} // namespace

TEST_CASE("parse_number takes a whole string within its bounds", "[bench][cli]") {
    double v = -1;
    CHECK(parse_number("42", 1, 100, v));
    CHECK(v == 42);
    CHECK(parse_number("1e2", 1, 100, v));
    CHECK(v == 100);
    CHECK(parse_number("0.5", 0.1, 1, v));
    CHECK(v == 0.5);
    v = -1;
    CHECK_FALSE(parse_number("101", 1, 100, v));
    CHECK_FALSE(parse_number("0", 1, 100, v));
    CHECK_FALSE(parse_number("12x", 1, 100, v));
    CHECK_FALSE(parse_number("", 1, 100, v));
    CHECK_FALSE(parse_number("nan", 1, 100, v));
    CHECK_FALSE(parse_number("1e999", 1, 1e300, v));
    CHECK(v == -1); // untouched on failure
}

TEST_CASE("an origin-form target starts with a slash and has no space or line break",
          "[bench][cli]") {
    CHECK(is_origin_form("/"));
    CHECK(is_origin_form("/dialup/file.bin?x=1"));
    CHECK_FALSE(is_origin_form(""));
    CHECK_FALSE(is_origin_form("file.bin"));
    CHECK_FALSE(is_origin_form("/a b"));
    CHECK_FALSE(is_origin_form("/a\r\n"));
}

TEST_CASE("options are stored as declared", "[bench][cli]") {
    Options o;
    REQUIRE_FALSE(parse(o, {"--host", "::1", "--port", "8080", "-n", "500", "--rate", "2.5",
                            "--max", "7.9", "--json", "--path", "/a", "--path", "/b"}));
    CHECK(o.host == "::1");
    CHECK(o.port == 8080);
    CHECK(o.connections == 500);
    CHECK(o.rate == 2.5);
    CHECK(o.max == 7); // a number option truncates a fraction
    CHECK(o.json);
    CHECK(o.paths == std::vector<std::string>{"/a", "/b"});

    SECTION("the long name of a lettered option and an unambiguous abbreviation work too") {
        Options p;
        REQUIRE_FALSE(parse(p, {"--connections=3", "--po", "1"}));
        CHECK(p.connections == 3);
        CHECK(p.port == 1);
    }
    SECTION("nothing given leaves the defaults") {
        Options p;
        REQUIRE_FALSE(parse(p, {}));
        CHECK(p.host == "127.0.0.1");
        CHECK(p.port == 0);
        CHECK_FALSE(p.json);
    }
}

TEST_CASE("a bad value, an unknown option or a stray operand is a usage error (2)",
          "[bench][cli]") {
    Options o;
    CHECK(parse(o, {"--port", "0"}) == 2);
    CHECK(parse(o, {"--port", "80.5"}) == 2); // whole numbers only
    CHECK(parse(o, {"-n", "1e7"}) == 2);
    CHECK(parse(o, {"--rate", "0.1"}) == 2);
    CHECK(parse(o, {"--path", "relative"}) == 2);
    CHECK(parse(o, {"--bogus"}) == 2);
    CHECK(parse(o, {"--port"}) == 2); // value missing
    CHECK(parse(o, {"--json=1"}) == 2);
    CHECK(o.port == 0);
    CHECK(parse(o, {"--port", "80", "extra"}) == 2);
}

TEST_CASE("--help and -h end the parse with status 0", "[bench][cli]") {
    Options o;
    CHECK(parse(o, {"--help"}) == 0);
    CHECK(parse(o, {"-h", "--port", "80"}) == 0);
    CHECK(o.port == 0);
}

TEST_CASE("a text option's setter decides whether its value is good", "[bench][cli]") {
    std::string mode;
    CommandLine cli("client", "usage: client\n");
    cli.text("mode", [&mode](const char *m) {
        mode = m;
        return mode == "fast" || mode == "slow";
    });
    Argv good{"--mode", "slow"};
    CHECK_FALSE(cli.parse(good.argc(), good.argv()));
    CHECK(mode == "slow");
    Argv bad{"--mode", "sideways"};
    CHECK(cli.parse(bad.argc(), bad.argv()) == 2);
    CHECK(cli.bad("--mode (required)") == 2);
}
