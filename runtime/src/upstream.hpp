// Upstream groups and what a worker keeps for each: its balancer and keep-alive pool, and the
// connections to upstream servers themselves (connect, write a request, read the response
// through ResponseParser, go back to the pool or close).
//
// Shared nothing, as the server side: a group (one [[upstream]] of a generation) is immutable
// and shared by every worker; everything that changes — balancer state, idle connections,
// counters — is per worker, used only by its thread. nginx's upstream keepalive cache and
// Envoy's per-worker connection pools are cut the same way; H2O's shared socket pool is the
// counter-example (a mutex on every reuse).
//
// An idle pooled connection stays watched for input: an upstream that closes it (its own
// keep-alive timeout) is noticed and the connection dropped before anyone reuses it, which
// narrows the keep-alive race to the moment between the upstream's close and our write. What
// is left of that race is the exchange's business: a reused connection that fails before any
// byte of a response is retried on a fresh one, for idempotent methods (exchange.cpp).
#pragma once

#include "balancer.hpp"
#include "dialtone/config.hpp"
#include "output_queue.hpp"
#include "response_parser.hpp"

#include <dialtone/plugin.h>

#include <cstdint>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <unordered_map>
#include <vector>

#include <uv.h>

namespace dialtone {

class Exchange;
class Generation;
class SpoolFile;
class Worker;
class WorkerUpstream;

// One [[upstream]] group of a generation, what dt_upstream_t points to. Immutable.
class UpstreamGroup {
  public:
    explicit UpstreamGroup(const UpstreamConfig &config);
    UpstreamGroup(const UpstreamGroup &) = delete;
    UpstreamGroup &operator=(const UpstreamGroup &) = delete;

    static const UpstreamGroup *from(const dt_upstream_t *u) {
        return reinterpret_cast<const UpstreamGroup *>(u);
    }
    const dt_upstream_t *c() const { return reinterpret_cast<const dt_upstream_t *>(this); }

    const UpstreamConfig &config() const { return config_; }
    // The servers' socket addresses, in the config's order.
    const sockaddr_storage &address(size_t server) const { return addrs_[server]; }
    // Unique in the process (never reused, unlike an address): workers key their state by it.
    uint64_t id() const { return id_; }

  private:
    UpstreamConfig config_;
    std::vector<sockaddr_storage> addrs_;
    uint64_t id_;
};

// How an upstream connection ended an exchange, as the exchange needs it for retries.
enum class UpstreamFailure : uint8_t {
    none,
    connect,         // refused or unreachable: nothing was sent
    connect_timeout, // connect_timeout_ms: nothing was sent
    no_response,     // closed or reset after the request went out, before any response byte
    timeout,         // first_byte_timeout_ms before the head, io_timeout_ms after it
    reset,           // closed or reset inside the response
    protocol,        // an invalid response (ResponseParser's error)
};

// What an upstream connection tells the exchange using it. Owner thread; every call may
// release the connection (release_connection) but must not destroy the exchange's caller.
class UpstreamUser {
  public:
    // The head of the final response (the connection keeps it until the next exchange).
    virtual void upstream_head(const UpstreamHead &head) = 0;
    // A piece of the body (a view into the worker's read buffer, valid for the call). Returns
    // false to pause: the connection stops reading until resume_reading().
    virtual bool upstream_body(std::string_view piece) = 0;
    // The response ended whole (kind none) or the exchange failed. Last call. In a tunnel,
    // `none` is the upstream's end of its bytes.
    virtual void upstream_end(UpstreamFailure failure, const char *why) = 0;
    // A 101 the user allowed: from here the connection is a tunnel. `rest`: bytes the upstream
    // sent after the head; later bytes come as upstream_body pieces.
    virtual void upstream_upgraded(std::string_view rest) = 0;
    // Tunnel: the upstream took every byte sent to it (send()).
    virtual void upstream_drained() = 0;
    // How many bytes the next read may take: what the user's window has room for, so that a
    // read never overshoots it by a whole read buffer.
    virtual size_t upstream_read_budget() const = 0;

  protected:
    ~UpstreamUser() = default;
};

// One connection to one server of a group. Owned by its WorkerUpstream; lent to one exchange
// at a time.
class UpstreamConnection {
  public:
    UpstreamConnection(WorkerUpstream &pool, size_t server);
    UpstreamConnection(const UpstreamConnection &) = delete;
    UpstreamConnection &operator=(const UpstreamConnection &) = delete;

    // Starts a non-blocking connect. False (with errno set) when it failed at once.
    bool connect();
    // Sends `request` (head and body) for `user`, then reads the response to `method`. With
    // `upgrade` a 101 turns the connection into a tunnel (upstream_upgraded).
    void begin(UpstreamUser *user, std::string_view request, std::string_view method, bool upgrade);
    // Tunnel: queues bytes for the upstream; returns the bytes still unsent.
    size_t send(std::string_view bytes);
    // Tunnel: no more bytes for the upstream (the client half-closed): FIN once all are sent.
    void shutdown_write();
    // The user paused on a body piece and wants the rest.
    void resume_reading();
    // The exchange no longer wants this connection: back to the pool when the response ended
    // cleanly and the connection may carry another, else closed. Owner thread.
    void release(bool reusable);

    size_t server() const { return server_; }
    bool reused() const { return reused_; }

  private:
    friend class WorkerUpstream;
    enum class State : uint8_t { connecting, sending, waiting, reading, tunnel, idle, closed };

