// hostile_client: clients that misbehave, for the soak test (bench/soak.sh, bench/README.md),
// clients that only hold connections, for the suite's idle keep-alive workload
// (bench/suite.sh), and a keep-alive load that records when each error happened, for the proxy
// benchmarks' failure workloads (bench/proxy.sh).
//
//   slowloris  N connections, each sending a request line and then one header byte every
//              --interval-ms, never finishing the head. When the server closes one (its head
//              timeout) it reconnects. Reports how long after the first byte the server closed.
//   abort      up to N connections at a time, at most --rate new ones a second, each one of, in
//              turn: a GET of one of the --path targets dropped mid-response (after a random
//              number of bytes or milliseconds; every other one with a reset), half a request
//              head then close, a POST head with half its body then close.
//   idle       N connections, each making one keep-alive GET of --path, reading the response
//              and then sitting idle, open, until the run ends; never reconnecting. Once every
//              connection has its response (or has failed) it prints `idle.ready_s` at once, so
//              a script can measure the server while it holds N idle connections.
//   keepalive  N connections, each making keep-alive GETs of --path one after another (after a
//              random gap of --gap-min-ms to --gap-max-ms, when set), a new connection whenever
//              one ends; until --requests answers or --duration-sec. With --waves the gap is
//              everyone's: answered connections wait for the next wave, and waves come a random
//              gap apart, so a proxy's pooled upstream connections all idle about that long (with
//              gaps of their own, a busy pool reuses its hottest few and the rest never idle near
//              any length in particular). Counts every request's outcome (status class, or how it
//              failed) per --bucket-ms since the start (timeline.hpp), written to --timeline FILE.
//
// The receive buffer is kept small so a dropped download really is mid-transfer: otherwise the
// server could hand a whole megabyte to loopback socket buffers before the client looks at it.
// Load goes to 127.0.0.0/8 only, and the run ends after --duration-sec whatever happens.
// The report is one "mode.key value" per line, so a script can sum runs.
#include "cli.hpp"
#include "client_loop.hpp"
#include "http_response.hpp"
#include "timeline.hpp"

#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using dialtone::bench::close_timers;
using dialtone::bench::CommandLine;
using dialtone::bench::init_timers;
using dialtone::bench::ResponseReader;
using dialtone::bench::run_to_end;
using dialtone::bench::StopSignals;
using dialtone::bench::Timeline;

const char kUsage[] =
    "usage: hostile_client --mode slowloris|abort|idle|keepalive --port PORT [options]\n"
    "\n"
    "  --host ADDR          numeric address in 127.0.0.0/8 (default 127.0.0.1)\n"
    "  --port PORT          server port (required)\n"
    "  --mode MODE          slowloris, abort, idle or keepalive (required)\n"
    "  --path PATH          request target; repeat to rotate over several (default /)\n"
    "  -n, --connections N  connections open at a time (default 100; idle: in all)\n"
    "  --rate R             new connections per second, at most (default 1000)\n"
    "  --duration-sec D     run time; then every connection is closed (default 60)\n"
    "  --interval-ms MS     slowloris: between header bytes (default 2000)\n"
    "  --max-abort-ms MS    abort: a dropped GET lasts up to MS (default 2000)\n"
    "  --requests N         keepalive: stop after N answers (default 0: at the end only)\n"
    "  --gap-min-ms MS      keepalive: least wait after an answer (default 0)\n"
    "  --gap-max-ms MS      keepalive: most wait, drawn uniformly (default: --gap-min-ms)\n"
    "  --waves              keepalive: the gap is everyone's: requests go in waves a gap apart\n"
    "  --timeout-ms MS      keepalive: a request unanswered this long fails (default 5000)\n"
    "  --timeline FILE      keepalive: outcomes per interval, TSV (timeline.hpp)\n"
    "  --bucket-ms MS       keepalive: the timeline's interval (default 1000)\n"
    "  -h, --help           this help\n";

constexpr uint64_t kTickMs = 10;
constexpr int kRecvBuffer = 16 * 1024;
constexpr size_t kMaxAbortBytes = 256 * 1024;
constexpr size_t kHalfBody = 32 * 1024; // of a declared 64 KiB
constexpr uint64_t kMaxHalfRequestMs = 500;

