#include "head_fields.hpp"

#include "http.hpp"

namespace dialtone::http {

void trim_field_values(std::string_view buf, std::span<HeaderRef> fields) {
    for (HeaderRef &h : fields)
        while (h.value_len > 0 && (buf[h.value_off + h.value_len - 1] == ' ' ||
                                   buf[h.value_off + h.value_len - 1] == '\t'))
            --h.value_len;
}

FramingFields read_framing_fields(std::string_view buf, std::span<const HeaderRef> fields) {
    FramingFields f;
    for (const HeaderRef &h : fields) {
        std::string_view name = field_name(buf, h);
        std::string_view value = field_value(buf, h);
        // llhttp accepts obs-fold (a line break then whitespace inside a value) and keeps the
        // line break in the value; the framing check refuses it first, this is the backstop.
        for (char c : value) // not find_first_of: a memchr over "\r\n" for every byte
            if (c == '\r' || c == '\n')
                f.line_break = true;
        if (iequals(name, "transfer-encoding")) {
            ++f.te_lines;
            f.te = value;
        } else if (iequals(name, "content-length")) {
            ++f.length_lines;
            f.length = value;
        } else if (iequals(name, "connection")) {
            f.close = f.close || has_token(value, "close");
            f.keep_alive = f.keep_alive || has_token(value, "keep-alive");
        }
    }
    return f;
}

std::optional<uint64_t> parse_content_length(std::string_view value) {
    if (value.empty())
        return std::nullopt;
    uint64_t n = 0;
    for (char c : value) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10)
            return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

} // namespace dialtone::http
