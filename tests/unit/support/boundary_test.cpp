#include <dialtone/plugin_support/boundary.hpp>

#include <catch2/catch.hpp>

#include <cstdarg>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dialtone::plugin_support;

namespace {

std::vector<std::string> logged;

void fake_log(dt_log_level_t level, const char *fmt, ...) {
    char line[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    logged.push_back(std::to_string(level) + " " + line);
}

dt_api_t log_only_api() {
    dt_api_t api{};
    api.size = sizeof api;
    api.log = fake_log;
    return api;
}

struct NotAnException {};

} // namespace

TEST_CASE("on_create's boundary passes results through and turns exceptions into err",
          "[support][boundary]") {
    char err[64] = "";
    SECTION("a body that returns is not touched") {
        CHECK(create_boundary("probe", err, sizeof err, [] { return 0; }) == 0);
        CHECK(create_boundary("probe", err, sizeof err, [] { return 1; }) == 1);
        CHECK(std::string(err).empty());
    }
    SECTION("a std::exception names the plugin and says what") {
        CHECK(create_boundary("probe", err, sizeof err,
                              []() -> int { throw std::runtime_error("no root"); }) == 1);
        CHECK(std::string(err) == "probe: no root");
    }
    SECTION("bad_alloc is one of them") {
        CHECK(create_boundary("probe", err, sizeof err, []() -> int { throw std::bad_alloc(); }) ==
              1);
        CHECK(std::string(err) == "probe: std::bad_alloc");
    }
    SECTION("anything else is an unknown exception") {
        CHECK(create_boundary("probe", err, sizeof err, []() -> int { throw NotAnException{}; }) ==
              1);
        CHECK(std::string(err) == "probe: unknown exception");
    }
    SECTION("the message is cut to err_len") {
        char small[8];
        volatile size_t small_len = sizeof small; // as the host's: not known when compiling
        CHECK(create_boundary("probe", small, small_len,
                              []() -> int { throw std::runtime_error("long message"); }) == 1);
        CHECK(std::string(small) == "probe: ");
    }
}

TEST_CASE("on_handle's boundary answers 503 for bad_alloc and 500 with a log line otherwise",
          "[support][boundary]") {
    const dt_api_t api = log_only_api();
    logged.clear();
    SECTION("a verdict or status passes through, unlogged") {
        CHECK(handle_boundary(api, "probe", [] { return DT_SUSPENDED; }) == DT_SUSPENDED);
        CHECK(handle_boundary(api, "probe", [] { return 404; }) == 404);
        CHECK(logged.empty());
    }
    SECTION("out of memory is a 503, and not logged") {
        CHECK(handle_boundary(api, "probe", []() -> int { throw std::bad_alloc(); }) == 503);
        CHECK(logged.empty());
    }
    SECTION("any other std::exception is a 500 logged as an error naming the plugin") {
        CHECK(handle_boundary(api, "probe", []() -> int { throw std::logic_error("bug"); }) == 500);
        CHECK(logged == std::vector<std::string>{"0 probe: on_handle: bug"});
    }
    SECTION("a non-standard exception is a 500 too") {
        CHECK(handle_boundary(api, "probe", []() -> int { throw NotAnException{}; }) == 500);
        CHECK(logged == std::vector<std::string>{"0 probe: on_handle: unknown exception"});
    }
}
