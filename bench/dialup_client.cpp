// dialup_client: the load client of the dialup benchmark (see bench/README.md).
//
// Opens N connections to a loopback HTTP server, ramped so the listen backlog is never
// overrun; each sends one `GET <path> HTTP/1.1` with `Connection: close` and reads the whole
// response. Every connection is timed on its own (request sent, first body byte, last body
// byte), so a paced server's per-connection rate can be checked against the nominal rate.
//
// Arrival times come from the kernel (SO_TIMESTAMPNS: the time the last segment of a read
// reached the socket), not from when the loop got round to reading. Client and server share
// the machine's cores, and at 10,000 connections the loop can run a batch of reads late by a
// hundred milliseconds or more, which would be a few percent of a 5 s transfer; the kernel's
// stamp does not move with that lag. That is why the sockets are our own (recvmsg with control
// data, watched by uv_poll_t) rather than uv_tcp_t, whose reads carry no timestamps.
// One thread, one loop: the report prints the client's CPU time and loop lag, so a reader can
// see whether the client kept up.
//
// Load goes to 127.0.0.0/8 or ::1 only, and every run is bounded in time.
//
// This file: arguments and environment, the run, main. Connection life is dialup_conn.cpp, the
// report dialup_report.cpp; dialup_client.hpp holds what they share.
#include "dialup_client.hpp"
#include "cli.hpp"
#include "client_loop.hpp"
#include "dialup_report.hpp"
#include "read_pace.hpp"

#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>

namespace dialtone::bench::dialup {

namespace {

const char kUsage[] =
    "usage: dialup_client --port PORT [options]\n"
    "\n"
    "  --host ADDR           numeric loopback address: 127.0.0.0/8 or ::1 (default 127.0.0.1)\n"
    "  --port PORT           server port (required)\n"
    "  --path PATH           request target (default /dialup/file.bin)\n"
    "  -n, --connections N   concurrent connections, one request each (default 1000)\n"
    "  --ramp-per-sec R      connections opened per second (default 10000: 100 every 10 ms)\n"
    "  --max-connecting M    at most M connects in flight while ramping (default 1000)\n"
    "  --timeout-sec T       per connection, from its connect to its last byte (default 60);\n"
    "                        the whole run ends by N/R + T + 2 seconds whatever happens\n"
    "  --expect-rate B       nominal rate in bytes/s, for the on-rate report (default: none)\n"
    "  --tolerance PCT       on-rate band around the nominal rate, percent (default 2)\n"
    "  --read-batch BYTES    after the first body read, wake for a socket only once BYTES are\n"
    "                        queued (SO_RCVLOWAT); 0 = on every arrival (default: a quarter\n"
    "                        second at --expect-rate, else 0)\n"
    "  --source-addrs K      spread connections over source addresses 127.0.0.1..K (IPv4;\n"
    "                        default: one per 4000 connections)\n"
    "  --read-rate B         paced reader: each connection reads at most B bytes/s of the\n"
    "                        response (a slow client; the server must hold what it has not\n"
    "                        taken); default: read what arrives at once\n"
    "  --rcvbuf BYTES        SO_RCVBUF of each socket, set before connect (default: kernel's)\n"
    "  --mss BYTES           TCP_MAXSEG before connect: the MSS the client announces, e.g. 1460\n"
    "                        as over Ethernet (default: the route's; 65,483 on loopback)\n"
    "  --json                print the report as one JSON object\n"
    "  --rates-file FILE     write each completed connection's rate from first byte and rate\n"
    "                        from request (B/s; - where undefined), one line each, for plots\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 when every connection completed, 1 when any failed, 2 on a usage error.\n";

constexpr uint64_t kRampTickMs = 10;
constexpr uint64_t kSweepMs = 100;
constexpr uint64_t kLagProbeMs = 50;
constexpr int kReservedDescriptors = 64; // the loop's own descriptors, stdio, slack
constexpr uint32_t kConnectionsPerSource = 4000;

// --- arguments and environment ---------------------------------------------------------------

// Loopback only: this tool generates load, and must never aim it at another machine.
bool resolve_loopback(const std::string &host, int port, sockaddr_storage &out, socklen_t &out_len,
                      std::string &why) {
    std::string h = host == "localhost" ? "127.0.0.1" : host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']')
        h = h.substr(1, h.size() - 2);
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (uv_ip4_addr(h.c_str(), port, &v4) == 0) {
        if ((ntohl(v4.sin_addr.s_addr) >> 24) != 127) {
            why = "refusing " + host + ": only loopback addresses (127.0.0.0/8, ::1) are allowed";
            return false;
        }
        memcpy(&out, &v4, sizeof v4);
        out_len = sizeof v4;
        return true;
    }
    if (uv_ip6_addr(h.c_str(), port, &v6) == 0) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr)) {
            why = "refusing " + host + ": only loopback addresses (127.0.0.0/8, ::1) are allowed";
            return false;
        }
        memcpy(&out, &v6, sizeof v6);
        out_len = sizeof v6;
        return true;
    }
    why = "--host must be a numeric loopback address (127.0.0.0/8 or ::1), not " + host;
    return false;
}

