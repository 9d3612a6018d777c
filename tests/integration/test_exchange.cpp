// The parts of the upstream exchange API (ABI 1.3) the proxy does not use, through the exchange
// fixture plugin in the real host, in front of a scripted upstream (UpstreamServer): a body taken
// by the plugin within a window, pausing and resuming; cancel; detach; two exchanges for one
// request; req_fail before and after the head; exchange_start's argument errors; and the end of
// every path — on_done exactly once and last, before on_abort, and a clean stop.
//
// The fixture journals every callback per request id (fetched from /journal?id=...), so each
// test reads back what the plugin saw, in order.
#include "test_support.hpp"
#include "upstream_server.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

// One worker, the fixture plugins, [[upstream]] "up" on 127.0.0.1:`port`, and the exchange
// fixture at "/". `server_extra`: lines of [server] and its sub-tables.
std::string exchange_config(std::uint16_t port, std::string_view server_extra = "") {
    std::string text = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\n";
    text.append(server_extra)
        .append("\n")
        .append(fixture_plugins)
        .append("\n[[upstream]]\nname = \"up\"\nservers = [\"127.0.0.1:")
        .append(std::to_string(port))
        .append("\"]\nmax_fails = 0\n\n[[location]]\nprefix = \"/\"\nhandler = \"exchange\"\n"
                "[location.exchange]\nupstream = \"up\"\n");
    return text;
}

std::string journal(const HostProcess &host, const std::string &id) {
    auto r = fetch(host.port(), get("/journal?id=" + id));
    return r ? r->body : "(no answer)";
}

// Polls the journal of `id` until it contains `needle`; returns the last text.
std::string wait_journal(const HostProcess &host, const std::string &id, std::string_view needle,
                         Millis timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::string text = journal(host, id);
        if (text.find(needle) != std::string::npos || std::chrono::steady_clock::now() >= deadline)
            return text;
        std::this_thread::sleep_for(20ms);
    }
}

// Every exchange of the journal ended exactly once (`exchanges` of them), no callback came
// after its on_done or before its on_head, and nothing but on_abort followed the last on_done.
void check_ended_once(const std::string &text, size_t exchanges = 1) {
    INFO("journal:\n" << text);
    CHECK(count(text, "done ") == exchanges);
    CHECK(text.find("LATE") == std::string::npos);
    CHECK(text.find("EARLY") == std::string::npos);
    std::string tail = text.substr(text.rfind("done "));
    CHECK(count(tail, "\n") == 1 + count(tail, "abort\n"));
}

std::string pattern(size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    return s;
}

} // namespace

TEST_CASE("a body the plugin takes a few bytes at a time, paused and resumed, arrives whole",
          "[exchange]") {
    UpstreamServer up;
    const std::string body = pattern(200000);
    up.on("/data", Reply::ok(body));
    up.on("/chunked", Reply::chunked({body.substr(0, 70000), body.substr(70000)}));
    HostProcess host(exchange_config(up.port()));

    SECTION("declared length, window 4 KiB, 3000 bytes a call") {
        auto r = fetch(host.port(), get("/body?id=len&take=3000&window=4096&ms=1"));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("Content-Length") == std::to_string(body.size()));
        CHECK(r->body == body);
        std::string j = wait_journal(host, "len", "done");
        CHECK_THAT(j, Contains("head 200\nresume -5\nforward -5\n")); // neither paused nor in
                                                                      // on_head any more
        CHECK_THAT(j, Contains("done 0 bytes=200000"));
        // At most `take` a call: a pause and a resume between every 3000 bytes.
        CHECK(std::stoul(fields(j.substr(j.find("done")))["calls"]) >= body.size() / 3000);
        check_ended_once(j);
    }
    SECTION("chunked upstream, 1000 bytes a call") {
        auto r = fetch(host.port(), get("/body?id=chunked&take=1000&up=/chunked&ms=0"));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("Transfer-Encoding") == "chunked");
        CHECK(r->body == body);
        check_ended_once(wait_journal(host, "chunked", "done"));
    }
    SECTION("a client slower than the upstream: the plugin waits for on_writable") {
        const std::string big = pattern(8 * 1024 * 1024);
        up.on("/big", Reply::ok(big));
        RawClient client(host.port(), "127.0.0.1", 64 * 1024);
        REQUIRE(client.send(get("/body?id=slow&up=/big")));
        std::this_thread::sleep_for(300ms); // the host's queue fills: req_write says DT_EAGAIN
        auto r = client.read_response(20s);
        REQUIRE(r);
        CHECK(r->body.size() == big.size());
        CHECK(r->body == big);
        std::string j = wait_journal(host, "slow", "done");
        CHECK_THAT(j, Contains("full\n")); // req_write said DT_EAGAIN at least once
        CHECK_THAT(j, Contains("done 0 bytes=8388608"));
        check_ended_once(j);
    }
}

