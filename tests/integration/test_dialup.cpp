// The dialup plugin through the real host: paced bodies measured by curl, the static plugin's
// semantics (ranges, 304, HEAD, traversal), config errors, and clients that leave mid-transfer.
#include "test_support.hpp"

#include <cstdlib>
#include <dirent.h>

using namespace dialtone::test;

namespace {

// 10,000 B/s (80 kbit/s) and a 25,000-byte file: a 2.5 s transfer, long enough for the ±2%
// accuracy the plugin promises and short enough for CI.
constexpr int kRate = 10000;
constexpr int kSize = 25000;

std::string dialup_config(std::string_view settings = "bits_per_second = 80000") {
    std::string text = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n"
                       "[[location]]\nprefix = \"/slow\"\nhandler = \"dialup\"\n"
                       "[location.dialup]\nroot = \"site\"\n";
    text.append(settings).append("\n");
    return text;
}

HostOptions with_site() {
    HostOptions o;
    o.prepare = [](const fs::path &dir) {
        std::string body(kSize, '\0');
        for (int i = 0; i < kSize; ++i)
            body[i] = static_cast<char>('a' + i % 26);
        write_file(dir / "site" / "file.txt", body);
        write_file(dir / "site" / "index.html", "<p>slow</p>\n");
    };
    return o;
}

int open_descriptors(pid_t pid) {
    int n = 0;
    DIR *d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!d)
        return -1;
    while (readdir(d))
        ++n;
    closedir(d);
    return n;
}

} // namespace

TEST_CASE("curl measures the configured rate within 2 percent", "[integration][dialup][rate]") {
    HostProcess host(dialup_config(), with_site());
    ProcessResult run = run_process({"/usr/bin/curl", "-sS", "-o", "/dev/null", "-w",
                                     "%{http_code} %{size_download} %{speed_download}",
                                     url(host.port(), "/slow/file.txt")},
                                    20s);
    REQUIRE(run.exit_code == 0);
    int code = 0;
    long size = 0;
    double speed = 0;
    REQUIRE(std::sscanf(run.out.c_str(), "%d %ld %lf", &code, &size, &speed) == 3);
    CHECK(code == 200);
    CHECK(size == kSize);
    CHECK(speed >= kRate * 0.98);
    CHECK(speed <= kRate * 1.02);
}

TEST_CASE("the paced body is the file, byte for byte", "[integration][dialup]") {
    HostProcess host(dialup_config("bits_per_second = 800000"), with_site()); // 0.25 s
    CurlResult got = curl({url(host.port(), "/slow/file.txt")});
    CHECK(got.status() == 200);
    CHECK(got.body == read_file(host.dir() / "site" / "file.txt"));
    CHECK(got.header("Content-Length") == std::to_string(kSize));
    CHECK(got.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
}

TEST_CASE("dialup answers ranges, conditionals and HEAD like the static plugin",
          "[integration][dialup]") {
    HostProcess host(dialup_config("modem = \"V.92\""), with_site());
    auto head = fetch(host.port(), request("HEAD", "/slow/file.txt"), true);
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->header("Content-Length") == std::to_string(kSize));
    CHECK(head->body.empty());
    auto etag = head->header("ETag");
    REQUIRE(etag);

    auto not_modified =
        fetch(host.port(), get("/slow/file.txt", "If-None-Match: " + *etag + "\r\n"));
    REQUIRE(not_modified);
    CHECK(not_modified->status == 304);

    auto range = fetch(host.port(), get("/slow/file.txt", "Range: bytes=26-51\r\n"));
    REQUIRE(range);
    CHECK(range->status == 206);
    CHECK(range->body == "abcdefghijklmnopqrstuvwxyz");
    CHECK(range->header("Content-Range") == "bytes 26-51/" + std::to_string(kSize));

    auto missing = fetch(host.port(), get("/slow/nope.txt"));
    REQUIRE(missing);
    CHECK(missing->status == 404);
    auto escape = fetch(host.port(), get("/slow/../../etc/passwd"));
    REQUIRE(escape);
    CHECK(escape->status == 400);
}

