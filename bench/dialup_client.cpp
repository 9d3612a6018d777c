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
#include "cli.hpp"
#include "http_response.hpp"
#include "rates.hpp"

#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <getopt.h>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using dialtone::bench::ResponseReader;
using dialtone::bench::Summary;
using dialtone::bench::Transfer;

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
    "  --json                print the report as one JSON object\n"
    "  --rates-file FILE     write each completed connection's rate from first byte and rate\n"
    "                        from request (B/s; - where undefined), one line each, for plots\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 when every connection completed, 1 when any failed, 2 on a usage error.\n";

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr uint64_t kRampTickMs = 10;
constexpr uint64_t kSweepMs = 100;
constexpr uint64_t kLagProbeMs = 50;
constexpr int kReservedDescriptors = 64; // the loop's own descriptors, stdio, slack
constexpr uint32_t kConnectionsPerSource = 4000;

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path = "/dialup/file.bin";
    uint32_t connections = 1000;
    double ramp_per_sec = 10000;
    uint32_t max_connecting = 1000;
    double timeout_sec = 60;
    double expect_rate = 0;
    double tolerance_pct = 2;
    int64_t read_batch = -1; // SO_RCVLOWAT after the first body read; -1: from expect_rate
    int source_addrs = 0;    // IPv4 source addresses to spread connections over; 0: by N
    bool json = false;
    std::string rates_file;
};

// Error kinds, in report order. Every connection ends either complete or with exactly one.
enum class Failure { none, connect, reset, timeout, bad_status, short_body, protocol, count };
const char *const kFailureNames[] = {"none",       "connect",    "reset",   "timeout",
                                     "bad_status", "short_body", "protocol"};

enum class Phase { idle, connecting, reading, finished };

struct Client;

// One connection and its measurements. t_start/t_connected are uv_hrtime() (monotonic) for the
// connect phase and the timeout; the transfer's times are CLOCK_REALTIME nanoseconds, the clock
// of the kernel's receive timestamps. 0 = not reached.
struct Conn {
    uv_poll_t poll;
    int fd = -1;
    Client *client = nullptr;

    Phase phase = Phase::idle;
    Failure failure = Failure::none;
    bool handle_open = false;
    int status = 0;
    uint32_t request_sent = 0; // bytes of the request written so far
    int rcvlowat = 1;          // the socket's SO_RCVLOWAT

    uint64_t t_start = 0;     // connect called
    uint64_t t_connected = 0; // connect completed
    Transfer transfer;        // request, first and last body arrival, byte counts
    ResponseReader reader;
};

struct Client {
    Options opt;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::vector<sockaddr_in> sources; // empty: the kernel picks the source address
    std::string request;
    uv_loop_t loop{};
    uv_timer_t ramp_timer{}, sweep_timer{}, lag_timer{}, deadline_timer{};
    uv_signal_t sigint{}, sigterm{};
    std::unique_ptr<Conn[]> conns;
    std::unique_ptr<char[]> read_buffer; // shared: a read is consumed before the next one

    uint64_t t_begin = 0, t_ramp_done = 0, t_end = 0;
    uint32_t started = 0, connecting = 0, open_handles = 0, finished = 0;
    bool stopping = false, interrupted = false, deadline_hit = false, control_closed = false;
    uint64_t reads = 0, reads_unstamped = 0; // reads without a kernel timestamp used "now"
    uint64_t lag_expected = 0;
    std::vector<double> lag_ms;
    std::map<int, uint32_t> bad_statuses;
    std::map<std::string, uint32_t> sys_errors; // "kind: errno name" → count
};

uint64_t now_ns() { return uv_hrtime(); }
double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// --- arguments and environment ---------------------------------------------------------------

using dialtone::bench::parse_number;

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

