// doc_snippets: extracts the code blocks of Markdown files, checks what needs no tool (decisions,
// excerpts, TOML) and writes the rest out for check_snippets.sh to compile and run.
//
//   doc_snippets --root DIR --out DIR FILE.md...
//
// FILEs are relative to --root (the repository), as messages name them. Writes one file per
// block left to the script into --out, and --out/manifest.tsv, a line each:
//   LANG <tab> KIND <tab> FILE <tab> ORIGIN <tab> ARGS (space-separated)
// Exit status 0 when every block has a check and every check done here passed; 1 otherwise
// (each problem printed as FILE:LINE: message); 2 for a usage error.
#include "snippets.hpp"

#include <dialtone/config.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using namespace dialtone::docs;

namespace {

std::optional<std::string> read_file(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const char *extension(Lang lang) {
    switch (lang) {
    case Lang::c:
        return ".c";
    case Lang::cpp:
        return ".cpp";
    case Lang::toml:
        return ".toml";
    case Lang::sh:
        return ".sh";
    case Lang::cmake:
        return ".cmake";
    case Lang::other:
        break;
    }
    return ".txt";
}

const char *lang_name(Lang lang) { return extension(lang) + 1; }

struct Run {
    fs::path root, out;
    std::ofstream manifest;
    int failed = 0;
    std::map<std::string, int> counts; // "checked here", "for the script", "skipped"

    void fail(const Snippet &s, const std::string &message) {
        std::cout << s.file << ":" << s.line << ": " << message << "\n";
        ++failed;
    }

    // Returns the message of a ConfigError, or "" when `check` does not throw.
    template <typename F> static std::string config_problems(F check) {
        try {
            check();
            return "";
        } catch (const dialtone::ConfigError &e) {
            return e.what();
        }
    }

    void check(const Snippet &s) {
        Plan plan = plan_for(s);
        if (plan.kind == Kind::undecided)
            return fail(s, plan.problem);
        std::string origin = s.file + ":" + std::to_string(s.line);
        switch (plan.kind) {
        case Kind::skip:
            ++counts["skipped"];
            return;
        case Kind::excerpt: {
            ++counts["checked here"];
            std::optional<std::string> source = read_file(root / plan.args[0]);
            if (!source)
                return fail(s, "excerpt of " + plan.args[0] + ": no such file");
            bool c_family = s.lang == Lang::c || s.lang == Lang::cpp;
            if (auto missing = excerpt_mismatch(s.text, *source, c_family))
                fail(s, "not an excerpt of " + plan.args[0] + ": this line is not there, in " +
                            "this order: " + *missing);
            return;
        }
        case Kind::parse: {
            ++counts["checked here"];
            std::string name = "(" + origin + " toml block)";
            std::string problems =
                config_problems([&] { dialtone::parse_plugin_settings(s.text, ".", name); });
            if (!problems.empty())
                fail(s, "not TOML: " + problems);
            return;
        }
        case Kind::schema: {
            ++counts["checked here"];
            std::string name = (out / "schema.toml").string();
            std::string problems =
                config_problems([&] { dialtone::load_config_text(s.text, name); });
            if (!problems.empty())
                fail(s, "not a valid config: " + problems);
            return;
        }
        default:
            break;
        }
        ++counts["for the script"];
        std::string base = fs::path(s.file).filename().stem().string() + "-" +
                           std::to_string(s.line) + extension(s.lang);
        std::string text = s.text;
        if (s.lang == Lang::c || s.lang == Lang::cpp)
            text = translation_unit(s, plan);
        else if (s.lang == Lang::cmake)
            text = cmake_parse_only(s.text);
        else if (plan.kind == Kind::locations)
            text = with_server_table(s.text);
        std::ofstream(out / base, std::ios::binary) << text;
        std::string args;
        for (const std::string &a : plan.args)
            args += (args.empty() ? "" : " ") + a;
        Kind kind = plan.kind == Kind::locations ? Kind::config : plan.kind;
        manifest << lang_name(s.lang) << '\t' << kind_name(kind) << '\t' << (out / base).string()
                 << '\t' << origin << '\t' << args << '\n';
    }
};

} // namespace

int main(int argc, char **argv) {
    Run run;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--root" || a == "--out") && i + 1 < argc)
            (a == "--root" ? run.root : run.out) = argv[++i];
        else
            files.push_back(a);
    }
    if (run.root.empty() || run.out.empty() || files.empty()) {
        std::cerr << "usage: doc_snippets --root DIR --out DIR FILE.md...\n";
        return 2;
    }
    fs::create_directories(run.out);
    run.manifest.open(run.out / "manifest.tsv");
    size_t blocks = 0;
    for (const std::string &file : files) {
        std::optional<std::string> text = read_file(run.root / file);
        if (!text) {
            std::cout << file << ": cannot read\n";
            ++run.failed;
            continue;
        }
        Document doc = extract(*text, file);
        for (const std::string &p : doc.problems) {
            std::cout << p << "\n";
            ++run.failed;
        }
        for (const Snippet &s : doc.snippets)
            run.check(s);
        blocks += doc.snippets.size();
    }
    std::cout << "doc_snippets: " << blocks << " blocks in " << files.size()
              << " files: " << run.counts["checked here"] << " checked here, "
              << run.counts["for the script"] << " for the compilers and the host, "
              << run.counts["skipped"] << " left alone (output, plain text, or marked skip), "
              << run.failed << " problem(s)\n";
    return run.failed == 0 ? 0 : 1;
}
