#include "spool.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dialtone {

Spool *Spool::open(const std::string &dir, std::string &err) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        // A file system without O_TMPFILE: a named file, unlinked at once.
        std::string path = dir + "/dialtone-spool-XXXXXX";
        fd = mkostemp(path.data(), O_CLOEXEC);
        if (fd >= 0)
            ::unlink(path.c_str());
    }
    if (fd < 0) {
        err = "cannot make a spool file in " + dir + ": " + strerror(errno);
        return nullptr;
    }
    return new Spool(fd);
}

Spool::~Spool() { ::close(fd_); }

bool Spool::append(std::string_view bytes) {
    uint64_t at = end_;
    while (!bytes.empty()) {
        ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return false; // [end_, at) may hold a partial write: never handed out
        }
        at += static_cast<uint64_t>(n);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    end_ = at;
    return true;
}

BodyPart Spool::take(size_t max) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(max, unsent()));
    refs_.fetch_add(1, std::memory_order_relaxed);
    BodyPart part = BodyPart::file_range(fd_, taken_, len, true, part_released, this);
    taken_ += len;
    return part;
}

bool Spool::rewind() {
    if (end_ == 0)
        return true;
    if (taken_ != end_ || refs_.load(std::memory_order_acquire) != 1)
        return false;
    // The blocks go back to the file system; a failure only leaves them allocated.
    if (::ftruncate(fd_, 0) != 0)
        return false;
    end_ = taken_ = 0;
    return true;
}

void Spool::unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete this;
}

void Spool::part_released(void *arg) { static_cast<Spool *>(arg)->unref(); }

} // namespace dialtone
