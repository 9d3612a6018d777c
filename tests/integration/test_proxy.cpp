// The bundled proxy plugin in the real host, in front of scripted upstreams (UpstreamServer) on
// loopback ports: what it forwards each way, keep-alive reuse, request bodies, and every hostile
// upstream shape — refused, reset, stalled, truncated, malformed, oversized — answered as nginx
// does (502, 503, 504) or, once the response has begun, cut so the client cannot take it for
// whole.
#include "test_support.hpp"
#include "upstream_server.hpp"

#include <sys/stat.h>

using namespace dialtone::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

// A config with [[upstream]] "app" over `ports` (and `upstream_extra` lines in that table) and
// the proxy at `prefix` with `settings`.
std::string proxy_config(const std::vector<std::uint16_t> &ports, std::string_view upstream_extra,
                         std::string_view settings = "", std::string_view prefix = "/") {
    std::string servers;
    for (std::uint16_t p : ports)
        servers += (servers.empty() ? "\"127.0.0.1:" : ", \"127.0.0.1:") + std::to_string(p) + "\"";
    std::string text = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n\n[[upstream]]\n"
                       "name = \"app\"\nservers = [" +
                       servers + "]\n";
    text.append(upstream_extra)
        .append("\n\n[[location]]\nprefix = \"")
        .append(prefix)
        .append("\"\nhandler = \"proxy\"\n[location.proxy]\nupstream = \"app\"\n")
        .append(settings)
        .append("\n");
    return text;
}

// A port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
    UpstreamServer s;
    std::uint16_t port = s.port();
    s.stop();
    return port;
}

} // namespace

