#include "request.hpp"

#include "connection.hpp"
#include "dialtone/log.hpp"
#include "http.hpp"
#include "inbox.hpp"
#include "response_head.hpp"
#include "worker.hpp"

#include <cstddef>

namespace dialtone {

void *Arena::alloc(size_t size) {
    constexpr size_t align = alignof(std::max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    if (used_ + size > cap_) {
        size_t block = size > 4096 ? size : 4096;
        blocks_.push_back(std::unique_ptr<char[]>(new (std::nothrow) char[block]));
        if (!blocks_.back()) {
            blocks_.pop_back();
            return nullptr;
        }
        used_ = 0;
        cap_ = block;
    }
    void *p = blocks_.back().get() + used_;
    used_ += size;
    return p;
}

namespace {

// Generations whose instances must not be destroyed (see Request::release), kept reachable for
// the life of the process: deliberately never freed.
void keep_forever(std::shared_ptr<const Generation> generation) {
    static std::mutex mu;
    static auto *kept = new std::vector<std::shared_ptr<const Generation>>;
    std::lock_guard<std::mutex> lock(mu);
    kept->push_back(std::move(generation));
}

} // namespace

Request::Request(Worker *w) : Request(w->inbox(), w) {}

Request::Request(std::shared_ptr<Inbox> in, Worker *w) : inbox(std::move(in)), worker(w) {
    inbox->request_created();
}

Request::~Request() {
    // Everything that may call into the plugin goes while its instance is surely alive:
    // release callbacks of operations never applied, then the generation (on_destroy, if this
    // request held the last reference to it), and only then does the request stop counting as
    // alive for a server waiting on its plugins.
    discard_pending();
    generation.reset();
    inbox->request_destroyed();
}

void Request::release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
    if (Worker::current()) {
        delete this;
        return;
    }
    // A plugin's own thread let go last: the request ends on its worker, or on the thread
    // destroying the server, so that on_destroy and release callbacks never run here (a
    // plugin joining its threads in on_destroy would join itself).
    if (inbox->hand_over([this] { delete this; }))
        return;
    // The server is gone and stopped waiting for its plugins long ago: free the request but
    // not its plugin instances (their on_destroy would run on this thread).
    DT_LOG(LogLevel::warn, "a request of a stopped server was released after the server's wait "
                           "for its plugins ended: its plugin instances stay alive");
    keep_forever(std::move(generation));
    delete this;
}

bool Request::on_owner_thread() const {
    Worker *w = Worker::current();
    return w && w->inbox() == inbox;
}

std::string_view Request::header(std::string_view name) const {
    for (const HeaderRef &h : headers)
        if (http::iequals(header_name(h), name))
            return header_value(h);
    return {};
}

int Request::submit(ResponseOp op) {
    bool owner = on_owner_thread();
    bool post = false, head = false;
    std::vector<ResponseOp> earlier; // operations other threads queued before this one
    {
        MutexLock lock(mu);
        if (phase == Phase::aborted)
            return DT_EABORTED;
        if (phase >= Phase::finished)
            return DT_ESTATE;
        bool ends = op.kind == ResponseOp::finish || op.kind == ResponseOp::fail;
        size_t len = ends ? 0 : op.part.len;
        if (!ends) {
            if (ops_bytes + conn_queued.load(std::memory_order_relaxed) >
                Connection::kHighWatermark) {
                want_writable.store(true);
                return DT_EAGAIN;
            }
            if (resp_length >= 0 && body_bytes + len > static_cast<uint64_t>(resp_length))
                return DT_ERANGE;
        }
        touched = true;
        if (phase == Phase::open) {
            phase = Phase::head_sent;
            head = true;
            if (ends && resp_length < 0)
                resp_length = 0; // nothing was written: say so rather than chunk nothing
        }
        if (ends)
            phase = Phase::finished;
        body_bytes += len;
        if (owner) {
            // The owner applies directly; only what other threads queued first goes before.
            if (!ops.empty()) {
                earlier.swap(ops);
                ops_bytes = 0;
            }
        } else {
            if (head)
                ops.emplace_back(ResponseOp::head);
            if (op.kind == ResponseOp::body && op.part.kind == BodyPart::copy && op.part.ptr) {
                op.data.assign(op.part.ptr, op.part.len); // the caller may reuse its buffer
                op.part.ptr = nullptr;
            }
            ops.push_back(std::move(op));
            ops_bytes += len;
            post = !drain_posted;
            drain_posted = true;
        }
    }
    if (owner) {
        if (!conn) {
            op.discard(); // detached meanwhile: what it holds goes back now
            return 0;
        }
        // One apply, so one flush: the head and the first body piece leave in one sendmsg.
        if (earlier.empty() && !head) {
            conn->apply(*this, &op, 1);
        } else if (earlier.empty()) {
            ResponseOp both[2] = {ResponseOp(ResponseOp::head), std::move(op)};
            conn->apply(*this, both, 2);
        } else {
            if (head)
                earlier.emplace_back(ResponseOp::head);
            earlier.push_back(std::move(op));
            conn->apply(*this, earlier.data(), earlier.size());
        }
        return 0;
    }
    if (post) {
        retain();
        if (!inbox->post([this] {
                apply_pending();
                release();
            })) {
            // The worker has ended, so the connection is gone: what was queued is not sent.
            discard_pending();
            release();
        }
    }
    return 0;
}

int Request::fail(int code) {
    if (code < 400 || code > 599)
        code = 502;
    std::string page;
    {
        MutexLock lock(mu);
        if (phase == Phase::aborted)
            return DT_EABORTED;
        if (phase >= Phase::finished)
            return DT_ESTATE;
        if (phase == Phase::open) {
            // Nothing of the response left yet: an error page, as for an on_handle verdict.
            page = http::error_page(code);
            status = code;
            resp_headers = http::kErrorPageHeaders;
            resp_length = static_cast<int64_t>(page.size());
        }
    }
    if (page.empty())
        return submit(ResponseOp(ResponseOp::fail));
    ResponseOp body(BodyPart::copy_of(page.data(), page.size()));
    if (int rc = submit(std::move(body)))
        return rc;
    return submit(ResponseOp(ResponseOp::finish));
}

void Request::apply_pending() {
    std::vector<ResponseOp> batch;
    {
        MutexLock lock(mu);
        batch.swap(ops);
        ops_bytes = 0;
        drain_posted = false;
    }
    if (conn) {
        conn->apply(*this, batch.data(), batch.size());
        return;
    }
    for (ResponseOp &op : batch)
        op.discard(); // detached meanwhile
}

void Request::discard_pending() {
    std::vector<ResponseOp> batch;
    {
        MutexLock lock(mu);
        batch.swap(ops);
        ops_bytes = 0;
    }
    for (ResponseOp &op : batch)
        op.discard();
}

bool Request::strand_enter() {
    MutexLock lock(mu);
    if (cb_running)
        return false;
    cb_running = true;
    return true;
}

void Request::strand_leave() {
    for (;;) {
        Continuation next;
        {
            MutexLock lock(mu);
            if (cb_waiting.empty()) {
                cb_running = false;
                return;
            }
            next = cb_waiting.front();
            cb_waiting.erase(cb_waiting.begin());
        }
        run_now(next);
    }
}

void Request::run(Continuation c) {
    // The continuation may finish the request and drop the runtime's reference: hold one of
    // our own until the strand is left.
    retain();
    bool queued = false;
    {
        MutexLock lock(mu);
        if (cb_running) {
            cb_waiting.push_back(c);
            queued = true;
        } else {
            cb_running = true;
        }
    }
    if (!queued) {
        run_now(c);
        strand_leave();
    }
    release();
}

void Request::run_now(const Continuation &c) {
    // On the owner, the connection defers closing until the plugin returns and flushes after.
    Connection *owner_conn = on_owner_thread() ? conn : nullptr;
    if (owner_conn)
        owner_conn->enter_plugin();
    Phase now = current_phase();
    bool is_aborted = now == Phase::aborted;
    const dt_plugin_t *d = loc ? loc->plugin->desc : nullptr;
    void *instance = loc ? loc->instance : nullptr;
    switch (c.kind) {
    case Continuation::callback:
        c.cb(this->c(), c.arg); // runs even after an abort, so the plugin can free arg
        break;
    case Continuation::timer:
        if (now < Phase::served) // else the timer was cancelled as the request detached
            c.cb(this->c(), c.arg);
        break;
    case Continuation::writable:
        if (!is_aborted && d && d->on_writable)
            d->on_writable(instance, this->c());
        break;
    case Continuation::abort:
        if (d && d->on_abort)
            d->on_abort(instance, this->c());
        break;
    }
    if (owner_conn)
        owner_conn->leave_plugin();
}

} // namespace dialtone
