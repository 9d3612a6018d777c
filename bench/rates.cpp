#include "rates.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dialtone::bench {

namespace {

// Seconds from `from` to `to`; negative if the clock was stepped back meanwhile.
double span_s(uint64_t from, uint64_t to) {
    return static_cast<double>(static_cast<int64_t>(to - from)) / 1e9;
}

} // namespace

std::optional<double> rate_from_request(const Transfer &t) {
    double s = span_s(t.t_request, t.t_last);
    if (t.body_bytes == 0 || s <= 0)
        return std::nullopt;
    return static_cast<double>(t.body_bytes) / s;
}

std::optional<double> rate_from_first_byte(const Transfer &t) {
    double s = span_s(t.t_first, t.t_last);
    if (t.body_bytes <= t.first_read_bytes || s <= 0)
        return std::nullopt;
    return static_cast<double>(t.body_bytes - t.first_read_bytes) / s;
}

bool within(double rate, double nominal, double tolerance) {
    return nominal > 0 && std::fabs(rate / nominal - 1.0) <= tolerance + 1e-12;
}

Summary summarize(std::vector<double> v) {
    Summary s;
    s.count = v.size();
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double p) {
        auto r = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
        return v[std::clamp<size_t>(r, 1, v.size()) - 1];
    };
    s.min = v.front();
    s.max = v.back();
    s.p1 = rank(1);
    s.p50 = rank(50);
    s.p99 = rank(99);
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    return s;
}

} // namespace dialtone::bench
