// The access log: one Combined Log Format line per request (the format Apache and nginx write
// by default), buffered per worker and written to the server's log file in whole buffers, and
// that file, opened at the start and reopened in place on reload.
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

// The log file the workers write to. Its descriptor number stays the same while the server
// lives: a reopen (a reload, which is how a rotated log is picked up) lands on that number, so
// a worker never sees a closed descriptor. Opened and reopened by the thread starting or
// reloading the server; fd() from any thread.
class AccessLogFile {
  public:
    AccessLogFile() = default;
    AccessLogFile(const AccessLogFile &) = delete;
    AccessLogFile &operator=(const AccessLogFile &) = delete;
    ~AccessLogFile();

    // Opens `path` for appending, creating it, unless open already (kept from a start that
    // failed). Throws StartError naming server.access_log when it cannot.
    void open(const std::string &path);
    // Opens `path` again onto the same descriptor number. Throws StartError when it cannot;
    // the file open before stays in use.
    void reopen(const std::string &path);
    // The descriptor, or -1 while no file is open (logging is off).
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

} // namespace dialtone
