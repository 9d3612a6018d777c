// Path resolution beneath a document root: openat2(RESOLVE_BENEATH) where the kernel has it
// (Linux 5.6+), else openat plus a check of the opened file's real path.
#include <dialtone/fileserve/root.hpp>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dialtone::fileserve {
namespace {

constexpr int open_flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;

int sys_openat2(int dirfd, const char *path, uint64_t resolve) {
    open_how how{};
    how.flags = open_flags;
    how.resolve = resolve;
    return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

constexpr uint64_t beneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

} // namespace

UniqueFd &UniqueFd::operator=(UniqueFd &&o) noexcept {
    if (this != &o)
        reset(o.release());
    return *this;
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

bool is_safe_path_info(std::string_view p) {
    if (p.empty() || p.front() != '/' || (p.size() > 1 && p[1] == '/'))
        return false;
    if (p.find('\0') != std::string_view::npos)
        return false;
    std::size_t start = 1;
    while (start <= p.size()) {
        std::size_t end = p.find('/', start);
        if (end == std::string_view::npos)
            end = p.size();
        if (p.substr(start, end - start) == "..")
            return false;
        start = end + 1;
    }
    return true;
}

std::optional<Root> Root::open(const std::string &path, Symlinks symlinks, std::string &error,
                               bool force_path_check) {
    Root root;
    root.symlinks_ = symlinks;
    root.fd_.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.fd_) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (symlinks == Symlinks::follow)
        return root;

    if (!force_path_check) {
        const int probe = sys_openat2(root.fd(), ".", beneath);
        if (probe >= 0) {
            ::close(probe);
            return root;
        }
        if (errno != ENOSYS && errno != EPERM) {
            error = path + ": " + std::strerror(errno);
            return std::nullopt;
        }
    }
    root.use_openat2_ = false;
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    root.real_path_ = real;
    return root;
}

int Root::open_file(const char *relative) const {
    if (symlinks_ == Symlinks::beneath && use_openat2_) {
        const int fd = sys_openat2(fd_.get(), relative, beneath);
        return fd >= 0 ? fd : -errno;
    }
    UniqueFd file(::openat(fd_.get(), relative, open_flags));
    if (!file)
        return -errno;
    if (symlinks_ == Symlinks::follow)
        return file.release();

    // Fallback: the opened file itself (not the path, which may change meanwhile) must lie
    // under the root.
    char link[32];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", file.get());
    char real[PATH_MAX];
    const ssize_t n = ::readlink(link, real, sizeof real);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof real)
        return -EXDEV;
    const std::string_view got(real, static_cast<std::size_t>(n));
    const std::string_view base = real_path_;
    const bool inside = got == base || (got.starts_with(base) && base.size() < got.size() &&
                                        (base == "/" || got[base.size()] == '/'));
    return inside ? file.release() : -EXDEV;
}

} // namespace dialtone::fileserve
