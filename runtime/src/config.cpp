#include "dialtone/config.hpp"

#include "http.hpp"
#include "plugin_settings.hpp"

#include <algorithm>
#include <memory>

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dialtone {

namespace {

std::string join_lines(const std::vector<std::string> &lines) {
    std::string out;
    for (const auto &l : lines) {
        if (!out.empty())
            out += '\n';
        out += l;
    }
    return out;
}

const char *type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    default:
        return "a date/time";
    }
}

// Collects problems with positions while walking the document.
class Checker {
  public:
    Checker(std::string file) : file_(std::move(file)) {}

    void problem(const toml::source_region &where, const std::string &key, const std::string &msg) {
        problems_.push_back(source_position(file_, where) + ": " + key + ": " + msg);
    }

    // Flags every key of `tbl` not in `allowed`.
    void unknown_keys(const toml::table &tbl, const std::string &path,
                      std::initializer_list<std::string_view> allowed) {
        for (auto &&[k, v] : tbl) {
            bool ok = false;
            for (auto a : allowed)
                ok = ok || k.str() == a;
            if (ok)
                continue;
            std::string list;
            for (auto a : allowed)
                list += (list.empty() ? "" : ", ") + std::string(a);
            problem(k.source(), join(path, k.str()), "unknown key (known keys here: " + list + ")");
        }
    }

    template <typename T>
    bool get(const toml::table &tbl, const std::string &path, std::string_view key, T &out,
             const char *want) {
        const toml::node *n = tbl.get(key);
        if (!n)
            return false;
        if (auto v = n->value_exact<T>()) {
            out = *v;
            return true;
        }
        problem(n->source(), join(path, key),
                std::string("expected ") + want + ", got " + type_name(n->type()));
        return false;
    }

    // A positive integer no larger than `max`.
    template <typename T>
    void get_uint(const toml::table &tbl, const std::string &path, std::string_view key, T &out,
                  int64_t min, int64_t max) {
        int64_t v;
        if (!get(tbl, path, key, v, "an integer"))
            return;
        if (v < min || v > max) {
            problem(tbl.get(key)->source(), join(path, key),
                    "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", got " + std::to_string(v));
            return;
        }
        out = static_cast<T>(v);
    }

    const toml::table *subtable(const toml::table &tbl, const std::string &path,
                                std::string_view key) {
        const toml::node *n = tbl.get(key);
        if (!n)
            return nullptr;
        if (auto t = n->as_table())
            return t;
        problem(n->source(), join(path, key),
                std::string("expected a table, got ") + type_name(n->type()));
        return nullptr;
    }

    static std::string join(const std::string &path, std::string_view key) {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }

    const std::string &file() const { return file_; }
    std::vector<std::string> &problems() { return problems_; }

  private:
    std::string file_;
    std::vector<std::string> problems_;
};

// "host:port" or "[v6]:port" with a numeric host; `ip_examples` ends the message for a name.
bool parse_address(std::string_view text, ListenAddress &out, std::string &why,
                   std::string_view ip_examples) {
    std::string_view host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            why = "expected \"[ipv6]:port\"";
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            why = "expected \"host:port\", e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"";
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.empty() || host == "*")
            host = "0.0.0.0";
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
        std::stoul(std::string(port)) > 65535) {
        why = "the port must be a number from 0 to 65535";
        return false;
    }
    unsigned char buf[16];
    std::string h(host);
    if (inet_pton(AF_INET, h.c_str(), buf) != 1 && inet_pton(AF_INET6, h.c_str(), buf) != 1) {
        why = "\"" + h + "\" is not an IP address (names are not resolved: use " +
              std::string(ip_examples) + ")";
        return false;
    }
    out.host = h;
    out.port = static_cast<uint16_t>(std::stoul(std::string(port)));
    return true;
}

