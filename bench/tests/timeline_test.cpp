// Timeline (bench/timeline.hpp): the per-interval counts of hostile_client --mode keepalive.
#include "timeline.hpp"

#include <catch2/catch.hpp>

using dialtone::bench::Timeline;

TEST_CASE("statuses fall into 2xx, 502, 503, 504 and the rest", "[bench][timeline]") {
    CHECK(Timeline::of_status(200) == Timeline::status_2xx);
    CHECK(Timeline::of_status(206) == Timeline::status_2xx);
    CHECK(Timeline::of_status(502) == Timeline::status_502);
    CHECK(Timeline::of_status(503) == Timeline::status_503);
    CHECK(Timeline::of_status(504) == Timeline::status_504);
    CHECK(Timeline::of_status(500) == Timeline::status_other);
    CHECK(Timeline::of_status(304) == Timeline::status_other);
}

TEST_CASE("outcomes are counted in the interval they happen in, empty ones included",
          "[bench][timeline]") {
    Timeline t(100);
    t.add(0, Timeline::status_2xx);
    t.add(99, Timeline::status_2xx);
    t.add(250, Timeline::reset);
    CHECK(t.total(Timeline::status_2xx) == 2);
    CHECK(t.total(Timeline::reset) == 1);
    CHECK(t.tsv() ==
          "ms\ts2xx\ts502\ts503\ts504\tother\tconnect\tclosed\treset\ttimeout\tprotocol\n"
          "0\t2\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
          "100\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
          "200\t0\t0\t0\t0\t0\t0\t0\t1\t0\t0\n");
}

TEST_CASE("a timeline with nothing counted is its header", "[bench][timeline]") {
    CHECK(Timeline(1000).tsv() ==
          "ms\ts2xx\ts502\ts503\ts504\tother\tconnect\tclosed\treset\ttimeout\tprotocol\n");
}
