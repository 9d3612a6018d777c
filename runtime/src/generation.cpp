#include "generation.hpp"

#include "abi.hpp"
#include "dialtone/server.hpp"
#include "http.hpp"
#include "plugin_settings.hpp"

#include <algorithm>

namespace dialtone {

Generation::Generation(const Config &config, const ServerOptions &options) : config_(config) {
    std::vector<std::string> problems;
    auto &registry = PluginRegistry::process();
    for (const UpstreamConfig &u : config_.upstreams)
        upstreams_.push_back(std::make_unique<UpstreamGroup>(u));
    // Declared plugins load even when no location uses them, so --check vets them all.
    for (const auto &decl : config.plugins) {
        try {
            registry.get(decl.name, decl.path, options);
        } catch (const StartError &e) {
            problems.push_back(decl.where + ": " + e.what());
        }
    }
    for (size_t i = 0; i < config.locations.size(); ++i) {
        const LocationConfig &lc = config.locations[i];
        // A file's locations were checked when it was read; a config built in code is checked
        // here, as routing relies on it. Its messages name the location by its index, where a
        // file's name a position.
        bool in_code = lc.where.empty();
        std::string index = "location[" + std::to_string(i) + "]";
        std::string name = in_code ? index + " (built in code)" : lc.where;
        std::string normal;
        if (lc.prefix.empty() || lc.prefix[0] != '/' ||
            http::normalize_path(lc.prefix, normal) != 0 ||
            (normal != lc.prefix && normal + "/" != lc.prefix)) {
            problems.push_back(name + ": prefix \"" + lc.prefix +
                               "\" must be a normalised absolute path such as \"/\" or \"/site\"");
            continue;
        }
        if (lc.handler.empty()) {
            problems.push_back(name + ": no handler");
            continue;
        }
        Location loc;
        loc.prefix = lc.prefix;
        if (!lc.section.empty())
            loc.section = lc.section;
        else
            loc.section = in_code ? name + ": " + lc.handler : index + "." + lc.handler;
        loc.settings = lc.settings;
        std::string declared;
        for (const auto &decl : config.plugins)
            if (decl.name == lc.handler)
                declared = decl.path;
        try {
            loc.plugin = &registry.get(lc.handler, declared, options);
        } catch (const StartError &e) {
            problems.push_back(
                (in_code ? name + ": handler: " : lc.handler_where + ": " + index + ".handler: ") +
                e.what());
            continue;
        }
        // An in-process plugin's context is the registering application's, per server.
        void *context = nullptr;
        if (declared.empty())
            for (const InProcessPlugin &p : options.plugins)
                if (p.name == lc.handler && loc.plugin->handle == nullptr)
                    context = p.context;
        std::string err = create_instance(loc, upstreams_, context);
        if (!err.empty()) {
            problems.push_back(err);
            continue;
        }
        locations_.push_back(std::move(loc));
    }
    if (!problems.empty()) {
        for (auto &loc : locations_)
            if (loc.created && loc.plugin->desc->on_destroy)
                loc.plugin->desc->on_destroy(loc.instance);
        std::string all;
        for (const auto &p : problems)
            all += (all.empty() ? "" : "\n") + p;
        throw StartError(all);
    }
    std::stable_sort(
        locations_.begin(), locations_.end(),
        [](const Location &a, const Location &b) { return a.prefix.size() > b.prefix.size(); });
}

Generation::~Generation() {
    for (auto &loc : locations_)
        if (loc.created && loc.plugin->desc->on_destroy)
            loc.plugin->desc->on_destroy(loc.instance);
}

void Generation::notify_stop() const {
    for (const auto &loc : locations_) {
        const dt_plugin_t *d = loc.plugin->desc;
        // Older plugins keep a reserved (NULL) slot there; the version says so too.
        if (loc.created && d->abi_minor >= 2 && d->on_stop)
            d->on_stop(loc.instance);
    }
}

int Generation::route(std::string_view path, size_t from) const {
    for (size_t i = from; i < locations_.size(); ++i)
        if (http::prefix_matches(locations_[i].prefix, path))
            return static_cast<int>(i);
    return -1;
}

} // namespace dialtone