int parse_args(int argc, char **argv, Options &opt) {
    enum {
        o_host = 256,
        o_port,
        o_path,
        o_ramp,
        o_maxc,
        o_timeout,
        o_rate,
        o_tol,
        o_batch,
        o_sources,
        o_json,
        o_rates_file
    };
    static const option longopts[] = {
        {"host", required_argument, nullptr, o_host},
        {"port", required_argument, nullptr, o_port},
        {"path", required_argument, nullptr, o_path},
        {"connections", required_argument, nullptr, 'n'},
        {"ramp-per-sec", required_argument, nullptr, o_ramp},
        {"max-connecting", required_argument, nullptr, o_maxc},
        {"timeout-sec", required_argument, nullptr, o_timeout},
        {"expect-rate", required_argument, nullptr, o_rate},
        {"tolerance", required_argument, nullptr, o_tol},
        {"read-batch", required_argument, nullptr, o_batch},
        {"source-addrs", required_argument, nullptr, o_sources},
        {"json", no_argument, nullptr, o_json},
        {"rates-file", required_argument, nullptr, o_rates_file},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    double v = 0;
    auto bad = [](const char *what) {
        fprintf(stderr, "dialup_client: bad %s\n%s", what, kUsage);
        return 2;
    };
    while ((c = getopt_long(argc, argv, "n:h", longopts, nullptr)) != -1) {
        switch (c) {
        case o_host:
            opt.host = optarg;
            break;
        case o_port:
            if (!parse_number(optarg, 1, 65535, v) || v != std::floor(v))
                return bad("--port");
            opt.port = static_cast<int>(v);
            break;
        case o_path:
            opt.path = optarg;
            if (opt.path.empty() || opt.path[0] != '/' ||
                opt.path.find_first_of(" \r\n") != std::string::npos)
                return bad("--path (an origin-form target: /...)");
            break;
        case 'n':
            if (!parse_number(optarg, 1, 1e6, v) || v != std::floor(v))
                return bad("--connections");
            opt.connections = static_cast<uint32_t>(v);
            break;
        case o_ramp:
            if (!parse_number(optarg, 1, 1e7, v))
                return bad("--ramp-per-sec");
            opt.ramp_per_sec = v;
            break;
        case o_maxc:
            if (!parse_number(optarg, 1, 1e6, v))
                return bad("--max-connecting");
            opt.max_connecting = static_cast<uint32_t>(v);
            break;
        case o_timeout:
            if (!parse_number(optarg, 0.1, 86400, v))
                return bad("--timeout-sec");
            opt.timeout_sec = v;
            break;
        case o_rate:
            if (!parse_number(optarg, 1, 1e12, v))
                return bad("--expect-rate");
            opt.expect_rate = v;
            break;
        case o_tol:
            if (!parse_number(optarg, 0, 100, v))
                return bad("--tolerance");
            opt.tolerance_pct = v;
            break;
        case o_batch:
            if (!parse_number(optarg, 0, 1 << 20, v) || v != std::floor(v))
                return bad("--read-batch");
            opt.read_batch = static_cast<int64_t>(v);
            break;
        case o_sources:
            if (!parse_number(optarg, 1, 254, v) || v != std::floor(v))
                return bad("--source-addrs");
            opt.source_addrs = static_cast<int>(v);
            break;
        case o_json:
            opt.json = true;
            break;
        case o_rates_file:
            opt.rates_file = optarg;
            break;
        case 'h':
            fputs(kUsage, stdout);
            return 1;
        default:
            fputs(kUsage, stderr);
            return 2;
        }
    }
    if (optind != argc)
        return bad("argument");
    if (opt.port == 0)
        return bad("--port (required)");
    if (opt.read_batch < 0) // a quarter second at the nominal rate, within [1 byte, 64 KiB]
        opt.read_batch =
            opt.expect_rate > 0
                ? std::clamp<int64_t>(static_cast<int64_t>(opt.expect_rate / 4), 1, 64 * 1024)
                : 0;
    return 0;
}

// --- connection life -------------------------------------------------------------------------

void maybe_finish_run(Client &cl);

// The descriptor is closed only after libuv has stopped watching it.
void on_conn_closed(uv_handle_t *h) {
    auto *c = static_cast<Conn *>(h->data);
    close(c->fd);
    c->fd = -1;
    c->handle_open = false;
    --c->client->open_handles;
    maybe_finish_run(*c->client);
}

// Ends a connection, complete (failure none) or failed; the first verdict stands.
// sys_errno: the errno behind the failure, 0 if none.
void end_conn(Conn &c, Failure failure, int sys_errno = 0) {
    if (c.phase == Phase::finished)
        return;
    Client &cl = *c.client;
    if (c.phase == Phase::connecting)
        --cl.connecting;
    c.phase = Phase::finished;
    c.failure = failure;
    ++cl.finished;
    if (failure == Failure::bad_status)
        ++cl.bad_statuses[c.status];
    if (sys_errno != 0)
        ++cl.sys_errors[std::string(kFailureNames[static_cast<int>(failure)]) + ": " +
                        uv_err_name(uv_translate_sys_error(sys_errno))];
    c.reader = ResponseReader(); // releases a partly read head
    if (c.handle_open) {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(&c.poll)))
            uv_close(reinterpret_cast<uv_handle_t *>(&c.poll), on_conn_closed);
    } else if (c.fd >= 0) {
        close(c.fd);
        c.fd = -1;
    }
    maybe_finish_run(cl);
}

