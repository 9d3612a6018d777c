// Hostile clients and faults against the real host: slowloris by the thousand, connection
// floods, clients vanishing at every phase of a request, files changing under a transfer, and a
// graceful stop under load. Each test ends by proving the host still serves; under ASan the
// harness also checks that the host exits cleanly (no leak reports).
#include "test_support.hpp"

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

using Clock = std::chrono::steady_clock;

void raise_fd_limit(rlim_t need) {
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    REQUIRE(rl.rlim_cur > need);
}

std::string pattern(size_t size, char first) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>(first + i % 23);
    return s;
}

// Reads a response head from `c` and returns its Content-Length (-1 if none arrived in time).
long long read_head(RawClient &c) {
    auto until = Clock::now() + 5s;
    size_t end;
    while ((end = c.buffer().find("\r\n\r\n")) == std::string::npos) {
        // One read at a time (read_some would go on reading while bytes keep coming).
        if (Clock::now() > until || (c.read_bytes(1, 200ms) == 0 && c.peer_closed()))
            return -1;
    }
    std::string head = c.buffer().substr(0, end);
    c.buffer().erase(0, end + 4);
    size_t at = head.find("Content-Length: ");
    return at == std::string::npos ? -1 : std::stoll(head.substr(at + 16));
}

} // namespace

TEST_CASE("thousands of slowloris connections are cut at head_ms while others are served",
          "[integration][hostile][slowloris]") {
    constexpr int n = 2000;
    raise_fd_limit(n + 200);
    HostProcess host(config("[server.timeouts]\nhead_ms = 2000\n", echo_everywhere));
    long fds_before = host.fd_count();

    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < n; ++i) {
        slow.push_back(std::make_unique<RawClient>(host.port()));
        REQUIRE(slow.back()->connected());
        REQUIRE(slow.back()->send("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: "));
    }
    // A header byte for every slow client every 500 ms; a normal request between rounds must
    // be answered promptly all the while.
    auto start = Clock::now();
    int served = 0;
    while (Clock::now() - start < 3500ms) {
        for (auto &c : slow)
            c->send("a"); // fails once the host has cut it
        auto asked = Clock::now();
        auto r = fetch(host.port(), get("/normal"));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(Clock::now() - asked < 1s);
        ++served;
        std::this_thread::sleep_for(500ms);
    }
    CHECK(served >= 5);
    // head_ms has passed for all of them: every one is closed by the host, without an answer
    // that a slow client could mistake for a response to its request.
    int closed = 0;
    for (auto &c : slow) {
        if (c->wait_closed(3s))
            ++closed;
    }
    CHECK(closed == n);
    slow.clear();
    CHECK(eventually([&] { return host.fd_count() <= fds_before; }));
    auto after = fetch(host.port(), get("/after"));
    REQUIRE(after);
    CHECK(after->status == 200);
}

TEST_CASE("a connection flood past max_connections is refused cleanly and the host recovers",
          "[integration][hostile][flood]") {
    constexpr int limit = 50, n = 1000;
    raise_fd_limit(n + 200);
    HostProcess host(config("[server.limits]\nmax_connections = 50\n", echo_everywhere));

    std::vector<std::unique_ptr<RawClient>> flood;
    for (int i = 0; i < n; ++i) {
        flood.push_back(std::make_unique<RawClient>(host.port()));
        REQUIRE(flood.back()->connected());
        flood.back()->send(get("/flood"));
    }
    int ok = 0, refused = 0, other = 0;
    for (auto &c : flood) {
        auto r = c->read_response(5s);
        if (r && r->status == 200)
            ++ok;
        else if (r && r->status == 503 && c->wait_closed(2s))
            ++refused;
        else
            ++other;
    }
    // Admitted connections stay open (keep-alive): exactly `limit` of them are served.
    CHECK(ok == limit);
    CHECK(refused == n - limit);
    CHECK(other == 0);

    flood.clear(); // the flood stops
    std::vector<std::unique_ptr<RawClient>> again;
    for (int i = 0; i < limit; ++i) {
        again.push_back(std::make_unique<RawClient>(host.port()));
        REQUIRE(again.back()->send(get("/again")));
    }
    int served = 0;
    for (auto &c : again) {
        auto r = c->read_response(5s);
        served += r && r->status == 200;
    }
    CHECK(served == limit);
}

