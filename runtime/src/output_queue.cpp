#include "output_queue.hpp"

#include "dialtone/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace dialtone {

namespace {
constexpr size_t kMaxIov = 64;
constexpr size_t kMaxSendfile = size_t{1} << 30;
constexpr size_t kKeptBuffer = 64 * 1024; // a larger buffer is freed once the queue drains
constexpr size_t kCompactAt = 16 * 1024;  // a buffer this large sheds its sent half
} // namespace

void BodyPart::release() {
    if (kind == ref || (kind == file && borrowed)) {
        if (release_cb)
            release_cb(arg);
    } else if (kind == file && fd >= 0) {
        ::close(fd);
    }
    release_cb = nullptr;
    fd = -1;
}

void OutputQueue::copy(const void *data, size_t len) {
    if (len == 0)
        return;
    if (buf_.size() >= kCompactAt)
        compact();
    if (!empty() && items_.back().kind == BodyPart::copy &&
        items_.back().offset + items_.back().len == buf_.size()) {
        items_.back().len += len;
    } else {
        BodyPart part{BodyPart::copy};
        part.len = len;
        part.offset = buf_.size();
        items_.push_back(part);
    }
    buf_.append(static_cast<const char *>(data), len);
    queued_ += len;
}

void OutputQueue::compact() {
    // A queue that never drains whole (a stream to a slow client, fed as it takes bytes) would
    // otherwise keep every byte it ever copied: drop the sent prefix of the buffer once it is
    // at least half of it, so the buffer stays within about twice what is queued (each byte is
    // moved at most once per halving: amortised constant). The lowest offset, not the first
    // item's: own_borrowed() copies a part to the end of the buffer after later parts.
    size_t live = buf_.size();
    for (size_t i = head_; i < items_.size(); ++i)
        if (items_[i].kind == BodyPart::copy && items_[i].offset < live)
            live = items_[i].offset;
    if (live < buf_.size() / 2)
        return;
    buf_.erase(0, live);
    for (size_t i = head_; i < items_.size(); ++i)
        if (items_[i].kind == BodyPart::copy)
            items_[i].offset -= live;
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
}

void OutputQueue::push(BodyPart part) {
    if (part.kind == BodyPart::copy) {
        copy(part.ptr, part.len);
        return;
    }
    queued_ += part.len;
    items_.push_back(part);
}

void OutputQueue::push_borrowed(const void *data, size_t len) {
    if (len == 0)
        return;
    BodyPart part = BodyPart::lent(data, len, nullptr, nullptr);
    part.borrowed = true; // until own_borrowed(): no release callback to run
    queued_ += len;
    items_.push_back(part);
}

void OutputQueue::own_borrowed() {
    auto lent = [](const BodyPart &m) { return m.kind == BodyPart::ref && m.borrowed; };
    if (std::none_of(items_.begin() + static_cast<std::ptrdiff_t>(head_), items_.end(), lent))
        return;
    if (buf_.size() >= kCompactAt)
        compact();
    for (size_t i = head_; i < items_.size(); ++i) {
        BodyPart &m = items_[i];
        if (!lent(m))
            continue;
        m.offset = buf_.size();
        buf_.append(m.ptr, m.len);
        m.kind = BodyPart::copy;
        m.ptr = nullptr;
        m.borrowed = false;
    }
}

void OutputQueue::sent_front(size_t n) {
    queued_ -= n;
    while (n > 0) {
        BodyPart &m = items_[head_];
        size_t take = n < m.len ? n : m.len;
        m.len -= take;
        if (m.kind == BodyPart::ref)
            m.ptr += take;
        else
            m.offset += take;
        n -= take;
        if (m.len == 0) {
            m.release();
            ++head_;
        }
    }
}

OutputQueue::WriteResult OutputQueue::write(int fd) {
    WriteResult result{Status::drained, 0};
    while (!empty()) {
        BodyPart &it = items_[head_];
        if (it.kind == BodyPart::file) {
            off_t off = static_cast<off_t>(it.offset);
            ssize_t n = ::sendfile(fd, it.fd, &off, it.len > kMaxSendfile ? kMaxSendfile : it.len);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN) {
                    result.status = Status::blocked;
                    break;
                }
                if (errno != EPIPE && errno != ECONNRESET)
                    DT_LOG(LogLevel::error, "sendfile: %s", strerror(errno));
                result.status = Status::failed;
                break;
            }
            if (n == 0) {
                DT_LOG(LogLevel::error,
                       "a file being sent ended %zu bytes early (truncated "
                       "while sending?): closing the connection",
                       it.len);
                result.status = Status::failed;
                break;
            }
            result.sent += static_cast<uint64_t>(n);
            sent_front(static_cast<size_t>(n));
            continue;
        }
        iovec iov[kMaxIov];
        size_t cnt = 0;
        bool file_follows = false;
        for (size_t i = head_; i < items_.size() && cnt < kMaxIov; ++i) {
            const BodyPart &m = items_[i];
            if (m.kind == BodyPart::file) {
                file_follows = true;
                break;
            }
            iov[cnt].iov_base =
                const_cast<char *>(m.kind == BodyPart::copy ? buf_.data() + m.offset : m.ptr);
            iov[cnt].iov_len = m.len;
            ++cnt;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = cnt;
        // A response head followed by a file body: MSG_MORE lets the kernel put both in the
        // same segments, as nginx's tcp_nopush does, instead of a small packet for the head.
        ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | (file_follows ? MSG_MORE : 0));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result.status = errno == EAGAIN ? Status::blocked : Status::failed;
            break;
        }
        result.sent += static_cast<uint64_t>(n);
        sent_front(static_cast<size_t>(n));
    }
    if (result.status == Status::drained) {
        items_.clear();
        head_ = 0;
        if (buf_.capacity() > kKeptBuffer)
            std::string().swap(buf_); // do not keep a burst's buffer on an idle connection
        else
            buf_.clear();
    }
    return result;
}

void OutputQueue::cork_before_close(int fd) {
    if (corked_ || queued_ == 0)
        return;
    int one = 1;
    corked_ = ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one) == 0;
}

void OutputQueue::clear() {
    for (size_t i = head_; i < items_.size(); ++i)
        items_[i].release();
    items_.clear();
    head_ = 0;
    queued_ = 0;
    std::string().swap(buf_);
}

} // namespace dialtone
