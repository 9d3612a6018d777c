// The bundled static plugin, loaded by the real host: files byte for byte, MIME types,
// validators and 304, ranges, directories, HEAD, and no escape from the root.
#include "test_support.hpp"

using namespace dialtone::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr std::string_view site = R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "@WWW@"

[[location]]
prefix = "/mysite/"
handler = "static"
[location.static]
root = "@WWW@"
)";

std::string www(const std::string &name) { return read_file(fixture_www_dir() / name); }

} // namespace

TEST_CASE("the index page is served for / and by name", "[integration][static]") {
    HostProcess host(config("", site));
    for (const char *path : {"/", "/index.html"}) {
        INFO(path);
        CurlResult got = curl({url(host.port(), path)});
        CHECK(got.status() == 200);
        CHECK(got.body == www("index.html"));
        CHECK_THAT(got.header("Content-Type").value_or(""), StartsWith("text/html"));
        CHECK(got.header("Content-Length") == std::to_string(www("index.html").size()));
    }
}

TEST_CASE("files come back byte for byte with their MIME type", "[integration][static]") {
    HostProcess host(config("", site));
    const std::pair<const char *, const char *> files[] = {
        {"pixel.png", "image/png"},
        {"file4k.txt", "text/plain"},
        {"style.css", "text/css"},
        {"data.json", "application/json"},
    };
    for (const auto &[name, type] : files) {
        INFO(name);
        CurlResult got = curl({url(host.port(), std::string("/") + name)});
        CHECK(got.status() == 200);
        CHECK(got.body == www(name));
        CHECK_THAT(got.header("Content-Type").value_or(""), StartsWith(type));
    }
}

TEST_CASE("a percent-encoded file name is decoded", "[integration][static]") {
    HostProcess host(config("", site));
    CurlResult got = curl({url(host.port(), "/hello%20world.txt")});
    CHECK(got.status() == 200);
    CHECK(got.body == www("hello world.txt"));
}

TEST_CASE("a location's prefix is stripped before the root is applied", "[integration][static]") {
    HostProcess host(config("", site));
    CurlResult got = curl({url(host.port(), "/mysite/file4k.txt")});
    CHECK(got.status() == 200);
    CHECK(got.body == www("file4k.txt"));
}

TEST_CASE("a large file is sent whole", "[integration][static]") {
    std::string big;
    for (int i = 0; i < 3 * 1024 * 1024; i++)
        big.push_back(static_cast<char>('a' + i % 23));
    HostOptions options;
    options.prepare = [&](const fs::path &dir) { write_file(dir / "big" / "big.bin", big); };
    HostProcess host(config("", R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "big"
)"),
                     options);
    CurlResult got = curl({url(host.port(), "/big.bin")});
    CHECK(got.status() == 200);
    CHECK(got.body.size() == big.size());
    CHECK(got.body == big);
}

TEST_CASE("a missing file gets 404", "[integration][static]") {
    HostProcess host(config("", site));
    CurlResult got = curl({url(host.port(), "/no-such-file.html")});
    CHECK(got.status() == 404);
}