TEST_CASE("the proxy forwards a request and its response, shaping the fields both ways",
          "[proxy]") {
    UpstreamServer up;
    up.on("/hello", Reply::ok("hello from upstream")
                        .header("X-Up", "1")
                        .header("Connection", "X-Hop")
                        .header("X-Hop", "secret"));
    HostProcess host(proxy_config({up.port()}, ""));
    auto r = fetch(host.port(), get("/hello?x=1", "Connection: X-Client-Hop\r\n"
                                                  "X-Client-Hop: 1\r\nX-Forwarded-For: 10.0.0.9\r\n"
                                                  "Keep-Alive: timeout=5\r\nX-End: yes\r\n"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hello from upstream");
    CHECK(r->header("X-Up") == "1");
    CHECK_FALSE(r->header("X-Hop")); // named by the upstream's Connection: hop-by-hop
    CHECK(r->header("Via") == "1.1 dialtone");
    CHECK(r->header("Content-Length") == "19");

    auto seen = up.last_request();
    REQUIRE(seen);
    CHECK(seen->method == "GET");
    CHECK(seen->target == "/hello?x=1");
    CHECK(seen->field("Host") == "app"); // the group's name, as nginx's $proxy_host
    CHECK(seen->field("X-Forwarded-For") == "10.0.0.9, 127.0.0.1");
    CHECK(seen->field("X-Forwarded-Proto") == "http");
    CHECK(seen->field("Via") == "1.1 dialtone");
    CHECK(seen->field("X-End") == "yes");
    CHECK_FALSE(seen->field("X-Client-Hop"));
    CHECK_FALSE(seen->field("Keep-Alive"));
    CHECK_FALSE(seen->field("Connection"));
}

TEST_CASE("preserve_host and strip_prefix", "[proxy]") {
    UpstreamServer up;
    up.set_default(Reply::ok("ok"));
    HostProcess host(
        proxy_config({up.port()}, "", "preserve_host = true\nstrip_prefix = true\n", "/api"));
    auto r = fetch(host.port(), get("/api/v1/items?q=2"));
    REQUIRE(r);
    CHECK(r->status == 200);
    auto seen = up.last_request();
    REQUIRE(seen);
    CHECK(seen->target == "/v1/items?q=2");
    CHECK(seen->field("Host") == "test"); // the client's
    auto bare = fetch(host.port(), get("/api"));
    REQUIRE(bare);
    CHECK(bare->status == 200);
    REQUIRE(up.request_count() == 2);
    CHECK(up.last_request()->target == "/");
}

TEST_CASE("upstream connections are kept alive and reused", "[proxy]") {
    UpstreamServer up;
    up.set_default(Reply::ok("again"));
    HostProcess host(proxy_config({up.port()}, ""));
    RawClient client(host.port());
    for (int i = 0; i < 20; ++i) {
        REQUIRE(client.send(get("/r" + std::to_string(i))));
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "again");
    }
    CHECK(up.request_count() == 20);
    CHECK(up.connections_accepted() == 1); // one worker, one connection, twenty exchanges
}

TEST_CASE("request bodies go upstream with their length; chunked and close-delimited "
          "responses come back whole",
          "[proxy]") {
    UpstreamServer up;
    up.on("/echo", Reply::echo());
    up.on("/chunked", Reply::chunked({"abc", std::string(70000, 'x'), "def"}));
    up.on("/close", Reply::until_close("until the end"));
    HostProcess host(proxy_config({up.port()}, ""));

    std::string body(100000, 'b');
    RawClient client(host.port());
    REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n"));
    auto interim = client.read_response();
    REQUIRE(interim);
    CHECK(interim->status == 100); // the host's own, before it reads the body
    REQUIRE(client.send(body));
    auto r = client.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    auto seen = up.last_request();
    REQUIRE(seen);
    CHECK(seen->body == body);
    CHECK(seen->field("Content-Length") == std::to_string(body.size()));
    CHECK_FALSE(seen->field("Expect")); // the host read the body already

    auto c = fetch(host.port(), get("/chunked"));
    REQUIRE(c);
    CHECK(c->body == "abc" + std::string(70000, 'x') + "def");
    auto e = fetch(host.port(), get("/close"));
    REQUIRE(e);
    CHECK(e->body == "until the end");
}

TEST_CASE("failures before the response head answer 502, 504", "[proxy]") {
    UpstreamServer up;
    up.on("/reset", Reply::reset());
    up.on("/stall", Reply::stall());
    up.on("/both", Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    up.on("/garbage", Reply::raw("HTTP/1.1 2000 Weird\r\n\r\n"));
    up.on("/big", Reply::raw("HTTP/1.1 200 OK\r\nX-Big: " + std::string(40000, 'a') +
                             "\r\nContent-Length: 0\r\n\r\n"));
    up.on("/fold", Reply::raw("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n"));
    HostProcess host(proxy_config({up.port()}, "first_byte_timeout_ms = 300\nmax_fails = 0"));
    for (const char *target : {"/reset", "/both", "/garbage", "/big", "/fold"}) {
        INFO(target);
        auto r = fetch(host.port(), get(target));
        REQUIRE(r);
        CHECK(r->status == 502);
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = fetch(host.port(), get("/stall"));
    REQUIRE(r);
    CHECK(r->status == 504);
    CHECK(std::chrono::steady_clock::now() - t0 >= 280ms);
    // The server keeps serving.
    up.on("/fine", Reply::ok("fine"));
    auto f = fetch(host.port(), get("/fine"));
    REQUIRE(f);
    CHECK(f->body == "fine");
}

TEST_CASE("an upstream that is down: 502; with another server up, the request goes there",
          "[proxy]") {
    std::uint16_t down = closed_port();
    SECTION("alone") {
        HostProcess host(proxy_config({down}, ""));
        auto r = fetch(host.port(), get("/x"));
        REQUIRE(r);
        CHECK(r->status == 502);
    }
    SECTION("beside a live one") {
        UpstreamServer up;
        up.set_default(Reply::ok("alive"));
        HostProcess host(proxy_config({down, up.port()}, ""));
        for (int i = 0; i < 6; ++i) {
            auto r = fetch(host.port(), get("/x"));
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK(r->body == "alive");
        }
    }
}

TEST_CASE("a response cut short reaches the client visibly broken", "[proxy]") {
    UpstreamServer up;
    up.on("/short",
          Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this").then_close());
    up.on("/chunks",
          Reply::raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
              .then_close());
    HostProcess host(proxy_config({up.port()}, ""));
    SECTION("declared length") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/short")));
        CHECK(c.wait_closed(5s));
        ParsedResponse p = parse_response(c.buffer(), false, true);
        CHECK(p.result != Parse::complete); // 9 of 100 bytes, then the close
        CHECK_THAT(c.buffer(), Contains("Content-Length: 100"));
    }
    SECTION("chunked: no last chunk") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/chunks")));
        CHECK(c.wait_closed(5s));
        ParsedResponse p = parse_response(c.buffer(), false, true);
        CHECK(p.result != Parse::complete);
        CHECK_THAT(c.buffer(), Contains("hello"));
        CHECK(c.buffer().find("0\r\n\r\n") == std::string::npos);
    }
}

TEST_CASE("the keep-alive race: an upstream closing idle connections costs no request", "[proxy]") {
    UpstreamServer up;
    up.set_default(Reply::ok("ok"));
    up.close_idle_after(40ms);
    HostProcess host(proxy_config({up.port()}, ""));
    RawClient client(host.port());
    for (int i = 0; i < 12; ++i) {
        REQUIRE(client.send(get("/k")));
        auto r = client.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        std::this_thread::sleep_for(i % 2 ? 60ms : 35ms); // around the upstream's idle timeout
    }
    CHECK(up.request_count() == 12);
}

TEST_CASE("an upstream reset before any response byte is logged as the reset it is",
          "[proxy][reset]") {
    // libuv reports the socket error as UV_EBADF on some versions; operators need the real one.
    UpstreamServer up;
    up.set_default(Reply::reset());
    HostProcess host(proxy_config({up.port()}, "max_fails = 0"));
    for (int i = 0; i < 5; i++) {
        auto r = fetch(host.port(), get("/gone"));
        REQUIRE(r);
        CHECK(r->status == 502);
    }
    std::string log;
    for (auto until = Clock::now() + 5s; count(log, "upstream app") < 5 && Clock::now() < until;
         std::this_thread::sleep_for(20ms))
        log = lower(host.stderr_text()); // the host's stderr is collected as it comes
    CHECK(count(log, "reset by peer") == 5);
    CHECK_THAT(log, !Contains("bad file descriptor"));
}

TEST_CASE("a non-idempotent request is never sent twice", "[proxy]") {
    UpstreamServer a, b;
    a.set_default(Reply::reset());
    b.set_default(Reply::reset());
    HostProcess host(proxy_config({a.port(), b.port()}, "max_fails = 0"));
    auto r = fetch(host.port(), request("POST", "/order", "Content-Length: 2\r\n\r\nhi"));
    REQUIRE(r);
    CHECK(r->status == 502);
    CHECK(a.request_count() + b.request_count() == 1);
    // An idempotent one is tried on the other server.
    auto g = fetch(host.port(), get("/read"));
    REQUIRE(g);
    CHECK(g->status == 502);
    CHECK(a.request_count() + b.request_count() == 3);
}

namespace {

// `size` pseudo-random letters (xorshift from `seed`): bytes out of order, repeated or lost
// between memory pieces and spool ranges cannot compare equal.
std::string patterned(size_t size, size_t seed = 0) {
    std::string s(size, '\0');
    uint64_t x = 0x9e3779b97f4a7c15ULL ^ (seed + 1);
    for (size_t i = 0; i < size; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = static_cast<char>('a' + x % 26);
    }
    return s;
}

// The disk each spool file the host has open in `dir` holds, in bytes (its allocated blocks:
// the host punches out what was sent). Unlinked files are found through /proc/<pid>/fd, whose
// links name them "<dir>/#<inode> (deleted)" or "<dir>/dialtone-spool-*".
std::vector<long long> spool_files(const HostProcess &host, const fs::path &dir) {
    std::vector<long long> sizes;
    fs::path fds = "/proc/" + std::to_string(host.pid()) + "/fd";
    std::error_code ec;
    for (fs::directory_iterator it(fds, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code lec;
        fs::path target = fs::read_symlink(it->path(), lec);
        if (lec || target.string().rfind(dir.string() + "/", 0) != 0)
            continue;
        struct stat st;
        if (::stat(it->path().c_str(), &st) == 0) // the open file behind the link
            sizes.push_back(static_cast<long long>(st.st_blocks) * 512);
    }
    return sizes;
}

// Reads a whole response from `client` (which may have stalled) and returns its body.
std::string read_whole(RawClient &client, size_t size, bool chunked) {
    while (client.read_some(5s) > 0) {
        ParsedResponse p = parse_response(client.buffer(), false, false);
        if (p.result == Parse::complete)
            break;
    }
    ParsedResponse p = parse_response(client.buffer(), false, false);
    REQUIRE(p.result == Parse::complete);
    CHECK(p.response.body.size() == size);
    CHECK((p.response.header("transfer-encoding") == "chunked") == chunked);
    return p.response.body;
}

} // namespace

TEST_CASE("a slow client costs neither memory nor an upstream connection: the rest is spooled",
          "[proxy][spool]") {
    UpstreamServer up;
    const size_t size = 48 * 1024 * 1024;
    const std::string body = patterned(size);
    bool chunked = GENERATE(false, true);
    // Chunked: 64 pieces, so that the client's chunks are framed around spool file ranges.
    std::vector<std::string> chunks;
    for (size_t at = 0; at < size; at += size / 64)
        chunks.push_back(body.substr(at, size / 64));
    up.on("/big", chunked ? Reply::chunked(chunks) : Reply::ok(body));
    up.on("/small", Reply::ok("small"));
    TempDir spool;
    HostProcess host(
        proxy_config({up.port()}, "keepalive = 4\nspool_dir = \"" + spool.path().string() + "\""));
    long before = host.rss_kib();
    RawClient slow(host.port(), "127.0.0.1", 64 * 1024);
    REQUIRE(slow.send(get("/big")));
    // The upstream's connection carries the whole response while the client reads nothing,
    // then goes back to the pool: the next request, from another client, reuses it.
    REQUIRE(up.wait_requests(1));
    std::optional<HttpResponse> small;
    auto until = Clock::now() + 10s;
    std::vector<long long> files;
    long long last = -1;
    while (Clock::now() < until) { // until the spool stops growing
        files = spool_files(host, spool.path());
        if (files.size() == 1 && files[0] == last)
            break;
        last = files.size() == 1 ? files[0] : -1;
        std::this_thread::sleep_for(300ms);
    }
    INFO("spool files: " << files.size() << ", the first " << (files.empty() ? 0 : files[0]));
    REQUIRE(files.size() == 1);
    CHECK(files[0] > static_cast<long long>(size) / 2); // most of the body is on disk
    small = fetch(host.port(), get("/small"));
    REQUIRE(small);
    CHECK(small->body == "small");
    auto second = up.last_request();
    REQUIRE(second);
    CHECK(second->connection == 1); // the first connection, released before the client read
    CHECK(second->sequence == 1);
    long during = host.rss_kib();
    INFO("RSS before " << before << " KiB, while the client stalls " << during << " KiB");
    CHECK(during - before < 8 * 1024); // the page cache holds it, not the process

    std::string got = read_whole(slow, size, chunked);
    CHECK(first_difference(got, body) == body.size());
    // The last range was released with the response: the file holds nothing now.
    CHECK(eventually([&] { return spool_files(host, spool.path()) == std::vector<long long>{0}; }));
}

TEST_CASE("slow clients share the worker's spool file, each getting its own bytes",
          "[proxy][spool]") {
    UpstreamServer up;
    const size_t size = 6 * 1024 * 1024 + 12345; // not a whole number of blocks
    std::vector<std::string> bodies;
    for (size_t i = 0; i < 4; ++i) {
        bodies.push_back(patterned(size, i * 5 + 1));
        up.on("/big" + std::to_string(i), Reply::ok(bodies.back()));
    }
    TempDir spool;
    HostProcess host(proxy_config({up.port()}, "spool_dir = \"" + spool.path().string() + "\""));
    std::vector<std::unique_ptr<RawClient>> slow;
    for (size_t i = 0; i < bodies.size(); ++i) {
        slow.push_back(std::make_unique<RawClient>(host.port(), "127.0.0.1", 64 * 1024));
        REQUIRE(slow.back()->send(get("/big" + std::to_string(i))));
    }
    // All four stall at once, so their blocks interleave in the one file.
    CHECK(eventually(
        [&] {
            auto files = spool_files(host, spool.path());
            return files.size() == 1 && files[0] > 4 * 1024 * 1024;
        },
        10s));
    for (size_t i = 0; i < bodies.size(); ++i) {
        INFO("client " << i);
        CHECK(first_difference(read_whole(*slow[i], size, false), bodies[i]) == size);
    }
    CHECK(eventually([&] { return spool_files(host, spool.path()) == std::vector<long long>{0}; }));
}

TEST_CASE("a client that leaves mid-spool gives its spool blocks back", "[proxy][spool]") {
    UpstreamServer up;
    const size_t size = 32 * 1024 * 1024;
    up.on("/big", Reply::ok(patterned(size)));
    TempDir spool;
    HostProcess host(
        proxy_config({up.port()}, "spool_dir = \"" + spool.path().string() + "\"", "", "/"));
    long fds_idle = host.fd_count();
    {
        RawClient slow(host.port(), "127.0.0.1", 64 * 1024);
        REQUIRE(slow.send(get("/big")));
        // Until the spool stops growing: the upstream's part is over, only the client's is
        // left (the case a cancel used to ignore, keeping the request and its blocks for ever).
        long long last = -1;
        CHECK(eventually(
            [&] {
                auto files = spool_files(host, spool.path());
                long long now = files.size() == 1 ? files[0] : -1;
                bool still = now > 0 && now == last;
                last = now;
                std::this_thread::sleep_for(200ms);
                return still;
            },
            10s));
        slow.read_bytes(1000, 1s); // a little of it, then the client resets
        slow.reset();
    }
    // The exchange ends and the queued ranges are released: the file holds nothing (it stays
    // open for the next slow client); the upstream connection went back to the pool when it
    // was read.
    CHECK(eventually([&] { return spool_files(host, spool.path()) == std::vector<long long>{0}; }));
    CHECK(eventually([&] { return host.fd_count() <= fds_idle + 2; })); // spool, pooled conn
    auto after = fetch(host.port(), get("/big"));
    REQUIRE(after);
    CHECK(after->body.size() == size);
}

TEST_CASE("the spool is bounded by spool_max_size; past it the upstream waits for the client",
          "[proxy][spool]") {
    UpstreamServer up;
    const size_t size = 24 * 1024 * 1024, limit = 2 * 1024 * 1024;
    const std::string body = patterned(size);
    up.on("/big", Reply::ok(body));
    TempDir spool;
    HostProcess host(proxy_config({up.port()}, "spool_max_size = " + std::to_string(limit) +
                                                   "\nspool_dir = \"" + spool.path().string() +
                                                   "\""));
    RawClient slow(host.port(), "127.0.0.1", 64 * 1024);
    REQUIRE(slow.send(get("/big")));
    auto largest = [&] {
        long long most = -1;
        for (long long f : spool_files(host, spool.path()))
            most = std::max(most, f);
        return most;
    };
    // The client reads nothing: the kernel's buffers fill, then the spool, up to its limit.
    CHECK(eventually([&] { return largest() >= static_cast<long long>(limit - 64 * 1024); }, 10s));
    std::this_thread::sleep_for(300ms);
    long long full = largest();
    // The upstream waits rather than spool more (blocks handed to the client's queue whole, up
    // to a few hundred KiB, are still on disk until sent).
    const long long most = static_cast<long long>(limit) + 512 * 1024;
    CHECK(full <= most);
    // The client reads as fast as it can: the spool empties and starts over at 0.
    long long least = full;
    auto until = Clock::now() + 30s;
    while (Clock::now() < until) {
        long long now = largest();
        if (now >= 0)
            least = std::min(least, now);
        CHECK(now <= most);
        ParsedResponse p = parse_response(slow.buffer(), false, false);
        if (p.result == Parse::complete)
            break;
        if (slow.read_bytes(256 * 1024, 200ms) == 0 && slow.peer_closed())
            break;
    }
    INFO("the spool at its fullest " << full << " bytes, at its emptiest after " << least);
    CHECK(least < static_cast<long long>(limit) / 4);
    ParsedResponse p = parse_response(slow.buffer(), false, false);
    REQUIRE(p.result == Parse::complete);
    CHECK(p.response.body.size() == body.size());
    CHECK(first_difference(p.response.body, body) == body.size());
}

TEST_CASE("with spool_max_size = 0 a slow client holds back the upstream, not the host's memory",
          "[proxy]") {
    UpstreamServer up;
    const size_t size = 48 * 1024 * 1024;
    up.on("/big", Reply::ok(std::string(size, 'z')));
    up.on("/small", Reply::ok("small"));
    HostProcess host(proxy_config({up.port()}, "spool_max_size = 0"));
    long before = host.rss_kib();
    RawClient client(host.port(), "127.0.0.1", 64 * 1024);
    REQUIRE(client.send(get("/big")));
    std::this_thread::sleep_for(1500ms); // the client reads nothing meanwhile
    long during = host.rss_kib();
    INFO("RSS before " << before << " KiB, while the client stalls " << during << " KiB");
    CHECK(during - before < 8 * 1024); // far below the 48 MiB the upstream had to give
    // The upstream connection is still busy with the stalled response: another request needs
    // a connection of its own.
    auto small = fetch(host.port(), get("/small"));
    REQUIRE(small);
    CHECK(small->body == "small");
    CHECK(up.last_request()->connection == 2);
    size_t got = 0;
    while (got < size + 50 && client.read_some(5s) > 0)
        got = client.buffer().size();
    ParsedResponse p = parse_response(client.buffer(), false, false);
    REQUIRE(p.result == Parse::complete);
    CHECK(p.response.body.size() == size);
}

TEST_CASE("proxy settings are checked at load time", "[proxy]") {
    TempDir dir;
    SECTION("no upstream setting") {
        auto r = run_host_with_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n[[location]]\n"
                                           "prefix = \"/\"\nhandler = \"proxy\"\n");
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.err, Contains("upstream is required"));
    }
    SECTION("an unknown group") {
        auto r = run_host_with_config(dir, "[server]\nlisten = \"127.0.0.1:0\"\n[[location]]\n"
                                           "prefix = \"/\"\nhandler = \"proxy\"\n"
                                           "[location.proxy]\nupstream = \"nope\"\n");
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.err, Contains("no [[upstream]] group is named \"nope\""));
        CHECK_THAT(r.err, Contains(":7:"));
    }
}

