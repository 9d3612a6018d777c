#include "framing_reference.hpp"

#include <limits>

namespace dialtone::test {
namespace {

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

// RFC 9110 §5.6.2.
bool is_tchar(unsigned char c) {
    return is_digit(c) || is_alpha(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 9110 §5.5: field-vchar and the SP / HTAB allowed between them; obs-text included.
bool is_field_byte(unsigned char c) { return is_ws(c) || (c >= 0x21 && c != 0x7f); }

// RFC 9110 §5.6.4: qdtext and what may follow a backslash in a quoted-pair.
bool is_qdtext(unsigned char c) { return is_field_byte(c) && c != '"' && c != '\\'; }

// RFC 3986 §2.2-2.3.
bool is_unreserved(unsigned char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(unsigned char c) {
    return std::string_view("!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
}

// Whether `s` is made of `allowed` bytes and well-formed pct-encodings only.
template <class Allowed> bool pct_text(std::string_view s, Allowed allowed) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '%') {
            if (i + 2 >= s.size())
                return false;
            if (!is_hex(static_cast<unsigned char>(s[i + 1])) ||
                !is_hex(static_cast<unsigned char>(s[i + 2])))
                return false;
            i += 2;
        } else if (!allowed(c)) {
            return false;
        }
    }
    return true;
}

// pchar / "/" / "?": every byte of a path and query after the first "/" (RFC 3986 §3.3-3.4).
bool is_path_or_query_byte(unsigned char c) {
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' || c == '?';
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ], uri-host from RFC 3986 §3.2.2 (an empty reg-name
// included: §7.2 asks for an empty Host when the target has no authority).
bool valid_host(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        if (close == std::string_view::npos || close == 1)
            return false;
        // IPv6address or IPvFuture, by their characters.
        for (char c : host.substr(1, close - 1)) {
            auto u = static_cast<unsigned char>(c);
            if (!is_unreserved(u) && !is_sub_delim(u) && u != ':')
                return false;
        }
        host.remove_prefix(close + 1);
        if (!host.empty() && host.front() != ':')
            return false;
    } else {
        size_t colon = host.find(':');
        std::string_view name = host.substr(0, colon);
        host.remove_prefix(colon == std::string_view::npos ? host.size() : colon);
        if (!pct_text(name, [](unsigned char c) { return is_unreserved(c) || is_sub_delim(c); }))
            return false;
    }
    if (!host.empty()) // ":" port
        for (char c : host.substr(1))
            if (!is_digit(static_cast<unsigned char>(c)))
                return false;
    return true;
}

// RFC 9112 §3.2: the four forms, each only with the method it belongs to (§3.2.3, §3.2.4).
// Absolute-form's hier-part is checked for its characters only (plus "[" and "]" for an
// IP-literal host); where the authority is, and what it names, is no matter for framing.
const char *target_error(std::string_view method, std::string_view target) {
    if (method == "CONNECT") {
        // authority-form = uri-host ":" port
        size_t colon = target.rfind(':');
        size_t bracket = target.rfind(']');
        if (colon == std::string_view::npos ||
            (bracket != std::string_view::npos && colon < bracket) || !valid_host(target))
            return "CONNECT needs the authority-form target host:port";
        return nullptr;
    }
    if (target == "*")
        return method == "OPTIONS" ? nullptr : "the asterisk-form is for OPTIONS only";
    if (target.front() == '/')
        return pct_text(target, is_path_or_query_byte) ? nullptr
                                                       : "the origin-form target has a byte "
                                                         "RFC 3986 does not allow there";
    // absolute-form: scheme ":" hier-part [ "?" query ]
    size_t colon = target.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !is_alpha(static_cast<unsigned char>(target[0])))
        return "the request-target is in none of the four forms";
    for (char c : target.substr(0, colon)) {
        auto u = static_cast<unsigned char>(c);
        if (!is_alpha(u) && !is_digit(u) && u != '+' && u != '-' && u != '.')
            return "the request-target is in none of the four forms";
    }
    auto allowed = [](unsigned char c) { return is_path_or_query_byte(c) || c == '[' || c == ']'; };
    return pct_text(target.substr(colon + 1), allowed) ? nullptr
                                                       : "the absolute-form target has a byte "
                                                         "RFC 3986 does not allow there";
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return false;
    return true;
}

enum class Step { ok, more, bad };

// A position in some bytes, with the grammar's small pieces. Each piece returns ok and moves
// past what it read; more when the bytes end before it can tell; bad (with the offset and the
// rule) when a byte breaks it. A complete cursor reads a whole field value: its end is final.
struct Cursor {
    std::string_view in;
    bool complete = false;
    size_t pos = 0;
    size_t bad_at = 0;
    const char *why = "";

