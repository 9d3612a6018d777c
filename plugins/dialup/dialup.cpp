// dialup — serves files at the bandwidth of old modems, never sleeping a thread.
//
//   [location.dialup]
//   root  = "www"            # as the static plugin: index, follow_symlinks, etag,
//   modem = "V.92"           #   mime_types, cache_control, file_cache(_valid_ms) too
//   # bits_per_second = 56000  (instead of modem)
//   # ticks_per_second = 10    slices a second at most (1 to 1000)
//   # min_slice = 4096         bytes a send carries at least (1 to 1048576)
//
// A re-creation of Apache httpd's mod_dialup (built on the Event MPM's suspend feature): the
// handler decides the response like the static plugin (same fileserve library: 304, ranges,
// HEAD, MIME, traversal safety), sends the head, then returns DT_SUSPENDED. A runtime timer
// hands the socket each slice when the schedule allows it (pacing.hpp): a slice is a
// ticks_per_second-th of a second's worth but at least min_slice bytes, so at V.92 the defaults
// send 4,096 bytes every 585 ms. Slices go zero-copy from the open-file cache's descriptor,
// shared by every transfer of that file. Writes that meet backpressure wait for on_writable;
// the schedule then catches up.
#include "pacing.hpp"

#include <dialtone/fileserve/file_server.hpp>
#include <dialtone/plugin.h>
#include <dialtone/plugin_support/boundary.hpp>
#include <dialtone/plugin_support/config.hpp>
#include <dialtone/plugin_support/text.hpp>

#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <sys/stat.h>

