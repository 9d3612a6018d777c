#include "access_log.hpp"

#include "dialtone/log.hpp"
#include "dialtone/server.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dialtone {

namespace {

constexpr size_t kFlushAt = 32 * 1024;

// Throws StartError when `path` cannot be opened for appending.
int open_for_append(const std::string &path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw StartError("server.access_log: cannot open " + path + ": " + strerror(errno));
    return fd;
}

void append_quoted(std::string &out, std::string_view v) {
    if (v.empty()) {
        out += '-';
        return;
    }
    for (char ch : v) {
        auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\' || u < 0x20 || u >= 0x7f) {
            char esc[5];
            snprintf(esc, sizeof esc, "\\x%02X", u);
            out += esc;
        } else {
            out += ch;
        }
    }
}

} // namespace

void append_access_log_line(std::string &out, const AccessLogEntry &e) {
    out += e.remote;
    out += " - - ";
    out += e.time;
    out += " \"";
    if (e.method.empty()) {
        out += '-';
    } else {
        out += e.method;
        out += ' ';
        append_quoted(out, e.target);
        out += e.http_version == 10 ? " HTTP/1.0" : " HTTP/1.1";
    }
    char num[64];
    snprintf(num, sizeof num, "\" %d %llu \"", e.status,
             static_cast<unsigned long long>(e.body_bytes));
    out += num;
    append_quoted(out, e.referer);
    out += "\" \"";
    append_quoted(out, e.user_agent);
    out += "\"\n";
}

void AccessLogBuffer::add(std::string_view line, int fd) {
    buf_.append(line);
    if (buf_.size() >= kFlushAt)
        flush(fd);
}

void AccessLogBuffer::flush(int fd) {
    if (fd < 0 || buf_.empty())
        return;
    const char *p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            DT_LOG(LogLevel::error, "access log: %s", strerror(errno));
            break;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    buf_.clear();
}

AccessLogFile::~AccessLogFile() {
    if (fd_ >= 0)
        ::close(fd_);
}

void AccessLogFile::open(const std::string &path) {
    if (fd_ < 0)
        fd_ = open_for_append(path);
}

void AccessLogFile::reopen(const std::string &path) {
    int fd = open_for_append(path);
    dup3(fd, fd_, O_CLOEXEC);
    ::close(fd);
}

} // namespace dialtone