TEST_CASE("clients vanishing at every phase leave no slot, descriptor or plugin state behind",
          "[integration][hostile][vanish]") {
    constexpr int slots = 6;
    HostOptions options;
    options.prepare = [](const fs::path &dir) {
        write_file(dir / "files" / "big.bin", pattern(8 << 20, 'a'));
        write_file(dir / "files" / "small.bin", pattern(64 << 10, 'a'));
    };
    HostProcess host(config("[server.limits]\nmax_connections = 6\nmax_body_size = 1048576\n",
                            R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "files"
file_cache = 0 # every descriptor counted exactly (the cache's are tested with static)

[[location]]
prefix = "/echo"
handler = "echo"

[[location]]
prefix = "/dialup"
handler = "dialup"
[location.dialup]
root = "files"
bits_per_second = 80000
file_cache = 0

[[location]]
prefix = "/suspend"
handler = "suspend"
)"),
                     options);
    long fds_before = host.fd_count();

    struct Phase {
        const char *name;
        std::function<void(RawClient &)> act;
    };
    const std::vector<Phase> phases = {
        {"mid-head", [](RawClient &c) { c.send("GET /small.bin HTTP/1.1\r\nHos"); }},
        {"mid-body",
         [](RawClient &c) {
             c.send(request("POST", "/echo", "Content-Length: 100000\r\n") + std::string(999, 'b'));
         }},
        {"during a static send",
         [](RawClient &c) {
             c.send(get("/big.bin"));
             c.read_bytes(100000, 2s);
         }},
        {"during a suspended dialup transfer with its timer pending",
         [](RawClient &c) {
             c.send(get("/dialup/small.bin"));
             c.read_bytes(1000, 2s);
         }},
        {"during pipelined responses",
         [](RawClient &c) {
             std::string many;
             for (int i = 0; i < 10; ++i)
                 many += get("/big.bin");
             c.send(many);
             c.read_bytes(100000, 2s);
         }},
        // A FIN only ends the client's input: the request is answered when its timer fires
        // (then the write finds the client gone). A reset aborts it at once. So the timer is
        // short enough for the slots to come back within eventually()'s budget.
        {"while suspended with a timer pending",
         [](RawClient &c) {
             c.send(get("/suspend/abort-timer?ms=1000"));
             std::this_thread::sleep_for(50ms);
         }},
        {"while a plugin thread is about to write",
         [](RawClient &c) { c.send(get("/suspend/thread?ms=100")); }},
    };
    // All slots are free when `slots` clients at once are served. (Right after a burst of
    // vanishing clients some may still wait in the listen queue, so this is polled.)
    auto all_slots_serve = [&] {
        std::vector<std::unique_ptr<RawClient>> all;
        for (int i = 0; i < slots; ++i) {
            all.push_back(std::make_unique<RawClient>(host.port()));
            all.back()->send(get("/echo/ok"));
        }
        int ok = 0;
        for (auto &c : all) {
            auto r = c->read_response(5s);
            ok += r && r->status == 200;
        }
        return ok == slots;
    };
    for (const Phase &phase : phases) {
        INFO(phase.name);
        // More rounds than slots: a slot kept by a vanished client would leave none free.
        for (int round = 0; round < 2 * slots; ++round) {
            RawClient c(host.port(), "127.0.0.1", 16384);
            REQUIRE(c.connected());
            phase.act(c);
            if (round % 2)
                c.reset();
            else
                c.close();
        }
        CHECK(eventually(all_slots_serve));
        CHECK(eventually([&] { return host.fd_count() <= fds_before; }));
    }

    // Every descriptor is returned (the static and dialup file descriptors included) once the
    // last plugin thread has run, and every request's plugin state is freed exactly once.
    CHECK(eventually([&] { return host.fd_count() <= fds_before; }));
    CHECK(eventually([&] {
        auto stats = fetch(host.port(), get("/suspend/stats"));
        return stats && stats->body.find("live=0 ") != std::string::npos;
    }));
    auto stats = fetch(host.port(), get("/suspend/stats"));
    REQUIRE(stats);
    CHECK_THAT(stats->body, Contains("double_aborts=0 timer_after_abort=0"));
}

