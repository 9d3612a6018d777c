#include "upstream.hpp"

#include "exchange.hpp"

#include "dialtone/log.hpp"
#include "generation.hpp"
#include "spool.hpp"
#include "worker.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dialtone {

namespace {

std::atomic<uint64_t> g_next_group_id{1};

sockaddr_storage resolve(const UpstreamServer &s) {
    sockaddr_storage ss{};
    // The config accepts numeric addresses only, so one of the two parses.
    if (uv_ip4_addr(s.host.c_str(), s.port, reinterpret_cast<sockaddr_in *>(&ss)) != 0)
        uv_ip6_addr(s.host.c_str(), s.port, reinterpret_cast<sockaddr_in6 *>(&ss));
    return ss;
}

// The socket's pending error (0 when none), which reading clears.
int pending_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : 0;
}

// Why a poll failed: libuv reports a socket error as UV_EBADF on some versions, and "bad file
// descriptor" would send operators after the wrong bug, so the socket's own error comes first.
const char *poll_error(int fd, int status) {
    int err = pending_error(fd);
    return err ? strerror(err) : uv_strerror(status);
}

} // namespace

UpstreamGroup::UpstreamGroup(const UpstreamConfig &config)
    : config_(config), id_(g_next_group_id.fetch_add(1, std::memory_order_relaxed)) {
    for (const UpstreamServer &s : config_.servers)
        addrs_.push_back(resolve(s));
}

// ---- One connection --------------------------------------------------------------------------

UpstreamConnection::UpstreamConnection(WorkerUpstream &pool, size_t server)
    : pool_(pool), server_(server) {}

bool UpstreamConnection::connect() {
    const sockaddr_storage &addr = pool_.group().address(server_);
    fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Before connect, so that the window the upstream is offered fits it.
    if (int rcvbuf = static_cast<int>(pool_.group().config().recv_buffer))
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), len) != 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        errno = e;
        return false;
    }
    uv_loop_t *loop = pool_.worker().loop();
    uv_poll_init_socket(loop, &poll_, fd_);
    uv_timer_init(loop, &timer_);
    poll_.data = this;
    timer_.data = this;
    open_handles_ = 2;
    state_ = State::connecting;
    ++pool_.open_count_;
    ++pool_.opened_;
    WorkerCounters::add(pool_.worker().counters().up_connects, 1);
    return true;
}

void UpstreamConnection::begin(UpstreamUser *user, std::string_view request,
                               std::string_view method, bool upgrade) {
    user_ = user;
    upgrade_ = upgrade;
    got_bytes_ = false;
    paused_ = false;
    pending_.clear();
    parser_.reset(method);
    out_.copy(request);
    const UpstreamConfig &cfg = pool_.group().config();
    if (state_ == State::connecting) {
        arm_timer(cfg.connect_timeout_ms);
        watch(UV_WRITABLE);
        return;
    }
    state_ = State::sending;
    flush();
}

void UpstreamConnection::arm_timer(uint64_t ms) {
    deadline_ = uv_now(pool_.worker().loop()) + ms;
    if (armed_ == 0 || deadline_ < armed_) {
        uv_timer_start(&timer_, on_timer, ms, 0);
        armed_ = deadline_;
    }
}

void UpstreamConnection::watch(int events) {
    if (events == events_)
        return;
    events_ = events;
    if (events == 0)
        uv_poll_stop(&poll_);
    else
        uv_poll_start(&poll_, events, on_poll);
}

void UpstreamConnection::on_poll(uv_poll_t *h, int status, int events) {
    auto *c = static_cast<UpstreamConnection *>(h->data);
    if (c->state_ == State::idle) {
        c->on_idle_event();
        return;
    }
    if (c->state_ == State::connecting) {
        if (status < 0) {
            c->fail(UpstreamFailure::connect, poll_error(c->fd_, status));
            return;
        }
        if (int err = pending_error(c->fd_)) {
            c->fail(UpstreamFailure::connect, strerror(err));
            return;
        }
        c->on_connected();
        return;
    }
    if (status < 0) {
        c->fail(c->got_bytes_ ? UpstreamFailure::reset : UpstreamFailure::no_response,
                poll_error(c->fd_, status));
        return;
    }
    if ((events & UV_WRITABLE) && (c->state_ == State::sending || c->state_ == State::tunnel))
        c->flush();
    if (c->state_ == State::closed || !c->user_)
        return;
    if (events & (UV_READABLE | UV_DISCONNECT))
        c->on_readable();
}

void UpstreamConnection::on_connected() {
    state_ = State::sending;
    flush();
}

