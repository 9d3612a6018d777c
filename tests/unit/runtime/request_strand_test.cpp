// The request's own concurrency rules, without a connection: how submit() queues response
// operations from a thread that is not the request's worker (order, the head first, copies,
// the state checks), and how run() keeps a request's continuations one at a time.
//
// The test thread is no worker (Worker::current() is null), so every call here takes the path
// of a plugin's own thread; what would reach the worker waits in the inbox, which the test
// drains by hand.
#include "connection.hpp"
#include "inbox.hpp"
#include "request.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

using namespace dialtone;

namespace {

// A loop and an async handle only so that the inbox can "wake" a worker that never runs.
struct Harness {
    uv_loop_t loop;
    uv_async_t async;
    std::shared_ptr<Inbox> inbox;
    Request *req;

    Harness() {
        uv_loop_init(&loop);
        uv_async_init(&loop, &async, nullptr);
        inbox = std::make_shared<Inbox>(&async, nullptr);
        req = new Request(inbox, nullptr);
    }
    ~Harness() {
        req->release(); // the runtime's reference: handed to the inbox, as off a worker
        run_inbox();
        CHECK(inbox->live() == 0);
        uv_close(reinterpret_cast<uv_handle_t *>(&async), nullptr);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);
    }
    // What the worker would run: deliveries of queued operations, the request's end.
    size_t run_inbox() {
        size_t n = 0;
        for (;;) {
            auto tasks = inbox->take();
            if (tasks.empty())
                return n;
            for (auto &t : tasks)
                t();
            n += tasks.size();
        }
    }
    // A copy of the operations waiting for the worker, in order.
    std::vector<ResponseOp::Kind> kinds() {
        MutexLock lock(req->mu);
        std::vector<ResponseOp::Kind> k;
        for (const ResponseOp &op : req->ops)
            k.push_back(op.kind);
        return k;
    }
    Phase phase() { return req->current_phase(); }
};

ResponseOp body(const char *s) { return ResponseOp(BodyPart::copy_of(s, strlen(s))); }

int released = 0;
void count_release(void *) { ++released; }

} // namespace

TEST_CASE("submit off the worker queues operations in call order, the head first") {
    Harness h;
    char buf[] = "first";
    REQUIRE(h.req->submit(body(buf)) == 0);
    strcpy(buf, "again"); // the caller may reuse its buffer once the call returns
    REQUIRE(h.req->submit(body("second")) == 0);
    REQUIRE(h.phase() == Phase::head_sent);
    REQUIRE(h.req->submit(ResponseOp(ResponseOp::finish)) == 0);
    REQUIRE(h.phase() == Phase::finished);

    using K = ResponseOp::Kind;
    CHECK(h.kinds() == std::vector<K>{K::head, K::body, K::body, K::finish});
    {
        MutexLock lock(h.req->mu);
        CHECK(h.req->ops[1].part.ptr == nullptr); // owned: copied at the call
        CHECK(h.req->ops[1].data == "first");
        CHECK(h.req->ops[2].data == "second");
        CHECK(h.req->ops_bytes == 11);
        CHECK(h.req->touched);
    }
    CHECK(h.req->body_bytes == 11);
    CHECK(h.req->resp_length == -1); // undeclared: the owner will chunk it

    // Nothing more after the finish, and the caller keeps what it offered.
    CHECK(h.req->submit(body("late")) == DT_ESTATE);
    CHECK(h.req->submit(ResponseOp(ResponseOp::finish)) == DT_ESTATE);

    // One delivery was posted for the whole batch; with no connection it discards the batch.
    CHECK(h.run_inbox() == 1);
    CHECK(h.kinds().empty());
}

TEST_CASE("a finish with nothing written declares an empty body") {
    Harness h;
    REQUIRE(h.req->submit(ResponseOp(ResponseOp::finish)) == 0);
    using K = ResponseOp::Kind;
    CHECK(h.kinds() == std::vector<K>{K::head, K::finish});
    CHECK(h.req->resp_length == 0);
}

TEST_CASE("a declared length bounds the body: DT_ERANGE changes nothing") {
    Harness h;
    {
        MutexLock lock(h.req->mu);
        h.req->resp_length = 5;
    }
    REQUIRE(h.req->submit(body("abc")) == 0);
    CHECK(h.req->submit(body("def")) == DT_ERANGE);
    CHECK(h.req->body_bytes == 3);
    REQUIRE(h.req->submit(body("de")) == 0);
    CHECK(h.req->body_bytes == 5);
}

TEST_CASE("a write is taken whole at the watermark, then refused with DT_EAGAIN") {
    Harness h;
    h.req->conn_queued.store(Connection::kHighWatermark);
    std::string big(100000, 'x');
    REQUIRE(h.req->submit(ResponseOp(BodyPart::copy_of(big.data(), big.size()))) == 0);
    CHECK_FALSE(h.req->want_writable.load());
    CHECK(h.req->submit(body("y")) == DT_EAGAIN);
    CHECK(h.req->want_writable.load()); // on_writable will follow the drain
    CHECK(h.req->body_bytes == big.size());
}

