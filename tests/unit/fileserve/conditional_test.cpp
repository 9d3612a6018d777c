#include <dialtone/fileserve/http.hpp>

#include <catch2/catch.hpp>

using namespace dialtone::fileserve;

namespace {

constexpr int64_t mtime = 784111777;
constexpr const char *at_mtime = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr const char *before_mtime = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char *after_mtime = "Sun, 06 Nov 1994 08:49:38 GMT";
constexpr const char *tag = "\"2ebc98a1-c\"";

const Validators validators{tag, mtime};
const Validators without_etag{"", mtime};

Precondition evaluate(const Conditionals &c, bool get_or_head = true) {
    return evaluate_preconditions(c, validators, get_or_head);
}

} // namespace

TEST_CASE("an entity tag is built from the mtime and size in hex", "[fileserve][etag]") {
    CHECK(make_etag(mtime, 12).view() == tag);
    CHECK(make_etag(0, 0).view() == "\"0-0\"");
    CHECK(make_etag(-1, UINT64_MAX).view() == "\"ffffffffffffffff-ffffffffffffffff\"");
}

TEST_CASE("entity tag lists match by strong or weak comparison", "[fileserve][etag]") {
    CHECK(etag_list_matches(tag, tag, ETagCompare::strong));
    CHECK(etag_list_matches("*", tag, ETagCompare::strong));
    CHECK(etag_list_matches(" * ", "", ETagCompare::strong));
    CHECK(etag_list_matches("\"a\", \"2ebc98a1-c\"", tag, ETagCompare::strong));
    CHECK(etag_list_matches("\"a\",,\t\"2ebc98a1-c\" ,", tag, ETagCompare::strong));
    CHECK_FALSE(etag_list_matches("\"a\", \"b\"", tag, ETagCompare::strong));
    CHECK_FALSE(etag_list_matches("\"2ebc98a1-C\"", tag, ETagCompare::weak));

    SECTION("a weak tag matches only by weak comparison") {
        CHECK(etag_list_matches("W/\"2ebc98a1-c\"", tag, ETagCompare::weak));
        CHECK_FALSE(etag_list_matches("W/\"2ebc98a1-c\"", tag, ETagCompare::strong));
    }
    SECTION("a resource without an entity tag matches only *") {
        CHECK_FALSE(etag_list_matches("\"\"", "", ETagCompare::weak));
        CHECK_FALSE(etag_list_matches(tag, "", ETagCompare::weak));
    }
    SECTION("parsing stops at the first malformed member") {
        CHECK_FALSE(etag_list_matches("2ebc98a1-c", tag, ETagCompare::weak));
        CHECK_FALSE(etag_list_matches("\"x\" junk, \"2ebc98a1-c\"", tag, ETagCompare::weak));
        CHECK_FALSE(etag_list_matches("\"2ebc98a1-c", tag, ETagCompare::weak));
        CHECK_FALSE(etag_list_matches("w/\"2ebc98a1-c\"", tag, ETagCompare::weak));
    }
}

TEST_CASE("a request without preconditions proceeds", "[fileserve][conditional]") {
    CHECK(evaluate({}) == Precondition::proceed);
}

TEST_CASE("If-Match fails with 412 unless a tag matches strongly", "[fileserve][conditional]") {
    CHECK(evaluate({.if_match = tag}) == Precondition::proceed);
    CHECK(evaluate({.if_match = "*"}) == Precondition::proceed);
    CHECK(evaluate({.if_match = "\"other\""}) == Precondition::failed);
    CHECK(evaluate({.if_match = "W/\"2ebc98a1-c\""}) == Precondition::failed);
    CHECK(evaluate_preconditions({.if_match = tag}, without_etag, true) == Precondition::failed);
    CHECK(evaluate_preconditions({.if_match = "*"}, without_etag, true) == Precondition::proceed);
}

