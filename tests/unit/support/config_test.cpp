#include <dialtone/plugin_support/config.hpp>

#include <catch2/catch.hpp>

#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>
#include <variant>
#include <vector>

using namespace dialtone::plugin_support;

namespace {

// A settings table standing in for the host's: the accessors answer from `values`, a wrong
// type is DT_ETYPE (the host would report it itself), config_error is recorded.
struct FakeConfig {
    std::map<std::string, std::variant<int64_t, std::string, bool>> values;
    std::vector<std::string> errors; // "key: message"
};

FakeConfig &fake(const dt_config_t *cfg) {
    return *reinterpret_cast<FakeConfig *>(const_cast<dt_config_t *>(cfg));
}

template <class T> int get(const dt_config_t *cfg, const char *key, T &out) {
    const auto &values = fake(cfg).values;
    auto it = values.find(key);
    if (it == values.end())
        return DT_ENOENT;
    const T *value = std::get_if<T>(&it->second);
    if (!value)
        return DT_ETYPE;
    out = *value;
    return 0;
}

int config_int(const dt_config_t *cfg, const char *key, int64_t *out) {
    return get(cfg, key, *out);
}

int config_bool(const dt_config_t *cfg, const char *key, int *out) {
    bool value = false;
    const int rc = get(cfg, key, value);
    if (rc == 0)
        *out = value;
    return rc;
}

// Strings live in the table, as the host's live until on_destroy.
int text(const dt_config_t *cfg, const char *key, dt_str_t *out) {
    const auto &values = fake(cfg).values;
    auto it = values.find(key);
    if (it == values.end())
        return DT_ENOENT;
    const std::string *value = std::get_if<std::string>(&it->second);
    if (!value)
        return DT_ETYPE;
    *out = {value->data(), value->size()};
    return 0;
}

int config_string(const dt_config_t *cfg, const char *key, dt_str_t *out) {
    return text(cfg, key, out);
}

// The fake resolves nothing; it marks paths so a test sees which accessor was used.
int config_path(const dt_config_t *cfg, const char *key, dt_str_t *out) {
    const int rc = text(cfg, key, out);
    if (rc == 0 && out->len > 0 && out->ptr[0] != '/')
        *out = {"/resolved", 9};
    return rc;
}

void config_error(const dt_config_t *cfg, const char *key, const char *fmt, ...) {
    char message[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    fake(cfg).errors.push_back(std::string(key ? key : "-") + ": " + message);
}

struct Fixture {
    dt_api_t api{};
    FakeConfig settings;
    const dt_config_t *cfg = reinterpret_cast<const dt_config_t *>(&settings);

    Fixture() {
        api.size = sizeof api;
        api.config_int = config_int;
        api.config_bool = config_bool;
        api.config_string = config_string;
        api.config_path = config_path;
        api.config_error = config_error;
    }
};

} // namespace

TEST_CASE("a bounded integer inside its bounds is read, an absent one keeps the default",
          "[support][config]") {
    Fixture f;
    f.settings.values["file_cache"] = int64_t{0};
    f.settings.values["ticks_per_second"] = int64_t{1000};
    size_t entries = 1024;
    int ticks = 10;
    uint64_t valid_ms = 1000;
    CHECK(read_bounded(f.api, f.cfg, "file_cache", {0, 1000000, "entries (0: off)"}, entries));
    CHECK(read_bounded(f.api, f.cfg, "ticks_per_second", {1, 1000}, ticks));
    CHECK(read_bounded(f.api, f.cfg, "file_cache_valid_ms", {1, 3600000, "ms"}, valid_ms));
    CHECK(entries == 0);
    CHECK(ticks == 1000);
    CHECK(valid_ms == 1000);
    CHECK(f.settings.errors.empty());
}

TEST_CASE("a bounded integer outside its bounds is reported at its key with the value and range",
          "[support][config]") {
    Fixture f;
    int64_t refresh = 5;
    SECTION("above, with a unit") {
        f.settings.values["refresh_seconds"] = int64_t{3601};
        CHECK_FALSE(read_bounded(f.api, f.cfg, "refresh_seconds",
                                 {0, 3600, "seconds (0: no refreshing)"}, refresh));
        CHECK(f.settings.errors ==
              std::vector<std::string>{"refresh_seconds: must be between 0 and 3600 "
                                       "seconds (0: no refreshing), not 3601"});
    }
    SECTION("below, without a unit") {
        f.settings.values["refresh_seconds"] = int64_t{-1};
        CHECK_FALSE(read_bounded(f.api, f.cfg, "refresh_seconds", {0, 3600}, refresh));
        CHECK(f.settings.errors ==
              std::vector<std::string>{"refresh_seconds: must be between 0 and 3600, not -1"});
    }
    CHECK(refresh == 5);
}

TEST_CASE("a bounded integer of the wrong type fails without a second report",
          "[support][config]") {
    Fixture f;
    f.settings.values["min_slice"] = std::string("big");
    int64_t min_slice = 4096;
    CHECK_FALSE(read_bounded(f.api, f.cfg, "min_slice", {1, 1 << 20, "bytes"}, min_slice));
    CHECK(min_slice == 4096);
    CHECK(f.settings.errors.empty()); // the host reported the type
}

TEST_CASE("a bounded integer read into an optional is set only when present", "[support][config]") {
    Fixture f;
    std::optional<uint64_t> bps;
    CHECK(read_bounded(f.api, f.cfg, "bits_per_second", {8, 100000000000, "bit/s"}, bps));
    CHECK_FALSE(bps.has_value());
    f.settings.values["bits_per_second"] = int64_t{100000000000};
    CHECK(read_bounded(f.api, f.cfg, "bits_per_second", {8, 100000000000, "bit/s"}, bps));
    CHECK(bps == uint64_t{100000000000});
    f.settings.values["bits_per_second"] = int64_t{7};
    std::optional<uint64_t> low;
    CHECK_FALSE(read_bounded(f.api, f.cfg, "bits_per_second", {8, 100000000000, "bit/s"}, low));
    CHECK_FALSE(low.has_value());
}

TEST_CASE("strings, paths and booleans are read when present and left alone when absent",
          "[support][config]") {
    Fixture f;
    f.settings.values["index"] = std::string("home.html");
    f.settings.values["root"] = std::string("www");
    f.settings.values["etag"] = false;
    std::string index = "index.html", cache_control;
    std::optional<std::string> root, mime_types;
    bool etag = true, follow = false;
    CHECK(read_string(f.api, f.cfg, "index", index));
    CHECK(read_string(f.api, f.cfg, "cache_control", cache_control));
    CHECK(read_path(f.api, f.cfg, "root", root));
    CHECK(read_path(f.api, f.cfg, "mime_types", mime_types));
    CHECK(read_bool(f.api, f.cfg, "etag", etag));
    CHECK(read_bool(f.api, f.cfg, "follow_symlinks", follow));
    CHECK(index == "home.html");
    CHECK(cache_control.empty());
    CHECK(root == std::string("/resolved"));
    CHECK_FALSE(mime_types.has_value());
    CHECK_FALSE(etag);
    CHECK_FALSE(follow);
}

TEST_CASE("a string or boolean of the wrong type fails and keeps the default",
          "[support][config]") {
    Fixture f;
    f.settings.values["index"] = int64_t{3};
    f.settings.values["etag"] = std::string("yes");
    std::string index = "index.html";
    bool etag = true;
    CHECK_FALSE(read_string(f.api, f.cfg, "index", index));
    CHECK_FALSE(read_bool(f.api, f.cfg, "etag", etag));
    CHECK(index == "index.html");
    CHECK(etag);
}

TEST_CASE("an integer read unbounded is bounded later by check_bounds", "[support][config]") {
    Fixture f;
    f.settings.values["bits_per_second"] = int64_t{1};
    std::optional<int64_t> bps;
    CHECK(read_int(f.api, f.cfg, "bits_per_second", bps));
    REQUIRE(bps == int64_t{1});
    CHECK(f.settings.errors.empty());
    CHECK(check_bounds(f.api, f.cfg, "bits_per_second", {1, 8}, *bps));
    CHECK_FALSE(check_bounds(f.api, f.cfg, "bits_per_second", {8, 100000000000, "bit/s"}, *bps));
    CHECK(f.settings.errors ==
          std::vector<std::string>{
              "bits_per_second: must be between 8 and 100000000000 bit/s, not 1"});
}
