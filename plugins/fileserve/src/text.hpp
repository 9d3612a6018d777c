// Small text helpers shared by the parsers of this library (internal).
#pragma once

#include <string_view>

namespace dialtone::fileserve::text {

// OWS = *( SP / HTAB ), RFC 9110 §5.6.3.
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

inline char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// ASCII case-insensitive equality; `lower` must already be lower case.
inline bool iequals(std::string_view s, std::string_view lower) {
    if (s.size() != lower.size())
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (to_lower(s[i]) != lower[i])
            return false;
    }
    return true;
}

} // namespace dialtone::fileserve::text
