#include "upstream_head.hpp"

#include "http.hpp"

namespace dialtone::http {

namespace {

ResponseVerdict refuse(const char *why) {
    ResponseVerdict v;
    v.error = why;
    return v;
}

} // namespace

ResponseVerdict check_response_head(const ParsedResponse &head, std::string_view method) {
    FramingFields fields = read_framing_fields(head.buf, head.fields);
    if (fields.line_break)
        return refuse("a line break inside a field value");
    // One field line each: a second Transfer-Encoding would be joined to the first by one
    // recipient and ignored by another; several Content-Length lines, equal or not, are refused
    // as nginx (1.23+) and llhttp refuse them, rather than picking one (RFC 9110 §8.6 allows it).
    if (fields.te_lines > 1)
        return refuse("more than one Transfer-Encoding field line");
    if (fields.length_lines > 1)
        return refuse("more than one Content-Length field line");
    ResponseVerdict v;
    if (fields.length_lines) {
        std::optional<uint64_t> length = parse_content_length(fields.length);
        if (!length)
            return refuse("a Content-Length that is not one decimal number");
        // Two readings of one field must agree, or llhttp's leniency decides the framing.
        if (!head.has_content_length || head.content_length != *length)
            return refuse("llhttp read Content-Length otherwise");
        v.has_content_length = true;
        v.content_length = *length;
    }
    // RFC 9112 §6.1 and §6.3 ¶3: a sender must not send both, and a proxy must not forward a
    // message whose length two hops could read differently (request smuggling's usual shape).
    if (fields.te_lines && fields.length_lines)
        return refuse("Transfer-Encoding with Content-Length");
    if (fields.te_lines && head.http_minor == 0)
        return refuse("Transfer-Encoding in an HTTP/1.0 response");
    // §6.3 ¶4 would read a body whose last coding is not chunked to the end of the connection;
    // but a proxy removes Transfer-Encoding (hop-by-hop) and could not decode that body, so it
    // would forward bytes its client cannot read. "chunked, chunked" is not allowed either
    // (§7: chunked is applied once).
    if (fields.te_lines && !iequals(fields.te, "chunked"))
        return refuse("a Transfer-Encoding other than chunked");

    bool head_request = method == "HEAD";
    if (head.status == 101 || (method == "CONNECT" && head.status / 100 == 2)) {
        v.kind = ResponseKind::tunnel;
        return v;
    }
    if (head.status / 100 == 1) {
        v.kind = ResponseKind::interim;
        return v;
    }
    if (head_request || head.status == 204 || head.status == 304)
        v.framing = BodyFraming::none;
    else if (fields.te_lines)
        v.framing = BodyFraming::chunked;
    else if (fields.length_lines)
        v.framing = BodyFraming::length;
    else
        v.framing = BodyFraming::close;
    v.keep_alive = v.framing != BodyFraming::close &&
                   (head.http_minor >= 1 ? !fields.close : fields.keep_alive && !fields.close);
    return v;
}

} // namespace dialtone::http
