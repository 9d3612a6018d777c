// One generation of plugin instances and routes, built from a Config. Connections keep the
// generation they were accepted under until they close, so a reload never changes a request's
// plugins under it.
#pragma once

#include "dialtone/server.hpp"

#include "dialtone/config.hpp"
#include "loader.hpp"
#include "upstream.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dialtone {

struct Location {
    std::string prefix;
    const PluginModule *plugin = nullptr;
    void *instance = nullptr;
    std::string section;                             // "location[0].static", for messages
    std::shared_ptr<const PluginSettings> settings;  // strings handed to the plugin live here
    std::vector<std::unique_ptr<std::string>> owned; // config_path results
    bool created = false;
};

class Generation {
  public:
    // Loads plugins and creates every location's instance. Throws StartError listing every
    // problem.
    Generation(const Config &config, const ServerOptions &options);
    ~Generation(); // destroys instances (on_destroy)
    Generation(const Generation &) = delete;
    Generation &operator=(const Generation &) = delete;

    // Locations whose prefix matches `path`, longest prefix first: `order` holds indexes into
    // locations(), the candidates for `path` are those with prefix_matches(). Pure lookups.
    const std::vector<Location> &locations() const { return locations_; }
    // The config this generation was built from: its limits and timeouts govern the
    // connections accepted under it.
    const Config &config() const { return config_; }
    // Index of the first location at or after position `from` (in longest-first order) that
    // matches `path`, or -1.
    int route(std::string_view path, size_t from) const;
    // The [[upstream]] groups, in the config's order.
    const std::vector<std::unique_ptr<UpstreamGroup>> &upstreams() const { return upstreams_; }
    // The server began to stop: runs each instance's on_stop (plugins of ABI 1.2 and later)
    // on the calling thread.
    void notify_stop() const;

  private:
    Config config_;
    std::vector<std::unique_ptr<UpstreamGroup>> upstreams_; // before the instances using them
    std::vector<Location> locations_; // sorted by prefix length, longest first
};

} // namespace dialtone
