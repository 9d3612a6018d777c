// Listening sockets: binding them (one per worker and address, SO_REUSEPORT, so the kernel
// spreads connections and no accept lock is needed), resolving port 0, and a worker's accept
// loop with its back-off when descriptors run out.
#pragma once

#include "dialtone/config.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <vector>

#include <uv.h>

namespace dialtone {

// The sockets start_workers binds: fds[worker] are that worker's, one per address, and
// `bound` says where each address listens (port 0 resolved).
struct BoundSockets {
    std::vector<std::vector<int>> fds;
    std::vector<ListenAddress> bound;
};

// Binds `workers` non-blocking listening sockets for each address in `listen`. A port 0 is
// resolved by the first socket and the others share it. Logs each address. Throws StartError
// naming the address (closing whatever was bound) when one cannot listen.
BoundSockets bind_listeners(const std::vector<ListenAddress> &listen, unsigned workers);

// Writes an accepted connection's peer address as text ("192.0.2.7", "2001:db8::1"; an
// IPv4-mapped IPv6 address as IPv4; "-" for another family) into `out`, of `cap` bytes.
void format_peer(const sockaddr_storage &peer, char *out, size_t cap);

// One worker's listening sockets. Accepts in bounded batches and hands each connection (non-
// blocking, TCP_NODELAY) to `on_connection`; out of descriptors (EMFILE and the like), stops
// accepting for a moment instead of spinning. Owner thread, except shutdown_reads().
class Listeners {
  public:
    using ConnectionFn = std::function<void(int fd, const sockaddr_storage &peer)>;
    Listeners(uv_loop_t *loop, ConnectionFn on_connection);
    Listeners(const Listeners &) = delete;
    Listeners &operator=(const Listeners &) = delete;

    // Takes a listening socket (non-blocking, bound, listening). Before start().
    void add(int fd);
    // Starts accepting (the loop must be initialised by now).
    void start();
    // Refuses new connections at once, from any thread: accept fails from then on (EINVAL) and
    // connections waiting in the kernel's queue are reset when close() runs. Thread-safe.
    void shutdown_reads();
    // Stops accepting and closes the sockets and the handles (owner thread; once).
    void close();

  private:
    struct Socket {
        uv_poll_t poll;
        int fd;
        Listeners *owner;
    };
    static void on_readable(uv_poll_t *h, int status, int events);
    static void on_pause_over(uv_timer_t *t);
    void accept_from(Socket &s);
    void pause();
    void resume();

    ConnectionFn on_connection_;
    uv_loop_t *loop_;
    uv_timer_t pause_; // the back-off after EMFILE
    std::vector<std::unique_ptr<Socket>> sockets_;
    bool started_ = false; // pause_ is initialised
    bool closed_ = false;
};

} // namespace dialtone
