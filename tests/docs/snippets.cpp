#include "snippets.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace dialtone::docs {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        size_t end = text.find('\n');
        if (end == std::string_view::npos)
            end = text.size();
        lines.push_back(text.substr(0, end));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return lines;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

size_t indentation(std::string_view line) {
    size_t n = 0;
    while (n < line.size() && line[n] == ' ')
        ++n;
    return n;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string where(const std::string &file, int line) { return file + ":" + std::to_string(line); }

// An opening or closing fence: its indentation, character and length.
struct Fence {
    size_t indent = 0;
    char ch = 0;
    size_t len = 0;
    std::string_view info;
};

std::optional<Fence> fence_of(std::string_view line) {
    Fence f;
    f.indent = indentation(line);
    std::string_view rest = line.substr(f.indent);
    if (rest.size() < 3 || (rest[0] != '`' && rest[0] != '~'))
        return std::nullopt;
    f.ch = rest[0];
    while (f.len < rest.size() && rest[f.len] == f.ch)
        ++f.len;
    if (f.len < 3)
        return std::nullopt;
    std::string_view info = trim(rest.substr(f.len));
    f.info = info.substr(0, std::min(info.find_first_of(" \t{"), info.size()));
    return f;
}

const struct {
    const char *name;
    Kind kind;
} kKinds[] = {
    {"plugin", Kind::plugin},
    {"tu", Kind::tu},
    {"declarations", Kind::declarations},
    {"statements", Kind::statements},
    {"members", Kind::members},
    {"parse", Kind::parse},
    {"schema", Kind::schema},
    {"config", Kind::config},
    {"locations", Kind::locations},
    {"syntax", Kind::syntax},
    {"excerpt", Kind::excerpt},
    {"skip", Kind::skip},
};

// The body of `<!-- snippet: ... -->` (without those delimiters) as a marker, or a problem.
std::optional<Marker> parse_marker(std::string_view body, std::string &problem) {
    Marker m;
    size_t eol = body.find('\n');
    std::string_view head = trim(body.substr(0, eol));
    if (eol != std::string_view::npos)
        m.prelude = std::string(body.substr(eol + 1));
    size_t open = head.find('(');
    if (open != std::string_view::npos) {
        size_t close = head.rfind(')');
        if (close == std::string_view::npos || close < open) {
            problem = "snippet marker: unclosed '(' in \"" + std::string(head) + "\"";
            return std::nullopt;
        }
        m.reason = std::string(trim(head.substr(open + 1, close - open - 1)));
        head = trim(head.substr(0, open));
    }
    std::istringstream words{std::string(head)};
    std::string word;
    words >> word;
    for (const auto &k : kKinds)
        if (word == k.name)
            m.kind = k.kind;
    if (m.kind == Kind::undecided) {
        problem = "snippet marker: unknown kind \"" + word +
                  "\" (plugin, tu, declarations, statements, members, parse, schema, config, "
                  "locations, syntax, excerpt PATH, skip (why))";
        return std::nullopt;
    }
    while (words >> word)
        m.args.push_back(word);
    return m;
}

// What every fragment may use without showing it: the header and the host's table.
const char kFragmentPrelude[] = "#include <dialtone/plugin.h>\nstatic const dt_api_t *api;\n";

bool is_elision(std::string_view line) {
    line = trim(line);
    for (std::string_view lead : {"//", "/*", "#"})
        if (line.substr(0, lead.size()) == lead) {
            line = trim(line.substr(lead.size()));
            break;
        }
    return line.substr(0, 3) == "...";
}

// A line as excerpts compare it: trimmed, runs of blanks as one space.
std::string normalised(std::string_view line) {
    std::string out;
    for (char c : trim(line)) {
        bool blank = c == ' ' || c == '\t';
        if (blank && !out.empty() && out.back() == ' ')
            continue;
        out += blank ? ' ' : c;
    }
    return out;
}

// The line without a `#` comment (one that starts the line or follows a blank, outside quotes).
std::string_view without_hash_comment(std::string_view line) {
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '"' && (i == 0 || line[i - 1] != '\\'))
            quoted = !quoted;
        else if (line[i] == '#' && !quoted && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return line.substr(0, i);
    }
    return line;
}

// The non-empty normalised lines of `text`; `gaps` receives, for each, whether an elision
// stands before it.
std::vector<std::string> code_lines(std::string_view text, bool c_family, std::vector<bool> *gaps) {
    std::vector<std::string_view> raw = split_lines(text);
    std::string stripped = c_family ? strip_c_comments(text) : std::string(text);
    std::vector<std::string_view> lines = split_lines(stripped);
    std::vector<std::string> out;
    bool gap = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (gaps && i < raw.size() && is_elision(raw[i])) {
            gap = true;
            continue;
        }
        std::string line = normalised(c_family ? lines[i] : without_hash_comment(lines[i]));
        if (line.empty())
            continue;
        out.push_back(line);
        if (gaps)
            gaps->push_back(gap);
        gap = false;
    }
    return out;
}

} // namespace

