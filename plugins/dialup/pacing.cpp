#include "pacing.hpp"

#include <dialtone/plugin_support/text.hpp>

#include <algorithm>
#include <array>

namespace dialtone::dialup {

namespace {

constexpr std::array<Modem, 7> kModems = {{
    {"V.21", 300},
    {"V.26bis", 2400},
    {"V.32", 9600},
    {"V.34", 28800},
    {"V.92", 56000},
    {"T1", 1544000},
    {"i-was-rich-and-got-a-leased-line", 1544000},
}};

} // namespace

std::span<const Modem> modems() { return kModems; }

const Modem *find_modem(std::string_view name) {
    for (const Modem &m : kModems)
        if (plugin_support::iequals(m.name, name))
            return &m;
    return nullptr;
}

std::string modem_names() {
    std::string out;
    for (const Modem &m : kModems) {
        if (!out.empty())
            out += ", ";
        out += m.name;
    }
    return out;
}

uint64_t slice_bytes(uint64_t bits_per_second, uint64_t ticks_per_second, uint64_t min_slice) {
    uint64_t per_second = bits_per_second / 8;
    uint64_t slice = per_second / std::max<uint64_t>(ticks_per_second, 1);
    uint64_t floor = std::min(min_slice, std::max<uint64_t>(per_second, 1));
    return std::max(slice, floor);
}

uint64_t allowed_bytes(uint64_t bits_per_second, uint64_t elapsed_us) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(bits_per_second) * elapsed_us /
                                 8000000u);
}

uint64_t time_for_bytes(uint64_t bits_per_second, uint64_t bytes) {
    if (bits_per_second == 0)
        return UINT64_MAX;
    unsigned __int128 num = static_cast<unsigned __int128>(bytes) * 8000000u;
    return static_cast<uint64_t>((num + bits_per_second - 1) / bits_per_second);
}

Step next_step(uint64_t bits_per_second, uint64_t slice, uint64_t total, uint64_t sent,
               uint64_t elapsed_us) {
    uint64_t allowed = std::min(total, allowed_bytes(bits_per_second, elapsed_us));
    Step step{allowed > sent ? allowed - sent : 0, 0};
    uint64_t after = sent + step.send;
    if (after >= total)
        return step;
    uint64_t due = time_for_bytes(bits_per_second, std::min(total, after + slice));
    step.wait_us = due > elapsed_us ? due - elapsed_us : 1;
    return step;
}

} // namespace dialtone::dialup