void read_server(Checker &c, const toml::table &root, Config &cfg) {
    const toml::table *server = c.subtable(root, "", "server");
    if (!server) {
        if (!root.get("server"))
            c.problems().push_back(c.file() + ":1:1: server: missing [server] table (add one "
                                              "with listen = [\"127.0.0.1:8080\"])");
        return;
    }
    c.unknown_keys(*server, "server",
                   {"listen", "workers", "access_log", "log_level", "limits", "timeouts"});

    if (const toml::node *n = server->get("listen")) {
        std::vector<const toml::node *> items;
        if (n->is_string()) {
            items.push_back(n);
        } else if (auto arr = n->as_array()) {
            for (auto &item : *arr)
                items.push_back(&item);
        } else {
            c.problem(n->source(), "server.listen",
                      "expected a string or an array of strings, got " +
                          std::string(type_name(n->type())));
        }
        for (const toml::node *item : items) {
            auto s = item->value_exact<std::string>();
            ListenAddress a;
            std::string why;
            if (!s) {
                c.problem(item->source(), "server.listen", "expected a string \"host:port\"");
            } else if (!parse_address(*s, a, why, "127.0.0.1, ::1, 0.0.0.0 or ::")) {
                c.problem(item->source(), "server.listen", why);
            } else {
                cfg.listen.push_back(a);
            }
        }
    }
    if (cfg.listen.empty() && c.problems().empty())
        c.problem(server->source(), "server.listen",
                  "no address to listen on (add listen = [\"127.0.0.1:8080\"])");

    c.get_uint(*server, "server", "workers", cfg.workers, 1, 1024);
    std::string s;
    if (c.get(*server, "server", "access_log", s, "a string")) {
        cfg.access_log = s.empty() || s[0] == '/' ? s : cfg.dir + "/" + s;
    }
    if (c.get(*server, "server", "log_level", s, "a string") && !parse_log_level(s, cfg.log_level))
        c.problem(server->get("log_level")->source(), "server.log_level",
                  "\"" + s + "\" is not a level: use error, warn, info or debug");

    if (const toml::table *l = c.subtable(*server, "server", "limits")) {
        c.unknown_keys(
            *l, "server.limits",
            {"max_head_size", "max_uri_size", "max_headers", "max_body_size", "max_connections"});
        c.get_uint(*l, "server.limits", "max_head_size", cfg.limits.max_head_size, 256, 1 << 20);
        c.get_uint(*l, "server.limits", "max_uri_size", cfg.limits.max_uri_size, 16, 1 << 20);
        c.get_uint(*l, "server.limits", "max_headers", cfg.limits.max_headers, 1, 10000);
        c.get_uint(*l, "server.limits", "max_body_size", cfg.limits.max_body_size, 0, INT64_MAX);
        c.get_uint(*l, "server.limits", "max_connections", cfg.limits.max_connections, 1, 10000000);
    }
    if (const toml::table *t = c.subtable(*server, "server", "timeouts")) {
        c.unknown_keys(*t, "server.timeouts",
                       {"head_ms", "keepalive_ms", "body_ms", "send_ms", "grace_ms"});
        const int64_t day = 86400000;
        c.get_uint(*t, "server.timeouts", "head_ms", cfg.timeouts.head_ms, 1, day);
        c.get_uint(*t, "server.timeouts", "keepalive_ms", cfg.timeouts.keepalive_ms, 1, day);
        c.get_uint(*t, "server.timeouts", "body_ms", cfg.timeouts.body_ms, 1, day);
        c.get_uint(*t, "server.timeouts", "send_ms", cfg.timeouts.send_ms, 1, day);
        c.get_uint(*t, "server.timeouts", "grace_ms", cfg.timeouts.grace_ms, 0, day);
    }
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (char ch : name)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    return true;
}

const toml::array *array_of_tables(Checker &c, const toml::table &root, std::string_view key) {
    const toml::node *n = root.get(key);
    if (!n)
        return nullptr;
    auto arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
        c.problem(n->source(), std::string(key),
                  "expected an array of tables: write [[" + std::string(key) + "]]");
        return nullptr;
    }
    return arr;
}