TEST_CASE("an unknown modem is a config error listing the valid ones", "[integration][dialup]") {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "site");
    ProcessResult run = run_host_with_config(dir, dialup_config("modem = \"V.90\""));
    CHECK(run.exit_code == 1);
    CHECK(matches(run.err,
                  R"(config\.toml:\d+:\d+: location\[0\]\.dialup\.modem: unknown modem "V\.90")"));
    CHECK(run.err.find("V.21, V.26bis, V.32, V.34, V.92, T1") != std::string::npos);

    ProcessResult both =
        run_host_with_config(dir, dialup_config("modem = \"V.92\"\nbits_per_second = 1"));
    CHECK(both.exit_code == 1);
    CHECK(both.err.find("not both") != std::string::npos);

    ProcessResult none = run_host_with_config(dir, dialup_config(""));
    CHECK(none.exit_code == 1);
    CHECK(none.err.find("set the rate") != std::string::npos);
}

TEST_CASE("clients that leave mid-transfer free their connection and the shared file",
          "[integration][dialup][abort]") {
    // Served files stay in the open-file cache for file_cache_valid_ms after their last use.
    HostProcess host(dialup_config("modem = \"V.92\"\nfile_cache_valid_ms = 200"), with_site());
    // Warm up: the first request opens what the host keeps open (loggers, listeners, the
    // cached index.html).
    auto warm = fetch(host.port(), get("/slow/index.html"));
    REQUIRE(warm);
    std::this_thread::sleep_for(200ms);
    int baseline = open_descriptors(host.pid());
    REQUIRE(baseline > 0);
    {
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < 50; ++i) {
            clients.push_back(std::make_unique<RawClient>(host.port()));
            REQUIRE(clients.back()->send(get("/slow/file.txt")));
        }
        std::this_thread::sleep_for(800ms); // transfers under way (4 KiB slices at 7000 B/s)
        CHECK(open_descriptors(host.pid()) >= baseline + 50);
        CHECK(open_descriptors(host.pid()) <= baseline + 52); // one shared file, not fifty
    }
    // All gone: every socket is closed, and the shared file once the cache lets it go (at the
    // first request after file_cache_valid_ms).
    std::this_thread::sleep_for(300ms);
    REQUIRE(fetch(host.port(), request("HEAD", "/slow/index.html"), /*head_request=*/true));
    int now = -1;
    for (int i = 0; i < 50 && now != baseline; ++i) {
        std::this_thread::sleep_for(50ms);
        now = open_descriptors(host.pid());
    }
    CHECK(now == baseline);
    // And the server still serves.
    auto after = fetch(host.port(), get("/slow/index.html"));
    REQUIRE(after);
    CHECK(after->status == 200);
}

TEST_CASE("a graceful stop lets a suspended transfer finish within the grace period",
          "[integration][dialup][shutdown]") {
    HostProcess host(dialup_config("bits_per_second = 200000") +
                         "", // 25,000 bytes at 25,000 B/s: 1 s
                     with_site());
    RawClient c(host.port());
    REQUIRE(c.send(get("/slow/file.txt")));
    std::this_thread::sleep_for(200ms);
    host.stop(SIGTERM, 10s);
    auto r = c.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.size() == static_cast<size_t>(kSize));
}

TEST_CASE("suspended transfers past the grace period are aborted and the host exits",
          "[integration][dialup][shutdown]") {
    std::string cfg = dialup_config("modem = \"V.92\"");
    cfg.insert(cfg.find("[[location]]"), "[server.timeouts]\ngrace_ms = 300\n");
    HostProcess host(cfg, with_site());
    RawClient c(host.port());
    REQUIRE(c.send(get("/slow/file.txt")));
    std::this_thread::sleep_for(200ms);
    auto start = std::chrono::steady_clock::now();
    CHECK(host.stop(SIGTERM, 10s) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK(host.stderr_text().find("grace period over") != std::string::npos);
    CHECK(c.wait_closed(2s));
}