enum class Mode { slowloris, abort, idle, keepalive };
const char *const kModeNames[] = {"slowloris", "abort", "idle", "keepalive"};
enum class Kind { slowloris, get_abort, half_head, half_body, idle, keepalive };

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    Mode mode = Mode::slowloris;
    bool mode_set = false;
    std::vector<std::string> paths;
    uint32_t connections = 100;
    double rate = 1000;
    double duration_sec = 60;
    uint64_t interval_ms = 2000;
    uint64_t max_abort_ms = 2000;
    uint64_t requests = 0; // keepalive: answers before the run stops; 0: no limit
    uint64_t gap_min_ms = 0, gap_max_ms = UINT64_MAX, timeout_ms = 5000, bucket_ms = 1000;
    bool waves = false;
    std::string timeline;
};

struct Client;

// One slot: a timer for its whole life, and a TCP handle per connection made from it.
struct Slot {
    Client *client = nullptr;
    uv_tcp_t tcp{};
    uv_connect_t connect_req{};
    uv_timer_t timer{};
    bool busy = false; // a connection is open or closing
    bool connected = false;
    bool reset = false; // drop it with RST rather than FIN
    Kind kind = Kind::slowloris;
    uint64_t t_first_byte = 0; // uv_now when the request's first byte went out
    size_t received = 0, stop_after = 0, slow_sent = 0;
    bool settled = false;   // idle: answered, or ended before its answer
    bool in_flight = false; // keepalive: a request is waiting for its response
    bool waiting = false;   // keepalive --waves: answered, the next request goes with a wave
    ResponseReader reader;  // idle: the one response; keepalive: the current one
};

struct Stats {
    uint64_t connections = 0, connect_errors = 0, closed_by_server = 0, bytes_sent = 0;
    uint64_t bytes_received = 0, get_aborts = 0, resets = 0, half_heads = 0, half_bodies = 0;
    std::vector<double> close_after_s; // slowloris: first byte to the server's close
    uint64_t responses = 0, bad_responses = 0, settled = 0; // idle
    double ready_s = -1;                                    // idle: when all had settled
    uint64_t cut_off = 0, start_unix_ms = 0, wall_ms = 0;   // keepalive
};

struct Client {
    Options opt;
    sockaddr_in addr{};
    uv_loop_t loop{};
    uv_timer_t tick{}, deadline{}, wave{};
    StopSignals signals;
    std::unique_ptr<Slot[]> slots;
    std::minstd_rand rng{std::random_device{}()};
    std::string post_head, body;
    uint64_t t_begin = 0, started = 0, next_kind = 0;
    bool stopping = false;
    Stats stats;
    Timeline timeline{1000}; // keepalive
};

char read_buffer[64 * 1024]; // one thread: each read is consumed before the next

uint64_t random_between(Client &cl, uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(cl.rng);
}

const std::string &pick_path(Client &cl) { return cl.opt.paths[cl.started % cl.opt.paths.size()]; }

std::string get_request(const Client &cl, const std::string &path) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + cl.opt.host + ":" + std::to_string(cl.opt.port) +
           "\r\nUser-Agent: hostile_client\r\n\r\n";
}

// Writes what the socket takes now; a hostile client does not care about the rest.
void send_now(Slot &s, const char *p, size_t n) {
    uv_buf_t buf = uv_buf_init(const_cast<char *>(p), static_cast<unsigned>(n));
    int rc = uv_try_write(reinterpret_cast<uv_stream_t *>(&s.tcp), &buf, 1);
    if (rc > 0)
        s.client->stats.bytes_sent += static_cast<uint64_t>(rc);
}

void on_tcp_closed(uv_handle_t *h) {
    auto *s = static_cast<Slot *>(h->data);
    s->busy = false; // the tick reconnects it
}

// Ends the slot's connection; `reset` sends RST instead of FIN.
void drop(Slot &s, bool reset) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t *>(&s.tcp)))
        return;
    uv_timer_stop(&s.timer);
    if (reset && s.connected && uv_tcp_close_reset(&s.tcp, on_tcp_closed) == 0) {
        ++s.client->stats.resets;
        return;
    }
    uv_close(reinterpret_cast<uv_handle_t *>(&s.tcp), on_tcp_closed);
}

// Idle mode: the connection has its answer, or will never get one; once every connection is
// settled the server holds all it will hold, and the script is told at once.
void settle(Slot &s) {
    Client &cl = *s.client;
    if (s.kind != Kind::idle || s.settled)
        return;
    s.settled = true;
    if (++cl.stats.settled == cl.opt.connections) {
        cl.stats.ready_s = static_cast<double>(uv_now(&cl.loop) - cl.t_begin) / 1e3;
        printf("idle.ready_s %.3f\n", cl.stats.ready_s);
        fflush(stdout);
    }
}

