#include "exchange.hpp"

#include "connection.hpp"
#include "dialtone/log.hpp"
#include "generation.hpp"
#include "http.hpp"
#include "inbox.hpp"
#include "request.hpp"
#include "worker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dialtone {

namespace {

// RFC 9110 9.2.2: a request whose method is idempotent may be sent again after a failure.
bool is_idempotent(std::string_view m) {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
           m == "DELETE";
}

bool valid_bytes(dt_str_t s, bool allow_empty) {
    if (!s.ptr)
        return allow_empty;
    for (size_t i = 0; i < s.len; ++i) {
        char ch = s.ptr[i];
        if (ch == '\r' || ch == '\n' || ch == '\0')
            return false;
    }
    return true;
}

std::string_view view(dt_str_t s) { return s.ptr ? std::string_view(s.ptr, s.len) : ""; }

// The fields the host owns on the upstream connection: framing and the connection itself.
bool host_owned(std::string_view name) {
    return http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
           http::iequals(name, "connection");
}

int result_of(UpstreamFailure f) {
    switch (f) {
    case UpstreamFailure::none:
        return 0;
    case UpstreamFailure::connect:
        return DT_ECONNECT;
    case UpstreamFailure::connect_timeout:
    case UpstreamFailure::timeout:
        return DT_ETIMEDOUT;
    case UpstreamFailure::no_response:
    case UpstreamFailure::reset:
        return DT_ERESET;
    case UpstreamFailure::protocol:
        return DT_EPROTO;
    }
    return DT_EPROTO;
}

// The hash balancer's key when the plugin gives none: what the group's hash_key names, taken
// from the client's request (the target is the one sent upstream).
std::string default_key(const Request &req, const UpstreamGroup &group, std::string_view target) {
    switch (group.config().hash_key) {
    case HashKey::host_uri:
        return std::string(req.header("host")).append(target);
    case HashKey::client_ip:
        return req.remote;
    case HashKey::uri:
        break;
    }
    return std::string(target);
}

} // namespace

// ---- Starting ---------------------------------------------------------------------------------

int Exchange::start(Request &req, const UpstreamGroup &group, const dt_exchange_req_t &x,
                    const dt_exchange_cbs_t &cbs, void *arg, dt_exchange_t **out) {
    if (x.size < offsetof(dt_exchange_req_t, window) || cbs.size < sizeof(dt_exchange_cbs_t) ||
        !cbs.on_head || !cbs.on_done || !out)
        return DT_EINVAL;
    std::string_view method = view(x.method), target = view(x.target);
    if (method.empty() || !http::is_token(method) || target.empty() ||
        !valid_bytes(x.target, false) || target.find(' ') != std::string_view::npos ||
        (target[0] != '/' && target != "*"))
        return DT_EINVAL;
    if (x.field_count && !x.fields)
        return DT_EINVAL;

    std::string bytes;
    bytes.reserve(256 + x.body.len);
    bytes.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool has_host = false;
    for (size_t i = 0; i < x.field_count; ++i) {
        std::string_view name = view(x.fields[i].name), value = view(x.fields[i].value);
        if (name.empty() || !http::is_token(name) || host_owned(name) ||
            !valid_bytes(x.fields[i].value, true))
            return DT_EINVAL;
        has_host = has_host || http::iequals(name, "host");
        bytes.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_host) // as nginx's default proxy_set_header Host $proxy_host: the group's name
        bytes.append("Host: ").append(group.config().name).append("\r\n");
    bool upgrade = (x.flags & DT_EXCHANGE_UPGRADE) != 0;
    if (x.flags & ~DT_EXCHANGE_UPGRADE)
        return DT_EINVAL;
    if (upgrade)
        bytes.append("Connection: Upgrade\r\n");
    if (x.body.len > 0 || method == "POST" || method == "PUT" || method == "PATCH")
        bytes.append("Content-Length: ").append(std::to_string(x.body.len)).append("\r\n");
    bytes.append("\r\n");
    if (x.body.len)
        bytes.append(x.body.ptr, x.body.len);

    {
        MutexLock lock(req.mu);
        if (req.phase == Phase::aborted)
            return DT_EABORTED;
        if (req.phase >= Phase::finished)
            return DT_ESTATE;
    }
    auto *e = new Exchange;
    e->req_ = &req;
    req.retain();
    e->inbox_ = req.inbox;
    e->generation_ = req.generation;
    e->group_ = &group;
    e->cbs_ = cbs;
    e->arg_ = arg;
    e->request_ = std::move(bytes);
    e->method_ = method;
    e->idempotent_ = is_idempotent(method);
    e->upgrade_ = upgrade;
    if (group.config().balancer == BalancerKind::hash) // the others never read it
        e->key_ = x.hash_key.ptr ? std::string(view(x.hash_key)) : default_key(req, group, target);
    if (x.size >= offsetof(dt_exchange_req_t, reserved) && x.window > 0)
        e->window_ = std::max<size_t>(x.window, 4096);
    // On the owner the exchange starts now (the connect is under way when this returns), but
    // never ends inside exchange_start: busy_ defers an immediate failure's on_done.
    if (!e->on_owner_do([e] {
            ++e->busy_;
            e->run();
            --e->busy_;
        })) {
        // The request's worker has ended (its request was aborted meanwhile): nothing starts,
        // nothing runs, as for any error return.
        e->req_ = nullptr;
        e->unref();
        req.release();
        return DT_EABORTED;
    }
    *out = e->c();
    return 0;
}

