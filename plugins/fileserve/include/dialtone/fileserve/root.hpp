// dialtone/fileserve/root.hpp — opening request paths beneath a document root without escaping
// it. Threads: a Root is immutable once opened; open_file may run concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dialtone::fileserve {

// An owned file descriptor, closed on destruction.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd &operator=(UniqueFd &&o) noexcept;
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    // Gives the descriptor away (to req_send_file, which takes ownership).
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

// Whether a request's path_info is safe to resolve: starts with exactly one '/', contains no NUL
// and no ".." segment. The runtime already normalises paths; this is defence in depth.
bool is_safe_path_info(std::string_view path_info);

class Root {
  public:
    enum class Symlinks {
        // Symlinks are followed only while they stay beneath the root: openat2 with
        // RESOLVE_BENEATH, so neither a symlink nor ".." can escape. Absolute symlinks are refused
        // even when they point inside the root (the kernel resolves them against "/").
        beneath,
        // Symlinks are followed anywhere (plain openat); ".." is still refused by
        // is_safe_path_info.
        follow,
    };

    // Opens the directory `path` and keeps it open. `force_path_check` skips openat2 and uses the
    // fallback for kernels without it (openat, then the opened file's real path must lie under the
    // root's real path); it exists for tests, the fallback is otherwise chosen when openat2 says
    // ENOSYS or EPERM (seccomp filters) at open time. Returns nullopt and sets `error` on failure.
    static std::optional<Root> open(const std::string &path, Symlinks symlinks, std::string &error,
                                    bool force_path_check = false);

    // Opens `relative` (NUL-terminated, relative to the root, "." for the root itself) read-only,
    // non-blocking (so a FIFO never blocks the worker; nginx does the same, and the flag has no
    // effect on regular files) and close-on-exec. Returns the descriptor, or -errno: EXDEV or
    // ELOOP when the path would leave the root.
    int open_file(const char *relative) const;

    int fd() const { return fd_.get(); }

  private:
    Root() = default;

    UniqueFd fd_;
    Symlinks symlinks_ = Symlinks::beneath;
    bool use_openat2_ = true;
    std::string real_path_; // only for the fallback check
};

} // namespace dialtone::fileserve