TEST_CASE("after an abort every submit says DT_EABORTED and the caller keeps its resources") {
    Harness h;
    released = 0;
    {
        MutexLock lock(h.req->mu);
        h.req->phase = Phase::aborted;
    }
    static const char text[] = "lent";
    BodyPart lent = BodyPart::lent(text, 4, count_release, nullptr);
    CHECK(h.req->submit(ResponseOp(lent)) == DT_EABORTED);
    CHECK(h.req->submit(ResponseOp(ResponseOp::finish)) == DT_EABORTED);
    CHECK(released == 0); // a refused call gives nothing back: the caller still owns it
    CHECK(h.kinds().empty());
}

TEST_CASE("queued operations that will not be sent give their buffers back exactly once") {
    released = 0;
    {
        Harness h;
        static const char text[] = "lent";
        REQUIRE(h.req->submit(ResponseOp(BodyPart::lent(text, 4, count_release, nullptr))) == 0);
        REQUIRE(h.req->submit(ResponseOp(BodyPart::lent(text, 4, count_release, nullptr))) == 0);
        CHECK(released == 0);
        h.req->discard_pending();
        CHECK(released == 2);
        h.req->discard_pending();
        CHECK(released == 2);
        REQUIRE(h.req->submit(ResponseOp(BodyPart::lent(text, 4, count_release, nullptr))) == 0);
    } // the delivery (no connection) and the request's end give back the third
    CHECK(released == 3);
}

TEST_CASE("continuations of one request never overlap, whatever thread posts them") {
    Harness h;
    struct Probe {
        std::atomic<int> inside{0};
        std::atomic<int> overlaps{0};
        long runs = 0; // plain: the strand alone makes this safe (TSan checks it)
    } probe;
    auto cb = [](dt_req_t *, void *arg) {
        auto *p = static_cast<Probe *>(arg);
        if (p->inside.fetch_add(1) != 0)
            p->overlaps.fetch_add(1);
        ++p->runs;
        std::this_thread::yield();
        p->inside.fetch_sub(1);
    };
    constexpr int kThreads = 4, kEach = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i)
                h.req->run({Continuation::callback, cb, &probe});
        });
    for (auto &t : threads)
        t.join();
    CHECK(probe.overlaps.load() == 0);
    CHECK(probe.runs == kThreads * kEach); // none lost: a busy strand runs what queued up
}

TEST_CASE("a continuation posted while another runs waits for it, then runs on its thread") {
    Harness h;
    struct Gate {
        std::mutex mu;
        std::condition_variable cv;
        bool first_started = false, second_posted = false;
        std::vector<std::string> order;
        std::thread::id first_thread, second_thread;
    } g;
    auto first = [](dt_req_t *, void *arg) {
        auto *g = static_cast<Gate *>(arg);
        std::unique_lock<std::mutex> lock(g->mu);
        g->first_thread = std::this_thread::get_id();
        g->first_started = true;
        g->cv.notify_all();
        g->cv.wait(lock, [g] { return g->second_posted; });
        g->order.push_back("first");
    };
    auto second = [](dt_req_t *, void *arg) {
        auto *g = static_cast<Gate *>(arg);
        std::lock_guard<std::mutex> lock(g->mu);
        g->second_thread = std::this_thread::get_id();
        g->order.push_back("second");
    };
    std::thread a([&] { h.req->run({Continuation::callback, first, &g}); });
    {
        std::unique_lock<std::mutex> lock(g.mu);
        g.cv.wait(lock, [&] { return g.first_started; });
    }
    h.req->run({Continuation::callback, second, &g}); // returns at once: the strand is busy
    {
        std::lock_guard<std::mutex> lock(g.mu);
        CHECK(g.order.empty());
        g.second_posted = true;
    }
    g.cv.notify_all();
    a.join();
    CHECK(g.order == std::vector<std::string>{"first", "second"});
    CHECK(g.second_thread == g.first_thread);
}

TEST_CASE("a continuation started from inside another runs after it, before run() returns") {
    Harness h;
    struct Ctx {
        Request *req;
        std::vector<int> order;
    } ctx{h.req, {}};
    static const dt_req_cb inner = [](dt_req_t *, void *arg) {
        static_cast<Ctx *>(arg)->order.push_back(2);
    };
    auto outer = [](dt_req_t *, void *arg) {
        auto *c = static_cast<Ctx *>(arg);
        c->order.push_back(1);
        c->req->run({Continuation::callback, inner, c});
        c->order.push_back(3); // the inner one has not run yet
    };
    h.req->run({Continuation::callback, outer, &ctx});
    CHECK(ctx.order == std::vector<int>{1, 3, 2});
}