TEST_CASE("ETag and Last-Modified validators give 304 when they match",
          "[integration][static][conditional]") {
    HostProcess host(config("", site));
    CurlResult first = curl({url(host.port(), "/file4k.txt")});
    REQUIRE(first.status() == 200);
    auto etag = first.header("ETag");
    auto last_modified = first.header("Last-Modified");
    REQUIRE(etag);
    REQUIRE(last_modified);
    CHECK(matches(*last_modified, imf_fixdate));

    SECTION("If-None-Match with the ETag") {
        auto response = fetch(host.port(), get("/file4k.txt", "If-None-Match: " + *etag + "\r\n"));
        REQUIRE(response);
        CHECK(response->status == 304);
        CHECK(response->body.empty());
        CHECK(response->header("ETag") == etag);
    }
    SECTION("If-None-Match with another ETag") {
        auto response = fetch(host.port(), get("/file4k.txt", "If-None-Match: \"other\"\r\n"));
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(response->body == www("file4k.txt"));
    }
    SECTION("If-Modified-Since with the Last-Modified date") {
        auto response =
            fetch(host.port(), get("/file4k.txt", "If-Modified-Since: " + *last_modified + "\r\n"));
        REQUIRE(response);
        CHECK(response->status == 304);
    }
    SECTION("If-Modified-Since long ago") {
        auto response =
            fetch(host.port(),
                  get("/file4k.txt", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n"));
        REQUIRE(response);
        CHECK(response->status == 200);
    }
}

TEST_CASE("a single byte range gets 206 and one past the end gets 416",
          "[integration][static][range]") {
    HostProcess host(config("", site));
    const std::string file = www("file4k.txt");
    SECTION("the first 100 bytes") {
        auto response = fetch(host.port(), get("/file4k.txt", "Range: bytes=0-99\r\n"));
        REQUIRE(response);
        CHECK(response->status == 206);
        CHECK(response->header("Content-Range") == "bytes 0-99/4096");
        CHECK(response->body == file.substr(0, 100));
    }
    SECTION("an open-ended range") {
        auto response = fetch(host.port(), get("/file4k.txt", "Range: bytes=4000-\r\n"));
        REQUIRE(response);
        CHECK(response->status == 206);
        CHECK(response->header("Content-Range") == "bytes 4000-4095/4096");
        CHECK(response->body == file.substr(4000));
    }
    SECTION("a suffix range") {
        auto response = fetch(host.port(), get("/file4k.txt", "Range: bytes=-10\r\n"));
        REQUIRE(response);
        CHECK(response->status == 206);
        CHECK(response->body == file.substr(4086));
    }
    SECTION("a range that ends past the file is clipped") {
        auto response = fetch(host.port(), get("/file4k.txt", "Range: bytes=4090-9999\r\n"));
        REQUIRE(response);
        CHECK(response->status == 206);
        CHECK(response->header("Content-Range") == "bytes 4090-4095/4096");
    }
    SECTION("a range starting past the end") {
        auto response = fetch(host.port(), get("/file4k.txt", "Range: bytes=5000-\r\n"));
        REQUIRE(response);
        CHECK(response->status == 416);
        CHECK(response->header("Content-Range") == "bytes */4096");
    }
    SECTION("curl's --range") {
        CurlResult got = curl({"--range", "100-199", url(host.port(), "/file4k.txt")});
        CHECK(got.status() == 206);
        CHECK(got.body == file.substr(100, 100));
    }
}

TEST_CASE("HEAD on a file gets the GET headers and no body", "[integration][static][head]") {
    HostProcess host(config("", site));
    RawClient client(host.port());
    REQUIRE(client.send(get("/file4k.txt")));
    auto got = client.read_response();
    REQUIRE(got);
    REQUIRE(client.send(request("HEAD", "/file4k.txt")));
    auto head = client.read_response(5s, /*head_request=*/true);
    REQUIRE(head);
    CHECK(head->status == 200);
    for (const char *name : {"Content-Length", "Content-Type", "ETag", "Last-Modified"}) {
        INFO(name);
        CHECK(head->header(name) == got->header(name));
    }
    // No body followed the HEAD answer: the next response parses from the first byte.
    REQUIRE(client.send(get("/style.css")));
    auto next = client.read_response();
    REQUIRE(next);
    CHECK(next->body == www("style.css"));
}

TEST_CASE("a directory serves its index or 403 without one", "[integration][static][dirs]") {
    HostProcess host(config("", site));
    CurlResult with_index = curl({url(host.port(), "/sub/")});
    CHECK(with_index.status() == 200);
    CHECK(with_index.body == www("sub/index.html"));

    CurlResult without_index = curl({url(host.port(), "/noindex/")});
    CHECK(without_index.status() == 403);

    CurlResult inside = curl({url(host.port(), "/noindex/file.txt")});
    CHECK(inside.status() == 200);
    CHECK(inside.body == www("noindex/file.txt"));
}

TEST_CASE("the static plugin never serves a file above its root",
          "[integration][static][security]") {
    HostProcess host(config("", site));
    for (const char *target : {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                               "/sub/../../../etc/passwd", "/mysite/../../etc/passwd"}) {
        INFO(target);
        auto response = fetch(host.port(), get(target));
        REQUIRE(response);
        CHECK(response->status == 400);
        CHECK_THAT(response->body, !Contains("root:"));
    }
}

TEST_CASE("a symlink out of the root is refused unless follow_symlinks is on",
          "[integration][static][security]") {
    HostOptions options;
    options.prepare = [](const fs::path &dir) {
        write_file(dir / "secret.txt", "secret outside the root\n");
        write_file(dir / "root" / "plain.txt", "plain\n");
        fs::create_symlink("../secret.txt", dir / "root" / "escape.txt");
    };
    std::string toml = config("", R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "root"
follow_symlinks = FOLLOW
)");
    SECTION("follow_symlinks = false") {
        toml.replace(toml.find("FOLLOW"), 6, "false");
        HostProcess host(toml, options);
        auto plain = fetch(host.port(), get("/plain.txt"));
        REQUIRE(plain);
        CHECK(plain->status == 200);
        auto escape = fetch(host.port(), get("/escape.txt"));
        REQUIRE(escape);
        CHECK((escape->status == 403 || escape->status == 404));
        CHECK_THAT(escape->body, !Contains("secret outside the root"));
    }
    SECTION("follow_symlinks = true") {
        toml.replace(toml.find("FOLLOW"), 6, "true");
        HostProcess host(toml, options);
        auto escape = fetch(host.port(), get("/escape.txt"));
        REQUIRE(escape);
        CHECK(escape->status == 200);
        CHECK(escape->body == "secret outside the root\n");
    }
}

TEST_CASE("serving files leaves no file descriptor open", "[integration][static][leaks]") {
    HostOptions options;
    options.prepare = [](const fs::path &dir) {
        write_file(dir / "root" / "big.bin", std::string(3 * 1024 * 1024, 'b'));
        write_file(dir / "root" / "small.txt", "small\n");
    };
    // The open-file cache keeps served files open for file_cache_valid_ms; the next request
    // after that closes what nobody asked for.
    HostProcess host(config("", R"(
[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "root"
file_cache_valid_ms = 200
)"),
                     options);
    REQUIRE(fetch(host.port(), get("/small.txt")));
    auto settled_fds = [&](long expected) {
        long count = host.fd_count();
        for (int i = 0; i < 150 && count != expected; i++) {
            std::this_thread::sleep_for(20ms);
            count = host.fd_count();
        }
        return count;
    };
    std::this_thread::sleep_for(100ms);
    long baseline = host.fd_count();
    REQUIRE(baseline > 0);

    for (int i = 0; i < 5; i++) {
        CHECK(fetch(host.port(), get("/small.txt")));
        CHECK(fetch(host.port(), get("/big.bin", "Range: bytes=10-20\r\n")));
        CHECK(fetch(host.port(), request("HEAD", "/big.bin"), /*head_request=*/true));
        CHECK(fetch(host.port(), get("/missing")));
        // A client that leaves after the first bytes of a large file.
        RawClient leaver(host.port(), "127.0.0.1", /*rcvbuf=*/16 * 1024);
        REQUIRE(leaver.send(get("/big.bin")));
        CHECK(leaver.read_bytes(1, 2s) > 0);
    }
    CHECK(settled_fds(baseline + 1) == baseline + 1); // small.txt and big.bin cached
    std::this_thread::sleep_for(300ms);
    CHECK(fetch(host.port(), get("/small.txt"))); // reopened; big.bin's entry closed
    CHECK(settled_fds(baseline) == baseline);
}

// toml++ drops source positions when a table is copied: a plugin's config_error must still name
// the line and column of the bad value, not 0:0.
TEST_CASE("a bad static setting is refused with its file, line, column and key",
          "[integration][static][config]") {
    TempDir dir;
    ProcessResult run = run_host_with_config(dir, "[server]\nlisten = [\"127.0.0.1:0\"]\n"
                                                  "[[location]]\nprefix = \"/\"\n"
                                                  "handler = \"static\"\n[location.static]\n"
                                                  "root = \"@WWW@\"\nfile_cache = -3\n");
    INFO("stderr:\n" << run.err);
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Contains("config.toml:8:14: location[0].static.file_cache: must be "
                                 "between 0 and 1000000"));
}