void UpstreamConnection::flush() {
    OutputQueue::WriteResult res = out_.write(fd_);
    if (res.status == OutputQueue::Status::failed) {
        fail(state_ == State::tunnel || got_bytes_ ? UpstreamFailure::reset
                                                   : UpstreamFailure::no_response,
             strerror(errno));
        return;
    }
    const UpstreamConfig &cfg = pool_.group().config();
    if (state_ == State::tunnel) {
        if (res.sent > 0)
            arm_timer(cfg.io_timeout_ms);
        bool blocked = res.status == OutputQueue::Status::blocked;
        watch((blocked ? UV_WRITABLE : 0) | (paused_ ? 0 : UV_READABLE | UV_DISCONNECT));
        if (!blocked) {
            if (shut_pending_) {
                ::shutdown(fd_, SHUT_WR);
                shut_pending_ = false;
            }
            if (user_)
                user_->upstream_drained();
        }
        return;
    }
    if (res.status == OutputQueue::Status::blocked) {
        arm_timer(cfg.io_timeout_ms);
        watch(UV_WRITABLE | UV_READABLE);
        return;
    }
    // The request is out: the response's first byte is due within first_byte_timeout_ms.
    state_ = State::waiting;
    arm_timer(cfg.first_byte_timeout_ms);
    watch(UV_READABLE | UV_DISCONNECT);
}

void UpstreamConnection::on_readable() {
    if (paused_)
        return;
    char *buf = pool_.worker().read_buffer();
    size_t budget = user_ ? user_->upstream_read_budget() : Worker::read_buffer_size;
    ssize_t n = ::read(fd_, buf, std::min(budget, Worker::read_buffer_size));
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        fail(got_bytes_ ? UpstreamFailure::reset : UpstreamFailure::no_response, strerror(errno));
        return;
    }
    if (n == 0 && state_ == State::tunnel) {
        end_exchange(UpstreamFailure::none, nullptr); // the upstream's side of the tunnel ended
        return;
    }
    if (n == 0) {
        spoiled_ = true; // whatever the parser says, the upstream closed its side
        ResponseParser::Step s = parser_.finish();
        if (s.event == ResponseParser::Event::done) {
            end_exchange(UpstreamFailure::none, nullptr);
            return;
        }
        bool nothing = s.error == ResponseError::no_response;
        fail(nothing ? UpstreamFailure::no_response : UpstreamFailure::reset,
             nothing ? "the upstream closed the connection before answering"
                     : "the upstream closed the connection inside the response");
        return;
    }
    got_bytes_ = true;
    if (state_ == State::waiting)
        state_ = State::reading; // from here on io_timeout_ms between reads
    arm_timer(pool_.group().config().io_timeout_ms);
    if (state_ == State::tunnel) {
        if (!user_->upstream_body(std::string_view(buf, static_cast<size_t>(n))) && user_) {
            paused_ = true;
            watch(out_.empty() ? 0 : UV_WRITABLE);
            disarm_timer(); // the client is slow, not the upstream
        }
        return;
    }
    feed(std::string_view(buf, static_cast<size_t>(n)));
}

bool UpstreamConnection::feed(std::string_view data) {
    while (user_) {
        ResponseParser::Step s = parser_.feed(data);
        std::string_view rest = data.substr(s.used);
        switch (s.event) {
        case ResponseParser::Event::more:
            return true;
        case ResponseParser::Event::interim:
            break; // 100 Continue, 103 Early Hints: the final response follows
        case ResponseParser::Event::head:
            user_->upstream_head(parser_.head());
            if (!user_)
                return false; // the exchange let go of the connection meanwhile
            break;
        case ResponseParser::Event::body:
            if (!user_->upstream_body(s.body)) {
                if (!user_)
                    return false;
                paused_ = true;
                pending_.assign(rest.data(), rest.size());
                watch(0);
                disarm_timer(); // the client is slow, not the upstream
                return false;
            }
            break;
        case ResponseParser::Event::done:
            // Bytes after a complete response: nobody asked for them, so the connection's
            // framing cannot be trusted with the next request.
            if (!rest.empty())
                spoiled_ = true;
            end_exchange(UpstreamFailure::none, nullptr);
            return false;
        case ResponseParser::Event::upgrade:
            if (!upgrade_) {
                fail(UpstreamFailure::protocol, "the upstream switched protocols unasked");
                return false;
            }
            user_->upstream_head(parser_.head());
            if (!user_)
                return false;
            // From here the bytes are the new protocol's: no parser, no reuse.
            state_ = State::tunnel;
            spoiled_ = true;
            user_->upstream_upgraded(rest);
            return false;
        case ResponseParser::Event::error:
            fail(UpstreamFailure::protocol, s.reason);
            return false;
        }
        data = rest;
    }
    return false;
}

