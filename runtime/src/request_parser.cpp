#include "request_parser.hpp"

#include "request.hpp"
#include "request_head.hpp"

#include <algorithm>
#include <cstring>

namespace dialtone {

namespace {

RequestParser &self(llhttp_t *p) { return *static_cast<RequestParser *>(p->data); }

} // namespace

RequestParser::RequestParser(Events &events, const Limits &limits)
    : events_(events), limits_(limits) {
    llhttp_init(&parser_, HTTP_REQUEST, &settings());
    parser_.data = this;
}

const llhttp_settings_t &RequestParser::settings() {
    static const llhttp_settings_t settings = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_field_complete = on_header_field_complete;
        s.on_header_value = on_header_value;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    return settings;
}

RequestParser::Result RequestParser::feed(const char *data, size_t len) {
    // llhttp parses only what the framing check passed; the check stops where the head and the
    // body end, so that llhttp has said what comes next before the check reads it.
    const char *pos = data;
    const char *end = data + len;
    while (pos < end) {
        size_t passed = framing_.feed({pos, static_cast<size_t>(end - pos)});
        if (passed > 0) {
            parse_end_ = pos + passed;
            llhttp_errno_t err = llhttp_execute(&parser_, pos, passed);
            if (stopped_)
                return {Result::stopped};
            if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
                const char *at = llhttp_get_error_pos(&parser_);
                if (!at || at < pos || at > pos + passed)
                    at = pos + passed;
                if (err == HPE_PAUSED_UPGRADE)
                    llhttp_resume_after_upgrade(&parser_); // upgrades are not supported: carry on
                else
                    llhttp_resume(&parser_);
                if (message_done_) {
                    message_done_ = false;
                    return {Result::message, static_cast<size_t>(at - data)};
                }
                // After a request asking for an Upgrade, which on_message_complete paused as any
                // other, llhttp reports the upgrade once more when parsing goes on: there is no
                // new request, the next bytes are another request (we answered in HTTP/1.1).
                // The framing check read them already: it starts that request again.
                framing_.next_message();
                pos = at;
                continue;
            }
            if (err != HPE_OK)
                return refused_by_llhttp(err);
        }
        pos += passed;
        if (framing_.status() != 0)
            return {Result::refused, 0, framing_.status(), framing_.reason()};
        if (framing_.holding())
            break; // an unknown method: the check answers once it is whole
        if (passed == 0) {
            // The check waits for llhttp to end the head or the message, and llhttp did not:
            // the two disagree about the framing.
            return {Result::refused, 0, 400,
                    "llhttp and the framing check disagree on where a message ends"};
        }
    }
    return {Result::more, len};
}

RequestParser::Result RequestParser::refused_by_llhttp(llhttp_errno_t err) const {
    int status = status_ ? status_ : 400;
    // 505 for a well-formed version we do not speak ("HTTP/2.0"); a malformed one ("HTTP/1.x",
    // a bare CR after it) is a bad request like any other syntax error.
    const char *reason = llhttp_get_error_reason(&parser_);
    if (err == HPE_INVALID_VERSION && reason && strcmp(reason, "Invalid HTTP version") == 0)
        status = 505;
    return {Result::refused, 0, status, reason};
}

int RequestParser::refuse(int status) {
    status_ = status;
    return -1;
}

int RequestParser::count_head_bytes(size_t len) {
    head_bytes_ += len;
    return head_bytes_ > limits_.max_head_size ? refuse(431) : 0;
}

int RequestParser::on_message_begin(llhttp_t *p) {
    RequestParser &rp = self(p);
    rp.req_ = &rp.events_.message_begun();
    rp.head_bytes_ = 0;
    rp.field_done_ = true;
    rp.status_ = 0;
    return 0;
}

