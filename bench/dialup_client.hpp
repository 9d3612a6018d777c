// The dialup benchmark's load client, shared by its files: the options, one connection and its
// measurements, the client and its run. See dialup_client.cpp for what the client does.
//   dialup_client.cpp  arguments and environment, the run, main
//   dialup_conn.cpp    connection life: connect, request, timestamped reads, the verdict
//   dialup_report.cpp  the report: percentiles as text or JSON, the per-connection rates file
// One thread, one loop: every function here runs on the loop's thread.
#pragma once

#include "client_loop.hpp"
#include "http_response.hpp"
#include "rates.hpp"

#include <uv.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace dialtone::bench::dialup {

constexpr size_t kReadBufferSize = 64 * 1024;

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
    double read_rate = 0;    // paced reader: bytes/s each connection reads; 0: read at once
    int rcvbuf = 0;          // SO_RCVBUF before connect; 0: the kernel's
    int mss = 0;             // TCP_MAXSEG before connect (the MSS announced); 0: the route's
    bool json = false;
    std::string rates_file;
};

// Error kinds, in report order. Every connection ends either complete or with exactly one.
enum class Failure { none, connect, reset, timeout, bad_status, short_body, protocol, count };
inline constexpr const char *kFailureNames[] = {"none",       "connect",    "reset",   "timeout",
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
    bool paused = false;       // paced reader: ahead of its schedule, not watched for reading
    uint64_t taken = 0;        // paced reader: response bytes read so far

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
    uv_timer_t ramp_timer{}, sweep_timer{}, lag_timer{}, deadline_timer{}, pace_timer{};
    std::vector<Conn *> paused; // paced reader: connections waiting for their schedule
    StopSignals signals;
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

inline uint64_t now_ns() { return uv_hrtime(); }
inline double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

inline uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Connection life (dialup_conn.cpp).

// Opens connection `c` of the client: a socket of our own, watched by uv_poll_t, connecting.
void start_conn(Client &cl, Conn &c);

// Ends a connection, complete (failure none) or failed; the first verdict stands.
// sys_errno: the errno behind the failure, 0 if none.
void end_conn(Conn &c, Failure failure, int sys_errno = 0);

// Paced reader: watches the paused connections that may read again (on the pace timer).
void resume_paced(Client &cl);

// The run (dialup_client.cpp): once every connection has ended and its handle closed, closes the
// run's timers and signals, so the loop ends.
void maybe_finish_run(Client &cl);

} // namespace dialtone::bench::dialup
