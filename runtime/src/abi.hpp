// The bridge between the C ABI (plugin.h) and the runtime's C++ objects.
#pragma once

#include <dialtone/plugin.h>

#include <memory>
#include <string>
#include <vector>

namespace dialtone {

struct Location;
class UpstreamGroup;

// The host's function table: one per process, static storage.
const dt_api_t *host_api();

// Calls the location's plugin on_create with its settings (and the generation's upstream
// groups, for config_upstream). Returns "" on success (and sets loc.instance, loc.created) or
// every problem as "file:line:col: key: message" lines.
std::string create_instance(Location &loc,
                            const std::vector<std::unique_ptr<UpstreamGroup>> &upstreams,
                            void *context);

} // namespace dialtone
