#include "request_head.hpp"

#include "http.hpp"

namespace dialtone::http {

namespace {

// For an absolute-form target ("http://host:port/path"), sets `authority` and returns true.
bool absolute_form_authority(std::string_view target, std::string_view &authority) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            size_t end = target.find_first_of("/?", scheme.size());
            authority =
                target.substr(scheme.size(), end == std::string_view::npos ? std::string_view::npos
                                                                           : end - scheme.size());
            return true;
        }
    }
    return false;
}

// The path and query of a target: absolute-form loses "http://host" (RFC 9112 §3.2.2: servers
// must accept it), an absolute-form target without a path means "/".
std::string_view origin_path(std::string_view target) {
    std::string_view authority;
    if (!absolute_form_authority(target, authority))
        return target;
    size_t rest = static_cast<size_t>(authority.data() - target.data()) + authority.size();
    return rest == target.size() ? "/" : target.substr(rest); // '?' first: refused as a bad path
}

// RFC 9112 §6.1: every coding of a Transfer-Encoding list is one we implement (chunked).
bool only_chunked(std::string_view te) {
    return !any_list_item(
        te, [](std::string_view coding) { return !coding.empty() && !iequals(coding, "chunked"); });
}

HeadVerdict refuse(int status) {
    HeadVerdict v;
    v.status = status;
    return v;
}

} // namespace

HeadVerdict check_request_head(const ParsedHead &head, uint64_t max_body_size) {
    HeadVerdict v;
    if (head.http_major != 1)
        return refuse(505);
    int version = head.http_major * 10 + head.http_minor;
    // llhttp accepts obs-fold and keeps the line break in the value; RFC 9112 §5.2 lets a
    // server reject it, and a value a plugin might copy into a response must not hold one.
    FramingFields framing = read_framing_fields(head.buf, head.fields);
    if (framing.line_break)
        return refuse(400);
    // One Transfer-Encoding field line, as nginx also insists: a second one would be joined to
    // the first by a recipient that combines lists and ignored by one that keeps the last.
    if (framing.te_lines > 1)
        return refuse(400);
    v.close = framing.close;
    size_t hosts = 0;
    std::string_view expect, host;
    for (const HeaderRef &h : head.fields) {
        std::string_view name = field_name(head.buf, h);
        std::string_view value = field_value(head.buf, h);
        if (iequals(name, "host")) {
            ++hosts;
            host = value;
            if (!valid_host(value))
                return refuse(400);
        } else if (iequals(name, "expect")) {
            expect = value;
        }
    }
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
    if (hosts > 1 || (hosts == 0 && version >= 11))
        return refuse(400);
    if (head.method == "CONNECT")
        return refuse(501);
    // llhttp lets controls, a fragment, raw UTF-8 and other bytes outside RFC 9112 §3.2's
    // grammar through in the request-target: 400 rather than a path a plugin might log or echo.
    if (!valid_target(head.target))
        return refuse(400);
    // Absolute-form (RFC 9112 §3.2.2) is accepted, but its authority must be the Host header
    // when there is one (HTTP/1.0 may omit it): a target naming another host than the one
    // plugins and logs see is refused, so no two parts of a chain can disagree about which
    // site a request is for.
    if (std::string_view authority; absolute_form_authority(head.target, authority) &&
                                    (authority.empty() || (hosts && !iequals(authority, host))))
        return refuse(400);
    // RFC 9112 §6.3: a request whose last transfer coding is not chunked has no reliable
    // length: 400. §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty
    // (an HTTP/1.0 hop before us would not have decoded it): 400 rather than a guess. Chunked
    // last but another coding we do not implement before it: 501.
    if (framing.te_lines) {
        if (!head.chunked || version < 11)
            return refuse(400);
        if (!only_chunked(framing.te))
            return refuse(501);
    }
    if (head.has_content_length && head.content_length > max_body_size)
        return refuse(413);
    if (!expect.empty()) {
        if (!iequals(expect, "100-continue"))
            return refuse(417);
        v.expect_continue = version >= 11;
    }
    // Asterisk-form is for a server-wide OPTIONS only (RFC 9112 §3.2.4), which the runtime
    // answers itself; any other method with it is 400 (normalize_path refuses "*").
    if (head.target != "*" || head.method != "OPTIONS") {
        std::string_view path, query;
        bool has_query;
        split_target(origin_path(head.target), path, query, has_query);
        if (int status = normalize_path(path, v.path); status != 0)
            return refuse(status);
    }
    return v;
}

} // namespace dialtone::http
