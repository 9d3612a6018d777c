// dialtone/plugin_support/text.hpp — text helpers every plugin needs: views over the ABI's
// borrowed strings (dt_str_t), ASCII case folding, trimming of optional whitespace, and query
// parameters.
// Header-only; depends on <dialtone/plugin.h> and the standard library only.
// Threads: pure functions, callable from any thread.
#pragma once

#include <dialtone/plugin.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace dialtone::plugin_support {

// A dt_str_t as a view; an absent value (ptr NULL) is empty.
// Ownership: the view borrows the string; it lives as long as the function that returned the
// dt_str_t says (for request strings: until the request is released).
inline std::string_view view(dt_str_t s) noexcept {
    return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

// A dt_str_t as a view that keeps absence (nullopt) apart from emptiness. Ownership: as view().
inline std::optional<std::string_view> optional_view(dt_str_t s) noexcept {
    if (!s.ptr)
        return std::nullopt;
    return std::string_view(s.ptr, s.len);
}

// OWS = *( SP / HTAB ), RFC 9110 §5.6.3.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// `s` without leading and trailing OWS.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

// ASCII lower case; every other byte unchanged (never locale-dependent: HTTP tokens are ASCII).
constexpr char to_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// ASCII case-insensitive equality (header names, tokens, modem names).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i]))
            return false;
    }
    return true;
}

// Whether a comma-separated list of tokens (a Connection or Upgrade field value, RFC 9110 §5.6.1)
// holds `token`, compared case-insensitively; elements are trimmed of OWS.
constexpr bool has_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (iequals(trim_ows(list.substr(0, comma)), token))
            return true;
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return false;
}

// The value of `key` in an undecoded query ("a=1&format=json"), the first when it repeats;
// nullopt when absent ("key" without "=" included). Ownership: a view into `query`.
constexpr std::optional<std::string_view> query_param(std::string_view query,
                                                      std::string_view key) noexcept {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (pair.size() > key.size() && pair.substr(0, key.size()) == key &&
            pair[key.size()] == '=')
            return pair.substr(key.size() + 1);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return std::nullopt;
}

} // namespace dialtone::plugin_support
