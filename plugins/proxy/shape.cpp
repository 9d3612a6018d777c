#include "shape.hpp"

#include <dialtone/plugin_support/text.hpp>

namespace dialtone::proxy {

namespace {

using plugin_support::has_token;
using plugin_support::iequals;
using plugin_support::trim_ows;

std::string connection_list(const std::vector<Field> &in) {
    std::string all;
    for (const Field &f : in)
        if (iequals(f.name, "connection"))
            all.append(all.empty() ? "" : ",").append(f.value);
    return all;
}

} // namespace

bool hop_by_hop(std::string_view name, std::string_view connection) {
    // Views made at compile time (a braced list of literals costs a strlen each per call).
    static constexpr std::string_view kHopByHop[] = {
        "connection",        "keep-alive", "proxy-connection", "te",
        "transfer-encoding", "upgrade",    "trailer",          "content-length"};
    for (std::string_view h : kHopByHop)
        if (iequals(name, h))
            return true;
    return has_token(connection, name);
}

bool asks_upgrade(const std::vector<Field> &in) {
    bool upgrade = false;
    for (const Field &f : in)
        upgrade = upgrade || (iequals(f.name, "upgrade") && !trim_ows(f.value).empty());
    return upgrade && has_token(connection_list(in), "upgrade");
}

std::vector<Field> upstream_request_fields(const std::vector<Field> &in, const RequestShape &s,
                                           Joined &joined) {
    std::vector<Field> out;
    upstream_request_fields(in, s, joined, out);
    return out;
}

void upstream_request_fields(const std::vector<Field> &in, const RequestShape &s, Joined &joined,
                             std::vector<Field> &out) {
    std::string connection = connection_list(in);
    out.clear();
    out.reserve(in.size() + 3);
    std::string &xff = joined.forwarded_for, &via = joined.via;
    xff.clear();
    via.clear();
    for (const Field &f : in) {
        if (s.upgrade && iequals(f.name, "upgrade")) {
            out.push_back(f);
            continue;
        }
        if (hop_by_hop(f.name, connection) || iequals(f.name, "expect"))
            continue;
        if (iequals(f.name, "host") && !s.preserve_host)
            continue;
        if (iequals(f.name, "x-forwarded-for")) { // one list, the client last
            xff.append(xff.empty() ? "" : ", ").append(f.value);
            continue;
        }
        if (iequals(f.name, "x-forwarded-proto"))
            continue; // ours says how the client reached us
        if (iequals(f.name, "via")) {
            via.append(via.empty() ? "" : ", ").append(f.value);
            continue;
        }
        out.push_back(f);
    }
    xff.append(xff.empty() ? "" : ", ").append(s.client_addr);
    via.append(via.empty() ? "" : ", ").append(s.via);
    out.push_back({"X-Forwarded-For", xff});
    out.push_back({"X-Forwarded-Proto", s.proto});
    out.push_back({"Via", via});
}

std::vector<Field> client_response_fields(const std::vector<Field> &in, std::string_view via_me,
                                          Joined &joined, bool switching) {
    std::vector<Field> out;
    client_response_fields(in, via_me, joined, switching, out);
    return out;
}

void client_response_fields(const std::vector<Field> &in, std::string_view via_me, Joined &joined,
                            bool switching, std::vector<Field> &out) {
    std::string connection = connection_list(in);
    out.clear();
    out.reserve(in.size() + 1);
    std::string &via = joined.via;
    via.clear();
    for (const Field &f : in) {
        if (switching && iequals(f.name, "upgrade")) {
            out.push_back(f);
            continue;
        }
        if (hop_by_hop(f.name, connection) || iequals(f.name, "date") || iequals(f.name, "server"))
            continue;
        if (iequals(f.name, "via")) {
            via.append(via.empty() ? "" : ", ").append(f.value);
            continue;
        }
        out.push_back(f);
    }
    via.append(via.empty() ? "" : ", ").append(via_me);
    out.push_back({"Via", via});
}

std::string upstream_target(std::string_view target, std::string_view prefix, bool strip) {
    if (!strip || prefix == "/")
        return std::string(target);
    if (prefix.back() == '/')
        prefix.remove_suffix(1);
    if (target.substr(0, prefix.size()) != prefix)
        return std::string(target); // the prefix matched the decoded path only: keep it whole
    std::string_view rest = target.substr(prefix.size());
    if (rest.empty() || rest[0] == '?')
        return "/" + std::string(rest);
    if (rest[0] != '/')
        return std::string(target); // not on a segment boundary: not this prefix
    return std::string(rest);
}

} // namespace dialtone::proxy
