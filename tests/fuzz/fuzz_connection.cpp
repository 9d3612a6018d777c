// Fuzz target: a connection's whole request path, bytes in to bytes out.
//
// The runtime serves one end of an AF_UNIX socketpair (the in-memory transport) exactly as an
// accepted TCP connection: llhttp glue, limits, routing, the bundled static and dialup plugins
// and fixture plugins loaded with dlopen (echo, chunked, firehose, decline, status, suspend).
// The first byte is not sent: its low 7 bits say how to split the rest into writes (0: at once),
// so that parsing across read boundaries is covered; its high bit picks a second server whose
// every location is the echo plugin, so that every answer says which request it was for. The
// fuzzer writes the input, reads everything the server answers, half-closes once the server
// waits for more input, and checks:
//   - the connection is closed within bounded time after the client's EOF and hang-up (no hang, no
//   leak of
//     the connection's slot: the worker and the server both count zero connections after);
//   - what came out is a valid sequence of HTTP/1.1 responses (llhttp in response mode, HEAD
//     answers without a body), nothing after a "Connection: close" response, statuses 100..599;
//   - the runtime agrees with a strict RFC 9112 framing reference (framing_reference.hpp) about
//     which requests the input holds: see check_framing.
#include "connection.hpp"
#include "dialtone/config.hpp"
#include "dialtone/log.hpp"
#include "fixture_plugins.hpp"
#include "framing_reference.hpp"
#include "http.hpp"
#include "server_core.hpp"
#include "worker.hpp"

#include <algorithm>
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
#include <string_view>
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

constexpr std::string_view kServerConfig = R"(
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
)";

// Every bundled and fixture handler, for coverage of the request path behind the parser.
constexpr std::string_view kPluginLocations = R"(
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
handler = "fixed_status"
[location.fixed_status]
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

// Only echo: every response names the method, target and body length it answers.
constexpr std::string_view kEchoLocations = R"(
[[location]]
prefix = "/"
handler = "echo"
)";

void discard_log(LogLevel, std::string_view) {}

ServerCore *start_server(std::string_view locations) {
    set_log_sink(discard_log);
    std::string text = std::string(kServerConfig) + std::string(locations);
    text = replace_all(text, "@FIXTURE_PLUGINS@", std::string(test::fixture_plugins));
    text = replace_all(text, "@PLUGINS@", DIALTONE_FUZZ_FIXTURE_PLUGINS);
    text = replace_all(text, "@WWW@", DIALTONE_FUZZ_WWW);
    ServerOptions options;
    options.plugin_dirs = {DIALTONE_FUZZ_PLUGIN_DIR};
    auto *c = new ServerCore(load_config_text(text, "fuzz.toml"), std::move(options));
    c->start();
    return c;
}

ServerCore &server(bool echo_only) {
    static ServerCore *plugins = start_server(kPluginLocations);
    static ServerCore *echo = start_server(kEchoLocations);
    return echo_only ? *echo : *plugins;
}

[[noreturn]] void fail(const std::string &what, const std::string &in, const std::string &out) {
    std::fprintf(stderr,
                 "fuzz_connection: %s\n--- input (%zu bytes)\n%s\n--- output (%zu bytes)\n%s\n",
                 what.c_str(), in.size(), in.c_str(), out.size(), out.c_str());
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

// Request methods in input order, as the runtime's parser sees them: llhttp, carrying on after a
// request that asks for an Upgrade as the runtime does (it answers in HTTP/1.1 and goes on).
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
    const char *at = in.data();
    const char *end = in.data() + in.size();
    while (llhttp_execute(&p, at, static_cast<size_t>(end - at)) == HPE_PAUSED_UPGRADE) {
        at = llhttp_get_error_pos(&p);
        if (!at || at >= end)
            break;
        llhttp_resume_after_upgrade(&p);
    }
    return st.methods;
}

// A final response as the client read it.
struct Response {
    int status = 0;
    bool closes = false; // the connection ends after it
    bool head = false;   // it answers a HEAD, as the runtime parsed the input: it has no body
    bool echo = false;   // the echo plugin's (X-Echo-Handled): its body names the request
    std::string body;    // echo responses only
};