void on_idle_bytes(Slot &s, size_t n) {
    using State = ResponseReader::State;
    if (s.settled)
        return; // bytes after the response: nothing the server should send, and nothing to us
    s.reader.feed(read_buffer, n);
    if (s.reader.state() == State::complete && s.reader.status() == 200)
        ++s.client->stats.responses;
    else if (s.reader.state() == State::complete || s.reader.state() == State::failed)
        ++s.client->stats.bad_responses;
    else
        return;
    settle(s);
}

void on_slot_timer(uv_timer_t *t);
void stop(Client &cl);

uint64_t since_begin_ms(Client &cl) { return uv_now(&cl.loop) - cl.t_begin; }

void count_connect_error(Client &cl) {
    ++cl.stats.connect_errors;
    if (cl.opt.mode == Mode::keepalive)
        cl.timeline.add(since_begin_ms(cl), Timeline::connect);
}

// Keepalive: the next request on the slot's connection, timed out by the slot's timer.
void send_request(Slot &s) {
    Client &cl = *s.client;
    s.reader = ResponseReader();
    s.in_flight = true;
    std::string request = get_request(cl, pick_path(cl));
    send_now(s, request.data(), request.size());
    uv_timer_start(&s.timer, on_slot_timer, cl.opt.timeout_ms, 0);
}

// Keepalive: the request on `s` ended as `o`. The connection carries the next one (after a gap,
// when set) if `reuse`; otherwise it is closed and the tick opens another.
void end_request(Slot &s, Timeline::Outcome o, bool reuse) {
    Client &cl = *s.client;
    s.in_flight = false;
    uv_timer_stop(&s.timer);
    cl.timeline.add(since_begin_ms(cl), o);
    if (o <= Timeline::status_other && ++cl.stats.responses == cl.opt.requests) {
        stop(cl);
        return;
    }
    if (!reuse) {
        drop(s, false);
        return;
    }
    if (cl.opt.waves) {
        s.waiting = true;
        return;
    }
    uint64_t gap = random_between(cl, cl.opt.gap_min_ms, cl.opt.gap_max_ms);
    if (gap == 0)
        send_request(s);
    else
        uv_timer_start(&s.timer, on_slot_timer, gap, 0);
}

// Keepalive --waves: every connection waiting for the wave sends its request; the next wave
// comes a random gap later.
void on_wave(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        Slot &s = cl.slots[i];
        if (s.waiting && !uv_is_closing(reinterpret_cast<uv_handle_t *>(&s.tcp))) {
            s.waiting = false;
            send_request(s);
        }
    }
    uv_timer_start(t, on_wave, random_between(cl, cl.opt.gap_min_ms, cl.opt.gap_max_ms), 0);
}

void on_keepalive_bytes(Slot &s, size_t n) {
    using State = ResponseReader::State;
    if (!s.in_flight) { // bytes nobody asked for
        end_request(s, Timeline::protocol, false);
        return;
    }
    s.reader.feed(read_buffer, n);
    if (s.reader.state() == State::complete)
        end_request(s, Timeline::of_status(s.reader.status()), !s.reader.closes_connection());
    else if (s.reader.state() == State::failed)
        end_request(s, Timeline::protocol, false);
}

// Keepalive: the server closed the connection (EOF) or it failed (`nread`, a libuv error).
void on_keepalive_end(Slot &s, ssize_t nread) {
    if (!s.in_flight) {
        drop(s, false); // between requests: the tick opens another
        return;
    }
    s.reader.eof();
    if (s.reader.state() == ResponseReader::State::complete)
        end_request(s, Timeline::of_status(s.reader.status()), false);
    else
        end_request(s, nread == UV_EOF ? Timeline::closed : Timeline::reset, false);
}

void on_slot_timer(uv_timer_t *t) {
    auto *s = static_cast<Slot *>(t->data);
    if (s->kind == Kind::keepalive) {
        if (s->in_flight)
            end_request(*s, Timeline::timeout, false);
        else
            send_request(*s); // the gap is over
        return;
    }
    if (s->kind == Kind::slowloris) {
        // Header bytes that never make a whole head: "X-a: b\r\n" repeated.
        static const char pattern[] = "X-a: b\r\n";
        send_now(*s, &pattern[s->slow_sent++ % (sizeof pattern - 1)], 1);
        return;
    }
    drop(*s, s->reset);
}