Lang language_of(std::string_view info) {
    std::string l = lower(info);
    if (l == "c" || l == "h")
        return Lang::c;
    if (l == "cpp" || l == "c++" || l == "cxx" || l == "cc" || l == "hpp")
        return Lang::cpp;
    if (l == "toml")
        return Lang::toml;
    if (l == "sh" || l == "bash" || l == "shell")
        return Lang::sh;
    if (l == "cmake")
        return Lang::cmake;
    return Lang::other;
}

const char *kind_name(Kind kind) {
    for (const auto &k : kKinds)
        if (k.kind == kind)
            return k.name;
    return "undecided";
}

Document extract(std::string_view markdown, const std::string &file) {
    Document doc;
    std::vector<std::string_view> lines = split_lines(markdown);
    std::optional<Marker> pending;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        int number = static_cast<int>(i) + 1;
        std::string_view t = trim(line);
        if (t.substr(0, 4) == "<!--" && trim(t.substr(4)).substr(0, 8) == "snippet:") {
            if (pending)
                doc.problems.push_back(where(file, pending->line) +
                                       ": snippet marker decides no code block");
            // The comment runs to the first "-->", perhaps lines further on.
            std::string body;
            size_t j = i;
            std::string_view rest = trim(t.substr(4)).substr(8);
            for (;;) {
                size_t end = rest.find("-->");
                if (end != std::string_view::npos) {
                    body += rest.substr(0, end);
                    break;
                }
                body += rest;
                body += '\n';
                if (++j == lines.size())
                    break;
                // Prelude lines lose the comment's own indentation, nothing more.
                std::string_view next = lines[j];
                rest = next.substr(std::min(indentation(next), indentation(line)));
            }
            if (j == lines.size()) {
                doc.problems.push_back(where(file, number) + ": snippet marker is never closed");
                break;
            }
            std::string problem;
            pending = parse_marker(body, problem);
            if (pending)
                pending->line = number;
            else
                doc.problems.push_back(where(file, number) + ": " + problem);
            i = j;
            continue;
        }
        std::optional<Fence> open = fence_of(line);
        if (!open) {
            if (!t.empty() && pending) {
                doc.problems.push_back(where(file, pending->line) +
                                       ": snippet marker decides no code block");
                pending.reset();
            }
            continue;
        }
        Snippet s;
        s.file = file;
        s.line = number;
        s.info = std::string(open->info);
        s.lang = language_of(open->info);
        s.marker = std::move(pending);
        pending.reset();
        size_t j = i + 1;
        for (; j < lines.size(); ++j) {
            std::optional<Fence> close = fence_of(lines[j]);
            if (close && close->ch == open->ch && close->len >= open->len && close->info.empty())
                break;
            std::string_view content = lines[j];
            content.remove_prefix(std::min(indentation(content), open->indent));
            s.text += content;
            s.text += '\n';
        }
        if (j == lines.size())
            doc.problems.push_back(where(file, number) + ": code block is never closed");
        doc.snippets.push_back(std::move(s));
        i = j;
    }
    if (pending)
        doc.problems.push_back(where(file, pending->line) +
                               ": snippet marker decides no code block");
    return doc;
}

Plan plan_for(const Snippet &s) {
    Plan p;
    bool c_family = s.lang == Lang::c || s.lang == Lang::cpp;
    if (!s.marker) {
        switch (s.lang) {
        case Lang::c:
        case Lang::cpp:
            p.problem = "a " + s.info +
                        " block needs a snippet marker before it: <!-- snippet: plugin | tu | "
                        "declarations | statements | members | excerpt PATH | skip (why) --> "
                        "(see tests/docs/snippets.hpp)";
            return p;
        case Lang::toml:
            p.kind = Kind::parse;
            return p;
        case Lang::sh:
        case Lang::cmake:
            p.kind = Kind::syntax;
            return p;
        case Lang::other:
            p.kind = Kind::skip;
            return p;
        }
    }
    const Marker &m = *s.marker;
    bool fits = false;
    switch (m.kind) {
    case Kind::plugin:
    case Kind::tu:
    case Kind::declarations:
    case Kind::statements:
    case Kind::members:
        fits = c_family;
        break;
    case Kind::parse:
    case Kind::schema:
    case Kind::config:
    case Kind::locations:
        fits = s.lang == Lang::toml;
        break;
    case Kind::syntax:
        fits = s.lang == Lang::sh || s.lang == Lang::cmake || s.lang == Lang::toml;
        break;
    case Kind::excerpt:
        fits = m.args.size() == 1;
        if (!fits) {
            p.problem = "snippet marker: excerpt takes one PATH";
            return p;
        }
        break;
    case Kind::skip:
        fits = !m.reason.empty();
        if (!fits) {
            p.problem = "snippet marker: skip needs a reason: skip (why)";
            return p;
        }
        break;
    case Kind::undecided:
        break;
    }
    if (!fits) {
        p.problem = std::string("snippet marker: \"") + kind_name(m.kind) + "\" does not apply " +
                    "to a " + (s.info.empty() ? "plain" : s.info) + " block";
        return p;
    }
    if (!m.prelude.empty() && !c_family) {
        p.problem = "snippet marker: only C and C++ blocks take a prelude";
        return p;
    }
    p.kind = m.kind;
    p.args = m.args;
    p.prelude = m.prelude;
    return p;
}

