// dialtone/plugin_support/config.hpp — reading a location's settings in on_create through the
// host's accessors (dt_api_t.config_*), so that every plugin reads, bounds and reports them the
// same way.
//
// Every reader leaves `out` untouched when the key is absent and returns true then, and true
// when it read a good value. It returns false after the problem was reported: a wrong type by
// the host itself, a value out of bounds by config_error as "must be between <lo> and <hi>
// <unit>, not <value>" at the key's position (check_bounds), the form the runtime's own
// settings use. on_create then returns non-zero.
// Threads: only inside on_create (the accessors' rule). Ownership: strings are copied into `out`.
#pragma once

#include <dialtone/plugin.h>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace dialtone::plugin_support {

// The inclusive range an integer setting must fall in, and what its unit is called in the
// message ("ms", "bytes", "entries (0: off)"; "" for none). lo and hi must fit the target type.
struct Bounds {
    int64_t lo;
    int64_t hi;
    const char *unit = "";
};

// Whether `value`, read from setting `key`, is within `bounds`; if not, reports it at the key
// with config_error. For a value whose bounds are checked after other settings were weighed.
inline bool check_bounds(const dt_api_t &api, const dt_config_t *cfg, const char *key,
                         const Bounds &bounds, int64_t value) {
    if (value >= bounds.lo && value <= bounds.hi)
        return true;
    api.config_error(cfg, key, "must be between %lld and %lld%s%s, not %lld",
                     static_cast<long long>(bounds.lo), static_cast<long long>(bounds.hi),
                     *bounds.unit ? " " : "", bounds.unit, static_cast<long long>(value));
    return false;
}

namespace detail {

using StringAccessor = int (*)(const dt_config_t *, const char *, dt_str_t *);

inline bool read_text(StringAccessor get, const dt_config_t *cfg, const char *key,
                      std::optional<std::string> &out) {
    dt_str_t value;
    const int rc = get(cfg, key, &value);
    if (rc == 0)
        out.emplace(value.ptr, value.len);
    return rc == 0 || rc == DT_ENOENT;
}

inline bool read_text(StringAccessor get, const dt_config_t *cfg, const char *key,
                      std::string &out) {
    std::optional<std::string> value;
    if (!read_text(get, cfg, key, value))
        return false;
    if (value)
        out = std::move(*value);
    return true;
}

template <std::integral T> void assign(T &out, int64_t n) { out = static_cast<T>(n); }
template <std::integral T> void assign(std::optional<T> &out, int64_t n) {
    out = static_cast<T>(n);
}

} // namespace detail

// A string setting. `out` is a std::string (keeps its default when absent) or a
// std::optional<std::string> (set only when present).
template <class Out>
bool read_string(const dt_api_t &api, const dt_config_t *cfg, const char *key, Out &out) {
    return detail::read_text(api.config_string, cfg, key, out);
}

// A path setting: relative values are resolved against the folder of the config file that set
// them (config_path). `out` as for read_string.
template <class Out>
bool read_path(const dt_api_t &api, const dt_config_t *cfg, const char *key, Out &out) {
    return detail::read_text(api.config_path, cfg, key, out);
}

// A boolean setting.
inline bool read_bool(const dt_api_t &api, const dt_config_t *cfg, const char *key, bool &out) {
    int value = 0;
    const int rc = api.config_bool(cfg, key, &value);
    if (rc == 0)
        out = value != 0;
    return rc == 0 || rc == DT_ENOENT;
}

// An integer setting within `bounds`, into an integer `out` (keeps its default when absent)
// or a std::optional of one (set only when present: a setting that is one of alternatives).
template <class Out>
bool read_bounded(const dt_api_t &api, const dt_config_t *cfg, const char *key, Bounds bounds,
                  Out &out) {
    int64_t n = 0;
    const int rc = api.config_int(cfg, key, &n);
    if (rc == DT_ENOENT)
        return true;
    if (rc != 0 || !check_bounds(api, cfg, key, bounds, n))
        return false; // reported: the type by the host, the value by check_bounds
    detail::assign(out, n);
    return true;
}

// An integer setting of any value (bounds checked later, with check_bounds); `out` as above.
template <class Out>
bool read_int(const dt_api_t &api, const dt_config_t *cfg, const char *key, Out &out) {
    return read_bounded(api, cfg, key, {INT64_MIN, INT64_MAX}, out);
}

} // namespace dialtone::plugin_support
