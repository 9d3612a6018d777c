// status — live counters of the server, like Apache's mod_status or nginx's stub_status.
//
//   [[location]]
//   prefix = "/server-status"
//   handler = "status"
//   [location.status]
//   refresh_seconds = 5      # how often the HTML page refetches the JSON; 0: no script
//
// One location, three formats. `?format=html|json|prometheus` wins; else the path below the
// prefix: `/json` is JSON, `/metrics` the Prometheus text format 0.0.4, `/` (or nothing) is
// negotiated: JSON when Accept names application/json, else the HTML page. Other paths are 404.
// GET and HEAD only (else 405 with Allow); every answer is Cache-Control: no-store.
//
// The numbers come from api->server_stats (ABI 1.1), hence min_host_minor = 1. The HTML page is
// complete without JavaScript; its small inline script refetches the JSON and redraws the table.
#include "render.hpp"

#include <dialtone/plugin.h>
#include <dialtone/plugin_support/boundary.hpp>
#include <dialtone/plugin_support/config.hpp>
#include <dialtone/plugin_support/text.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace support = dialtone::plugin_support;
using dialtone::status::render_html;
using dialtone::status::render_json;
using dialtone::status::render_prometheus;
using dialtone::status::Snapshot;
using support::view;

const dt_api_t *api;

constexpr int64_t kDefaultRefreshSeconds = 5;
constexpr int64_t kMaxRefreshSeconds = 3600;

struct Instance {
    int64_t refresh_seconds = kDefaultRefreshSeconds;
};

enum class Format { html, json, prometheus, unknown_path, unknown_format };

// Whether an Accept header lists application/json with a non-zero q.
bool accepts_json(std::string_view accept) {
    while (!accept.empty()) {
        size_t comma = accept.find(',');
        std::string_view range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? "" : accept.substr(comma + 1);
        size_t semi = range.find(';');
        if (!support::iequals(support::trim_ows(range.substr(0, semi)), "application/json"))
            continue;
        std::string_view params = semi == std::string_view::npos ? "" : range.substr(semi);
        size_t q = params.find("q=");
        if (q == std::string_view::npos)
            return true;
        std::string_view value = support::trim_ows(params.substr(q + 2));
        return !(value.substr(0, 1) == "0" &&
                 value.find_first_of("123456789") == std::string_view::npos);
    }
    return false;
}

Format choose_format(dt_req_t *req, bool &negotiated) {
    negotiated = false;
    std::string_view format =
        support::query_param(view(api->req_query(req)), "format").value_or("");
    if (!format.empty()) {
        if (format == "html")
            return Format::html;
        if (format == "json")
            return Format::json;
        if (format == "prometheus")
            return Format::prometheus;
        return Format::unknown_format;
    }
    std::string_view path = view(api->req_path_info(req));
    if (path == "/json")
        return Format::json;
    if (path == "/metrics")
        return Format::prometheus;
    if (!path.empty() && path != "/")
        return Format::unknown_path;
    negotiated = true;
    return accepts_json(view(api->req_header(req, "Accept", 6))) ? Format::json : Format::html;
}

bool take_snapshot(dt_req_t *req, Snapshot &s) {
    s.server.size = sizeof s.server;
    int n = api->server_stats(req, &s.server, nullptr, 0);
    for (int attempt = 0; n >= 0 && attempt < 3; ++attempt) {
        dt_worker_stats_t blank{};
        blank.size = sizeof blank;
        s.workers.assign(static_cast<size_t>(n), blank);
        int now = api->server_stats(req, nullptr, s.workers.data(), static_cast<uint32_t>(n));
        if (now <= n) { // the count changes only if the server does; retry if it grew
            s.workers.resize(static_cast<size_t>(now < 0 ? 0 : now));
            n = now;
            break;
        }
        n = now;
    }
    if (n < 0)
        return false;
    s.totals = dialtone::status::add_up(s.workers);
    return true;
}

int add_header(dt_req_t *req, std::string_view name, std::string_view value) {
    return api->resp_add_header(req, name.data(), name.size(), value.data(), value.size());
}

// A whole response with a declared length (counted, not sent, on HEAD).
int respond(dt_req_t *req, int status, std::string_view type, const std::string &body,
            bool vary_accept) {
    if (api->resp_set_status(req, status) != 0 || add_header(req, "Content-Type", type) != 0 ||
        add_header(req, "Cache-Control", "no-store") != 0 ||
        add_header(req, "X-Content-Type-Options", "nosniff") != 0 ||
        (vary_accept && add_header(req, "Vary", "Accept") != 0) ||
        api->resp_set_length(req, body.size()) != 0)
        return 500;
    if (type.substr(0, 9) == "text/html" &&
        add_header(req, "Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'") != 0)
        return 500;
    if (!body.empty())
        api->req_write(req, body.data(), body.size()); // fails only if the client is gone
    return DT_DONE;
}

int handle(const Instance &in, dt_req_t *req) {
    std::string_view method = view(api->req_method(req));
    if (method != "GET" && method != "HEAD") {
        if (add_header(req, "Allow", "GET, HEAD") != 0)
            return 500;
        return respond(req, 405, "text/plain; charset=utf-8", "405 method not allowed\n", false);
    }
    bool negotiated = false;
    Format format = choose_format(req, negotiated);
    if (format == Format::unknown_path)
        return 404;
    if (format == Format::unknown_format)
        return respond(req, 400, "text/plain; charset=utf-8",
                       "unknown format: use format=html, json or prometheus\n", false);
    Snapshot s;
    if (!take_snapshot(req, s))
        return 500;
    switch (format) {
    case Format::json:
        return respond(req, 200, "application/json", render_json(s), negotiated);
    case Format::prometheus:
        return respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(s),
                       negotiated);
    default:
        return respond(req, 200, "text/html; charset=utf-8", render_html(s, in.refresh_seconds),
                       negotiated);
    }
}

int create(const dt_config_t *cfg, void **instance) {
    auto in = std::make_unique<Instance>();
    if (!support::read_bounded(*api, cfg, "refresh_seconds",
                               {0, kMaxRefreshSeconds, "seconds (0: no refreshing)"},
                               in->refresh_seconds))
        return 1;
    *instance = in.release();
    return 0;
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    if (api->size < offsetof(dt_api_t, server_stats) + sizeof api->server_stats) {
        snprintf(err, err_len, "status: the host lacks server_stats (needs ABI 1.1)");
        return 1;
    }
    return support::create_boundary("status", err, err_len, [&] { return create(cfg, instance); });
}

void on_destroy(void *instance) noexcept {
    const std::unique_ptr<Instance> in(static_cast<Instance *>(instance));
}

int on_handle(void *instance, dt_req_t *req) {
    return support::handle_boundary(
        *api, "status", [&] { return handle(*static_cast<const Instance *>(instance), req); });
}

const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    1, // min_host_minor: server_stats arrived in 1.1
    0, // flags
    "status",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr, // on_writable: a page is far below the write watermark
    nullptr, // on_abort: nothing is held past on_handle
    nullptr, // on_stop: nothing waits
    {},
};

} // namespace

extern "C" {
DT_PLUGIN_DEFINE(plugin, api)
}
