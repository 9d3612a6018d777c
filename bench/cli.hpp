// Command-line helpers shared by the bench clients.
#pragma once

#include <cerrno>
#include <cstdlib>

namespace dialtone::bench {

// Parses all of `text` as a number within [lo, hi]; false for anything else.
inline bool parse_number(const char *text, double lo, double hi, double &out) {
    char *end = nullptr;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != 0 || !(v >= lo && v <= hi))
        return false;
    out = v;
    return true;
}

} // namespace dialtone::bench