void read_plugins(Checker &c, const toml::table &root, Config &cfg) {
    const toml::array *arr = array_of_tables(c, root, "plugin");
    if (!arr)
        return;
    for (size_t i = 0; i < arr->size(); ++i) {
        const toml::table &t = *arr->get(i)->as_table();
        std::string path = "plugin[" + std::to_string(i) + "]";
        c.unknown_keys(t, path, {"name", "path"});
        PluginDecl d;
        d.where = source_position(c.file(), t.source());
        bool has_name = c.get(t, path, "name", d.name, "a string");
        bool has_path = c.get(t, path, "path", d.path, "a string");
        if (!has_name && !t.get("name"))
            c.problem(t.source(), path + ".name", "missing (the handler name locations use)");
        else if (has_name && !valid_name(d.name))
            c.problem(t.get("name")->source(), path + ".name",
                      "\"" + d.name + "\" is not a valid name (use a-z, 0-9, _ and -)");
        if (!has_path && !t.get("path"))
            c.problem(t.source(), path + ".path", "missing (the plugin's .so file)");
        if (has_path && !d.path.empty() && d.path[0] != '/')
            d.path = cfg.dir + "/" + d.path;
        for (const auto &other : cfg.plugins)
            if (has_name && other.name == d.name)
                c.problem(t.get("name")->source(), path + ".name",
                          "plugin \"" + d.name + "\" is already declared at " + other.where);
        cfg.plugins.push_back(std::move(d));
    }
}

void read_locations(Checker &c, const std::shared_ptr<const toml::table> &document, Config &cfg) {
    const toml::table &root = *document;
    const toml::array *arr = array_of_tables(c, root, "location");
    if (!arr) {
        if (!root.get("location"))
            c.problems().push_back(c.file() + ":1:1: location: no [[location]] (add one with "
                                              "prefix = \"/\" and handler = \"static\")");
        return;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
        const toml::table &t = *arr->get(i)->as_table();
        std::string path = "location[" + std::to_string(i) + "]";
        LocationConfig loc;
        loc.where = source_position(c.file(), t.source());
        bool has_prefix = c.get(t, path, "prefix", loc.prefix, "a string");
        bool has_handler = c.get(t, path, "handler", loc.handler, "a string");
        loc.handler_where =
            has_handler ? source_position(c.file(), t.get("handler")->source()) : loc.where;
        if (!has_prefix && !t.get("prefix"))
            c.problem(t.source(), path + ".prefix", "missing (e.g. prefix = \"/\")");
        if (has_prefix) {
            std::string normal;
            if (loc.prefix.empty() || loc.prefix[0] != '/' ||
                http::normalize_path(loc.prefix, normal) != 0 ||
                (normal != loc.prefix && normal + "/" != loc.prefix))
                c.problem(t.get("prefix")->source(), path + ".prefix",
                          "\"" + loc.prefix +
                              "\" must be a normalised absolute path such as "
                              "\"/\" or \"/site\"");
        }
        if (!has_handler && !t.get("handler"))
            c.problem(t.source(), path + ".handler", "missing (e.g. handler = \"static\")");
        else if (has_handler && !valid_name(loc.handler))
            c.problem(t.get("handler")->source(), path + ".handler",
                      "\"" + loc.handler + "\" is not a valid name (use a-z, 0-9, _ and -)");
        for (auto &&[k, v] : t) {
            if (k.str() == "prefix" || k.str() == "handler")
                continue;
            if (has_handler && k.str() == loc.handler && v.is_table()) {
                loc.section = path + "." + loc.handler;
                loc.settings = std::make_shared<PluginSettings>(document, *v.as_table(), c.file(),
                                                                cfg.dir, loc.section);
                continue;
            }
            if (v.is_table())
                c.problem(k.source(), path + "." + std::string(k.str()),
                          "settings table does not match handler \"" + loc.handler +
                              "\": name it [location." + loc.handler + "]");
            else
                c.problem(k.source(), path + "." + std::string(k.str()),
                          "unknown key (known keys here: prefix, handler, and a table named "
                          "after the handler)");
        }
        if (loc.section.empty())
            loc.section = path + "." + loc.handler;
        for (const auto &other : cfg.locations)
            if (has_prefix && other.prefix == loc.prefix)
                c.problem(t.get("prefix")->source(), path + ".prefix",
                          "prefix \"" + loc.prefix + "\" is already used by the location at " +
                              other.where);
        cfg.locations.push_back(std::move(loc));
    }
}