// Each connection is a descriptor: take what the hard limit allows, then check N fits.
bool raise_open_files_limit(uint32_t connections, std::string &why) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        why = std::string("getrlimit: ") + strerror(errno);
        return false;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            why = std::string("setrlimit: ") + strerror(errno);
            return false;
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY &&
        static_cast<uint64_t>(connections) + kReservedDescriptors > rl.rlim_cur) {
        why = "the open-files limit is " + std::to_string(rl.rlim_cur) + ": at most " +
              std::to_string(rl.rlim_cur - kReservedDescriptors) +
              " connections (raise the hard limit: ulimit -Hn)";
        return false;
    }
    return true;
}

// Reads the options into `opt`. Empty: go on; otherwise the exit status now.
std::optional<int> parse_args(int argc, char **argv, Options &opt) {
    CommandLine cli("dialup_client", kUsage);
    cli.string("host", opt.host);
    cli.whole_number("port", 1, 65535, opt.port);
    cli.target("path", [&opt](const char *path) { opt.path = path; });
    cli.whole_number("connections", 1, 1e6, opt.connections, 'n');
    cli.number("ramp-per-sec", 1, 1e7, opt.ramp_per_sec);
    cli.number("max-connecting", 1, 1e6, opt.max_connecting);
    cli.number("timeout-sec", 0.1, 86400, opt.timeout_sec);
    cli.number("expect-rate", 1, 1e12, opt.expect_rate);
    cli.number("tolerance", 0, 100, opt.tolerance_pct);
    cli.whole_number("read-batch", 0, 1 << 20, opt.read_batch);
    cli.whole_number("source-addrs", 1, 254, opt.source_addrs);
    cli.number("read-rate", 1, 1e12, opt.read_rate);
    cli.whole_number("rcvbuf", 1024, 64 << 20, opt.rcvbuf);
    cli.whole_number("mss", 88, 65535, opt.mss);
    cli.flag("json", opt.json);
    cli.string("rates-file", opt.rates_file);
    if (std::optional<int> status = cli.parse(argc, argv))
        return status;
    if (opt.port == 0)
        return cli.bad("--port (required)");
    if (opt.read_batch < 0) // a quarter second at the nominal rate, within [1 byte, 64 KiB]
        opt.read_batch =
            opt.expect_rate > 0
                ? std::clamp<int64_t>(static_cast<int64_t>(opt.expect_rate / 4), 1, 64 * 1024)
                : 0;
    return std::nullopt;
}

// --- the run ---------------------------------------------------------------------------------

void close_control_handles(Client &cl) {
    if (cl.control_closed)
        return;
    cl.control_closed = true;
    close_timers(
        {&cl.ramp_timer, &cl.sweep_timer, &cl.lag_timer, &cl.deadline_timer, &cl.pace_timer});
    cl.signals.close();
}

} // namespace

void maybe_finish_run(Client &cl) {
    if (cl.finished == cl.opt.connections && cl.open_handles == 0) {
        if (cl.t_end == 0)
            cl.t_end = now_ns();
        close_control_handles(cl);
    }
}

namespace {

// Fails every connection that has not completed: started ones as timeouts, unstarted ones too
// (they could not start within the run's bound).
void stop_all(Client &cl) {
    if (cl.stopping)
        return;
    cl.stopping = true;
    uv_timer_stop(&cl.ramp_timer);
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        Conn &c = cl.conns[i];
        if (c.phase == Phase::idle)
            c.client = &cl;
        if (c.phase != Phase::finished)
            end_conn(c, Failure::timeout);
    }
    maybe_finish_run(cl);
}

void on_ramp(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    double elapsed = seconds(now_ns() - cl.t_begin) + kRampTickMs / 1000.0;
    uint64_t target = std::min<uint64_t>(
        cl.opt.connections, static_cast<uint64_t>(std::ceil(cl.opt.ramp_per_sec * elapsed)));
    while (cl.started < target && cl.connecting < cl.opt.max_connecting)
        start_conn(cl, cl.conns[cl.started++]);
    if (cl.started == cl.opt.connections) {
        cl.t_ramp_done = now_ns();
        uv_timer_stop(&cl.ramp_timer);
    }
}

