// Fuzz target: a connection's whole request path, bytes in to bytes out.
//
// The runtime serves one end of an AF_UNIX socketpair (the in-memory transport) exactly as an
// accepted TCP connection: llhttp glue, limits, routing, the bundled static and dialup plugins
// and fixture plugins loaded with dlopen (echo, chunked, firehose, decline, status, suspend).
// The fuzzer writes the input (first byte: how to split it into writes, so that parsing across
// read boundaries is covered), reads everything the server answers, half-closes once the
// server waits for more input, and checks:
//   - the connection is closed within bounded time after the client's EOF (no hang, no leak of
//     the connection's slot: the worker and the server both count zero connections after);
//   - what came out is a valid sequence of HTTP/1.1 responses (llhttp in response mode, HEAD
//     answers without a body), nothing after a "Connection: close" response, statuses 100..599.
#include "connection.hpp"
#include "dialtone/config.hpp"
#include "dialtone/log.hpp"
#include "fixture_plugins.hpp"
#include "server_core.hpp"
#include "worker.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <future>
#include <linux/sockios.h>
#include <llhttp.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace dialtone;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string replace_all(std::string s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

constexpr const char *kConfig = R"(
[server]
listen = ["127.0.0.1:0"]
workers = 1
log_level = "error"
[server.limits]
max_head_size = 4096
max_uri_size = 1024
max_body_size = 16384
max_headers = 32
max_connections = 16
[server.timeouts]
head_ms = 3000
body_ms = 3000
send_ms = 3000
keepalive_ms = 3000
grace_ms = 100

@FIXTURE_PLUGINS@

[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "@WWW@"
[[location]]
prefix = "/echo"
handler = "echo"
[[location]]
prefix = "/chunked"
handler = "chunked"
[[location]]
prefix = "/firehose"
handler = "firehose"
[location.firehose]
mib = 1
[[location]]
prefix = "/decline"
handler = "decline"
[[location]]
prefix = "/status"
handler = "status"
[location.status]
status = 418
[[location]]
prefix = "/suspend"
handler = "suspend"
[[location]]
prefix = "/dialup"
handler = "dialup"
[location.dialup]
root = "@WWW@"
bits_per_second = 80000000
)";

void discard_log(LogLevel, std::string_view) {}

ServerCore &server() {
    static ServerCore *core = [] {
        set_log_sink(discard_log);
        std::string text = replace_all(kConfig, "@FIXTURE_PLUGINS@", std::string(test::fixture_plugins));
        text = replace_all(text, "@PLUGINS@", DIALTONE_FUZZ_FIXTURE_PLUGINS);
        text = replace_all(text, "@WWW@", DIALTONE_FUZZ_WWW);
        ServerOptions options;
        options.plugin_dirs = {DIALTONE_FUZZ_PLUGIN_DIR};
        auto *c = new ServerCore(load_config_text(text, "fuzz.toml"), std::move(options));
        c->start();
        return c;
    }();
    return *core;
}

[[noreturn]] void fail(const char *what, const std::string &in, const std::string &out) {
    std::fprintf(stderr, "fuzz_connection: %s\n--- input (%zu bytes)\n%s\n--- output (%zu bytes)\n%s\n",
                 what, in.size(), in.c_str(), out.size(), out.c_str());
    std::abort();
}

// Runs `probe` on the worker's thread and returns its answer.
template <class F> auto on_worker(Worker &w, F probe) -> decltype(probe()) {
    std::promise<decltype(probe())> done;
    auto result = done.get_future();
    w.post([&] { done.set_value(probe()); });
    return result.get();
}

size_t unread_by_server(int fd) {
    int pending = 0;
    ioctl(fd, SIOCOUTQ, &pending);
    return static_cast<size_t>(pending);
}

// Reads whatever the server sent, waiting up to `wait`. False on EOF or error.
bool pump_output(int fd, std::string &out, int wait_ms) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0)
        return true;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            out.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        return false;
    }
}

