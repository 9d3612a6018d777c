#include <dialtone/fileserve/root.hpp>

#include "temp_tree.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <unistd.h>

using namespace dialtone::fileserve;
using dialtone::fileserve::test::TempTree;

namespace {

// Opens `relative` beneath `root`; returns the fd's result as 0 on success or -errno.
int try_open(const Root &root, const char *relative) {
    const int fd = root.open_file(relative);
    if (fd >= 0)
        ::close(fd);
    return fd >= 0 ? 0 : fd;
}

Root open_root(const TempTree &tree, Root::Symlinks symlinks, bool force_path_check) {
    std::string error;
    std::optional<Root> root = Root::open(tree.root().string(), symlinks, error, force_path_check);
    REQUIRE(root.has_value());
    return std::move(*root);
}

} // namespace

TEST_CASE("path_info with a dot-dot segment, a NUL or a double leading slash is unsafe",
          "[fileserve][path]") {
    CHECK(is_safe_path_info("/"));
    CHECK(is_safe_path_info("/a/b.txt"));
    CHECK(is_safe_path_info("/a/..b/c.."));
    CHECK(is_safe_path_info("/a/.../c"));
    CHECK_FALSE(is_safe_path_info(""));
    CHECK_FALSE(is_safe_path_info("a.txt"));
    CHECK_FALSE(is_safe_path_info("//etc/passwd"));
    CHECK_FALSE(is_safe_path_info("/.."));
    CHECK_FALSE(is_safe_path_info("/../a"));
    CHECK_FALSE(is_safe_path_info("/a/../../b"));
    CHECK_FALSE(is_safe_path_info("/a/.."));
    CHECK_FALSE(is_safe_path_info(std::string_view("/a\0b", 4)));
}

TEST_CASE("opening a root that is not a directory fails", "[fileserve][path]") {
    const TempTree tree;
    std::string error;
    CHECK_FALSE(Root::open((tree.root() / "a.txt").string(), Root::Symlinks::beneath, error));
    CHECK_THAT(error, Catch::Contains("a.txt"));
    CHECK_FALSE(Root::open((tree.root() / "missing").string(), Root::Symlinks::beneath, error));
}

TEST_CASE("files beneath the root open and symlinks may not leave it", "[fileserve][path]") {
    const TempTree tree;
    // Both the openat2 path and the realpath fallback must enforce the same rules.
    const bool force_path_check = GENERATE(false, true);
    INFO("force_path_check " << force_path_check);
    const Root root = open_root(tree, Root::Symlinks::beneath, force_path_check);

    CHECK(try_open(root, "a.txt") == 0);
    CHECK(try_open(root, ".") == 0);
    CHECK(try_open(root, "sub/index.html") == 0);
    CHECK(try_open(root, "link_in") == 0);
    CHECK(try_open(root, "missing.txt") == -ENOENT);
    CHECK(try_open(root, "a.txt/") == -ENOTDIR);
    CHECK(try_open(root, "link_out") == -EXDEV);
    CHECK(try_open(root, "../outside.txt") == -EXDEV);
    CHECK(try_open(root, "sub/../../outside.txt") == -EXDEV);
    CHECK(try_open(root, "sub/../a.txt") == 0);
}

TEST_CASE("an absolute symlink is refused beneath the root even if it points inside",
          "[fileserve][path]") {
    const TempTree tree;
    CHECK(try_open(open_root(tree, Root::Symlinks::beneath, false), "abs_in") == -EXDEV);
}

TEST_CASE("with follow_symlinks a symlink may point outside the root", "[fileserve][path]") {
    const TempTree tree;
    const Root root = open_root(tree, Root::Symlinks::follow, false);
    CHECK(try_open(root, "link_out") == 0);
    CHECK(try_open(root, "abs_in") == 0);
    CHECK(try_open(root, "link_in") == 0);
    CHECK(try_open(root, "missing.txt") == -ENOENT);
}

TEST_CASE("opening a FIFO does not block", "[fileserve][path]") {
    const TempTree tree;
    const dialtone::fileserve::test::Deadline deadline(5);
    const Root root = open_root(tree, Root::Symlinks::beneath, false);
    CHECK(try_open(root, "fifo") == 0); // would hang without O_NONBLOCK: no writer
}
