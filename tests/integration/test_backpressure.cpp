// Backpressure: a plugin writing faster than the client reads must not make the host buffer
// the whole body; the client still gets every byte once it reads.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;

namespace {

constexpr std::size_t mib = 1024 * 1024;

std::string firehose(int size_mib) {
    return config("", "[[location]]\nprefix = \"/\"\nhandler = \"echo\"\n\n"
                      "[[location]]\nprefix = \"/firehose\"\nhandler = \"firehose\"\n"
                      "[location.firehose]\nmib = " +
                          std::to_string(size_mib) + "\n");
}

// The firehose pattern: byte i is i % 251. Returns the first wrong offset, or npos.
std::size_t first_wrong_byte(const std::string &body) {
    for (std::size_t i = 0; i < body.size(); i++)
        if (static_cast<unsigned char>(body[i]) != i % 251)
            return i;
    return std::string::npos;
}

} // namespace

TEST_CASE("a client that reads nothing does not make the host buffer the body",
          "[integration][backpressure]") {
    HostProcess host(firehose(64));
    // Warm up both workers, then take the baseline.
    for (int i = 0; i < 4; i++)
        REQUIRE(fetch(host.port(), get("/warm")));
    long baseline = host.rss_kib();
    REQUIRE(baseline > 0);

    RawClient client(host.port());
    REQUIRE(client.send(get("/firehose")));
    long peak = baseline;
    for (int i = 0; i < 20; i++) {
        std::this_thread::sleep_for(100ms);
        peak = std::max(peak, host.rss_kib());
    }
    INFO("RSS baseline " << baseline << " KiB, peak " << peak << " KiB");
    CHECK(peak - baseline < 40 * 1024);

    auto response = client.read_response(30s);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("Content-Length") == std::to_string(64 * mib));
    REQUIRE(response->body.size() == 64 * mib);
    CHECK(first_wrong_byte(response->body) == std::string::npos);
}

TEST_CASE("curl downloads a large body completely", "[integration][backpressure]") {
    HostProcess host(firehose(16));
    CurlResult got = curl({url(host.port(), "/firehose")});
    CHECK(got.status() == 200);
    REQUIRE(got.body.size() == 16 * mib);
    CHECK(first_wrong_byte(got.body) == std::string::npos);
}

TEST_CASE("HEAD on a large body gets its length without the bytes",
          "[integration][backpressure][head]") {
    HostProcess host(firehose(64));
    RawClient client(host.port());
    REQUIRE(client.send(request("HEAD", "/firehose") + get("/after")));
    auto head = client.read_response(5s, /*head_request=*/true);
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->header("Content-Length") == std::to_string(64 * mib));
    auto after = client.read_response();
    REQUIRE(after);
    CHECK(parse_echo(after->body)["path"] == "/after");
}

TEST_CASE("a client that leaves mid-body aborts the plugin's request and the host goes on",
          "[integration][backpressure][abort]") {
    HostProcess host(firehose(64));
    {
        RawClient client(host.port());
        REQUIRE(client.send(get("/firehose")));
        CHECK(client.read_bytes(mib, 5s) >= mib);
    }
    CHECK(host.wait_for_stderr("firehose: aborted after", 5s));
    auto next = fetch(host.port(), get("/next"));
    REQUIRE(next);
    CHECK(next->status == 200);
}

namespace {

constexpr std::string_view zero_copy_locations = R"(
[[location]]
prefix = "/"
handler = "echo"

[[location]]
prefix = "/zero-copy"
handler = "firehose"
[location.firehose]
mib = 16
zero_copy = true

[[location]]
prefix = "/report"
handler = "firehose"
[location.firehose]
report = true
)";

struct Pieces {
    long queued = -1;
    long released = -2;
};

Pieces pieces_of(std::uint16_t port) {
    Pieces pieces;
    auto response = fetch(port, get("/report"));
    if (response)
        std::sscanf(response->body.c_str(), "queued=%ld released=%ld", &pieces.queued,
                    &pieces.released);
    return pieces;
}

// Polls the report until every queued piece was released (or the timeout passes).
Pieces settled_pieces(std::uint16_t port, Millis timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Pieces pieces = pieces_of(port);
    while (pieces.queued != pieces.released && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        pieces = pieces_of(port);
    }
    return pieces;
}

} // namespace

TEST_CASE("zero-copy writes arrive whole and each is released exactly once",
          "[integration][backpressure][zero_copy]") {
    HostProcess host(config("", zero_copy_locations));
    CurlResult got = curl({url(host.port(), "/zero-copy")});
    CHECK(got.status() == 200);
    REQUIRE(got.body.size() == 16 * mib);
    CHECK(first_wrong_byte(got.body) == std::string::npos);

    Pieces pieces = settled_pieces(host.port());
    CHECK(pieces.queued >= 256);
    CHECK(pieces.released == pieces.queued);
}

TEST_CASE("zero-copy writes still queued when the client leaves are released exactly once",
          "[integration][backpressure][zero_copy][abort]") {
    HostProcess host(config("", zero_copy_locations));
    {
        RawClient client(host.port(), "127.0.0.1", /*rcvbuf=*/64 * 1024);
        REQUIRE(client.send(get("/zero-copy")));
        CHECK(client.read_bytes(mib, 5s) >= mib);
    }
    CHECK(host.wait_for_stderr("firehose: aborted after", 5s));
    Pieces pieces = settled_pieces(host.port());
    CHECK(pieces.queued > 0);
    CHECK(pieces.released == pieces.queued);
    // And no late second release.
    std::this_thread::sleep_for(200ms);
    CHECK(pieces_of(host.port()).released == pieces.queued);
}
