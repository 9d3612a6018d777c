// proxy — a reverse proxy to an [[upstream]] group, on the host's upstream exchanges (ABI 1.3).
//
//   [[upstream]]
//   name = "app"
//   servers = ["127.0.0.1:8080", "127.0.0.1:8081"]
//
//   [[location]]
//   prefix = "/app"
//   handler = "proxy"
//   [location.proxy]
//   upstream = "app"         # required: the group's name
//   preserve_host = false    # true: send the client's Host; false: the group's name (nginx's
//                            # default, proxy_set_header Host $proxy_host)
//   strip_prefix = false     # true: "/app/x" goes upstream as "/x"
//
// The request goes upstream with its method, target, body and end-to-end fields (shape.hpp
// says which change); the response comes back through the host (req_forward): streamed with
// backpressure both ways, never held whole, and a response the upstream cut short reaches the
// client visibly broken (req_fail), never as a complete one. Failures before the response head
// answer 502 (connect, reset, invalid response), 503 (every server marked down) or 504 (a
// timeout), as nginx does.
//
// The plugin itself keeps no state per request but the exchange's: the host holds the request
// while the exchange runs, and calls on_done exactly once.
#include "shape.hpp"

#include <dialtone/plugin.h>
#include <dialtone/plugin_support/boundary.hpp>
#include <dialtone/plugin_support/config.hpp>
#include <dialtone/plugin_support/text.hpp>

#include <cstddef>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace support = dialtone::plugin_support;
namespace proxy = dialtone::proxy;
using support::view;

const dt_api_t *api;

struct Instance {
    const dt_upstream_t *upstream = nullptr;
    bool preserve_host = false;
    bool strip_prefix = false;
};

// The field lists of one call, per thread and reused by every request: their capacity, never
// their contents, outlives the call (each call clears them first). on_handle's and on_head's are
// apart, so one running inside the other could not clobber the other's lists.
struct Lists {
    std::vector<proxy::Field> in, out;
    std::vector<dt_field_t> list;
};
thread_local Lists handle_lists, head_lists;

// Per request, from on_handle until on_done (always the exchange's last call) frees it.
struct Pending {
    dt_req_t *req;
    bool forwarded;
};

int status_for(int result) {
    switch (result) {
    case DT_ETIMEDOUT:
        return 504;
    case DT_EUNAVAILABLE:
        return 503;
    default:
        return 502;
    }
}

void on_head(dt_exchange_t *ex, void *arg, const dt_upstream_head_t *head) noexcept {
    auto *p = static_cast<Pending *>(arg);
    try {
        Lists &l = head_lists;
        l.in.clear();
        for (size_t i = 0; i < head->field_count; ++i)
            l.in.push_back({view(head->fields[i].name), view(head->fields[i].value)});
        if (api->resp_set_status(p->req, head->status) != 0)
            return; // aborted meanwhile: on_done follows
        proxy::Joined joined;
        proxy::client_response_fields(l.in, "1.1 dialtone", joined, head->status == 101, l.out);
        for (const proxy::Field &f : l.out)
            api->resp_add_header(p->req, f.name.data(), f.name.size(), f.value.data(),
                                 f.value.size());
    } catch (...) {
        api->exchange_cancel(ex); // out of memory: on_done answers 502
        return;
    }
    p->forwarded = api->req_forward(p->req, ex) == 0;
    if (!p->forwarded)
        api->exchange_cancel(ex);
}

void on_done(dt_exchange_t *, void *arg, int result) noexcept {
    std::unique_ptr<Pending> p(static_cast<Pending *>(arg));
    if (p->forwarded)
        return; // the host finished (or failed) the response itself
    if (result == 0)
        result = DT_EPROTO;
    api->req_fail(p->req, status_for(result)); // DT_EABORTED when the client left: fine
}

