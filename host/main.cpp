// dialtone: the host binary. Reads one TOML file, loads the plugins it names, serves.
#include "dialtone/config.hpp"
#include "dialtone/log.hpp"
#include "dialtone/server.hpp"

#include <dialtone/plugin.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>
#include <vector>

namespace {

const char kUsage[] = "usage: dialtone --config FILE [--check]\n"
                      "       dialtone --version | --help\n"
                      "\n"
                      "  -c, --config FILE  the TOML configuration to serve\n"
                      "  -t, --check        validate the configuration and load every plugin,\n"
                      "                     then exit: 0 if it is good, 1 if not\n"
                      "  -v, --version      print the version and exit\n"
                      "  -h, --help         print this help and exit\n"
                      "\n"
                      "Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the config file.\n"
                      "\n"
                      "Bundled plugins are found in <prefix>/lib/dialtone next to the binary's\n"
                      "folder, and in the folders of DIALTONE_PLUGIN_PATH (colon-separated).\n";

std::vector<std::string> plugin_dirs() {
    std::vector<std::string> dirs;
    if (const char *env = getenv("DIALTONE_PLUGIN_PATH")) {
        std::string all = env;
        size_t i = 0;
        while (i <= all.size()) {
            size_t colon = all.find(':', i);
            if (colon == std::string::npos)
                colon = all.size();
            if (colon > i)
                dirs.push_back(all.substr(i, colon - i));
            i = colon + 1;
        }
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        std::string bin = exe;
        std::string prefix = bin.substr(0, bin.rfind('/'));
        prefix = prefix.substr(0, prefix.rfind('/'));
        dirs.push_back(prefix + "/lib/dialtone");
    }
    return dirs;
}

// Connections are descriptors: take every one the hard limit allows.
void raise_open_files_limit() {
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            DT_LOG(dialtone::LogLevel::warn, "cannot raise the open-files limit: %s",
                   strerror(errno));
    }
}

struct SignalContext {
    dialtone::Server *server;
    uv_signal_t sigint, sigterm, sighup;
    std::string config_path;
};

// SIGHUP: read the config file again and reload; a bad file is refused with its errors and
// the running configuration keeps serving.
void on_reload_signal(uv_signal_t *h, int) {
    auto *ctx = static_cast<SignalContext *>(h->data);
    if (!ctx->server)
        return;
    DT_LOG(dialtone::LogLevel::info, "SIGHUP: reloading %s", ctx->config_path.c_str());
    try {
        ctx->server->reload(dialtone::load_config_file(ctx->config_path));
    } catch (const std::exception &e) { // ConfigError or StartError
        DT_LOG(dialtone::LogLevel::error, "reload refused, the running configuration stays:\n%s",
               e.what());
    }
}

void on_stop_signal(uv_signal_t *h, int signum) {
    auto *ctx = static_cast<SignalContext *>(h->data);
    DT_LOG(dialtone::LogLevel::info, "%s: stopping gracefully",
           signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (ctx->server)
        ctx->server->stop();
    uv_close(reinterpret_cast<uv_handle_t *>(&ctx->sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t *>(&ctx->sigterm), nullptr);
    uv_close(reinterpret_cast<uv_handle_t *>(&ctx->sighup), nullptr);
}

} // namespace

int main(int argc, char **argv) {
    std::string config_path;
    bool check = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_path = a.substr(9);
        } else if (a == "-t" || a == "--check") {
            check = true;
        } else if (a == "-v" || a == "--version") {
            printf("dialtone %s (plugin ABI %d.%d)\n", DIALTONE_VERSION, DT_ABI_MAJOR,
                   DT_ABI_MINOR);
            return 0;
        } else if (a == "-h" || a == "--help") {
            fputs(kUsage, stdout);
            return 0;
        } else {
            fprintf(stderr, "dialtone: unknown argument \"%s\"\n%s", a.c_str(), kUsage);
            return 2;
        }
    }
    if (config_path.empty()) {
        fprintf(stderr, "dialtone: --config FILE is required\n%s", kUsage);
        return 2;
    }

    dialtone::Config config;
    try {
        config = dialtone::load_config_file(config_path);
    } catch (const dialtone::ConfigError &e) {
        fprintf(stderr, "%s\ndialtone: configuration %s is not valid\n", e.what(),
                config_path.c_str());
        return 1;
    }
    dialtone::set_log_level(config.log_level);
    dialtone::ServerOptions options;
    options.plugin_dirs = plugin_dirs();

    if (check) {
        try {
            dialtone::check_config(config, options);
        } catch (const dialtone::StartError &e) {
            fprintf(stderr, "%s\ndialtone: configuration %s is not valid\n", e.what(),
                    config_path.c_str());
            return 1;
        }
        printf("dialtone: configuration %s is ok\n", config_path.c_str());
        return 0;
    }

    raise_open_files_limit();
    // Signal handlers go in before the first listener opens: a SIGTERM that arrives as soon as
    // we report "listening" must stop us gracefully, not kill us.
    uv_loop_t loop;
    uv_loop_init(&loop);
    SignalContext ctx{nullptr, {}, {}, {}, config_path};
    uv_signal_init(&loop, &ctx.sigint);
    uv_signal_init(&loop, &ctx.sigterm);
    uv_signal_init(&loop, &ctx.sighup);
    ctx.sigint.data = ctx.sigterm.data = ctx.sighup.data = &ctx;
    uv_signal_start(&ctx.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&ctx.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&ctx.sighup, on_reload_signal, SIGHUP);
    int status = 0;
    try {
        dialtone::Server server(std::move(config), options);
        ctx.server = &server;
        server.start();
        uv_run(&loop, UV_RUN_DEFAULT);
        server.wait();
    } catch (const dialtone::StartError &e) {
        fprintf(stderr, "%s\ndialtone: cannot start\n", e.what());
        status = 1;
        if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(&ctx.sigint))) {
            uv_close(reinterpret_cast<uv_handle_t *>(&ctx.sigint), nullptr);
            uv_close(reinterpret_cast<uv_handle_t *>(&ctx.sigterm), nullptr);
            uv_close(reinterpret_cast<uv_handle_t *>(&ctx.sighup), nullptr);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
    if (status != 0)
        return status;
    DT_LOG(dialtone::LogLevel::info, "stopped");
    return 0;
}