// An upstream server's address: parse_address's forms, but one a connection can go to (no
// wildcard, no port 0), spelled canonically so that "[0::1]:80" and "[::1]:80" are one server
// to the hash balancer and to the duplicate check.
bool parse_server_address(std::string_view text, UpstreamServer &out, std::string &why) {
    ListenAddress a;
    if (!parse_address(text, a, why, "the server's IP address, such as 127.0.0.1 or ::1"))
        return false;
    unsigned char bytes[16] = {};
    bool v6 = inet_pton(AF_INET6, a.host.c_str(), bytes) == 1;
    if (!v6)
        inet_pton(AF_INET, a.host.c_str(), bytes);
    static const unsigned char unspecified[16] = {};
    if (memcmp(bytes, unspecified, v6 ? 16 : 4) == 0) {
        why = "\"" + std::string(text) +
              "\" is a wildcard address, not a server's: write its own address (e.g. 127.0.0.1)";
        return false;
    }
    if (a.port == 0) {
        why = "the port must be a number from 1 to 65535";
        return false;
    }
    char canonical[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, canonical, sizeof canonical);
    out.host = canonical;
    out.port = a.port;
    std::string port = std::to_string(a.port);
    out.address = v6 ? "[" + out.host + "]:" + port : out.host + ":" + port;
    return true;
}

// The servers of the servers array, each a "host:port" string or { address, weight }.
void read_upstream_servers(Checker &c, const toml::table &t, const std::string &path,
                           UpstreamConfig &up) {
    // Maglev needs many more table slots (65537) than servers to keep its shares even.
    const size_t max_servers = 1024;
    const std::string key = path + ".servers";
    const toml::node *n = t.get("servers");
    const toml::array *arr = n ? n->as_array() : nullptr;
    if (!n) {
        c.problem(t.source(), key, "missing (e.g. servers = [\"127.0.0.1:8080\"])");
        return;
    }
    if (!arr || arr->empty() || arr->size() > max_servers) {
        c.problem(n->source(), key,
                  !arr ? "expected an array, got " + std::string(type_name(n->type()))
                  : arr->empty()
                      ? std::string("empty: list at least one server (e.g. [\"127.0.0.1:8080\"])")
                      : "more than " + std::to_string(max_servers) +
                            " servers: split them into several groups");
        return;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
        const toml::node &item = *arr->get(i);
        const std::string item_key = key + "[" + std::to_string(i) + "]";
        UpstreamServer server;
        const toml::node *address = &item;
        std::string address_key = item_key;
        if (const toml::table *tbl = item.as_table()) {
            c.unknown_keys(*tbl, item_key, {"address", "weight"});
            c.get_uint(*tbl, item_key, "weight", server.weight, 1, 1000);
            address = tbl->get("address");
            address_key = item_key + ".address";
            if (!address) {
                c.problem(tbl->source(), address_key,
                          "missing (e.g. { address = \"127.0.0.1:8080\", weight = 2 })");
                continue;
            }
        } else if (!item.is_string()) {
            c.problem(item.source(), item_key,
                      "expected a string \"host:port\" or a table { address = \"host:port\", "
                      "weight = N }, got " +
                          std::string(type_name(item.type())));
            continue;
        }
        auto text = address->value_exact<std::string>();
        std::string why;
        if (!text) {
            c.problem(address->source(), address_key,
                      "expected a string \"host:port\", got " +
                          std::string(type_name(address->type())));
            continue;
        }
        if (!parse_server_address(*text, server, why)) {
            c.problem(address->source(), address_key, why);
            continue;
        }
        for (size_t j = 0; j < up.servers.size(); ++j)
            if (up.servers[j].address == server.address)
                c.problem(address->source(), address_key,
                          server.address + " is already servers[" + std::to_string(j) +
                              "]: list a server once and give it a weight instead");
        up.servers.push_back(std::move(server));
    }
}