TEST_CASE("If-Unmodified-Since fails with 412 when the file changed after the date",
          "[fileserve][conditional]") {
    CHECK(evaluate({.if_unmodified_since = before_mtime}) == Precondition::failed);
    CHECK(evaluate({.if_unmodified_since = at_mtime}) == Precondition::proceed);
    CHECK(evaluate({.if_unmodified_since = after_mtime}) == Precondition::proceed);
    CHECK(evaluate({.if_unmodified_since = "yesterday"}) == Precondition::proceed);
}

TEST_CASE("If-Unmodified-Since is ignored when If-Match is present", "[fileserve][conditional]") {
    CHECK(evaluate({.if_match = tag, .if_unmodified_since = before_mtime}) ==
          Precondition::proceed);
}

TEST_CASE("If-None-Match answers 304 to GET and HEAD and 412 to other methods on a match",
          "[fileserve][conditional]") {
    CHECK(evaluate({.if_none_match = tag}) == Precondition::not_modified);
    CHECK(evaluate({.if_none_match = "W/\"2ebc98a1-c\""}) == Precondition::not_modified);
    CHECK(evaluate({.if_none_match = "*"}) == Precondition::not_modified);
    CHECK(evaluate({.if_none_match = tag}, false) == Precondition::failed);
    CHECK(evaluate({.if_none_match = "\"other\""}) == Precondition::proceed);
    CHECK(evaluate_preconditions({.if_none_match = tag}, without_etag, true) ==
          Precondition::proceed);
}

TEST_CASE("If-Modified-Since answers 304 when the file did not change after the date",
          "[fileserve][conditional]") {
    CHECK(evaluate({.if_modified_since = at_mtime}) == Precondition::not_modified);
    CHECK(evaluate({.if_modified_since = after_mtime}) == Precondition::not_modified);
    CHECK(evaluate({.if_modified_since = before_mtime}) == Precondition::proceed);
    CHECK(evaluate({.if_modified_since = "Sunday, 06-Nov-94 08:49:37 GMT"}) ==
          Precondition::not_modified);
    CHECK(evaluate({.if_modified_since = "garbage"}) == Precondition::proceed);
}

TEST_CASE("If-Modified-Since applies to GET and HEAD only", "[fileserve][conditional]") {
    CHECK(evaluate({.if_modified_since = at_mtime}, false) == Precondition::proceed);
}

TEST_CASE("If-Modified-Since is ignored when If-None-Match is present",
          "[fileserve][conditional]") {
    CHECK(evaluate({.if_none_match = "\"other\"", .if_modified_since = at_mtime}) ==
          Precondition::proceed);
}

TEST_CASE("a failed If-Match wins over a matching If-None-Match", "[fileserve][conditional]") {
    CHECK(evaluate({.if_match = "\"other\"", .if_none_match = tag}) == Precondition::failed);
}

TEST_CASE("a failed If-Unmodified-Since wins over a matching If-Modified-Since",
          "[fileserve][conditional]") {
    CHECK(evaluate({.if_modified_since = at_mtime, .if_unmodified_since = before_mtime}) ==
          Precondition::failed);
}

TEST_CASE("If-Range lets the range apply only for a strong tag or the exact date",
          "[fileserve][conditional][range]") {
    CHECK(if_range_holds(tag, validators));
    CHECK(if_range_holds(at_mtime, validators));
    CHECK(if_range_holds(" Sun Nov  6 08:49:37 1994 ", validators));
    CHECK_FALSE(if_range_holds("W/\"2ebc98a1-c\"", validators));
    CHECK_FALSE(if_range_holds("\"other\"", validators));
    CHECK_FALSE(if_range_holds(after_mtime, validators));
    CHECK_FALSE(if_range_holds(before_mtime, validators));
    CHECK_FALSE(if_range_holds("\"2ebc98a1-c\" x", validators));
    CHECK_FALSE(if_range_holds("", validators));
    CHECK_FALSE(if_range_holds(tag, without_etag));
}
