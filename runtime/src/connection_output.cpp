// The connection's output side: a request's response (the plugin's operations, error pages,
// the server's own answers) becomes bytes on the output queue, framed as the head said, and
// goes to the socket as fast as the client reads, with on_writable when the queue drains.
#include "connection.hpp"

#include "dialtone/log.hpp"
#include "exchange.hpp"
#include "response_head.hpp"
#include "worker.hpp"

#include <algorithm>
#include <climits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace dialtone {

// ---- Responses ------------------------------------------------------------------------------

// "OPTIONS *" asks about the server, not a resource: the runtime answers it, since no location
// owns "*". Without Allow: the methods a server accepts are its plugins' business and differ
// by location, so there is no truthful server-wide list (RFC 9110 §9.3.7 makes Allow optional).
void Connection::answer_server_options() {
    answer_whole(*cur_, 200, {}, {});
    after_plugin_call();
}

void Connection::respond_error(int status) {
    if (!cur_)
        begin_request(); // an error before any request began (refusal, garbage)
    Request &r = *cur_;
    if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
        status == 501 || status == 505)
        end_keep_alive(); // the rest of the input cannot be trusted
    if (answer_whole(r, status, http::kErrorPageHeaders, http::error_page(status)))
        return;
    // Too late for an error page: the client sees the connection close early.
    DT_LOG(LogLevel::warn, "error %d after the response head for %s: closing", status,
           r.path.c_str());
    close_pending_ = in_plugin_ > 0;
    if (!close_pending_)
        close_now();
}

bool Connection::answer_whole(Request &r, int status, std::string_view fields,
                              std::string_view body) {
    {
        // Checked and claimed in one step: a plugin thread may be starting a response too.
        // From here on it finds the request finished (DT_ESTATE).
        MutexLock lock(r.mu);
        if (r.phase != Phase::open)
            return false;
        r.status = status;
        r.resp_headers = fields;
        r.resp_length = static_cast<int64_t>(body.size());
        r.body_bytes = body.size();
        r.phase = Phase::complete;
    }
    start_response(r);
    if (!r.is_head && !body.empty())
        out_.copy(body);
    r.conn_queued.store(out_.queued(), std::memory_order_relaxed);
    return true;
}

void Connection::limit_unsent(size_t bytes) {
    int v = static_cast<int>(std::min<size_t>(bytes, INT_MAX));
    // A socket that is not TCP (a test's socketpair) keeps its buffers: nothing to do.
    setsockopt(fd_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof v);
}

void Connection::start_response(Request &r) {
    http::BodyFraming framing = http::body_framing(r.status, r.resp_length, r.http_version);
    r.chunked = framing == http::BodyFraming::chunked && !r.is_head;
    if (framing == http::BodyFraming::close)
        end_keep_alive(); // the body ends when the connection does
    // Formatted in the worker's scratch string, then copied into the queue: a buffer per
    // connection kept for its capacity cost ~500 bytes on each of 10,000 idle or paced clients.
    std::string &head = worker_.scratch();
    head.clear();
    http::append_response_head(head, {r.status, r.resp_length, r.http_version, keep_alive_,
                                      worker_.date_line(), r.resp_headers});
    out_.copy(head);
}

void Connection::apply(Request &r, ResponseOp *ops, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        ResponseOp &op = ops[i];
        switch (op.kind) {
        case ResponseOp::head:
            start_response(r);
            break;
        case ResponseOp::body: {
            BodyPart &part = op.part;
            if (r.is_head || part.len == 0) { // counted, not sent
                op.discard();
                break;
            }
            if (r.chunked) {
                char size[http::kChunkSizeLineMax];
                out_.copy(size, http::format_chunk_size(part.len, size));
            }
            if (part.kind == BodyPart::copy) // its bytes live as long as this call
                out_.push_borrowed(part.ptr ? part.ptr : op.data.data(), part.len);
            else
                out_.push(part);
            if (r.chunked)
                out_.copy(http::kChunkEnd);
            break;
        }
        case ResponseOp::finish:
            if (r.chunked)
                out_.copy(http::kLastChunk);
            if (r.resp_length >= 0 && r.body_bytes < static_cast<uint64_t>(r.resp_length)) {
                DT_LOG(LogLevel::error,
                       "plugin %s finished %s after %llu of the %lld bytes it declared; "
                       "closing the connection",
                       r.loc ? r.loc->plugin->name.c_str() : "-", r.path.c_str(),
                       static_cast<unsigned long long>(r.body_bytes),
                       static_cast<long long>(r.resp_length));
                end_keep_alive(); // the client waits for bytes that will not come
            }
            {
                MutexLock lock(r.mu);
                r.phase = Phase::complete;
            }
            break;
        case ResponseOp::fail:
            // Broken mid-body (req_fail): no last chunk, and the close ends the response, so
            // the client cannot take what it got for the whole.
            DT_LOG(LogLevel::info, "the response to %s failed after %llu body bytes: closing",
                   r.path.c_str(), static_cast<unsigned long long>(r.body_bytes));
            end_keep_alive();
            {
                MutexLock lock(r.mu);
                r.phase = Phase::complete;
            }
            break;
        }
    }
    r.conn_queued.store(out_.queued(), std::memory_order_relaxed);
    if (in_plugin_ == 0)
        after_plugin_call(); // usually flushes: what the socket takes is never copied
    out_.own_borrowed();
}

// ---- Writing --------------------------------------------------------------------------------

OutputQueue::Status Connection::write_out() {
    OutputQueue::WriteResult res = out_.write(fd_);
    if (res.sent > 0) {
        last_progress_ = uv_now(worker_.loop());
        WorkerCounters::add(worker_.counters().bytes_sent, res.sent);
    }
    if (cur_)
        cur_->conn_queued.store(out_.queued(), std::memory_order_relaxed);
    return res.status;
}

void Connection::flush() {
    if (state_ == State::closed)
        return;
    if (flushing_) {
        flush_again_ = true;
        return;
    }
    flushing_ = true;
    if (state_ == State::closing_after_flush)
        out_.cork_before_close(fd_);
    do {
        flush_again_ = false;
        OutputQueue::Status res = write_out();
        if (res == OutputQueue::Status::failed) {
            flushing_ = false;
            if (cur_)
                abort_request("the connection failed while sending");
            close_now();
            return;
        }
        write_blocked_ = res == OutputQueue::Status::blocked;
        if (res == OutputQueue::Status::drained && state_ == State::closing_after_flush) {
            flushing_ = false;
            start_lingering_close();
            return;
        }
        if (cur_ && cur_->want_writable.load() &&
            out_.queued() <= cur_->writable_below.load(std::memory_order_relaxed) &&
            in_plugin_ == 0) {
            call_on_writable();
            if (state_ == State::closed) {
                flushing_ = false;
                return;
            }
            flush_again_ = true;
            continue;
        }
        if (state_ == State::head && !inbuf_.empty() && out_.queued() <= kLowWatermark &&
            !driving_) {
            std::string pending;
            pending.swap(inbuf_);
            flushing_ = false;
            drive(pending.data(), pending.size());
            return;
        }
    } while (flush_again_);
    flushing_ = false;
    update_events();
    update_timer();
}

void Connection::call_on_writable() {
    Request *r = cur_;
    r->want_writable.store(false);
    if (r->forwarding) { // the host's own reader of an upstream response, not the plugin
        r->forwarding->client_writable();
        return;
    }
    r->retain();
    r->run({Continuation::writable});
    r->release();
}

void Connection::on_writable_event() { flush(); }

} // namespace dialtone
