// The open-file cache: hits within valid_ms, one descriptor per file, replacement when the file
// changes, closing what nobody asks for, a bounded size, small files' bytes kept.
#include "temp_tree.hpp"

#include <dialtone/fileserve/file_cache.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

using dialtone::fileserve::FileCache;
using dialtone::fileserve::test::TempTree;

namespace {

struct Opened {
    int fd;
    struct stat st;
};

Opened open_file(const std::filesystem::path &p) {
    Opened o{::open(p.c_str(), O_RDONLY | O_CLOEXEC), {}};
    REQUIRE(o.fd >= 0);
    REQUIRE(::fstat(o.fd, &o.st) == 0);
    return o;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

} // namespace

TEST_CASE("a cached path is a hit within valid_ms and a miss after", "[file_cache]") {
    TempTree tree;
    FileCache cache(16, 1000);
    CHECK(cache.find("/a.txt", 5000) == nullptr);
    Opened a = open_file(tree.root() / "a.txt");
    FileCache::Entry *e = cache.insert("/a.txt", a.fd, a.st, 5000);
    REQUIRE(e);
    CHECK(e->fd == a.fd);
    FileCache::Entry *hit = cache.find("/a.txt", 5999);
    CHECK(hit == e);
    CHECK(cache.find("/a.txt", 6000) == nullptr); // checked 1000 ms ago: resolve again
    FileCache::release(hit);
    FileCache::release(e);
}

TEST_CASE("the same file inserted again keeps one descriptor; a changed one replaces it",
          "[file_cache]") {
    TempTree tree;
    FileCache cache(16, 1000);
    Opened first = open_file(tree.root() / "a.txt");
    FileCache::Entry *e = cache.insert("/a.txt", first.fd, first.st, 0);
    Opened again = open_file(tree.root() / "a.txt");
    FileCache::Entry *same = cache.insert("/a.txt", again.fd, again.st, 2000);
    CHECK(same == e);
    CHECK_FALSE(is_open(again.fd)); // the duplicate was closed
    CHECK(cache.find("/a.txt", 2500) == e);
    FileCache::release(e);

    // Replaced by rename: a new entry; the old one stays open for its holders.
    TempTree::write(tree.root() / "new.txt", "new content\n");
    std::filesystem::rename(tree.root() / "new.txt", tree.root() / "a.txt");
    Opened changed = open_file(tree.root() / "a.txt");
    FileCache::Entry *fresh = cache.insert("/a.txt", changed.fd, changed.st, 4000);
    CHECK(fresh != e);
    CHECK(is_open(first.fd)); // `same` and `e` still hold it
    FileCache::release(same);
    FileCache::release(e);
    CHECK_FALSE(is_open(first.fd)); // last holder gone
    CHECK(fresh->content == "new content\n");
    FileCache::release(fresh);
}

TEST_CASE("entries nobody asked for during valid_ms are closed at the next request",
          "[file_cache]") {
    TempTree tree;
    FileCache cache(16, 100);
    Opened a = open_file(tree.root() / "a.txt");
    FileCache::release(cache.insert("/a.txt", a.fd, a.st, 1000));
    CHECK(is_open(a.fd));
    CHECK(cache.size() == 1);
    CHECK(cache.find("/other", 1200) == nullptr); // a request, past valid_ms: sweeps
    CHECK(cache.size() == 0);
    CHECK_FALSE(is_open(a.fd));
}

TEST_CASE("a full cache of fresh entries does not take more; the caller keeps its file",
          "[file_cache]") {
    TempTree tree;
    FileCache cache(1, 1000);
    Opened a = open_file(tree.root() / "a.txt");
    FileCache::release(cache.insert("/a.txt", a.fd, a.st, 0));
    Opened c = open_file(tree.root() / "my dir" / "c.txt");
    CHECK(cache.insert("/my dir/c.txt", c.fd, c.st, 10) == nullptr);
    CHECK(is_open(c.fd));
    ::close(c.fd);
    // Once the first is stale it makes room.
    Opened c2 = open_file(tree.root() / "my dir" / "c.txt");
    FileCache::Entry *e = cache.insert("/my dir/c.txt", c2.fd, c2.st, 2000);
    REQUIRE(e);
    CHECK(cache.size() == 1);
    CHECK_FALSE(is_open(a.fd));
    FileCache::release(e);
}

TEST_CASE("a small file's bytes are kept with its entry, a large file's are not", "[file_cache]") {
    TempTree tree;
    TempTree::write(tree.root() / "big.bin", std::string(FileCache::kInlineMax + 1, 'x'));
    FileCache cache(16, 1000);
    Opened a = open_file(tree.root() / "a.txt");
    FileCache::Entry *small = cache.insert("/a.txt", a.fd, a.st, 0);
    CHECK(small->content.size() == static_cast<size_t>(a.st.st_size));
    Opened big = open_file(tree.root() / "big.bin");
    FileCache::Entry *large = cache.insert("/big.bin", big.fd, big.st, 0);
    CHECK(large->content.empty());
    FileCache::release(small);
    FileCache::release(large);
}
