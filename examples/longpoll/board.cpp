// board — the in-process plugin of examples/longpoll: a long-poll message board.
//
//   GET  /poll?topic=T     waits for the next message on T: 200 and the message (text/plain),
//                          204 No Content after timeout_ms, 503 when the server stops
//   POST /publish?topic=T  the body is the message: every poll waiting on T gets it; answers
//                          "woken N"
//   GET  /waiting?topic=T  how many polls wait on T now
//
//   [location.board]
//   timeout_ms = 25000     # optional: how long a poll waits (1..3600000)
//
// The life of a poll, as plugin.h prescribes:
//   on_handle (a worker) starts its timeout timer, takes a reference for the board
//     (req_retain), parks a Waiter on the board and answers DT_SUSPENDED.
//   Exactly one of these takes the Waiter off the board again, under the board's lock, and with
//   it the board's reference:
//   - a publish (another request's hook, on any worker) calls req_resume on each waiter of its
//     topic: `deliver` then runs on a worker in step with the poll's own hooks, stops the timer,
//     answers 200 and releases the reference;
//   - on_stop (the thread that stopped the server) does the same, and `deliver` answers 503;
//   - the timer (`on_timeout`, a worker) answers 204 and releases it;
//   - on_abort (a worker: the client reset the connection) releases it; the runtime has
//     already cancelled the timer.
//   Whoever finds the Waiter gone from the board leaves the request alone: the one that took it
//   answers.
// The Board itself belongs to the application (main.cpp), which hands it over as the plugin's
// context (InProcessPlugin::context, read with api->config_context in on_create: ABI 1.2).
#include "board.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <utility>

namespace longpoll {

// ---- The board -------------------------------------------------------------------------------

bool Board::park(Waiter *w) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_)
        return false;
    auto it = topics_.find(w->topic);
    if (it == topics_.end())
        topics_.emplace(std::string(w->topic), std::vector<Waiter *>{w});
    else
        it->second.push_back(w);
    return true;
}

bool Board::unpark(Waiter *w) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(w->topic);
    if (it == topics_.end())
        return false;
    std::vector<Waiter *> &waiters = it->second;
    auto found = std::find(waiters.begin(), waiters.end(), w);
    if (found == waiters.end())
        return false;
    waiters.erase(found);
    if (waiters.empty())
        topics_.erase(it);
    return true;
}

std::vector<Waiter *> Board::take(std::string_view topic) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end())
        return {};
    return std::move(topics_.extract(it).mapped());
}

std::vector<Waiter *> Board::stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    size_t count = 0;
    for (const auto &[topic, waiters] : topics_)
        count += waiters.size();
    std::vector<Waiter *> all;
    all.reserve(count); // the only step that may throw: before anything is taken
    for (const auto &[topic, waiters] : topics_)
        all.insert(all.end(), waiters.begin(), waiters.end());
    topics_.clear();
    return all;
}

size_t Board::waiting(std::string_view topic) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second.size();
}

// ---- The plugin ------------------------------------------------------------------------------

namespace {

const dt_api_t *api;

struct Instance {
    Board *board; // the application's
    uint64_t timeout_ms;
};

std::string_view view(dt_str_t s) {
    return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

// The value of `topic=` in the query, if it is 1 to 64 unreserved characters (so it needs no
// percent-decoding); empty otherwise.
std::string_view topic_of(dt_req_t *req) {
    std::string_view query = view(api->req_query(req));
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (param.substr(0, 6) != "topic=")
            continue;
        std::string_view topic = param.substr(6);
        bool ok = !topic.empty() && topic.size() <= 64 &&
                  std::all_of(topic.begin(), topic.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
                  });
        return ok ? topic : std::string_view();
    }
    return {};
}

// Ends a request with `status` and, unless it is 204, a text/plain body. Every call returns
// DT_EABORTED if the client is gone meanwhile: nothing more to do then.
void answer(dt_req_t *req, int status, std::string_view body) {
    api->resp_set_status(req, status);
    if (status != 204) {
        api->resp_add_header(req, "Content-Type", 12, "text/plain; charset=utf-8", 25);
        api->resp_set_length(req, body.size());
        api->req_write(req, body.data(), body.size());
    }
    api->req_finish(req);
}

// 405 with the Allow header it needs, which an error verdict could not carry.
int not_allowed(dt_req_t *req, std::string_view allow) {
    api->resp_set_status(req, 405);
    api->resp_add_header(req, "Allow", 5, allow.data(), allow.size());
    api->resp_set_length(req, 0);
    return DT_DONE;
}

// A waiter taken by a publish (`arg`: the message, a std::string of ours) or by the stop (`arg`
// NULL). Runs on a worker, in step with the poll's other hooks, exactly once even if the client
// left meanwhile, so it is where the message is freed and the board's reference released.
void deliver(dt_req_t *req, void *arg) {
    std::unique_ptr<std::string> message(static_cast<std::string *>(arg));
    auto *w = static_cast<Waiter *>(api->req_data(req));
    // 0, or DT_ENOENT if the timeout is already queued: on_timeout then finds w off the board.
    api->timer_stop(req, w->timeout);
    if (message)
        answer(req, 200, *message);
    else
        answer(req, 503, "poll again later\n");
    api->req_release(req); // the board's reference, taken over with the waiter
}

// The poll's timeout (a worker, in step with its other hooks).
void on_timeout(dt_req_t *req, void *arg) {
    auto *w = static_cast<Waiter *>(arg);
    if (!w->board->unpark(w))
        return; // a publish or the stop took it: deliver answers
    answer(req, 204, {});
    api->req_release(req); // the board's reference
}