bool Exchange::on_owner() const {
    Worker *w = Worker::current();
    return w && w->inbox() == inbox_;
}

template <typename Fn> bool Exchange::on_owner_do(Fn fn) {
    if (on_owner()) {
        fn();
        return true;
    }
    refs_.fetch_add(1, std::memory_order_relaxed); // the task's: the exchange may end first
    bool posted = inbox_->post([this, fn] {
        if (!finished_)
            fn();
        unref();
    });
    if (!posted)
        unref();
    return posted;
}

void Exchange::unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete this;
}

void Exchange::run() {
    Worker *w = Worker::current();
    pool_ = &w->upstreams().get(*group_, generation_);
    pool_->remember(this);
    WorkerCounters::add(w->counters().up_exchanges, 1);
    WorkerCounters::add(w->counters().up_active, 1);
    if (req_)
        req_->exchanges.push_back(this);
    if (req_ && req_->current_phase() >= Phase::finished) {
        // Finished or aborted before the owner got to it.
        cancel_now(req_->current_phase() == Phase::aborted ? DT_EABORTED : DT_ECANCELED);
        return;
    }
    try_next();
}

void Exchange::try_next() {
    unsigned tries = group_->config().tries_per_request();
    for (;;) {
        uint64_t now = uv_now(pool_->worker().loop());
        Balancer::Pick pick = pool_->balancer().pick(key_, now, tried_);
        if (pick.status == Balancer::Status::all_down) {
            end(DT_EUNAVAILABLE);
            return;
        }
        if (pick.status == Balancer::Status::exhausted) {
            end(last_error_ ? last_error_ : DT_EUNAVAILABLE);
            return;
        }
        size_t server = pick.server;
        UpstreamConnection *conn = pool_->acquire(server, !fresh_only_);
        if (!conn) {
            DT_LOG(LogLevel::warn, "upstream %s: connecting to %s: %s",
                   group_->config().name.c_str(), group_->config().servers[server].address.c_str(),
                   strerror(errno));
            pool_->balancer().report(server, false, now);
            tried_.push_back(server);
            last_error_ = DT_ECONNECT;
            if (++tries_used_ >= tries) {
                end(DT_ECONNECT);
                return;
            }
            continue;
        }
        if (!conn->reused())
            fresh_only_ = false;
        server_ = server;
        conn_ = conn;
        pool_->balancer().acquire(server);
        acquired_ = true;
        conn->begin(this, request_, method_, upgrade_); // may report a failure at once
        return;
    }
}

// ---- What the connection reports ---------------------------------------------------------------