// Handles one read's bytes, which arrived at `arrival` (realtime ns).
void on_bytes(Conn &c, const char *p, size_t n, uint64_t arrival) {
    uint64_t body = c.reader.feed(p, n);
    int status = c.reader.status();
    if (status != 0 && status != 200) {
        c.status = status;
        end_conn(c, Failure::bad_status);
        return;
    }
    if (c.reader.state() == ResponseReader::State::failed) {
        end_conn(c, Failure::protocol);
        return;
    }
    Transfer &t = c.transfer;
    if (body > 0) {
        if (t.t_first == 0)
            t.t_first = arrival;
        if (t.t_first == arrival)
            t.first_read_bytes += body;
        t.t_last = arrival;
        t.body_bytes += body;
    }
    if (c.reader.state() == ResponseReader::State::complete)
        end_conn(c, Failure::none);
}

// The peer closed the connection.
void on_eof(Conn &c) {
    c.reader.eof();
    int status = c.reader.status();
    if (c.reader.state() == ResponseReader::State::complete && status == 200) {
        end_conn(c, Failure::none);
    } else if (status != 0 && status != 200) {
        c.status = status;
        end_conn(c, Failure::bad_status);
    } else {
        end_conn(c, Failure::short_body);
    }
}

// After the first body read, asks the kernel to wake us only once `read_batch` bytes are queued
// (or at EOF, or for the last bytes of a known length). Slices of a paced response then arrive
// several to a read: far fewer wakeups and reads, and since each read is stamped with its last
// segment's arrival, the first-byte interval and the last byte's time are unchanged. The first
// read is not batched, so a server's opening burst still shows as the first read's size.
void batch_reads(Conn &c) {
    int want = static_cast<int>(c.client->opt.read_batch);
    if (c.transfer.t_first == 0 || want <= 1)
        return;
    if (uint64_t due = c.reader.known_remaining(); due < static_cast<uint64_t>(want))
        want = std::max(1, static_cast<int>(due));
    if (want == c.rcvlowat)
        return;
    if (setsockopt(c.fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want) == 0)
        c.rcvlowat = want;
}

// Reads what the socket holds, each read with the kernel's arrival time of its last segment.
void read_available(Conn &c) {
    Client &cl = *c.client;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) * 2];
    for (int i = 0; i < 16 && c.phase != Phase::finished; ++i) {
        iovec iov{cl.read_buffer.get(), kReadBufferSize};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(c.fd, &msg, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                end_conn(c, Failure::reset, errno);
            return;
        }
        if (n == 0) {
            on_eof(c);
            return;
        }
        uint64_t arrival = 0;
        for (cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                arrival = static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
                          static_cast<uint64_t>(ts.tv_nsec);
            }
        }
        ++cl.reads;
        if (arrival == 0) {
            ++cl.reads_unstamped;
            arrival = realtime_ns();
        }
        on_bytes(c, cl.read_buffer.get(), static_cast<size_t>(n), arrival);
        if (c.phase != Phase::finished)
            batch_reads(c);
        if (static_cast<size_t>(n) < kReadBufferSize)
            return; // drained
    }
}

