#include "server_core.hpp"

#include "dialtone/log.hpp"
#include "listener.hpp"
#include "worker.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <thread>

namespace dialtone {

namespace {

// What a Config built in code can get wrong that the TOML loader refuses, and what only
// ServerOptions can get wrong (a file cannot register plugins).
std::vector<std::string> embedding_problems(const Config &config, const ServerOptions &options) {
    std::vector<std::string> problems;
    if (config.listen.empty())
        problems.push_back("server.listen: no address to listen on (add one to Config::listen, "
                           "e.g. {\"127.0.0.1\", 8080})");
    for (const ListenAddress &a : config.listen) {
        unsigned char buf[sizeof(in6_addr)];
        if (inet_pton(AF_INET, a.host.c_str(), buf) != 1 &&
            inet_pton(AF_INET6, a.host.c_str(), buf) != 1)
            problems.push_back("server.listen: \"" + a.host +
                               "\" is not an IP address (names are not resolved: use "
                               "127.0.0.1, ::1, 0.0.0.0 or ::)");
    }
    const std::vector<InProcessPlugin> &plugins = options.plugins;
    for (size_t i = 0; i < plugins.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (plugins[j].name != plugins[i].name)
                continue;
            problems.push_back("ServerOptions::plugins: in-process plugin \"" + plugins[i].name +
                               "\" is registered twice (entries " + std::to_string(j) + " and " +
                               std::to_string(i) + "): register each name once");
            break;
        }
    }
    return problems;
}

} // namespace

std::shared_ptr<const Generation> first_generation(const Config &config,
                                                   const ServerOptions &options) {
    std::vector<std::string> problems = embedding_problems(config, options);
    try {
        auto generation = std::make_shared<const Generation>(config, options);
        if (problems.empty())
            return generation;
    } catch (const StartError &e) {
        problems.push_back(e.what());
    }
    std::string all;
    for (const auto &p : problems)
        all += (all.empty() ? "" : "\n") + p;
    throw StartError(all);
}

ServerCore::ServerCore(Config config, ServerOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
    set_log_level(config_.log_level);
    generation_ = first_generation(config_, options_);
    max_connections_.store(config_.limits.max_connections);
}

ServerCore::~ServerCore() {
    if (started()) {
        stop();
        if (external_) {
            // The application's loop: finish the stop on it (it must not be running now).
            while (!stopped())
                uv_run(external_, UV_RUN_ONCE);
        }
        wait();
        wait_for_plugins();
    }
    workers_.clear();
}

std::shared_ptr<const Generation> ServerCore::generation() const {
    std::lock_guard<std::mutex> lock(gen_mu_);
    return generation_;
}

bool ServerCore::open_connection() {
    return connections_.fetch_add(1, std::memory_order_relaxed) <
           max_connections_.load(std::memory_order_relaxed);
}

void ServerCore::connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }

void ServerCore::check_startable() const {
    switch (phase_.load(std::memory_order_acquire)) {
    case Phase::created:
    case Phase::stop_pending:
        return;
    case Phase::running:
        throw StartError("the server is already running: start() or start_on() once per Server");
    case Phase::stopping:
    case Phase::stopped:
        break;
    }
    throw StartError("the server has been stopped, and a Server runs once: create a new one "
                     "(from the same Config) to serve again");
}

void ServerCore::start() {
    std::lock_guard<std::mutex> lock(life_mu_);
    check_startable();
    unsigned n = config_.workers ? config_.workers : std::thread::hardware_concurrency();
    start_workers(n == 0 ? 1 : n, nullptr);
}

void ServerCore::start_on(uv_loop_t *loop) {
    std::lock_guard<std::mutex> lock(life_mu_);
    check_startable();
    if (!loop)
        throw StartError("start_on: no loop");
    start_workers(1, loop);
}

void ServerCore::start_workers(unsigned n, uv_loop_t *external) {
    // Writes use MSG_NOSIGNAL, but sendfile(2) cannot: a client that vanishes must not kill us.
    struct sigaction old;
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    if (!config_.access_log.empty())
        access_log_.open(config_.access_log);
    // Every socket is bound before any worker exists, so a refused address leaves nothing
    // behind on a loop (the application's, with start_on).
    BoundSockets sockets = bind_listeners(config_.listen, n);
    bound_ = std::move(sockets.bound);
    for (unsigned i = 0; i < n; ++i) {
        workers_.push_back(std::make_unique<Worker>(*this, i, external));
        for (int fd : sockets.fds[i])
            workers_.back()->add_listener(fd);
    }
    started_wall_ = std::chrono::system_clock::now();
    started_ms_ = uv_hrtime() / 1000000;
    external_ = external;
    bool stop_now = phase_ == Phase::stop_pending;
    phase_ = Phase::running; // before the first worker runs: stats() reads it from workers
    for (auto &w : workers_)
        w->start();
    if (external)
        DT_LOG(LogLevel::info, "dialtone %s started on the application's loop", DIALTONE_VERSION);
    else
        DT_LOG(LogLevel::info, "dialtone %s started: %u worker(s)", DIALTONE_VERSION, n);
    if (stop_now) {
        DT_LOG(LogLevel::info, "stopping at once: stop() was called before the start");
        stop_workers();
    }
}