TEST_CASE("the status plugin counts upstream exchanges, connections and idle pool members",
          "[proxy][status]") {
    UpstreamServer up;
    up.set_default(Reply::ok("counted"));
    std::string toml = proxy_config({up.port()}, "", "", "/app");
    toml += "\n[[location]]\nprefix = \"/server-status\"\nhandler = \"status\"\n";
    HostProcess host(toml);
    RawClient client(host.port());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(client.send(get("/app/x")));
        auto r = client.read_response();
        REQUIRE(r);
        REQUIRE(r->status == 200);
    }
    REQUIRE(client.send(get("/server-status/json")));
    auto s = client.read_response();
    REQUIRE(s);
    INFO(s->body);
    CHECK_THAT(s->body, Contains("\"totals\":{"));
    CHECK_THAT(s->body, Contains("\"upstream_exchanges\":5,\"upstream_active\":0,"
                                 "\"upstream_failed\":0,\"upstream_connects\":1,"
                                 "\"upstream_idle\":1}"));
}

TEST_CASE("an upstream killed and restarted: 502 while it is down, served again once back",
          "[proxy]") {
    UpstreamServer up;
    up.set_default(Reply::ok("up"));
    HostProcess host(proxy_config({up.port()}, "fail_timeout_ms = 300"));
    auto ok = fetch(host.port(), get("/a"));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    up.stop();
    for (int i = 0; i < 3; ++i) {
        auto r = fetch(host.port(), get("/down"));
        REQUIRE(r);
        CHECK(r->status == 502);
    }
    up.start(); // the same port
    // Back within fail_timeout_ms of its return: the ejection lapses, or a probe finds it.
    auto t0 = std::chrono::steady_clock::now();
    int status = 0;
    while (std::chrono::steady_clock::now() - t0 < 2s) {
        auto r = fetch(host.port(), get("/again"));
        REQUIRE(r);
        status = r->status;
        if (status == 200)
            break;
        std::this_thread::sleep_for(20ms);
    }
    CHECK(status == 200);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
}

