// The runtime's configuration: what the `dialtone` host reads from TOML, and what an embedding
// application may build in code.
#pragma once

#include "dialtone/log.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dialtone {

struct ListenAddress {
    std::string host;  // "127.0.0.1", "::1", "0.0.0.0", "::"
    uint16_t port = 0; // 0: an ephemeral port, reported by Server::bound_addresses()
};

struct Limits {
    size_t max_head_size = 8192;      // request line + headers; over it: 431
    size_t max_uri_size = 8192;       // request-target; over it: 414
    size_t max_headers = 100;         // header fields; over it: 431
    uint64_t max_body_size = 1 << 20; // request body; over it: 413
    size_t max_connections = 10000;   // over it a new connection gets 503 and is closed
};

struct Timeouts {                  // milliseconds
    uint64_t head_ms = 10000;      // whole request head, from its first byte (slowloris)
    uint64_t keepalive_ms = 65000; // idle between requests
    uint64_t body_ms = 30000;      // between two reads of a request body; then 408
    uint64_t send_ms = 30000;      // a send that makes no progress; then close
    uint64_t grace_ms = 10000;     // shutdown: how long in-flight requests may finish
};

// Settings of one location for its plugin: opaque here, read by plugins through the C ABI.
class PluginSettings;

struct PluginDecl {
    std::string name;  // handler name used by locations
    std::string path;  // absolute path to the shared object
    std::string where; // "file:line:col" of the declaration, for messages
};

// One [[location]]. Built in code, fill `prefix` and `handler`, and `settings` if the plugin
// takes any; leave the rest empty: they point messages into a config file, and a location
// without `where` is named "location[<index>] (built in code)" instead (its settings as
// "location[<index>] (built in code): <handler>"). A location the server cannot use (a prefix
// that is not normalised, no handler) is refused with a StartError naming it so.
struct LocationConfig {
    std::string prefix;                             // "/", "/site", "/site/"
    std::string handler;                            // plugin name
    std::shared_ptr<const PluginSettings> settings; // may be null: no settings
    std::string where;         // "file:line:col" of the [[location]], for messages
    std::string handler_where; // "file:line:col" of its handler value
    std::string section;       // "location[0].static": how messages name its settings
};

// One server of an [[upstream]] group.
struct UpstreamServer {
    std::string host;    // an IP address, numeric ("127.0.0.1", "::1"): names are not resolved
    uint16_t port = 0;   // 1..65535
    unsigned weight = 1; // 1..1000: its share of requests relative to the group's other servers
    std::string address; // "127.0.0.1:8080", "[::1]:8080" (canonical): how messages name it,
                         // and what the hash balancer hashes, so a server keeps its keys
                         // whatever its place in the list
};

enum class BalancerKind {
    round_robin, // smooth weighted round robin (nginx's)
    least_conn,  // fewest active exchanges per weight; ties go round robin
    hash,        // consistent hash (Maglev) of a request key: a key stays on its server
};

// What the proxy hashes for BalancerKind::hash.
enum class HashKey {
    uri,       // the request-target as received (path and query)
    host_uri,  // the Host field, then the request-target: one cache tier for several sites
    client_ip, // the client's address: a client stays on one server
};

// One [[upstream]]: a named group of servers that plugins send exchanges to. Times are in
// milliseconds. Built in code, fill at least `name` and `servers` (each with host, port and
// address); the defaults are the documented ones.
struct UpstreamConfig {
    std::string name; // what a location's settings refer to: a-z, 0-9, _ and -
    std::vector<UpstreamServer> servers;
    BalancerKind balancer = BalancerKind::round_robin;
    HashKey hash_key = HashKey::uri;        // read only by BalancerKind::hash
    unsigned keepalive = 32;                // idle connections kept per worker; 0: none
    uint64_t idle_timeout_ms = 60000;       // an idle kept connection is closed after this
    uint64_t connect_timeout_ms = 5000;     // connection establishment
    uint64_t first_byte_timeout_ms = 60000; // request sent → first byte of the response
    uint64_t io_timeout_ms = 60000;         // between two reads or writes once under way
    unsigned tries = 0;                     // servers one request may try; 0: tries_per_request()
    unsigned max_fails = 1;                 // consecutive failures that eject a server; 0: never
    uint64_t fail_timeout_ms = 10000;       // how long an ejected server stays out
    // A forwarded response's bytes that its client has not taken yet go to the worker's spool
    // file for the group (unlinked, in spool_dir), up to this many bytes per response at once,
    // so that a slow client holds neither memory nor an upstream connection (nginx's
    // proxy_max_temp_file_size). 0: the upstream is read only as fast as the client takes them.
    uint64_t spool_max_size = uint64_t{1} << 30;
    std::string spool_dir = "/var/tmp";
    // SO_RCVBUF of upstream sockets, set before connecting: what a response may hold in the
    // kernel before the worker reads it (HAProxy's tune.rcvbuf.server). 0: the kernel's
    // autotuning, which grows it to tcp_rmem's maximum for a fast upstream.
    uint32_t recv_buffer = 0;
    std::string where; // "file:line:col" of the [[upstream]], for messages

    // `tries`, or when it is 0 the default: every server up to 3. nginx tries every server of
    // a group and HAProxy retries 3 times; past a few, a request that fails everywhere (its own
    // fault, or an outage) multiplies its wait by the connect timeout and the group's load by
    // the number of servers, a retry storm, while each extra try rarely saves a request.
    unsigned tries_per_request() const;
};

struct Config {
    std::string file;                  // the config file's path ("" when built in code)
    std::string dir;                   // relative paths resolve against this folder
    std::vector<ListenAddress> listen; // at least one; IP addresses only (names not resolved)
    unsigned workers = 0;              // 0: number of cores
    std::string access_log;            // "" = off
    LogLevel log_level = LogLevel::info;
    Limits limits;
    Timeouts timeouts;
    std::vector<PluginDecl> plugins;
    std::vector<LocationConfig> locations;
    std::vector<UpstreamConfig> upstreams; // [[upstream]] groups; names are unique
};

// Every problem found in a config, each "file:line:col: key: message" (with a fix when one is
// obvious). what() joins them with newlines.
class ConfigError : public std::runtime_error {
  public:
    explicit ConfigError(std::vector<std::string> problems);
    const std::vector<std::string> &problems() const { return problems_; }

  private:
    std::vector<std::string> problems_;
};

// A location's plugin settings for a Config built in code, from the text of a TOML table
// (`root = "www"` and so on, as under [location.<handler>] in a file). Relative paths resolve
// against `dir`; `name` stands for the file in messages. Throws ConfigError on bad TOML (the
// plugin checks the keys when the server creates its instance).
std::shared_ptr<const PluginSettings> parse_plugin_settings(const std::string &toml,
                                                            const std::string &dir = ".",
                                                            const std::string &name = "settings");

// Reads and validates a TOML config file. Throws ConfigError listing every problem.
Config load_config_file(const std::string &path);
// The same for TOML text; `path` names it in messages and sets the base folder.
Config load_config_text(const std::string &text, const std::string &path);

} // namespace dialtone
