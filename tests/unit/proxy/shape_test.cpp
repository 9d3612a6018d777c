// The proxy's field rules (plugins/proxy/shape.hpp), without a host.
#include "shape.hpp"

#include <catch2/catch.hpp>

using namespace dialtone::proxy;

namespace {

const Field *find(const std::vector<Field> &fields, const std::string &name) {
    for (const Field &f : fields)
        if (f.name == name)
            return &f;
    return nullptr;
}

} // namespace

TEST_CASE("hop-by-hop fields: the fixed list and every field Connection names") {
    for (const char *h : {"Connection", "keep-alive", "Proxy-Connection", "TE", "Transfer-Encoding",
                          "Upgrade", "Trailer", "Content-Length"})
        CHECK(hop_by_hop(h, ""));
    CHECK(hop_by_hop("X-Secret", "close, x-secret"));
    CHECK(hop_by_hop("x-secret", " X-Secret ,foo"));
    CHECK_FALSE(hop_by_hop("X-Secret-2", "x-secret"));
    CHECK_FALSE(hop_by_hop("Accept", "close"));
}

TEST_CASE("upstream request fields") {
    Joined joined; // the joined values the fields point into
    std::vector<Field> in = {{"Host", "example.com"},
                             {"Connection", "keep-alive, X-A"},
                             {"X-A", "gone"},
                             {"Accept", "*/*"},
                             {"X-Forwarded-For", "10.0.0.1"},
                             {"Via", "1.0 edge"},
                             {"Expect", "100-continue"},
                             {"TE", "trailers"},
                             {"X-Forwarded-Proto", "https"},
                             {"Content-Length", "5"}};
    RequestShape s;
    s.client_addr = "192.0.2.7";
    std::vector<Field> out = upstream_request_fields(in, s, joined);
    CHECK_FALSE(find(out, "Host")); // the host sends the group's name
    CHECK_FALSE(find(out, "Connection"));
    CHECK_FALSE(find(out, "X-A"));
    CHECK_FALSE(find(out, "Expect"));
    CHECK_FALSE(find(out, "TE"));
    CHECK_FALSE(find(out, "Content-Length"));
    REQUIRE(find(out, "Accept"));
    CHECK(find(out, "X-Forwarded-For")->value == "10.0.0.1, 192.0.2.7");
    CHECK(find(out, "X-Forwarded-Proto")->value == "http"); // how the client reached us
    CHECK(find(out, "Via")->value == "1.0 edge, 1.1 dialtone");

    s.preserve_host = true;
    out = upstream_request_fields(in, s, joined);
    REQUIRE(find(out, "Host"));
    CHECK(find(out, "Host")->value == "example.com");
}

TEST_CASE("client response fields") {
    Joined joined; // the joined values the fields point into
    std::vector<Field> in = {{"Content-Type", "text/plain"},
                             {"Connection", "close, X-B"},
                             {"X-B", "hop"},
                             {"Date", "x"},
                             {"Server", "upstream"},
                             {"Transfer-Encoding", "chunked"},
                             {"Set-Cookie", "a=1"},
                             {"Set-Cookie", "b=2"}};
    std::vector<Field> out = client_response_fields(in, "1.1 dialtone", joined);
    CHECK_FALSE(find(out, "X-B"));
    CHECK_FALSE(find(out, "Date"));
    CHECK_FALSE(find(out, "Server"));
    CHECK_FALSE(find(out, "Transfer-Encoding"));
    size_t cookies = 0;
    for (const Field &f : out)
        cookies += f.name == "Set-Cookie";
    CHECK(cookies == 2); // repeated fields stay repeated, in order
    CHECK(find(out, "Via")->value == "1.1 dialtone");
}

TEST_CASE("the upstream target, with or without the location's prefix") {
    CHECK(upstream_target("/api/x?q=1", "/api", false) == "/api/x?q=1");
    CHECK(upstream_target("/api/x?q=1", "/api", true) == "/x?q=1");
    CHECK(upstream_target("/api", "/api", true) == "/");
    CHECK(upstream_target("/api?q", "/api", true) == "/?q");
    CHECK(upstream_target("/api/x", "/api/", true) == "/x");
    CHECK(upstream_target("/x", "/", true) == "/x");
    // The prefix matched the decoded path only: the target goes as it came.
    CHECK(upstream_target("/%61pi/x", "/api", true) == "/%61pi/x");
}

TEST_CASE("a prefix that is not on a segment boundary of the target is not stripped") {
    CHECK(upstream_target("/apiary", "/api", true) == "/apiary");
}

TEST_CASE("a switch of protocols: asked only with Upgrade named by Connection; Upgrade kept") {
    Joined joined, joined2;
    CHECK(asks_upgrade({{"Upgrade", "websocket"}, {"Connection", "keep-alive, Upgrade"}}));
    CHECK_FALSE(asks_upgrade({{"Upgrade", "websocket"}}));  // not named by Connection
    CHECK_FALSE(asks_upgrade({{"Connection", "upgrade"}})); // nothing to switch to
    CHECK_FALSE(asks_upgrade({{"Upgrade", " "}, {"Connection", "upgrade"}}));
    RequestShape s;
    s.client_addr = "192.0.2.7";
    s.upgrade = true;
    std::vector<Field> in = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
    std::vector<Field> out = upstream_request_fields(in, s, joined);
    REQUIRE(find(out, "Upgrade"));
    CHECK(find(out, "Upgrade")->value == "websocket");
    CHECK_FALSE(find(out, "Connection")); // the host sends its own
    std::vector<Field> resp = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
    CHECK(find(client_response_fields(resp, "1.1 dialtone", joined, true), "Upgrade"));
    CHECK_FALSE(find(client_response_fields(resp, "1.1 dialtone", joined2, false), "Upgrade"));
}
