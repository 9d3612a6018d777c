// static — serves files from a directory.
//
//   [location.static]
//   root = "www"                 # required; relative to the config file's folder
//   index = "index.html"         # served for a directory URL ending in '/'
//   follow_symlinks = false      # false: symlinks may not lead out of root
//   etag = true                  # ETag and entity-tag preconditions
//   mime_types = "/etc/mime.types"  # default; a built-in table if that file is missing
//   cache_control = "max-age=60" # optional Cache-Control for 200, 206 and 304
//   file_cache = 1024            # paths kept open (descriptor + stat); 0: open every request
//   file_cache_valid_ms = 1000   # how long a cached path is trusted before it is resolved again
//
// GET and HEAD only (else 405 with Allow). Directories without a trailing slash are redirected
// (301, query kept); a directory without its index file is 403 (listings are never generated);
// missing files are 404. Conditionals and single byte ranges follow RFC 9110; several ranges
// are answered with the whole file. The decisions live in dialtone::fileserve, shared with
// dialup; this file is configuration and the hooks.
#include <dialtone/fileserve/file_server.hpp>
#include <dialtone/plugin.h>
#include <dialtone/plugin_support/boundary.hpp>

#include <memory>

namespace {

namespace fs = dialtone::fileserve;
namespace support = dialtone::plugin_support;

const dt_api_t *api;

int create(const dt_config_t *cfg, void **instance) {
    std::unique_ptr<fs::FileServer> server = fs::create_from_config(*api, cfg);
    if (!server)
        return 1;
    *instance = server.release();
    return 0;
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    return support::create_boundary("static", err, err_len, [&] { return create(cfg, instance); });
}

void on_destroy(void *instance) {
    const std::unique_ptr<fs::FileServer> server(static_cast<fs::FileServer *>(instance));
}

int on_handle(void *instance, dt_req_t *req) {
    const auto &server = *static_cast<const fs::FileServer *>(instance);
    return support::handle_boundary(*api, "static", [&] { // only a redirect allocates
        fs::FileResponse response = server.decide(fs::read_request(*api, req));
        return fs::respond(*api, req, response);
    });
}

const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    0, // min_host_minor
    0, // flags
    "static",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr, // on_writable: req_send_file queues the whole range
    nullptr, // on_abort: nothing is held past on_handle
    nullptr, // on_stop: nothing waits
    {},
};

} // namespace

extern "C" {
DT_PLUGIN_DEFINE(plugin, api)
}