void on_poll(uv_poll_t *h, int status, int events);

// Writes (the rest of) the request; then the connection only waits to read.
void send_request(Conn &c) {
    Client &cl = *c.client;
    if (c.request_sent == 0)
        c.transfer.t_request = realtime_ns();
    while (c.request_sent < cl.request.size()) {
        ssize_t n = send(c.fd, cl.request.data() + c.request_sent,
                         cl.request.size() - c.request_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return; // still watching writable
            end_conn(c, Failure::reset, errno);
            return;
        }
        c.request_sent += static_cast<uint32_t>(n);
    }
    int rc = uv_poll_start(&c.poll, UV_READABLE, on_poll);
    if (rc != 0)
        end_conn(c, Failure::reset, -rc);
}

void on_poll(uv_poll_t *h, int status, int events) {
    auto *c = static_cast<Conn *>(h->data);
    if (c->phase == Phase::finished)
        return;
    if (status < 0) {
        // libuv reports a socket error (EPOLLERR) as UV_EBADF; the socket knows the real one.
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
            err = -status;
        end_conn(*c, c->phase == Phase::connecting ? Failure::connect : Failure::reset, err);
        return;
    }
    if (c->phase == Phase::connecting) {
        if (!(events & UV_WRITABLE))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            end_conn(*c, Failure::connect, err);
            return;
        }
        --c->client->connecting;
        c->t_connected = now_ns();
        c->phase = Phase::reading;
    }
    if (c->request_sent < c->client->request.size()) {
        send_request(*c);
        return;
    }
    if (events & UV_READABLE)
        read_available(*c);
}

void start_conn(Client &cl, Conn &c) {
    c.client = &cl;
    c.poll.data = &c;
    c.t_start = now_ns();
    c.phase = Phase::connecting;
    ++cl.connecting;
    c.fd = socket(cl.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        end_conn(c, Failure::connect, errno);
        return;
    }
    int on = 1;
    if (setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
        end_conn(c, Failure::connect, errno);
        return;
    }
    if (!cl.sources.empty()) {
        // The port is chosen at connect, for the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT).
        const sockaddr_in &from =
            cl.sources[static_cast<size_t>(&c - cl.conns.get()) % cl.sources.size()];
        if (setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on) != 0 ||
            bind(c.fd, reinterpret_cast<const sockaddr *>(&from), sizeof from) != 0) {
            end_conn(c, Failure::connect, errno);
            return;
        }
    }
    int rc = uv_poll_init_socket(&cl.loop, &c.poll, c.fd);
    if (rc != 0) {
        end_conn(c, Failure::connect, -rc);
        return;
    }
    c.handle_open = true;
    ++cl.open_handles;
    if (connect(c.fd, reinterpret_cast<const sockaddr *>(&cl.addr), cl.addr_len) != 0 &&
        errno != EINPROGRESS) {
        end_conn(c, Failure::connect, errno);
        return;
    }
    // Completion (or failure) shows as writable, also when connect finished at once.
    rc = uv_poll_start(&c.poll, UV_WRITABLE, on_poll);
    if (rc != 0)
        end_conn(c, Failure::connect, -rc);
}

// --- the run ---------------------------------------------------------------------------------

void close_control_handles(Client &cl) {
    if (cl.control_closed)
        return;
    cl.control_closed = true;
    for (uv_timer_t *t : {&cl.ramp_timer, &cl.sweep_timer, &cl.lag_timer, &cl.deadline_timer})
        uv_close(reinterpret_cast<uv_handle_t *>(t), nullptr);
    for (uv_signal_t *s : {&cl.sigint, &cl.sigterm})
        uv_close(reinterpret_cast<uv_handle_t *>(s), nullptr);
}

void maybe_finish_run(Client &cl) {
    if (cl.finished == cl.opt.connections && cl.open_handles == 0) {
        if (cl.t_end == 0)
            cl.t_end = now_ns();
        close_control_handles(cl);
    }
}

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

