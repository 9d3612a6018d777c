#include "response_parser.hpp"

#include "http.hpp"
#include "upstream_head.hpp"

#include <algorithm>

namespace dialtone {

namespace {

ResponseParser &self(llhttp_t *p) { return *static_cast<ResponseParser *>(p->data); }

ResponseParser::Step step(ResponseParser::Event event, size_t used, std::string_view body = {}) {
    ResponseParser::Step s;
    s.event = event;
    s.used = used;
    s.body = body;
    return s;
}

// llhttp's errors about the fields that frame the body are framing errors; the rest are the
// head's grammar.
ResponseError llhttp_error_kind(llhttp_errno_t err) {
    switch (err) {
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_UNEXPECTED_CONTENT_LENGTH:
    case HPE_INVALID_TRANSFER_ENCODING:
        return ResponseError::invalid_framing;
    default:
        return ResponseError::invalid_head;
    }
}

} // namespace

std::optional<std::string_view> UpstreamHead::field(std::string_view name) const {
    for (size_t i = 0; i < fields_.size(); ++i)
        if (http::iequals(field_name(i), name))
            return field_value(i);
    return std::nullopt;
}

ResponseParser::ResponseParser(ResponseLimits limits) : limits_(limits) {
    llhttp_init(&llhttp_, HTTP_RESPONSE, &settings());
    llhttp_.data = this;
}

const llhttp_settings_t &ResponseParser::settings() {
    static const llhttp_settings_t settings = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_status = on_status;
        s.on_header_field = on_header_field;
        s.on_header_field_complete = on_header_field_complete;
        s.on_header_value = on_header_value;
        s.on_headers_complete = on_headers_complete;
        return s;
    }();
    return settings;
}

void ResponseParser::reset(std::string_view method) {
    method_ = method;
    phase_ = Phase::head;
    framing_ = http::FramingCheck(http::FramingCheck::Kind::response);
    new_head_ = true;
    head_bytes_ = 0;
    last_ = {};
}

ResponseParser::Step ResponseParser::feed(std::string_view data) {
    switch (phase_) {
    case Phase::head:
        return feed_head(data);
    case Phase::body:
        return feed_body(data);
    case Phase::done:
    case Phase::upgraded:
    case Phase::failed:
        break;
    }
    return last_;
}

ResponseParser::Step ResponseParser::fail(ResponseError error, const char *reason) {
    phase_ = Phase::failed;
    head_.keep_alive = false;
    last_ = step(Event::error, 0);
    last_.error = error;
    last_.reason = reason;
    return last_;
}

ResponseParser::Step ResponseParser::feed_head(std::string_view data) {
    if (new_head_) {
        // A fresh head, in the previous one's buffers: no allocation per response on a kept
        // connection.
        std::string buf = std::move(head_.buf_);
        std::vector<http::HeaderRef> fields = std::move(head_.fields_);
        buf.clear();
        fields.clear();
        head_ = UpstreamHead();
        head_.buf_ = std::move(buf);
        head_.fields_ = std::move(fields);
        llhttp_reset(&llhttp_);
        field_done_ = true;
        head_parsed_ = false;
        callback_error_ = ResponseError::none;
        new_head_ = false;
    }
    // The check sees at most one byte past the limit, so a long head costs no more than the
    // limit to refuse; llhttp parses only bytes the check passed and the limit allows, so every
    // error is found at the same byte however the data was split.
    size_t room = limits_.max_head_bytes - head_bytes_;
    size_t window = room == SIZE_MAX ? room : room + 1; // SIZE_MAX: no limit
    size_t passed = framing_.feed_framing(data.substr(0, window));
    size_t parse = std::min(passed, room);
    head_bytes_ += parse;
    if (parse > 0) {
        llhttp_errno_t err = llhttp_execute(&llhttp_, data.data(), parse);
        if (callback_error_ != ResponseError::none)
            return fail(callback_error_, "more field lines than ResponseLimits::max_fields");
        // PAUSED_UPGRADE: a 101 head ended (on_headers_complete asked for no body).
        if (err != HPE_OK && err != HPE_PAUSED_UPGRADE)
            return fail(llhttp_error_kind(err), llhttp_get_error_reason(&llhttp_));
    }
    if (passed > room)
        return fail(ResponseError::head_too_large, "a head over ResponseLimits::max_head_bytes");
    if (framing_.status() != 0)
        return fail(ResponseError::invalid_head, framing_.reason());
    if (framing_.head_ended())
        return head_complete(passed);
    return step(Event::more, passed);
}

