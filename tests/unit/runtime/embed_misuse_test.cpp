// The embedding API (dialtone/server.hpp) misused, as an application must hear about it
// (issue 12): settings and locations built in code that routing or a plugin refuses, a plugin
// of another ABI major or registered twice, a Server started twice, a stop before the start.
// Running and stopping as intended: embed_run_test.cpp.
#include "embed_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <uv.h>

using namespace std::chrono_literals;
using namespace dialtone::embed_test;

namespace {

dt_plugin_t wrong_major = {sizeof(dt_plugin_t), 99,      0,       0,       0,       "old",   "1",
                           hello_create,        nullptr, nullptr, nullptr, nullptr, nullptr, {}};
const dt_plugin_t *wrong_entry(const dt_api_t *) { return &wrong_major; }

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

// "renamed" is registered under another name than its descriptor's, and has an entry of its
// own (entry_of), so the process-wide registry loads it afresh; its warning is captured.
const dt_plugin_t renamed_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "hello", "1", hello_create, nullptr,
    hello_handle,   nullptr, nullptr, nullptr, {},
};

std::mutex log_mu;
std::string log_lines; // under log_mu

void capture_log(dialtone::LogLevel, std::string_view line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log_lines += line;
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
        options.plugins.push_back({"hello", entry_of<&hello_plugin>}); // another entry, one name
        std::string why = start_error([&] {
            dialtone::Server(code_config({{"/", "hello"}}), std::move(options));
        });
        CHECK_THAT(why, Catch::Contains("in-process plugin \"hello\" is registered twice"));
    }
    SECTION("a descriptor that calls itself otherwise is used under its registered name, with a "
            "warning, as a shared object is") {
        dialtone::set_log_sink(capture_log);
        dialtone::ServerOptions options;
        options.plugins.push_back({"greeter", entry_of<&renamed_plugin>});
        { dialtone::Server server(code_config({{"/", "greeter"}}), std::move(options)); }
        dialtone::set_log_sink(nullptr);
        std::lock_guard<std::mutex> lock(log_mu);
        CHECK_THAT(log_lines, Catch::Contains("[warn] in-process plugin \"greeter\" calls itself "
                                              "\"hello\"; configs use it as \"greeter\""));
    }
}

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