// --- report ----------------------------------------------------------------------------------

struct Report {
    uint32_t completed = 0;
    uint32_t failures[static_cast<int>(Failure::count)] = {};
    Summary rate_first, rate_request, ttfb_ms, transfer_s, connect_ms, first_read, body, lag;
    uint32_t undefined_first = 0; // completed, but the whole body came in one read
    uint32_t on_rate_first = 0, on_rate_request = 0;
    double cpu_user = 0, cpu_sys = 0, max_rss_mib = 0;
};

Report build_report(const Client &cl) {
    using namespace dialtone::bench;
    Report r;
    std::vector<double> rate_first, rate_request, ttfb, transfer, connect, first_read, body;
    double nominal = cl.opt.expect_rate, tol = cl.opt.tolerance_pct / 100.0;
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        const Conn &c = cl.conns[i];
        ++r.failures[static_cast<int>(c.failure)];
        if (c.t_connected != 0)
            connect.push_back(seconds(c.t_connected - c.t_start) * 1e3);
        if (c.failure != Failure::none)
            continue;
        ++r.completed;
        const Transfer &t = c.transfer;
        body.push_back(static_cast<double>(t.body_bytes));
        std::optional<double> rq = rate_from_request(t);
        if (!rq)
            continue;
        rate_request.push_back(*rq);
        r.on_rate_request += within(*rq, nominal, tol);
        ttfb.push_back(static_cast<double>(static_cast<int64_t>(t.t_first - t.t_request)) / 1e6);
        transfer.push_back(static_cast<double>(t.body_bytes) / *rq);
        first_read.push_back(static_cast<double>(t.first_read_bytes));
        if (std::optional<double> rf = rate_from_first_byte(t)) {
            rate_first.push_back(*rf);
            r.on_rate_first += within(*rf, nominal, tol);
        } else {
            ++r.undefined_first;
        }
    }
    r.rate_first = summarize(std::move(rate_first));
    r.rate_request = summarize(std::move(rate_request));
    r.ttfb_ms = summarize(std::move(ttfb));
    r.transfer_s = summarize(std::move(transfer));
    r.connect_ms = summarize(std::move(connect));
    r.first_read = summarize(std::move(first_read));
    r.body = summarize(std::move(body));
    r.lag = summarize(cl.lag_ms);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    r.cpu_user =
        static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    r.cpu_sys =
        static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    r.max_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
    return r;
}

void json_summary(const char *name, const Summary &s, double nominal, bool last = false) {
    printf("  \"%s\": {\"count\": %zu, \"min\": %.6g, \"p1\": %.6g, \"p50\": %.6g, "
           "\"p99\": %.6g, \"max\": %.6g, \"mean\": %.6g",
           name, s.count, s.min, s.p1, s.p50, s.p99, s.max, s.mean);
    if (nominal > 0 && s.count > 0)
        printf(", \"pct_of_nominal\": {\"min\": %.4f, \"p1\": %.4f, \"p50\": %.4f, "
               "\"p99\": %.4f, \"max\": %.4f}",
               100 * s.min / nominal, 100 * s.p1 / nominal, 100 * s.p50 / nominal,
               100 * s.p99 / nominal, 100 * s.max / nominal);
    printf("}%s\n", last ? "" : ",");
}

std::string json_escape(const std::string &s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\')
            out += '\\';
        if (static_cast<unsigned char>(ch) < 0x20)
            continue;
        out += ch;
    }
    return out;
}

