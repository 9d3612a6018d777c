// What a reverse proxy changes in the fields it passes on (RFC 9110 7.6): pure functions over
// field lists, so unit tests reach every rule without a host.
//
// Hop-by-hop fields stay on their hop, both ways: Connection and every field it names,
// Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer (RFC 9110 7.6.1), and
// the framing the host redoes itself (Content-Length). Requests also lose Expect (the host has
// read the whole body before the plugin runs, so the upstream has nothing to wait for) and
// gain X-Forwarded-For (the client's address appended to any list it brought),
// X-Forwarded-Proto and Via; Host is the upstream's or the client's, as configured.
// Responses lose Date and Server too (the host sends its own) and gain Via.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dialtone::proxy {

// A field as views: into the message it came from, or into a Joined the caller keeps.
struct Field {
    std::string_view name;
    std::string_view value;
};

// The values the rules join from several fields (X-Forwarded-For, Via): the fields returned
// point into it, so it must outlive them. No copy of the other fields is made.
struct Joined {
    std::string forwarded_for;
    std::string via;
};

struct RequestShape {
    std::string_view client_addr;    // "192.0.2.1"
    std::string_view proto = "http"; // X-Forwarded-Proto
    bool preserve_host = false;      // pass the client's Host (else the host's default)
    std::string_view via = "1.1 dialtone";
    bool upgrade = false; // a switch of protocols is asked for: Upgrade goes on (RFC 9110 7.8)
};

// Whether a request with fields `in` asks to switch protocols: an Upgrade field, named by
// Connection (as RFC 9110 7.8 requires of a client).
bool asks_upgrade(const std::vector<Field> &in);

// Whether `name` is hop-by-hop on a message whose Connection fields are `connection` (every
// Connection value of the message, comma-joined).
bool hop_by_hop(std::string_view name, std::string_view connection);

// The fields to send upstream for a client request with fields `in` (in arrival order).
std::vector<Field> upstream_request_fields(const std::vector<Field> &in, const RequestShape &s,
                                           Joined &joined);
// The same into `out` (cleared first, its capacity kept): a caller reusing one list per thread
// allocates nothing per request.
void upstream_request_fields(const std::vector<Field> &in, const RequestShape &s, Joined &joined,
                             std::vector<Field> &out);

// The fields to send the client for an upstream response with fields `in`; a 101
// (`switching`) keeps its Upgrade field.
std::vector<Field> client_response_fields(const std::vector<Field> &in, std::string_view via,
                                          Joined &joined, bool switching = false);
// The same into `out` (cleared first, its capacity kept).
void client_response_fields(const std::vector<Field> &in, std::string_view via, Joined &joined,
                            bool switching, std::vector<Field> &out);

// The target to send upstream: `target` as received, without the location's `prefix` when
// `strip` (a target "/app/x?q" under prefix "/app" becomes "/x?q"; "/app" becomes "/").
std::string upstream_target(std::string_view target, std::string_view prefix, bool strip);

} // namespace dialtone::proxy