void alloc_read(uv_handle_t *, size_t, uv_buf_t *buf) {
    *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *) {
    auto *s = static_cast<Slot *>(stream->data);
    Client &cl = *s->client;
    if (nread == 0)
        return;
    if (nread > 0) {
        cl.stats.bytes_received += static_cast<uint64_t>(nread);
        s->received += static_cast<size_t>(nread);
        if (s->kind == Kind::get_abort && s->received >= s->stop_after)
            drop(*s, s->reset);
        else if (s->kind == Kind::idle)
            on_idle_bytes(*s, static_cast<size_t>(nread));
        else if (s->kind == Kind::keepalive)
            on_keepalive_bytes(*s, static_cast<size_t>(nread));
        return;
    }
    // EOF or an error: the server closed it first.
    ++cl.stats.closed_by_server;
    if (s->kind == Kind::keepalive) {
        on_keepalive_end(*s, nread);
        return;
    }
    settle(*s);
    if (s->kind == Kind::slowloris && s->t_first_byte != 0)
        cl.stats.close_after_s.push_back(static_cast<double>(uv_now(&cl.loop) - s->t_first_byte) /
                                         1e3);
    drop(*s, false);
}

// Connected: send this kind's bytes, watch for the server's close, arm the slot's timer.
void on_connect(uv_connect_t *req, int status) {
    auto *s = static_cast<Slot *>(req->data);
    Client &cl = *s->client;
    if (status != 0 || cl.stopping) {
        if (status != 0 && status != UV_ECANCELED)
            count_connect_error(cl);
        settle(*s);
        drop(*s, false);
        return;
    }
    s->connected = true;
    s->t_first_byte = uv_now(&cl.loop);
    uv_read_start(reinterpret_cast<uv_stream_t *>(&s->tcp), alloc_read, on_read);
    const std::string &path = pick_path(cl);
    switch (s->kind) {
    case Kind::slowloris: {
        std::string line = "GET " + path + " HTTP/1.1\r\n";
        send_now(*s, line.data(), line.size());
        uint64_t every = cl.opt.interval_ms;
        uv_timer_start(&s->timer, on_slot_timer, random_between(cl, 1, every), every);
        break;
    }
    case Kind::get_abort: {
        std::string request = get_request(cl, path);
        send_now(*s, request.data(), request.size());
        s->stop_after = random_between(cl, 1, kMaxAbortBytes);
        s->reset = cl.stats.get_aborts++ % 2 == 0;
        uv_timer_start(&s->timer, on_slot_timer, random_between(cl, 50, cl.opt.max_abort_ms), 0);
        break;
    }
    case Kind::half_head: {
        std::string request = get_request(cl, path);
        send_now(*s, request.data(), request.size() / 2);
        ++cl.stats.half_heads;
        uv_timer_start(&s->timer, on_slot_timer, random_between(cl, 0, kMaxHalfRequestMs), 0);
        break;
    }
    case Kind::half_body:
        send_now(*s, cl.post_head.data(), cl.post_head.size());
        send_now(*s, cl.body.data(), cl.body.size());
        ++cl.stats.half_bodies;
        uv_timer_start(&s->timer, on_slot_timer, random_between(cl, 0, kMaxHalfRequestMs), 0);
        break;
    case Kind::idle: {
        std::string request = get_request(cl, path);
        send_now(*s, request.data(), request.size());
        break;
    }
    case Kind::keepalive:
        send_request(*s);
        break;
    }
}

void start_conn(Client &cl, Slot &s) {
    s.busy = true;
    s.connected = s.reset = false;
    s.received = s.stop_after = s.slow_sent = 0;
    s.t_first_byte = 0;
    s.settled = s.in_flight = s.waiting = false;
    s.reader = ResponseReader();
    if (cl.opt.mode == Mode::slowloris) {
        s.kind = Kind::slowloris;
    } else if (cl.opt.mode == Mode::idle) {
        s.kind = Kind::idle;
    } else if (cl.opt.mode == Mode::keepalive) {
        s.kind = Kind::keepalive;
    } else {
        static const Kind rotation[] = {Kind::get_abort, Kind::half_head, Kind::get_abort,
                                        Kind::half_body};
        s.kind = rotation[cl.next_kind++ % std::size(rotation)];
    }
    ++cl.started;
    ++cl.stats.connections;
    if (uv_tcp_init_ex(&cl.loop, &s.tcp, AF_INET) != 0) { // out of descriptors
        count_connect_error(cl);
        s.busy = false;
        settle(s);
        return;
    }
    s.tcp.data = &s;
    s.connect_req.data = &s;
    int size = kRecvBuffer;
    uv_recv_buffer_size(reinterpret_cast<uv_handle_t *>(&s.tcp), &size);
    int rc = uv_tcp_connect(&s.connect_req, &s.tcp, reinterpret_cast<const sockaddr *>(&cl.addr),
                            on_connect);
    if (rc != 0) {
        count_connect_error(cl);
        settle(s);
        uv_close(reinterpret_cast<uv_handle_t *>(&s.tcp), on_tcp_closed);
    }
}