    bool at_end() const { return pos >= in.size(); }
    unsigned char peek(size_t ahead = 0) const {
        return static_cast<unsigned char>(in[pos + ahead]);
    }
    Step fail(const char *rule) {
        bad_at = pos;
        why = rule;
        return Step::bad;
    }
    Step ended(const char *rule) { return complete ? fail(rule) : Step::more; }

    void skip_ws() {
        while (!at_end() && is_ws(peek()))
            ++pos;
    }

    // Strict: CRLF only, everywhere (RFC 9112 §2.2 lets a recipient take a bare LF; a bare CR
    // must be rejected or replaced; both are the classic way to make two parsers disagree).
    Step crlf() {
        if (at_end())
            return Step::more;
        if (peek() != '\r')
            return fail(peek() == '\n' ? "a bare LF ends a line" : "a line does not end in CRLF");
        if (pos + 1 >= in.size())
            return Step::more;
        if (peek(1) != '\n')
            return fail("a bare CR");
        pos += 2;
        return Step::ok;
    }

    // 1*tchar, ending at the first other byte (which must exist).
    Step token(std::string_view &out, const char *rule) {
        size_t begin = pos;
        while (!at_end() && is_tchar(peek()))
            ++pos;
        if (at_end() && !complete)
            return Step::more;
        if (pos == begin)
            return fail(rule);
        out = in.substr(begin, pos - begin);
        return Step::ok;
    }

    // RFC 9110 §5.6.4.
    Step quoted_string() {
        if (at_end())
            return Step::more;
        if (peek() != '"')
            return fail("a parameter value is neither a token nor a quoted-string");
        ++pos;
        for (;;) {
            if (at_end())
                return ended("a quoted-string does not end");
            unsigned char c = peek();
            if (c == '"') {
                ++pos;
                return Step::ok;
            }
            if (c == '\\') {
                ++pos;
                if (at_end())
                    return ended("a quoted-string does not end");
                if (!is_field_byte(peek()))
                    return fail("a control character in a quoted-string");
            } else if (!is_qdtext(c)) {
                return fail("a control character in a quoted-string");
            }
            ++pos;
        }
    }

    Step token_or_quoted_string() {
        if (!at_end() && peek() == '"')
            return quoted_string();
        std::string_view ignored;
        return token(ignored, "a parameter value is neither a token nor a quoted-string");
    }

    // field-line = field-name ":" OWS field-value OWS, then CRLF (RFC 9112 §5). Strict: no
    // obs-fold (§5.2 allows a server to reject it, and does not allow it in a trailer).
    Step field_line(std::string_view &name, std::string_view &value) {
        if (at_end())
            return Step::more;
        if (is_ws(peek()))
            return fail("obs-fold or whitespace before a field name");
        if (Step s = token(name, "a field name is not a token"); s != Step::ok)
            return s;
        if (is_ws(peek()))
            return fail("whitespace after a field name");
        if (peek() == '\r' || peek() == '\n')
            return fail("a field line has no colon");
        if (peek() != ':')
            return fail("a field name is not a token");
        ++pos;
        size_t begin = pos;
        while (!at_end() && is_field_byte(peek()))
            ++pos;
        value = in.substr(begin, pos - begin);
        while (!value.empty() && is_ws(static_cast<unsigned char>(value.front())))
            value.remove_prefix(1);
        while (!value.empty() && is_ws(static_cast<unsigned char>(value.back())))
            value.remove_suffix(1);
        if (!at_end() && peek() != '\r' && peek() != '\n')
            return fail("a control character in a field value");
        return crlf();
    }