// Checks that the output is a valid response stream and returns its final responses (interim
// 1xx responses left out).
std::vector<Response> read_responses(const std::string &in, const std::string &out) {
    struct State {
        std::vector<int> methods;
        size_t next = 0; // request the next final response answers
        bool bad_status = false;
        Response cur;
        std::string field;
        std::vector<Response> done;
    } st;
    st.methods = request_methods(in);
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t *p) {
        static_cast<State *>(p->data)->cur = {};
        return 0;
    };
    s.on_header_field = [](llhttp_t *p, const char *at, size_t len) {
        static_cast<State *>(p->data)->field.append(at, len);
        return 0;
    };
    s.on_header_field_complete = [](llhttp_t *p) {
        auto *st = static_cast<State *>(p->data);
        st->cur.echo = st->cur.echo || http::iequals(st->field, "x-echo-handled");
        st->field.clear();
        return 0;
    };
    s.on_headers_complete = [](llhttp_t *p) {
        auto *st = static_cast<State *>(p->data);
        st->cur.status = p->status_code;
        if (p->status_code < 100 || p->status_code > 599)
            st->bad_status = true;
        if (p->status_code < 200)
            return 0; // interim (100 Continue): the final response follows
        st->cur.head = st->next < st->methods.size() && st->methods[st->next] == HTTP_HEAD;
        st->cur.closes = !llhttp_should_keep_alive(p);
        ++st->next;
        return st->cur.head ? 1 : 0; // 1: no body follows
    };
    s.on_body = [](llhttp_t *p, const char *at, size_t len) {
        auto *st = static_cast<State *>(p->data);
        if (st->cur.echo)
            st->cur.body.append(at, len);
        return 0;
    };
    s.on_message_complete = [](llhttp_t *p) {
        auto *st = static_cast<State *>(p->data);
        if (st->cur.status >= 200)
            st->done.push_back(std::move(st->cur));
        return 0;
    };
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &st;
    if (out.empty())
        return {};
    if (out.compare(0, 9, "HTTP/1.1 ") != 0)
        fail("the output does not start with a status line", in, out);
    llhttp_errno_t rc = llhttp_execute(&p, out.data(), out.size());
    if (rc == HPE_OK)
        rc = llhttp_finish(&p);
    if (rc != HPE_OK) {
        std::string why = std::string("invalid response stream: ") + llhttp_errno_name(rc) + ": " +
                          llhttp_get_error_reason(&p);
        fail(why, in, out);
    }
    if (st.bad_status)
        fail("status outside 100..599", in, out);
    return std::move(st.done);
}

// The statuses the runtime refuses a request with (parse errors and limits), closing after.
bool refusal(int status) {
    switch (status) {
    case 400:
    case 408:
    case 413:
    case 414:
    case 417:
    case 431:
    case 501:
    case 505:
        return true;
    default:
        return false;
    }
}

// The value of a "key: value" line of the echo plugin's body.
std::string_view echo_line(std::string_view body, std::string_view key) {
    for (size_t at = 0; at < body.size();) {
        size_t end = std::min(body.find('\n', at), body.size());
        std::string_view line = body.substr(at, end - at);
        if (line.size() > key.size() + 1 && line.substr(0, key.size()) == key &&
            line.substr(key.size(), 2) == ": ")
            return line.substr(key.size() + 2);
        if (line.empty())
            break; // the request body follows
        at = end + 1;
    }
    return "<none>";
}

std::string describe(const test::FramedRequest &r) {
    return r.method + " " + r.target + " with a body of " + std::to_string(r.body_length) +
           " (bytes " + std::to_string(r.start) + ".." + std::to_string(r.end) + ")";
}

std::string describe(const test::FramingVerdict &v) {
    std::string text = "the reference reads " + std::to_string(v.requests.size()) + " request(s)";
    switch (v.ending) {
    case test::Ending::clean:
        return text + " and ends cleanly";
    case test::Ending::incomplete:
        return text + ", then an incomplete one from byte " + std::to_string(v.at);
    case test::Ending::invalid:
        return text + ", then an invalid one from byte " + std::to_string(v.at) + ": " + v.reason +
               " at byte " + std::to_string(v.error);
    }
    return text;
}

