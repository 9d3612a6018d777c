#include "open_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace dialtone::dialup {

OpenFiles::~OpenFiles() {
    for (auto &[key, e] : entries_) {
        ::close(e->fd);
        delete e;
    }
}

OpenFiles::Entry *OpenFiles::acquire(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        return nullptr;
    }
    auto key =
        std::make_tuple(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                        static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
                        static_cast<int64_t>(st.st_mtim.tv_nsec));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
        ::close(fd);
        it->second->refs.fetch_add(1, std::memory_order_relaxed);
        return it->second;
    }
    auto *e = new Entry{fd, {1}, this, key};
    entries_.emplace(key, e);
    return e;
}

void OpenFiles::release(void *entry) {
    auto *e = static_cast<Entry *>(entry);
    // Only the last reference takes the lock: the drop to zero happens under it, so acquire()
    // (also under it) never revives an entry that is being deleted.
    uint64_t refs = e->refs.load(std::memory_order_relaxed);
    while (refs > 1) {
        if (e->refs.compare_exchange_weak(refs, refs - 1, std::memory_order_acq_rel))
            return;
    }
    OpenFiles *owner = e->owner;
    std::lock_guard<std::mutex> lock(owner->mu_);
    if (e->refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
    owner->entries_.erase(e->key);
    ::close(e->fd);
    delete e;
}

size_t OpenFiles::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
}

} // namespace dialtone::dialup