TEST_CASE("a paused exchange holds back the upstream: the host does not read the whole body",
          "[exchange]") {
    UpstreamServer up;
    const size_t size = 48 * 1024 * 1024;
    up.on("/huge", Reply::ok(std::string(size, 'h')));
    HostProcess host(exchange_config(up.port()));
    long before = host.rss_kib();
    RawClient client(host.port());
    REQUIRE(client.send(get("/body?id=paused&take=0&window=65536&up=/huge")));
    std::string j = wait_journal(host, "paused", "forward");
    std::this_thread::sleep_for(1500ms); // the plugin never resumes
    long during = host.rss_kib();
    INFO("RSS before " << before << " KiB, while paused " << during << " KiB");
    CHECK(during - before < 8 * 1024); // far below the 48 MiB the upstream had to give
    CHECK(client.read_some(100ms) == 0);
    client.reset();
    j = wait_journal(host, "paused", "abort");
    CHECK_THAT(j, Contains("done -4 bytes=0 calls=1\nabort\n")); // offered once, never again
    check_ended_once(j);
}

TEST_CASE("a paused exchange whose response was read whole still ends when the client goes",
          "[exchange]") {
    UpstreamServer up;
    up.on("/tiny", Reply::ok("tiny"));
    HostProcess host(exchange_config(up.port()));
    RawClient client(host.port());
    REQUIRE(client.send(get("/body?id=t&take=0&up=/tiny")));
    REQUIRE_THAT(wait_journal(host, "t", "forward"), Contains("forward"));
    std::this_thread::sleep_for(100ms); // the upstream's response is over meanwhile
    client.reset();
    std::string j = wait_journal(host, "t", "abort");
    CHECK_THAT(j, Contains("done -4 bytes=0 calls=1\nabort\n"));
    check_ended_once(j);
}

TEST_CASE("cancelling ends the exchange with DT_ECANCELED and no callback after it", "[exchange]") {
    UpstreamServer up;
    up.on("/data", Reply::ok(pattern(1024 * 1024)));
    HostProcess host(exchange_config(up.port()));
    SECTION("in on_head") {
        auto r = fetch(host.port(), get("/cancel-after-head?id=h"));
        REQUIRE(r);
        CHECK(r->status == 200);
        // The second cancel finds the exchange on its way to on_done.
        CHECK(r->body == "head 200\ncancel 0\ncancel -5\ndone -16 bytes=0 calls=0\n");
    }
    SECTION("while paused, the whole response already read") {
        up.on("/tiny", Reply::ok("tiny"));
        RawClient c(host.port());
        REQUIRE(c.send(get("/body?id=h&take=1&cancel=1&ms=100&up=/tiny")));
        CHECK(c.wait_closed(5s)); // one byte of four, then req_fail: cut
        CHECK(parse_response(c.buffer(), false, true).result != Parse::complete);
        CHECK_THAT(wait_journal(host, "h", "done"),
                   Contains("cancel 0\ndone -16 bytes=1 calls=1\n"));
    }
    SECTION("in on_body") {
        auto r = fetch(host.port(), get("/cancel-in-body?id=b"));
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(matches(r->body, "^head 200\ncancel 0\ndone -16 bytes=[0-9]+ calls=1\n$"));
    }
    std::this_thread::sleep_for(200ms); // anything late would land in the journal now
    check_ended_once(journal(host, "h") + journal(host, "b"));
    // The cancelled connection was closed, not pooled: the next exchange still works.
    auto again = fetch(host.port(), get("/body?id=again"));
    REQUIRE(again);
    CHECK(again->body.size() == 1024 * 1024);
}

