#include "loader.hpp"

#include "abi.hpp"
#include "dialtone/server.hpp"

#include <cstdio>
#include <dlfcn.h>
#include <mutex>
#include <sys/stat.h>

namespace dialtone {

std::string check_descriptor(const dt_plugin_t *d, const std::string &path) {
    auto ver = [](unsigned major, unsigned minor) {
        return std::to_string(major) + "." + std::to_string(minor);
    };
    if (!d)
        return "plugin " + path + ": dt_plugin_entry returned NULL (the plugin refused to load)";
    // The first fields are fixed for every major version, so they are safe to read.
    if (d->abi_major != DT_ABI_MAJOR)
        return "plugin " + path + " was built for plugin ABI " + ver(d->abi_major, d->abi_minor) +
               "; this host speaks " + ver(DT_ABI_MAJOR, DT_ABI_MINOR) +
               ": rebuild the plugin against dialtone/plugin.h " + std::to_string(DT_ABI_MAJOR) +
               ".x";
    if (d->size < offsetof(dt_plugin_t, reserved))
        return "plugin " + path + " declares a descriptor of " + std::to_string(d->size) +
               " bytes, smaller than ABI " + ver(DT_ABI_MAJOR, 0) +
               " requires: set size with DT_PLUGIN_INIT";
    if (d->min_host_minor > DT_ABI_MINOR)
        return "plugin " + path + " needs a host with plugin ABI " +
               ver(DT_ABI_MAJOR, d->min_host_minor) + " or newer; this host speaks " +
               ver(DT_ABI_MAJOR, DT_ABI_MINOR) + ": upgrade dialtone";
    if (!d->name || !*d->name)
        return "plugin " + path + " has no name in its descriptor";
    if (!d->on_create)
        return "plugin " + path + " has no on_create hook (it is mandatory)";
    return "";
}

std::unique_ptr<PluginModule> load_plugin(const std::string &name, const std::string &path) {
    // RTLD_LOCAL keeps plugins' symbols apart; RTLD_NOW finds missing symbols at load time
    // rather than at the first request.
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        throw StartError("plugin \"" + name + "\": cannot load: " + dlerror());
    auto entry = reinterpret_cast<dt_plugin_entry_fn>(dlsym(handle, DT_PLUGIN_ENTRY_SYMBOL));
    if (!entry) {
        dlclose(handle);
        throw StartError("plugin " + path +
                         " exports no " DT_PLUGIN_ENTRY_SYMBOL
                         " symbol: is it a dialtone plugin? (define it with DT_PLUGIN_DEFINE)");
    }
    const dt_plugin_t *desc = entry(host_api());
    std::string why = check_descriptor(desc, path);
    if (!why.empty()) {
        dlclose(handle);
        throw StartError(why);
    }
    auto m = std::make_unique<PluginModule>();
    m->name = name;
    m->path = path;
    m->handle = handle;
    m->desc = desc;
    return m;
}

std::unique_ptr<PluginModule> load_in_process(const InProcessPlugin &plugin) {
    std::string where = "in-process plugin \"" + plugin.name + "\"";
    if (!plugin.entry)
        throw StartError(where + ": no entry function");
    const dt_plugin_t *desc = plugin.entry(host_api());
    std::string why = check_descriptor(desc, where);
    if (!why.empty())
        throw StartError(why);
    auto m = std::make_unique<PluginModule>();
    m->name = plugin.name;
    m->path = where;
    m->desc = desc;
    return m;
}

namespace {

// A load check that only warns, for shared objects and in-process plugins alike: the
// configured (or registered) name is the one that counts. `what` names the plugin.
void warn_if_renamed(const PluginModule &m, const std::string &what) {
    if (m.desc->name != m.name)
        DT_LOG(LogLevel::warn, "%s calls itself \"%s\"; configs use it as \"%s\"", what.c_str(),
               m.desc->name, m.name.c_str());
}

} // namespace

PluginRegistry &PluginRegistry::process() {
    static PluginRegistry registry;
    return registry;
}

const PluginModule &PluginRegistry::get(const std::string &name, const std::string &declared,
                                        const ServerOptions &options) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    const std::vector<std::string> &dirs = options.plugin_dirs;
    std::string path = declared;
    if (path.empty()) {
        for (const InProcessPlugin &p : options.plugins) {
            if (p.name != name)
                continue;
            // Keyed by entry function: the same plugin registered by several servers of the
            // process (or again after a reload) is entered once.
            char key[64];
            snprintf(key, sizeof key, "in-process:%p", reinterpret_cast<void *>(p.entry));
            auto it = by_path_.find(key);
            if (it != by_path_.end())
                return *it->second;
            auto m = load_in_process(p);
            warn_if_renamed(*m, m->path);
            auto &ref = *m;
            by_path_.emplace(key, std::move(m));
            return ref;
        }
    }
    if (path.empty()) {
        std::string tried;
        for (const auto &dir : dirs) {
            std::string candidate = dir + "/" + name + ".so";
            struct stat st;
            if (stat(candidate.c_str(), &st) == 0) {
                path = candidate;
                break;
            }
            tried += (tried.empty() ? "" : ", ") + candidate;
        }
        if (path.empty())
            throw StartError("handler \"" + name +
                             "\" is not a bundled or in-process plugin and no [[plugin]] "
                             "declares it (looked for " +
                             (tried.empty() ? std::string("no folders") : tried) +
                             "); add [[plugin]] name = \"" + name + "\" path = \"...\"");
    }
    auto it = by_path_.find(path);
    if (it != by_path_.end())
        return *it->second;
    auto m = load_plugin(name, path);
    warn_if_renamed(*m, "plugin " + path);
    auto &ref = *m;
    by_path_.emplace(path, std::move(m));
    return ref;
}

} // namespace dialtone
