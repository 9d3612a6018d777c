#include "spool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dialtone {

SpoolFile *SpoolFile::open(const std::string &dir, std::string &err) {
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
    return new SpoolFile(fd);
}

SpoolFile::~SpoolFile() { ::close(fd_); }

void SpoolFile::unref() {
    bool last;
    {
        MutexLock lock(mu_);
        owned_ = false;
        last = in_use_ == 0;
    }
    if (last)
        delete this;
}

int64_t SpoolFile::alloc() {
    MutexLock lock(mu_);
    uint32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else {
        if (blocks_.size() >= UINT32_MAX) {
            errno = EFBIG;
            return -1;
        }
        index = static_cast<uint32_t>(blocks_.size());
        blocks_.push_back({this, index, 0});
    }
    blocks_[index].refs = 1;
    ++in_use_;
    return index;
}

void *SpoolFile::hold(uint32_t block) {
    MutexLock lock(mu_);
    ++blocks_[block].refs;
    return &blocks_[block];
}

void SpoolFile::release(void *arg) {
    auto *b = static_cast<Block *>(arg);
    SpoolFile *f = b->file;
    bool gone;
    {
        MutexLock lock(f->mu_);
        f->put(*b);
        gone = !f->owned_ && f->in_use_ == 0;
    }
    if (gone)
        delete f;
}

void SpoolFile::drop(uint32_t block) {
    MutexLock lock(mu_);
    put(blocks_[block]);
    // The owner holds a reference, so the file stays.
}

void SpoolFile::put(Block &b) {
    if (--b.refs > 0)
        return;
    --in_use_;
    if (in_use_ == 0) {
        // Everything was sent: the file starts over, its blocks and disk space all free.
        if (::ftruncate(fd_, 0) == 0) {
            blocks_.clear();
            free_.clear();
            return;
        }
    }
    // Punched out before it is reused. Not for the disk space: sendfile queues the page cache's
    // pages themselves on the socket, and they go out only when the client reads, long after
    // the queue released the range; a pwrite into the same pages would change bytes already
    // "sent". A hole detaches them from the file (the socket keeps its references) and the
    // next write gets fresh pages. A file system that cannot punch holes never reuses the
    // block: it waits for the file to empty.
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(b.index) * static_cast<off_t>(kBlock),
                    static_cast<off_t>(kBlock)) == 0)
        free_.push_back(b.index);
}

size_t SpoolFile::blocks_in_use() const {
    MutexLock lock(mu_);
    return in_use_;
}

Spool::~Spool() {
    for (uint32_t b : blocks_)
        file_.drop(b);
}

bool Spool::append(std::string_view bytes) {
    uint64_t written = written_;
    size_t added = 0; // blocks allocated by this call, given back when it fails
    while (!bytes.empty()) {
        size_t in_block = written % SpoolFile::kBlock;
        // blocks_ covers [base, base + blocks_.size() blocks): from the block taken_ is in.
        uint64_t base = taken_ - taken_ % SpoolFile::kBlock;
        if (written >= base + blocks_.size() * SpoolFile::kBlock) {
            int64_t b = file_.alloc();
            if (b < 0)
                break;
            blocks_.push_back(static_cast<uint32_t>(b));
            ++added;
        }
        size_t n = std::min(bytes.size(), SpoolFile::kBlock - in_block);
        off_t at = static_cast<off_t>(blocks_.back()) * static_cast<off_t>(SpoolFile::kBlock) +
                   static_cast<off_t>(in_block);
        ssize_t w = ::pwrite(file_.fd(), bytes.data(), n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            break;
        }
        written += static_cast<uint64_t>(w);
        bytes.remove_prefix(static_cast<size_t>(w));
    }
    if (bytes.empty()) {
        written_ = written;
        return true;
    }
    int saved = errno;
    for (; added > 0; --added) {
        file_.drop(blocks_.back());
        blocks_.pop_back();
    }
    errno = saved;
    return false;
}

BodyPart Spool::take(size_t max) {
    uint32_t block = blocks_.front();
    size_t at = taken_ % SpoolFile::kBlock;
    uint64_t block_end = taken_ - at + SpoolFile::kBlock;
    size_t len = static_cast<size_t>(std::min<uint64_t>({max, unsent(), block_end - taken_}));
    void *arg = file_.hold(block);
    BodyPart part =
        BodyPart::file_range(file_.fd(), static_cast<uint64_t>(block) * SpoolFile::kBlock + at, len,
                             true, SpoolFile::release, arg);
    taken_ += len;
    if (taken_ == block_end) { // handed out whole: the ranges hold it now
        file_.drop(block);
        blocks_.pop_front();
    }
    return part;
}

} // namespace dialtone