size_t UpstreamConnection::send(std::string_view bytes) {
    out_.copy(bytes);
    flush();
    return out_.queued();
}

void UpstreamConnection::shutdown_write() {
    shut_pending_ = true;
    if (out_.empty())
        flush();
}

void UpstreamConnection::resume_reading() {
    if (!paused_ || !user_)
        return;
    paused_ = false;
    if (state_ == State::tunnel) {
        arm_timer(pool_.group().config().io_timeout_ms);
        watch(UV_READABLE | UV_DISCONNECT | (out_.empty() ? 0 : UV_WRITABLE));
        return;
    }
    std::string held;
    held.swap(pending_);
    arm_timer(pool_.group().config().io_timeout_ms);
    if (!feed(held))
        return;
    if (user_ && !paused_)
        watch(UV_READABLE | UV_DISCONNECT);
}

namespace {

// A non-blocking connect that has completed: writable, with no error pending.
bool connected_unseen(int fd) {
    pollfd p{fd, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) == 0 &&
           (p.revents & POLLOUT) != 0 && pending_error(fd) == 0;
}

} // namespace

void UpstreamConnection::on_timer(uv_timer_t *h) {
    auto *c = static_cast<UpstreamConnection *>(h->data);
    c->armed_ = 0;
    if (c->deadline_ == 0)
        return; // disarmed meanwhile
    uint64_t now = uv_now(c->pool_.worker().loop());
    if (now < c->deadline_) { // the deadline moved on after the timer was armed
        uv_timer_start(&c->timer_, on_timer, c->deadline_ - now, 0);
        c->armed_ = c->deadline_;
        return;
    }
    c->deadline_ = 0;
    switch (c->state_) {
    case State::connecting:
        // libuv runs due timers before it polls: after a long loop iteration (a burst of
        // thousands of connects) the connect may have completed without our hearing of it.
        if (connected_unseen(c->fd_)) {
            c->on_connected();
            break;
        }
        c->fail(UpstreamFailure::connect_timeout, "connect timed out");
        break;
    case State::sending:
        c->fail(UpstreamFailure::timeout, "sending the request timed out");
        break;
    case State::waiting:
        c->fail(UpstreamFailure::timeout, "no response within first_byte_timeout_ms");
        break;
    case State::reading:
        c->fail(UpstreamFailure::timeout, "the response stalled past io_timeout_ms");
        break;
    case State::tunnel:
        c->fail(UpstreamFailure::timeout, "the tunnel was idle past io_timeout_ms");
        break;
    case State::idle:
        c->close(); // idle past idle_timeout_ms
        break;
    case State::closed:
        break;
    }
}

void UpstreamConnection::fail(UpstreamFailure failure, const char *why) {
    UpstreamUser *user = user_;
    user_ = nullptr;
    close();
    if (user)
        user->upstream_end(failure, why);
}

void UpstreamConnection::end_exchange(UpstreamFailure failure, const char *why) {
    UpstreamUser *user = user_;
    user_ = nullptr;
    disarm_timer();
    // Still watched: the user releases the connection from upstream_end, and a pooled
    // connection is watched for input as before, so keeping the interest saves an epoll_ctl
    // pair per request. Stopped only if the connection was left between the two.
    if (user)
        user->upstream_end(failure, why);
    if (state_ != State::idle && state_ != State::closed && !user_)
        watch(0);
}

void UpstreamConnection::release(bool reusable) {
    user_ = nullptr;
    if (state_ == State::closed)
        return;
    const UpstreamConfig &cfg = pool_.group().config();
    if (!reusable || spoiled_ || !parser_.head().keep_alive || paused_ || !out_.empty() ||
        cfg.keepalive == 0) {
        close();
        return;
    }
    reused_ = true;
    state_ = State::idle;
    idle_since_ = uv_now(pool_.worker().loop());
    pending_.clear();
    // Watched while idle: input now is the upstream closing it (or garbage): drop it then.
    watch(UV_READABLE | UV_DISCONNECT);
    arm_timer(cfg.idle_timeout_ms);
    pool_.park(this);
}

void UpstreamConnection::on_idle_event() {
    // An idle connection has nothing to say: EOF, a reset or stray bytes all end it.
    pool_.unpark(this);
    close();
}

void UpstreamConnection::close() {
    if (closing_)
        return;
    closing_ = true;
    state_ = State::closed;
    out_.clear();
    if (open_handles_ == 0) { // never connected
        pool_.closed(this);
        return;
    }
    uv_poll_stop(&poll_);
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t *>(&poll_), on_close);
    uv_close(reinterpret_cast<uv_handle_t *>(&timer_), on_close);
}