void print_json(const Client &cl, const Report &r) {
    const Options &o = cl.opt;
    uint32_t errors = o.connections - r.completed;
    printf("{\n  \"host\": \"%s\", \"port\": %d, \"path\": \"%s\", \"connections\": %u,\n",
           json_escape(o.host).c_str(), o.port, json_escape(o.path).c_str(), o.connections);
    printf("  \"ramp_per_sec\": %g, \"timeout_sec\": %g, \"expect_rate\": %g, "
           "\"tolerance_pct\": %g, \"read_batch\": %" PRId64 ", \"source_addrs\": %zu,\n",
           o.ramp_per_sec, o.timeout_sec, o.expect_rate, o.tolerance_pct, o.read_batch,
           std::max<size_t>(cl.sources.size(), 1));
    printf("  \"completed\": %u, \"errors\": %u, \"error_kinds\": {", r.completed, errors);
    for (int k = 1; k < static_cast<int>(Failure::count); ++k)
        printf("%s\"%s\": %u", k > 1 ? ", " : "", kFailureNames[k], r.failures[k]);
    printf("},\n  \"bad_statuses\": {");
    bool first = true;
    for (auto &[status, n] : cl.bad_statuses) {
        printf("%s\"%d\": %u", first ? "" : ", ", status, n);
        first = false;
    }
    printf("},\n  \"sys_errors\": {");
    first = true;
    for (auto &[what, n] : cl.sys_errors) {
        printf("%s\"%s\": %u", first ? "" : ", ", json_escape(what).c_str(), n);
        first = false;
    }
    printf("},\n  \"interrupted\": %s, \"deadline_hit\": %s,\n", cl.interrupted ? "true" : "false",
           cl.deadline_hit ? "true" : "false");
    printf("  \"criterion\": \"rate_from_first_byte\",\n");
    printf("  \"on_rate_first_byte\": %u, \"on_rate_from_request\": %u, "
           "\"rate_first_byte_undefined\": %u,\n",
           r.on_rate_first, r.on_rate_request, r.undefined_first);
    json_summary("rate_first_byte", r.rate_first, o.expect_rate);
    json_summary("rate_from_request", r.rate_request, o.expect_rate);
    json_summary("ttfb_ms", r.ttfb_ms, 0);
    json_summary("transfer_s", r.transfer_s, 0);
    json_summary("connect_ms", r.connect_ms, 0);
    json_summary("first_read_bytes", r.first_read, 0);
    json_summary("body_bytes", r.body, 0);
    json_summary("loop_lag_ms", r.lag, 0);
    double ramp = cl.t_ramp_done ? seconds(cl.t_ramp_done - cl.t_begin) : -1;
    printf("  \"wall_s\": %.4f, \"ramp_s\": %.4f, \"reads\": %" PRIu64
           ", \"reads_without_kernel_timestamp\": %" PRIu64 ",\n",
           seconds(cl.t_end - cl.t_begin), ramp, cl.reads, cl.reads_unstamped);
    printf("  \"client_cpu_user_s\": %.3f, \"client_cpu_sys_s\": %.3f, "
           "\"client_max_rss_mib\": %.1f\n}\n",
           r.cpu_user, r.cpu_sys, r.max_rss_mib);
}

// The per-connection rates behind the report's percentiles, for a distribution plot.
bool write_rates(const Client &cl, const std::string &path) {
    using namespace dialtone::bench;
    FILE *f = fopen(path.c_str(), "w");
    if (f == nullptr)
        return false;
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        const Conn &c = cl.conns[i];
        if (c.failure != Failure::none)
            continue;
        std::string line;
        for (std::optional<double> rate :
             {rate_from_first_byte(c.transfer), rate_from_request(c.transfer)})
            line += (line.empty() ? "" : " ") + (rate ? std::to_string(*rate) : std::string("-"));
        fprintf(f, "%s\n", line.c_str());
    }
    return fclose(f) == 0;
}

void print_row(const char *label, const Summary &s, const char *fmt, double scale = 1) {
    printf("  %-30s", label);
    for (double v : {s.min, s.p1, s.p50, s.p99, s.max}) {
        if (s.count == 0)
            printf("%10s", "-");
        else
            printf(fmt, v * scale);
    }
    printf("\n");
}

