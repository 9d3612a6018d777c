// What workers share: config, the current generation, connection accounting, the access log.
#pragma once

#include "dialtone/server.hpp"
#include "generation.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

namespace dialtone {

class Worker;

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

    int access_log_fd() const { return access_fd_; }

    void start();
    void start_on(uv_loop_t *loop);
    void stop();
    void wait();
    bool stopped() const { return stopped_.load(std::memory_order_acquire); }
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
    int access_fd_ = -1;
    bool started_ = false;
    bool joined_ = false;
    uv_loop_t *external_ = nullptr;
    std::atomic<unsigned> finished_workers_{0};
    std::atomic<bool> stopped_{false};
    std::chrono::system_clock::time_point started_wall_;
    uint64_t started_ms_ = 0; // uv_hrtime()/1e6 at start
};

} // namespace dialtone
