#include <dialtone/plugin_support/text.hpp>

#include <catch2/catch.hpp>

using namespace dialtone::plugin_support;

TEST_CASE("an absent dt_str_t is an empty view but a nullopt optional view", "[support][text]") {
    const dt_str_t absent{nullptr, 0};
    const dt_str_t empty{"", 0};
    const dt_str_t some{"GET /x", 3};
    CHECK(view(absent).empty());
    CHECK(view(empty).empty());
    CHECK(view(some) == "GET");
    CHECK_FALSE(optional_view(absent).has_value());
    REQUIRE(optional_view(empty).has_value());
    CHECK(optional_view(empty)->empty());
    CHECK(optional_view(some) == std::string_view("GET"));
}

TEST_CASE("trim_ows drops spaces and tabs at both ends only", "[support][text]") {
    CHECK(trim_ows("  a b\t") == "a b");
    CHECK(trim_ows("\t\t") == "");
    CHECK(trim_ows("") == "");
    CHECK(trim_ows("\na\r") == "\na\r"); // CR and LF are not optional whitespace
    CHECK(is_ows(' '));
    CHECK(is_ows('\t'));
    CHECK_FALSE(is_ows('\n'));
}

TEST_CASE("iequals folds ASCII letters only, on both sides", "[support][text]") {
    CHECK(iequals("Application/JSON", "application/json"));
    CHECK(iequals("bytes", "BYTES"));
    CHECK(iequals("", ""));
    CHECK_FALSE(iequals("byte", "bytes"));
    CHECK_FALSE(iequals("[", "{")); // 0x5b and 0x7b differ by 32 but are not letters
    CHECK_FALSE(iequals("\xc4", "\xe4"));
    CHECK(to_lower('Z') == 'z');
    CHECK(to_lower('@') == '@');
    static_assert(iequals("V.92", "v.92"), "usable in constant expressions");
}

TEST_CASE("has_token finds a token in a comma-separated list, trimmed and in any case",
          "[support][text]") {
    CHECK(has_token("close", "close"));
    CHECK(has_token("Upgrade, CLOSE", "close"));
    CHECK(has_token(" keep-alive ,\tupgrade", "upgrade"));
    CHECK_FALSE(has_token("closed", "close"));
    CHECK_FALSE(has_token("", "close"));
    CHECK_FALSE(has_token(",,", "close"));
}

TEST_CASE("query_param finds a key's first value, and tells absent from empty", "[support][text]") {
    CHECK(query_param("a=1&format=json", "format") == std::string_view("json"));
    CHECK(query_param("format=html&format=json", "format") == std::string_view("html"));
    CHECK(query_param("a=&b=2", "a") == std::string_view(""));
    CHECK_FALSE(query_param("a&b=2", "a").has_value()); // no "=": not a value
    CHECK_FALSE(query_param("xa=1&a2=3", "a").has_value());
    CHECK_FALSE(query_param("", "a").has_value());
    CHECK(query_param("up=/x?y&id=7", "id") == std::string_view("7"));
}