ResponseParser::Step ResponseParser::head_complete(size_t used) {
    if (!head_parsed_)
        return fail(ResponseError::invalid_head,
                    "llhttp and the framing check disagree on where the head ends");
    new_head_ = true; // after an interim head; a final one is followed by reset()
    http::trim_field_values(head_.buf_, head_.fields_);
    parsed_.buf = head_.buf_;
    parsed_.fields = head_.fields_;
    http::ResponseVerdict v = http::check_response_head(parsed_, method_);
    if (v.error)
        return fail(ResponseError::invalid_framing, v.error);
    head_.status = parsed_.status;
    head_.http_minor = parsed_.http_minor;
    head_.framing = v.framing;
    head_.has_content_length = v.has_content_length;
    head_.content_length = v.content_length;
    head_.keep_alive = v.keep_alive;
    switch (v.kind) {
    case http::ResponseKind::interim:
        framing_.next_message();
        return step(Event::interim, used);
    case http::ResponseKind::tunnel:
        phase_ = Phase::upgraded;
        last_ = step(Event::upgrade, 0);
        return step(Event::upgrade, used);
    case http::ResponseKind::final:
        break;
    }
    switch (v.framing) {
    case http::BodyFraming::none:
        framing_.expect_length(0);
        break;
    case http::BodyFraming::length:
        framing_.expect_length(v.content_length);
        break;
    case http::BodyFraming::chunked:
        framing_.expect_chunked();
        break;
    case http::BodyFraming::close:
        framing_.expect_close();
        break;
    }
    phase_ = Phase::body;
    return step(Event::head, used);
}

ResponseParser::Step ResponseParser::feed_body(std::string_view data) {
    size_t pos = 0;
    for (;;) {
        if (framing_.message_ended()) {
            phase_ = Phase::done;
            last_ = step(Event::done, 0);
            return step(Event::done, pos);
        }
        if (pos == data.size())
            return step(Event::more, pos);
        if (uint64_t left = framing_.data_left(); left > 0) {
            auto n = static_cast<size_t>(std::min<uint64_t>(left, data.size() - pos));
            framing_.take_data(n);
            return step(Event::body, pos + n, data.substr(pos, n));
        }
        // Chunk-size lines, the CRLF after chunk data, the trailer section: checked, dropped.
        pos += framing_.feed_framing(data.substr(pos));
        if (framing_.status() != 0)
            return fail(ResponseError::invalid_body, framing_.reason());
    }
}

ResponseParser::Step ResponseParser::finish() {
    switch (phase_) {
    case Phase::head:
        if (head_bytes_ == 0)
            return fail(ResponseError::no_response, "the connection closed before a response");
        return fail(ResponseError::truncated, "the connection closed before a response head ended");
    case Phase::body:
        if (framing_.data_left() == UINT64_MAX || framing_.message_ended()) {
            phase_ = Phase::done;
            last_ = step(Event::done, 0);
            return last_;
        }
        return fail(ResponseError::truncated, "the connection closed inside a response body");
    case Phase::done:
    case Phase::upgraded:
    case Phase::failed:
        break;
    }
    return last_;
}

int ResponseParser::on_status(llhttp_t *p, const char *at, size_t len) {
    UpstreamHead &h = self(p).head_;
    h.buf_.append(at, len); // the status line comes first: the reason begins the buffer
    h.reason_len_ += static_cast<uint32_t>(len);
    return 0;
}

int ResponseParser::on_header_field(llhttp_t *p, const char *at, size_t len) {
    ResponseParser &rp = self(p);
    UpstreamHead &h = rp.head_;
    if (rp.field_done_) {
        if (h.fields_.size() >= rp.limits_.max_fields) {
            rp.callback_error_ = ResponseError::too_many_fields;
            return -1;
        }
        auto off = static_cast<uint32_t>(h.buf_.size());
        h.fields_.push_back({off, 0, off, 0});
        rp.field_done_ = false;
    }
    http::HeaderRef &f = h.fields_.back();
    h.buf_.append(at, len);
    f.name_len += static_cast<uint32_t>(len);
    f.value_off = static_cast<uint32_t>(h.buf_.size());
    return 0;
}

int ResponseParser::on_header_field_complete(llhttp_t *p) {
    self(p).field_done_ = true;
    return 0;
}

int ResponseParser::on_header_value(llhttp_t *p, const char *at, size_t len) {
    UpstreamHead &h = self(p).head_;
    if (h.fields_.empty())
        return -1; // a value without a name: the framing check refuses such lines first
    h.buf_.append(at, len);
    h.fields_.back().value_len += static_cast<uint32_t>(len);
    return 0;
}

int ResponseParser::on_headers_complete(llhttp_t *p) {
    ResponseParser &rp = self(p);
    // llhttp clears its flags once the message completes: keep what the check needs now.
    rp.parsed_.status = p->status_code;
    rp.parsed_.http_minor = p->http_minor;
    rp.parsed_.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
    rp.parsed_.content_length = p->content_length;
    rp.head_parsed_ = true;
    // 1: no body. The framing check delimits the body; llhttp ends the message here (and for
    // 101 with Upgrade, stops with HPE_PAUSED_UPGRADE).
    return 1;
}

} // namespace dialtone
