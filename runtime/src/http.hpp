// Pure HTTP helpers: path normalisation, reason phrases, dates. No sockets, no state.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace dialtone::http {

// Splits an origin-form request-target ("/a%20b?x") into the path and the query (without '?';
// `has_query` false when there is no '?').
void split_target(std::string_view target, std::string_view &path, std::string_view &query,
                  bool &has_query);

// Decodes %XX escapes and resolves "." and ".." segments and repeated slashes. Returns 0 and
// sets `out` (always starting with '/'), or the HTTP status to answer: 400 for a path that does
// not start with '/', a bad or NUL escape, an encoded '/', invalid UTF-8, or ".." climbing
// above "/". Trailing slash is kept ("/a/" stays "/a/"), since it means "a directory".
int normalize_path(std::string_view raw, std::string &out);

// True if `path` lies at or below `prefix` on a segment boundary: "/a" matches "/a", "/a/",
// "/a/b", not "/ab". Prefix "/" matches everything; a prefix ending in '/' matches below it.
bool prefix_matches(std::string_view prefix, std::string_view path);

// "Not Found" for 404; "Unknown" for codes without a phrase.
std::string_view reason_phrase(int status);

// Writes an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 chars) into buf (>= 30 bytes).
size_t format_http_date(time_t t, char *buf);

// Whether a Host header value is `uri-host [":" port]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a
// reg-name (unreserved, sub-delims, %XX) or an IP literal in brackets ("[::1]", IPvFuture),
// then an optional port of at most 65535. Empty is allowed: it is the Host for a target URI
// without an authority (RFC 9110 §7.2). An empty port ("a:") is allowed, as RFC 3986's
// `port = *DIGIT` allows it and RFC 9110 §4.2.3 treats it as the default port; an empty host
// with a port (":80") is not (RFC 9110 §4.2.1: an http URI with an empty host is invalid).
bool valid_host(std::string_view host);

// Whether a request-target has RFC 9112 §3.2's grammar: origin-form (absolute-path ["?" query]),
// absolute-form with an http or https scheme, a non-empty authority that valid_host accepts and
// no userinfo (RFC 9110 §4.2.4), or asterisk-form ("*"). Path and query bytes are RFC 3986's
// pchar, '/' and (in the query) '?'; '%' must begin %XX. So a fragment ('#'), whitespace,
// controls, raw bytes >= 0x80 and `"<>\^`{|}` are refused. Authority-form is not a target
// this server accepts (CONNECT is refused before).
bool valid_target(std::string_view target);

// The value of a hexadecimal digit, or -1.
int hex_value(char c);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// Calls `pred` on each item of a comma-separated header value (RFC 9110 §5.6.1), with the
// whitespace around it removed; empty items included. True at the first item `pred` accepts.
template <class Pred> bool any_list_item(std::string_view value, Pred pred) {
    size_t i = 0;
    while (i <= value.size()) {
        size_t comma = value.find(',', i);
        if (comma == std::string_view::npos)
            comma = value.size();
        std::string_view item = value.substr(i, comma - i);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (pred(item))
            return true;
        i = comma + 1;
    }
    return false;
}

// tchar and token (RFC 9110 §5.6.2): method names and field names. Inline: the framing
// check asks for every byte of every field name.
inline constexpr struct TcharTable {
    bool yes[256] = {};
    constexpr TcharTable() {
        for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~"))
            yes[c] = true;
        for (int c = '0'; c <= '9'; ++c)
            yes[c] = true;
        for (int c = 'a'; c <= 'z'; ++c)
            yes[c] = yes[c - 'a' + 'A'] = true;
    }
} kTchar;
inline bool is_tchar(unsigned char c) { return kTchar.yes[c]; }
bool is_token(std::string_view s);

// True if the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token);

} // namespace dialtone::http
