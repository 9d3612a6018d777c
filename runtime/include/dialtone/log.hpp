// Error log: one line per event on stderr (or a sink the embedding application installs).
#pragma once

#include <cstdarg>
#include <string_view>

namespace dialtone {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

// Parses "error", "warn", "info", "debug"; false for anything else.
bool parse_log_level(std::string_view text, LogLevel &out);

// Messages above this level are dropped. Thread-safe: any thread.
void set_log_level(LogLevel level);
LogLevel log_level();

// Replaces where lines go (default: write(2) to stderr). `line` holds a whole line with its
// trailing newline. The sink may be called from any thread concurrently. nullptr restores stderr.
using LogSink = void (*)(LogLevel level, std::string_view line);
void set_log_sink(LogSink sink);

// Formats "<ISO-8601 UTC time> [<level>] <message>\n" and hands it to the sink.
void log(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vlog(LogLevel level, const char *prefix, const char *fmt, va_list ap);

#define DT_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if (static_cast<int>(level) <= static_cast<int>(::dialtone::log_level()))                  \
            ::dialtone::log(level, __VA_ARGS__);                                                   \
    } while (0)

} // namespace dialtone
