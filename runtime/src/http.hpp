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

// Whether a Host header value is a uri-host with an optional port (RFC 9110 §7.2, RFC 3986):
// reg-name characters, an IP literal in brackets, no spaces or controls. Empty is allowed
// (HTTP/1.1 permits an empty Host for URIs without an authority).
bool valid_host(std::string_view host);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// True if the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token);

} // namespace dialtone::http