// One of a closed set of words: sets `out`, or says which words there are.
template <typename E, size_t N>
bool read_word(Checker &c, const toml::table &t, const std::string &path, std::string_view key,
               const std::pair<const char *, E> (&words)[N], E &out) {
    std::string s;
    if (!c.get(t, path, key, s, "a string"))
        return false;
    std::string list;
    for (size_t k = 0; k < N; ++k) {
        if (s == words[k].first) {
            out = words[k].second;
            return true;
        }
        list += (k == 0 ? "" : k + 1 == N ? " or " : ", ") + std::string(words[k].first);
    }
    c.problem(t.get(key)->source(), Checker::join(path, key),
              "\"" + s + "\" is not one of the choices: use " + list);
    return false;
}

// A folder the server can make files in (checked now: the spool is made on the first slow
// client, long after the config was read).
void read_spool_dir(Checker &c, const toml::table &t, const std::string &path,
                    const std::string &base, std::string &out) {
    std::string dir;
    if (!c.get(t, path, "spool_dir", dir, "a string"))
        return;
    if (!dir.empty() && dir[0] != '/')
        dir = base + "/" + dir;
    struct stat st;
    if (dir.empty() || stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        c.problem(t.get("spool_dir")->source(), path + ".spool_dir",
                  "\"" + dir + "\" is not a folder (create it, or use \"/var/tmp\")");
        return;
    }
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
        c.problem(t.get("spool_dir")->source(), path + ".spool_dir",
                  "\"" + dir + "\" is not writable by this user (" + strerror(errno) +
                      "): give it to the server's user, or use \"/var/tmp\"");
        return;
    }
    out = dir;
}

void read_upstreams(Checker &c, const toml::table &root, Config &cfg) {
    const toml::array *arr = array_of_tables(c, root, "upstream");
    if (!arr)
        return;
    static const std::pair<const char *, BalancerKind> balancers[] = {
        {"round_robin", BalancerKind::round_robin},
        {"least_conn", BalancerKind::least_conn},
        {"hash", BalancerKind::hash}};
    static const std::pair<const char *, HashKey> hash_keys[] = {
        {"uri", HashKey::uri}, {"host_uri", HashKey::host_uri}, {"client_ip", HashKey::client_ip}};
    const int64_t day = 86400000;
    for (size_t i = 0; i < arr->size(); ++i) {
        const toml::table &t = *arr->get(i)->as_table();
        const std::string path = "upstream[" + std::to_string(i) + "]";
        c.unknown_keys(t, path,
                       {"name", "servers", "balancer", "hash_key", "keepalive", "idle_timeout_ms",
                        "connect_timeout_ms", "first_byte_timeout_ms", "io_timeout_ms", "tries",
                        "max_fails", "fail_timeout_ms", "spool_max_size", "spool_dir",
                        "recv_buffer"});
        UpstreamConfig up;
        up.where = source_position(c.file(), t.source());
        bool has_name = c.get(t, path, "name", up.name, "a string");
        if (!has_name && !t.get("name"))
            c.problem(t.source(), path + ".name",
                      "missing (the name proxy locations use, e.g. name = \"backend\")");
        else if (has_name && !valid_name(up.name))
            c.problem(t.get("name")->source(), path + ".name",
                      "\"" + up.name + "\" is not a valid name (use a-z, 0-9, _ and -)");
        for (const auto &other : cfg.upstreams)
            if (has_name && other.name == up.name)
                c.problem(t.get("name")->source(), path + ".name",
                          "upstream \"" + up.name + "\" is already declared at " + other.where);
        read_upstream_servers(c, t, path, up);
        read_word(c, t, path, "balancer", balancers, up.balancer);
        if (read_word(c, t, path, "hash_key", hash_keys, up.hash_key) &&
            up.balancer != BalancerKind::hash)
            c.problem(t.get("hash_key")->source(), path + ".hash_key",
                      "only the hash balancer reads it: add balancer = \"hash\" or remove it");
        c.get_uint(t, path, "keepalive", up.keepalive, 0, 100000);
        c.get_uint(t, path, "idle_timeout_ms", up.idle_timeout_ms, 1, day);
        c.get_uint(t, path, "connect_timeout_ms", up.connect_timeout_ms, 1, day);
        c.get_uint(t, path, "first_byte_timeout_ms", up.first_byte_timeout_ms, 1, day);
        c.get_uint(t, path, "io_timeout_ms", up.io_timeout_ms, 1, day);
        c.get_uint(t, path, "max_fails", up.max_fails, 0, 1000);
        c.get_uint(t, path, "fail_timeout_ms", up.fail_timeout_ms, 1, day);
        c.get_uint(t, path, "tries", up.tries, 1, 1000);
        c.get_uint(t, path, "spool_max_size", up.spool_max_size, 0, INT64_MAX);
        read_spool_dir(c, t, path, cfg.dir, up.spool_dir);
        c.get_uint(t, path, "recv_buffer", up.recv_buffer, 0, 64 * 1024 * 1024);
        if (up.tries > up.servers.size() && !up.servers.empty())
            c.problem(t.get("tries")->source(), path + ".tries",
                      std::to_string(up.tries) + " tries but " + std::to_string(up.servers.size()) +
                          " servers: each try goes to another server, so use at most " +
                          std::to_string(up.servers.size()));
        cfg.upstreams.push_back(std::move(up));
    }
}