void Exchange::upstream_head(const UpstreamHead &head) {
    head_ = head;
    head_received_ = true;
    head_pending_ = true;
    pool_->balancer().report(server_, true, uv_now(pool_->worker().loop()));
    ++busy_;
    schedule();
    --busy_;
}

bool Exchange::upstream_body(std::string_view piece) {
    if (cancelled_)
        return true; // dropped: the connection is on its way out
    ++busy_;
    bool more;
    bool in_order = forward_ && !head_pending_ && body_off_ == body_.size() && !spooled();
    if (in_order && !client_paused_ && (!upgraded_ || tunnel_)) {
        write_client(BodyPart::copy_of(piece.data(), piece.size())); // from the read buffer
        more = !client_paused_ || spool_room() > 0;
    } else if (forward_ && !head_pending_ && body_off_ == body_.size() &&
               piece.size() <= spool_room() && spool_append(piece)) {
        // The client is behind: the bytes wait on disk and the upstream goes on.
        if (!client_paused_)
            schedule();
        more = spool_room() > 0;
    } else {
        body_.append(piece);
        schedule();
        more =
            !cancelled_ && !client_paused_ && !plugin_paused_ && body_.size() - body_off_ < window_;
    }
    --busy_;
    upstream_paused_ = !more && !cancelled_;
    return more;
}

void Exchange::upstream_end(UpstreamFailure failure, const char *why) {
    UpstreamConnection *conn = conn_;
    conn_ = nullptr;
    if (acquired_) {
        pool_->balancer().release(server_);
        acquired_ = false;
    }
    if (failure == UpstreamFailure::none) {
        conn->release(true); // back to the pool, when it may carry another
        end(0);
        return;
    }
    uint64_t now = uv_now(pool_->worker().loop());
    const UpstreamConfig &cfg = group_->config();
    const std::string &server = cfg.servers[server_].address;
    if (head_received_ || cancelled_) {
        if (!cancelled_)
            DT_LOG(LogLevel::warn, "upstream %s (%s): %s", cfg.name.c_str(), server.c_str(), why);
        end(result_of(failure));
        return;
    }
    // Before the head: maybe another try. A reused connection that died before answering
    // is the keep-alive race, not the server's fault: a fresh connection, not a new try.
    bool race = failure == UpstreamFailure::no_response && conn->reused();
    int result = result_of(failure);
    bool retry = false;
    if (race) {
        retry = idempotent_;
        fresh_only_ = true;
    } else {
        DT_LOG(LogLevel::warn, "upstream %s (%s): %s", cfg.name.c_str(), server.c_str(), why);
        pool_->balancer().report(server_, false, now);
        tried_.push_back(server_);
        ++tries_used_;
        bool unsent =
            failure == UpstreamFailure::connect || failure == UpstreamFailure::connect_timeout;
        // Never send a non-idempotent request again once it may have reached the server.
        retry = (unsent || (idempotent_ && failure != UpstreamFailure::protocol)) &&
                tries_used_ < cfg.tries_per_request();
    }
    last_error_ = result;
    if (retry) {
        try_next();
        return;
    }
    end(result);
}

// ---- Ending -----------------------------------------------------------------------------------

void Exchange::end(int result) {
    if (ended_)
        return;
    ended_ = true;
    result_ = result;
    schedule(); // last: it may free the exchange
}

void Exchange::cancel_now(int result) {
    if (finished_ || cancelled_)
        return;
    if (ended_) {
        // The upstream's part is over and only the client's is left (a spool draining to a
        // slow client): nobody will take the rest, so end now rather than wait on a client
        // that is gone.
        if (result_ == 0)
            result_ = result;
        cancelled_ = true;
        schedule();
        return;
    }
    cancelled_ = true;
    if (conn_) {
        UpstreamConnection *conn = conn_;
        conn_ = nullptr;
        conn->release(false);
    }
    if (acquired_) {
        pool_->balancer().release(server_);
        acquired_ = false;
    }
    end(result);
}

