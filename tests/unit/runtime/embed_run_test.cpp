// The embedding API (dialtone/server.hpp) running as an application runs it: one worker on the
// application's loop, worker threads with live counters, threads beside the application's loop,
// a plugin thread holding a request past the stop, two servers in one process, and what the
// library leaves of the process (environment, SIGPIPE). Each test talks to the server over
// loopback with a blocking client thread. Misuse and errors: embed_misuse_test.cpp.
#include "embed_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <uv.h>

using namespace std::chrono_literals;
using namespace dialtone::embed_test;

namespace {

// ---- An in-process plugin: "keeper" holds its request on a thread of its own, which goes on --
// ---- using it after the abort, after the stop and maybe after the server is gone -------------

struct Keeper {
    std::mutex mu;
    std::condition_variable cv;
    dt_req_t *held = nullptr; // under mu
    bool aborted = false;     // under mu
    std::atomic<bool> destroyed{false};
    std::thread::id destroyed_on, callback_on;
    int write_rc = 1;
} keeper;

int keeper_handle(void *, dt_req_t *req) {
    api->req_retain(req);
    std::lock_guard<std::mutex> lock(keeper.mu);
    keeper.held = req;
    keeper.cv.notify_all();
    return DT_SUSPENDED;
}

void keeper_abort(void *, dt_req_t *) {
    std::lock_guard<std::mutex> lock(keeper.mu);
    keeper.aborted = true;
    keeper.cv.notify_all();
}

void keeper_destroy(void *) {
    keeper.destroyed_on = std::this_thread::get_id();
    keeper.destroyed = true;
}

const dt_plugin_t keeper_plugin = {
    DT_PLUGIN_INIT,
    0,
    0,
    "keeper",
    "1",
    hello_create,
    keeper_destroy,
    keeper_handle,
    nullptr,
    keeper_abort,
    nullptr,
    {},
};

// The plugin's thread: once the request is aborted, works `notice` longer, then continues it
// (the callback tries a write) and drops its reference.
std::thread keeper_thread(std::chrono::milliseconds notice) {
    return std::thread([notice] {
        dt_req_t *req;
        {
            std::unique_lock<std::mutex> lock(keeper.mu);
            keeper.cv.wait(lock, [] { return keeper.aborted; });
            req = keeper.held;
        }
        std::this_thread::sleep_for(notice);
        api->req_resume(
            req,
            [](dt_req_t *r, void *) {
                keeper.callback_on = std::this_thread::get_id();
                keeper.write_rc = api->req_write(r, "late", 4);
            },
            nullptr);
        api->req_release(req);
    });
}

} // namespace

