// Dialup pacing: the modem table and the schedule arithmetic, as pure functions.
//
// The schedule is absolute: after `elapsed` microseconds since the response started, the
// transfer may have sent rate × elapsed bytes, never more. Each tick sends what the schedule
// allows and sleeps until the next slice is due, so a late timer catches up and an early one
// sends nothing early; lateness never accumulates (mod_dialup instead sends a second's worth per
// one-second relative timer, which bursts and drifts).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dialtone::dialup {

struct Modem {
    std::string_view name;
    uint64_t bits_per_second; // the standard's real downstream bit rate
};

// V.21 300, V.26bis 2400, V.32 9600, V.34 28800, V.92 56000 bit/s, and mod_dialup's leased line
// as a real T1 (1,544,000 bit/s), also under mod_dialup's name "i-was-rich-and-got-a-leased-line".
// mod_dialup has V.21 at 100 bit/s and rounds to whole bytes per second; rates here are exact.
std::span<const Modem> modems();
// Case-insensitive, as mod_dialup's ModemStandard. nullptr when unknown.
const Modem *find_modem(std::string_view name);
// "V.21, V.26bis, ..." for error messages.
std::string modem_names();

// The defaults of the plugin's `ticks_per_second` and `min_slice` settings. The floor is a page:
// below it the per-send cost (a syscall and a packet on each end) dominates, so it is what keeps
// CPU per transfer near a bulk sender's (bench/results/2026-11-26-paced-cpu.md). At V.92
// (7,000 B/s) it wins over a tenth of a second's 700 bytes: a send every 585 ms, 1.7 a second.
inline constexpr uint64_t kDefaultTicksPerSecond = 10;
inline constexpr uint64_t kDefaultMinSlice = 4096;

// Bytes per tick: 1/ticks_per_second of a second's worth, but at least `min_slice` bytes —
// unless a whole second's worth is less (V.21 sends 37 bytes a second, not 4 ten times).
uint64_t slice_bytes(uint64_t bits_per_second, uint64_t ticks_per_second = kDefaultTicksPerSecond,
                     uint64_t min_slice = kDefaultMinSlice);

// Bytes the schedule allows `elapsed_us` after the start (rounded down).
uint64_t allowed_bytes(uint64_t bits_per_second, uint64_t elapsed_us);
// The first moment, in microseconds after the start, at which `bytes` are allowed (rounded up).
uint64_t time_for_bytes(uint64_t bits_per_second, uint64_t bytes);

struct Step {
    uint64_t send;    // bytes to send now (0: nothing is due yet)
    uint64_t wait_us; // then wait this long for the next slice (0 when the transfer is done)
};
// What one tick does, `elapsed_us` after the start, with `sent` of `total` bytes already sent.
Step next_step(uint64_t bits_per_second, uint64_t slice, uint64_t total, uint64_t sent,
               uint64_t elapsed_us);

} // namespace dialtone::dialup
