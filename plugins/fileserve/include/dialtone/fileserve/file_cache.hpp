// dialtone/fileserve/file_cache.hpp — open files by request path, for a short while.
//
// Serving a small file costs more in open(), fstat() and close() than in sending it. The cache
// keeps the descriptor and the stat of each file served recently under the path that named it,
// and trusts them for `valid_ms` after they were last checked; then the next request resolves
// the path beneath the root again (so a symlink or permission change is seen), and keeps the
// cached entry if it is still the same file (device, inode, size, modification time), or
// replaces it. So a file changed on disk is served as changed at most `valid_ms` later; a file
// replaced by rename is never served half old, half new. Entries nobody asked for during a
// whole `valid_ms` are closed at the next request.
//
// Entries are reference-counted: a response holds its entry until the runtime has sent from it
// (req_send_file_ref's release), so replacing or evicting an entry never closes a descriptor in
// use. Thread-safe: one cache serves every worker of a location.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dialtone::fileserve {

class FileCache {
  public:
    struct Entry {
        int fd;
        struct stat st;
        std::atomic<uint32_t> refs; // the cache's own, plus one per holder
        uint64_t checked_ms;        // guarded by the cache's mutex
        // The whole file when it is small (<= kInlineMax): sent from memory with the response
        // head in one write instead of a write and a sendfile. Empty otherwise. Immutable.
        std::string content;
    };
    static constexpr size_t kInlineMax = 16 * 1024;
    static constexpr size_t kInlineBudget = 8 * 1024 * 1024; // all entries' content together

    // Up to `capacity` entries (> 0), each trusted for `valid_ms` after its last check.
    FileCache(size_t capacity, uint64_t valid_ms);
    ~FileCache(); // drops the cache's references; entries still held close with their holders
    FileCache(const FileCache &) = delete;
    FileCache &operator=(const FileCache &) = delete;

    // The entry for `key` if it was checked less than valid_ms before `now_ms`, held for the
    // caller (release it); nullptr otherwise.
    Entry *find(std::string_view key, uint64_t now_ms);
    // Records that `key` names the open regular file `fd` with stat `st`, just checked. Returns
    // a held entry: the cached one if it is the same file (then `fd` is closed), else a new one
    // owning `fd`. nullptr when the cache is full of fresh entries: `fd` stays the caller's.
    Entry *insert(std::string_view key, int fd, const struct stat &st, uint64_t now_ms);
    // Drops a hold taken by find() or insert(); the last one closes the file. A dt_release_cb.
    static void release(void *entry);
    // Another hold on an entry the caller holds.
    static Entry *retain(Entry *e) {
        e->refs.fetch_add(1, std::memory_order_relaxed);
        return e;
    }
    // An entry outside any cache, owning `fd`, held once by the caller: for a file a full or
    // disabled cache did not take, so that holders need not care where it came from.
    static Entry *standalone(int fd, const struct stat &st) {
        return new Entry{fd, st, {1}, 0, {}};
    }

    size_t size() const;
    // CLOCK_MONOTONIC_COARSE in milliseconds: what callers pass as now_ms.
    static uint64_t now_ms();

  private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    // Closes entries not checked for valid_ms, at most once per valid_ms (under mu_); the
    // dropped references are released by the caller, outside the lock.
    void sweep(uint64_t now_ms, std::vector<Entry *> &dropped);

    const size_t capacity_;
    const uint64_t valid_ms_;
    uint64_t last_sweep_ms_ = 0; // guarded by mu_
    std::atomic<size_t> inline_bytes_{0};
    mutable std::mutex mu_;
    std::unordered_map<std::string, Entry *, Hash, std::equal_to<>> entries_;
};

// Holds one FileCache entry; releases it unless given away.
class CachedFile {
  public:
    CachedFile() = default;
    explicit CachedFile(FileCache::Entry *e) : e_(e) {}
    CachedFile(CachedFile &&o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
    CachedFile &operator=(CachedFile &&o) noexcept {
        reset(std::exchange(o.e_, nullptr));
        return *this;
    }
    ~CachedFile() { reset(); }
    explicit operator bool() const { return e_ != nullptr; }
    FileCache::Entry *get() const { return e_; }
    FileCache::Entry *release() { return std::exchange(e_, nullptr); }
    void reset(FileCache::Entry *e = nullptr) {
        if (e_)
            FileCache::release(e_);
        e_ = e;
    }

  private:
    FileCache::Entry *e_ = nullptr;
};

} // namespace dialtone::fileserve
