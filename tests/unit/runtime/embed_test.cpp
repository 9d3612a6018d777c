// The embedding API (dialtone/server.hpp) driven as an application would: configs in code and
// TOML, in-process plugins, single-threaded on the application's loop, threaded, live counters
// and the stop. Each test talks to the server over loopback with a blocking client thread.
#include "dialtone/config.hpp"
#include "dialtone/server.hpp"

#include <dialtone/plugin.h>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <uv.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

// ---- An in-process plugin: "hello" answers "hello from <thread>"; /park suspends until -----
// ---- the test's app timer releases it --------------------------------------------------------

const dt_api_t *api;
std::atomic<int> handled{0};
dt_req_t *parked = nullptr; // touched only on the loop's thread

int hello_handle(void *, dt_req_t *req) {
    ++handled;
    dt_str_t path = api->req_path(req);
    if (std::string(path.ptr, path.len) == "/in/park") {
        parked = req;
        api->req_retain(req);
        return DT_SUSPENDED;
    }
    static const char body[] = "hello\n";
    api->resp_set_length(req, sizeof body - 1);
    api->req_write(req, body, sizeof body - 1);
    return DT_DONE;
}

int hello_create(const dt_config_t *, void **instance, char *, size_t) {
    *instance = nullptr;
    return 0;
}

const dt_plugin_t hello_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "hello", "1", hello_create, nullptr,
    hello_handle,   nullptr, nullptr, nullptr, {},
};

const dt_plugin_t *hello_entry(const dt_api_t *a) {
    api = a;
    return &hello_plugin;
}

dt_plugin_t wrong_major = {sizeof(dt_plugin_t), 99,      0,       0,       0,       "old",   "1",
                           hello_create,        nullptr, nullptr, nullptr, nullptr, nullptr, {}};
const dt_plugin_t *wrong_entry(const dt_api_t *) { return &wrong_major; }

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

const dt_plugin_t *keeper_entry(const dt_api_t *a) {
    api = a;
    return &keeper_plugin;
}

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

// One GET on a fresh connection; the whole response ("" if the connection failed).
std::string get(uint16_t port, const std::string &path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        close(fd);
        return "";
    }
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
}

