// The access log: one Combined Log Format line per request (the format Apache and nginx write
// by default), buffered per worker and written to the server's log file in whole buffers.
// The file itself (open, reopen on reload) belongs to the server (server.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dialtone {

// What one line says about a request. Empty strings are logged as "-".
struct AccessLogEntry {
    std::string_view remote; // the client's address
    std::string_view time;   // "[26/Nov/2026:04:50:00 +0000]"
    std::string_view method; // empty: no request line was parsed (the line says "-")
    std::string_view target;
    int http_version = 11; // 10 or 11
    int status = 200;
    uint64_t body_bytes = 0;
    std::string_view referer;
    std::string_view user_agent;
};

// Appends `remote - - time "METHOD target HTTP/1.x" status bytes "referer" "user-agent"\n`.
// Quotes, backslashes, control bytes and bytes >= 0x7f in the fields the client chose (target,
// referer, user agent) are written as \xHH, so a line cannot be forged or broken.
void append_access_log_line(std::string &out, const AccessLogEntry &entry);

// One worker's lines waiting to be written. Owner thread only.
class AccessLogBuffer {
  public:
    // Adds a line; writes the buffer to `fd` once it holds 32 KiB. `fd` < 0: logging is off.
    void add(std::string_view line, int fd);
    // Writes what is buffered to `fd` (opened with O_APPEND: whole-buffer writes from
    // different workers do not interleave within a line).
    void flush(int fd);

  private:
    std::string buf_;
};

} // namespace dialtone
