#include "framing_check.hpp"

#include "http.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <llhttp.h>

namespace dialtone::http {

namespace {

// The methods llhttp 8.1 parses in request mode; it refuses every other one as it refuses a
// malformed request line, so the check answers them itself.
constexpr std::string_view kParserMethods[] = {
#define DIALTONE_METHOD(num, name, string) #string,
    HTTP_METHOD_MAP(DIALTONE_METHOD)
#undef DIALTONE_METHOD
        "PRI", // the HTTP/2 preface: llhttp answers it
};

constexpr size_t longest_method() {
    size_t n = 0;
    for (std::string_view m : kParserMethods)
        n = std::max(n, m.size());
    return n;
}

bool parser_knows(std::string_view method, bool whole) {
    for (std::string_view m : kParserMethods) {
        if (whole ? m == method : m.substr(0, method.size()) == method)
            return true;
    }
    return false;
}

// A control byte other than HTAB (RFC 9110 §5.5: not allowed in a field value).
bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

// A byte a field value or reason phrase takes without ending or refusing it (text_byte): CR
// and LF are control bytes too.
bool is_text(unsigned char c) { return !is_ctl(c); }

// Whether none of the eight bytes at `p` is below 0x20 or 0x7f: all are text, HTAB excepted
// (the byte loop takes that one). The word tests are exact as booleans ("hasless" and
// "haszero", Bit Twiddling Hacks): field values are most of a head's bytes.
bool text_word(const char *p) {
    constexpr uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    uint64_t x;
    memcpy(&x, p, sizeof x);
    uint64_t below_space = (x - ones * 0x20) & ~x & highs;
    uint64_t y = x ^ (ones * 0x7f);
    uint64_t del = (y - ones) & ~y & highs;
    return (below_space | del) == 0;
}

// Where the run of text bytes from `i` ends in `data`.
size_t text_run(std::string_view data, size_t i) {
    for (;;) {
        while (data.size() - i >= 8 && text_word(data.data() + i))
            i += 8;
        if (i == data.size() || !is_text(static_cast<unsigned char>(data[i])))
            return i;
        ++i; // HTAB, or the last bytes
    }
}

} // namespace

FramingCheck::FramingCheck(Kind kind)
    : kind_(kind), phase_(kind == Kind::response ? Phase::status_line : Phase::before_line) {}

size_t FramingCheck::feed(std::string_view data) { return scan(data, false); }

size_t FramingCheck::feed_framing(std::string_view data) { return scan(data, true); }

size_t FramingCheck::scan(std::string_view data, bool stop_at_data) {
    size_t passed = 0; // bytes the parser may take
    size_t i = 0;
    while (i < data.size()) {
        switch (phase_) {
        case Phase::head_done:
        case Phase::message_done:
        case Phase::refused:
            return passed; // the parser goes first, or nothing more is taken
        case Phase::length_body:
        case Phase::chunk_data:
        case Phase::close_body: {
            // Body bytes are the parser's to count; only where they end matters here.
            if (stop_at_data)
                return passed;
            auto n = static_cast<size_t>(std::min<uint64_t>(data_left(), data.size() - i));
            take_data(n);
            i += n;
            passed = i;
            continue;
        }
        case Phase::request_line:
        case Phase::field_name:
        case Phase::field_value:
        case Phase::reason: {
            // Most of a head: a run of bytes that only moves the line on, skipped in a tight
            // loop (step() would take each the same way). None of these phases holds.
            size_t j = i;
            if (phase_ == Phase::field_name) {
                while (j < data.size() && is_tchar(static_cast<unsigned char>(data[j])))
                    ++j;
            } else if (phase_ == Phase::request_line) {
                // The target and the version: llhttp checks their bytes, step() only the SPs
                // and the line's end.
                while (j < data.size() && data[j] != ' ' && data[j] != '\r' && data[j] != '\n')
                    ++j;
                if (j > i)
                    after_space_ = false;
            } else {
                j = text_run(data, j);
            }
            if (j > i) {
                i = passed = j;
                continue;
            }
            break;
        }
        default:
            break;
        }
        step(static_cast<unsigned char>(data[i]));
        if (phase_ == Phase::refused)
            return passed;
        ++i;
        if (!holding())
            passed = i;
    }
    return passed;
}

uint64_t FramingCheck::data_left() const {
    switch (phase_) {
    case Phase::length_body:
    case Phase::chunk_data:
        return remaining_;
    case Phase::close_body:
        return UINT64_MAX;
    default:
        return 0;
    }
}

void FramingCheck::take_data(uint64_t n) {
    if (phase_ == Phase::close_body)
        return;
    remaining_ -= std::min(n, remaining_);
    if (remaining_ == 0)
        phase_ = phase_ == Phase::length_body ? Phase::message_done : Phase::chunk_data_cr;
}

void FramingCheck::expect_chunked() {
    phase_ = Phase::chunk_size;
    line_len_ = 0;
    chunk_digits_ = 0;
    remaining_ = 0;
}

void FramingCheck::expect_length(uint64_t length) {
    remaining_ = length;
    phase_ = length ? Phase::length_body : Phase::message_done;
}

void FramingCheck::expect_close() { phase_ = Phase::close_body; }

void FramingCheck::next_message() { *this = FramingCheck(kind_); }

void FramingCheck::refuse(int status, const char *why) {
    phase_ = Phase::refused;
    status_ = kind_ == Kind::response ? 502 : status;
    reason_ = why;
}

void FramingCheck::status_line_byte(unsigned char c) {
    // RFC 9112 §4: HTTP-version SP 3DIGIT SP; llhttp 8.1 takes more spaces, status codes of
    // 000..999 and versions up to 9.9. A reason phrase must follow the second SP, even empty.
    // In the pattern, 'v' is the minor version (0 or 1), 's' the class (1..5), 'd' a digit.
    constexpr std::string_view pattern = "HTTP/1.v sdd ";
    char want = pattern[line_len_++];
    bool ok = want == 'v'   ? c == '0' || c == '1'
              : want == 's' ? c >= '1' && c <= '5'
              : want == 'd' ? c >= '0' && c <= '9'
                            : c == static_cast<unsigned char>(want);
    if (!ok && want == 'v' && c >= '0' && c <= '9')
        refuse(400, "an HTTP version other than 1.0 and 1.1");
    else if (!ok && want == 's' && c >= '0' && c <= '9')
        refuse(400, "a status code outside 100..599");
    else if (!ok)
        refuse(400, "a status line that is not HTTP/1.x SP 3DIGIT SP reason");
    else if (line_len_ == pattern.size())
        phase_ = Phase::reason;
}

void FramingCheck::method_byte(unsigned char c) {
    static_assert(longest_method() <= sizeof method_);
    if (c == ' ') {
        if (phase_ == Phase::unknown_method || !parser_knows({method_, method_len_}, true)) {
            phase_ = Phase::unknown_target;
        } else {
            phase_ = Phase::request_line;
            line_len_ = 0; // spaces after the target
            after_space_ = true;
        }
    } else if (!is_tchar(c)) {
        refuse(400, "a method that is not a token");
    } else if (method_len_ == longest_method()) {
        refuse(501, "a method longer than any the server implements");
    } else {
        method_[method_len_++] = static_cast<char>(c);
        if (phase_ == Phase::method && !parser_knows({method_, method_len_}, false))
            phase_ = Phase::unknown_method;
    }
}

void FramingCheck::ext_byte(unsigned char c) {
    // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ])
    // with no whitespace before the CRLF. llhttp 8.1 takes an empty name (";=1") and more.
    bool ws = c == ' ' || c == '\t';
    bool end = c == '\r';
    const char *bad = "a chunk extension that is not RFC 9112's";
    switch (ext_) {
    case Ext::before_name:
        if (is_tchar(c))
            ext_ = Ext::name;
        else if (!ws)
            refuse(400, "a chunk extension's name is not a token");
        break;
    case Ext::name:
    case Ext::value:
    case Ext::after_quoted:
        if (end)
            phase_ = Phase::chunk_size_lf;
        else if (c == ';')
            ext_ = Ext::before_name;
        else if (ws)
            ext_ = ext_ == Ext::name ? Ext::after_name_ws : Ext::after_value_ws;
        else if (c == '=' && ext_ == Ext::name)
            ext_ = Ext::before_value;
        else if (!is_tchar(c) || ext_ == Ext::after_quoted)
            refuse(400, bad);
        break;
    case Ext::after_name_ws:
    case Ext::after_value_ws:
        if (c == ';')
            ext_ = Ext::before_name;
        else if (c == '=' && ext_ == Ext::after_name_ws)
            ext_ = Ext::before_value;
        else if (!ws)
            refuse(400, end ? "whitespace before the CRLF of a chunk-size line" : bad);
        break;
    case Ext::before_value:
        if (is_tchar(c))
            ext_ = Ext::value;
        else if (c == '"')
            ext_ = Ext::quoted;
        else if (!ws)
            refuse(400, bad);
        break;
    case Ext::quoted:
        if (c == '"')
            ext_ = Ext::after_quoted;
        else if (c == '\\')
            ext_ = Ext::quoted_pair;
        else if (is_ctl(c))
            refuse(400, "a control byte in a chunk extension");
        break;
    case Ext::quoted_pair:
        if (is_ctl(c))
            refuse(400, "a control byte in a chunk extension");
        else
            ext_ = Ext::quoted;
        break;
    }
}

void FramingCheck::text_byte(unsigned char c, const char *bare_lf, const char *control) {
    // A field value and a reason phrase (RFC 9112 §4, §5) are both HTAB, SP, VCHAR and obs-text
    // up to a CRLF.
    if (c == '\r')
        phase_ = Phase::line_lf;
    else if (c == '\n')
        refuse(400, bare_lf);
    else if (is_ctl(c))
        refuse(400, control);
}

void FramingCheck::step(unsigned char c) {
    switch (phase_) {
    case Phase::status_line:
        status_line_byte(c);
        break;
    case Phase::reason:
        text_byte(c, "a bare LF ending the status line", "a control byte in the reason phrase");
        break;
    case Phase::before_line:
        // RFC 9112 §2.2: empty lines before the request line are ignored; bare CR or LF is not.
        if (c == '\r')
            phase_ = Phase::before_line_lf;
        else if (c == '\n')
            refuse(400, "a bare LF before the request line");
        else {
            phase_ = Phase::method;
            method_byte(c);
        }
        break;
    case Phase::before_line_lf:
        if (c == '\n')
            phase_ = Phase::before_line;
        else
            refuse(400, "a bare CR before the request line");
        break;
    case Phase::method:
    case Phase::unknown_method:
        method_byte(c);
        break;
    case Phase::unknown_target:
        // The rest of a request line with a method llhttp would refuse: 501 only if the line
        // is otherwise one (RFC 9112 §3), so that "HELLO THERE" stays a bad request.
        if (c == ' ' && line_len_ > 0) {
            phase_ = Phase::unknown_version;
            line_len_ = 0;
        } else if (c > 0x20 && c != 0x7f) {
            ++line_len_;
        } else {
            refuse(400, "a request line that is not method, target and version");
        }
        break;
    case Phase::unknown_version: {
        constexpr std::string_view version = "HTTP/0.0\r\n"; // '0': any digit
        char want = version[line_len_++];
        if (want == '0' ? c < '0' || c > '9' : c != static_cast<unsigned char>(want))
            refuse(400, "a request line that is not method, target and version");
        else if (line_len_ == version.size())
            refuse(501, "a method the server does not implement");
        break;
    }
    case Phase::request_line:
        // The target and the version are checked once parsed; here where the line ends, and
        // that one SP separates them (RFC 9112 §3: llhttp also takes several, so "GET /a  B"
        // would mean another target to a parser that splits on single spaces).
        if (c == ' ') {
            if (after_space_ || line_len_++ > 0)
                refuse(400, "a request line that is not method SP target SP version");
            after_space_ = true;
        } else if (c == '\r' && (after_space_ || line_len_ != 1)) {
            refuse(400, "a request line that is not method SP target SP version");
        } else if (c == '\r') {
            phase_ = Phase::line_lf;
        } else if (c == '\n') {
            refuse(400, "a bare LF ending the request line");
        } else {
            after_space_ = false;
        }
        break;
    case Phase::line_lf:
        if (c == '\n')
            phase_ = Phase::field_start;
        else
            refuse(400, "a bare CR in a line");
        break;
    case Phase::field_start:
        if (c == '\r')
            phase_ = Phase::section_lf;
        else if (is_tchar(c))
            phase_ = Phase::field_name;
        else if (c == ' ' || c == '\t')
            // obs-fold, or whitespace before the first field (RFC 9112 §2.2, §5.2): llhttp would
            // take the line as the previous value's continuation.
            refuse(400, "whitespace at the start of a field line");
        else if (c == ':')
            refuse(400, "an empty field name");
        else if (c == '\n')
            refuse(400, "a bare LF in the head");
        else
            refuse(400, "a field name that is not a token");
        break;
    case Phase::field_name:
        if (c == ':')
            phase_ = Phase::field_value;
        else if (!is_tchar(c))
            refuse(400, "a field name that is not a token"); // a space before the colon too
        break;
    case Phase::field_value:
        text_byte(c, "a bare LF ending a field line", "a control byte in a field value");
        break;
    case Phase::section_lf:
        if (c == '\n')
            phase_ = trailers_ ? Phase::message_done : Phase::head_done;
        else
            refuse(400, trailers_ ? "a bare CR ending the trailer section"
                                  : "a bare CR ending the head");
        break;
    case Phase::chunk_size:
        ++line_len_;
        if (int d = hex_value(static_cast<char>(c)); d >= 0) {
            if (++chunk_digits_ > 16)
                refuse(400, "a chunk size of more than 16 hex digits");
            remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
        } else if (chunk_digits_ == 0) {
            refuse(400, "a chunk-size line without a size");
        } else if (c == '\r') {
            phase_ = Phase::chunk_size_lf;
        } else if (c == ';' || c == ' ' || c == '\t') {
            phase_ = Phase::chunk_ext;
            ext_ = c == ';' ? Ext::before_name : Ext::after_value_ws;
        } else {
            refuse(400, "a chunk size that is not hexadecimal");
        }
        break;
    case Phase::chunk_ext:
        if (c != '\r' && ++line_len_ > kMaxChunkLine)
            refuse(400, "a chunk-size line longer than 4 KiB");
        else if (c == '\n')
            refuse(400, "a bare LF ending a chunk-size line");
        else
            ext_byte(c);
        break;
    case Phase::chunk_size_lf:
        if (c != '\n') {
            refuse(400, "a bare CR in a chunk-size line");
        } else if (remaining_ == 0) {
            trailers_ = true; // the last chunk: the trailer section follows
            phase_ = Phase::field_start;
        } else {
            phase_ = Phase::chunk_data;
        }
        break;
    case Phase::chunk_data_cr:
        if (c == '\r')
            phase_ = Phase::chunk_data_lf;
        else
            refuse(400, "chunk data not followed by CRLF");
        break;
    case Phase::chunk_data_lf:
        if (c == '\n')
            expect_chunked(); // the next chunk-size line
        else
            refuse(400, "chunk data not followed by CRLF");
        break;
    case Phase::head_done:
    case Phase::length_body:
    case Phase::chunk_data:
    case Phase::close_body:
    case Phase::message_done:
    case Phase::refused:
        break; // feed does not step these
    }
}

} // namespace dialtone::http
