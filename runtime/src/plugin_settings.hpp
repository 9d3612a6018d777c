// A location's settings table for its plugin, with what messages need to point at it.
#pragma once

#include "dialtone/config.hpp"

#include <toml++/toml.h>

namespace dialtone {

class PluginSettings {
  public:
    PluginSettings(toml::table table, std::string file, std::string dir, std::string section)
        : table(std::move(table)), file(std::move(file)), dir(std::move(dir)),
          section(std::move(section)) {}
    toml::table table;
    std::string file;    // config file, for messages
    std::string dir;     // relative paths resolve against it
    std::string section; // "location[0].static"
};

// "file:line:col" of a TOML node.
std::string source_position(const std::string &file, const toml::source_region &where);

} // namespace dialtone
