#include "balancer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using dialtone::Balancer;
using dialtone::BalancerKind;
using dialtone::UpstreamConfig;
using Status = dialtone::Balancer::Status;

namespace {

// Servers 10.0.0.<first>:80, 10.0.0.<first + 1>:80, ... with these weights.
UpstreamConfig group(BalancerKind kind, const std::vector<unsigned> &weights, unsigned first = 1) {
    UpstreamConfig up;
    up.name = "test";
    up.balancer = kind;
    for (size_t i = 0; i < weights.size(); ++i) {
        dialtone::UpstreamServer s;
        s.host = "10.0.0." + std::to_string(first + i);
        s.port = 80;
        s.address = s.host + ":80";
        s.weight = weights[i];
        up.servers.push_back(s);
    }
    return up;
}

// The next `n` picks as letters, server 0 = 'a'.
std::string sequence(Balancer &b, size_t n, const std::vector<size_t> &tried = {}) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        Balancer::Pick p = b.pick("", 0, tried);
        out += p.status == Status::chosen ? char('a' + p.server) : '-';
    }
    return out;
}

size_t pick_one(Balancer &b, uint64_t now_ms, const std::vector<size_t> &tried = {}) {
    Balancer::Pick p = b.pick("", now_ms, tried);
    REQUIRE(p.status == Status::chosen);
    return p.server;
}

const size_t maglev_keys = 100000;

// The address of the server each of maglev_keys keys goes to.
std::vector<std::string> key_owners(const UpstreamConfig &up) {
    Balancer b(up);
    std::vector<std::string> out;
    for (size_t k = 0; k < maglev_keys; ++k) {
        Balancer::Pick p = b.pick("/objects/" + std::to_string(k) + ".jpg", 0);
        REQUIRE(p.status == Status::chosen);
        out.push_back(up.servers[p.server].address);
    }
    return out;
}

// How many keys each server of `up` owns.
std::vector<size_t> shares(const UpstreamConfig &up, const std::vector<std::string> &owners) {
    std::vector<size_t> count(up.servers.size());
    for (const std::string &owner : owners)
        for (size_t i = 0; i < up.servers.size(); ++i)
            count[i] += up.servers[i].address == owner;
    return count;
}

} // namespace

TEST_CASE("round robin follows nginx's smooth weighted sequence", "[balancer][round_robin]") {
    Balancer b(group(BalancerKind::round_robin, {5, 1, 1}));
    CHECK(sequence(b, 14) == "aabacaaaabacaa");
}

TEST_CASE("round robin gives each server exactly its weight in every cycle",
          "[balancer][round_robin]") {
    std::vector<unsigned> weights = {3, 2, 1, 7};
    Balancer b(group(BalancerKind::round_robin, weights));
    for (int cycle = 0; cycle < 5; ++cycle) {
        std::string s = sequence(b, 13);
        for (size_t i = 0; i < weights.size(); ++i)
            CHECK(std::count(s.begin(), s.end(), char('a' + i)) == weights[i]);
    }
    Balancer equal(group(BalancerKind::round_robin, {1, 1, 1}));
    CHECK(sequence(equal, 6) == "abcabc");
}

TEST_CASE("a try never goes to a server the request already tried", "[balancer][exclude]") {
    for (BalancerKind kind :
         {BalancerKind::round_robin, BalancerKind::least_conn, BalancerKind::hash}) {
        CAPTURE(int(kind));
        Balancer b(group(kind, {1, 1, 1}));
        for (int i = 0; i < 50; ++i)
            CHECK(pick_one(b, 0, {1}) != 1);
        for (int i = 0; i < 20; ++i)
            CHECK(pick_one(b, 0, {0, 2}) == 1);
        Balancer::Pick none_left = b.pick("", 0, {0, 1, 2});
        CHECK(none_left.status == Status::exhausted);
        CHECK(none_left.server == Balancer::none);
    }
    Balancer b(group(BalancerKind::round_robin, {2, 1, 1}));
    CHECK(sequence(b, 6, {0}) == "bcbcbc"); // weights among the rest still rotate
}