int Exchange::cancel() {
    // plugin.h promises DT_ESTATE once the exchange has ended. On the owner its state is ours
    // to read; from another worker (the strand moved) it is the owner's, and the call is queued.
    if (on_owner() && (ended_ || finished_))
        return DT_ESTATE;
    on_owner_do([this] {
        if (!ended_)
            cancel_now(DT_ECANCELED);
    });
    return 0;
}

int Exchange::resume() {
    // DT_ESTATE when not paused, as plugin.h promises (on the owner: see cancel()).
    if (on_owner() && (!plugin_paused_ || finished_))
        return DT_ESTATE;
    on_owner_do([this] {
        if (!plugin_paused_)
            return;
        plugin_paused_ = false;
        schedule();
    });
    return 0;
}

int Exchange::detach() {
    // DT_ESTATE when forwarded or ended (on the owner, where the state is ours: see cancel()).
    if (on_owner() && (forward_ || ended_ || finished_ || detached_))
        return DT_ESTATE;
    on_owner_do([this] {
        if (detached_ || finished_ || ended_ || forward_ || !req_)
            return;
        detached_ = true;
        unlink_from_request();
        Request *r = req_;
        req_ = nullptr;
        r->release();
    });
    return 0;
}

int Exchange::forward(Request &req) {
    if (&req != req_)
        return DT_EINVAL;
    if (!in_on_head_ || forward_)
        return DT_ESTATE;
    {
        MutexLock lock(req.mu);
        if (req.phase != Phase::open)
            return DT_ESTATE;
        // The upstream's length, unless the plugin declared its own.
        if (req.resp_length < 0 && head_.framing == http::BodyFraming::length)
            req.resp_length = static_cast<int64_t>(head_.content_length);
    }
    forward_ = true;
    req.forwarding = this;
    // The client's queue drains to half the window before the upstream is read again.
    req.writable_below.store(window_ / 2, std::memory_order_relaxed);
    if (head_.status == 101)
        tunnel_ = true; // joined once on_head returns (start_tunnel)
    return 0;
}

void Exchange::upstream_upgraded(std::string_view rest) {
    upgraded_ = true;
    if (!rest.empty())
        upstream_body(rest);
}

void Exchange::start_tunnel() {
    Request &r = *req_;
    if (!r.conn) {
        cancel_now(DT_EABORTED);
        return;
    }
    // The 101 head goes now, before any byte of the new protocol (an empty write carries it).
    write_client({});
    if (!cancelled_)
        r.conn->start_tunnel(*this);
}

bool Exchange::from_client(std::string_view bytes) {
    if (!conn_ || cancelled_ || ended_)
        return true; // the tunnel is ending: what the client sends is dropped
    ++busy_;
    size_t queued = conn_->send(bytes); // may fail the connection, ending the exchange
    --busy_;
    if (ended_)
        return true;
    client_paused_read_ = queued > window_;
    return !client_paused_read_;
}

size_t Exchange::upstream_read_budget() const {
    // Spooling, the client's pace no longer limits a read; the spool's room does.
    if (forward_ && (client_paused_ || spooled()) && spool_room() > 0)
        return std::max<size_t>(spool_room(), 4096);
    size_t held = forward_ && req_ ? req_->conn_queued.load(std::memory_order_relaxed)
                                   : body_.size() - body_off_;
    // At least a page, so that a read always moves the exchange on.
    return held + 4096 >= window_ ? 4096 : window_ - held;
}

void Exchange::upstream_drained() {
    if (!client_paused_read_ || !req_ || !req_->conn)
        return;
    client_paused_read_ = false;
    req_->conn->resume_tunnel();
}

void Exchange::client_eof() {
    if (conn_ && !ended_)
        conn_->shutdown_write();
}

void Exchange::request_ended(Request &req, int result) {
    std::vector<Exchange *> live = req.exchanges; // each may unlink itself
    for (Exchange *e : live)
        e->cancel_now(result);
}

void Exchange::worker_stopping() { cancel_now(DT_ECANCELED); }

// ---- Delivering ------------------------------------------------------------------------------

