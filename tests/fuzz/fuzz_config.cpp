// Fuzz target: the config loader (toml++ and dialtone's validation). Any text either loads or
// is refused with ConfigError whose every problem names the file, line and column
// ("fuzz.toml:3:7: ..."); nothing else may escape, and nothing may crash or hang.
#include "dialtone/config.hpp"

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const std::regex where(R"(^fuzz\.toml:[0-9]+:[0-9]+: .+)");
    std::string text(reinterpret_cast<const char *>(data), size);
    try {
        dialtone::Config cfg = dialtone::load_config_text(text, "fuzz.toml");
        if (cfg.listen.empty() || cfg.locations.empty()) {
            std::fprintf(stderr, "fuzz_config: accepted a config without listen or location\n");
            std::abort();
        }
    } catch (const dialtone::ConfigError &e) {
        if (e.problems().empty()) {
            std::fprintf(stderr, "fuzz_config: ConfigError without a problem\n");
            std::abort();
        }
        for (const auto &p : e.problems()) {
            if (!std::regex_search(p, where)) {
                std::fprintf(stderr, "fuzz_config: problem without file:line:col: %s\n", p.c_str());
                std::abort();
            }
        }
    }
    return 0;
}