void UpstreamConnection::on_close(uv_handle_t *h) {
    auto *c = static_cast<UpstreamConnection *>(h->data);
    if (--c->open_handles_ > 0)
        return;
    ::close(c->fd_);
    c->fd_ = -1;
    --c->pool_.open_count_;
    c->pool_.closed(c);
}

// ---- A worker's state for one group ----------------------------------------------------------

WorkerUpstream::WorkerUpstream(Worker &worker, const UpstreamGroup &group,
                               std::weak_ptr<const Generation> generation)
    : worker_(worker), group_(group), generation_(std::move(generation)),
      balancer_(group.config()) {}

WorkerUpstream::~WorkerUpstream() {
    if (spool_)
        spool_->unref(); // ranges still queued for clients keep it open
}

SpoolFile *WorkerUpstream::spool_file(std::string &err) {
    if (!spool_)
        spool_ = SpoolFile::open(group_.config().spool_dir, err);
    return spool_;
}

UpstreamConnection *WorkerUpstream::acquire(size_t server, bool reuse) {
    if (reuse) {
        for (UpstreamConnection *c = idle_; c; c = c->next_) {
            if (c->server_ != server)
                continue;
            unpark(c);
            c->disarm_timer();
            // Still watched for input, as while idle: the exchange reads what comes next (an
            // early close is the keep-alive race), and no epoll_ctl is spent per request.
            c->state_ = UpstreamConnection::State::sending;
            return c;
        }
    }
    auto *c = new UpstreamConnection(*this, server);
    if (!c->connect()) {
        int e = errno;
        delete c;
        errno = e;
        return nullptr;
    }
    return c;
}

void WorkerUpstream::park(UpstreamConnection *c) {
    c->prev_ = nullptr;
    c->next_ = idle_;
    if (idle_)
        idle_->prev_ = c;
    idle_ = c;
    ++idle_count_;
    WorkerCounters::add(worker_.counters().up_idle, 1);
    // Over the cap: the least recently used goes (the end of the list).
    if (idle_count_ > group_.config().keepalive) {
        UpstreamConnection *last = idle_;
        while (last->next_)
            last = last->next_;
        unpark(last);
        last->close();
    }
}

void WorkerUpstream::unpark(UpstreamConnection *c) {
    if (c->prev_)
        c->prev_->next_ = c->next_;
    else
        idle_ = c->next_;
    if (c->next_)
        c->next_->prev_ = c->prev_;
    c->prev_ = c->next_ = nullptr;
    --idle_count_;
    WorkerCounters::sub(worker_.counters().up_idle, 1);
}

void WorkerUpstream::closed(UpstreamConnection *c) { delete c; }

bool WorkerUpstream::sweep(const Generation *current) {
    auto generation = generation_.lock();
    if (generation && generation.get() == current)
        return false;
    close_idle(); // an old generation's pool serves nobody new
    return exchanges_.empty() && open_count_ == 0;
}

void WorkerUpstream::forget(Exchange *e) {
    exchanges_.erase(std::remove(exchanges_.begin(), exchanges_.end(), e), exchanges_.end());
}

void WorkerUpstream::close_all() {
    std::vector<Exchange *> live = exchanges_;
    for (Exchange *e : live)
        e->worker_stopping();
    close_idle();
}

void WorkerUpstream::close_idle() {
    while (idle_) {
        UpstreamConnection *c = idle_;
        unpark(c);
        c->close();
    }
}

// ---- A worker's groups -------------------------------------------------------------------------

WorkerUpstream &WorkerUpstreams::get(const UpstreamGroup &group,
                                     const std::shared_ptr<const Generation> &generation) {
    auto &slot = groups_[group.id()];
    if (!slot)
        slot = std::make_unique<WorkerUpstream>(worker_, group, generation);
    return *slot;
}

void WorkerUpstreams::sweep(const Generation *current) {
    for (auto it = groups_.begin(); it != groups_.end();) {
        if (it->second->sweep(current))
            it = groups_.erase(it);
        else
            ++it;
    }
}

void WorkerUpstreams::close_all() {
    for (auto &g : groups_)
        g.second->close_all();
}

uint64_t WorkerUpstreams::connections_opened() const {
    uint64_t n = 0;
    for (auto &g : groups_)
        n += g.second->connections_opened();
    return n;
}

size_t WorkerUpstreams::idle_connections() const {
    size_t n = 0;
    for (auto &g : groups_)
        n += g.second->idle_count();
    return n;
}

} // namespace dialtone
