// The proxy's spool (runtime/src/spool.*): exchanges' bytes in one shared file of 64 KiB
// blocks, handed out as file ranges that hold their blocks. Checked here against a model: every
// range reads back exactly the bytes appended at its place in its exchange's stream, however
// appends, takes and releases interleave between exchanges, and blocks go back (and the file
// empties) once every range is released. (That a reused block never changes bytes a socket
// still holds from sendfile is the integration tests' to show: test_proxy.cpp, [spool].)
#include "spool.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using dialtone::BodyPart;
using dialtone::Spool;
using dialtone::SpoolFile;

namespace {

std::string read_range(const BodyPart &p) {
    std::string s(p.len, '\0');
    REQUIRE(pread(p.fd, s.data(), p.len, static_cast<off_t>(p.offset)) ==
            static_cast<ssize_t>(p.len));
    return s;
}

struct Stream { // one exchange: its spool, what it appended, what it handed out
    std::unique_ptr<Spool> spool;
    std::string appended;
    size_t taken = 0;
};

} // namespace

TEST_CASE("spool ranges read back each exchange's bytes in order, blocks shared and reused",
          "[spool]") {
    std::string err;
    SpoolFile *file = SpoolFile::open("/tmp", err);
    REQUIRE(file);
    std::mt19937 rng(12345);
    std::vector<Stream> streams(4);
    for (auto &s : streams)
        s.spool = std::make_unique<Spool>(*file);
    std::deque<std::pair<BodyPart, std::string>> out; // ranges in flight, with what they hold
    uint64_t counter = 0;
    for (int step = 0; step < 20000; ++step) {
        Stream &s = streams[rng() % streams.size()];
        switch (rng() % 3) {
        case 0: { // the upstream sends a piece
            std::string piece(1 + rng() % 70000, '\0');
            for (char &c : piece)
                c = static_cast<char>('a' + (counter++ * 2654435761u >> 7) % 26);
            REQUIRE(s.spool->append(piece));
            s.appended += piece;
            break;
        }
        case 1: // the client takes some
            if (s.spool->unsent() > 0) {
                BodyPart p = s.spool->take(1 + rng() % 300000);
                REQUIRE(p.len > 0);
                out.emplace_back(p, s.appended.substr(s.taken, p.len));
                s.taken += p.len;
            }
            break;
        case 2: // a range is sent (oldest first, or any: queues of different clients)
            if (!out.empty()) {
                size_t i = rng() % out.size();
                CHECK(read_range(out[i].first) == out[i].second);
                out[i].first.release();
                out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
            }
            break;
        }
        REQUIRE(s.spool->unsent() == s.appended.size() - s.taken);
    }
    for (auto &[p, want] : out) {
        CHECK(read_range(p) == want);
        p.release();
    }
    for (auto &s : streams)
        s.spool.reset();
    CHECK(file->blocks_in_use() == 0);
    struct stat st;
    REQUIRE(fstat(file->fd(), &st) == 0);
    CHECK(st.st_size == 0); // emptied once nothing was in use
    file->unref();
}