TEST_CASE("embedding: one worker on the application's loop, beside the application's timer",
          "[embed]") {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);

    int stopped_calls = 0;
    dialtone::ServerOptions options;
    options.plugins.push_back({"hello", hello_entry});
    options.on_stopped = [&] { ++stopped_calls; };
    dialtone::Server server(hello_config(), std::move(options));
    server.start_on(&loop);
    uint16_t port = server.bound_addresses().at(0).port;
    REQUIRE(port != 0);

    // The application's own timer: releases the parked request, then stops the server once
    // the client thread is done.
    struct AppState {
        dialtone::Server *server;
        std::atomic<bool> client_done{false};
        int ticks = 0;
        bool released = false;
        std::thread::id loop_thread = std::this_thread::get_id();
        bool handler_on_loop_thread = true;
    } app{&server};
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = &app;
    uv_timer_start(
        &timer,
        [](uv_timer_t *t) {
            auto *a = static_cast<AppState *>(t->data);
            ++a->ticks;
            if (parked && !a->released) {
                static const char body[] = "released\n";
                api->resp_set_length(parked, sizeof body - 1);
                api->req_write(parked, body, sizeof body - 1);
                api->req_finish(parked);
                api->req_release(parked);
                parked = nullptr;
                a->released = true;
            }
            if (a->client_done.load()) {
                a->server->stop();
                uv_close(reinterpret_cast<uv_handle_t *>(t), nullptr);
            }
        },
        20, 20);

    std::string plain, released;
    dialtone::ServerStats during;
    std::thread client([&] {
        plain = get(port, "/in/x");
        released = get(port, "/in/park");
        during = server.stats(); // any thread
        app.client_done = true;
    });
    uv_run(&loop, UV_RUN_DEFAULT); // returns only when the server and the timer are closed
    client.join();

    CHECK(plain.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(plain.find("\r\n\r\nhello\n") != std::string::npos);
    CHECK(released.find("\r\n\r\nreleased\n") != std::string::npos);
    CHECK(app.ticks > 0);
    CHECK(stopped_calls == 1);
    CHECK(server.stopped());
    REQUIRE(during.workers.size() == 1);
    CHECK(during.total().requests >= 1);
    CHECK(during.total().accepted >= 2);
    dialtone::WorkerStats after = server.stats().total();
    CHECK(after.requests == 2);
    CHECK(after.connections == 0);
    CHECK(after.active == 0);
    CHECK(after.suspended == 0);
    CHECK(after.bytes_sent > 2 * 60);
    // Nothing of the server is left on the application's loop.
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("embedding: worker threads, live counters while a request is suspended", "[embed]") {
    std::atomic<int> stopped_calls{0};
    dialtone::ServerOptions options;
    options.plugins.push_back({"hello", hello_entry});
    options.on_stopped = [&] { ++stopped_calls; };
    dialtone::Server server(hello_config(), std::move(options));
    server.start();
    uint16_t port = server.bound_addresses().at(0).port;
    for (int i = 0; i < 10; ++i)
        CHECK(get(port, "/in/" + std::to_string(i)).find("hello\n") != std::string::npos);
    dialtone::ServerStats s = server.stats();
    CHECK(s.workers.size() == 2);
    CHECK(s.total().requests == 10);
    CHECK(s.total().accepted == 10);
    CHECK(s.total().bytes_sent >= 10 * 6);
    CHECK(s.uptime.count() >= 0);
    CHECK(s.max_connections == 10000);
    // A 404 counts as answered too.
    CHECK(get(port, "/nowhere").rfind("HTTP/1.1 404", 0) == 0);
    CHECK(server.stats().total().requests == 11);
    server.stop();
    server.wait();
    CHECK(stopped_calls == 1);
    CHECK(server.stopped());
}

TEST_CASE("embedding: a request a plugin thread holds past the stop ends safely, then on_destroy",
          "[embed][lifecycle]") {
    // The thread notices the abort late: after the worker has ended, while the server's
    // destructor waits for plugins (up to max(grace_ms, 1 s)), or after it gave up. Every call
    // must stay safe (ASan: the resume once reached a freed worker) and on_destroy must run
    // after the last release, on the thread destroying the server, or not at all.
    auto notice = GENERATE(200ms, 1500ms);
    {
        std::lock_guard<std::mutex> lock(keeper.mu);
        keeper.held = nullptr;
        keeper.aborted = false;
    }
    keeper.destroyed = false;
    keeper.write_rc = 1;
    dialtone::ServerOptions options;
    options.plugins.push_back({"keeper", entry_of<&keeper_plugin>});
    auto server = std::make_unique<dialtone::Server>(
        dialtone::load_config_text("[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n"
                                   "log_level = \"error\"\n[server.timeouts]\ngrace_ms = 100\n"
                                   "[[location]]\nprefix = \"/\"\nhandler = \"keeper\"\n",
                                   "keeper.toml"),
        std::move(options));
    server->start();
    uint16_t port = server->bound_addresses().at(0).port;
    std::string answer = "unset";
    std::thread client([&] { answer = get(port, "/k"); });
    {
        std::unique_lock<std::mutex> lock(keeper.mu);
        REQUIRE(keeper.cv.wait_for(lock, 5s, [] { return keeper.held != nullptr; }));
    }
    std::thread plugin_thread = keeper_thread(notice);
    server->stop();
    auto start = std::chrono::steady_clock::now();
    server.reset();
    auto waited = std::chrono::steady_clock::now() - start;
    client.join();
    CHECK(answer.empty()); // aborted: the connection closed without an answer

    if (notice == 200ms) {
        CHECK(keeper.destroyed); // after the release, which the destructor waited for
        CHECK(keeper.destroyed_on == std::this_thread::get_id());
        CHECK(waited < 1s);
        plugin_thread.join();
    } else {
        CHECK(waited >= 900ms);        // gave up after max(grace_ms, 1 s) ...
        CHECK_FALSE(keeper.destroyed); // ... and so never destroys the instance
        plugin_thread.join();          // resumes and releases after the server is gone
        CHECK_FALSE(keeper.destroyed);
    }
    CHECK(keeper.write_rc == DT_EABORTED); // the late callback ran, on the plugin's thread:
    CHECK(keeper.callback_on != std::thread::id());
    CHECK(keeper.callback_on != std::this_thread::get_id());
}

TEST_CASE("embedding: the library reads no environment and keeps an application's SIGPIPE choice",
          "[embed]") {
    SECTION("DIALTONE_PLUGIN_PATH is the host binary's; embedded, only plugin_dirs counts") {
        setenv("DIALTONE_PLUGIN_PATH", "/opt/dialtone/lib/dialtone", 1);
        std::string why = start_error([] {
            dialtone::Server(code_config({{"/", "static"}}), dialtone::ServerOptions{});
        });
        unsetenv("DIALTONE_PLUGIN_PATH");
        CHECK_THAT(why, Catch::Contains("(looked for no folders)"));
    }
    SECTION("SIGPIPE: SIG_DFL becomes SIG_IGN; a handler of the application's stays") {
        struct sigaction old;
        sigaction(SIGPIPE, nullptr, &old);
        for (bool own : {false, true}) {
            static void (*const handler)(int) = [](int) {};
            signal(SIGPIPE, own ? handler : SIG_DFL);
            dialtone::Server server(code_config({{"/", "hello"}}), hello_options());
            server.start();
            struct sigaction now;
            sigaction(SIGPIPE, nullptr, &now);
            CHECK(now.sa_handler == (own ? handler : SIG_IGN));
        }
        sigaction(SIGPIPE, &old, nullptr);
    }
}

TEST_CASE("embedding: threaded beside the application's loop, on_stopped comes home by uv_async",
          "[embed]") {
    // The README's pattern: the server on its own threads, the application's loop doing its
    // own work; on_stopped (on a worker) wakes the loop with a uv_async_t the application owns.
    struct App {
        uv_loop_t loop;
        uv_timer_t work;    // the application's own handle: stops the server once served
        uv_async_t stopped; // brings on_stopped back to the loop
        dialtone::Server *server = nullptr;
        std::atomic<bool> served{false};
        std::thread::id stopped_on;
        int homecomings = 0;
    } app;
    REQUIRE(uv_loop_init(&app.loop) == 0);
    uv_timer_init(&app.loop, &app.work);
    app.work.data = &app;
    uv_timer_start(
        &app.work,
        [](uv_timer_t *t) {
            auto *a = static_cast<App *>(t->data);
            if (a->served)
                a->server->stop();
        },
        10, 10);
    uv_async_init(&app.loop, &app.stopped, [](uv_async_t *h) {
        auto *a = static_cast<App *>(h->data);
        ++a->homecomings;
        uv_close(reinterpret_cast<uv_handle_t *>(&a->work), nullptr);
        uv_close(reinterpret_cast<uv_handle_t *>(&a->stopped), nullptr);
    });
    app.stopped.data = &app;

    dialtone::Server server(hello_config(), hello_options([&app] {
                                app.stopped_on = std::this_thread::get_id();
                                uv_async_send(&app.stopped);
                            }));
    app.server = &server;
    server.start();
    std::thread client([&] {
        CHECK(get(server.bound_addresses().at(0).port, "/in/x").find("hello\n") !=
              std::string::npos);
        app.served = true;
    });
    uv_run(&app.loop, UV_RUN_DEFAULT);
    client.join();
    server.wait();
    CHECK(app.homecomings == 1);
    CHECK(app.stopped_on != std::this_thread::get_id());
    CHECK(server.stopped());
    CHECK(uv_loop_close(&app.loop) == 0);
}

namespace {

// An in-process plugin whose instances answer with the application's text, reached through
// config_context (ABI 1.2) instead of a global.
int context_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    *instance = api->config_context(cfg);
    if (!*instance) {
        snprintf(err, err_len, "no application context");
        return 1;
    }
    return 0;
}

int context_handle(void *instance, dt_req_t *req) {
    const std::string &text = *static_cast<const std::string *>(instance);
    api->resp_set_length(req, text.size());
    api->req_write(req, text.data(), text.size());
    return DT_DONE;
}

const dt_plugin_t context_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "context", "1", context_create, nullptr,
    context_handle, nullptr, nullptr, nullptr,   {},
};

