#include "snippets.hpp"

#include <catch2/catch.hpp>

using namespace dialtone::docs;

namespace {

Snippet only_snippet(const std::string &markdown) {
    Document doc = extract(markdown, "doc.md");
    REQUIRE(doc.problems.empty());
    REQUIRE(doc.snippets.size() == 1);
    return doc.snippets[0];
}

} // namespace

TEST_CASE("fenced blocks are found with their language, line and text", "[docs][extract]") {
    Document doc =
        extract("# T\n\n```c\nint x;\n```\n\ntext\n\n~~~~ TOML {.x}\na = 1\n~~~~\n", "doc.md");
    REQUIRE(doc.problems.empty());
    REQUIRE(doc.snippets.size() == 2);
    CHECK(doc.snippets[0].line == 3);
    CHECK(doc.snippets[0].lang == Lang::c);
    CHECK(doc.snippets[0].text == "int x;\n");
    CHECK(doc.snippets[1].info == "TOML");
    CHECK(doc.snippets[1].lang == Lang::toml);
    CHECK(doc.snippets[1].text == "a = 1\n");
}

TEST_CASE("a block inside a list item loses the fence's indentation only", "[docs][extract]") {
    Snippet s = only_snippet("- item:\n\n  ```c\n  if (x)\n      y();\n  ```\n");
    CHECK(s.text == "if (x)\n    y();\n");
}

TEST_CASE("a shorter fence or one with a language does not close a block", "[docs][extract]") {
    Snippet s = only_snippet("````md\n```c\nint x;\n```\n````\n");
    CHECK(s.text == "```c\nint x;\n```\n");
}

TEST_CASE("languages are named loosely", "[docs][extract]") {
    CHECK(language_of("C++") == Lang::cpp);
    CHECK(language_of("cpp") == Lang::cpp);
    CHECK(language_of("bash") == Lang::sh);
    CHECK(language_of("cmake") == Lang::cmake);
    CHECK(language_of("console") == Lang::other);
    CHECK(language_of("") == Lang::other);
}

TEST_CASE("a marker before a fence decides its check", "[docs][marker]") {
    SECTION("kind, arguments and reason") {
        Snippet s = only_snippet("<!-- snippet: config www/ a.so=hello (needs hello) -->\n\n"
                                 "```toml\nx = 1\n```\n");
        REQUIRE(s.marker);
        CHECK(s.marker->kind == Kind::config);
        CHECK(s.marker->args == std::vector<std::string>{"www/", "a.so=hello"});
        CHECK(s.marker->reason == "needs hello");
        CHECK(s.marker->line == 1);
    }
    SECTION("the lines after the first are a prelude") {
        Snippet s = only_snippet("  <!-- snippet: statements\n  #include <string.h>\n  -->\n"
                                 "  ```c\n  f();\n  ```\n");
        REQUIRE(s.marker);
        CHECK(s.marker->kind == Kind::statements);
        CHECK(s.marker->prelude == "#include <string.h>\n");
    }
}

TEST_CASE("a marker that decides no block is a problem", "[docs][marker]") {
    SECTION("prose between") {
        Document doc = extract("<!-- snippet: tu -->\nSome prose.\n```c\nint x;\n```\n", "d.md");
        REQUIRE(doc.problems.size() == 1);
        CHECK(doc.problems[0] == "d.md:1: snippet marker decides no code block");
        REQUIRE(doc.snippets.size() == 1);
        CHECK_FALSE(doc.snippets[0].marker);
    }
    SECTION("at the end of the file") {
        Document doc = extract("text\n<!-- snippet: tu -->\n", "d.md");
        CHECK(doc.problems == std::vector<std::string>{"d.md:2: snippet marker decides no code "
                                                       "block"});
    }
    SECTION("an unknown kind") {
        Document doc = extract("<!-- snippet: fragmnet -->\n```c\nint x;\n```\n", "d.md");
        REQUIRE(doc.problems.size() == 1);
        CHECK(doc.problems[0].find("unknown kind \"fragmnet\"") != std::string::npos);
    }
}

TEST_CASE("a C or C++ block without a marker fails and the others have a default", "[docs][plan]") {
    CHECK(plan_for(only_snippet("```c\nint x;\n```\n")).kind == Kind::undecided);
    CHECK_FALSE(plan_for(only_snippet("```cpp\nint x;\n```\n")).problem.empty());
    CHECK(plan_for(only_snippet("```toml\na = 1\n```\n")).kind == Kind::parse);
    CHECK(plan_for(only_snippet("```sh\nls\n```\n")).kind == Kind::syntax);
    CHECK(plan_for(only_snippet("```cmake\nx()\n```\n")).kind == Kind::syntax);
    CHECK(plan_for(only_snippet("```console\n$ ls\n```\n")).kind == Kind::skip);
}

