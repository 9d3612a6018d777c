// Loading plugin shared objects and checking their ABI.
#pragma once

#include "dialtone/server.hpp"

#include <dialtone/plugin.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dialtone {

struct PluginModule {
    std::string name;
    std::string path;
    void *handle = nullptr; // dlopen handle; never closed while the process lives
    const dt_plugin_t *desc = nullptr;
};

// Why a plugin descriptor is unacceptable to this host, or "" if it is fine. Pure: the ABI
// rules in one place (major must match, minor only adds, min_host_minor honoured).
std::string check_descriptor(const dt_plugin_t *desc, const std::string &path);

// Opens `path`, finds the entry symbol, calls it with the host's table and checks the
// descriptor. Throws StartError naming the path and the problem.
std::unique_ptr<PluginModule> load_plugin(const std::string &name, const std::string &path);
// The same for a plugin compiled into the application (no shared object).
std::unique_ptr<PluginModule> load_in_process(const InProcessPlugin &plugin);

// Every plugin module of the process, loaded once and kept (DESIGN: shared objects are not
// unloaded while anything of theirs is alive; we keep them for the process's life).
class PluginRegistry {
  public:
    // Finds `name`: a declared path if given, else an in-process plugin of that name in
    // `options`, else "<dir>/<name>.so" in options.plugin_dirs. Throws StartError.
    const PluginModule &get(const std::string &name, const std::string &declared_path,
                            const ServerOptions &options);

    static PluginRegistry &process();

  private:
    std::map<std::string, std::unique_ptr<PluginModule>> by_path_;
};

} // namespace dialtone
