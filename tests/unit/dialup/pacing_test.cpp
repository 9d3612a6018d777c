#include "pacing.hpp"

#include <catch2/catch.hpp>

using namespace dialtone::dialup;

TEST_CASE("modem names map to the standards' real downstream bit rates", "[dialup][modem]") {
    CHECK(find_modem("V.21")->bits_per_second == 300);
    CHECK(find_modem("V.26bis")->bits_per_second == 2400);
    CHECK(find_modem("V.32")->bits_per_second == 9600);
    CHECK(find_modem("V.34")->bits_per_second == 28800);
    CHECK(find_modem("V.92")->bits_per_second == 56000);
    CHECK(find_modem("T1")->bits_per_second == 1544000);
    CHECK(find_modem("i-was-rich-and-got-a-leased-line")->bits_per_second == 1544000);
}

TEST_CASE("modem names are case-insensitive and unknown ones are refused", "[dialup][modem]") {
    CHECK(find_modem("v.92") == find_modem("V.92"));
    CHECK(find_modem("V.90") == nullptr);
    CHECK(find_modem("") == nullptr);
    CHECK(modem_names() == "V.21, V.26bis, V.32, V.34, V.92, T1, i-was-rich-and-got-a-leased-line");
}

TEST_CASE("slices are a tenth of a second's worth but at least a floor", "[dialup][pacing]") {
    CHECK(slice_bytes(56000, 10, 64) == 700);    // V.92: 7000 B/s, 10 ticks, a 64-byte floor
    CHECK(slice_bytes(56000, 10, 4096) == 4096); // the floor wins
    CHECK(slice_bytes(1544000, 10, 4096) == 19300);
    CHECK(slice_bytes(2400, 10, 4096) == 300); // never more than a second's worth
    CHECK(slice_bytes(2400, 10, 64) == 64);    // 300 B/s: 30 would be silly small
    CHECK(slice_bytes(300, 10, 64) == 37);     // V.21: 37.5 B/s, a second's worth
    CHECK(slice_bytes(8, 10, 64) == 1);
    CHECK(slice_bytes(56000, 100, 1) == 70); // ticks_per_second sets the fraction
}

TEST_CASE("the default slice is the plugin's: ten ticks a second and a 4 KiB floor",
          "[dialup][pacing]") {
    CHECK(kDefaultTicksPerSecond == 10);
    CHECK(kDefaultMinSlice == 4096);
    CHECK(slice_bytes(56000) == 4096);    // V.92: a send every 585 ms
    CHECK(slice_bytes(1544000) == 19300); // T1: the tenth of a second wins
    CHECK(slice_bytes(2400) == 300);      // V.26bis: a second's worth
    CHECK(slice_bytes(300) == 37);        // V.21
    CHECK(time_for_bytes(56000, slice_bytes(56000)) == 585143);
}

TEST_CASE("the schedule allows rate times elapsed time, exactly", "[dialup][pacing]") {
    CHECK(allowed_bytes(56000, 0) == 0);
    CHECK(allowed_bytes(56000, 1000000) == 7000);
    CHECK(allowed_bytes(56000, 100000) == 700);
    CHECK(allowed_bytes(300, 1000000) == 37); // 37.5 rounds down: never early
    CHECK(allowed_bytes(300, 2000000) == 75);
    CHECK(allowed_bytes(100000000000ULL, 3600000000ULL) == 45000000000000ULL); // no overflow
    CHECK(time_for_bytes(56000, 7000) == 1000000);
    CHECK(time_for_bytes(300, 75) == 2000000);
    CHECK(time_for_bytes(300, 1) == 26667); // rounded up
}

TEST_CASE("a tick sends what is due and sleeps until the next slice", "[dialup][pacing]") {
    // At the start nothing is due yet; the first slice is due after 100 ms.
    Step s = next_step(56000, 700, 32768, 0, 0);
    CHECK(s.send == 0);
    CHECK(s.wait_us == 100000);
    s = next_step(56000, 700, 32768, 0, 100000);
    CHECK(s.send == 700);
    CHECK(s.wait_us == 100000);
}

TEST_CASE("a late timer catches up and lateness does not accumulate", "[dialup][pacing]") {
    // 350 ms late: everything due is sent at once, and the next deadline is on the schedule.
    Step s = next_step(56000, 700, 32768, 700, 550000);
    CHECK(s.send == 3850 - 700);
    // The next deadline comes from the schedule (the slice after 3850 bytes), not from "now".
    CHECK(s.wait_us == time_for_bytes(56000, 3850 + 700) - 550000);
}

TEST_CASE("an early timer sends nothing early", "[dialup][pacing]") {
    Step s = next_step(56000, 700, 32768, 700, 150000); // 1050 allowed, 700 sent
    CHECK(s.send == 350);
    CHECK(s.send + 700 <= allowed_bytes(56000, 150000));
}

TEST_CASE("the last slice is short and ends the transfer on time", "[dialup][pacing]") {
    Step s = next_step(56000, 700, 1000, 700, 142858);
    CHECK(s.send == 300);
    CHECK(s.wait_us == 0);
    // A whole transfer stepped on perfect timers lasts total / rate.
    uint64_t sent = 0, t = 0;
    int ticks = 0;
    while (true) {
        Step st = next_step(56000, 700, 32768, sent, t);
        sent += st.send;
        if (sent >= 32768)
            break;
        t += st.wait_us;
        ++ticks;
    }
    CHECK(t == time_for_bytes(56000, 32768));
    CHECK(ticks == 47);
}
