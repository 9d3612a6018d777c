// Byte ranges (RFC 9110 §14.1-14.2): one range is served, several are answered whole.
#include <dialtone/fileserve/http.hpp>

#include <dialtone/plugin_support/text.hpp>

#include <limits>

namespace dialtone::fileserve {
namespace {

using plugin_support::iequals;
using plugin_support::is_ows;
using plugin_support::trim_ows;

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT at the front of `s`, consumed; saturates at 2^64-1 (a huge position is still a
// position, past any end).
std::optional<uint64_t> take_number(std::string_view &s) {
    if (s.empty() || !is_digit(s.front()))
        return std::nullopt;
    uint64_t v = 0;
    while (!s.empty() && is_digit(s.front())) {
        const auto d = static_cast<uint64_t>(s.front() - '0');
        v = v > (max_u64 - d) / 10 ? max_u64 : v * 10 + d;
        s.remove_prefix(1);
    }
    return v;
}

enum class Spec { invalid, unsatisfiable, satisfiable };

// One range-spec (already trimmed) against `size`; sets offset/length when satisfiable.
Spec evaluate_spec(std::string_view s, uint64_t size, uint64_t &offset, uint64_t &length) {
    if (!s.empty() && s.front() == '-') { // suffix-range
        s.remove_prefix(1);
        const std::optional<uint64_t> suffix = take_number(s);
        if (!suffix || !s.empty())
            return Spec::invalid;
        if (*suffix == 0 || size == 0)
            return Spec::unsatisfiable;
        length = *suffix < size ? *suffix : size;
        offset = size - length;
        return Spec::satisfiable;
    }
    const std::optional<uint64_t> first = take_number(s);
    if (!first || s.empty() || s.front() != '-')
        return Spec::invalid;
    s.remove_prefix(1);
    uint64_t last = max_u64;
    if (!s.empty()) {
        const std::optional<uint64_t> l = take_number(s);
        if (!l || !s.empty() || *l < *first)
            return Spec::invalid;
        last = *l;
    }
    if (*first >= size)
        return Spec::unsatisfiable;
    if (last > size - 1)
        last = size - 1;
    offset = *first;
    length = last - *first + 1;
    return Spec::satisfiable;
}

} // namespace

RangeResult evaluate_range(std::string_view field, uint64_t size) {
    const RangeResult whole{RangeOutcome::whole, 0, size};
    while (!field.empty() && is_ows(field.front()))
        field.remove_prefix(1);
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || !iequals(field.substr(0, eq), "bytes"))
        return whole;
    std::string_view set = field.substr(eq + 1);

    std::size_t specs = 0, satisfiable = 0;
    RangeResult result{RangeOutcome::partial, 0, 0};
    while (!set.empty()) {
        const std::size_t comma = set.find(',');
        const std::string_view spec = trim_ows(set.substr(0, comma));
        set = comma == std::string_view::npos ? std::string_view{} : set.substr(comma + 1);
        if (spec.empty()) // empty list members are allowed
            continue;
        ++specs;
        switch (evaluate_spec(spec, size, result.offset, result.length)) {
        case Spec::invalid:
            return whole;
        case Spec::unsatisfiable:
            break;
        case Spec::satisfiable:
            ++satisfiable;
            break;
        }
    }
    if (specs == 0)
        return whole;
    if (satisfiable == 0)
        return {RangeOutcome::unsatisfiable, 0, 0};
    if (specs > 1)
        return whole;
    return result;
}

} // namespace dialtone::fileserve
