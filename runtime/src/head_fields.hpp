// A message head's fields as llhttp parsed them, and the reading both directions share of the
// fields that frame a message and decide whether its connection persists (RFC 9112 §6, §9.3):
// request_head.hpp and upstream_head.hpp hold each direction's rules over what this reads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dialtone::http {

// A header field's name and value as offsets into the head buffer they were copied into.
struct HeaderRef {
    uint32_t name_off, name_len, value_off, value_len;
};

inline std::string_view field_name(std::string_view buf, const HeaderRef &h) {
    return buf.substr(h.name_off, h.name_len);
}
inline std::string_view field_value(std::string_view buf, const HeaderRef &h) {
    return buf.substr(h.value_off, h.value_len);
}

// Drops the trailing whitespace llhttp keeps in field values (RFC 9110 §5.5 excludes it).
void trim_field_values(std::string_view buf, std::span<HeaderRef> fields);

// What a head's fields say about its framing and its connection.
struct FramingFields {
    int te_lines = 0;        // Transfer-Encoding field lines (present even when empty)
    std::string_view te;     // the last one's value
    int length_lines = 0;    // Content-Length field lines
    std::string_view length; // the last one's value
    bool close = false;      // Connection names "close" (llhttp 8.1 misses it before a tab)
    bool keep_alive = false; // Connection names "keep-alive"
    bool line_break = false; // a value holds CR or LF: obs-fold llhttp let through
};

FramingFields read_framing_fields(std::string_view buf, std::span<const HeaderRef> fields);

// A Content-Length value: 1*DIGIT that fits 64 bits (RFC 9110 §8.6), nothing else: no sign, no
// list, no whitespace (trimmed before).
std::optional<uint64_t> parse_content_length(std::string_view value);

} // namespace dialtone::http
