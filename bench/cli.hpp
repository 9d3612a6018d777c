// The command line of the bench clients: one option parser for both, so a number's bounds, the
// request-target check, --help and the usage errors behave the same in each. Pure (getopt_long
// over argv, no sockets), unit-tested in bench/tests/cli_test.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dialtone::bench {

// Parses all of `text` as a number within [lo, hi]; false for anything else.
bool parse_number(const char *text, double lo, double hi, double &out);

// True for an origin-form request target: starts with '/', holds no space, CR or LF.
bool is_origin_form(const char *target);

// A client's options, declared one call each, then parsed with getopt_long (so unambiguous
// abbreviations of long options work). Every option takes a value except flags and the built-in
// --help/-h. A bad value prints "<program>: bad <what>" and the usage to stderr.
// Ownership: the references and setters given must outlive parse().
class CommandLine {
  public:
    CommandLine(const char *program, const char *usage);

    // --name VALUE; `set` returns false when it refuses the value (reported as `what`, by
    // default "--name"). `letter`, when not 0, is a one-letter alias (-n VALUE).
    void text(const char *name, std::function<bool(const char *)> set, const char *what = nullptr,
              char letter = 0);
    // --name VALUE, stored as given.
    void string(const char *name, std::string &out);
    // --name TARGET, an origin-form request target (is_origin_form), handed to `add`.
    void target(const char *name, std::function<void(const char *)> add);
    // --name NUMBER within [lo, hi], stored converted to T (a fraction truncated).
    template <class T>
    void number(const char *name, double lo, double hi, T &out, char letter = 0) {
        add_number(
            name, lo, hi, false, [&out](double v) { out = static_cast<T>(v); }, letter);
    }
    // --name N, a whole number within [lo, hi].
    template <class T>
    void whole_number(const char *name, double lo, double hi, T &out, char letter = 0) {
        add_number(
            name, lo, hi, true, [&out](double v) { out = static_cast<T>(v); }, letter);
    }
    // --name, no value: sets `out` to true.
    void flag(const char *name, bool &out);

    // Parses argv (getopt_long may permute it). Empty: the options are read, go on. Otherwise the
    // process's exit status now: 0 after --help (usage on stdout), 2 after a usage error
    // (reported on stderr), a stray operand included.
    std::optional<int> parse(int argc, char **argv);

    // Reports a usage error found after parse(), such as a missing required option; returns 2.
    int bad(const char *what) const;

  private:
    struct Option {
        std::string name;
        bool takes_value = true;
        char letter = 0;
        std::string what;
        std::function<bool(const char *)> set;
    };
    void add_number(const char *name, double lo, double hi, bool whole,
                    std::function<void(double)> store, char letter);

    const char *program_;
    const char *usage_;
    std::vector<Option> options_;
};

} // namespace dialtone::bench