TEST_CASE("a reload drains the old configuration's upstream pool", "[proxy][reload]") {
    UpstreamServer a, b;
    a.set_default(Reply::ok("from a"));
    b.set_default(Reply::ok("from b"));
    HostProcess host(proxy_config({a.port()}, ""));
    auto r = fetch(host.port(), get("/x"));
    REQUIRE(r);
    CHECK(r->body == "from a");
    REQUIRE(a.connections_open() == 1); // kept alive in the pool
    write_file(host.config_path(), expand_placeholders(proxy_config({b.port()}, ""), host.dir()));
    kill(host.pid(), SIGHUP);
    REQUIRE(host.wait_for_stderr("reload"));
    auto t0 = std::chrono::steady_clock::now();
    while (a.connections_open() > 0 && std::chrono::steady_clock::now() - t0 < 5s)
        std::this_thread::sleep_for(50ms);
    CHECK(a.connections_open() == 0); // closed by the worker's sweep, within a second or two
    auto again = fetch(host.port(), get("/x"));
    REQUIRE(again);
    CHECK(again->body == "from b");
}

TEST_CASE("balancers through the proxy: round robin alternates, hash keeps a URI on its server",
          "[proxy]") {
    UpstreamServer a, b;
    a.set_default(Reply::ok("a"));
    b.set_default(Reply::ok("b"));
    SECTION("round robin") {
        HostProcess host(proxy_config({a.port(), b.port()}, ""));
        RawClient client(host.port());
        std::string seen;
        for (int i = 0; i < 6; ++i) {
            REQUIRE(client.send(get("/rr")));
            auto r = client.read_response();
            REQUIRE(r);
            seen += r->body;
        }
        CHECK((seen == "ababab" || seen == "bababa"));
    }
    SECTION("hash on the URI") {
        HostProcess host(proxy_config({a.port(), b.port()}, "balancer = \"hash\""));
        RawClient client(host.port());
        std::map<std::string, std::string> first;
        size_t on_a = 0;
        for (int round = 0; round < 3; ++round)
            for (int k = 0; k < 16; ++k) {
                std::string target = "/object/" + std::to_string(k);
                REQUIRE(client.send(get(target)));
                auto r = client.read_response();
                REQUIRE(r);
                if (round == 0) {
                    first[target] = r->body;
                    on_a += r->body == "a";
                } else {
                    CHECK(r->body == first[target]); // the same server every time
                }
            }
        CHECK(on_a > 0); // and the keys spread over both
        CHECK(on_a < 16);
    }
}

