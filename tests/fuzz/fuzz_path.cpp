// Fuzz target: the request-target splitter and path normaliser, plus prefix matching and the
// Host check (runtime/src/http.hpp). Checks the normaliser's promises on every input:
//   - it answers 0 or 400, nothing else;
//   - a normalised path starts with '/', has no empty, "." or ".." segment and no NUL byte;
//   - normalising is idempotent (the output, re-escaped where it holds '%', normalises to
//     itself), so no second decoding pass can climb out of a root;
//   - a location prefix that matches the path is a leading part of it.
#include "http.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace dialtone;

namespace {
[[noreturn]] void fail(const char *what, std::string_view in, const std::string &out) {
    std::fprintf(stderr, "fuzz_path: %s\n  input:  %.*s\n  output: %s\n", what,
                 static_cast<int>(in.size()), in.data(), out.c_str());
    std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view target(reinterpret_cast<const char *>(data), size);
    std::string_view path, query;
    bool has_query = false;
    http::split_target(target, path, query, has_query);
    if (path.size() + query.size() + (has_query ? 1 : 0) != target.size())
        fail("split_target lost or invented bytes", target, "");

    std::string out;
    int rc = http::normalize_path(path, out);
    if (rc != 0 && rc != 400)
        fail("status other than 0 or 400", target, out);
    if (rc == 0) {
        if (out.empty() || out[0] != '/')
            fail("normalised path does not start with '/'", target, out);
        if (out.find('\0') != std::string::npos)
            fail("normalised path holds a NUL byte", target, out);
        if (out.find("//") != std::string::npos)
            fail("normalised path holds an empty segment", target, out);
        std::string seg;
        for (size_t i = 1; i <= out.size(); ++i) {
            if (i == out.size() || out[i] == '/') {
                if (seg == "." || seg == "..")
                    fail("normalised path holds a dot segment", target, out);
                seg.clear();
            } else {
                seg += out[i];
            }
        }
        std::string escaped, again;
        for (char ch : out)
            escaped += ch == '%' ? std::string("%25") : std::string(1, ch);
        if (http::normalize_path(escaped, again) != 0 || again != out)
            fail("normalising is not idempotent", target, out);

        // Every prefix of the path on a segment boundary matches; whatever matches is a prefix.
        for (std::string_view prefix : {"/", "/a", "/a/", "/static", "/dialup/"}) {
            if (!http::prefix_matches(prefix, out))
                continue;
            std::string_view p = prefix;
            if (p.size() > 1 && p.back() == '/' && out.size() == p.size() - 1)
                p.remove_suffix(1); // "/dialup/" may match "/dialup" itself
            if (std::string_view(out).substr(0, p.size()) != p)
                fail("prefix_matches accepted a non-prefix", target, out);
        }
        size_t slash = out.find('/', 1);
        if (slash != std::string::npos && !http::prefix_matches(out.substr(0, slash), out))
            fail("prefix_matches refused a leading segment", target, out);
    }
    (void)http::valid_host(target);
    return 0;
}