// The differential oracle. The runtime agrees with the framing reference when its responses, in
// order, answer the reference's requests in order, each echo response naming the same method,
// target and body length as its request. The runtime may refuse a request instead, with one of
// its error statuses and a close: it may be stricter than the reference (its limits, grammar it
// refuses), never looser. With every location echo (`echo_only`) and the server settled, it
// must also have answered every request the reference found complete before the connection
// ended: one left unanswered is one whose end the runtime was still waiting for.
void check_framing(const std::string &in, const std::string &out,
                   const std::vector<Response> &responses, bool echo_only, bool settled) {
    test::FramingVerdict ref = test::frame_requests(in);
    for (size_t i = 0; i < responses.size(); ++i) {
        const Response &r = responses[i];
        if (i + 1 == responses.size() && r.closes && refusal(r.status))
            return;
        std::string which = "response " + std::to_string(i) + " (" + std::to_string(r.status) + ")";
        if (i >= ref.requests.size())
            fail("framing: " + which + " answers a request the reference does not have; " +
                     describe(ref),
                 in, out);
        const test::FramedRequest &want = ref.requests[i];
        if (!r.echo)
            continue; // another plugin's: only its position says which request it answers
        if (r.head) {
            if (want.method != "HEAD")
                fail("framing: " + which + " answers a HEAD; the reference's request " +
                         std::to_string(i) + " is " + describe(want),
                     in, out);
            continue;
        }
        std::string_view method = echo_line(r.body, "method");
        std::string_view target = echo_line(r.body, "target");
        std::string_view length = echo_line(r.body, "body_length");
        if (method != want.method || target != want.target ||
            length != std::to_string(want.body_length))
            fail("framing: " + which + " answers " + std::string(method) + " " +
                     std::string(target) + " with a body of " + std::string(length) +
                     "; the reference's request " + std::to_string(i) + " is " + describe(want) +
                     "; " + describe(ref),
                 in, out);
    }
    bool closed = !responses.empty() && responses.back().closes;
    if (echo_only && settled && !closed && responses.size() < ref.requests.size())
        fail("framing: no response for request " + std::to_string(responses.size()) + ", " +
                 describe(ref.requests[responses.size()]) +
                 ": the runtime still waited for more of it; " + describe(ref),
             in, out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    bool echo_only = data[0] & 0x80;
    ServerCore &core = server(echo_only);
    Worker &worker = core.worker(0);
    size_t step = data[0] & 0x7f;
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
    worker.post([&worker, fd = sv[1], peer] { worker.adopt(fd, peer); });

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

    // Wait until the server has answered everything it can, then half-close.
    // Settled: the server has read everything and answered all it will (not cut short by time).
    bool settled = false;
    auto busy_until = Clock::now() + 500ms;
    while (open && Clock::now() < busy_until) {
        open = pump_output(client, out, 1);
        if (!open)
            break;
        if (unread_by_server(client) > 0)
            continue;
        settled = on_worker(worker, [&worker] {
            Connection *c = worker.connections();
            return !c || c->awaiting_input();
        });
        if (settled)
            break;
    }
    // A half-close means "no further requests": what was received whole is still answered,
    // then the server closes. A request a plugin keeps (e.g. /suspend/park) ends only when the
    // client is really gone, so after a short wait the client hangs up entirely, which must
    // abort it.
    shutdown(client, SHUT_WR);
    auto hang_up_at = Clock::now() + 300ms;
    auto close_by = Clock::now() + 4s;
    bool hung_up = false;
    while (open) {
        if (Clock::now() > close_by)
            fail("the connection was not closed after the client's EOF and hang-up", in, out);
        if (!hung_up && Clock::now() > hang_up_at) {
            shutdown(client, SHUT_RDWR);
            hung_up = true;
        }
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
    check_framing(in, out, read_responses(in, out), echo_only, settled);
    return 0;
}