// Request methods in input order, as llhttp (the server's parser) sees them.
std::vector<int> request_methods(const std::string &in) {
    struct State {
        std::vector<int> methods;
    } st;
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_headers_complete = [](llhttp_t *p) {
        static_cast<State *>(p->data)->methods.push_back(p->method);
        return 0;
    };
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &s);
    p.data = &st;
    llhttp_execute(&p, in.data(), in.size());
    return st.methods;
}

void check_responses(const std::string &in, const std::string &out) {
    struct State {
        std::vector<int> methods;
        size_t next = 0; // request the next final response answers
        bool bad_status = false;
    } st{request_methods(in)};
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_headers_complete = [](llhttp_t *p) {
        auto *st = static_cast<State *>(p->data);
        if (p->status_code < 100 || p->status_code > 599)
            st->bad_status = true;
        if (p->status_code < 200)
            return 0; // interim (100 Continue): the final response follows
        bool head = st->next < st->methods.size() && st->methods[st->next] == HTTP_HEAD;
        ++st->next;
        return head ? 1 : 0; // 1: no body follows
    };
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &st;
    if (out.empty())
        return;
    if (out.compare(0, 9, "HTTP/1.1 ") != 0)
        fail("the output does not start with a status line", in, out);
    llhttp_errno_t rc = llhttp_execute(&p, out.data(), out.size());
    if (rc == HPE_OK)
        rc = llhttp_finish(&p);
    if (rc != HPE_OK) {
        std::string why = std::string("invalid response stream: ") + llhttp_errno_name(rc) +
                          ": " + llhttp_get_error_reason(&p);
        fail(why.c_str(), in, out);
    }
    if (st.bad_status)
        fail("status outside 100..599", in, out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    ServerCore &core = server();
    Worker &worker = core.worker(0);
    // First byte: write size (0: everything at once).
    size_t step = data[0];
    std::string in(reinterpret_cast<const char *>(data) + 1, size - 1);
    if (step == 0 || step > in.size())
        step = in.size() ? in.size() : 1;
    step = std::max(step, in.size() / 64 + 1); // at most ~64 writes

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        std::abort();
    int client = sv[0];
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    sockaddr_storage peer{};
    auto *sin = reinterpret_cast<sockaddr_in *>(&peer);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    worker.post([&worker, fd = sv[1], peer] { worker.adopt(fd, peer, sizeof(sockaddr_in)); });

    std::string out;
    bool open = true;
    size_t sent = 0;
    while (open && sent < in.size()) {
        size_t n = std::min(step, in.size() - sent);
        ssize_t w = send(client, in.data() + sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            break; // the server closed: the rest is not read
        if (w > 0)
            sent += static_cast<size_t>(w);
        // Let the server take this write as a read of its own before the next one.
        auto until = Clock::now() + 5ms;
        while (open && unread_by_server(client) > 0 && Clock::now() < until)
            open = pump_output(client, out, 0);
        open = open && pump_output(client, out, 0);
    }

    // Wait until the server has answered everything it can, then half-close. A request that
    // stays suspended (e.g. /suspend/park) is aborted by the EOF.
    auto busy_until = Clock::now() + 500ms;
    while (open && Clock::now() < busy_until) {
        open = pump_output(client, out, 1);
        if (!open)
            break;
        if (unread_by_server(client) > 0)
            continue;
        bool waiting = on_worker(worker, [&worker] {
            Connection *c = worker.connections();
            return !c || c->awaiting_input();
        });
        if (waiting)
            break;
    }
    shutdown(client, SHUT_WR);
    auto close_by = Clock::now() + 4s;
    while (open) {
        if (Clock::now() > close_by)
            fail("the connection was not closed after the client's EOF", in, out);
        open = pump_output(client, out, 10);
    }
    ::close(client);

    // The slot and the connection object are returned.
    auto freed_by = Clock::now() + 2s;
    while (on_worker(worker, [&worker] { return worker.connection_count(); }) != 0 ||
           core.open_connections() != 0) {
        if (Clock::now() > freed_by)
            fail("the connection's slot was not returned", in, out);
        std::this_thread::sleep_for(1ms);
    }
    check_responses(in, out);
    return 0;
}