TEST_CASE("a file truncated, replaced or deleted while it is sent",
          "[integration][hostile][files]") {
    const size_t size = 16 << 20;
    const std::string original = pattern(size, 'a');
    HostOptions options;
    options.prepare = [&](const fs::path &dir) { write_file(dir / "files" / "big.bin", original); };
    HostProcess host(config("", R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "files"

[[location]]
prefix = "/dialup"
handler = "dialup"
[location.dialup]
root = "files"
bits_per_second = 80000000
)"),
                     options);
    const fs::path file = host.dir() / "files" / "big.bin";

    // Starts a download of big.bin through `prefix`, reads its head and the first 256 KiB, then
    // applies `change` to the file and reads until the host closes or the response completes.
    // Returns the body bytes received (head excluded) and whether the host closed.
    auto download_during = [&](const std::string &prefix, const std::function<void()> &change,
                               std::string &body) {
        RawClient c(host.port(), "127.0.0.1", 65536);
        REQUIRE(c.send(get(prefix + "/big.bin")));
        REQUIRE(read_head(c) == static_cast<long long>(size));
        if (c.buffer().size() < 256 * 1024)
            c.read_bytes(256 * 1024 - c.buffer().size(), 5s);
        change();
        auto until = Clock::now() + 10s;
        while (c.buffer().size() < size && !c.peer_closed() && Clock::now() < until)
            c.read_bytes(size - c.buffer().size(), 200ms);
        body = c.buffer();
        return c.peer_closed();
    };

    for (std::string prefix : {"", "/dialup"}) {
        INFO("through " << (prefix.empty() ? "static" : "dialup"));
        std::string body;

        // Truncated: fewer bytes than declared, then the close: never a silently short body.
        bool closed = download_during(
            prefix, [&] { REQUIRE(truncate(file.c_str(), 1 << 20) == 0); }, body);
        CHECK(closed);
        CHECK(body.size() < size);
        // What was sent before the cut is the file's. (Bytes past the new end that were queued
        // zero-copy when it was cut are not: the kernel sends from the page cache, as it does
        // for every sendfile server. Replacing a file by rename, below, is the safe way.)
        CHECK(first_difference(body, original) >= std::min(body.size(), size_t{1} << 20));
        CHECK(host.wait_for_stderr("early"));
        write_file(file, original);

        // Replaced (a new file renamed over it): the open file is sent whole, as it was.
        download_during(
            prefix,
            [&] {
                write_file(host.dir() / "files" / "new.bin", pattern(size, 'A'));
                fs::rename(host.dir() / "files" / "new.bin", file);
            },
            body);
        CHECK(body.size() == size);
        CHECK(first_difference(body, original) == size);
        write_file(file, original);

        // Deleted: the open file is still sent whole.
        download_during(
            prefix, [&] { fs::remove(file); }, body);
        CHECK(body.size() == size);
        CHECK(first_difference(body, original) == size);
        write_file(file, original);
    }
    // The host goes on serving the file as it is now.
    CurlResult got = curl({url(host.port(), "/big.bin")});
    CHECK(got.status() == 200);
    CHECK(got.body.size() == size);
}
