// A location's settings table for its plugin, with what messages need to point at it.
#pragma once

#include "dialtone/config.hpp"

#include <toml++/toml.h>

#include <memory>

namespace dialtone {

class PluginSettings {
  public:
    // `table` lies inside `document`, which is kept alive: toml++ does not copy source
    // positions with a node, and messages must name the line of a bad setting.
    PluginSettings(std::shared_ptr<const toml::table> document, const toml::table &table,
                   std::string file, std::string dir, std::string section)
        : document(std::move(document)), table(table), file(std::move(file)), dir(std::move(dir)),
          section(std::move(section)) {}
    std::shared_ptr<const toml::table> document;
    const toml::table &table;
    std::string file;    // config file, for messages
    std::string dir;     // relative paths resolve against it
    std::string section; // "location[0].static"
};

// "file:line:col" of a TOML node.
std::string source_position(const std::string &file, const toml::source_region &where);

} // namespace dialtone