    // Field lines up to the empty line that ends a header or trailer section.
    template <class OnField> Step field_section(OnField on_field) {
        for (;;) {
            if (at_end())
                return Step::more;
            if (peek() == '\r' || peek() == '\n')
                return crlf();
            std::string_view name, value;
            if (Step s = field_line(name, value); s != Step::ok)
                return s;
            on_field(name, value);
        }
    }
};

// RFC 9112 §6.1: Transfer-Encoding = #transfer-coding, transfer-coding = token *( OWS ";" OWS
// transfer-parameter ), transfer-parameter = token BWS "=" BWS ( token / quoted-string ).
// Returns the rule broken, or nullptr when the list is well formed and chunked is last and once.
const char *transfer_encoding_error(std::string_view list) {
    Cursor c{list, true};
    size_t codings = 0;
    bool chunked_seen = false;
    bool chunked_last = false;
    for (;;) {
        c.skip_ws();
        if (c.at_end())
            break;
        if (c.peek() == ',') { // empty list elements are ignored (RFC 9110 §5.6.1)
            ++c.pos;
            continue;
        }
        std::string_view coding;
        if (c.token(coding, "a transfer coding is not a token") != Step::ok)
            return c.why;
        ++codings;
        bool chunked = iequals(coding, "chunked");
        // Strict: a sender must not chunk twice (§6.1); a recipient that decodes once and one
        // that decodes twice disagree about the body.
        if (chunked && chunked_seen)
            return "chunked is applied twice";
        chunked_seen = chunked_seen || chunked;
        bool parameters = false;
        for (;;) {
            c.skip_ws();
            if (c.at_end() || c.peek() != ';')
                break;
            parameters = true;
            ++c.pos;
            c.skip_ws();
            std::string_view name;
            if (c.token(name, "a transfer parameter's name is not a token") != Step::ok)
                return c.why;
            c.skip_ws();
            if (c.at_end() || c.peek() != '=')
                return "a transfer parameter has no value";
            ++c.pos;
            c.skip_ws();
            if (c.token_or_quoted_string() != Step::ok)
                return c.why;
        }
        // chunked defines no parameters (§7): "chunked;x=y" is some other coding.
        chunked_last = chunked && !parameters;
        if (c.at_end())
            break;
        if (c.peek() != ',')
            return "transfer codings are not separated by commas";
        ++c.pos;
    }
    if (codings == 0)
        return "Transfer-Encoding names no coding";
    return chunked_last ? nullptr : "Transfer-Encoding does not end in chunked";
}

// Reads one request from `c`, which is where the previous one ended.
class RequestReader {
  public:
    explicit RequestReader(Cursor &c) : c_(c) {}

    Step read(FramedRequest &r) {
        // RFC 9112 §2.2: empty lines before the request-line are ignored. Strict: CRLF only.
        for (;;) {
            if (c_.at_end())
                return Step::more;
            if (c_.peek() != '\r' && c_.peek() != '\n')
                break;
            if (Step s = c_.crlf(); s != Step::ok)
                return s;
        }
        r.start = c_.pos;
        if (Step s = request_line(r); s != Step::ok)
            return s;
        if (Step s = header_section(r); s != Step::ok)
            return s;
        if (Step s = body(r); s != Step::ok)
            return s;
        r.end = c_.pos;
        return Step::ok;
    }

  private:
    Cursor &c_;
    size_t hosts_ = 0;
    bool host_valid_ = true;
    size_t content_lengths_ = 0;
    std::string_view content_length_;
    std::string transfer_encoding_; // all its field lines, joined as one list (RFC 9110 §5.3)
    bool has_transfer_encoding_ = false;

    Step expect(char byte, const char *rule) {
        if (c_.at_end())
            return Step::more;
        if (c_.peek() != static_cast<unsigned char>(byte))
            return c_.fail(rule);
        ++c_.pos;
        return Step::ok;
    }