int handle_poll(Instance *in, dt_req_t *req, std::string_view topic) {
    void *memory = api->req_alloc(req, sizeof(Waiter));
    if (!memory)
        return 503;
    auto *w = new (memory) Waiter{in->board, req, topic, 0}; // freed with the request's arena
    if (api->timer_start(req, in->timeout_ms, on_timeout, w, &w->timeout) != 0)
        return 500;
    api->req_set_data(req, w);
    // The board keeps the request past this hook, and a publish on another worker may
    // req_resume it as soon as it is parked: take the board's reference first.
    api->req_retain(req);
    bool parked = false;
    try {
        parked = in->board->park(w);
    } catch (const std::bad_alloc &) {
    }
    if (!parked) { // stopping (or out of memory): answer at once
        api->timer_stop(req, w->timeout);
        api->req_set_data(req, nullptr);
        api->req_release(req);
        return 503;
    }
    // Suspended: a publish, the stop, the timeout or an abort takes it from here. Their
    // callbacks run after this hook returns, never concurrently with it.
    return DT_SUSPENDED;
}

int handle_publish(Instance *in, dt_req_t *req, std::string_view topic) {
    std::string_view message = view(api->req_body(req));
    std::vector<Waiter *> woken = in->board->take(topic);
    for (Waiter *w : woken) {
        // One copy per waiter: each deliver frees its own, on whichever worker it runs.
        std::unique_ptr<std::string> copy;
        try {
            copy = std::make_unique<std::string>(message);
        } catch (const std::bad_alloc &) { // that poll gets a 503 instead
        }
        // The board's reference, which came with the waiter, makes resuming a request of
        // another connection from this hook safe; deliver releases it.
        api->req_resume(w->req, deliver, copy.release());
    }
    char body[32];
    int len = std::snprintf(body, sizeof body, "woken %zu\n", woken.size());
    answer(req, 200, std::string_view(body, static_cast<size_t>(len)));
    return DT_DONE;
}

int on_handle(void *instance, dt_req_t *req) {
    auto *in = static_cast<Instance *>(instance);
    std::string_view path = view(api->req_path_info(req));
    std::string_view method = view(api->req_method(req));
    try {
        if (path == "/poll" || path == "/waiting") {
            if (method != "GET")
                return not_allowed(req, "GET");
            std::string_view topic = topic_of(req);
            if (topic.empty())
                return 400;
            if (path == "/poll")
                return handle_poll(in, req, topic);
            char body[32];
            int len = std::snprintf(body, sizeof body, "%zu\n", in->board->waiting(topic));
            answer(req, 200, std::string_view(body, static_cast<size_t>(len)));
            return DT_DONE;
        }
        if (path == "/publish") {
            if (method != "POST")
                return not_allowed(req, "POST");
            std::string_view topic = topic_of(req);
            return topic.empty() ? 400 : handle_publish(in, req, topic);
        }
        return DT_DECLINED; // any other path: 404
    } catch (const std::exception &e) {
        // No exception may cross the C ABI into the host: log it and answer 500.
        api->log(DT_LOG_ERROR, "board: %s", e.what());
        return 500;
    }
}

// The client reset the connection while its poll waited (a worker). The runtime has cancelled
// the timer already; if the poll is still on the board, its reference is ours to release.
void on_abort(void *instance, dt_req_t *req) {
    auto *w = static_cast<Waiter *>(api->req_data(req));
    if (w && static_cast<Instance *>(instance)->board->unpark(w))
        api->req_release(req);
    // Otherwise a publish or the stop took it: deliver still runs, and releases it.
}

// The server began to stop. Runs on the thread that called Server::stop (the application's
// loop thread in main.cpp), concurrently with request hooks on the workers: only functions
// marked "any thread" (req_resume, with the board's reference held).
void on_stop(void *instance) {
    try {
        for (Waiter *w : static_cast<Instance *>(instance)->board->stop())
            api->req_resume(w->req, deliver, nullptr); // deliver answers 503
    } catch (const std::bad_alloc &) {
        api->log(DT_LOG_ERROR, "board: out of memory at the stop: polls wait for grace_ms");
    }
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    auto *board = static_cast<Board *>(api->config_context(cfg));
    if (!board) {
        std::snprintf(err, err_len, "no Board: register the plugin with one as its context");
        return 1;
    }
    int64_t timeout_ms = 25000;
    int rc = api->config_int(cfg, "timeout_ms", &timeout_ms);
    if (rc == DT_ETYPE)
        return 1; // the host has reported it
    if (rc == 0 && (timeout_ms < 1 || timeout_ms > 3600000)) {
        api->config_error(cfg, "timeout_ms", "must be 1 to 3600000 (milliseconds)");
        return 1;
    }
    try {
        *instance = std::make_unique<Instance>(Instance{board, static_cast<uint64_t>(timeout_ms)})
                        .release();
    } catch (const std::bad_alloc &) {
        std::snprintf(err, err_len, "out of memory");
        return 1;
    }
    return 0;
}

void on_destroy(void *instance) {
    std::unique_ptr<Instance> owned(static_cast<Instance *>(instance)); // the Board is not ours
}

const dt_plugin_t board_plugin = {
    DT_PLUGIN_INIT,
    2, // min_host_minor: config_context and on_stop are ABI 1.2
    0,
    "board",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr, // on_writable: answers are small
    on_abort,
    on_stop,
    {},
};

} // namespace

const dt_plugin_t *board_entry(const dt_api_t *host_api) {
    api = host_api;
    return &board_plugin;
}

} // namespace longpoll