void Exchange::schedule() {
    if (scheduled_)
        return;
    scheduled_ = true;
    if (!req_) {
        pump(); // detached: no strand to keep
        return;
    }
    Request *r = req_;
    r->retain();
    r->run({Continuation::callback, &Exchange::strand_pump, this});
    r->release();
}

void Exchange::defer() {
    scheduled_ = true;
    repost();
}

void Exchange::repost() {
    refs_.fetch_add(1, std::memory_order_relaxed);
    bool posted = inbox_->post([this] {
        scheduled_ = false;
        if (!finished_)
            schedule();
        unref();
    });
    if (!posted)
        unref(); // the worker is ending: WorkerUpstream::close_all ends the exchange
}

void Exchange::strand_pump(dt_req_t *, void *arg) {
    auto *e = static_cast<Exchange *>(arg);
    if (!e->on_owner()) {
        // The strand ran this on another worker (a hook of the request was running there):
        // the exchange's state is the owner's. scheduled_ stays set until the owner pumps.
        e->repost();
        return;
    }
    e->pump();
}

void Exchange::pump() {
    scheduled_ = false;
    if (finished_)
        return;
    bool drained = body_off_ == body_.size() && !spooled();
    if (ended_ && (cancelled_ || (!head_pending_ && drained && !client_paused_))) {
        if (busy_ > 0)
            defer(); // the connection is still in the call that reported: finish after it
        else
            finish();
        return;
    }
    if (head_pending_ && !cancelled_) {
        head_pending_ = false;
        // Views of the head's fields for the call: on the stack for a usual head.
        size_t count = head_.field_count();
        dt_field_t small[32];
        std::vector<dt_field_t> large(count > 32 ? count : 0);
        dt_field_t *fields = count > 32 ? large.data() : small;
        for (size_t i = 0; i < count; ++i) {
            std::string_view n = head_.field_name(i), v = head_.field_value(i);
            fields[i] = {{n.data(), n.size()}, {v.data(), v.size()}};
        }
        std::string_view reason = head_.reason();
        dt_upstream_head_t h{};
        h.size = sizeof h;
        h.status = head_.status;
        h.http_version = 10 + head_.http_minor;
        h.content_length = head_.framing == http::BodyFraming::length
                               ? static_cast<int64_t>(head_.content_length)
                               : -1;
        h.reason = {reason.data(), reason.size()};
        h.fields = fields;
        h.field_count = count;
        in_on_head_ = true;
        cbs_.on_head(c(), arg_, &h);
        in_on_head_ = false;
        if (head_.status == 101 && !tunnel_ && !cancelled_)
            cancel_now(DT_ECANCELED); // a switch of protocols nobody takes up
        else if (tunnel_ && !cancelled_)
            start_tunnel();
    }
    if (!cancelled_)
        deliver_body();
    drained = body_off_ == body_.size() && !spooled();
    // A paused client holds the upstream back only when the spool cannot take the bytes:
    // otherwise an upstream paused before the head was forwarded would wait for the client to
    // drain its window, its response sitting in socket buffers meanwhile.
    bool room = !client_paused_ || (body_off_ == body_.size() && spool_room() > 0);
    if (!cancelled_ && upstream_paused_ && conn_ && !plugin_paused_ && room &&
        body_.size() - body_off_ < window_) {
        upstream_paused_ = false;
        conn_->resume_reading(); // may report more, or the end, right away
        return;
    }
    if (ended_ && (cancelled_ || (drained && !client_paused_)))
        defer(); // on_done in a pass of its own, never inside the callback that ended it
}

void Exchange::deliver_body() {
    if (forward_ && spool_ && !deliver_spool())
        return; // the spool's bytes came before body_'s
    while (body_off_ < body_.size() && !cancelled_) {
        std::string_view rest(body_.data() + body_off_, body_.size() - body_off_);
        if (forward_) {
            if (client_paused_)
                return;
            write_client(BodyPart::copy_of(rest.data(), rest.size()));
            body_off_ = body_.size();
        } else {
            if (plugin_paused_)
                return;
            size_t took =
                cbs_.on_body ? cbs_.on_body(c(), arg_, rest.data(), rest.size()) : rest.size();
            took = std::min(took, rest.size());
            body_off_ += took;
            if (took < rest.size())
                plugin_paused_ = true;
        }
    }
    if (body_off_ == body_.size()) {
        body_.clear();
        body_off_ = 0;
    }
}

