#include "loader.hpp"

#include <catch2/catch.hpp>

using dialtone::check_descriptor;

namespace {
int create(const dt_config_t *, void **, char *, size_t) { return 0; }

dt_plugin_t good() {
    dt_plugin_t d{};
    d.size = sizeof(dt_plugin_t);
    d.abi_major = DT_ABI_MAJOR;
    d.abi_minor = DT_ABI_MINOR;
    d.name = "good";
    d.version = "1";
    d.on_create = create;
    return d;
}
} // namespace

TEST_CASE("a descriptor built against this header is accepted", "[loader][abi]") {
    dt_plugin_t d = good();
    CHECK(check_descriptor(&d, "/p/good.so").empty());
}

TEST_CASE("another ABI major is refused naming the path and both versions", "[loader][abi]") {
    dt_plugin_t d = good();
    d.abi_major = DT_ABI_MAJOR + 1;
    d.abi_minor = 3;
    std::string why = check_descriptor(&d, "/p/next.so");
    CHECK_THAT(why, Catch::Contains("/p/next.so"));
    CHECK_THAT(why,
               Catch::Contains("built for plugin ABI " + std::to_string(DT_ABI_MAJOR + 1) + ".3"));
    CHECK_THAT(why, Catch::Contains("this host speaks " + std::to_string(DT_ABI_MAJOR) + "." +
                                    std::to_string(DT_ABI_MINOR)));
}

TEST_CASE("an older minor loads; a plugin needing a newer host minor is refused", "[loader][abi]") {
    dt_plugin_t d = good();
    d.abi_minor = 0;
    CHECK(check_descriptor(&d, "/p/old.so").empty());
    d.min_host_minor = DT_ABI_MINOR + 1;
    CHECK_THAT(check_descriptor(&d, "/p/new.so"), Catch::Contains("upgrade dialtone"));
}

TEST_CASE("malformed descriptors are refused", "[loader][abi]") {
    CHECK_THAT(check_descriptor(nullptr, "/p/x.so"), Catch::Contains("returned NULL"));
    dt_plugin_t d = good();
    d.size = 8;
    CHECK_THAT(check_descriptor(&d, "/p/x.so"), Catch::Contains("DT_PLUGIN_INIT"));
    d = good();
    d.on_create = nullptr;
    CHECK_THAT(check_descriptor(&d, "/p/x.so"), Catch::Contains("on_create"));
    d = good();
    d.name = "";
    CHECK_THAT(check_descriptor(&d, "/p/x.so"), Catch::Contains("no name"));
}
