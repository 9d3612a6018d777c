// paced_allowance (bench/read_pace.hpp): the schedule of dialup_client's paced reader.
#include "read_pace.hpp"

#include <catch2/catch.hpp>

using dialtone::bench::pace_burst;
using dialtone::bench::paced_allowance;

constexpr uint64_t kSecond = 1000000000;

TEST_CASE("a paced reader may read its burst at once and the rate after that", "[bench][pace]") {
    CHECK(paced_allowance(7000, 0, 0, 700) == 700);
    CHECK(paced_allowance(7000, kSecond, 0, 700) == 7700);
    CHECK(paced_allowance(7000, kSecond / 2, 700, 700) == 3500);
}

TEST_CASE("a paced reader ahead of its schedule may read nothing", "[bench][pace]") {
    CHECK(paced_allowance(7000, kSecond, 7700, 700) == 0);
    CHECK(paced_allowance(7000, kSecond, 100000, 700) == 0);
}

TEST_CASE("a late check catches up with the absolute schedule", "[bench][pace]") {
    // 150 s of a 1 MiB download at 7,000 B/s, of which 10 KiB read: the rest is due at once.
    CHECK(paced_allowance(7000, 150 * kSecond, 10240, 700) == 7000 * 150 + 700 - 10240);
}

TEST_CASE("the burst is one pacing tick's worth, at least a byte", "[bench][pace]") {
    CHECK(pace_burst(7000) == 700);
    CHECK(pace_burst(5) == 1);
}
