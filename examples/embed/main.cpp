// embed — a C++ application that embeds dialtone on its own libuv loop.
//
//   embed [--listen 127.0.0.1:8080] [--root DIR] [--plugins DIR]
//
// One thread, one loop, owned by the application: the loop runs the application's own timer
// (a heartbeat every 250 ms), and dialtone serves on it beside that timer — a static root at /
// (the bundled static plugin, loaded from --plugins) and an in-process handler at /app, compiled
// into this program with the same C ABI a shared-object plugin uses. SIGINT or SIGTERM stops
// the server gracefully; once its handles and the application's are closed, uv_run returns and
// the loop closes cleanly. The server's live counters are printed on the way out.
#include <dialtone/config.hpp>
#include <dialtone/plugin.h>
#include <dialtone/server.hpp>

#include <uv.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// ---- The application's own state, shown by the in-process handler ---------------------------

struct App {
    uv_loop_t loop;
    uv_timer_t heartbeat;
    uv_signal_t sigint, sigterm;
    uint64_t beats = 0;
    dialtone::Server *server = nullptr;
};
App *g_app; // the handler below reads it: same thread, same loop

// ---- An in-process plugin: "app", answering GET /app with the application's state ------------

const dt_api_t *api;

int app_handle(void *, dt_req_t *req) {
    dt_str_t method = api->req_method(req);
    std::string m(method.ptr, method.len);
    if (m != "GET" && m != "HEAD") {
        api->resp_set_status(req, 405);
        api->resp_add_header(req, "Allow", 5, "GET, HEAD", 9);
        api->resp_set_length(req, 0);
        return DT_DONE;
    }
    // This handler runs on the application's loop thread, so it may read the application's
    // state without locks: that is the point of embedding on the application's own loop.
    dialtone::WorkerStats total = g_app->server->stats().total();
    char body[256];
    int n = snprintf(body, sizeof body,
                     "heartbeats %" PRIu64 "\nrequests %" PRIu64 "\nconnections %" PRIu64 "\n",
                     g_app->beats, total.requests, total.connections);
    api->resp_add_header(req, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    api->resp_set_length(req, static_cast<uint64_t>(n));
    api->req_write(req, body, static_cast<size_t>(n));
    return DT_DONE;
}

int app_create(const dt_config_t *, void **instance, char *, size_t) {
    *instance = nullptr;
    return 0;
}

const dt_plugin_t app_plugin = {
    DT_PLUGIN_INIT,
    1,
    0,
    "app",
    "1.0.0",
    app_create,
    nullptr,
    app_handle,
    nullptr, // on_writable
    nullptr, // on_abort: nothing is held past on_handle
    nullptr, // on_stop
    {},
};

// The entry function a shared object would export as dt_plugin_entry; here it is handed to the
// server directly (dialtone::InProcessPlugin), so it has any name.
const dt_plugin_t *app_entry(const dt_api_t *host_api) {
    api = host_api;
    return &app_plugin;
}

// ---- Signals: stop the server, then close the application's handles -------------------------

void on_signal(uv_signal_t *h, int signum) {
    auto *app = static_cast<App *>(h->data);
    fprintf(stderr, "embed: %s: stopping\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    app->server->stop();
    uv_close(reinterpret_cast<uv_handle_t *>(&app->heartbeat), nullptr);
    uv_close(reinterpret_cast<uv_handle_t *>(&app->sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t *>(&app->sigterm), nullptr);
}

void on_heartbeat(uv_timer_t *h) { ++static_cast<App *>(h->data)->beats; }

bool split_listen(const std::string &s, dialtone::ListenAddress &out) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos)
        return false;
    out.host = s.substr(0, colon);
    if (out.host.size() > 1 && out.host.front() == '[')
        out.host = out.host.substr(1, out.host.size() - 2);
    char *end = nullptr;
    unsigned long port = strtoul(s.c_str() + colon + 1, &end, 10);
    if (*end || port > 65535)
        return false;
    out.port = static_cast<uint16_t>(port);
    return true;
}

} // namespace

int main(int argc, char **argv) {
    std::string listen = "127.0.0.1:8080", root = ".", plugins;
#ifdef EMBED_DEFAULT_PLUGIN_DIR
    plugins = EMBED_DEFAULT_PLUGIN_DIR;
#endif
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--listen")
            listen = argv[i + 1];
        else if (a == "--root")
            root = argv[i + 1];
        else if (a == "--plugins")
            plugins = argv[i + 1];
        else {
            fprintf(stderr, "usage: embed [--listen HOST:PORT] [--root DIR] [--plugins DIR]\n");
            return 2;
        }
    }

    // The configuration in code; the static plugin's settings in TOML, as in a config file.
    dialtone::Config config;
    dialtone::ListenAddress address;
    if (!split_listen(listen, address)) {
        fprintf(stderr, "embed: --listen wants HOST:PORT, not \"%s\"\n", listen.c_str());
        return 2;
    }
    config.listen.push_back(address);
    config.log_level = dialtone::LogLevel::warn;
    config.timeouts.grace_ms = 2000;
    dialtone::LocationConfig app;
    app.prefix = "/app";
    app.handler = "app";
    app.section = "location[0].app";
    config.locations.push_back(app);
    dialtone::LocationConfig site;
    site.prefix = "/";
    site.handler = "static";
    site.section = "location[1].static";
    site.settings = dialtone::parse_plugin_settings("root = \"" + root + "\"\n", ".", "embed");
    config.locations.push_back(site);

    App state;
    g_app = &state;
    uv_loop_init(&state.loop);
    uv_timer_init(&state.loop, &state.heartbeat);
    state.heartbeat.data = &state;
    uv_timer_start(&state.heartbeat, on_heartbeat, 250, 250);
    for (auto [handle, signum] : {std::pair{&state.sigint, SIGINT}, {&state.sigterm, SIGTERM}}) {
        uv_signal_init(&state.loop, handle);
        handle->data = &state;
        uv_signal_start(handle, on_signal, signum);
    }

    int status = 0;
    try {
        dialtone::ServerOptions options;
        if (!plugins.empty())
            options.plugin_dirs.push_back(plugins);
        options.plugins.push_back({"app", app_entry});
        options.on_stopped = [] { fprintf(stderr, "embed: server stopped\n"); };
        dialtone::Server server(std::move(config), std::move(options));
        state.server = &server;
        server.start_on(&state.loop);
        dialtone::ListenAddress bound = server.bound_addresses().at(0);
        printf("embed: serving http://%s:%u/ (static root %s) and /app\n", bound.host.c_str(),
               bound.port, root.c_str());
        fflush(stdout);
        uv_run(&state.loop, UV_RUN_DEFAULT); // returns once the server and the app are closed
        dialtone::WorkerStats total = server.stats().total();
        printf("embed: stopped after %" PRIu64 " heartbeats, %" PRIu64 " requests, %" PRIu64
               " bytes sent\n",
               state.beats, total.requests, total.bytes_sent);
    } catch (const std::exception &e) { // StartError, ConfigError
        fprintf(stderr, "embed: %s\n", e.what());
        status = 1;
        uv_close(reinterpret_cast<uv_handle_t *>(&state.heartbeat), nullptr);
        uv_close(reinterpret_cast<uv_handle_t *>(&state.sigint), nullptr);
        uv_close(reinterpret_cast<uv_handle_t *>(&state.sigterm), nullptr);
        uv_run(&state.loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&state.loop) != 0) {
        fprintf(stderr, "embed: the loop still has handles\n");
        return 1;
    }
    return status;
}