void print_text(const Client &cl, const Report &r) {
    const Options &o = cl.opt;
    double nominal = o.expect_rate;
    printf("dialup_client: %u connections to %s port %d, GET %s%s%s\n", o.connections,
           o.host.c_str(), o.port, o.path.c_str(), cl.interrupted ? " (INTERRUPTED)" : "",
           cl.deadline_hit ? " (RUN DEADLINE HIT)" : "");
    printf("  completed %u, errors %u (", r.completed, o.connections - r.completed);
    for (int k = 1; k < static_cast<int>(Failure::count); ++k)
        printf("%s%s %u", k > 1 ? ", " : "", kFailureNames[k], r.failures[k]);
    printf(")\n");
    for (auto &[status, n] : cl.bad_statuses)
        printf("    status %d: %u\n", status, n);
    for (auto &[what, n] : cl.sys_errors)
        printf("    %s: %u\n", what.c_str(), n);
    printf("  %-30s%10s%10s%10s%10s%10s\n", "", "min", "p1", "p50", "p99", "max");
    print_row("rate from first byte, B/s", r.rate_first, "%10.0f");
    if (nominal > 0)
        print_row("  % of nominal", r.rate_first, "%10.2f", 100 / nominal);
    print_row("rate from request, B/s", r.rate_request, "%10.0f");
    if (nominal > 0)
        print_row("  % of nominal", r.rate_request, "%10.2f", 100 / nominal);
    print_row("request to first body read, ms", r.ttfb_ms, "%10.2f");
    print_row("request to last byte, s", r.transfer_s, "%10.3f");
    print_row("connect, ms", r.connect_ms, "%10.2f");
    print_row("first read, body bytes", r.first_read, "%10.0f");
    print_row("body bytes", r.body, "%10.0f");
    print_row("client loop lag, ms", r.lag, "%10.2f");
    if (r.undefined_first > 0)
        printf("  %u completed in a single read: no first-byte rate for them\n", r.undefined_first);
    if (nominal > 0)
        printf("  on rate (within %g%% of %g B/s): first-byte rate %u of %u (the criterion), "
               "rate from request %u of %u\n",
               o.tolerance_pct, nominal, r.on_rate_first, o.connections, r.on_rate_request,
               o.connections);
    printf("  wall %.3f s (ramp %.3f s), client CPU %.2f s (user %.2f, sys %.2f), "
           "client max RSS %.1f MiB\n",
           seconds(cl.t_end - cl.t_begin),
           cl.t_ramp_done ? seconds(cl.t_ramp_done - cl.t_begin) : -1.0, r.cpu_user + r.cpu_sys,
           r.cpu_user, r.cpu_sys, r.max_rss_mib);
    if (cl.reads_unstamped > 0)
        printf("  %" PRIu64 " of %" PRIu64 " reads had no kernel timestamp (timed when read)\n",
               cl.reads_unstamped, cl.reads);
}

} // namespace

int main(int argc, char **argv) {
    auto cl = std::make_unique<Client>();
    if (int rc = parse_args(argc, argv, cl->opt); rc != 0)
        return rc == 1 ? 0 : rc;
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
    for (uv_timer_t *t : {&cl->ramp_timer, &cl->sweep_timer, &cl->lag_timer, &cl->deadline_timer}) {
        uv_timer_init(&cl->loop, t);
        t->data = cl.get();
    }
    for (uv_signal_t *s : {&cl->sigint, &cl->sigterm}) {
        uv_signal_init(&cl->loop, s);
        s->data = cl.get();
    }
    uv_signal_start(&cl->sigint, on_signal, SIGINT);
    uv_signal_start(&cl->sigterm, on_signal, SIGTERM);

    // The run's hard bound: the nominal ramp, one connection timeout, and slack.
    double bound_s = o.connections / o.ramp_per_sec + o.timeout_sec + 2;
    cl->t_begin = now_ns();
    uv_timer_start(&cl->ramp_timer, on_ramp, 0, kRampTickMs);
    uv_timer_start(&cl->sweep_timer, on_sweep, kSweepMs, kSweepMs);
    uv_timer_start(&cl->lag_timer, on_lag_probe, kLagProbeMs, kLagProbeMs);
    uv_timer_start(&cl->deadline_timer, on_deadline, static_cast<uint64_t>(bound_s * 1000), 0);
    uv_run(&cl->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&cl->loop) != 0)
        fprintf(stderr, "dialup_client: handles left open\n");

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
