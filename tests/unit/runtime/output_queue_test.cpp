#include "output_queue.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using dialtone::OutputQueue;

namespace {

// A non-blocking socket pair: the queue writes to `out`, the test reads from `in`.
struct Pair {
    int out = -1, in = -1;
    Pair() {
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        out = fds[0];
        in = fds[1];
        fcntl(out, F_SETFL, fcntl(out, F_GETFL) | O_NONBLOCK);
        fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
    }
    ~Pair() {
        close(out);
        close(in);
    }
    std::string read_all() {
        std::string got;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(in, buf, sizeof buf);
            if (n <= 0)
                return got;
            got.append(buf, static_cast<size_t>(n));
        }
    }
};

// Writes and reads until the queue is empty; everything the socket got, in order.
std::string drain(OutputQueue &q, Pair &p) {
    std::string got;
    for (int i = 0; i < 10000 && !q.empty(); ++i) {
        REQUIRE(q.write(p.out).status != OutputQueue::Status::failed);
        got += p.read_all();
    }
    REQUIRE(q.empty());
    return got;
}

} // namespace

TEST_CASE("borrowed bytes the socket takes at once go out between the copies around them",
          "[output_queue]") {
    Pair p;
    OutputQueue q;
    std::string body(4096, 'b');
    q.copy("head:");
    q.push_borrowed(body.data(), body.size());
    q.copy(":tail");
    CHECK(q.queued() == 5 + body.size() + 5);
    CHECK(q.write(p.out).status == OutputQueue::Status::drained);
    q.own_borrowed(); // nothing left to copy
    CHECK(p.read_all() == "head:" + body + ":tail");
}

TEST_CASE("borrowed bytes still queued are copied by own_borrowed and outlive their buffer",
          "[output_queue]") {
    Pair p;
    OutputQueue q;
    std::string body = "borrowed";
    q.copy("A");
    q.push_borrowed(body.data(), body.size());
    q.copy("C");
    q.own_borrowed();
    body.assign(body.size(), 'x'); // the lender reuses its buffer
    q.copy("D");
    CHECK(drain(q, p) == "AborrowedCD");
}

TEST_CASE("a queue compacting its buffer keeps parts copied in after later ones",
          "[output_queue]") {
    Pair p;
    int small = 4096;
    setsockopt(p.out, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    OutputQueue q;
    std::string first(40000, '1'), lent(40000, 'L'), want;
    q.copy(first);
    q.push_borrowed(lent.data(), lent.size());
    q.copy("chunk-end");
    q.own_borrowed(); // the lent bytes now sit in the buffer after "chunk-end"
    lent.assign(lent.size(), 'x');
    want = first + std::string(40000, 'L') + "chunk-end";
    // Part of it goes; later copies compact the buffer while the rest waits.
    REQUIRE(q.write(p.out).status == OutputQueue::Status::blocked);
    std::string got = p.read_all();
    for (int i = 0; i < 200; ++i) {
        std::string more(500, static_cast<char>('a' + i % 26));
        q.copy(more);
        want += more;
        REQUIRE(q.write(p.out).status != OutputQueue::Status::failed);
        got += p.read_all();
    }
    got += drain(q, p);
    CHECK(got == want);
}
