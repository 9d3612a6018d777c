// primes — a dialtone plugin in C++ that does slow work on threads of its own, never blocking a
// worker: GET ?n=N counts the primes below N by trial division (deliberately slow: about 0.2 s
// for N = 2,000,000) and answers "primes below N: K\n".
//
//   [location.primes]
//   threads = 2            # optional: the instance's compute threads (1..64)
//   max_n = 10000000       # optional: larger N gets 400 (2..1000000000)
//
// The life of a request, as plugin.h prescribes:
//   on_handle (a runtime worker) takes a reference (req_retain), queues a Job and answers
//     DT_SUSPENDED; the worker serves other connections meanwhile.
//   a compute thread takes the Job, counts, and calls req_resume: the callback (deliver) runs on
//     a runtime worker, in step with the request's hooks, writes and finishes the answer, frees
//     the Job and drops the reference (req_release).
//   on_abort (client gone, shutdown past grace) only marks the Job cancelled: the compute thread
//     stops early, and deliver still runs exactly once and frees it — one owner, one path.
// The threads belong to the instance: started in on_create, joined in on_destroy, which the
// runtime calls only once no request of the instance is alive (each Job holds its request).
#include <dialtone/plugin.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace {

const dt_api_t *api;

struct Job {
    dt_req_t *req;
    uint64_t n;
    std::atomic<bool> cancelled{false}; // set by on_abort, read by the compute thread
    uint64_t count = 0;
};

// Counts the primes below n, checking `cancelled` now and then; false if cancelled.
bool count_primes(uint64_t n, const std::atomic<bool> &cancelled, uint64_t &count) {
    count = n > 2 ? 1 : 0;
    for (uint64_t k = 3; k < n; k += 2) {
        if ((k & 0xffff) == 1 && cancelled.load(std::memory_order_relaxed))
            return false;
        bool prime = true;
        for (uint64_t d = 3; d * d <= k; d += 2)
            if (k % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    return true;
}

// Runs on a runtime worker, exactly once per Job, aborted or not: answers (unless the client is
// gone) and lets go of the request.
void deliver(dt_req_t *req, void *arg) {
    std::unique_ptr<Job> job(static_cast<Job *>(arg));
    if (!job->cancelled) {
        char body[96];
        int len = std::snprintf(body, sizeof body, "primes below %llu: %llu\n",
                                static_cast<unsigned long long>(job->n),
                                static_cast<unsigned long long>(job->count));
        api->resp_add_header(req, "Content-Type", 12, "text/plain", 10);
        api->resp_set_length(req, static_cast<uint64_t>(len));
        api->req_write(req, body, static_cast<size_t>(len));
        api->req_finish(req); // DT_EABORTED if the client left meanwhile: nothing to do
    }
    api->req_set_data(req, nullptr);
    api->req_release(req); // the reference on_handle took
}

class Instance {
  public:
    Instance(int threads, uint64_t max_n) : max_n_(max_n) {
        try {
            for (int i = 0; i < threads; ++i)
                threads_.emplace_back([this] { run(); });
        } catch (...) {
            stop();
            throw;
        }
    }
    ~Instance() { stop(); }
    Instance(const Instance &) = delete;
    Instance &operator=(const Instance &) = delete;

    uint64_t max_n() const { return max_n_; }

    void submit(std::unique_ptr<Job> job) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            queue_.push_back(std::move(job));
        }
        cv_.notify_one();
    }

  private:
    void run() {
        for (;;) {
            std::unique_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty())
                    return; // stopping, and nothing left
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            if (!job->cancelled)
                count_primes(job->n, job->cancelled, job->count);
            // The job holds a reference to its request, so resuming from this thread is allowed.
            dt_req_t *req = job->req;
            api->req_resume(req, deliver, job.release());
        }
    }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (std::thread &t : threads_)
            if (t.joinable())
                t.join();
        threads_.clear();
    }

    const uint64_t max_n_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Job>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Reads an optional integer key within [lo, hi]; false after reporting a problem.
bool config_int(const dt_config_t *cfg, const char *key, int64_t lo, int64_t hi, int64_t &value) {
    int rc = api->config_int(cfg, key, &value);
    if (rc == DT_ENOENT)
        return true; // keep the default
    if (rc != 0)
        return false; // DT_ETYPE: the host has reported it
    if (value < lo || value > hi) {
        api->config_error(cfg, key, "must be between %lld and %lld, not %lld",
                          static_cast<long long>(lo), static_cast<long long>(hi),
                          static_cast<long long>(value));
        return false;
    }
    return true;
}

int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    int64_t threads = 2, max_n = 10'000'000;
    if (!config_int(cfg, "threads", 1, 64, threads) ||
        !config_int(cfg, "max_n", 2, 1'000'000'000, max_n))
        return -1;
    try {
        *instance = new Instance(static_cast<int>(threads), static_cast<uint64_t>(max_n));
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, err_len, "primes: cannot start threads: %s", e.what());
        return -1;
    }
}

void on_destroy(void *instance) { delete static_cast<Instance *>(instance); }

// The value of `n=` in the query; 0 when absent or not a number.
uint64_t query_n(dt_str_t query) {
    std::string_view q(query.ptr ? query.ptr : "", query.ptr ? query.len : 0);
    for (size_t at = 0; at < q.size();) {
        size_t end = q.find('&', at);
        std::string_view pair = q.substr(at, end == q.npos ? q.npos : end - at);
        if (pair.substr(0, 2) == "n=") {
            uint64_t n = 0;
            auto [ptr, ec] = std::from_chars(pair.data() + 2, pair.data() + pair.size(), n);
            return ec == std::errc() && ptr == pair.data() + pair.size() ? n : 0;
        }
        if (end == q.npos)
            break;
        at = end + 1;
    }
    return 0;
}

int on_handle(void *instance, dt_req_t *req) {
    auto *in = static_cast<Instance *>(instance);
    dt_str_t m = api->req_method(req);
    std::string_view method(m.ptr, m.len);
    if (method != "GET" && method != "HEAD") {
        static constexpr std::string_view text = "method not allowed\n";
        api->resp_set_status(req, 405);
        api->resp_add_header(req, "Allow", 5, "GET, HEAD", 9);
        api->resp_set_length(req, text.size());
        api->req_write(req, text.data(), text.size());
        return DT_DONE;
    }
    uint64_t n = query_n(api->req_query(req));
    if (n < 2 || n > in->max_n())
        return 400;

    std::unique_ptr<Job> job;
    try {
        job = std::make_unique<Job>();
    } catch (const std::bad_alloc &) {
        return 503;
    }
    job->req = req;
    job->n = n;
    api->req_retain(req); // the request outlives this hook: the Job holds it
    api->req_set_data(req, job.get());
    try {
        in->submit(std::move(job));
    } catch (const std::exception &) { // the queue could not grow: job was not moved from
        api->req_set_data(req, nullptr);
        api->req_release(req);
        return 503;
    }
    return DT_SUSPENDED;
}

// The client is gone: stop computing. deliver still runs and frees the Job.
void on_abort(void *, dt_req_t *req) {
    if (auto *job = static_cast<Job *>(api->req_data(req)))
        job->cancelled = true;
}

const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    0,
    0,
    "primes",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    nullptr,  // on_writable: answers are a few bytes
    on_abort, // cancels the job
    nullptr,  // on_stop: a job takes a fraction of a second, grace_ms lets it finish
    {},
};

} // namespace

extern "C" {
DT_PLUGIN_DEFINE(plugin, api)
}
