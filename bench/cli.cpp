#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>

namespace dialtone::bench {

namespace {
constexpr int kFirstLongId = 256; // above every one-letter option
constexpr int kHelpId = 'h';
} // namespace

bool parse_number(const char *text, double lo, double hi, double &out) {
    char *end = nullptr;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != 0 || !(v >= lo && v <= hi))
        return false;
    out = v;
    return true;
}

bool is_origin_form(const char *target) {
    return target[0] == '/' && strpbrk(target, " \r\n") == nullptr;
}

CommandLine::CommandLine(const char *program, const char *usage)
    : program_(program), usage_(usage) {}

void CommandLine::text(const char *name, std::function<bool(const char *)> set, const char *what,
                       char letter) {
    options_.push_back(
        {name, true, letter, what ? what : std::string("--") + name, std::move(set)});
}

void CommandLine::string(const char *name, std::string &out) {
    text(name, [&out](const char *v) {
        out = v;
        return true;
    });
}

void CommandLine::target(const char *name, std::function<void(const char *)> add) {
    std::string what = std::string("--") + name + " (an origin-form target: /...)";
    options_.push_back({name, true, 0, what, [add = std::move(add)](const char *v) {
                            if (!is_origin_form(v))
                                return false;
                            add(v);
                            return true;
                        }});
}

void CommandLine::add_number(const char *name, double lo, double hi, bool whole,
                             std::function<void(double)> store, char letter) {
    text(
        name,
        [=, store = std::move(store)](const char *v) {
            double n = 0;
            if (!parse_number(v, lo, hi, n) || (whole && n != std::floor(n)))
                return false;
            store(n);
            return true;
        },
        nullptr, letter);
}

void CommandLine::flag(const char *name, bool &out) {
    options_.push_back({name, false, 0, std::string("--") + name, [&out](const char *) {
                            out = true;
                            return true;
                        }});
}

std::optional<int> CommandLine::parse(int argc, char **argv) {
    std::vector<option> longopts;
    std::string shortopts;
    for (size_t i = 0; i < options_.size(); ++i) {
        const Option &o = options_[i];
        int id = o.letter ? o.letter : kFirstLongId + static_cast<int>(i);
        longopts.push_back(
            {o.name.c_str(), o.takes_value ? required_argument : no_argument, nullptr, id});
        if (o.letter)
            shortopts += std::string(1, o.letter) + (o.takes_value ? ":" : "");
    }
    longopts.push_back({"help", no_argument, nullptr, kHelpId});
    longopts.push_back({nullptr, 0, nullptr, 0});
    shortopts += "h";

    optind = 0; // a full restart of getopt's scan, also when parse() runs again
    int c;
    while ((c = getopt_long(argc, argv, shortopts.c_str(), longopts.data(), nullptr)) != -1) {
        if (c == kHelpId) {
            fputs(usage_, stdout);
            return 0;
        }
        const Option *o = nullptr;
        if (c >= kFirstLongId && c - kFirstLongId < static_cast<int>(options_.size()))
            o = &options_[static_cast<size_t>(c - kFirstLongId)];
        for (size_t i = 0; o == nullptr && i < options_.size(); ++i)
            if (options_[i].letter != 0 && options_[i].letter == c)
                o = &options_[i];
        if (o == nullptr) { // getopt_long has said what was wrong
            fputs(usage_, stderr);
            return 2;
        }
        if (!o->set(optarg))
            return bad(o->what.c_str());
    }
    if (optind != argc)
        return bad("argument");
    return std::nullopt;
}

int CommandLine::bad(const char *what) const {
    fprintf(stderr, "%s: bad %s\n%s", program_, what, usage_);
    return 2;
}

} // namespace dialtone::bench