dialtone::Config hello_config() {
    return dialtone::load_config_text("[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n"
                                      "log_level = \"warn\"\n"
                                      "[[location]]\nprefix = \"/in\"\nhandler = \"hello\"\n",
                                      "embed_test.toml");
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

TEST_CASE("embedding: settings in code, a bad in-process plugin refused", "[embed]") {
    SECTION("parse_plugin_settings names the bad line") {
        try {
            dialtone::parse_plugin_settings("root = \n", ".", "code.toml");
            FAIL("no error");
        } catch (const dialtone::ConfigError &e) {
            CHECK_THAT(e.what(), Catch::Contains("code.toml:1:"));
        }
    }
    SECTION("a location built in code with a prefix routing cannot use is refused") {
        for (const char *prefix : {"", "app", "/a/../b", "/a//b"}) {
            dialtone::Config config;
            config.listen.push_back({"127.0.0.1", 0});
            dialtone::LocationConfig loc;
            loc.prefix = prefix;
            loc.handler = "hello";
            config.locations.push_back(loc);
            dialtone::ServerOptions options;
            options.plugins.push_back({"hello", hello_entry});
            INFO("prefix \"" << prefix << "\"");
            try {
                dialtone::Server server(std::move(config), std::move(options));
                FAIL("no error");
            } catch (const dialtone::StartError &e) {
                CHECK_THAT(e.what(), Catch::Contains("location[0] (built in code): prefix \"" +
                                                     std::string(prefix) + "\" must be"));
            }
        }
    }
    SECTION("an in-process plugin of another ABI major is a StartError naming it") {
        dialtone::Config config = dialtone::load_config_text(
            "[server]\nlisten = [\"127.0.0.1:0\"]\n[[location]]\nprefix = \"/\"\n"
            "handler = \"old\"\n",
            "t.toml");
        dialtone::ServerOptions options;
        options.plugins.push_back({"old", wrong_entry});
        try {
            dialtone::Server server(std::move(config), std::move(options));
            FAIL("no error");
        } catch (const dialtone::StartError &e) {
            CHECK_THAT(e.what(), Catch::Contains("in-process plugin \"old\""));
            CHECK_THAT(e.what(), Catch::Contains("built for plugin ABI 99.0"));
        }
    }
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
    options.plugins.push_back({"keeper", keeper_entry});
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

// ---- Misuse an embedding application must hear about (issue 12) ------------------------------

namespace {

dialtone::ServerOptions hello_options(std::function<void()> on_stopped = {}) {
    dialtone::ServerOptions options;
    options.plugins.push_back({"hello", hello_entry});
    options.on_stopped = std::move(on_stopped);
    return options;
}

std::string start_error(const std::function<void()> &f) {
    try {
        f();
    } catch (const dialtone::StartError &e) {
        return e.what();
    }
    return "(no StartError)";
}

// Runs `loop` until the server's handles are closed; a guard stops the server after 5 s so a
// server that never stops fails the test instead of hanging it.
bool run_until_stopped(uv_loop_t *loop, dialtone::Server &server) {
    struct Guard {
        dialtone::Server *server;
        bool fired = false;
    } guard{&server};
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    timer.data = &guard;
    uv_timer_start(
        &timer,
        [](uv_timer_t *t) {
            auto *g = static_cast<Guard *>(t->data);
            g->fired = true;
            g->server->stop();
        },
        5000, 0);
    uv_unref(reinterpret_cast<uv_handle_t *>(&timer)); // the server's handles keep the loop up
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t *>(&timer), nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    return !guard.fired;
}

} // namespace

TEST_CASE("embedding: a Server runs once; starting it again is a StartError", "[embed][misuse]") {
    SECTION("on the application's loop, after the stop") {
        uv_loop_t loop;
        REQUIRE(uv_loop_init(&loop) == 0);
        int stopped_calls = 0;
        dialtone::Server server(hello_config(), hello_options([&] { ++stopped_calls; }));
        server.start_on(&loop);
        CHECK_THAT(start_error([&] { server.start_on(&loop); }), Catch::Contains("already"));
        server.stop();
        REQUIRE(run_until_stopped(&loop, server));
        CHECK(stopped_calls == 1);
        std::string again = start_error([&] { server.start_on(&loop); });
        CHECK_THAT(again, Catch::Contains("a Server runs once"));
        CHECK_THAT(again, Catch::Contains("create a new one"));
        CHECK_THAT(start_error([&] { server.start(); }), Catch::Contains("a Server runs once"));
        CHECK(server.stopped());
        CHECK(stopped_calls == 1);
        CHECK(uv_loop_close(&loop) == 0);
    }
    SECTION("on its own threads, after the stop") {
        dialtone::Server server(hello_config(), hello_options());
        server.start();
        CHECK_THAT(start_error([&] { server.start(); }), Catch::Contains("already"));
        server.stop();
        server.wait();
        CHECK_THAT(start_error([&] { server.start(); }), Catch::Contains("a Server runs once"));
        CHECK(server.stopped());
    }
}

TEST_CASE("embedding: a stop before the start is kept: the start stops at once, on_stopped runs",
          "[embed][misuse]") {
    SECTION("on its own threads") {
        std::atomic<int> stopped_calls{0};
        dialtone::Server server(hello_config(), hello_options([&] { ++stopped_calls; }));
        server.stop(); // e.g. SIGTERM arrived while the application was still setting up
        server.start();
        REQUIRE(server.bound_addresses().size() == 1); // bound, as after every start
        for (int i = 0; i < 500 && !server.stopped(); ++i)
            std::this_thread::sleep_for(10ms);
        bool stopped_by_itself = server.stopped();
        server.stop(); // a server that did not stop by itself is stopped here, not hung
        server.wait();
        CHECK(stopped_by_itself);
        CHECK(stopped_calls == 1);
        CHECK(get(server.bound_addresses().at(0).port, "/in/x").empty()); // nothing listens
    }
    SECTION("on the application's loop") {
        uv_loop_t loop;
        REQUIRE(uv_loop_init(&loop) == 0);
        int stopped_calls = 0;
        dialtone::Server server(hello_config(), hello_options([&] { ++stopped_calls; }));
        server.stop();
        server.start_on(&loop);
        CHECK(stopped_calls == 0); // on_stopped comes from uv_run, never from inside start_on
        CHECK(run_until_stopped(&loop, server));
        CHECK(stopped_calls == 1);
        CHECK(server.stopped());
        CHECK(uv_loop_close(&loop) == 0);
    }
    SECTION("a server never started is destroyed without running on_stopped") {
        int stopped_calls = 0;
        {
            dialtone::Server server(hello_config(), hello_options([&] { ++stopped_calls; }));
            server.stop();
            server.wait(); // nothing to wait for
        }
        CHECK(stopped_calls == 0);
    }
}

// ---- Configs and options built in code: what a file cannot get wrong -------------------------

namespace {

// A config built in code, as an application without a TOML file writes it.
dialtone::Config code_config(std::vector<std::pair<std::string, std::string>> locations) {
    dialtone::Config config;
    config.listen.push_back({"127.0.0.1", 0});
    config.workers = 1;
    config.log_level = dialtone::LogLevel::warn;
    for (auto &[prefix, handler] : locations) {
        dialtone::LocationConfig loc;
        loc.prefix = prefix;
        loc.handler = handler;
        config.locations.push_back(loc);
    }
    return config;
}

// "renamed" is registered under another name than its descriptor's, and has an entry of its
// own, so the process-wide registry loads it afresh; its warning is captured.
const dt_plugin_t renamed_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "hello", "1", hello_create, nullptr,
    hello_handle,   nullptr, nullptr, nullptr, {},
};

const dt_plugin_t *renamed_entry(const dt_api_t *a) {
    api = a;
    return &renamed_plugin;
}

std::mutex log_mu;
std::string log_lines; // under log_mu

void capture_log(dialtone::LogLevel, std::string_view line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log_lines += line;
}

} // namespace

TEST_CASE("embedding: a Config built in code must name an address to listen on",
          "[embed][misuse]") {
    SECTION("no address") {
        dialtone::Config config = code_config({{"/", "hello"}});
        config.listen.clear();
        std::string why = start_error([&] { dialtone::Server(config, hello_options()); });
        CHECK_THAT(why, Catch::StartsWith("server.listen: no address to listen on"));
        CHECK_THAT(start_error([&] { dialtone::check_config(config, hello_options()); }),
                   Catch::StartsWith("server.listen: no address"));
    }
    SECTION("a host name, which would otherwise bind every address") {
        dialtone::Config config = code_config({{"/", "hello"}});
        config.listen[0].host = "localhost";
        std::string why = start_error([&] { dialtone::Server(config, hello_options()); });
        CHECK_THAT(why, Catch::Contains("server.listen: \"localhost\" is not an IP address"));
    }
}

TEST_CASE("embedding: in-process plugins are registered once per name, under their own name",
          "[embed][misuse]") {
    SECTION("two registrations of one name are a StartError naming it") {
        dialtone::ServerOptions options = hello_options();
        options.plugins.push_back({"hello", keeper_entry});
        std::string why = start_error([&] {
            dialtone::Server(code_config({{"/", "hello"}}), std::move(options));
        });
        CHECK_THAT(why, Catch::Contains("in-process plugin \"hello\" is registered twice"));
    }
    SECTION("a descriptor that calls itself otherwise is used under its registered name, with a "
            "warning, as a shared object is") {
        dialtone::set_log_sink(capture_log);
        dialtone::ServerOptions options;
        options.plugins.push_back({"greeter", renamed_entry});
        { dialtone::Server server(code_config({{"/", "greeter"}}), std::move(options)); }
        dialtone::set_log_sink(nullptr);
        std::lock_guard<std::mutex> lock(log_mu);
        CHECK_THAT(log_lines, Catch::Contains("[warn] in-process plugin \"greeter\" calls itself "
                                              "\"hello\"; configs use it as \"greeter\""));
    }
}

namespace {

// The entry function of a descriptor of this file: each has its own, so the process-wide
// registry (keyed by entry) loads each afresh.
template <const dt_plugin_t *descriptor> const dt_plugin_t *entry_of(const dt_api_t *a) {
    api = a;
    return descriptor;
}

// "strict" insists on a `greeting` setting.
int strict_create(const dt_config_t *cfg, void **instance, char *, size_t) {
    dt_str_t greeting;
    if (api->config_string(cfg, "greeting", &greeting) != 0) {
        api->config_error(cfg, "greeting", "required");
        return -1;
    }
    *instance = nullptr;
    return 0;
}

const dt_plugin_t strict_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "strict", "1", strict_create, nullptr,
    hello_handle,   nullptr, nullptr, nullptr,  {},
};

} // namespace

