// dialup_client, connection life: a socket of our own per connection (for SO_TIMESTAMPNS and
// recvmsg), watched by uv_poll_t from connect to the last byte, and the one verdict each ends
// with. See dialup_client.cpp for why the sockets are not uv_tcp_t.
#include "dialup_client.hpp"
#include "read_pace.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace dialtone::bench::dialup {

namespace {

// The descriptor is closed only after libuv has stopped watching it.
void on_conn_closed(uv_handle_t *h) {
    auto *c = static_cast<Conn *>(h->data);
    close(c->fd);
    c->fd = -1;
    c->handle_open = false;
    --c->client->open_handles;
    maybe_finish_run(*c->client);
}
} // namespace

void end_conn(Conn &c, Failure failure, int sys_errno) {
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

namespace {

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
    if (c.transfer.t_first == 0 || want <= 1 || c.client->opt.read_rate > 0)
        return;
    if (uint64_t due = c.reader.known_remaining(); due < static_cast<uint64_t>(want))
        want = std::max(1, static_cast<int>(due));
    if (want == c.rcvlowat)
        return;
    if (setsockopt(c.fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want) == 0)
        c.rcvlowat = want;
}

// Paced reader: the bytes connection `c` may read now (kReadBufferSize when not paced).
size_t read_allowance(const Conn &c) {
    const Client &cl = *c.client;
    if (cl.opt.read_rate <= 0)
        return kReadBufferSize;
    uint64_t allowed = paced_allowance(cl.opt.read_rate, now_ns() - c.t_connected, c.taken,
                                       pace_burst(cl.opt.read_rate));
    return static_cast<size_t>(std::min<uint64_t>(allowed, kReadBufferSize));
}

// Paced reader: stops watching a connection that is ahead of its schedule; the pace timer
// watches it again when it may read (resume_paced). The kernel's receive queue fills meanwhile,
// and the server sees a slow client.
void pause_reading(Conn &c) {
    if (uv_poll_stop(&c.poll) != 0)
        return;
    c.paused = true;
    c.client->paused.push_back(&c);
}

// Reads what the socket holds (a paced reader: what its schedule allows), each read with the
// kernel's arrival time of its last segment.
void read_available(Conn &c) {
    Client &cl = *c.client;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) * 2];
    for (int i = 0; i < 16 && c.phase != Phase::finished; ++i) {
        size_t want = read_allowance(c);
        if (want == 0) {
            pause_reading(c);
            return;
        }
        iovec iov{cl.read_buffer.get(), want};
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
        c.taken += static_cast<uint64_t>(n);
        on_bytes(c, cl.read_buffer.get(), static_cast<size_t>(n), arrival);
        if (c.phase != Phase::finished)
            batch_reads(c);
        if (static_cast<size_t>(n) < want)
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
} // namespace

void resume_paced(Client &cl) {
    size_t kept = 0;
    for (Conn *c : cl.paused) {
        if (c->phase == Phase::finished)
            continue;
        if (read_allowance(*c) == 0) {
            cl.paused[kept++] = c;
            continue;
        }
        c->paused = false;
        int rc = uv_poll_start(&c->poll, UV_READABLE, on_poll);
        if (rc != 0)
            end_conn(*c, Failure::reset, -rc);
    }
    cl.paused.resize(kept);
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
    // Before connect: the receive buffer sets the window scale, and the MSS goes in the SYN.
    if ((cl.opt.rcvbuf > 0 &&
         setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &cl.opt.rcvbuf, sizeof cl.opt.rcvbuf) != 0) ||
        (cl.opt.mss > 0 &&
         setsockopt(c.fd, IPPROTO_TCP, TCP_MAXSEG, &cl.opt.mss, sizeof cl.opt.mss) != 0)) {
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

} // namespace dialtone::bench::dialup
