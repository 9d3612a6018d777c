#include <dialtone/fileserve/file_server.hpp>

#include <dialtone/plugin_support/config.hpp>

#include <utility>

namespace dialtone::fileserve {

namespace support = dialtone::plugin_support;

bool read_options(const dt_api_t &api, const dt_config_t *cfg, Options &options) {
    std::optional<std::string> root;
    if (!support::read_path(api, cfg, "root", root))
        return false;
    if (!root) {
        api.config_error(cfg, nullptr, "`root` is required: the folder to serve");
        return false;
    }
    options.root = std::move(*root);
    return support::read_path(api, cfg, "mime_types", options.mime_types) &&
           support::read_string(api, cfg, "index", options.index) &&
           support::read_string(api, cfg, "cache_control", options.cache_control) &&
           support::read_bool(api, cfg, "follow_symlinks", options.follow_symlinks) &&
           support::read_bool(api, cfg, "etag", options.etag) &&
           support::read_bounded(api, cfg, "file_cache", {0, 1000000, "entries (0: off)"},
                                 options.file_cache) &&
           support::read_bounded(api, cfg, "file_cache_valid_ms", {1, 3600000, "ms"},
                                 options.file_cache_valid_ms);
}

std::unique_ptr<FileServer> create_from_config(const dt_api_t &api, const dt_config_t *cfg) {
    Options options;
    if (!read_options(api, cfg, options))
        return nullptr;
    CreateError error;
    std::unique_ptr<FileServer> server = FileServer::create(std::move(options), error);
    if (!server)
        api.config_error(cfg, error.key.empty() ? nullptr : error.key.c_str(), "%s",
                         error.message.c_str());
    return server;
}

} // namespace dialtone::fileserve