TEST_CASE("a marker must fit its block", "[docs][plan]") {
    CHECK(plan_for(only_snippet("<!-- snippet: plugin -->\n```toml\na = 1\n```\n")).kind ==
          Kind::undecided);
    CHECK(plan_for(only_snippet("<!-- snippet: config -->\n```c\nint x;\n```\n")).kind ==
          Kind::undecided);
    CHECK(plan_for(only_snippet("<!-- snippet: skip -->\n```c\nint x;\n```\n")).problem ==
          "snippet marker: skip needs a reason: skip (why)");
    CHECK(plan_for(only_snippet("<!-- snippet: excerpt -->\n```c\nint x;\n```\n")).problem ==
          "snippet marker: excerpt takes one PATH");
    CHECK(plan_for(only_snippet("<!-- snippet: skip (shown output) -->\n```c\nx\n```\n")).kind ==
          Kind::skip);
}

TEST_CASE("fragments are wrapped and complete units compile as they are", "[docs][unit]") {
    SECTION("a plugin keeps its text, after the prelude and a #line") {
        Snippet s = only_snippet("<!-- snippet: plugin\n#define X 1\n-->\n```c\nint x;\n```\n");
        CHECK(translation_unit(s, plan_for(s)) == "#define X 1\n#line 5 \"doc.md\"\nint x;\n");
    }
    SECTION("statements go inside a function that has the hooks' parameters") {
        Snippet s = only_snippet("<!-- snippet: statements -->\n```c\nreturn 1;\n```\n");
        std::string tu = translation_unit(s, plan_for(s));
        CHECK(tu.find("#include <dialtone/plugin.h>\nstatic const dt_api_t *api;\n") == 0);
        CHECK(tu.find("dt_req_t *req, const dt_config_t *cfg, char *err, size_t err_len) {\n"
                      "#line 3 \"doc.md\"\nreturn 1;\n") != std::string::npos);
    }
    SECTION("members go inside a struct") {
        Snippet s = only_snippet("<!-- snippet: members -->\n```c\nint (*f)(void);\n```\n");
        CHECK(translation_unit(s, plan_for(s))
                  .find("struct snippet_under_test {\n#line 3 \"doc.md\"\nint (*f)(void);\n};") !=
              std::string::npos);
    }
}

TEST_CASE("an excerpt's lines stand in its source in order", "[docs][excerpt]") {
    const char *source = "int a(void)\n{\n    return 1; /* one */\n}\n\n"
                         "// b gives two\nint b(void) { return 2; }\nint c;\n";
    SECTION("indentation, spacing and comments do not count") {
        CHECK_FALSE(
            excerpt_mismatch("int a(void)\n{\n  return  1;   // the answer\n}\n", source, true));
    }
    SECTION("a gap marked ... may skip lines; without it the lines must be adjacent") {
        CHECK_FALSE(excerpt_mismatch("int a(void)\n...\nint c;\n", source, true));
        CHECK_FALSE(excerpt_mismatch("int a(void)\n// ... more\nint c;\n", source, true));
        CHECK(excerpt_mismatch("int a(void)\nint c;\n", source, true) == "int c;");
    }
    SECTION("the order counts") {
        CHECK(excerpt_mismatch("int c;\n...\nint a(void)\n", source, true) == "int a(void)");
    }
    SECTION("a changed line is named") {
        CHECK(excerpt_mismatch("int a(void)\n{\n    return 2;\n}\n", source, true) == "return 2;");
    }
    SECTION("outside C, # starts a comment (not inside quotes)") {
        CHECK_FALSE(excerpt_mismatch("x = 1 # a\n", "# x\nx = 1\n", false));
        CHECK(excerpt_mismatch("x = \"#1\"\n", "x = \"\"\n", false) == "x = \"#1\"");
    }
}

TEST_CASE("comments go, strings stay, lines stay", "[docs][excerpt]") {
    CHECK(strip_c_comments("a /* x\ny */ b // z\n\"//\" '/' c") == "a  \n b \n\"//\" '/' c");
}

TEST_CASE("a CMake block is wrapped so that it is parsed and never run", "[docs][cmake]") {
    CHECK(cmake_parse_only("find_package(x)\n") == "if(FALSE)\nfind_package(x)\n\nendif()\n");
}

TEST_CASE("location tables get a server table after them", "[docs][toml]") {
    CHECK(with_server_table("[[location]]\nprefix = \"/\"\n") ==
          "[[location]]\nprefix = \"/\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n");
}