TEST_CASE("a detached exchange runs to its end after its request was answered", "[exchange]") {
    UpstreamServer up;
    up.on("/slow", Reply::ok(std::string(100000, 's')).paced(100000)); // about a second
    HostProcess host(exchange_config(up.port()));
    auto r = fetch(host.port(), get("/detach?id=d&up=/slow"));
    REQUIRE(r);
    CHECK(r->body == "detached\n");
    std::string early = journal(host, "d");
    CHECK_THAT(early, Contains("head 200\ndetach 0\n"));
    CHECK(early.find("done") == std::string::npos); // the upstream is still sending
    std::string j = wait_journal(host, "d", "done");
    CHECK_THAT(j, Contains("done 0 bytes=100000"));
    check_ended_once(j);
}

TEST_CASE("a detached exchange still completes after the client is gone", "[exchange]") {
    UpstreamServer up;
    up.on("/slow", Reply::ok(std::string(60000, 's')).paced(100000));
    HostProcess host(exchange_config(up.port()));
    RawClient client(host.port());
    REQUIRE(client.send(get("/detach?id=gone&answer=0&up=/slow")));
    REQUIRE_THAT(wait_journal(host, "gone", "detach 0"), Contains("detach 0"));
    client.reset();
    std::string j = wait_journal(host, "gone", "done");
    CHECK_THAT(j, Contains("abort\n"));
    CHECK_THAT(j, Contains("done 0 bytes=60000"));
    CHECK(j.find("abort") < j.find("done")); // the request went first; the exchange ran on
    INFO(j);
    CHECK(count(j, "done ") == 1);
    CHECK(j.find("LATE") == std::string::npos);
}

TEST_CASE("a request finished by the plugin while its exchange runs ends it with DT_ECANCELED",
          "[exchange]") {
    UpstreamServer up;
    up.on("/data", Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc").then_stall());
    HostProcess host(exchange_config(up.port()));
    auto r = fetch(host.port(), get("/finish-early?id=f"));
    REQUIRE(r);
    CHECK(r->body == "early\n");
    std::string j = wait_journal(host, "f", "done");
    CHECK_THAT(j, Contains("done -16"));
    check_ended_once(j);
}

TEST_CASE("req_fail before the head answers its status; after it, the response is cut",
          "[exchange]") {
    UpstreamServer up;
    up.on("/data",
          Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'p'))
              .then_stall());
    HostProcess host(exchange_config(up.port()));
    SECTION("before the head: an error page") {
        auto r = fetch(host.port(), get("/fail-before-head?id=fb"));
        REQUIRE(r);
        CHECK(r->status == 503);
        std::string j = wait_journal(host, "fb", "done");
        CHECK_THAT(j, Contains("head 200\nfail 0\ndone -16"));
        check_ended_once(j);
    }
    SECTION("mid-body: no last chunk, then the close") {
        RawClient c(host.port());
        REQUIRE(c.send(get("/fail-mid-body?id=fm")));
        CHECK(c.wait_closed(5s));
        ParsedResponse p = parse_response(c.buffer(), false, true);
        CHECK(p.result != Parse::complete);
        CHECK_THAT(c.buffer(), Contains("Transfer-Encoding: chunked"));
        CHECK_THAT(c.buffer(), Contains(std::string(100, 'p')));
        CHECK(c.buffer().find("0\r\n\r\n") == std::string::npos);
        std::string j = wait_journal(host, "fm", "done");
        CHECK_THAT(j, Contains("fail 0\n"));
        CHECK_THAT(j, Contains("done -16"));
        check_ended_once(j);
    }
}