int handle(const Instance &in, dt_req_t *req) {
    Lists &l = handle_lists; // free again once exchange_start has copied what it needs
    l.in.clear();
    dt_str_t name, value;
    for (size_t i = 0; api->req_header_at(req, i, &name, &value) == 0; ++i)
        l.in.push_back({view(name), view(value)}); // the request's: valid while it lives
    proxy::RequestShape shape;
    shape.client_addr = view(api->req_remote_addr(req));
    shape.preserve_host = in.preserve_host;
    shape.upgrade = proxy::asks_upgrade(l.in); // a WebSocket, say: tunnelled after a 101
    proxy::Joined joined;
    proxy::upstream_request_fields(l.in, shape, joined, l.out);
    l.list.clear();
    for (const proxy::Field &f : l.out)
        l.list.push_back({{f.name.data(), f.name.size()}, {f.value.data(), f.value.size()}});
    // The target as received unless the prefix goes: then a string of our own.
    std::string_view target = view(api->req_target(req));
    std::string stripped;
    if (in.strip_prefix) {
        // The location's prefix is what the path has before path_info, which keeps its slash,
        // and is "/" when the path is the prefix itself ("/app" under prefix "/app").
        std::string_view path = view(api->req_path(req)), info = view(api->req_path_info(req));
        std::string_view prefix = path;
        if (info != "/" || (!path.empty() && path.back() == '/'))
            prefix = path.substr(0, path.size() - info.size());
        stripped = proxy::upstream_target(target, prefix.empty() ? "/" : prefix, true);
        target = stripped;
    }

    dt_exchange_req_t x{};
    x.size = sizeof x;
    x.method = api->req_method(req);
    x.target = {target.data(), target.size()};
    x.fields = l.list.data();
    x.field_count = l.list.size();
    x.body = api->req_body(req);
    x.flags = shape.upgrade ? DT_EXCHANGE_UPGRADE : 0;
    dt_exchange_cbs_t cbs{};
    cbs.size = sizeof cbs;
    cbs.on_head = on_head;
    cbs.on_done = on_done;

    // Not req_alloc: the arena's first block is 4 KiB, for these 16 bytes on every request.
    std::unique_ptr<Pending> p(new Pending{req, false});
    dt_exchange_t *ex = nullptr;
    int rc = api->exchange_start(req, in.upstream, &x, &cbs, p.get(), &ex);
    if (rc == 0)
        p.release(); // on_done frees it
    if (rc != 0) {
        api->log(DT_LOG_ERROR, "proxy: starting an exchange for %.*s: %s",
                 static_cast<int>(target.size()), target.data(), api->strerror(rc));
        return 502;
    }
    return DT_SUSPENDED;
}

int create(const dt_config_t *cfg, void **instance) {
    auto in = std::make_unique<Instance>();
    std::optional<std::string> upstream;
    if (!support::read_string(*api, cfg, "upstream", upstream) ||
        !support::read_bool(*api, cfg, "preserve_host", in->preserve_host) ||
        !support::read_bool(*api, cfg, "strip_prefix", in->strip_prefix))
        return 1;
    if (!upstream) {
        api->config_error(cfg, nullptr,
                          "upstream is required: the name of an [[upstream]] group to proxy to");
        return 1;
    }
    in->upstream = api->config_upstream(cfg, upstream->c_str());
    if (!in->upstream) {
        api->config_error(cfg, "upstream",
                          "no [[upstream]] group is named \"%s\": add one, or fix the name",
                          upstream->c_str());
        return 1;
    }
    *instance = in.release();
    return 0;
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    if (api->size < offsetof(dt_api_t, req_forward) + sizeof api->req_forward) {
        snprintf(err, err_len, "proxy: the host lacks upstream exchanges (needs ABI 1.3)");
        return 1;
    }
    return support::create_boundary("proxy", err, err_len, [&] { return create(cfg, instance); });
}

void on_destroy(void *instance) noexcept {
    const std::unique_ptr<Instance> in(static_cast<Instance *>(instance));
}

int on_handle(void *instance, dt_req_t *req) {
    return support::handle_boundary(
        *api, "proxy", [&] { return handle(*static_cast<const Instance *>(instance), req); });
}

const dt_plugin_t descriptor = {
    DT_PLUGIN_INIT,
    3, // min_host_minor: upstream exchanges
    0,
    "proxy",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr,
    nullptr,
    nullptr,
    {},
};

} // namespace

extern "C" DT_EXPORT const dt_plugin_t *dt_plugin_entry(const dt_api_t *host) {
    api = host;
    return &descriptor;
}
