#include "open_files.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using dialtone::dialup::OpenFiles;

namespace {
std::string temp_file(const char *content) {
    char path[] = "/tmp/dialtone-openfiles-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content, strlen(content)) == static_cast<ssize_t>(strlen(content)));
    close(fd);
    return path;
}
bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }
} // namespace

TEST_CASE("transfers of one file share one descriptor", "[dialup][files]") {
    std::string path = temp_file("hello");
    OpenFiles files;
    OpenFiles::Entry *a = files.acquire(open(path.c_str(), O_RDONLY));
    int second = open(path.c_str(), O_RDONLY);
    OpenFiles::Entry *b = files.acquire(second);
    REQUIRE(a != nullptr);
    CHECK(a == b);
    CHECK_FALSE(is_open(second)); // the duplicate was closed
    CHECK(files.size() == 1);
    int fd = a->fd;
    OpenFiles::release(a);
    CHECK(is_open(fd));
    OpenFiles::release(b);
    CHECK_FALSE(is_open(fd)); // the last user closes it
    CHECK(files.size() == 0);
    unlink(path.c_str());
}

TEST_CASE("a rewritten file gets its own entry", "[dialup][files]") {
    std::string path = temp_file("one");
    OpenFiles files;
    OpenFiles::Entry *a = files.acquire(open(path.c_str(), O_RDONLY));
    FILE *f = fopen(path.c_str(), "w");
    fputs("a longer content", f);
    fclose(f);
    OpenFiles::Entry *b = files.acquire(open(path.c_str(), O_RDONLY));
    CHECK(a != b);
    CHECK(files.size() == 2);
    OpenFiles::retain(a);
    OpenFiles::release(a);
    OpenFiles::release(a);
    OpenFiles::release(b);
    CHECK(files.size() == 0);
    unlink(path.c_str());
}