TEST_CASE("two exchanges for one request each end once", "[exchange]") {
    UpstreamServer up;
    up.on("/a", Reply::ok("first"));
    up.on("/b", Reply::chunked({"sec", "ond"}).after(50ms));
    HostProcess host(exchange_config(up.port()));
    auto r = fetch(host.port(), get("/two?id=t&up=/a&up2=/b"));
    REQUIRE(r);
    CHECK(r->body == "first|second");
    std::string j = journal(host, "t");
    CHECK(count(j, "head 200\n") == 2);
    CHECK(count(j, "done 0 ") == 2);
    check_ended_once(j, 2);
    CHECK(up.request_count() == 2);
}

TEST_CASE("exchange_start refuses bad arguments, and any start once the response is finished",
          "[exchange]") {
    UpstreamServer up;
    HostProcess host(exchange_config(up.port()));
    auto r = fetch(host.port(), get("/args?id=a"));
    REQUIRE(r);
    CHECK(r->body == "no_on_head=-1\nno_on_done=-1\ncontent_length=-1\ntransfer_encoding=-1\n"
                     "connection=-1\ncr_in_value=-1\nlf_in_value=-1\nno_method=-1\n"
                     "relative_target=-1\nno_upstream=-1\nuntouched=1\n");
    CHECK(journal(host, "a") == "after_finish -5\n");
    std::this_thread::sleep_for(100ms);
    CHECK(up.request_count() == 0); // nothing was started
}

TEST_CASE("on_done runs before on_abort when the client resets mid-exchange", "[exchange]") {
    UpstreamServer up;
    up.on("/stall", Reply::stall());
    up.on("/half", Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf").then_stall());
    HostProcess host(exchange_config(up.port()));
    SECTION("before the head") {
        RawClient client(host.port());
        REQUIRE(client.send(get("/hang?id=s&up=/stall")));
        REQUIRE(up.wait_requests(1));
        client.reset();
        CHECK(wait_journal(host, "s", "abort") == "done -4 bytes=0 calls=0\nabort\n");
    }
    SECTION("inside the body") {
        RawClient client(host.port());
        REQUIRE(client.send(get("/hang?id=h&up=/half")));
        REQUIRE_THAT(wait_journal(host, "h", "head"), Contains("head 200"));
        std::this_thread::sleep_for(50ms);
        client.reset();
        CHECK(wait_journal(host, "h", "abort") == "head 200\ndone -4 bytes=4 calls=1\nabort\n");
    }
}

TEST_CASE("the host stops cleanly while exchanges are under way", "[exchange]") {
    UpstreamServer up;
    up.on("/stall", Reply::stall());
    up.on("/half", Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf").then_stall());
    up.on("/huge", Reply::ok(std::string(16 * 1024 * 1024, 'h')));
    HostProcess host(exchange_config(up.port(), "[server.timeouts]\ngrace_ms = 300\n"));
    RawClient waiting(host.port()), paused(host.port());
    REQUIRE(waiting.send(get("/hang?id=w&up=/stall")));
    REQUIRE(paused.send(get("/body?id=p&take=0&up=/huge")));
    auto detached = fetch(host.port(), get("/detach?id=d&up=/half"));
    REQUIRE(up.wait_requests(3));
    REQUIRE_THAT(wait_journal(host, "p", "forward"), Contains("forward"));
    REQUIRE(detached);
    CHECK(detached->body == "detached\n");
    CHECK(host.stop() == 0); // the destructor checks the log for live handles
    std::string err = host.stderr_text();
    CHECK_THAT(err, Contains("exchange w: done -4")); // aborted after grace_ms
    CHECK_THAT(err, Contains("exchange p: done -4"));
    CHECK_THAT(err, Contains("exchange d: done -16")); // the stopping worker ends it
    CHECK(count(err, "exchange d: done") == 1);
}