// Fills free slots, within the rate budget since the start (idle: each slot once).
void on_tick(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    double elapsed = static_cast<double>(uv_now(&cl.loop) - cl.t_begin) / 1e3;
    auto budget = static_cast<uint64_t>(std::ceil(cl.opt.rate * elapsed));
    if (cl.opt.mode == Mode::idle)
        budget = std::min<uint64_t>(budget, cl.opt.connections);
    for (uint32_t i = 0; i < cl.opt.connections && cl.started < budget; ++i)
        if (!cl.slots[i].busy)
            start_conn(cl, cl.slots[i]);
}

void stop(Client &cl) {
    if (cl.stopping)
        return;
    cl.stopping = true;
    cl.stats.wall_ms = since_begin_ms(cl);
    close_timers({&cl.tick, &cl.deadline, &cl.wave});
    cl.signals.close();
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        Slot &s = cl.slots[i];
        cl.stats.cut_off +=
            s.in_flight ? 1 : 0; // requests the end cut off: neither answer nor error
        if (s.busy)
            drop(s, false);
        uv_close(reinterpret_cast<uv_handle_t *>(&s.timer), nullptr);
    }
}

void on_deadline(uv_timer_t *t) { stop(*static_cast<Client *>(t->data)); }
void on_signal(uv_signal_t *s, int) { stop(*static_cast<Client *>(s->data)); }

// Reads the options into `opt`. Empty: go on; otherwise the exit status now.
std::optional<int> parse_args(int argc, char **argv, Options &opt) {
    CommandLine cli("hostile_client", kUsage);
    cli.string("host", opt.host);
    cli.whole_number("port", 1, 65535, opt.port);
    cli.text("mode", [&opt](const char *mode) {
        for (size_t i = 0; i < std::size(kModeNames); ++i) {
            if (strcmp(mode, kModeNames[i]) == 0) {
                opt.mode = static_cast<Mode>(i);
                opt.mode_set = true;
                return true;
            }
        }
        return false;
    });
    cli.target("path", [&opt](const char *path) { opt.paths.emplace_back(path); });
    cli.whole_number("connections", 1, 1e5, opt.connections, 'n');
    cli.number("rate", 0.1, 1e6, opt.rate);
    cli.number("duration-sec", 0.1, 86400, opt.duration_sec);
    cli.number("interval-ms", 1, 3600000, opt.interval_ms);
    cli.number("max-abort-ms", 50, 3600000, opt.max_abort_ms);
    cli.whole_number("requests", 0, 1e12, opt.requests);
    cli.whole_number("gap-min-ms", 0, 3600000, opt.gap_min_ms);
    cli.whole_number("gap-max-ms", 0, 3600000, opt.gap_max_ms);
    cli.flag("waves", opt.waves);
    cli.whole_number("timeout-ms", 1, 3600000, opt.timeout_ms);
    cli.string("timeline", opt.timeline);
    cli.whole_number("bucket-ms", 1, 3600000, opt.bucket_ms);
    if (std::optional<int> status = cli.parse(argc, argv))
        return status;
    if (opt.port == 0 || !opt.mode_set)
        return cli.bad("--port and --mode (both required)");
    if (opt.gap_max_ms == UINT64_MAX)
        opt.gap_max_ms = opt.gap_min_ms;
    if (opt.gap_max_ms < opt.gap_min_ms)
        return cli.bad("--gap-max-ms (less than --gap-min-ms)");
    if (opt.waves && opt.gap_max_ms == 0)
        return cli.bad("--waves (without a gap)");
    if (opt.paths.empty())
        opt.paths.emplace_back("/");
    return std::nullopt;
}