std::string folder_of(const std::string &path) {
    std::string abs = path;
    if (abs.empty() || abs[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd))
            abs = std::string(cwd) + "/" + path;
    }
    size_t slash = abs.rfind('/');
    return slash == 0 ? "/" : abs.substr(0, slash);
}

Config from_table(const std::shared_ptr<const toml::table> &document, const std::string &path) {
    const toml::table &root = *document;
    Config cfg;
    cfg.file = path;
    cfg.dir = folder_of(path);
    Checker c(path);
    c.unknown_keys(root, "", {"server", "plugin", "location", "upstream"});
    read_server(c, root, cfg);
    read_plugins(c, root, cfg);
    read_locations(c, document, cfg);
    read_upstreams(c, root, cfg);
    if (!c.problems().empty())
        throw ConfigError(std::move(c.problems()));
    return cfg;
}

// The parsed TOML document, kept whole (settings point into it); a syntax error is a
// ConfigError at its position.
std::shared_ptr<const toml::table> parse_document(std::string_view text, const std::string &path) {
    try {
        return std::make_shared<const toml::table>(toml::parse(text, path));
    } catch (const toml::parse_error &e) {
        throw ConfigError(
            {source_position(path, e.source()) + ": " + std::string(e.description())});
    }
}

Config parse(std::string_view text, const std::string &path) {
    return from_table(parse_document(text, path), path);
}

} // namespace

std::string source_position(const std::string &file, const toml::source_region &where) {
    return file + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
}

unsigned UpstreamConfig::tries_per_request() const {
    return tries ? tries : static_cast<unsigned>(std::min<size_t>(servers.size(), 3));
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

Config load_config_text(const std::string &text, const std::string &path) {
    return parse(text, path);
}

Config load_config_file(const std::string &path) {
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        throw ConfigError({path + ": cannot open: " + strerror(errno)});
    std::string text;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        text.append(buf, n);
    fclose(f);
    return parse(text, path);
}

} // namespace dialtone

namespace dialtone {

std::shared_ptr<const PluginSettings>
parse_plugin_settings(const std::string &text, const std::string &dir, const std::string &name) {
    std::shared_ptr<const toml::table> document = parse_document(text, name);
    const toml::table &table = *document;
    return std::make_shared<const PluginSettings>(std::move(document), table, name, dir, name);
}

} // namespace dialtone
