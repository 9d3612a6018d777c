#include <dialtone/fileserve/http.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace dialtone::fileserve;

namespace {

constexpr int64_t rfc_example = 784111777; // the instant of RFC 9110's examples
constexpr int64_t jan_1_2025 = 1735689600;

std::string format(int64_t t) {
    char buf[http_date_size];
    format_http_date(t, buf);
    return {buf, sizeof buf};
}

} // namespace

TEST_CASE("an HTTP date is formatted as IMF-fixdate", "[fileserve][date]") {
    CHECK(format(rfc_example) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(format(1709251199) == "Thu, 29 Feb 2024 23:59:59 GMT");
    CHECK(format(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST_CASE("times outside years 1970 to 9999 are clamped when formatted", "[fileserve][date]") {
    CHECK(format(-1) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format(253402300800) == "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST_CASE("the three HTTP date forms parse to the same instant", "[fileserve][date]") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", jan_1_2025) == rfc_example);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", jan_1_2025) == rfc_example);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994", jan_1_2025) == rfc_example);
    CHECK(parse_http_date("Thu Feb 29 23:59:59 2024", jan_1_2025) == 1709251199);
}

TEST_CASE("formatting then parsing an HTTP date gives the time back", "[fileserve][date]") {
    for (const int64_t t :
         {int64_t{0}, int64_t{59}, int64_t{86399}, int64_t{951782400}, int64_t{1709251199},
          int64_t{1735689600}, int64_t{4102444800}, int64_t{253402300799}}) {
        INFO(t);
        CHECK(parse_http_date(format(t)) == t);
    }
    for (int64_t t = 0; t < 4102444800; t += 86400 * 37 + 3601) // every weekday, month, year
        REQUIRE(parse_http_date(format(t)) == t);
}

TEST_CASE("surrounding whitespace around an HTTP date is ignored", "[fileserve][date]") {
    CHECK(parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT\t ") == rfc_example);
}

TEST_CASE("malformed HTTP dates are refused", "[fileserve][date]") {
    const char *bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37 UTC",   // zone must be GMT
        "Sun, 06 Nov 1994 08:49:37 GMT x", // trailing text
        "Sun, 6 Nov 1994 08:49:37 GMT",    // day must have two digits
        "Sun, 06 nov 1994 08:49:37 GMT",   // names are case-sensitive
        "Xyz, 06 Nov 1994 08:49:37 GMT",   // not a weekday
        "Sun, 06 Nov 94 08:49:37 GMT",     // IMF-fixdate has four-digit years
        "Sun, 31 Nov 1994 08:49:37 GMT",   // November has 30 days
        "Mon, 29 Feb 2100 00:00:00 GMT",   // 2100 is not a leap year
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", // RFC 850 has two-digit years
        "Sun Nov 6 08:49:37 1994",          // asctime pads the day with a space
        "1994-11-06T08:49:37Z",
    };
    for (const char *s : bad) {
        INFO(s);
        CHECK_FALSE(parse_http_date(s, jan_1_2025).has_value());
    }
}

TEST_CASE("a leap second and 29 February of a leap year are accepted", "[fileserve][date]") {
    CHECK(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == 1483228800);
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
}

TEST_CASE("an RFC 850 year more than 50 years ahead belongs to the previous century",
          "[fileserve][date]") {
    // From 2025, "75" is 2075 (50 years ahead) and "76" is 1976.
    CHECK(parse_http_date("Tuesday, 01-Jan-75 00:00:00 GMT", jan_1_2025) ==
          parse_http_date("Tue, 01 Jan 2075 00:00:00 GMT"));
    CHECK(parse_http_date("Thursday, 01-Jan-76 00:00:00 GMT", jan_1_2025) ==
          parse_http_date("Thu, 01 Jan 1976 00:00:00 GMT"));
    CHECK(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT", jan_1_2025) == 946684800);
    // Seen from 2090, "10" is 2110, not 2010.
    const int64_t jan_1_2090 = 3786912000;
    CHECK(parse_http_date("Friday, 01-Jan-10 00:00:00 GMT", jan_1_2090) ==
          parse_http_date("Fri, 01 Jan 2110 00:00:00 GMT"));
}
