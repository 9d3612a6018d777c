// Open files shared by concurrent transfers: 10,000 clients downloading one file hold one
// descriptor, not 10,000 (the open-file limit is then spent on sockets). Entries are keyed by
// device, inode, size and modification time, so a replaced or rewritten file gets a new entry
// while transfers of the old one finish on what they opened. An entry closes with its last user.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

namespace dialtone::dialup {

class OpenFiles {
  public:
    struct Entry {
        int fd;
        std::atomic<uint64_t> refs;
        OpenFiles *owner;
        std::tuple<uint64_t, uint64_t, int64_t, int64_t, int64_t> key;
    };

    OpenFiles() = default;
    OpenFiles(const OpenFiles &) = delete;
    OpenFiles &operator=(const OpenFiles &) = delete;
    ~OpenFiles(); // every entry must have been released

    // Takes `fd` (an open regular file): returns the shared entry for the same file, closing
    // `fd`, or a new entry owning it. The caller holds one reference. nullptr if fstat fails
    // (fd is closed). Thread-safe.
    Entry *acquire(int fd);
    // Another reference to an entry the caller holds. Thread-safe.
    static void retain(Entry *e) { e->refs.fetch_add(1, std::memory_order_relaxed); }
    // Drops a reference; the last one closes the file. A dt_release_cb. Thread-safe.
    static void release(void *entry);

    size_t size() const;

  private:
    mutable std::mutex mu_;
    std::map<std::tuple<uint64_t, uint64_t, int64_t, int64_t, int64_t>, Entry *> entries_;
};

} // namespace dialtone::dialup
