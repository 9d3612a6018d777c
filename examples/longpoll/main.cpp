// longpoll — a C++ application that embeds dialtone on the server's own worker threads and hosts
// a long-poll message board (board.cpp, an in-process plugin) at /.
//
//   longpoll [--host 127.0.0.1] [--port 8080] [--timeout-ms 25000] [--grace-ms 10000]
//
//   curl 'http://127.0.0.1:8080/poll?topic=news'          # waits: 200 + message, or 204
//   curl -d 'hello' 'http://127.0.0.1:8080/publish?topic=news'   # "woken 1"
//
// Threads:
//   - main: builds the server (the plugin's on_create runs here), then runs the application's
//     own libuv loop, which holds the application's handles: SIGINT and SIGTERM call
//     server.stop() — so the plugin's on_stop runs on this thread, and answers every waiting
//     poll with 503 instead of letting it sit out grace_ms — and a uv_async_t on which the
//     server's on_stopped lands.
//   - 2 workers (Server::start): every request hook, timer and req_resume callback. Hooks of
//     different requests run on both at once, which is why the Board locks.
//   - on_stopped runs on the last worker as it ends: it only wakes the main loop (uv_async_send
//     is the one libuv call that is safe from any thread), and the main loop closes the
//     application's handles, so uv_run returns.
// The Board is the application's object, handed to the plugin as its context (no globals).
#include "board.hpp"

#include <dialtone/config.hpp>
#include <dialtone/server.hpp>

#include <uv.h>

#include <charconv>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

struct App {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_async_t stopped; // the server's on_stopped, from a worker, to this loop
    dialtone::Server *server = nullptr;
};

void close_handles(App &app) {
    for (auto *handle : {reinterpret_cast<uv_handle_t *>(&app.sigint),
                         reinterpret_cast<uv_handle_t *>(&app.sigterm),
                         reinterpret_cast<uv_handle_t *>(&app.stopped)})
        if (!uv_is_closing(handle))
            uv_close(handle, nullptr);
}

// Main thread. The signal handles stay open until the server has stopped: a second signal
// during the stop is harmless (stop() may be called any number of times).
void on_signal(uv_signal_t *h, int signum) {
    auto *app = static_cast<App *>(h->data);
    std::fprintf(stderr, "longpoll: %s: stopping\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (app->server)
        app->server->stop(); // runs the board's on_stop here, before returning
}

// Main thread, woken by on_stopped: nothing of the server runs any more.
void on_server_stopped(uv_async_t *h) {
    std::fprintf(stderr, "longpoll: server stopped\n");
    close_handles(*static_cast<App *>(h->data));
}

bool parse_number(std::string_view text, uint64_t max, uint64_t &out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

} // namespace

int main(int argc, char **argv) {
    std::string host = "127.0.0.1";
    uint64_t port = 8080, timeout_ms = 25000, grace_ms = 10000;
    for (int i = 1; i < argc; i += 2) {
        std::string_view option = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
        bool ok = i + 1 < argc;
        if (option == "--host")
            host = value;
        else if (option == "--port")
            ok = ok && parse_number(value, 65535, port);
        else if (option == "--timeout-ms")
            ok = ok && parse_number(value, 3600000, timeout_ms);
        else if (option == "--grace-ms")
            ok = ok && parse_number(value, 3600000, grace_ms);
        else
            ok = false;
        if (!ok) {
            std::fprintf(stderr, "usage: longpoll [--host HOST] [--port PORT] [--timeout-ms MS] "
                                 "[--grace-ms MS]\n");
            return 2;
        }
    }

    App app;
    uv_loop_init(&app.loop);
    for (auto [handle, signum] : {std::pair{&app.sigint, SIGINT}, {&app.sigterm, SIGTERM}}) {
        uv_signal_init(&app.loop, handle);
        handle->data = &app;
        uv_signal_start(handle, on_signal, signum);
    }
    uv_async_init(&app.loop, &app.stopped, on_server_stopped);
    app.stopped.data = &app;

    // The board outlives the server that serves it (declared first, destroyed last).
    longpoll::Board board;
    int status = 0;
    try {
        dialtone::Config config;
        config.listen.push_back({host, static_cast<uint16_t>(port)});
        config.workers = 2;
        config.log_level = dialtone::LogLevel::warn;
        config.timeouts.grace_ms = grace_ms;
        dialtone::LocationConfig location;
        location.prefix = "/";
        location.handler = "board";
        location.settings = dialtone::parse_plugin_settings(
            "timeout_ms = " + std::to_string(timeout_ms) + "\n", ".", "longpoll");
        config.locations.push_back(location);

        dialtone::ServerOptions options;
        options.plugins.push_back({"board", longpoll::board_entry, &board});
        // The last worker, as it ends: only wake the main loop.
        options.on_stopped = [&app] { uv_async_send(&app.stopped); };
        dialtone::Server server(std::move(config), std::move(options)); // on_create, here
        app.server = &server;
        server.start();
        dialtone::ListenAddress bound = server.bound_addresses().at(0);
        std::printf("longpoll: serving http://%s:%u/ (polls wait %" PRIu64 " ms)\n",
                    bound.host.c_str(), bound.port, timeout_ms);
        std::fflush(stdout);

        uv_run(&app.loop, UV_RUN_DEFAULT); // until on_server_stopped closed our handles
        app.server = nullptr;
        server.wait(); // joins the workers, which have finished
        dialtone::WorkerStats total = server.stats().total();
        std::printf("longpoll: stopped after %" PRIu64 " requests\n", total.requests);
    } catch (const std::exception &e) {
        // A ConfigError or StartError; the server went with the try block.
        app.server = nullptr;
        std::fprintf(stderr, "longpoll: %s\n", e.what());
        status = 1;
        close_handles(app);
        uv_run(&app.loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&app.loop) != 0) {
        std::fprintf(stderr, "longpoll: the loop still has handles\n");
        return 1;
    }
    return status;
}
