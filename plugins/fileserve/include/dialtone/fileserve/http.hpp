// dialtone/fileserve/http.hpp — the HTTP arithmetic of serving a file: dates, entity tags,
// preconditions (RFC 9110 §13) and byte ranges (RFC 9110 §14). Pure functions: no I/O, no
// allocation, no global state, so unit tests reach every rule without a socket.
// Threads: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dialtone::fileserve {

// ---- HTTP dates (RFC 9110 §5.6.7) ---------------------------------------------------------

// Length of an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t http_date_size = 29;

// Writes `t` (seconds since the epoch) as an IMF-fixdate into out[0..29), no NUL. Times outside
// years 1970..9999 are clamped to that span so the text always has the fixed form.
void format_http_date(int64_t t, char *out);

// Parses the three forms RFC 9110 makes recipients accept: IMF-fixdate, obsolete RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"). Surrounding
// whitespace is ignored; the weekday must be a weekday name but is not checked against the date.
// An RFC 850 two-digit year more than 50 years after `now` is taken from the previous century.
// Returns seconds since the epoch, or nullopt if `s` is not an HTTP-date.
std::optional<int64_t> parse_http_date(std::string_view s, int64_t now);
// The same with `now` = the current time.
std::optional<int64_t> parse_http_date(std::string_view s);

// ---- Entity tags (RFC 9110 §8.8.3) ---------------------------------------------------------

// A strong entity tag built from a file's validators, nginx's form: "\"<mtime hex>-<size hex>\"".
// Fixed storage, so making one never allocates; size == 0 means "no entity tag".
struct ETag {
    char data[40];
    uint8_t size = 0;

    std::string_view view() const { return {data, size}; }
};
ETag make_etag(int64_t mtime, uint64_t size);

enum class ETagCompare { strong, weak };

// Whether an If-Match / If-None-Match field value ("*" or a comma-separated list of entity tags)
// matches `etag` (a quoted strong tag, or empty when the resource has none). "*" always matches
// (the resource exists); a list never matches an empty `etag`. Weak comparison ignores "W/";
// strong comparison never matches a weak tag. Parsing stops at the first malformed member.
bool etag_list_matches(std::string_view field, std::string_view etag, ETagCompare compare);

// ---- Preconditions (RFC 9110 §13.2.2) ------------------------------------------------------

// The conditional request header fields; nullopt when absent.
struct Conditionals {
    std::optional<std::string_view> if_match = {};
    std::optional<std::string_view> if_none_match = {};
    std::optional<std::string_view> if_modified_since = {};
    std::optional<std::string_view> if_unmodified_since = {};
};

// The selected representation's validators.
struct Validators {
    std::string_view etag; // quoted strong tag; empty when entity tags are off
    int64_t last_modified; // seconds since the epoch
};

enum class Precondition {
    proceed,      // evaluate Range, then answer 200 or 206
    not_modified, // 304
    failed,       // 412
};

// Evaluates the preconditions in RFC 9110 §13.2.2's order: If-Match (else If-Unmodified-Since)
// may fail with 412; then If-None-Match (else If-Modified-Since, GET and HEAD only) may answer
// 304 for GET and HEAD, 412 otherwise. Invalid dates make their field ignored.
Precondition evaluate_preconditions(const Conditionals &c, const Validators &v, bool get_or_head);

// Whether an If-Range field value lets the Range field apply (RFC 9110 §13.1.5): an entity tag
// must match strongly (a weak tag never does), a date must equal Last-Modified exactly. Anything
// else, including a malformed value, means "send the whole representation".
bool if_range_holds(std::string_view field, const Validators &v);

// ---- Byte ranges (RFC 9110 §14) ------------------------------------------------------------

enum class RangeOutcome {
    whole,         // 200: no usable Range (absent, malformed, not bytes, several ranges)
    partial,       // 206: offset and length say which bytes
    unsatisfiable, // 416: no range overlaps the representation
};

struct RangeResult {
    RangeOutcome outcome;
    uint64_t offset; // partial: first byte; whole: 0
    uint64_t length; // partial: byte count (>= 1); whole: the size
};

// Evaluates a Range field value against a representation of `size` bytes. Accepted forms:
// "bytes=first-last", "bytes=first-", "bytes=-suffix" (unit case-insensitive, optional
// whitespace around list members, empty members skipped). A last position past the end is
// clipped; numbers too large for 64 bits saturate (so they are past any end). A malformed value
// is ignored (whole), as RFC 9110 §14.2 allows. Several ranges are answered with the whole
// representation (no multipart/byteranges) unless none of them is satisfiable (416).
RangeResult evaluate_range(std::string_view field, uint64_t size);

} // namespace dialtone::fileserve
