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
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <uv.h>

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
    DT_PLUGIN_INIT, 0, 0, "hello", "1", hello_create, nullptr, hello_handle, nullptr, nullptr, {},
};

const dt_plugin_t *hello_entry(const dt_api_t *a) {
    api = a;
    return &hello_plugin;
}

dt_plugin_t wrong_major = {sizeof(dt_plugin_t), 99, 0, 0, 0, "old", "1", hello_create,
                           nullptr, nullptr, nullptr, nullptr, {}};
const dt_plugin_t *wrong_entry(const dt_api_t *) { return &wrong_major; }

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
                CHECK_THAT(e.what(), Catch::Contains("location[0]: prefix \"" +
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