    // request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3). Strict: one SP
    // each (§3 allows a lenient parser to take other whitespace; that is how parsers split a
    // target differently).
    Step request_line(FramedRequest &r) {
        std::string_view method;
        if (Step s = c_.token(method, "the method is not a token"); s != Step::ok)
            return s;
        if (Step s = expect(' ', "the method is not followed by one SP"); s != Step::ok)
            return s;
        size_t target_at = c_.pos;
        while (!c_.at_end() && c_.peek() > 0x20 && c_.peek() < 0x7f)
            ++c_.pos;
        if (c_.at_end())
            return Step::more;
        std::string_view target = c_.in.substr(target_at, c_.pos - target_at);
        if (target.empty())
            return c_.fail("the request-target is empty");
        if (c_.peek() == '\r' || c_.peek() == '\n')
            return c_.fail("the request-line has no HTTP-version");
        if (Step s = expect(' ', "a byte that is not a visible ASCII character in the target");
            s != Step::ok)
            return s;
        if (const char *why = target_error(method, target)) {
            c_.pos = target_at;
            return c_.fail(why);
        }
        for (char byte : std::string_view("HTTP/1.")) {
            // Strict: HTTP/1.x only; another major version has another framing, if any.
            if (Step s = expect(byte, "the version is not HTTP/1.x"); s != Step::ok)
                return s;
        }
        if (c_.at_end())
            return Step::more;
        if (!is_digit(c_.peek()))
            return c_.fail("the version is not HTTP/1.x");
        r.http_minor = c_.peek() - '0';
        ++c_.pos;
        r.method = method;
        r.target = target;
        return c_.crlf();
    }

    Step header_section(FramedRequest &r) {
        Step s = c_.field_section([this](std::string_view name, std::string_view value) {
            if (iequals(name, "host")) {
                ++hosts_;
                host_valid_ = host_valid_ && valid_host(value);
            } else if (iequals(name, "content-length")) {
                ++content_lengths_;
                content_length_ = value;
            } else if (iequals(name, "transfer-encoding")) {
                if (has_transfer_encoding_)
                    transfer_encoding_ += ',';
                transfer_encoding_ += value;
                has_transfer_encoding_ = true;
            }
        });
        // Verdicts on the fields as a whole point at the end of the head.
        return s == Step::ok ? framing(r) : s;
    }

    Step framing(FramedRequest &r) {
        // RFC 9112 §3.2: one Host in HTTP/1.1, at most one in 1.0, and a valid one.
        if (hosts_ > 1 || (hosts_ == 0 && r.http_minor >= 1))
            return c_.fail(hosts_ ? "more than one Host" : "an HTTP/1.1 request without Host");
        if (!host_valid_)
            return c_.fail("Host is not uri-host [ \":\" port ]");
        if (has_transfer_encoding_) {
            // §6.3: both is a smuggling attempt until proven otherwise; §6.1: an HTTP/1.0
            // message with Transfer-Encoding has faulty framing.
            if (content_lengths_)
                return c_.fail("both Content-Length and Transfer-Encoding");
            if (r.http_minor == 0)
                return c_.fail("Transfer-Encoding in an HTTP/1.0 request");
            if (const char *why = transfer_encoding_error(transfer_encoding_))
                return c_.fail(why);
            r.framing = Framing::chunked;
            return Step::ok;
        }
        if (content_lengths_) {
            // Strict: one field line, Content-Length = 1*DIGIT (RFC 9110 §8.6). A list of
            // identical values ("5, 5") or a repeated line is refused, not merged: §8.6 allows
            // either, and refusing leaves no room for two parsers to merge differently.
            if (content_lengths_ > 1)
                return c_.fail("more than one Content-Length");
            if (content_length_.empty())
                return c_.fail("Content-Length is not 1*DIGIT");
            uint64_t n = 0;
            for (char d : content_length_) {
                if (!is_digit(static_cast<unsigned char>(d)))
                    return c_.fail("Content-Length is not 1*DIGIT");
                auto digit = static_cast<uint64_t>(d - '0');
                if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10)
                    return c_.fail("Content-Length overflows 64 bits");
                n = n * 10 + digit;
            }
            r.framing = Framing::content_length;
            r.body_length = n;
        }
        return Step::ok;
    }

