// The dialtone server: listeners, worker threads (one libuv loop each), plugins and locations.
// An embedding application builds a Config (load_config_file or in code), then:
//     dialtone::Server server(std::move(config), {.plugin_dirs = {...}});
//     server.start();          // binds, starts workers; throws StartError
//     ...                      // server.stop() from any thread, e.g. a signal handler's loop
//     server.wait();
#pragma once

#include "dialtone/config.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dialtone {

// A problem that prevents starting: a plugin that cannot be loaded or refuses its settings, an
// address that cannot be bound. what() is the message for the operator (possibly several
// lines, each naming file, line, key or plugin path).
class StartError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ServerOptions {
    // Folders searched, in order, for "<handler>.so" when a location names a handler that no
    // [[plugin]] declares (the bundled plugins).
    std::vector<std::string> plugin_dirs;
};

class Server {
  public:
    // Loads the plugins the config names and creates one instance per location (on this
    // thread). Throws StartError.
    Server(Config config, ServerOptions options);
    ~Server(); // stops (graceful) and waits if still running
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Binds every listener and starts the worker threads. Throws StartError.
    void start();
    // The addresses actually bound (port 0 resolved), in config order. After start().
    std::vector<ListenAddress> bound_addresses() const;
    // Begins a graceful stop: no new connections; in-flight requests get timeouts.grace_ms,
    // then are aborted. Returns at once. Thread-safe: any thread, any number of times.
    void stop();
    // Reloads: loads plugins and creates every location's instance from `config` (on the
    // calling thread), then new connections use them while connections already open finish on
    // the generation they started with; its instances are destroyed (on_destroy) when its last
    // connection closes, on that connection's worker. Limits, timeouts, locations, plugins,
    // log level and the access log's file (reopened, as for log rotation) change; listen and
    // workers need a restart. Throws StartError and changes nothing if the config is refused.
    // Thread-safe: any thread, but not concurrently with itself.
    void reload(const Config &config);
    // Blocks until every worker has stopped.
    void wait();

    const Config &config() const;

    class Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Loads every plugin the config names and creates (then destroys) each location's instance,
// as `dialtone --check` does. Throws StartError describing every problem.
void check_config(const Config &config, const ServerOptions &options);

} // namespace dialtone
