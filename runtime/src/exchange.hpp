// An upstream exchange, what dt_exchange_t points to: one request sent to a server of a group
// (with the tries, retries and balancing that takes) and its response handed to a plugin —
// head, body in pieces within a window, exactly one on_done — or forwarded to the client by
// the host itself (req_forward).
//
// Threads. Everything here runs on the worker of the request the exchange was started for
// (its owner), where the upstream connection lives. The plugin's callbacks run there too, in
// the request's strand (never concurrently with its hooks); a call from a hook running on
// another worker (the strand moves with req_resume) is carried to the owner through its inbox.
//
// Lifetime. The host allocates an exchange in exchange_start and frees it right after on_done
// returns. Attached, it holds a reference on its request; either way it holds the generation
// (so the plugin instance and the group outlive it) and keeps its worker's pool state.
#pragma once

#include "spool.hpp"
#include "upstream.hpp"

#include <dialtone/plugin.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace dialtone {

class Generation;
class Inbox;
class Request;

class Exchange final : private UpstreamUser {
  public:
    static Exchange *from(dt_exchange_t *x) { return reinterpret_cast<Exchange *>(x); }
    dt_exchange_t *c() { return reinterpret_cast<dt_exchange_t *>(this); }

    // dt_api_t.exchange_start: checks, copies, and starts on the request's worker.
    static int start(Request &req, const UpstreamGroup &group, const dt_exchange_req_t &xreq,
                     const dt_exchange_cbs_t &cbs, void *arg, dt_exchange_t **out);
    // dt_api_t.exchange_resume / exchange_cancel / exchange_detach / req_forward.
    int resume();
    int cancel();
    int detach();
    int forward(Request &req);

    // Owner thread: `req` leaves its connection (finished: DT_ECANCELED, or aborted:
    // DT_EABORTED): every exchange still attached to it ends with that result.
    static void request_ended(Request &req, int result);
    // Owner thread, from the request's writable continuation: the client took what the
    // forwarded body had queued.
    void client_writable();
    // The worker is stopping and the exchange still runs (detached ones): end it now.
    void worker_stopping();

    // Tunnels (DT_EXCHANGE_UPGRADE, a 101, req_forward), from the client's connection on the
    // owner: whether the exchange is one now; bytes the client sent (false: stop reading the
    // client until Connection::resume_tunnel); the client's end of its bytes.
    bool tunneling() const { return tunnel_; }
    bool from_client(std::string_view bytes);
    void client_eof();

    Exchange(const Exchange &) = delete;
    Exchange &operator=(const Exchange &) = delete;

  private:
    Exchange() = default;
    ~Exchange() = default; // unref(): the owner's reference and posted tasks' ones

    // UpstreamUser: what the connection reports.
    void upstream_head(const UpstreamHead &head) override;
    bool upstream_body(std::string_view piece) override;
    void upstream_end(UpstreamFailure failure, const char *why) override;
    void upstream_upgraded(std::string_view rest) override;
    void upstream_drained() override;
    size_t upstream_read_budget() const override;
    void start_tunnel();

    bool on_owner() const;
    // Runs `fn` on the owner: now when on it, else through the inbox. False when the worker
    // is gone.
    template <typename Fn> bool on_owner_do(Fn fn);
    // Owner: runs the next try (pick a server, a connection, send), or ends the exchange.
    void run();
    void try_next();
    // Owner: the exchange is over as far as the upstream goes: deliver what is left, then
    // on_done(result).
    void end(int result);
    void cancel_now(int result);
    // Owner: arranges a pump (in the request's strand when attached).
    void schedule();
    // A pump later, from the inbox: for when one now could free the exchange under its caller.
    void defer();
    void repost(); // posts a pump to the owner (any thread)
    void unref();
    static void strand_pump(dt_req_t *, void *arg);
    void pump();
    void deliver_body();
    void write_client(BodyPart part);
    // Forwarding with a spool (UpstreamConfig::spool_max_size): bytes the client has not
    // taken go to disk rather than hold the upstream back.
    bool spooled() const { return spool_ && spool_->unsent() > 0; }
    size_t spool_room() const; // bytes the spool may take now; 0: the upstream waits
    bool spool_append(std::string_view bytes);
    bool deliver_spool(); // hands the spool to the client; true when it all went
    void finish();
    void unlink_from_request();

    // What the plugin asked.
    Request *req_ = nullptr; // attached: holds a reference; null once detached
    std::shared_ptr<Inbox> inbox_;
    std::shared_ptr<const Generation> generation_;
    const UpstreamGroup *group_ = nullptr;
    WorkerUpstream *pool_ = nullptr; // set on the owner by run()
    dt_exchange_cbs_t cbs_{};
    void *arg_ = nullptr;
    std::string request_; // the bytes to send: request line, fields, body
    std::string method_;
    std::string key_;
    bool idempotent_ = false;
    size_t window_ = 16 * 1024; // see dt_exchange_req_t.window

    // Tries.
    std::vector<size_t> tried_;
    unsigned tries_used_ = 0;
    bool fresh_only_ = false; // a reused connection failed: the next try opens a new one
    int last_error_ = 0;
    UpstreamConnection *conn_ = nullptr;
    size_t server_ = 0;
    bool acquired_ = false; // balancer_.acquire(server_) is not yet released

    // The response.
    UpstreamHead head_;
    bool head_received_ = false;
    bool head_pending_ = false; // received, not yet given to on_head
    std::string body_;          // received, not yet taken: body_[body_off_..]
    size_t body_off_ = 0;
    bool upstream_paused_ = false; // the connection waits for resume_reading()
    bool plugin_paused_ = false;   // on_body took less than offered
    bool client_paused_ = false;   // forwarding: the client's queue is over the window
    bool forward_ = false;
    std::unique_ptr<Spool> spool_;    // forwarding: what the client is behind by, on disk
    bool spool_failed_ = false;       // no spool could be made or written: the upstream waits
    bool upgrade_ = false;            // DT_EXCHANGE_UPGRADE
    bool upgraded_ = false;           // the upstream answered 101: its connection is a tunnel
    bool tunnel_ = false;             // forwarded 101: the client's connection is joined to it
    bool client_paused_read_ = false; // the client's input waits for the upstream to drain
    bool in_on_head_ = false;
    bool detached_ = false;
    bool cancelled_ = false;
    bool ended_ = false; // the upstream part is over: result_ holds the outcome
    bool finished_ = false;
    int result_ = 0;
    bool scheduled_ = false;
    int busy_ = 0; // inside a report from the connection: the exchange must not go
    std::atomic<int> refs_{1};
};

} // namespace dialtone