TEST_CASE("least connections prefers the server with the fewest active exchanges",
          "[balancer][least_conn]") {
    Balancer b(group(BalancerKind::least_conn, {1, 1, 1}));
    b.acquire(0);
    b.acquire(0);
    b.acquire(2);
    CHECK(pick_one(b, 0) == 1); // the idle one
    b.acquire(1);
    b.acquire(1);
    CHECK(pick_one(b, 0) == 2); // 2, 2, 1
    b.release(0);
    b.release(0);
    CHECK(pick_one(b, 0) == 0); // 0, 2, 1
    CHECK(b.active(1) == 2);
}

TEST_CASE("least connections respects weights under load and rotates ties",
          "[balancer][least_conn]") {
    SECTION("exchanges that stay open end up in proportion to weight") {
        Balancer b(group(BalancerKind::least_conn, {3, 1}));
        for (int i = 0; i < 40; ++i)
            b.acquire(pick_one(b, 0));
        CHECK(b.active(0) == 30);
        CHECK(b.active(1) == 10);
    }
    SECTION("an idle group rotates instead of always choosing the first server") {
        Balancer b(group(BalancerKind::least_conn, {1, 1, 1}));
        std::string s;
        for (int i = 0; i < 6; ++i) {
            size_t server = pick_one(b, 0);
            b.acquire(server);
            b.release(server); // done before the next request: every pick is a three-way tie
            s += char('a' + server);
        }
        CHECK(s == "abcabc");
    }
    SECTION("ties follow the weights") {
        Balancer b(group(BalancerKind::least_conn, {5, 1, 1}));
        CHECK(sequence(b, 7) == "aabacaa"); // nothing acquired: all tied, smooth round robin
    }
}

TEST_CASE("max_fails consecutive failures eject a server for fail_timeout_ms",
          "[balancer][health]") {
    UpstreamConfig up = group(BalancerKind::round_robin, {1, 1});
    up.max_fails = 2;
    up.fail_timeout_ms = 1000;
    Balancer b(up);
    b.report(0, false, 100);
    CHECK_FALSE(b.ejected(0, 100));
    b.report(0, false, 200);
    CHECK(b.ejected(0, 200));
    for (int i = 0; i < 10; ++i)
        CHECK(pick_one(b, 500) == 1);
    CHECK(b.ejected(0, 1199));
    CHECK_FALSE(b.ejected(0, 1200)); // back after fail_timeout_ms
    std::string back;
    for (int i = 0; i < 4; ++i)
        back += char('a' + pick_one(b, 1200));
    CHECK(back.find('a') != std::string::npos);

    SECTION("a returned server that fails again is ejected at once") {
        b.report(0, false, 1300);
        CHECK(b.ejected(0, 1300));
        CHECK(b.ejected(0, 2299));
        CHECK_FALSE(b.ejected(0, 2300));
    }
    SECTION("a success clears the count") {
        b.report(0, true, 1300);
        b.report(0, false, 1400);
        CHECK_FALSE(b.ejected(0, 1400));
        b.report(0, false, 1500);
        CHECK(b.ejected(0, 1500));
    }
}

TEST_CASE("a success between failures keeps a server in", "[balancer][health]") {
    UpstreamConfig up = group(BalancerKind::round_robin, {1, 1});
    up.max_fails = 3;
    Balancer b(up);
    for (int i = 0; i < 10; ++i) {
        b.report(1, false, 10);
        b.report(1, false, 10);
        b.report(1, true, 10);
    }
    CHECK_FALSE(b.ejected(1, 10));
}

TEST_CASE("max_fails = 0 never ejects", "[balancer][health]") {
    UpstreamConfig up = group(BalancerKind::round_robin, {1});
    up.max_fails = 0;
    Balancer b(up);
    for (int i = 0; i < 100; ++i)
        b.report(0, false, 10);
    CHECK_FALSE(b.ejected(0, 10));
    CHECK(pick_one(b, 10) == 0);
}