void on_sweep(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    uint64_t now = now_ns();
    auto limit = static_cast<uint64_t>(cl.opt.timeout_sec * 1e9);
    for (uint32_t i = 0; i < cl.started; ++i) {
        Conn &c = cl.conns[i];
        if (c.phase != Phase::finished && now - c.t_start > limit)
            end_conn(c, Failure::timeout);
    }
}

// Measures how late the loop runs a 50 ms timer. A late loop notices connects and completions
// late and holds data in socket buffers longer; the rates do not move (kernel timestamps), but a
// loop lagging by seconds would mean the client, not the server, was the limit.
void on_lag_probe(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    uint64_t now = now_ns();
    if (cl.lag_expected != 0 && now > cl.lag_expected)
        cl.lag_ms.push_back(static_cast<double>(now - cl.lag_expected) / 1e6);
    cl.lag_expected = now + kLagProbeMs * 1000000;
}

void on_pace(uv_timer_t *t) { resume_paced(*static_cast<Client *>(t->data)); }

void on_deadline(uv_timer_t *t) {
    Client &cl = *static_cast<Client *>(t->data);
    cl.deadline_hit = true;
    stop_all(cl);
}

void on_signal(uv_signal_t *s, int) {
    Client &cl = *static_cast<Client *>(s->data);
    cl.interrupted = true;
    stop_all(cl);
}

} // namespace

} // namespace dialtone::bench::dialup

int main(int argc, char **argv) {
    using namespace dialtone::bench;
    using namespace dialtone::bench::dialup;
    auto cl = std::make_unique<Client>();
    if (std::optional<int> status = parse_args(argc, argv, cl->opt))
        return *status;
    const Options &o = cl->opt;
    std::string why;
    if (!resolve_loopback(o.host, o.port, cl->addr, cl->addr_len, why) ||
        !raise_open_files_limit(o.connections, why)) {
        fprintf(stderr, "dialup_client: %s\n", why.c_str());
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    std::string host_header = cl->addr.ss_family == AF_INET6 ? "[::1]" : o.host;
    cl->request = "GET " + o.path + " HTTP/1.1\r\nHost: " + host_header + ":" +
                  std::to_string(o.port) +
                  "\r\nUser-Agent: dialup_client\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    // Linux picks a connect's local port by scanning the ephemeral range (even ports first) for
    // one whose 4-tuple is free; past ~14,000 connections from one address to one server each
    // connect scans thousands of ports, and the loop stalls for seconds. Each source address
    // has the whole range to itself.
    if (cl->addr.ss_family == AF_INET) {
        int k = o.source_addrs > 0 ? o.source_addrs
                                   : static_cast<int>((o.connections + kConnectionsPerSource - 1) /
                                                      kConnectionsPerSource);
        for (int i = 0; k > 1 && i < k; ++i) {
            sockaddr_in from{};
            from.sin_family = AF_INET;
            from.sin_addr.s_addr = htonl(0x7f000001u + static_cast<uint32_t>(i));
            cl->sources.push_back(from);
        }
    }
    cl->conns = std::make_unique<Conn[]>(o.connections);
    cl->read_buffer = std::make_unique<char[]>(kReadBufferSize);
    cl->lag_ms.reserve(4096);

    uv_loop_init(&cl->loop);
    init_timers(
        &cl->loop,
        {&cl->ramp_timer, &cl->sweep_timer, &cl->lag_timer, &cl->deadline_timer, &cl->pace_timer},
        cl.get());
    cl->signals.start(&cl->loop, cl.get(), on_signal);

    // The run's hard bound: the nominal ramp, one connection timeout, and slack.
    double bound_s = o.connections / o.ramp_per_sec + o.timeout_sec + 2;
    cl->t_begin = now_ns();
    uv_timer_start(&cl->ramp_timer, on_ramp, 0, kRampTickMs);
    uv_timer_start(&cl->sweep_timer, on_sweep, kSweepMs, kSweepMs);
    uv_timer_start(&cl->lag_timer, on_lag_probe, kLagProbeMs, kLagProbeMs);
    uv_timer_start(&cl->deadline_timer, on_deadline, static_cast<uint64_t>(bound_s * 1000), 0);
    if (o.read_rate > 0)
        uv_timer_start(&cl->pace_timer, on_pace, kPaceTickMs, kPaceTickMs);
    run_to_end(&cl->loop, "dialup_client");

    Report r = build_report(*cl);
    if (!o.rates_file.empty() && !write_rates(*cl, o.rates_file))
        fprintf(stderr, "dialup_client: cannot write %s: %s\n", o.rates_file.c_str(),
                strerror(errno));
    if (o.json)
        print_json(*cl, r);
    else
        print_text(*cl, r);
    return r.completed == o.connections ? 0 : 1;
}