std::string translation_unit(const Snippet &s, const Plan &p) {
    // #line right before the block: the compiler's messages name the Markdown file and line.
    std::string text = "#line " + std::to_string(s.line + 1) + " \"" + s.file + "\"\n" + s.text;
    std::string tu = p.prelude;
    switch (p.kind) {
    case Kind::plugin:
    case Kind::tu:
        return tu + text;
    case Kind::declarations:
        return tu + kFragmentPrelude + text;
    case Kind::statements:
        return tu + kFragmentPrelude +
               "int snippet_under_test(void *instance, dt_req_t *req, const dt_config_t *cfg, "
               "char *err, size_t err_len);\n"
               "int snippet_under_test(void *instance, dt_req_t *req, const dt_config_t *cfg, "
               "char *err, size_t err_len) {\n" +
               text +
               "\n    (void)instance; (void)req; (void)cfg; (void)err; (void)err_len; (void)api;"
               "\n    return 0;\n}\n";
    case Kind::members:
        return tu + kFragmentPrelude + "struct snippet_under_test {\n" + text + "};\n";
    default:
        return tu + text;
    }
}

std::string with_server_table(std::string_view locations) {
    return std::string(locations) + "\n[server]\nlisten = \"127.0.0.1:0\"\n";
}

std::string cmake_parse_only(std::string_view text) {
    // cmake -P reads the whole file before it runs the first command, and if(FALSE) runs none.
    return "if(FALSE)\n" + std::string(text) + "\nendif()\n";
}

std::optional<std::string> excerpt_mismatch(std::string_view snippet, std::string_view source,
                                            bool c_family) {
    std::vector<bool> gaps;
    std::vector<std::string> want = code_lines(snippet, c_family, &gaps);
    std::vector<std::string> have = code_lines(source, c_family, nullptr);
    size_t from = 0; // where in `have` the next run may start
    size_t i = 0;
    while (i < want.size()) {
        size_t end = i + 1; // a run: the lines up to the next gap
        while (end < want.size() && !gaps[end])
            ++end;
        auto run_at = [&](size_t at) {
            for (size_t k = 0; k < end - i; ++k)
                if (at + k >= have.size() || have[at + k] != want[i + k])
                    return false;
            return true;
        };
        // The first run may start anywhere; a later one anywhere after the previous.
        size_t at = from;
        while (at < have.size() && !run_at(at))
            ++at;
        if (at >= have.size()) {
            // Name the first line of the run that is not where it should be.
            size_t k = 0;
            for (size_t start = from; start < have.size(); ++start) {
                size_t n = 0;
                while (n < end - i && start + n < have.size() && have[start + n] == want[i + n])
                    ++n;
                k = std::max(k, n);
            }
            return want[i + std::min(k, end - i - 1)];
        }
        from = at + (end - i);
        i = end;
    }
    return std::nullopt;
}

std::string strip_c_comments(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    enum { code, line_comment, block_comment, string, character } state = code;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        char next = i + 1 < text.size() ? text[i + 1] : '\0';
        switch (state) {
        case code:
            if (c == '/' && next == '/') {
                state = line_comment;
                ++i;
            } else if (c == '/' && next == '*') {
                state = block_comment;
                out += ' ';
                ++i;
            } else {
                if (c == '"')
                    state = string;
                else if (c == '\'')
                    state = character;
                out += c;
            }
            break;
        case line_comment:
            if (c == '\n') {
                state = code;
                out += c;
            }
            break;
        case block_comment:
            if (c == '*' && next == '/') {
                state = code;
                ++i;
            } else if (c == '\n') {
                out += c;
            }
            break;
        case string:
        case character:
            out += c;
            if (c == '\\' && next != '\0') {
                out += next;
                ++i;
            } else if ((state == string && c == '"') || (state == character && c == '\'') ||
                       c == '\n') {
                state = code;
            }
            break;
        }
    }
    return out;
}

} // namespace dialtone::docs
