#include <dialtone/fileserve/file_server.hpp>

#include <utility>

namespace dialtone::fileserve {

namespace {

using StringAccessor = int (*)(const dt_config_t *, const char *, dt_str_t *);

// 0, DT_ENOENT (absent: `out` untouched) or another DT_E* code (reported by the host).
int read_string(StringAccessor get, const dt_config_t *cfg, const char *key, std::string &out) {
    dt_str_t value;
    const int rc = get(cfg, key, &value);
    if (rc == 0)
        out.assign(value.ptr, value.len);
    return rc;
}

bool read_bool(const dt_api_t &api, const dt_config_t *cfg, const char *key, bool &out) {
    int value = 0;
    const int rc = api.config_bool(cfg, key, &value);
    if (rc == 0)
        out = value != 0;
    return rc == 0 || rc == DT_ENOENT;
}

// An optional integer within [lo, hi]; false after a problem was reported.
template <class T>
bool read_bounded(const dt_api_t &api, const dt_config_t *cfg, const char *key, int64_t lo,
                  int64_t hi, const char *unit, T &out) {
    int64_t n;
    const int rc = api.config_int(cfg, key, &n);
    if (rc == DT_ENOENT)
        return true;
    if (rc != 0)
        return false; // the host reported the type error
    if (n < lo || n > hi) {
        api.config_error(cfg, key, "must be between %lld and %lld %s", static_cast<long long>(lo),
                         static_cast<long long>(hi), unit);
        return false;
    }
    out = static_cast<T>(n);
    return true;
}

} // namespace

bool read_options(const dt_api_t &api, const dt_config_t *cfg, Options &options) {
    int rc = read_string(api.config_path, cfg, "root", options.root);
    if (rc == DT_ENOENT)
        api.config_error(cfg, nullptr, "`root` is required: the folder to serve");
    if (rc != 0)
        return false;

    std::string mime_types;
    rc = read_string(api.config_path, cfg, "mime_types", mime_types);
    if (rc == 0)
        options.mime_types = std::move(mime_types);
    else if (rc != DT_ENOENT)
        return false;

    for (auto [key, value] :
         {std::pair{"index", &options.index}, std::pair{"cache_control", &options.cache_control}}) {
        rc = read_string(api.config_string, cfg, key, *value);
        if (rc != 0 && rc != DT_ENOENT)
            return false;
    }
    return read_bool(api, cfg, "follow_symlinks", options.follow_symlinks) &&
           read_bool(api, cfg, "etag", options.etag) &&
           read_bounded(api, cfg, "file_cache", 0, 1000000, "entries (0: off)",
                        options.file_cache) &&
           read_bounded(api, cfg, "file_cache_valid_ms", 1, 3600000, "ms",
                        options.file_cache_valid_ms);
}

} // namespace dialtone::fileserve
