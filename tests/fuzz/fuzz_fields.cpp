// Fuzz target: the static file server's header evaluators (plugins/fileserve): Range, If-Range,
// the preconditions (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), entity
// tag lists and HTTP dates. Input: 8 bytes of representation size, then the field values
// separated by '\n'. Checks on every input:
//   - a 206 range lies inside the representation and is not empty; "whole" is all of it;
//   - a parsed HTTP date (years 1970..9999) formats and parses back to the same instant;
//   - "*" matches any entity tag; no evaluator reads outside its field (ASan).
#include "dialtone/fileserve/http.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace dialtone::fileserve;

namespace {
[[noreturn]] void fail(const char *what, std::string_view field) {
    std::fprintf(stderr, "fuzz_fields: %s\n  field: %.*s\n", what, static_cast<int>(field.size()),
                 field.data());
    std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8)
        return 0;
    uint64_t rep_size;
    std::memcpy(&rep_size, data, 8);
    if (data[0] & 1)
        rep_size %= 100000; // mostly small files, sometimes huge ones
    std::string_view rest(reinterpret_cast<const char *>(data) + 8, size - 8);
    std::vector<std::string_view> fields;
    for (;;) {
        size_t nl = rest.find('\n');
        fields.push_back(rest.substr(0, nl));
        if (nl == std::string_view::npos)
            break;
        rest.remove_prefix(nl + 1);
    }
    fields.resize(6);

    RangeResult r = evaluate_range(fields[0], rep_size);
    switch (r.outcome) {
    case RangeOutcome::partial:
        if (r.length == 0 || r.offset >= rep_size || r.length > rep_size - r.offset)
            fail("a 206 range outside the representation", fields[0]);
        break;
    case RangeOutcome::whole:
        if (r.offset != 0 || r.length != rep_size)
            fail("'whole' is not the whole representation", fields[0]);
        break;
    case RangeOutcome::unsatisfiable:
        break;
    }

    ETag etag = make_etag(static_cast<int64_t>(rep_size % 2000000000), rep_size);
    Validators v{etag.view(), static_cast<int64_t>(rep_size % 4000000000)};
    (void)if_range_holds(fields[1], v);
    for (auto compare : {ETagCompare::strong, ETagCompare::weak}) {
        bool m = etag_list_matches(fields[2], v.etag, compare);
        if (fields[2] == "*" && !m)
            fail("\"*\" did not match", fields[2]);
    }

    Conditionals c;
    if (!fields[2].empty())
        c.if_match = fields[2];
    if (!fields[3].empty())
        c.if_none_match = fields[3];
    if (!fields[4].empty())
        c.if_modified_since = fields[4];
    if (!fields[5].empty())
        c.if_unmodified_since = fields[5];
    for (bool get_or_head : {true, false}) {
        Precondition p = evaluate_preconditions(c, v, get_or_head);
        if (!get_or_head && p == Precondition::not_modified)
            fail("304 for a method other than GET or HEAD", fields[3]);
    }

    for (size_t i = 1; i < fields.size(); ++i) {
        auto t = parse_http_date(fields[i]);
        if (t && *t >= 0 && *t < 253402300800) { // years 1970..9999: formatting clamps others
            char buf[http_date_size];
            format_http_date(*t, buf);
            auto back = parse_http_date(std::string_view(buf, sizeof buf));
            if (!back || *back != *t)
                fail("an HTTP date does not survive format and parse", fields[i]);
        }
    }
    return 0;
}