bool Exchange::deliver_spool() {
    // File ranges of a few hundred KiB: a sendfile each, and one wake-up per range for a slow
    // client; they cost the queue no memory.
    constexpr size_t piece = 256 * 1024;
    while (spool_->unsent() > 0) {
        if (cancelled_ || client_paused_)
            return false;
        write_client(spool_->take(piece));
    }
    return !cancelled_;
}

size_t Exchange::spool_room() const {
    const UpstreamConfig &cfg = group_->config();
    if (!forward_ || upgraded_ || spool_failed_ || cfg.spool_max_size == 0)
        return 0;
    uint64_t used = spool_ ? spool_->held() : 0;
    return used >= cfg.spool_max_size
               ? 0
               : static_cast<size_t>(std::min<uint64_t>(cfg.spool_max_size - used, SIZE_MAX));
}

bool Exchange::spool_append(std::string_view bytes) {
    const UpstreamConfig &cfg = group_->config();
    if (!spool_) {
        std::string err;
        SpoolFile *file = pool_->spool_file(err);
        if (!file) {
            DT_LOG(LogLevel::warn, "upstream %s: %s; the upstream waits for the client instead",
                   cfg.name.c_str(), err.c_str());
            spool_failed_ = true;
            return false;
        }
        spool_ = std::make_unique<Spool>(*file);
        if (req_ && req_->conn)
            req_->conn->limit_unsent(window_); // the spool holds the backlog, not the kernel
    }
    if (!spool_->append(bytes)) {
        DT_LOG(LogLevel::warn,
               "upstream %s: cannot write to a spool file in %s: %s; the upstream waits for the "
               "client instead",
               cfg.name.c_str(), cfg.spool_dir.c_str(), strerror(errno));
        spool_failed_ = true;
        return false;
    }
    return true;
}

void Exchange::write_client(BodyPart part) {
    Request &r = *req_;
    int rc = r.submit(ResponseOp(part));
    if (rc != 0) {
        part.release(); // refused: still ours (a spool range holds a reference)
        // The client is gone (the abort cancels us next) or the plugin broke the response.
        cancel_now(rc == DT_EABORTED ? DT_EABORTED : DT_ECANCELED);
        return;
    }
    if (r.conn_queued.load(std::memory_order_relaxed) > window_) {
        client_paused_ = true;
        r.want_writable.store(true);
    }
}

void Exchange::client_writable() {
    on_owner_do([this] {
        if (!client_paused_ || finished_)
            return;
        client_paused_ = false;
        schedule();
    });
}

void Exchange::finish() {
    finished_ = true;
    spool_.reset(); // ranges still queued for the client keep their blocks
    Request *r = req_;
    if (r && forward_) {
        r->forwarding = nullptr;
        if (result_ == 0)
            r->submit(ResponseOp(ResponseOp::finish));
        else if (result_ != DT_EABORTED)
            r->fail(result_ == DT_ETIMEDOUT ? 504 : 502);
    }
    unlink_from_request();
    if (pool_) {
        WorkerCounters &n = pool_->worker().counters();
        WorkerCounters::sub(n.up_active, 1);
        if (result_ != 0 && result_ != DT_ECANCELED && result_ != DT_EABORTED)
            WorkerCounters::add(n.up_failed, 1);
    }
    cbs_.on_done(c(), arg_, result_);
    if (pool_)
        pool_->forget(this);
    req_ = nullptr;
    unref();
    if (r)
        r->release();
}

void Exchange::unlink_from_request() {
    if (!req_)
        return;
    auto &v = req_->exchanges;
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
    if (req_->forwarding == this)
        req_->forwarding = nullptr;
}

} // namespace dialtone