TEST_CASE("embedding: problems with locations built in code name the location, not a position",
          "[embed][misuse]") {
    SECTION("an unknown handler") {
        std::string why = start_error([] {
            dialtone::Server(code_config({{"/", "hello"}, {"/x", "nosuch"}}), hello_options());
        });
        CHECK_THAT(why, Catch::StartsWith("location[1] (built in code): handler: handler "
                                          "\"nosuch\" is not a bundled or in-process plugin"));
    }
    SECTION("an unknown handler, with a section named by the application") {
        dialtone::Config config = code_config({{"/x", "nosuch"}});
        config.locations[0].section = "api";
        std::string why = start_error([&] { dialtone::Server(config, hello_options()); });
        CHECK_THAT(why, Catch::StartsWith("location[0] (built in code): handler: handler"));
    }
    SECTION("a missing setting, without a settings table") {
        dialtone::ServerOptions options;
        options.plugins.push_back({"strict", entry_of<&strict_plugin>});
        std::string why = start_error([&] {
            dialtone::Server(code_config({{"/", "strict"}}), std::move(options));
        });
        CHECK(why == "location[0] (built in code): strict.greeting: required");
    }
    SECTION("a bad setting in settings from parse_plugin_settings") {
        dialtone::Config config = code_config({{"/", "strict"}});
        config.locations[0].settings =
            dialtone::parse_plugin_settings("greeting = 1\n", ".", "app");
        dialtone::ServerOptions options;
        options.plugins.push_back({"strict", entry_of<&strict_plugin>});
        std::string why = start_error([&] { dialtone::Server(config, std::move(options)); });
        CHECK_THAT(why, Catch::StartsWith(
                            "app:1:12: location[0] (built in code): strict.greeting: expected"));
    }
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

const dt_plugin_t *context_entry(const dt_api_t *a) {
    api = a;
    return &context_plugin;
}

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
    first.plugins.push_back({"context", context_entry, &first_app});
    second.plugins.push_back({"context", context_entry, &second_app});
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
        none.plugins.push_back({"context", context_entry});
        try {
            dialtone::Server c(context_config(), std::move(none));
            FAIL("no error");
        } catch (const dialtone::StartError &e) {
            CHECK_THAT(e.what(), Catch::Contains("no application context"));
        }
    }
}