dialtone::Config context_config() {
    return dialtone::load_config_text("[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n"
                                      "log_level = \"error\"\n"
                                      "[[location]]\nprefix = \"/\"\nhandler = \"context\"\n",
                                      "context.toml");
}

} // namespace

TEST_CASE("embedding: two servers host one in-process plugin for two applications",
          "[embed][context]") {
    std::string first_app = "first application\n", second_app = "second application\n";
    dialtone::ServerOptions first, second;
    first.plugins.push_back({"context", entry_of<&context_plugin>, &first_app});
    second.plugins.push_back({"context", entry_of<&context_plugin>, &second_app});
    dialtone::Server a(context_config(), std::move(first));
    dialtone::Server b(context_config(), std::move(second));
    a.start();
    b.start();
    std::string from_a = get(a.bound_addresses().at(0).port, "/");
    std::string from_b = get(b.bound_addresses().at(0).port, "/");
    CHECK(from_a.substr(from_a.find("\r\n\r\n") + 4) == first_app);
    CHECK(from_b.substr(from_b.find("\r\n\r\n") + 4) == second_app);

    SECTION("without a context the plugin sees NULL") {
        dialtone::ServerOptions none;
        none.plugins.push_back({"context", entry_of<&context_plugin>});
        try {
            dialtone::Server c(context_config(), std::move(none));
            FAIL("no error");
        } catch (const dialtone::StartError &e) {
            CHECK_THAT(e.what(), Catch::Contains("no application context"));
        }
    }
}