    static void on_poll(uv_poll_t *h, int status, int events);
    static void on_timer(uv_timer_t *h);
    static void on_close(uv_handle_t *h);

    void on_connected();
    void flush();
    void on_readable();
    void on_idle_event();
    // Feeds the parser from `data`; false once the user paused or the exchange ended.
    bool feed(std::string_view data);
    void fail(UpstreamFailure failure, const char *why);
    void end_exchange(UpstreamFailure failure, const char *why);
    // The state's deadline is `ms` from now. Lazy, as Connection::update_timer: the uv timer
    // is restarted only for a deadline earlier than the one it is armed for; a later one only
    // moves deadline_, and a timer that fires early re-arms for what is left. Every request
    // would otherwise restart it four or five times (a heap removal and insertion each).
    void arm_timer(uint64_t ms);
    // No deadline: an armed timer fires, finds nothing to do and stays quiet.
    void disarm_timer() { deadline_ = 0; }
    void watch(int events);
    void close();

    WorkerUpstream &pool_;
    size_t server_;
    int fd_ = -1;
    uv_poll_t poll_;
    uv_timer_t timer_;
    int open_handles_ = 0;
    int events_ = 0;
    State state_ = State::connecting;
    bool reused_ = false;       // carried an exchange before this one
    bool got_bytes_ = false;    // some byte of this exchange's response arrived
    bool paused_ = false;       // the user asked for a pause
    bool closing_ = false;      // close() ran
    bool spoiled_ = false;      // EOF, or bytes after a response: never reused
    bool upgrade_ = false;      // a 101 may turn this exchange into a tunnel
    bool shut_pending_ = false; // tunnel: shut down writing once the queue is sent
    UpstreamUser *user_ = nullptr;
    OutputQueue out_;
    ResponseParser parser_;
    std::string pending_; // response bytes read and not fed yet (after a pause)
    uint64_t idle_since_ = 0;
    uint64_t deadline_ = 0; // loop time the current state times out at; 0: none
    uint64_t armed_ = 0;    // loop time the uv timer is due at; 0: not armed
    UpstreamConnection *prev_ = nullptr, *next_ = nullptr; // the pool's idle list
};

// What one worker keeps for one group: the balancer, the idle connections (most recently used
// first, at most `keepalive`), counters. Owner thread only.
class WorkerUpstream {
  public:
    WorkerUpstream(Worker &worker, const UpstreamGroup &group,
                   std::weak_ptr<const Generation> generation);
    ~WorkerUpstream();
    WorkerUpstream(const WorkerUpstream &) = delete;
    WorkerUpstream &operator=(const WorkerUpstream &) = delete;

    Balancer &balancer() { return balancer_; }
    const UpstreamGroup &group() const { return group_; }
    Worker &worker() { return worker_; }

    // A connection to `server` for an exchange: an idle one when `reuse` allows and one is
    // there, else a new one (connecting). Null when a new connect failed at once (errno set).
    UpstreamConnection *acquire(size_t server, bool reuse);

    // An exchange uses (or will use) this state: it stays until every one has ended, and a
    // stopping worker ends those still running (detached ones).
    void remember(Exchange *e) { exchanges_.push_back(e); }
    void forget(Exchange *e);

    // The group's spool file on this worker, made on first use (forwarding to slow clients);
    // null with `err` set when it cannot be made (tried again next time).
    SpoolFile *spool_file(std::string &err);

    // Counters, for the status plugin and tests.
    uint64_t connections_opened() const { return opened_; }
    size_t idle_count() const { return idle_count_; }
    size_t open_count() const { return open_count_; }

    // Whether this state may go: its generation is no longer the server's and nothing is
    // under way. Closes idle connections of an old generation meanwhile.
    bool sweep(const Generation *current);
    // Closes every connection (the worker is stopping). Exchanges must have ended.
    void close_all();

  private:
    friend class UpstreamConnection;
    void park(UpstreamConnection *c);   // to the idle list (evicting the oldest over keepalive)
    void unpark(UpstreamConnection *c); // off the idle list
    void closed(UpstreamConnection *c); // its handles are closed: free it
    void close_idle();

    Worker &worker_;
    const UpstreamGroup &group_;
    std::weak_ptr<const Generation> generation_;
    Balancer balancer_;
    UpstreamConnection *idle_ = nullptr; // most recently parked first
    size_t idle_count_ = 0;
    size_t open_count_ = 0;
    uint64_t opened_ = 0;
    std::vector<Exchange *> exchanges_;
    SpoolFile *spool_ = nullptr; // ours, and each block's in use (SpoolFile::unref)
};

// A worker's WorkerUpstream per group, created on first use. Owner thread only.
class WorkerUpstreams {
  public:
    explicit WorkerUpstreams(Worker &worker) : worker_(worker) {}
    // The state for `group` of `generation` (which must be alive: the caller holds it).
    WorkerUpstream &get(const UpstreamGroup &group,
                        const std::shared_ptr<const Generation> &generation);
    // Once a second: drops the state of groups whose generation was replaced, once idle.
    void sweep(const Generation *current);
    void close_all();
    // Sums over the groups, for stats.
    uint64_t connections_opened() const;
    size_t idle_connections() const;

  private:
    Worker &worker_;
    std::unordered_map<uint64_t, std::unique_ptr<WorkerUpstream>> groups_;
};

} // namespace dialtone
