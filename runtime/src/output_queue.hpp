// Bytes waiting to go out on a non-blocking socket, in order: copies, borrowed buffers and file
// ranges, written with sendmsg and sendfile. H2O's sendvec and nginx's chain of buffers and file
// ranges are the same idea: the data stays where it is until the socket takes it.
//
// The queue knows nothing of connections or requests (an upstream client reuses it). It is
// owned by one thread and is not thread-safe.
#pragma once

#include <dialtone/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone {

// One piece of a body: the unit a plugin's writes are made of and the output queue holds.
// Whoever holds a part gives back what it holds exactly once, by sending it or by release().
struct BodyPart {
    enum Kind : uint8_t {
        copy, // bytes at `ptr`, borrowed until they are copied (the queue keeps them at `offset`
              // in its own buffer)
        ref,  // bytes at `ptr`, lent until release(arg)
        file, // `len` bytes of `fd` from `offset`: the fd is closed when done, or, `borrowed`,
              // release(arg) runs instead
    };
    Kind kind = copy;
    const char *ptr = nullptr;
    size_t len = 0;
    dt_release_cb release_cb = nullptr;
    void *arg = nullptr;
    int fd = -1;
    uint64_t offset = 0;
    bool borrowed = false;

    static BodyPart copy_of(const void *data, size_t len) {
        return {copy, static_cast<const char *>(data), len};
    }
    static BodyPart lent(const void *data, size_t len, dt_release_cb release, void *arg) {
        return {ref, static_cast<const char *>(data), len, release, arg};
    }
    // Owned (`borrowed` false: the fd is closed) or borrowed (release(arg) instead).
    static BodyPart file_range(int fd, uint64_t offset, size_t len, bool borrowed,
                               dt_release_cb release, void *arg) {
        return {file, nullptr, len, borrowed ? release : nullptr, arg, fd, offset, borrowed};
    }

    // Gives back what the part holds (runs the release callback or closes the descriptor), so
    // that a second call does nothing.
    void release();
};

class OutputQueue {
  public:
    OutputQueue() = default;
    OutputQueue(const OutputQueue &) = delete;
    OutputQueue &operator=(const OutputQueue &) = delete;
    ~OutputQueue() { clear(); }

    // Copies `len` bytes into the queue's buffer (adjacent copies share one iovec).
    void copy(const void *data, size_t len);
    void copy(std::string_view bytes) { copy(bytes.data(), bytes.size()); }
    // Takes a part and what it holds: a copy is copied now, a ref or a file range is sent from
    // where it is and given back once sent (or at clear()).
    void push(BodyPart part);
    // Queues `len` bytes at `data` that stay valid only until own_borrowed(), which the caller
    // must call before they go: a write in between sends them from where they are, so bytes
    // the socket takes at once are never copied.
    void push_borrowed(const void *data, size_t len);
    // Copies into the queue's buffer what is left of the borrowed bytes.
    void own_borrowed();

    // Bytes queued and not yet sent.
    size_t queued() const { return queued_; }
    bool empty() const { return head_ == items_.size(); }

    enum class Status { drained, blocked, failed };
    struct WriteResult {
        Status status;
        uint64_t sent; // bytes the socket took in this call
    };
    // Writes to the non-blocking socket `fd` until the queue is empty (drained), the socket
    // is full (blocked) or an error or a truncated file ends it (failed: close the socket).
    WriteResult write(int fd);

    // The last bytes before a close: TCP_CORK them once, so that they leave with the FIN in
    // one segment (nginx's tcp_nopush) instead of a segment, its ACK, then the FIN.
    void cork_before_close(int fd);

    // Gives back every part not sent and frees the buffer.
    void clear();

  private:
    void sent_front(size_t n);
    void compact();

    std::vector<BodyPart> items_; // from head_: not sent yet
    size_t head_ = 0;
    std::string buf_; // the bytes of copy parts (at their `offset`)
    size_t queued_ = 0;
    bool corked_ = false;
};

} // namespace dialtone
