// The dialtone server: listeners, workers (one libuv loop each), plugins and locations.
// An embedding application builds a Config (load_config_file, load_config_text or in code),
// then either runs it on worker threads of its own:
//     dialtone::Server server(std::move(config), {.plugin_dirs = {...}});
//     server.start();          // binds, starts the workers; throws StartError
//     ...                      // server.stop() from any thread, e.g. a signal handler's loop
//     server.wait();
// or single-threaded on a libuv loop the application owns and runs (examples/embed):
//     server.start_on(loop);   // on the thread that runs `loop`
//     uv_run(loop, UV_RUN_DEFAULT);  // serves beside the application's own handles; after
//                                    // server.stop() the server's handles close and, once the
//                                    // application closes its own, uv_run returns
#pragma once

#include "dialtone/config.hpp"

#include <dialtone/plugin.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

typedef struct uv_loop_s uv_loop_t;

namespace dialtone {

// A problem that prevents starting: a plugin that cannot be loaded or refuses its settings, an
// address that cannot be bound. what() is the message for the operator (possibly several
// lines, each naming file, line, key or plugin path).
class StartError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A plugin compiled into the application: the same descriptor and entry function as a shared
// object's (dialtone/plugin.h), registered under a handler name instead of loaded with dlopen.
// The entry is called once per process and entry function, with the host's function table: an
// entry registered by several servers, again after a reload, or under several names is entered
// once. It passes the load checks of a shared object: a refused descriptor is a StartError, and
// a descriptor whose name differs from `name` is logged as a warning (`name` counts), as for a
// [[plugin]] whose file calls itself otherwise. A name registered twice is a StartError.
struct InProcessPlugin {
    std::string name;         // the handler name locations use
    dt_plugin_entry_fn entry; // returns the plugin's static descriptor
    // The application's pointer for this plugin on this server: its on_create reads it with
    // api->config_context(cfg) (ABI 1.2). Not owned; must outlive the server. May be null.
    void *context = nullptr;
};

struct ServerOptions {
    // Folders searched, in order, for "<handler>.so" when a location names a handler that no
    // [[plugin]] declares and no in-process plugin provides (the bundled plugins). The library
    // reads no environment variable: the dialtone binary puts the folders of
    // DIALTONE_PLUGIN_PATH here, and an application that wants the variable honoured does too.
    std::vector<std::string> plugin_dirs;
    // Handlers compiled into the application. A [[plugin]] declaration of the same name wins.
    std::vector<InProcessPlugin> plugins;
    // Called once when the server has stopped: every worker closed its connections and its
    // handles. With start_on(), on the loop's thread (the loop has nothing of ours left); with
    // start(), on the last worker's thread, just before it ends. Never for a server that was
    // not started. May be empty.
    std::function<void()> on_stopped;
};

// Live counters (Server::stats, and the status plugin through dt_api_t.server_stats).
struct WorkerStats {
    unsigned index = 0;
    uint64_t connections = 0; // open now
    uint64_t accepted = 0;    // connections taken since the start (refused ones too)
    uint64_t requests = 0;    // requests answered since the start
    uint64_t active = 0;      // requests in progress now (suspended ones included)
    uint64_t suspended = 0;   // of those, suspended by their handler
    uint64_t bytes_sent = 0;  // bytes written to clients since the start
    // Upstream exchanges, every group together.
    uint64_t upstream_exchanges = 0; // started since the start
    uint64_t upstream_active = 0;    // under way now
    uint64_t upstream_failed = 0;    // ended by an upstream failure (not cancelled)
    uint64_t upstream_connects = 0;  // upstream connections opened since the start
    uint64_t upstream_idle = 0;      // kept-alive upstream connections idle now
};

struct ServerStats {
    std::chrono::system_clock::time_point started; // wall-clock start
    std::chrono::milliseconds uptime{0};
    size_t max_connections = 0;
    std::vector<WorkerStats> workers;
    WorkerStats total() const; // sums (index 0)
};

class Server {
  public:
    // Loads the plugins the config names and creates one instance per location (on this
    // thread). Throws StartError, listing every problem: also what only a Config or options
    // built in code can get wrong (no listen address, a host name for one, a plugin name
    // registered twice).
    Server(Config config, ServerOptions options);
    ~Server(); // stops (graceful) and waits if still running
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // A Server runs once. start() or start_on() a second time, while it runs or after it
    // stopped, throws StartError: build a new Server (from a copy of config()) to serve again.
    // A start that threw (an address in use) may be tried again. A stop() that came before the
    // start is kept, so a shutdown asked for while the application was still setting up is not
    // lost: the start binds and starts as usual, then begins the stop at once, and on_stopped
    // runs as after any stop (never from inside start or start_on).
    //
    // SIGPIPE: the start sets it to SIG_IGN for the whole process if it is SIG_DFL. File bodies
    // go out with sendfile(2), which cannot take MSG_NOSIGNAL as writes do, and a client that
    // disconnects mid-send must not kill the process. Only SIG_DFL is changed (and never
    // restored): an application that wants its own handler installs it before the start and
    // keeps it; the failed send then reports EPIPE as well.

    // Binds every listener and starts config.workers worker threads. Throws StartError.
    void start();
    // Binds every listener and serves with one worker on `loop`, which the application owns
    // and runs (config.workers is ignored). Call on the thread that runs `loop`; every hook of
    // every plugin then runs on that thread, inside the application's uv_run. The server's
    // handles keep the loop alive until stop() completes (ServerOptions::on_stopped). The
    // application must not close the loop or destroy the server before that; destroying a
    // server whose loop is not running (uv_stop) first finishes the stop by running the loop.
    // Throws StartError.
    void start_on(uv_loop_t *loop);
    // The addresses actually bound (port 0 resolved), in config order. After start().
    std::vector<ListenAddress> bound_addresses() const;
    // Begins a graceful stop: no new connections; in-flight requests get timeouts.grace_ms,
    // then are aborted. Returns at once. Before the start: kept for it (see start). Thread-safe:
    // any thread, any number of times, also while another thread starts the server.
    void stop();
    // Reloads: loads plugins and creates every location's instance from `config` (on the
    // calling thread), then new connections use them while connections already open finish on
    // the generation they started with; its instances are destroyed (on_destroy) when its last
    // connection closes, on that connection's worker. Limits, timeouts, locations, plugins,
    // log level and the access log's file (reopened, as for log rotation) change; listen and
    // workers need a restart. Throws StartError and changes nothing if the config is refused.
    // Thread-safe: any thread, but not concurrently with itself.
    void reload(const Config &config);
    // Blocks until every worker has stopped. With start_on(), or before a start: returns at
    // once (the application's uv_run returns when the stop is complete; see on_stopped).
    void wait();
    // True once a stop has completed (every worker's handles closed). Thread-safe.
    bool stopped() const;
    // Live counters. Thread-safe: any thread, any time after start().
    ServerStats stats() const;

    const Config &config() const;

    class Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Loads every plugin the config names and creates (then destroys) each location's instance,
// as `dialtone --check` does. Throws StartError describing every problem.
void check_config(const Config &config, const ServerOptions &options);

} // namespace dialtone
