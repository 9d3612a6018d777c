#include "dialtone/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <sys/time.h>
#include <unistd.h>

namespace dialtone {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<LogSink> g_sink{nullptr};

const char *level_name(LogLevel level) {
    switch (level) {
    case LogLevel::error:
        return "error";
    case LogLevel::warn:
        return "warn";
    case LogLevel::info:
        return "info";
    case LogLevel::debug:
        return "debug";
    }
    return "?";
}

} // namespace

bool parse_log_level(std::string_view text, LogLevel &out) {
    for (LogLevel l : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
        if (text == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }
void set_log_sink(LogSink sink) { g_sink.store(sink); }

void vlog(LogLevel level, const char *prefix, const char *fmt, va_list ap) {
    if (static_cast<int>(level) > g_level.load(std::memory_order_relaxed))
        return;
    char line[2048];
    timeval tv;
    gettimeofday(&tv, nullptr);
    tm t;
    gmtime_r(&tv.tv_sec, &t);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%s] %s",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     static_cast<int>(tv.tv_usec / 1000), level_name(level), prefix ? prefix : "");
    if (n < 0)
        return;
    size_t used = static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1;
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    if (m > 0)
        used += static_cast<size_t>(m) < sizeof line - used ? static_cast<size_t>(m)
                                                            : sizeof line - used - 1;
    if (used > sizeof line - 2)
        used = sizeof line - 2;
    line[used++] = '\n';
    if (LogSink sink = g_sink.load()) {
        sink(level, std::string_view(line, used));
        return;
    }
    // One write(2) per line keeps lines from different threads whole.
    ssize_t ignored = ::write(STDERR_FILENO, line, used);
    (void)ignored;
}

void log(LogLevel level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, nullptr, fmt, ap);
    va_end(ap);
}

} // namespace dialtone