int RequestParser::on_url(llhttp_t *p, const char *at, size_t len) {
    RequestParser &rp = self(p);
    Request &r = *rp.req_;
    if (r.target_len == 0) {
        // The framing check passed no more than the head: what is left of it holds the target
        // and every field, so one allocation takes the whole head when it came in one read.
        auto left = static_cast<size_t>(rp.parse_end_ - at);
        r.hbuf.reserve(std::min(left, rp.limits_.max_head_size));
        r.headers.reserve(8);
    }
    r.hbuf.append(at, len);
    r.target_len += static_cast<uint32_t>(len);
    rp.head_bytes_ += len;
    return r.target_len > rp.limits_.max_uri_size ? rp.refuse(414) : 0;
}

int RequestParser::on_header_field(llhttp_t *p, const char *at, size_t len) {
    RequestParser &rp = self(p);
    Request &r = *rp.req_;
    if (rp.field_done_) {
        if (r.headers.size() >= rp.limits_.max_headers)
            return rp.refuse(431);
        auto off = static_cast<uint32_t>(r.hbuf.size());
        r.headers.push_back({off, 0, off, 0});
        rp.field_done_ = false;
        rp.head_bytes_ += 4; // ": " and CRLF
    }
    HeaderRef &h = r.headers.back();
    r.hbuf.append(at, len);
    h.name_len += static_cast<uint32_t>(len);
    h.value_off = static_cast<uint32_t>(r.hbuf.size());
    return rp.count_head_bytes(len);
}

int RequestParser::on_header_field_complete(llhttp_t *p) {
    self(p).field_done_ = true;
    return 0;
}

int RequestParser::on_header_value(llhttp_t *p, const char *at, size_t len) {
    RequestParser &rp = self(p);
    Request &r = *rp.req_;
    // llhttp reports a line starting with whitespace as a value with no name before it (the
    // framing check refuses such lines first).
    if (r.headers.empty())
        return rp.refuse(400);
    HeaderRef &h = r.headers.back();
    r.hbuf.append(at, len);
    h.value_len += static_cast<uint32_t>(len);
    return rp.count_head_bytes(len);
}

int RequestParser::on_headers_complete(llhttp_t *p) {
    RequestParser &rp = self(p);
    Request &r = *rp.req_;
    r.method = p->method;
    r.method_name = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    r.http_version = p->http_major * 10 + p->http_minor;
    r.is_head = p->method == HTTP_HEAD;
    r.keep_alive = llhttp_should_keep_alive(p);
    if (p->http_major == 1)
        http::trim_field_values(r.hbuf, r.headers);
    http::ParsedHead head{r.method_name,
                          p->http_major,
                          p->http_minor,
                          (p->flags & F_CHUNKED) != 0,
                          (p->flags & F_CONTENT_LENGTH) != 0,
                          p->content_length,
                          r.hbuf,
                          r.target(),
                          r.headers};
    http::HeadVerdict verdict = http::check_request_head(head, rp.limits_.max_body_size);
    if (verdict.status != 0)
        return rp.refuse(verdict.status);
    if (verdict.close)
        r.keep_alive = false;
    r.expect_continue = verdict.expect_continue;
    r.path = std::move(verdict.path);

    bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length);
    if (p->flags & F_CHUNKED)
        rp.framing_.expect_chunked();
    else
        rp.framing_.expect_length(has_body ? p->content_length : 0);
    if (!rp.events_.head_complete(has_body)) {
        rp.stopped_ = true;
        return -1;
    }
    return 0;
}

int RequestParser::on_body(llhttp_t *p, const char *at, size_t len) {
    RequestParser &rp = self(p);
    Request &r = *rp.req_;
    if (r.body.size() + len > rp.limits_.max_body_size)
        return rp.refuse(413);
    r.body.append(at, len);
    rp.events_.body_received();
    return 0;
}

int RequestParser::on_message_complete(llhttp_t *p) {
    RequestParser &rp = self(p);
    rp.message_done_ = true;
    rp.framing_.next_message();
    return HPE_PAUSED; // one message at a time: feed returns with it
}

} // namespace dialtone
