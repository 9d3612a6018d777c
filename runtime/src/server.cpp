// The public Server: a facade over ServerCore (server_core.cpp), and check_config.
#include "dialtone/server.hpp"

#include "server_core.hpp"

namespace dialtone {

WorkerStats ServerStats::total() const {
    WorkerStats t;
    for (const WorkerStats &w : workers) {
        t.connections += w.connections;
        t.accepted += w.accepted;
        t.requests += w.requests;
        t.active += w.active;
        t.suspended += w.suspended;
        t.bytes_sent += w.bytes_sent;
    }
    return t;
}

class Server::Impl : public ServerCore {
  public:
    using ServerCore::ServerCore;
};

Server::Server(Config config, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options))) {}

Server::~Server() = default;
void Server::start() { impl_->start(); }
void Server::start_on(uv_loop_t *loop) { impl_->start_on(loop); }
bool Server::stopped() const { return impl_->stopped(); }
ServerStats Server::stats() const { return impl_->stats(); }
std::vector<ListenAddress> Server::bound_addresses() const { return impl_->bound(); }
void Server::stop() { impl_->stop(); }
void Server::reload(const Config &config) { impl_->reload(config); }
void Server::wait() { impl_->wait(); }
const Config &Server::config() const { return impl_->config(); }

void check_config(const Config &config, const ServerOptions &options) {
    first_generation(config, options);
}

} // namespace dialtone
