// Forwarded responses' bytes on disk, while their clients read slower than the upstreams send:
// each exchange a first-in first-out queue between the two, so that an upstream connection is
// read to its end at the upstream's pace and goes back to the pool, whatever the client's pace
// — nginx's proxy buffering to temporary files, for the same reasons: a slow client must hold
// neither memory (the bytes are in the page cache, not in the process) nor an upstream
// connection.
//
// One file per worker and group (SpoolFile), not one per client: at 10,000 slow clients a file
// each would be 10,000 more descriptors in a process limited to 20,000. The file is unlinked
// from the start (O_TMPFILE, or mkstemp then unlink), so a crash leaves nothing behind, and cut
// into 64 KiB blocks. A Spool (one exchange's) appends into blocks it allocates and hands them
// to the client's output queue as file ranges (sent with sendfile); each range holds a reference
// on its block, and a block whose bytes were all handed out and sent is punched out (see
// SpoolFile::put: sendfile's pages) and goes back to the free list. Disk use is what clients
// are behind by; the file is truncated whenever no block is in use.
//
// Threads: a Spool and SpoolFile::open on the worker that owns them; a range's release (the
// queue's, or a discarded operation's) may come from any thread, so blocks are counted under a
// mutex.
#pragma once

#include "mutex.hpp"
#include "output_queue.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone {

class SpoolFile {
  public:
    static constexpr size_t kBlock = 64 * 1024;

    // An empty spool file in `dir`; null with `err` set when none can be made.
    static SpoolFile *open(const std::string &dir, std::string &err);
    // Drops the owner's reference (the worker's group state); the file closes once no block is
    // in use either.
    void unref();

    int fd() const { return fd_; }
    // A free block (its index), or -1 when the file cannot grow (errno set).
    int64_t alloc();
    // One more holder of `block` (a range handed out): returns the arg for release(arg).
    void *hold(uint32_t block);
    static void release(void *arg);
    void drop(uint32_t block); // the allocating Spool's own reference
    // Blocks in use now, for tests and counters.
    size_t blocks_in_use() const;

    SpoolFile(const SpoolFile &) = delete;
    SpoolFile &operator=(const SpoolFile &) = delete;

  private:
    struct Block {
        SpoolFile *file;
        uint32_t index;
        uint32_t refs; // under mu_
    };
    explicit SpoolFile(int fd) : fd_(fd) {}
    ~SpoolFile();
    void put(Block &b) DT_REQUIRES(mu_); // a reference goes; the last frees the block

    int fd_;
    mutable Mutex mu_;
    std::deque<Block> blocks_ DT_GUARDED_BY(mu_); // deque: a Block's address is a range's arg
    std::vector<uint32_t> free_ DT_GUARDED_BY(mu_);
    size_t in_use_ DT_GUARDED_BY(mu_) = 0;
    bool owned_ DT_GUARDED_BY(mu_) = true; // the owner's reference is still there
};

// One exchange's queue of bytes in a SpoolFile.
class Spool {
  public:
    explicit Spool(SpoolFile &file) : file_(file) {}
    ~Spool(); // blocks still queued here go (ranges handed out keep theirs)
    Spool(const Spool &) = delete;
    Spool &operator=(const Spool &) = delete;

    // Appends `bytes` (pwrite; the page cache absorbs it). False with errno set when the file
    // system refused (full, quota): the spool keeps what it had.
    bool append(std::string_view bytes);
    // Bytes written and not yet handed out.
    uint64_t unsent() const { return written_ - taken_; }
    // Disk the spool holds now: its blocks not yet handed out whole.
    uint64_t held() const { return blocks_.size() * SpoolFile::kBlock; }
    // The next `max` (or fewer: never past a block's end) unsent bytes as a file range for the
    // output queue; the part holds its block until the queue releases it.
    BodyPart take(size_t max);

  private:
    SpoolFile &file_;
    std::deque<uint32_t> blocks_; // oldest first
    uint64_t written_ = 0;        // bytes appended since the start
    uint64_t taken_ = 0;          // bytes handed out since the start
};

} // namespace dialtone