namespace {

namespace fs = dialtone::fileserve;
namespace du = dialtone::dialup;
namespace support = dialtone::plugin_support;

const dt_api_t *api;

struct Instance {
    std::unique_ptr<fs::FileServer> files;
    uint64_t bits_per_second = 0;
    uint64_t slice = 0;
};

// One paced response. Owned by the plugin from on_handle until finish or abort.
struct Transfer {
    const Instance *instance;
    fs::FileCache::Entry *file; // one hold, for the transfer's life
    uint64_t offset;            // first byte of the range in the file
    uint64_t total;             // bytes to send
    uint64_t sent = 0;
    std::chrono::steady_clock::time_point start;
    bool waiting_writable = false;
};

uint64_t elapsed_us(const Transfer &t) {
    auto d = std::chrono::steady_clock::now() - t.start;
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

void end_transfer(dt_req_t *req, Transfer *t) {
    api->req_set_data(req, nullptr);
    fs::FileCache::release(t->file);
    delete t;
}

void tick(dt_req_t *req, void *arg) noexcept;

// Sends what the schedule allows and arms the next tick, or finishes.
void pump(dt_req_t *req, Transfer *t) {
    const Instance &in = *t->instance;
    du::Step step = du::next_step(in.bits_per_second, in.slice, t->total, t->sent, elapsed_us(*t));
    if (step.send > 0) {
        fs::FileCache::retain(t->file); // the runtime's borrow, released when the slice is sent
        int rc = api->req_send_file_ref(req, t->file->fd, t->offset + t->sent, step.send,
                                        fs::FileCache::release, t->file);
        if (rc != 0) {
            fs::FileCache::release(t->file);
            if (rc == DT_EAGAIN) { // the client reads slower than the modem: wait for it
                t->waiting_writable = true;
                return;
            }
            end_transfer(req, t); // aborted or refused: nothing more to do
            return;
        }
        t->sent += step.send;
    }
    if (t->sent >= t->total) {
        end_transfer(req, t);
        api->req_finish(req);
        return;
    }
    uint64_t delay_ms = (step.wait_us + 999) / 1000;
    if (api->timer_start(req, delay_ms, tick, t, nullptr) != 0)
        end_transfer(req, t);
}

void tick(dt_req_t *req, void *arg) noexcept { pump(req, static_cast<Transfer *>(arg)); }

int create(const dt_config_t *cfg, void **instance) {
    auto in = std::make_unique<Instance>();
    in->files = fs::create_from_config(*api, cfg);
    if (!in->files)
        return 1;

    std::optional<std::string> modem;
    std::optional<int64_t> bps; // bounded below, once it is known to be the rate in use
    uint64_t ticks = du::kDefaultTicksPerSecond, min_slice = du::kDefaultMinSlice;
    if (!support::read_string(*api, cfg, "modem", modem) ||
        !support::read_int(*api, cfg, "bits_per_second", bps) ||
        !support::read_bounded(*api, cfg, "ticks_per_second", {1, 1000}, ticks) ||
        !support::read_bounded(*api, cfg, "min_slice", {1, 1 << 20, "bytes"}, min_slice))
        return 1;
    if (modem && bps) {
        api->config_error(cfg, "bits_per_second", "give `modem` or `bits_per_second`, not both");
        return 1;
    }
    if (modem) {
        const du::Modem *m = du::find_modem(*modem);
        if (!m) {
            api->config_error(cfg, "modem",
                              "unknown modem \"%s\": use one of %s, or "
                              "bits_per_second = N",
                              modem->c_str(), du::modem_names().c_str());
            return 1;
        }
        in->bits_per_second = m->bits_per_second;
    } else if (bps) {
        if (!support::check_bounds(*api, cfg, "bits_per_second", {8, 100000000000, "bit/s"}, *bps))
            return 1;
        in->bits_per_second = static_cast<uint64_t>(*bps);
    } else {
        api->config_error(cfg, nullptr,
                          "set the rate: modem = \"V.92\" (one of %s) or "
                          "bits_per_second = N",
                          du::modem_names().c_str());
        return 1;
    }
    in->slice = du::slice_bytes(in->bits_per_second, ticks, min_slice);
    *instance = in.release();
    return 0;
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    return support::create_boundary("dialup", err, err_len, [&] { return create(cfg, instance); });
}

void on_destroy(void *instance) noexcept { delete static_cast<Instance *>(instance); }

int handle(const Instance &in, dt_req_t *req) {
    fs::FileResponse response = in.files->decide(fs::read_request(*api, req));
    if (response.is_error_page())
        return response.status;
    bool head = support::view(api->req_method(req)) == "HEAD";
    if (!response.has_body() || head)
        return fs::respond(*api, req, response); // nothing to pace

    int rc = fs::write_head(*api, req, response);
    if (rc != 0)
        return 500;
    // Every transfer of a file shares the open-file cache's descriptor (10,000 clients of one
    // file hold one descriptor, not 10,000); one the cache did not take is held alone.
    fs::FileCache::Entry *file;
    if (response.cached) {
        file = response.cached.release();
    } else {
        struct stat st;
        if (::fstat(response.file.get(), &st) != 0)
            return 500;
        file = fs::FileCache::standalone(response.file.release(), st);
    }
    auto *t = new (std::nothrow)
        Transfer{&in, file, response.offset, response.length, 0, std::chrono::steady_clock::now()};
    if (!t) {
        fs::FileCache::release(file);
        return 500;
    }
    api->req_set_data(req, t);
    pump(req, t);
    return DT_SUSPENDED;
}

int on_handle(void *instance, dt_req_t *req) {
    return support::handle_boundary(
        *api, "dialup", [&] { return handle(*static_cast<Instance *>(instance), req); });
}

void on_writable(void *, dt_req_t *req) noexcept {
    auto *t = static_cast<Transfer *>(api->req_data(req));
    if (!t || !t->waiting_writable)
        return;
    t->waiting_writable = false;
    pump(req, t);
}

void on_abort(void *, dt_req_t *req) noexcept {
    // Pending ticks are already cancelled; the runtime releases slices it still holds.
    if (auto *t = static_cast<Transfer *>(api->req_data(req)))
        end_transfer(req, t);
}

const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    0, // min_host_minor
    0, // flags
    "dialup",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    on_writable,
    on_abort,
    nullptr,
    {},
};

} // namespace

extern "C" {
DT_PLUGIN_DEFINE(plugin, api)
}