    Step body(FramedRequest &r) {
        if (r.framing == Framing::content_length) {
            if (c_.in.size() - c_.pos < r.body_length)
                return Step::more;
            c_.pos += r.body_length;
            return Step::ok;
        }
        if (r.framing == Framing::chunked)
            return chunked_body(r);
        return Step::ok;
    }

    // chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 §7.1).
    Step chunked_body(FramedRequest &r) {
        for (;;) {
            uint64_t size = 0;
            size_t digits = 0;
            for (; !c_.at_end() && is_hex(c_.peek()); ++c_.pos, ++digits) {
                if (size > (std::numeric_limits<uint64_t>::max() >> 4))
                    return c_.fail("the chunk size overflows 64 bits");
                unsigned char h = c_.peek() | 0x20;
                size = size * 16 + static_cast<uint64_t>(is_digit(h) ? h - '0' : h - 'a' + 10);
            }
            if (c_.at_end())
                return Step::more;
            if (digits == 0)
                return c_.fail("a chunk does not start with its size in hex");
            if (Step s = chunk_extensions(); s != Step::ok)
                return s;
            if (Step s = c_.crlf(); s != Step::ok)
                return s;
            if (size == 0)
                return c_.field_section([](std::string_view, std::string_view) {});
            if (size > std::numeric_limits<uint64_t>::max() - r.body_length)
                return c_.fail("the chunked body overflows 64 bits");
            if (c_.in.size() - c_.pos < size)
                return Step::more;
            c_.pos += size;
            r.body_length += size;
            if (Step s = c_.crlf(); s != Step::ok) {
                if (s == Step::bad)
                    c_.why = "chunk data is not followed by CRLF";
                return s;
            }
        }
    }

    // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), with
    // chunk-ext-name = token and chunk-ext-val = token / quoted-string (RFC 9112 §7.1.1).
    Step chunk_extensions() {
        for (;;) {
            size_t before_ws = c_.pos;
            c_.skip_ws();
            if (c_.at_end())
                return Step::more;
            if (c_.peek() != ';') {
                // BWS comes before a ";" or an "=" only, never before the CRLF.
                c_.pos = before_ws;
                if (is_ws(c_.peek()))
                    return c_.fail("whitespace before the CRLF of a chunk-size line");
                if (c_.peek() != '\r' && c_.peek() != '\n')
                    return c_.fail("the chunk size is followed by neither an extension nor CRLF");
                return Step::ok;
            }
            ++c_.pos;
            c_.skip_ws();
            std::string_view name;
            if (Step s = c_.token(name, "a chunk extension's name is not a token"); s != Step::ok)
                return s;
            size_t after_name = c_.pos;
            c_.skip_ws();
            if (c_.at_end())
                return Step::more;
            if (c_.peek() == '=') {
                ++c_.pos;
                c_.skip_ws();
                if (Step s = c_.token_or_quoted_string(); s != Step::ok)
                    return s;
            } else {
                c_.pos = after_name; // the whitespace belongs to the next ";"
            }
        }
    }
};

} // namespace

FramingVerdict frame_requests(std::string_view input) {
    FramingVerdict verdict;
    Cursor c{input};
    for (;;) {
        size_t start = c.pos;
        FramedRequest r;
        Step s = RequestReader(c).read(r);
        if (s == Step::ok) {
            verdict.requests.push_back(std::move(r));
            continue;
        }
        verdict.at = start;
        if (s == Step::bad) {
            verdict.ending = Ending::invalid;
            verdict.error = c.bad_at;
            verdict.reason = c.why;
        } else {
            // Only empty lines since the last request: nothing of another one has arrived.
            bool nothing = true;
            for (size_t i = start; i < input.size(); i += 2)
                nothing = nothing && input.substr(i, 2) == "\r\n";
            verdict.ending = nothing ? Ending::clean : Ending::incomplete;
        }
        return verdict;
    }
}

} // namespace dialtone::test
