#include <dialtone/fileserve/file_cache.hpp>

#include <ctime>
#include <unistd.h>
#include <vector>

namespace dialtone::fileserve {
namespace {

bool same_file(const struct stat &a, const struct stat &b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

} // namespace

FileCache::FileCache(size_t capacity, uint64_t valid_ms)
    : capacity_(capacity), valid_ms_(valid_ms) {
    entries_.reserve(capacity);
}

FileCache::~FileCache() {
    for (auto &[key, e] : entries_)
        release(e);
}

uint64_t FileCache::now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

FileCache::Entry *FileCache::find(std::string_view key, uint64_t now_ms) {
    std::vector<Entry *> dropped;
    Entry *held = nullptr;
    {
        std::lock_guard<std::mutex> lock(mu_);
        sweep(now_ms, dropped);
        auto it = entries_.find(key);
        if (it != entries_.end() && now_ms - it->second->checked_ms < valid_ms_)
            held = retain(it->second);
    }
    for (Entry *e : dropped)
        release(e);
    return held;
}

void FileCache::sweep(uint64_t now_ms, std::vector<Entry *> &dropped) {
    // Once per valid_ms: entries not checked for a whole period are closed, so files nobody
    // asks for do not stay open (an idle server keeps what it served last until its next
    // request).
    if (now_ms - last_sweep_ms_ < valid_ms_)
        return;
    last_sweep_ms_ = now_ms;
    for (auto s = entries_.begin(); s != entries_.end();) {
        if (now_ms - s->second->checked_ms >= valid_ms_) {
            inline_bytes_.fetch_sub(s->second->content.size(), std::memory_order_relaxed);
            dropped.push_back(s->second);
            s = entries_.erase(s);
        } else {
            ++s;
        }
    }
}

FileCache::Entry *FileCache::insert(std::string_view key, int fd, const struct stat &st,
                                    uint64_t now_ms) {
    std::vector<Entry *> dropped; // released outside the lock: the last release closes a file
    Entry *held = nullptr;
    // A small file's bytes, read before taking the lock (used only if a new entry is made).
    std::string content;
    const auto size = static_cast<size_t>(st.st_size);
    if (size > 0 && size <= kInlineMax &&
        inline_bytes_.load(std::memory_order_relaxed) + size <= kInlineBudget) {
        content.resize(size);
        if (::pread(fd, content.data(), size, 0) != static_cast<ssize_t>(size))
            content.clear(); // changed under us: send it from the descriptor
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = entries_.find(key);
        if (it != entries_.end() && same_file(it->second->st, st)) {
            it->second->checked_ms = now_ms; // still the same file: one descriptor for it
            held = retain(it->second);
        } else {
            bool full = false;
            if (it == entries_.end() && entries_.size() >= capacity_) {
                // Full: forget what is stale; if everything is fresh, do not cache this one.
                last_sweep_ms_ = now_ms - valid_ms_;
                sweep(now_ms, dropped);
                full = entries_.size() >= capacity_;
            }
            if (!full) {
                auto *e = new Entry{fd, st, {2}, now_ms, std::move(content)}; // cache's, caller's
                inline_bytes_.fetch_add(e->content.size(), std::memory_order_relaxed);
                if (it != entries_.end()) {
                    inline_bytes_.fetch_sub(it->second->content.size(), std::memory_order_relaxed);
                    dropped.push_back(it->second);
                    it->second = e;
                } else {
                    entries_.emplace(std::string(key), e);
                }
                held = e;
            }
            fd = -1; // the entry's, or still the caller's when full
        }
    }
    if (fd >= 0)
        ::close(fd);
    for (Entry *e : dropped)
        release(e);
    return held;
}

void FileCache::release(void *entry) {
    auto *e = static_cast<Entry *>(entry);
    if (e->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        ::close(e->fd);
        delete e;
    }
}

size_t FileCache::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
}

} // namespace dialtone::fileserve
