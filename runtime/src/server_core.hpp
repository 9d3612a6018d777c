// What workers share: config, the current generation, connection accounting, the access log.
#pragma once

#include "access_log.hpp"
#include "dialtone/server.hpp"
#include "generation.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

namespace dialtone {

class Worker;

// The first generation of a server, once what only an embedding application can get wrong
// (no listen address, one that is not an IP address, an in-process plugin registered twice)
// is checked too. Throws StartError listing every problem. What check_config runs.
std::shared_ptr<const Generation> first_generation(const Config &config,
                                                   const ServerOptions &options);

class ServerCore {
  public:
    ServerCore(Config config, ServerOptions options);
    ~ServerCore();

    const Config &config() const { return config_; }
    std::shared_ptr<const Generation> generation() const;

    // Connection accounting against limits.max_connections: counts the new connection and
    // says whether it is within the limit. Every call is paired with connection_closed().
    // Thread-safe.
    bool open_connection();
    void connection_closed();

    int access_log_fd() const { return access_log_.fd(); }

    void start();
    void start_on(uv_loop_t *loop);
    void stop();
    void wait();
    bool stopped() const { return phase_.load(std::memory_order_acquire) == Phase::stopped; }
    ServerStats stats() const;
    // A worker closed its last handle (on its thread). The last one runs on_stopped.
    void worker_finished();
    // Builds a new generation from `config` and makes it current; throws StartError (the old
    // generation keeps serving).
    void reload(const Config &config);
    std::vector<ListenAddress> bound() const { return bound_; }
    // After start(): the workers, by index (for in-process drivers such as the fuzzer).
    Worker &worker(size_t i) { return *workers_.at(i); }
    // Connections currently counted against limits.max_connections. Thread-safe.
    size_t open_connections() const { return connections_.load(std::memory_order_relaxed); }

  private:
    // After the workers ended: destroys the requests plugins release meanwhile, waiting up to
    // timeouts.grace_ms for the last one.
    void wait_for_plugins();
    void start_workers(unsigned n, uv_loop_t *external);
    // Runs on_stop of every live instance, once (not under life_mu_: plugin code).
    void notify_stop();
    // Under life_mu_, with the phase running: begins the graceful stop of every worker.
    void stop_workers();
    // Throws StartError unless the phase allows a start (under life_mu_).
    void check_startable() const;
    // Whether start() ran to completion (its workers exist).
    bool started() const { return phase_.load(std::memory_order_acquire) >= Phase::running; }

    Config config_;
    ServerOptions options_;
    mutable std::mutex gen_mu_;
    std::shared_ptr<const Generation> generation_;
    std::vector<std::weak_ptr<const Generation>> retired_; // under gen_mu_: replaced by reloads
    std::atomic<bool> stop_notified_{false};               // on_stop ran
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<ListenAddress> bound_;
    std::atomic<size_t> connections_{0};
    std::atomic<size_t> max_connections_{0};
    AccessLogFile access_log_;
    // A server's life goes one way: a Server runs once. `stop_pending` is a stop() that came
    // before the start: the start binds and starts as usual, then stops at once.
    enum class Phase { created, stop_pending, running, stopping, stopped };
    // Guards the phase changes of start() and stop() (and workers_ while start fills it):
    // stop() may come from any thread, during a start too. stopped() reads phase_ unlocked.
    std::mutex life_mu_;
    std::atomic<Phase> phase_{Phase::created}; // changed under life_mu_, but for -> stopped
    uv_loop_t *external_ = nullptr;
    std::atomic<unsigned> finished_workers_{0};
    std::chrono::system_clock::time_point started_wall_;
    uint64_t started_ms_ = 0; // uv_hrtime()/1e6 at start
};

} // namespace dialtone
