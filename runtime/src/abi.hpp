// The bridge between the C ABI (plugin.h) and the runtime's C++ objects.
#pragma once

#include <dialtone/plugin.h>

#include <string>

namespace dialtone {

struct Config;
struct Location;

// The host's function table: one per process, static storage.
const dt_api_t *host_api();

// Calls the location's plugin on_create with its settings. Returns "" on success (and sets
// loc.instance, loc.created) or every problem as "file:line:col: key: message" lines.
std::string create_instance(Location &loc, const Config &config, void *context);

} // namespace dialtone
