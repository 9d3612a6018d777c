// A forwarded response's bytes on disk, while its client reads slower than the upstream sends:
// a first-in first-out file between the two, so that the upstream connection is read to its
// end at the upstream's pace and goes back to the pool (or to other clients), whatever the
// client's pace — nginx's proxy buffering to temporary files, for the same reasons: a slow
// client must hold neither memory (the bytes are in the page cache, not in the process) nor an
// upstream connection.
//
// The file is unlinked from the start (O_TMPFILE, or mkstemp then unlink), so nothing is left
// behind by a crash. Bytes are appended at the end and handed to the client's output queue as
// file ranges (sent with sendfile); each range holds a reference, so the file outlives the
// exchange when the client is still reading. Once every byte has been handed out and sent, the
// file starts over at offset 0, so its size is bounded by what is unsent at once, not by the
// response.
//
// Threads: the exchange's owner worker, except unref (any thread: the output queue's release).
#pragma once

#include "output_queue.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace dialtone {

class Spool {
  public:
    // An empty spool file in `dir`; null with `err` set when none can be made.
    static Spool *open(const std::string &dir, std::string &err);

    // Appends `bytes` at the end (pwrite; the page cache absorbs it). False with errno set when
    // the file system refused (full, quota): the spool keeps what it had.
    bool append(std::string_view bytes);
    // Bytes written and not yet handed out.
    uint64_t unsent() const { return end_ - taken_; }
    // Bytes in the file from offset 0: what the spool costs on disk now.
    uint64_t size() const { return end_; }
    // The next `max` (or fewer) unsent bytes as a file range for the output queue. The part
    // holds a reference to the spool until the queue releases it.
    BodyPart take(size_t max);
    // When every byte was handed out and every part released, empties the file and starts
    // again at offset 0. True when the spool is empty now.
    bool rewind();
    // Drops the owner's reference (the exchange's); the file closes with the last part.
    void unref();

    Spool(const Spool &) = delete;
    Spool &operator=(const Spool &) = delete;

  private:
    explicit Spool(int fd) : fd_(fd) {}
    ~Spool();
    static void part_released(void *arg);

    int fd_;
    uint64_t end_ = 0;   // the file's length
    uint64_t taken_ = 0; // [0, taken_) was handed out
    std::atomic<int> refs_{1};
};

} // namespace dialtone
