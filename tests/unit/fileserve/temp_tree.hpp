// A temporary directory tree for path-resolution tests, removed at the end of the test:
//   <base>/outside.txt
//   <base>/www/a.txt            "hello world\n", mtime 784111777
//   <base>/www/my dir/c.txt
//   <base>/www/sub/index.html
//   <base>/www/empty/
//   <base>/www/link_in   -> a.txt           (relative, stays inside)
//   <base>/www/link_out  -> ../outside.txt  (relative, leaves the root)
//   <base>/www/abs_in    -> <base>/www/a.txt (absolute, points inside)
//   <base>/www/fifo                          (a named pipe)
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace dialtone::fileserve::test {

inline constexpr int64_t a_txt_mtime = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT
inline constexpr const char *a_txt_content = "hello world\n";

// Fails a test that blocks (say, opening a FIFO without O_NONBLOCK) instead of hanging it:
// SIGALRM after `seconds` kills the test binary.
class Deadline {
  public:
    explicit Deadline(unsigned seconds) { ::alarm(seconds); }
    ~Deadline() { ::alarm(0); }
    Deadline(const Deadline &) = delete;
    Deadline &operator=(const Deadline &) = delete;
};

class TempTree {
  public:
    TempTree() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "dialtone-fileserve-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        base_ = pattern;
        namespace fs = std::filesystem;
        fs::create_directories(root() / "sub");
        fs::create_directories(root() / "empty");
        fs::create_directories(root() / "my dir");
        write(base_ / "outside.txt", "secret\n");
        write(root() / "a.txt", a_txt_content);
        write(root() / "my dir" / "c.txt", "c\n");
        write(root() / "sub" / "index.html", "<p>index</p>\n");
        fs::create_symlink("a.txt", root() / "link_in");
        fs::create_symlink("../outside.txt", root() / "link_out");
        fs::create_symlink(root() / "a.txt", root() / "abs_in");
        REQUIRE(::mkfifo((root() / "fifo").c_str(), 0600) == 0);
        const struct timespec times[2] = {{a_txt_mtime, 0}, {a_txt_mtime, 0}};
        REQUIRE(::utimensat(AT_FDCWD, (root() / "a.txt").c_str(), times, 0) == 0);
    }
    ~TempTree() {
        std::error_code ec;
        std::filesystem::remove_all(base_, ec);
    }
    TempTree(const TempTree &) = delete;
    TempTree &operator=(const TempTree &) = delete;

    std::filesystem::path base() const { return base_; }
    std::filesystem::path root() const { return base_ / "www"; }

    static void write(const std::filesystem::path &path, const std::string &content) {
        std::ofstream out(path, std::ios::binary);
        out << content;
        REQUIRE(out.good());
    }

  private:
    std::filesystem::path base_;
};

} // namespace dialtone::fileserve::test