TEST_CASE("with every server ejected one probe tests the way back, the rest see all_down",
          "[balancer][health]") {
    UpstreamConfig up = group(BalancerKind::round_robin, {1, 1, 1});
    up.fail_timeout_ms = 10000;
    up.connect_timeout_ms = 100;
    up.first_byte_timeout_ms = 400;
    Balancer b(up);
    b.report(1, false, 1000); // ejected until 11000
    b.report(0, false, 2000); // 12000
    b.report(2, false, 3000); // 13000

    Balancer::Pick probe = b.pick("", 3000);
    CHECK(probe.status == Status::probe);
    CHECK(probe.server == 1); // its ejection ends first
    Balancer::Pick down = b.pick("", 3001);
    CHECK(down.status == Status::all_down);
    CHECK(down.server == Balancer::none);

    SECTION("the probe succeeds: its server is back at once") {
        b.report(1, true, 3050);
        CHECK(pick_one(b, 3060) == 1);
        CHECK(pick_one(b, 3060) == 1); // the others are still ejected
    }
    SECTION("the probe fails: its server goes out again and a retry may probe another") {
        b.report(1, false, 3050);
        CHECK(b.ejected(1, 3050));
        Balancer::Pick retry = b.pick("", 3050, {1});
        CHECK(retry.status == Status::probe);
        CHECK(retry.server == 0); // the next to return, 1 being tried
        CHECK(b.pick("", 3051).status == Status::all_down);
    }
    SECTION("a probe nobody reports on lapses after connect + first byte timeouts") {
        CHECK(b.pick("", 3499).status == Status::all_down);
        Balancer::Pick again = b.pick("", 3500);
        CHECK(again.status == Status::probe);
        CHECK(again.server == 1);
    }
    SECTION("once an ejection ends the group is simply up again") {
        CHECK(pick_one(b, 11000) == 1);
    }
    SECTION("a one-server group behaves the same") {
        Balancer lone(group(BalancerKind::round_robin, {1}));
        lone.report(0, false, 0);
        CHECK(lone.pick("", 1).status == Status::probe);
        CHECK(lone.pick("", 2).status == Status::all_down);
    }
}

TEST_CASE("a retry whose untried servers are ejected is exhausted, not a probe",
          "[balancer][health]") {
    Balancer b(group(BalancerKind::least_conn, {1, 1}));
    b.report(1, false, 0);
    // Server 0 is up (this request tried it): the group is not down, nothing to probe.
    CHECK(b.pick("", 1, {0}).status == Status::exhausted);
    CHECK(pick_one(b, 1) == 0);
}

TEST_CASE("hash64 is stable and seeded", "[balancer][hash]") {
    // Pinned: every proxy of a cache tier, whatever its build, must send a key to the same
    // server, so the function can never change silently.
    CHECK(dialtone::hash64("") == dialtone::hash64(""));
    CHECK(dialtone::hash64("/a") != dialtone::hash64("/b"));
    CHECK(dialtone::hash64("/a", 1) != dialtone::hash64("/a", 2));
    CHECK(dialtone::hash64("/index.html") == 0xbc75b2cb8cc837eaULL);
}

TEST_CASE("consistent hash: a key always goes to the same server", "[balancer][hash]") {
    UpstreamConfig up = group(BalancerKind::hash, {1, 1, 1, 1});
    Balancer b(up);
    for (int k = 0; k < 100; ++k) {
        std::string key = "/k" + std::to_string(k);
        size_t first = b.pick(key, 0).server;
        for (int i = 0; i < 3; ++i)
            CHECK(b.pick(key, 0).server == first);
    }
    // The order of the list does not matter: a server's keys follow its address.
    UpstreamConfig reversed = up;
    std::reverse(reversed.servers.begin(), reversed.servers.end());
    CHECK(key_owners(up) == key_owners(reversed));
}

// Maglev with 65537 slots: the paper (Eisenbud et al. 2016, fig. 12) and these 100,000 keys
// show each server within about 2% of its share; ±10% leaves room for any key set.
TEST_CASE("consistent hash spreads keys evenly, and by weight", "[balancer][hash]") {
    for (size_t n : {5, 10, 20}) {
        CAPTURE(n);
        UpstreamConfig up = group(BalancerKind::hash, std::vector<unsigned>(n, 1));
        for (size_t count : shares(up, key_owners(up))) {
            CHECK(count > 0.9 * maglev_keys / n);
            CHECK(count < 1.1 * maglev_keys / n);
        }
    }
    UpstreamConfig weighted = group(BalancerKind::hash, {1, 2, 3, 4});
    std::vector<size_t> counts = shares(weighted, key_owners(weighted));
    for (size_t i = 0; i < counts.size(); ++i) {
        double share = maglev_keys * (i + 1) / 10.0;
        CAPTURE(i, counts[i]);
        CHECK(counts[i] > 0.9 * share);
        CHECK(counts[i] < 1.1 * share);
    }
}

