// Choosing a server of an [[upstream]] group for each try of a request, and passive health:
// servers that keep failing are ejected for a while. One Balancer per worker per group, used
// only by that worker's thread: no locks, and each worker learns about failures on its own
// (as nginx workers without a shared zone, and Envoy's per-worker hosts, do). Pure: the
// caller passes the time, so tests drive every rule without sockets or clocks.
//
// Health. `max_fails` consecutive failures eject a server for `fail_timeout_ms`; a success
// resets its count. When the ejection ends the server takes requests again, but still at its
// count: its next failure ejects it again at once, its next success clears it (nginx does the
// same after fail_timeout).
//
// Never all of them: when every server of the group is ejected, pick() does not refuse. It
// sends one request, a probe, to the server whose ejection ends first, which returns the group
// to service as soon as that server answers instead of after fail_timeout_ms. While this
// worker's probe is under way, further picks report Status::all_down, which the proxy answers
// with 503: the "every server ejected → 503" is the state in which the one request
// that can tell is already testing the way back. The probe counts as under way until the
// caller reports on its server or connect_timeout_ms + first_byte_timeout_ms pass (an exchange
// cancelled without a report must not hold the group down). A one-server group follows the
// same rule (nginx instead never ejects a lone server, so every request waits on a dead one).
#pragma once

#include "dialtone/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dialtone {

// A 64-bit hash of `bytes` (FNV-1a, then a MurmurHash3-style finalizer so that every input bit
// reaches every output bit: FNV alone leaves short keys' high bits poorly mixed, and Maglev
// takes the hash modulo its table size). Stable across runs, builds and machines, so a tier of
// caches agrees on where a key lives.
uint64_t hash64(std::string_view bytes, uint64_t seed = 0);

class Balancer {
  public:
    static constexpr size_t none = static_cast<size_t>(-1);

    enum class Status {
        chosen,    // `server` is in service: use it
        probe,     // every server is ejected; `server` is the one whose ejection ends first,
                   // given this request to find out whether it is back
        all_down,  // every server is ejected and this worker's probe is under way: 503
        exhausted, // the servers left after `tried` are all ejected (or there are none):
                   // answer with the last try's failure (502/504)
    };
    struct Pick {
        Status status = Status::exhausted;
        size_t server = none; // index into UpstreamConfig::servers; none unless chosen/probe
    };

    // The group's servers, weights, algorithm and health settings are copied from `config`.
    explicit Balancer(const UpstreamConfig &config);

    // The server for a request's next try. `key`: the bytes the hash balancer hashes (the
    // others ignore it); `tried`: servers this request already tried, never picked again.
    Pick pick(std::string_view key, uint64_t now_ms, const std::vector<size_t> &tried = {});

    // The outcome of a try on `server`, for passive health: `ok` once its response head
    // arrived; a failure is a connect failure, a timeout, a reset or an invalid response (not
    // a failed reuse of a kept connection: that is the keep-alive race, not the server).
    void report(size_t server, bool ok, uint64_t now_ms);

    // An exchange with `server` begins / ends (least_conn balances on these; every algorithm
    // keeps them for status pages). Each acquire is followed by exactly one release.
    void acquire(size_t server);
    void release(size_t server);

    size_t size() const { return servers_.size(); }
    bool ejected(size_t server, uint64_t now_ms) const;
    unsigned active(size_t server) const { return servers_[server].active; }

  private:
    struct Server {
        unsigned weight = 1;
        int64_t current = 0;        // smooth weighted round robin's running score
        unsigned active = 0;        // exchanges under way
        unsigned fails = 0;         // consecutive failures
        uint64_t ejected_until = 0; // ms; ejected while now < it
    };

    template <typename Eligible> size_t smooth_weighted(const Eligible &eligible);
    template <typename Eligible> size_t least_connections(const Eligible &eligible);
    template <typename Eligible> size_t consistent_hash(std::string_view key, const Eligible &);
    void build_maglev(const UpstreamConfig &config);

    std::vector<Server> servers_;
    BalancerKind kind_;
    unsigned max_fails_;
    uint64_t fail_timeout_ms_;
    uint64_t probe_window_ms_; // how long a probe stays under way without a report
    size_t probe_ = none;      // this worker's probe server, while under way
    uint64_t probe_until_ = 0;
    std::vector<uint16_t> maglev_; // hash only: slot → server
};

} // namespace dialtone