TEST_CASE("Upgrade: websocket is tunnelled both ways, with backpressure and half-closes",
          "[proxy][tunnel]") {
    UpstreamServer up;
    up.on("/ws",
          Reply::raw(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
              .then_echo_tunnel());
    up.on("/no", Reply::ok("plain"));
    HostProcess host(proxy_config({up.port()}, ""));
    const std::string ask = "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n";
    SECTION("a tunnel") {
        RawClient client(host.port());
        // The first bytes of the new protocol follow the request at once.
        REQUIRE(client.send(get("/ws", ask) + "early bytes|"));
        auto head = client.read_response(5s, true);
        REQUIRE(head);
        CHECK(head->status == 101);
        CHECK(head->header("Upgrade") == "websocket");
        CHECK(lower(head->header("Connection").value_or("")) == "upgrade");
        CHECK(head->header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        auto seen = up.last_request();
        REQUIRE(seen);
        CHECK(seen->field("Upgrade") == "websocket");
        CHECK(seen->field("Connection") == "Upgrade");
        CHECK(seen->field("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ==");
        // 4 MiB each way through windows of 64 KiB: the echo comes back whole and in order.
        std::string payload = "early bytes|";
        for (int i = 0; payload.size() < 4 * 1024 * 1024; ++i)
            payload += std::to_string(i) + ",";
        std::thread writer([&] { client.send(payload.substr(12)); });
        size_t want = payload.size();
        while (client.buffer().size() < want && client.read_some(5s) > 0) {
        }
        writer.join();
        REQUIRE(client.buffer().size() == want);
        CHECK(client.buffer() == payload);
        // The client's half-close reaches the upstream, whose close ends the tunnel.
        client.shutdown_write();
        CHECK(client.wait_closed(5s));
    }
    SECTION("an upstream that does not switch answers as usual") {
        auto r = fetch(host.port(), get("/no", ask));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "plain");
    }
}