void ServerCore::worker_finished() {
    if (finished_workers_.fetch_add(1, std::memory_order_acq_rel) + 1 != workers_.size())
        return;
    phase_.store(Phase::stopped, std::memory_order_release);
    if (options_.on_stopped)
        options_.on_stopped();
}

ServerStats ServerCore::stats() const {
    ServerStats s;
    s.started = started_wall_;
    s.uptime = std::chrono::milliseconds(started() ? uv_hrtime() / 1000000 - started_ms_ : 0);
    s.max_connections = max_connections_.load(std::memory_order_relaxed);
    for (const auto &w : workers_) {
        const WorkerCounters &c = w->counters();
        auto get = [](const std::atomic<uint64_t> &v) { return v.load(std::memory_order_relaxed); };
        s.workers.push_back({w->index(), get(c.connections), get(c.accepted), get(c.requests),
                             get(c.active), get(c.suspended), get(c.bytes_sent),
                             get(c.up_exchanges), get(c.up_active), get(c.up_failed),
                             get(c.up_connects), get(c.up_idle)});
    }
    return s;
}

void ServerCore::reload(const Config &config) {
    // Plugins load and instances are created here, on the caller's thread; connections keep
    // the generation they were accepted under, so in-flight requests finish on the old one and
    // its instances are destroyed when its last connection closes.
    auto next = std::make_shared<const Generation>(config, options_);
    if (config.listen.size() != config_.listen.size() || config.workers != config_.workers)
        DT_LOG(LogLevel::warn, "reload: server.listen and server.workers take effect only after a "
                               "restart; keeping the running ones");
    const std::string &access_log = config.access_log;
    if (!access_log.empty() && access_log_.fd() >= 0) {
        access_log_.reopen(access_log);
    } else if (access_log != config_.access_log) {
        DT_LOG(LogLevel::warn, "reload: turning the access log on or off takes a restart");
    }
    set_log_level(config.log_level);
    max_connections_.store(config.limits.max_connections);
    {
        std::lock_guard<std::mutex> lock(gen_mu_);
        std::erase_if(retired_, [](const auto &weak) { return weak.expired(); });
        retired_.push_back(generation_);
        generation_ = std::move(next);
    }
    DT_LOG(LogLevel::info, "reloaded %s: new connections use the new configuration",
           config.file.empty() ? "the configuration" : config.file.c_str());
}

void ServerCore::stop() {
    {
        std::lock_guard<std::mutex> lock(life_mu_);
        switch (phase_.load(std::memory_order_acquire)) {
        case Phase::created:
            phase_ = Phase::stop_pending; // kept for the start, which then stops at once
            return;
        case Phase::running:
            stop_workers();
            break;
        case Phase::stop_pending:
        case Phase::stopping:
        case Phase::stopped:
            return;
        }
    }
    // Plugin code runs outside the lock: an on_stop may well call stop() again.
    notify_stop();
}

void ServerCore::stop_workers() {
    phase_ = Phase::stopping; // before any worker can finish and mark the server stopped
    for (auto &w : workers_)
        w->stop();
}

void ServerCore::notify_stop() {
    if (stop_notified_.exchange(true))
        return;
    // Every instance that may still serve a request hears it once: the current generation's
    // and those a reload retired that connections still use.
    std::vector<std::shared_ptr<const Generation>> live;
    {
        std::lock_guard<std::mutex> lock(gen_mu_);
        live.push_back(generation_);
        for (auto &weak : retired_)
            if (auto g = weak.lock())
                live.push_back(std::move(g));
    }
    for (auto &g : live)
        g->notify_stop();
}

void ServerCore::wait_for_plugins() {
    // Every request has been finished or aborted, but plugins may still hold references on
    // their own threads (they were told with on_abort). Their instances must outlive those
    // references and be destroyed on this thread: wait for them, within another grace period
    // (at least a second: a plugin thread may be in the middle of a slice of work).
    uint64_t grace = std::max<uint64_t>(generation()->config().timeouts.grace_ms, 1000);
    uint64_t held = 0;
    for (auto &w : workers_)
        held += w->inbox()->live();
    if (held == 0)
        return;
    DT_LOG(LogLevel::info, "waiting up to %llu ms for plugins to release %llu request(s)",
           static_cast<unsigned long long>(grace), static_cast<unsigned long long>(held));
    uint64_t deadline = uv_hrtime() / 1000000 + grace;
    held = 0;
    for (auto &w : workers_)
        held += w->inbox()->reap(deadline);
    if (held > 0)
        DT_LOG(LogLevel::warn,
               "plugins still hold %llu request(s) %llu ms after the stop: their instances are "
               "not destroyed (on_destroy does not run); a plugin must release every request "
               "soon after on_abort",
               static_cast<unsigned long long>(held), static_cast<unsigned long long>(grace));
}

void ServerCore::wait() {
    for (auto &w : workers_)
        w->join();
}

} // namespace dialtone
