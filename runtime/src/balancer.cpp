#include "balancer.hpp"

#include <algorithm>
#include <cassert>
#include <climits>
#include <numeric>

namespace dialtone {

namespace {

// Maglev's lookup table size: a prime, so every skip walks a whole permutation, and far above
// the 1,024 servers a group may have (the paper keeps M > 100 N for shares within about 1%).
constexpr uint32_t maglev_size = 65537;
constexpr uint16_t maglev_empty = 0xFFFF;

// MurmurHash3's 64-bit finalizer: a bijection in which every input bit flips about half of
// the output bits.
uint64_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

} // namespace

uint64_t hash64(std::string_view bytes, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed); // FNV-1a's offset basis
    for (unsigned char b : bytes) {
        h ^= b;
        h *= 0x100000001b3ULL; // FNV-1a's 64-bit prime
    }
    return mix64(h ^ bytes.size());
}

Balancer::Balancer(const UpstreamConfig &config)
    : kind_(config.balancer), max_fails_(config.max_fails),
      fail_timeout_ms_(config.fail_timeout_ms),
      probe_window_ms_(config.connect_timeout_ms + config.first_byte_timeout_ms) {
    servers_.resize(config.servers.size());
    for (size_t i = 0; i < servers_.size(); ++i)
        servers_[i].weight = std::max(1u, config.servers[i].weight);
    if (kind_ == BalancerKind::hash && !servers_.empty())
        build_maglev(config);
}

// Maglev (Eisenbud et al., NSDI 2016, §3.4): each server walks its own permutation of the
// table's slots, from an offset and a skip hashed from its address, and the servers take
// turns claiming their next free slot until the table is full. A server's preferences depend
// only on its own address, so adding or removing one server moves few slots of the others.
// Weights: a server of weight w takes a turn in w of every max_weight rounds (the way Envoy's
// Maglev does it), and every server takes one in round 0, so each owns at least one slot.
void Balancer::build_maglev(const UpstreamConfig &config) {
    const size_t n = servers_.size();
    // Turns go in the order of addresses, not of the list: configs that list the same servers
    // in another order build the same table, so every proxy of a tier agrees.
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return config.servers[a].address < config.servers[b].address;
    });
    std::vector<uint64_t> offset(n), skip(n), next(n, 0), turns_taken(n, 0);
    unsigned max_weight = 0;
    for (size_t i = 0; i < n; ++i) {
        offset[i] = hash64(config.servers[i].address, 1) % maglev_size;
        skip[i] = hash64(config.servers[i].address, 2) % (maglev_size - 1) + 1;
        max_weight = std::max(max_weight, servers_[i].weight);
    }
    maglev_.assign(maglev_size, maglev_empty);
    size_t filled = 0;
    for (uint64_t round = 0; filled < maglev_size; ++round) {
        for (size_t i : order) {
            if (filled == maglev_size)
                break;
            if (round * servers_[i].weight < turns_taken[i] * max_weight)
                continue;
            ++turns_taken[i];
            uint64_t slot;
            do
                slot = (offset[i] + next[i]++ * skip[i]) % maglev_size;
            while (maglev_[slot] != maglev_empty);
            maglev_[slot] = static_cast<uint16_t>(i);
            ++filled;
        }
    }
}

bool Balancer::ejected(size_t server, uint64_t now_ms) const {
    return now_ms < servers_[server].ejected_until;
}

// nginx's smooth weighted round robin (ngx_http_upstream_get_peer): every eligible server's
// score grows by its weight, the highest is chosen and pays back the total. Over any cycle of
// sum(weights) picks each server gets exactly its weight, interleaved (5,1,1 → a a b a c a a)
// rather than in bursts.
template <typename Eligible> size_t Balancer::smooth_weighted(const Eligible &eligible) {
    size_t best = none;
    int64_t total = 0;
    for (size_t i = 0; i < servers_.size(); ++i) {
        if (!eligible(i))
            continue;
        servers_[i].current += servers_[i].weight;
        total += servers_[i].weight;
        if (best == none || servers_[i].current > servers_[best].current)
            best = i;
    }
    if (best != none)
        servers_[best].current -= total;
    return best;
}

// The fewest active exchanges per unit of weight; ties (an idle group above all) go by smooth
// weighted round robin, as nginx's least_conn does, so they spread in proportion to weight.
template <typename Eligible> size_t Balancer::least_connections(const Eligible &eligible) {
    auto fewer = [&](size_t a, size_t b) { // active_a / weight_a < active_b / weight_b
        return uint64_t(servers_[a].active) * servers_[b].weight <
               uint64_t(servers_[b].active) * servers_[a].weight;
    };
    size_t least = none;
    for (size_t i = 0; i < servers_.size(); ++i)
        if (eligible(i) && (least == none || fewer(i, least)))
            least = i;
    if (least == none)
        return none;
    return smooth_weighted([&](size_t i) { return eligible(i) && !fewer(least, i); });
}

// The key's slot, and when its server cannot take the request the next slots in turn: only
// the keys of an ejected or already tried server move, and they spread over the others in
// proportion to their slots, as the table interleaves them.
template <typename Eligible>
size_t Balancer::consistent_hash(std::string_view key, const Eligible &eligible) {
    uint64_t slot = hash64(key) % maglev_size;
    for (uint32_t step = 0; step < maglev_size; ++step) {
        size_t server = maglev_[(slot + step) % maglev_size];
        if (eligible(server))
            return server;
    }
    return none;
}

Balancer::Pick Balancer::pick(std::string_view key, uint64_t now_ms,
                              const std::vector<size_t> &tried) {
    auto untried = [&](size_t i) {
        return std::find(tried.begin(), tried.end(), i) == tried.end();
    };
    auto in_service = [&](size_t i) { return untried(i) && !ejected(i, now_ms); };
    size_t server = none;
    switch (kind_) {
    case BalancerKind::round_robin:
        server = smooth_weighted(in_service);
        break;
    case BalancerKind::least_conn:
        server = least_connections(in_service);
        break;
    case BalancerKind::hash:
        if (!servers_.empty())
            server = consistent_hash(key, in_service);
        break;
    }
    if (server != none)
        return {Status::chosen, server};

    // None in service among the untried. A server in service that this request already tried
    // means the group is up and the request used its chances: exhausted, no probe.
    size_t earliest = none;
    for (size_t i = 0; i < servers_.size(); ++i) {
        if (!ejected(i, now_ms))
            return {Status::exhausted, none};
        if (untried(i) &&
            (earliest == none || servers_[i].ejected_until < servers_[earliest].ejected_until))
            earliest = i;
    }
    if (earliest == none)
        return {Status::exhausted, none};
    if (probe_ != none && now_ms < probe_until_)
        return {Status::all_down, none};
    probe_ = earliest;
    probe_until_ = now_ms + probe_window_ms_;
    return {Status::probe, earliest};
}

void Balancer::report(size_t server, bool ok, uint64_t now_ms) {
    Server &s = servers_[server];
    if (server == probe_)
        probe_ = none;
    if (ok) {
        s.fails = 0;
        s.ejected_until = 0;
        return;
    }
    if (s.fails < UINT_MAX)
        ++s.fails;
    if (max_fails_ != 0 && s.fails >= max_fails_)
        s.ejected_until = now_ms + fail_timeout_ms_;
}

void Balancer::acquire(size_t server) { ++servers_[server].active; }

void Balancer::release(size_t server) {
    assert(servers_[server].active > 0);
    --servers_[server].active;
}

} // namespace dialtone
