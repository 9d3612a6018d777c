#include <dialtone/fileserve/http.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace dialtone::fileserve;

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

void check_partial(const char *field, uint64_t size, uint64_t offset, uint64_t length) {
    INFO(field << " of " << size << " bytes");
    const RangeResult r = evaluate_range(field, size);
    CHECK(r.outcome == RangeOutcome::partial);
    CHECK(r.offset == offset);
    CHECK(r.length == length);
}

void check_whole(const char *field, uint64_t size) {
    INFO(field << " of " << size << " bytes");
    const RangeResult r = evaluate_range(field, size);
    CHECK(r.outcome == RangeOutcome::whole);
    CHECK(r.offset == 0);
    CHECK(r.length == size);
}

void check_unsatisfiable(const char *field, uint64_t size) {
    INFO(field << " of " << size << " bytes");
    CHECK(evaluate_range(field, size).outcome == RangeOutcome::unsatisfiable);
}

} // namespace

TEST_CASE("a first-last range selects those bytes", "[fileserve][range]") {
    check_partial("bytes=0-499", 1000, 0, 500);
    check_partial("bytes=0-0", 1000, 0, 1);
    check_partial("bytes=999-999", 1000, 999, 1);
    check_partial("bytes=500-999", 1000, 500, 500);
}

TEST_CASE("a last position past the end is clipped to the end", "[fileserve][range]") {
    check_partial("bytes=990-5000", 1000, 990, 10);
    check_partial("bytes=0-1000", 1000, 0, 1000);
}

TEST_CASE("an open range runs to the end of the file", "[fileserve][range]") {
    check_partial("bytes=500-", 1000, 500, 500);
    check_partial("bytes=0-", 1000, 0, 1000);
    check_partial("bytes=999-", 1000, 999, 1);
}

TEST_CASE("a suffix range selects the last bytes, or the whole file if it is shorter",
          "[fileserve][range]") {
    check_partial("bytes=-200", 1000, 800, 200);
    check_partial("bytes=-1", 1000, 999, 1);
    check_partial("bytes=-1000", 1000, 0, 1000);
    check_partial("bytes=-2000", 1000, 0, 1000);
}

TEST_CASE("a range past the end of the file gets 416", "[fileserve][range]") {
    check_unsatisfiable("bytes=1000-", 1000);
    check_unsatisfiable("bytes=1000-2000", 1000);
    check_unsatisfiable("bytes=-0", 1000);
}

TEST_CASE("no range of an empty file is satisfiable", "[fileserve][range]") {
    check_unsatisfiable("bytes=0-", 0);
    check_unsatisfiable("bytes=0-10", 0);
    check_unsatisfiable("bytes=-5", 0);
}

TEST_CASE("numbers too large for 64 bits saturate instead of wrapping", "[fileserve][range]") {
    check_partial("bytes=0-99999999999999999999999", 1000, 0, 1000);
    check_partial("bytes=-99999999999999999999999", 1000, 0, 1000);
    check_unsatisfiable("bytes=99999999999999999999999-", 1000);
    check_unsatisfiable("bytes=18446744073709551616-18446744073709551617", 1000); // 2^64, 2^64+1
    // 2^64 + 1 would wrap to 1 and select bytes 0-1 if the parser wrapped.
    check_partial("bytes=0-18446744073709551617", 1000, 0, 1000);
}

TEST_CASE("ranges work at the limits of a 64-bit size", "[fileserve][range]") {
    check_partial("bytes=18446744073709551613-", max_u64, max_u64 - 2, 2);
    check_partial("bytes=-3", max_u64, max_u64 - 3, 3);
    check_partial("bytes=0-", max_u64, 0, max_u64);
    check_unsatisfiable("bytes=18446744073709551615-", max_u64);
}

TEST_CASE("whitespace is allowed around range list members only", "[fileserve][range]") {
    check_partial(" bytes=0-1", 1000, 0, 2);
    check_partial("bytes= 0-1 ", 1000, 0, 2);
    check_partial("bytes=\t0-1\t", 1000, 0, 2);
    check_partial("bytes=0-1, ", 1000, 0, 2);
    check_partial("bytes=, ,0-1", 1000, 0, 2);
    check_whole("bytes=0 - 1", 1000);
    check_whole("bytes =0-1", 1000);
    check_whole("bytes=0- 1", 1000);
}

TEST_CASE("the range unit is compared case-insensitively", "[fileserve][range]") {
    check_partial("Bytes=0-1", 1000, 0, 2);
    check_partial("BYTES=0-1", 1000, 0, 2);
}

TEST_CASE("several ranges are answered with the whole file unless none is satisfiable",
          "[fileserve][range]") {
    check_whole("bytes=0-1,5-6", 1000);
    check_whole("bytes=0-1, 2000-3000", 1000);
    check_whole("bytes=-1,0-", 1000);
    check_unsatisfiable("bytes=2000-,3000-4000", 1000);
    check_unsatisfiable("bytes=-0,1000-", 1000);
}

TEST_CASE("a malformed Range field is ignored", "[fileserve][range]") {
    const char *bad[] = {
        "",           "bytes",     "bytes=",      "bytes=,",       "bytes=-",   "bytes=--1",
        "bytes=5-1",  "bytes=abc", "bytes=1-2-3", "bytes=0-1x",    "bytes 0-1", "items=0-1",
        "bytes=+1-2", "bytes=1",   "bytes=0-1,x", "bytes=0-1,5-1", "=0-1",      "bytesx=0-1",
    };
    for (const char *field : bad)
        check_whole(field, 1000);
}
