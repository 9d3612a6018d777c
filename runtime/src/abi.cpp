// The host side of plugin.h: dt_api_t's functions, each a thin check-and-forward to the
// request, connection or config objects.
#include "abi.hpp"

#include "connection.hpp"
#include "dialtone/log.hpp"
#include "exchange.hpp"
#include "generation.hpp"
#include "http.hpp"
#include "inbox.hpp"
#include "plugin_settings.hpp"
#include "request.hpp"
#include "server_core.hpp"
#include "timer.hpp"
#include "worker.hpp"

#include <chrono>
#include <cstdarg>
#include <cstring>
#include <set>

// The settings a plugin reads in on_create, and what it has asked for.
struct dt_config {
    dialtone::Location *loc;
    const toml::table *table; // null: the location has no settings table
    std::string file;
    std::string section;
    std::set<std::string, std::less<>> used;
    std::vector<std::string> problems;
    void *context = nullptr; // the application's, for an in-process plugin
    const std::vector<std::unique_ptr<dialtone::UpstreamGroup>> *upstreams = nullptr;
};

namespace dialtone {

namespace {

using Cfg = dt_config;

const char *api_strerror(int err) {
    switch (err) {
#define DT__ERR_CASE(name, value, text)                                                            \
    case DT_##name:                                                                                \
        return text;
        DT_ERRNO_MAP(DT__ERR_CASE)
#undef DT__ERR_CASE
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

void api_log(dt_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int l = level < DT_LOG_ERROR ? 0 : level > DT_LOG_DEBUG ? 3 : static_cast<int>(level);
    vlog(static_cast<LogLevel>(l), nullptr, fmt, ap);
    va_end(ap);
}

const toml::node *lookup(const dt_config_t *cfg, const char *key) {
    auto *c = const_cast<Cfg *>(cfg);
    if (!c || !key)
        return nullptr;
    c->used.insert(key);
    return c->table ? c->table->get(key) : nullptr;
}

// "file:line:col: " for `n` (or the settings table), to start a message with; "" when there is
// no position to give (a location built in code without a settings table).
std::string where(const Cfg *c, const toml::node *n) {
    std::string at = n          ? source_position(c->file, n->source())
                     : c->table ? source_position(c->file, c->table->source())
                                : c->file;
    return at.empty() ? at : at + ": ";
}

int type_error(const dt_config_t *cfg, const char *key, const toml::node *n, const char *want) {
    auto *c = const_cast<Cfg *>(cfg);
    c->problems.push_back(where(c, n) + c->section + "." + key + ": expected " + want);
    return DT_ETYPE;
}

dt_str_t str(std::string_view v) { return {v.data(), v.size()}; }

// One accessor: `key` absent is DT_ENOENT (`*out` untouched); `take(node)` false means another
// type, reported as expecting `want`, DT_ETYPE.
template <class Take>
int read_config(const dt_config_t *cfg, const char *key, const char *want, Take take) {
    const toml::node *n = lookup(cfg, key);
    if (!n)
        return DT_ENOENT;
    return take(*n) ? 0 : type_error(cfg, key, n, want);
}

int api_config_string(const dt_config_t *cfg, const char *key, dt_str_t *out) {
    return read_config(cfg, key, "a string", [&](const toml::node &n) {
        auto *s = n.as_string();
        if (s)
            *out = str(s->get());
        return s != nullptr;
    });
}

int api_config_int(const dt_config_t *cfg, const char *key, int64_t *out) {
    return read_config(cfg, key, "an integer", [&](const toml::node &n) {
        auto v = n.value_exact<int64_t>();
        if (v)
            *out = *v;
        return v.has_value();
    });
}

int api_config_bool(const dt_config_t *cfg, const char *key, int *out) {
    return read_config(cfg, key, "a boolean (true or false)", [&](const toml::node &n) {
        auto v = n.value_exact<bool>();
        if (v)
            *out = *v ? 1 : 0;
        return v.has_value();
    });
}

int api_config_double(const dt_config_t *cfg, const char *key, double *out) {
    return read_config(cfg, key, "a number", [&](const toml::node &n) {
        auto v = n.value<double>(); // integers convert
        bool number = v && (n.is_floating_point() || n.is_integer());
        if (number)
            *out = *v;
        return number;
    });
}

int api_config_path(const dt_config_t *cfg, const char *key, dt_str_t *out) {
    return read_config(cfg, key, "a string (a file or folder path)", [&](const toml::node &n) {
        auto *s = n.as_string();
        if (!s)
            return false;
        // Relative to the folder of the config file that set it; owned by the location.
        Location &loc = *cfg->loc;
        const std::string &v = s->get();
        auto owned = std::make_unique<std::string>(
            v.empty() || v[0] == '/' ? v : loc.settings->dir + "/" + v);
        *out = str(*owned);
        loc.owned.push_back(std::move(owned));
        return true;
    });
}

int api_config_list_size(const dt_config_t *cfg, const char *key, size_t *count) {
    return read_config(cfg, key, "an array of strings", [&](const toml::node &n) {
        auto *arr = n.as_array();
        if (arr)
            *count = arr->size();
        return arr != nullptr;
    });
}

int api_config_list_string(const dt_config_t *cfg, const char *key, size_t index, dt_str_t *out) {
    const toml::node *item = nullptr;
    int rc = read_config(cfg, key, "an array of strings", [&](const toml::node &n) {
        auto *arr = n.as_array();
        if (arr && index < arr->size())
            item = arr->get(index);
        return arr != nullptr;
    });
    if (rc != 0)
        return rc;
    if (!item)
        return DT_ERANGE;
    auto *s = item->as_string();
    if (!s)
        return type_error(cfg, key, item, "an array of strings");
    *out = str(s->get());
    return 0;
}

void api_config_error(const dt_config_t *cfg, const char *key, const char *fmt, ...) {
    auto *c = const_cast<Cfg *>(cfg);
    if (!c)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const toml::node *n = key && c->table ? c->table->get(key) : nullptr;
    c->problems.push_back(where(c, n) + c->section + (key ? "." + std::string(key) : "") + ": " +
                          msg);
}

void *api_config_context(const dt_config_t *cfg) { return cfg ? cfg->context : nullptr; }

const dt_upstream_t *api_config_upstream(const dt_config_t *cfg, const char *name) {
    if (!cfg || !name || !cfg->upstreams)
        return nullptr;
    for (const auto &g : *cfg->upstreams)
        if (g->config().name == name)
            return g->c();
    return nullptr;
}

// ---- Requests -------------------------------------------------------------------------------

const Request *R(const dt_req_t *r) { return Request::from(r); }
Request *R(dt_req_t *r) { return Request::from(r); }

dt_str_t api_req_method(const dt_req_t *r) { return str(R(r)->method_name); }
dt_str_t api_req_target(const dt_req_t *r) { return str(R(r)->target()); }
dt_str_t api_req_path(const dt_req_t *r) { return str(R(r)->path); }
dt_str_t api_req_path_info(const dt_req_t *r) {
    std::string_view info = std::string_view(R(r)->path).substr(R(r)->path_info_off);
    if (info.empty())
        info = "/";
    return str(info);
}
dt_str_t api_req_query(const dt_req_t *r) {
    std::string_view t = R(r)->target();
    size_t q = t.find('?');
    if (q == std::string_view::npos)
        return {nullptr, 0};
    return str(t.substr(q + 1));
}
dt_str_t api_req_header(const dt_req_t *r, const char *name, size_t len) {
    for (const HeaderRef &h : R(r)->headers)
        if (http::iequals(R(r)->header_name(h), std::string_view(name, len)))
            return str(R(r)->header_value(h));
    return {nullptr, 0};
}
int api_req_header_at(const dt_req_t *r, size_t index, dt_str_t *name, dt_str_t *value) {
    if (index >= R(r)->headers.size())
        return DT_ENOENT;
    const HeaderRef &h = R(r)->headers[index];
    *name = str(R(r)->header_name(h));
    *value = str(R(r)->header_value(h));
    return 0;
}
dt_str_t api_req_body(const dt_req_t *r) { return str(R(r)->body); }
dt_str_t api_req_remote_addr(const dt_req_t *r) { return {R(r)->remote, strlen(R(r)->remote)}; }
int api_req_http_version(const dt_req_t *r) { return R(r)->http_version; }
void *api_req_alloc(dt_req_t *r, size_t size) {
    MutexLock lock(R(r)->mu);
    return R(r)->arena.alloc(size);
}
void api_req_set_data(dt_req_t *r, void *data) { R(r)->plugin_data = data; }
void *api_req_data(const dt_req_t *r) { return R(r)->plugin_data; }

// Response-shaping calls are allowed while the request is live and its head unsent.
int head_state(const Request *q) DT_REQUIRES(q->mu) {
    if (q->phase == Phase::aborted)
        return DT_EABORTED;
    if (q->phase != Phase::open)
        return DT_ESTATE;
    return 0;
}

int api_resp_set_status(dt_req_t *r, int status) {
    Request *q = R(r);
    if (status <= 100 || status >= 600)
        return DT_EINVAL;
    MutexLock lock(q->mu);
    if (int e = head_state(q))
        return e;
    q->status = status;
    q->touched = true;
    return 0;
}

bool valid_field(const char *p, size_t len, bool name) {
    if (name && len == 0)
        return false;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(p[i]);
        if (c == '\r' || c == '\n' || c == 0)
            return false;
        if (name && (c <= ' ' || c == ':' || c >= 0x7f))
            return false;
    }
    return true;
}

int api_resp_add_header(dt_req_t *r, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
    Request *q = R(r);
    if (!name || !valid_field(name, name_len, true) || (!value && value_len) ||
        !valid_field(value, value_len, false))
        return DT_EINVAL;
    std::string_view n(name, name_len);
    // string_views made at compile time: from a braced list of literals they cost a strlen each
    // on every call.
    static constexpr std::string_view kReserved[] = {"date", "server", "connection",
                                                     "transfer-encoding", "content-length"};
    for (std::string_view reserved : kReserved)
        if (http::iequals(n, reserved))
            return DT_EINVAL;
    MutexLock lock(q->mu);
    if (int e = head_state(q))
        return e;
    if (q->resp_headers.empty())
        q->resp_headers.reserve(256); // a usual head's fields in one allocation, not three
    q->resp_headers.append(name, name_len).append(": ").append(value, value_len).append("\r\n");
    q->touched = true;
    return 0;
}

int api_resp_set_length(dt_req_t *r, uint64_t length) {
    Request *q = R(r);
    if (length > static_cast<uint64_t>(INT64_MAX))
        return DT_ERANGE;
    MutexLock lock(q->mu);
    if (int e = head_state(q))
        return e;
    q->resp_length = static_cast<int64_t>(length);
    q->touched = true;
    return 0;
}

int api_req_write(dt_req_t *r, const void *data, size_t len) {
    if (!data && len)
        return DT_EINVAL;
    return R(r)->submit(ResponseOp(BodyPart::copy_of(data, len)));
}

int api_req_write_ref(dt_req_t *r, const void *data, size_t len, dt_release_cb release, void *arg) {
    if (!data && len)
        return DT_EINVAL;
    return R(r)->submit(ResponseOp(BodyPart::lent(data, len, release, arg)));
}

// One file-range operation: owned (the runtime closes fd) or borrowed (release(arg) instead).
int submit_file(dt_req_t *r, int fd, uint64_t offset, uint64_t len, bool borrowed,
                dt_release_cb release, void *arg) {
    if (fd < 0 || len > SIZE_MAX)
        return DT_EINVAL;
    return R(r)->submit(ResponseOp(
        BodyPart::file_range(fd, offset, static_cast<size_t>(len), borrowed, release, arg)));
}

int api_req_send_file(dt_req_t *r, int fd, uint64_t offset, uint64_t len) {
    return submit_file(r, fd, offset, len, false, nullptr, nullptr);
}

int api_req_send_file_ref(dt_req_t *r, int fd, uint64_t offset, uint64_t len, dt_release_cb release,
                          void *arg) {
    return submit_file(r, fd, offset, len, true, release, arg);
}

int api_req_finish(dt_req_t *r) { return R(r)->submit(ResponseOp{ResponseOp::finish}); }
int api_req_fail(dt_req_t *r, int status) { return R(r)->fail(status); }

void api_req_retain(dt_req_t *r) { R(r)->retain(); }
void api_req_release(dt_req_t *r) { R(r)->release(); }

int api_req_resume(dt_req_t *r, dt_req_cb cb, void *arg) {
    Request *q = R(r);
    if (!cb)
        return DT_EINVAL;
    // From a worker thread the continuation runs on that worker (no hop, and the runtime's
    // work spreads over workers); from any other thread, on the connection's own worker.
    Worker *current = Worker::current();
    Inbox *target = current ? current->inbox().get() : q->inbox.get();
    q->retain();
    auto task = [q, cb, arg] {
        q->run({Continuation::callback, cb, arg});
        q->release();
    };
    if (target->post(task))
        return 0;
    if (target != q->inbox.get() && q->inbox->post(task))
        return 0;
    // The request's worker has ended (the server is stopping or gone; the request was aborted
    // when its connection closed): run it here, still one at a time with the request's other
    // hooks, so that the plugin always gets its callback exactly once.
    task();
    return 0;
}

int api_timer_start(dt_req_t *r, uint64_t delay_ms, dt_req_cb cb, void *arg, dt_timer_id_t *id) {
    return start_timer(*R(r), delay_ms, cb, arg, id);
}

int api_timer_stop(dt_req_t *r, dt_timer_id_t id) { return stop_timer(*R(r), id); }

uint64_t api_now_ms() { return uv_hrtime() / 1000000; }

// Copies `full` into the caller's struct, as much as the caller's size says it has.
template <class T> void copy_sized(T *out, const T &full) {
    uint32_t size = out->size < sizeof(T) ? out->size : static_cast<uint32_t>(sizeof(T));
    if (size > sizeof(uint32_t))
        memcpy(reinterpret_cast<char *>(out) + sizeof(uint32_t),
               reinterpret_cast<const char *>(&full) + sizeof(uint32_t), size - sizeof(uint32_t));
}

int api_server_stats(dt_req_t *r, dt_server_stats_t *server, dt_worker_stats_t *workers,
                     uint32_t max_workers) {
    Request *q = Request::from(r);
    if (!q || (max_workers > 0 && !workers))
        return DT_EINVAL;
    // Only from a worker of the request's server, which is then surely alive (a callback run
    // on a plugin thread after the server stopped gets DT_ESTATE).
    Worker *w = Worker::current();
    if (!w || w->inbox()->server() != q->inbox->server())
        return DT_ESTATE;
    ServerStats s = w->server().stats();
    if (server) {
        dt_server_stats_t full{};
        full.workers = static_cast<uint32_t>(s.workers.size());
        full.started_unix_ms = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(s.started.time_since_epoch())
                .count());
        full.uptime_ms = static_cast<uint64_t>(s.uptime.count());
        full.max_connections = s.max_connections;
        full.version = DIALTONE_VERSION;
        copy_sized(server, full);
    }
    for (uint32_t i = 0; i < max_workers && i < s.workers.size(); ++i) {
        const WorkerStats &w = s.workers[i];
        dt_worker_stats_t full{};
        full.index = w.index;
        full.connections = w.connections;
        full.accepted = w.accepted;
        full.requests = w.requests;
        full.active = w.active;
        full.suspended = w.suspended;
        full.bytes_sent = w.bytes_sent;
        full.upstream_exchanges = w.upstream_exchanges;
        full.upstream_active = w.upstream_active;
        full.upstream_failed = w.upstream_failed;
        full.upstream_connects = w.upstream_connects;
        full.upstream_idle = w.upstream_idle;
        copy_sized(&workers[i], full);
    }
    return static_cast<int>(s.workers.size());
}

int api_exchange_start(dt_req_t *r, const dt_upstream_t *up, const dt_exchange_req_t *xreq,
                       const dt_exchange_cbs_t *cbs, void *arg, dt_exchange_t **ex) {
    if (!r || !up || !xreq || !cbs || !ex)
        return DT_EINVAL;
    return Exchange::start(*R(r), *UpstreamGroup::from(up), *xreq, *cbs, arg, ex);
}
int api_exchange_resume(dt_exchange_t *ex) { return ex ? Exchange::from(ex)->resume() : DT_EINVAL; }
int api_exchange_cancel(dt_exchange_t *ex) { return ex ? Exchange::from(ex)->cancel() : DT_EINVAL; }
int api_exchange_detach(dt_exchange_t *ex) { return ex ? Exchange::from(ex)->detach() : DT_EINVAL; }
int api_req_forward(dt_req_t *r, dt_exchange_t *ex) {
    return r && ex ? Exchange::from(ex)->forward(*R(r)) : DT_EINVAL;
}

const dt_api_t g_api = {
    sizeof(dt_api_t),
    DT_ABI_MAJOR,
    DT_ABI_MINOR,
    api_strerror,
    api_log,
    api_config_string,
    api_config_int,
    api_config_bool,
    api_config_double,
    api_config_path,
    api_config_list_size,
    api_config_list_string,
    api_config_error,
    api_req_method,
    api_req_target,
    api_req_path,
    api_req_path_info,
    api_req_query,
    api_req_header,
    api_req_header_at,
    api_req_body,
    api_req_remote_addr,
    api_req_http_version,
    api_req_alloc,
    api_req_set_data,
    api_req_data,
    api_resp_set_status,
    api_resp_add_header,
    api_resp_set_length,
    api_req_write,
    api_req_write_ref,
    api_req_send_file,
    api_req_finish,
    api_req_retain,
    api_req_release,
    api_req_resume,
    api_timer_start,
    api_timer_stop,
    api_now_ms,
    api_req_send_file_ref,
    api_server_stats,
    api_config_context,
    api_req_fail,
    api_config_upstream,
    api_exchange_start,
    api_exchange_resume,
    api_exchange_cancel,
    api_exchange_detach,
    api_req_forward,
};

} // namespace

const dt_api_t *host_api() { return &g_api; }

std::string create_instance(Location &loc,
                            const std::vector<std::unique_ptr<UpstreamGroup>> &upstreams,
                            void *context) {
    dt_config cfg;
    cfg.context = context;
    cfg.upstreams = &upstreams;
    cfg.loc = &loc;
    cfg.table = loc.settings ? &loc.settings->table : nullptr;
    cfg.file = loc.settings ? loc.settings->file : "";
    cfg.section = loc.section;
    char err[512] = {0};
    void *instance = nullptr;
    const dt_plugin_t *d = loc.plugin->desc;
    int rc = d->on_create(&cfg, &instance, err, sizeof err);
    err[sizeof err - 1] = 0;
    if (rc == 0 && cfg.table) {
        for (auto &&[k, v] : *cfg.table) {
            if (cfg.used.count(k.str()))
                continue;
            cfg.problems.push_back(source_position(cfg.file, k.source()) + ": " + cfg.section +
                                   "." + std::string(k.str()) + ": unknown key for plugin \"" +
                                   loc.plugin->name + "\"");
        }
    }
    if (rc != 0 && cfg.problems.empty())
        cfg.problems.push_back(cfg.section + ": plugin \"" + loc.plugin->name + "\" (" +
                               loc.plugin->path + ") refused its settings" +
                               (err[0] ? std::string(": ") + err : std::string()));
    else if (rc != 0 && err[0])
        cfg.problems.push_back(cfg.section + ": " + err);
    if (rc == 0 && !cfg.problems.empty() && d->on_destroy)
        d->on_destroy(instance);
    if (!cfg.problems.empty()) {
        std::string all;
        for (const auto &p : cfg.problems)
            all += (all.empty() ? "" : "\n") + p;
        return all;
    }
    loc.instance = instance;
    loc.created = true;
    return "";
}

} // namespace dialtone
