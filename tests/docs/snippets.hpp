// Code snippets in the documentation: finding the fenced blocks of a Markdown file, the check
// each one gets, and the text that check compiles or compares. Pure functions on strings, so the
// unit tests reach every verdict without a compiler; check_snippets.sh runs the compilers.
//
// The convention (docs/plugin-guide.md points here). An HTML comment right before a fence says
// how the block is checked; blank lines may stand between the two, nothing else:
//
//     <!-- snippet: KIND [ARG...] [(why)]
//     optional prelude: C/C++ the block needs but does not show (includes, declarations)
//     -->
//
//   c, cpp (a comment is required: a C/C++ block without one fails the test)
//     plugin        a complete plugin: compiled, linked as a shared object exporting only
//                   dt_plugin_entry, then served by the host, which must answer GET / with 2xx
//     tu            a complete translation unit: compiled as it is
//     declarations  file-scope code: compiled after the prelude, <dialtone/plugin.h> and
//                   `static const dt_api_t *api;`
//     statements    a function body: the same, inside a function whose parameters are
//                   `void *instance, dt_req_t *req, const dt_config_t *cfg, char *err,
//                   size_t err_len`
//     members       struct members (hook or table signatures): compiled inside a struct
//   toml
//     parse         (the default) TOML syntax only
//     schema        the runtime's config loader: the host's own keys and types, plugins unread
//     config [DIR/ | FILE=PLUGIN ...]
//                   a whole config: `dialtone --check` in a temporary folder holding the
//                   folders named DIR/ and, at FILE, the example plugin PLUGIN
//     locations [DIR/ | FILE=PLUGIN ...]
//                   [[location]] tables without a [server]: checked as config, with one added
//   sh: syntax (the default: bash -n);  cmake: syntax (the default: parsed, never run)
//   any language
//     excerpt PATH  quoted from PATH (from the repository root): its lines stand in PATH in
//                   this order; a line `...` (or a comment starting with `...`) marks a gap.
//                   Indentation, spacing and comments (C/C++: // and /* */; others: #) do
//                   not count.
//     skip (why)    not checked; the reason is mandatory
// C and C++ compile with -Wall -Wextra -Werror -pedantic (C as -std=c99, C++ as -std=c++20);
// fragments (declarations, statements, members) may leave names unused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone::docs {

enum class Lang { c, cpp, toml, sh, cmake, other };

enum class Kind {
    undecided,
    plugin,
    tu,
    declarations,
    statements,
    members,
    parse,
    schema,
    config,
    locations,
    syntax,
    excerpt,
    skip,
};

struct Marker {
    Kind kind = Kind::undecided;
    std::vector<std::string> args;
    std::string reason;  // the text in parentheses, without them
    std::string prelude; // the comment's lines after the first
    int line = 0;        // where the comment starts
};

struct Snippet {
    std::string file;
    int line = 0;     // the opening fence, 1-based
    std::string info; // the fence's language word as written ("c", "c++", "toml", "")
    Lang lang = Lang::other;
    std::string text; // the block's lines, the fence's indentation removed
    std::optional<Marker> marker;
};

struct Document {
    std::vector<Snippet> snippets;
    std::vector<std::string> problems; // "file:line: message"
};

// The language a fence's info word names (case-insensitive; c++/cxx are cpp, bash/shell are sh).
Lang language_of(std::string_view info);
const char *kind_name(Kind kind);

// Every fenced block (``` or ~~~, at any indentation) of a Markdown text with the marker before
// it. Problems: a marker that decides no block, a marker that cannot be read, an unclosed fence.
Document extract(std::string_view markdown, const std::string &file);

// The check a snippet gets: its marker's, or its language's default. Sets `problem` (and returns
// Kind::undecided) when there is none or the marker's kind does not fit the language.
struct Plan {
    Kind kind = Kind::undecided;
    std::vector<std::string> args;
    std::string prelude;
    std::string problem;
};
Plan plan_for(const Snippet &snippet);

// The translation unit a C/C++ snippet compiles as (for plugin/tu/declarations/statements/
// members plans).
std::string translation_unit(const Snippet &snippet, const Plan &plan);

// A whole config from [[location]] (and [[plugin]]) tables: a [server] table is added after
// them, so the host's messages keep the block's line numbers.
std::string with_server_table(std::string_view locations);

// A CMake script that parses the snippet without running any of it.
std::string cmake_parse_only(std::string_view text);

// nullopt when `snippet` is an excerpt of `source` (see the convention above); otherwise the
// first line of the excerpt that could not be found there, in order. `c_family`: C/C++
// comments, else `#` ones.
std::optional<std::string> excerpt_mismatch(std::string_view snippet, std::string_view source,
                                            bool c_family);

// C/C++ text without its comments (string and character literals kept whole); newlines stay,
// so line numbers do not move.
std::string strip_c_comments(std::string_view text);

} // namespace dialtone::docs
