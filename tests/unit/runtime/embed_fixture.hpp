// What the embedding tests share (embed_run_test.cpp, embed_misuse_test.cpp): the in-process
// "hello" plugin, configs and options that host it, a blocking loopback GET, and the text of a
// StartError. Header-only; the plugin's state is process-wide, as its registration is.
#pragma once

#include "dialtone/config.hpp"
#include "dialtone/server.hpp"

#include <dialtone/plugin.h>

#include <arpa/inet.h>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace dialtone::embed_test {

// ---- An in-process plugin: "hello" answers "hello"; /in/park suspends until ------
// ---- the test's app timer releases it --------------------------------------------------------

inline const dt_api_t *api;        // set by every entry function of the tests
inline dt_req_t *parked = nullptr; // touched only on the loop's thread

inline int hello_handle(void *, dt_req_t *req) {
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

inline int hello_create(const dt_config_t *, void **instance, char *, size_t) {
    *instance = nullptr;
    return 0;
}

inline const dt_plugin_t hello_plugin = {
    DT_PLUGIN_INIT, 0,       0,       "hello", "1", hello_create, nullptr,
    hello_handle,   nullptr, nullptr, nullptr, {},
};

inline const dt_plugin_t *hello_entry(const dt_api_t *a) {
    api = a;
    return &hello_plugin;
}

// The entry function of a descriptor: each descriptor gets its own, so the process-wide registry
// (keyed by entry) loads each afresh.
template <const dt_plugin_t *descriptor> const dt_plugin_t *entry_of(const dt_api_t *a) {
    api = a;
    return descriptor;
}

// One GET on a fresh connection; the whole response ("" if the connection failed).
inline std::string get(uint16_t port, const std::string &path) {
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

inline dialtone::Config hello_config() {
    return dialtone::load_config_text("[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n"
                                      "log_level = \"warn\"\n"
                                      "[[location]]\nprefix = \"/in\"\nhandler = \"hello\"\n",
                                      "embed_test.toml");
}

// Options that register "hello", with `on_stopped`.
inline dialtone::ServerOptions hello_options(std::function<void()> on_stopped = {}) {
    dialtone::ServerOptions options;
    options.plugins.push_back({"hello", hello_entry});
    options.on_stopped = std::move(on_stopped);
    return options;
}

// A config built in code, as an application without a TOML file writes it.
inline dialtone::Config code_config(std::vector<std::pair<std::string, std::string>> locations) {
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

// The message of the StartError `f` throws; "(no StartError)" if it throws none.
inline std::string start_error(const std::function<void()> &f) {
    try {
        f();
    } catch (const dialtone::StartError &e) {
        return e.what();
    }
    return "(no StartError)";
}

} // namespace dialtone::embed_test
