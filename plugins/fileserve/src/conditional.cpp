// Entity tags and preconditions (RFC 9110 §8.8.3, §13).
#include <dialtone/fileserve/http.hpp>

#include <dialtone/plugin_support/text.hpp>

namespace dialtone::fileserve {
namespace {

using plugin_support::is_ows;
using plugin_support::trim_ows;

// etagc = "!" / %x23-7E / obs-text: anything visible but DQUOTE.
bool is_etagc(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

struct ParsedTag {
    std::string_view opaque; // with its quotes
    bool weak;
};

// Parses one entity-tag at the front of `s` and consumes it.
std::optional<ParsedTag> take_etag(std::string_view &s) {
    bool weak = false;
    std::string_view rest = s;
    if (rest.starts_with("W/")) {
        weak = true;
        rest.remove_prefix(2);
    }
    if (rest.empty() || rest.front() != '"')
        return std::nullopt;
    std::size_t i = 1;
    while (i < rest.size() && is_etagc(rest[i]))
        ++i;
    if (i == rest.size() || rest[i] != '"')
        return std::nullopt;
    s = rest.substr(i + 1);
    return ParsedTag{rest.substr(0, i + 1), weak};
}

char *put_hex(char *out, uint64_t v) {
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        *out++ = tmp[--n];
    return out;
}

} // namespace

ETag make_etag(int64_t mtime, uint64_t size) {
    ETag tag;
    char *p = tag.data;
    *p++ = '"';
    p = put_hex(p, static_cast<uint64_t>(mtime));
    *p++ = '-';
    p = put_hex(p, size);
    *p++ = '"';
    tag.size = static_cast<uint8_t>(p - tag.data);
    return tag;
}

bool etag_list_matches(std::string_view field, std::string_view etag, ETagCompare compare) {
    std::string_view s = trim_ows(field);
    if (s == "*")
        return true;
    while (!s.empty()) {
        if (s.front() == ',' || is_ows(s.front())) { // empty list members are allowed
            s.remove_prefix(1);
            continue;
        }
        const std::optional<ParsedTag> tag = take_etag(s);
        if (!tag)
            return false;
        if (!etag.empty() && tag->opaque == etag && (compare == ETagCompare::weak || !tag->weak))
            return true;
        s = trim_ows(s);
        if (!s.empty() && s.front() != ',')
            return false;
    }
    return false;
}

Precondition evaluate_preconditions(const Conditionals &c, const Validators &v, bool get_or_head) {
    if (c.if_match) {
        if (!etag_list_matches(*c.if_match, v.etag, ETagCompare::strong))
            return Precondition::failed;
    } else if (c.if_unmodified_since) {
        const std::optional<int64_t> date = parse_http_date(*c.if_unmodified_since);
        if (date && v.last_modified > *date)
            return Precondition::failed;
    }
    if (c.if_none_match) {
        if (etag_list_matches(*c.if_none_match, v.etag, ETagCompare::weak))
            return get_or_head ? Precondition::not_modified : Precondition::failed;
    } else if (c.if_modified_since && get_or_head) {
        const std::optional<int64_t> date = parse_http_date(*c.if_modified_since);
        if (date && v.last_modified <= *date)
            return Precondition::not_modified;
    }
    return Precondition::proceed;
}

bool if_range_holds(std::string_view field, const Validators &v) {
    std::string_view s = trim_ows(field);
    if (s.starts_with('"') || s.starts_with("W/")) {
        const std::optional<ParsedTag> tag = take_etag(s);
        return tag && s.empty() && !tag->weak && !v.etag.empty() && tag->opaque == v.etag;
    }
    const std::optional<int64_t> date = parse_http_date(s);
    return date && *date == v.last_modified;
}

} // namespace dialtone::fileserve