void print_report(const Client &cl) {
    const Stats &st = cl.stats;
    const char *m = kModeNames[static_cast<int>(cl.opt.mode)];
    printf("%s.connections %llu\n%s.connect_errors %llu\n%s.closed_by_server %llu\n"
           "%s.bytes_sent %llu\n%s.bytes_received %llu\n",
           m, static_cast<unsigned long long>(st.connections), m,
           static_cast<unsigned long long>(st.connect_errors), m,
           static_cast<unsigned long long>(st.closed_by_server), m,
           static_cast<unsigned long long>(st.bytes_sent), m,
           static_cast<unsigned long long>(st.bytes_received));
    if (cl.opt.mode == Mode::abort) {
        printf("abort.get_aborts %llu\nabort.resets %llu\nabort.half_heads %llu\n"
               "abort.half_bodies %llu\n",
               static_cast<unsigned long long>(st.get_aborts),
               static_cast<unsigned long long>(st.resets),
               static_cast<unsigned long long>(st.half_heads),
               static_cast<unsigned long long>(st.half_bodies));
        return;
    }
    if (cl.opt.mode == Mode::keepalive) {
        std::vector<std::pair<const char *, uint64_t>> counts = {
            {"responses", st.responses},
            {"cut_off", st.cut_off},
            {"start_unix_ms", st.start_unix_ms}};
        for (int o = 0; o < Timeline::outcomes; ++o)
            counts.emplace_back(Timeline::kNames[o],
                                cl.timeline.total(static_cast<Timeline::Outcome>(o)));
        for (const auto &[key, n] : counts)
            printf("keepalive.%s %llu\n", key, static_cast<unsigned long long>(n));
        printf("keepalive.wall_s %.3f\n", static_cast<double>(st.wall_ms) / 1e3);
        return;
    }
    if (cl.opt.mode == Mode::idle) {
        printf("idle.responses %llu\nidle.bad_responses %llu\nidle.settled %llu\n",
               static_cast<unsigned long long>(st.responses),
               static_cast<unsigned long long>(st.bad_responses),
               static_cast<unsigned long long>(st.settled));
        return;
    }
    std::vector<double> v = st.close_after_s;
    std::sort(v.begin(), v.end());
    if (!v.empty())
        printf("slowloris.close_after_s_min %.3f\nslowloris.close_after_s_median %.3f\n"
               "slowloris.close_after_s_max %.3f\n",
               v.front(), v[v.size() / 2], v.back());
}

} // namespace

int main(int argc, char **argv) {
    auto cl = std::make_unique<Client>();
    if (std::optional<int> status = parse_args(argc, argv, cl->opt))
        return *status;
    const Options &o = cl->opt;
    // Loopback only: this tool misbehaves on purpose, and must never aim at another machine.
    if (uv_ip4_addr(o.host.c_str(), o.port, &cl->addr) != 0 ||
        (ntohl(cl->addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "hostile_client: --host must be a numeric address in 127.0.0.0/8\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cl->post_head = "POST " + o.paths.front() + " HTTP/1.1\r\nHost: " + o.host + ":" +
                    std::to_string(o.port) +
                    "\r\nContent-Length: " + std::to_string(2 * kHalfBody) + "\r\n\r\n";
    cl->body.assign(kHalfBody, 'x');
    cl->slots = std::make_unique<Slot[]>(o.connections);

    uv_loop_init(&cl->loop);
    for (uint32_t i = 0; i < o.connections; ++i) {
        Slot &s = cl->slots[i];
        s.client = cl.get();
        uv_timer_init(&cl->loop, &s.timer);
        s.timer.data = &s;
    }
    init_timers(&cl->loop, {&cl->tick, &cl->deadline, &cl->wave}, cl.get());
    cl->signals.start(&cl->loop, cl.get(), on_signal);
    cl->timeline = Timeline(o.bucket_ms);
    uv_update_time(&cl->loop);
    cl->t_begin = uv_now(&cl->loop);
    uv_timeval64_t now{};
    uv_gettimeofday(&now);
    cl->stats.start_unix_ms =
        static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_usec) / 1000;
    uv_timer_start(&cl->tick, on_tick, 0, kTickMs);
    uv_timer_start(&cl->deadline, on_deadline, static_cast<uint64_t>(o.duration_sec * 1000), 0);
    if (o.mode == Mode::keepalive && o.waves)
        uv_timer_start(&cl->wave, on_wave, o.gap_max_ms, 0);
    run_to_end(&cl->loop, "hostile_client");
    print_report(*cl);
    if (!o.timeline.empty()) {
        std::ofstream out(o.timeline);
        out << cl->timeline.tsv();
        if (!out.flush()) {
            fprintf(stderr, "hostile_client: cannot write %s\n", o.timeline.c_str());
            return 1;
        }
    }
    return 0;
}