// Removing one of N servers must move its own keys (1/N of them, give or take the ±10% of its
// share above) and Maglev moves a few others as the table is rebuilt: the paper measures that
// churn; here it is 0.1-0.4% of all keys (N = 5..20). The bounds: total moved within
// [0.9/N, 1.15/N], keys of the servers that stayed moved at most 1% of all keys.
TEST_CASE("consistent hash: removing or adding one of N servers moves about 1/N of the keys",
          "[balancer][hash]") {
    for (size_t n : {5, 10, 20}) {
        CAPTURE(n);
        UpstreamConfig up = group(BalancerKind::hash, std::vector<unsigned>(n, 1));
        std::vector<std::string> before = key_owners(up);
        const double one_share = double(maglev_keys) / n;

        UpstreamConfig fewer = up;
        const std::string removed = fewer.servers[n / 2].address;
        fewer.servers.erase(fewer.servers.begin() + n / 2);
        std::vector<std::string> after = key_owners(fewer);
        size_t moved = 0, bystanders_moved = 0;
        for (size_t k = 0; k < maglev_keys; ++k) {
            moved += before[k] != after[k];
            bystanders_moved += before[k] != after[k] && before[k] != removed;
        }
        CHECK(moved > 0.9 * one_share);
        CHECK(moved < 1.15 * one_share);
        CHECK(bystanders_moved < 0.01 * maglev_keys);

        UpstreamConfig more = group(BalancerKind::hash, std::vector<unsigned>(n + 1, 1));
        const std::string added = more.servers[n].address;
        std::vector<std::string> grown = key_owners(more);
        size_t moved_in = 0, moved_elsewhere = 0;
        for (size_t k = 0; k < maglev_keys; ++k) {
            moved_in += before[k] != grown[k] && grown[k] == added;
            moved_elsewhere += before[k] != grown[k] && grown[k] != added;
        }
        CHECK(moved_in > 0.9 * maglev_keys / (n + 1));
        CHECK(moved_in + moved_elsewhere < 1.15 * maglev_keys / (n + 1));
        CHECK(moved_elsewhere < 0.01 * maglev_keys);
    }
}

TEST_CASE("consistent hash: an ejected server's keys, and only they, go elsewhere",
          "[balancer][hash]") {
    const size_t n = 10;
    UpstreamConfig up = group(BalancerKind::hash, std::vector<unsigned>(n, 1));
    Balancer b(up);
    const size_t out = 3;
    std::vector<size_t> home(maglev_keys), refuge_count(n);
    for (size_t k = 0; k < maglev_keys; ++k)
        home[k] = b.pick("/objects/" + std::to_string(k) + ".jpg", 0).server;
    b.report(out, false, 0);
    REQUIRE(b.ejected(out, 1));
    for (size_t k = 0; k < maglev_keys; ++k) {
        size_t now = b.pick("/objects/" + std::to_string(k) + ".jpg", 1).server;
        REQUIRE(now != out);
        if (home[k] != out)
            REQUIRE(now == home[k]);
        else
            ++refuge_count[now];
    }
    // Its keys spread over the other nine rather than piling onto one neighbour.
    const double per_server = double(maglev_keys) / n / (n - 1);
    for (size_t i = 0; i < n; ++i) {
        if (i == out)
            continue;
        CAPTURE(i, refuge_count[i]);
        CHECK(refuge_count[i] > 0.5 * per_server);
        CHECK(refuge_count[i] < 1.5 * per_server);
    }
    // When it returns, its keys come back.
    b.report(out, true, 2);
    for (size_t k = 0; k < 1000; ++k)
        CHECK(b.pick("/objects/" + std::to_string(k) + ".jpg", 2).server == home[k]);
}
