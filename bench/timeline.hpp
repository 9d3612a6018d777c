// Timeline: what a keep-alive load client saw, counted per interval since its start: answers by
// status class and failures by kind (hostile_client --mode keepalive --timeline). The proxy
// benchmarks read it to see when errors happened, not only how many (bench/report). Pure, no
// sockets; unit-tested in bench/tests/timeline_test.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dialtone::bench {

class Timeline {
  public:
    // Each request ends as one of these: an answer (by status) or a failure (by kind).
    enum Outcome {
        status_2xx,
        status_502,
        status_503,
        status_504,
        status_other, // any other status, 1xx to 5xx
        connect,      // the connection could not be made
        closed,       // the server closed the connection before the whole response
        reset,        // a read error (ECONNRESET and the like) before the whole response
        timeout,      // no whole response within the client's timeout
        protocol,     // a malformed response, or bytes nobody asked for
        outcomes,
    };
    // The column names, in Outcome order, as the TSV header has them.
    static constexpr std::array<const char *, outcomes> kNames = {
        "s2xx",    "s502",   "s503",  "s504",    "other",
        "connect", "closed", "reset", "timeout", "protocol"};

    static Outcome of_status(int status) {
        if (status >= 200 && status < 300)
            return status_2xx;
        switch (status) {
        case 502:
            return status_502;
        case 503:
            return status_503;
        case 504:
            return status_504;
        default:
            return status_other;
        }
    }

    explicit Timeline(uint64_t bucket_ms) : bucket_ms_(bucket_ms > 0 ? bucket_ms : 1) {}

    // Counts one outcome `t_ms` after the start.
    void add(uint64_t t_ms, Outcome o) {
        size_t i = static_cast<size_t>(t_ms / bucket_ms_);
        if (i >= buckets_.size())
            buckets_.resize(i + 1, Counts{});
        ++buckets_[i][o];
        ++totals_[o];
    }

    uint64_t total(Outcome o) const { return totals_[o]; }

    // A header ("ms" and the names), then a line per interval from the start to the last one
    // with a count: its start in ms since the client's start, then the counts; tab-separated.
    std::string tsv() const {
        std::string out = "ms";
        for (const char *name : kNames) {
            out += '\t';
            out += name;
        }
        out += '\n';
        for (size_t i = 0; i < buckets_.size(); ++i) {
            out += std::to_string(i * bucket_ms_);
            for (uint64_t n : buckets_[i]) {
                out += '\t';
                out += std::to_string(n);
            }
            out += '\n';
        }
        return out;
    }

  private:
    using Counts = std::array<uint64_t, outcomes>;
    uint64_t bucket_ms_;
    std::vector<Counts> buckets_;
    Counts totals_{};
};

} // namespace dialtone::bench
