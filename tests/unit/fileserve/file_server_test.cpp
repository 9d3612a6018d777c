#include <dialtone/fileserve/file_server.hpp>

#include "temp_tree.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace dialtone::fileserve;
using dialtone::fileserve::test::a_txt_content;
using dialtone::fileserve::test::a_txt_mtime;
using dialtone::fileserve::test::TempTree;

namespace {

constexpr uint64_t a_txt_size = 12;

std::unique_ptr<FileServer> make_server(const TempTree &tree, Options options = {}) {
    options.root = tree.root().string();
    CreateError error;
    std::unique_ptr<FileServer> server = FileServer::create(std::move(options), error);
    INFO(error.key << ": " << error.message);
    REQUIRE(server != nullptr);
    return server;
}

FileRequest get(std::string_view path_info) {
    FileRequest r;
    r.method = "GET";
    r.path = path_info;
    r.path_info = path_info;
    return r;
}

// ---- A fake host that records what a response does ---------------------------------------

struct Recorded {
    int status = 200;
    std::multimap<std::string, std::string> headers;
    std::optional<uint64_t> length;
    int send_file_calls = 0;
    uint64_t sent_offset = 0, sent_length = 0;
    int send_file_ref_calls = 0, write_ref_calls = 0;
    std::string written; // what req_write_ref was given
    int finish_calls = 0;

    std::string header(const std::string &name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? "<absent>" : it->second;
    }
};

Recorded &rec(dt_req_t *req) { return *reinterpret_cast<Recorded *>(req); }

const dt_api_t fake_api = [] {
    dt_api_t api{};
    api.size = sizeof api;
    api.resp_set_status = [](dt_req_t *req, int status) {
        rec(req).status = status;
        return 0;
    };
    api.resp_add_header = [](dt_req_t *req, const char *n, size_t nl, const char *v, size_t vl) {
        rec(req).headers.emplace(std::string(n, nl), std::string(v, vl));
        return 0;
    };
    api.resp_set_length = [](dt_req_t *req, uint64_t length) {
        rec(req).length = length;
        return 0;
    };
    api.req_send_file = [](dt_req_t *req, int fd, uint64_t offset, uint64_t len) {
        ++rec(req).send_file_calls;
        rec(req).sent_offset = offset;
        rec(req).sent_length = len;
        ::close(fd);
        return 0;
    };
    api.req_send_file_ref = [](dt_req_t *req, int, uint64_t offset, uint64_t len,
                               dt_release_cb release, void *arg) {
        ++rec(req).send_file_ref_calls;
        rec(req).sent_offset = offset;
        rec(req).sent_length = len;
        if (release)
            release(arg);
        return 0;
    };
    api.req_write_ref = [](dt_req_t *req, const void *data, size_t len, dt_release_cb release,
                           void *arg) {
        ++rec(req).write_ref_calls;
        rec(req).written.assign(static_cast<const char *>(data), len);
        if (release)
            release(arg);
        return 0;
    };
    api.req_finish = [](dt_req_t *req) {
        ++rec(req).finish_calls;
        return 0;
    };
    return api;
}();

Recorded respond_to(const FileServer &server, const FileRequest &request, int expected_verdict) {
    Recorded recorded;
    FileResponse response = server.decide(request);
    auto *req = reinterpret_cast<dt_req_t *>(&recorded);
    CHECK(respond(fake_api, req, response) == expected_verdict);
    return recorded;
}

} // namespace

TEST_CASE("a regular file is served whole with its validators", "[fileserve][serve]") {
    const TempTree tree;
    const auto server = make_server(tree);
    const FileResponse r = server->decide(get("/a.txt"));
    CHECK(r.status == 200);
    CHECK(r.fd() >= 0);
    CHECK(r.offset == 0);
    CHECK(r.length == a_txt_size);
    CHECK(r.size == a_txt_size);
    CHECK(r.content_type == "text/plain; charset=utf-8");
    CHECK(r.etag.view() == make_etag(a_txt_mtime, a_txt_size).view());
    CHECK(std::string_view(r.last_modified, http_date_size) == "Sun, 06 Nov 1994 08:49:37 GMT");
    char buf[32] = {};
    CHECK(::pread(r.fd(), buf, sizeof buf, 0) == static_cast<ssize_t>(a_txt_size));
    CHECK(std::string(buf) == a_txt_content);
}

TEST_CASE("methods other than GET and HEAD get 405", "[fileserve][serve]") {
    const TempTree tree;
    const auto server = make_server(tree);
    for (const char *method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
        FileRequest request = get("/a.txt");
        request.method = method;
        INFO(method);
        CHECK(server->decide(request).status == 405);
    }
    FileRequest head = get("/a.txt");
    head.method = "HEAD";
    CHECK(server->decide(head).status == 200);
}

TEST_CASE("missing files get 404 and files used as directories too", "[fileserve][serve]") {
    const TempTree tree;
    const auto server = make_server(tree);
    CHECK(server->decide(get("/missing.txt")).status == 404);
    CHECK(server->decide(get("/sub/missing/x")).status == 404);
    CHECK(server->decide(get("/a.txt/")).status == 404);
    CHECK(server->decide(get("/../outside.txt")).status == 404);
}

TEST_CASE("a FIFO is not served", "[fileserve][serve]") {
    const TempTree tree;
    const dialtone::fileserve::test::Deadline deadline(5);
    const FileResponse r = make_server(tree)->decide(get("/fifo"));
    CHECK(r.status == 404);
    CHECK_FALSE(r.file);
}

TEST_CASE("a directory without a trailing slash is redirected, keeping the query",
          "[fileserve][serve][directory]") {
    const TempTree tree;
    const auto server = make_server(tree);
    FileRequest request = get("/sub");
    request.path = "/site/sub";
    FileResponse r = server->decide(request);
    CHECK(r.status == 301);
    CHECK(r.location == "/site/sub/");
    CHECK_FALSE(r.file);

    request.query = "a=1&b=%20";
    CHECK(server->decide(request).location == "/site/sub/?a=1&b=%20");

    request = get("/my dir");
    CHECK(server->decide(request).location == "/my%20dir/");
}

TEST_CASE("a directory with an index file serves the index", "[fileserve][serve][directory]") {
    const TempTree tree;
    const auto server = make_server(tree);
    const FileResponse r = server->decide(get("/sub/"));
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(r.length == 13);
}

TEST_CASE("the root directory serves its index file", "[fileserve][serve][directory]") {
    const TempTree tree;
    TempTree::write(tree.root() / "home.txt", "home\n");
    const auto server = make_server(tree, {.index = "home.txt"});
    const FileResponse r = server->decide(get("/"));
    CHECK(r.status == 200);
    CHECK(r.length == 5);
    CHECK(r.content_type == "text/plain; charset=utf-8");
}

TEST_CASE("a directory without an index file gets 403", "[fileserve][serve][directory]") {
    const TempTree tree;
    const auto server = make_server(tree);
    CHECK(server->decide(get("/empty/")).status == 403);
    CHECK(server->decide(get("/")).status == 403);
}

TEST_CASE("an index that is itself a directory gets 403", "[fileserve][serve][directory]") {
    const TempTree tree;
    std::filesystem::create_directory(tree.root() / "empty" / "index.html");
    CHECK(make_server(tree)->decide(get("/empty/")).status == 403);
}

TEST_CASE("a symlink leaving the root gets 403 unless symlinks are followed",
          "[fileserve][serve][path]") {
    const TempTree tree;
    CHECK(make_server(tree)->decide(get("/link_out")).status == 403);
    CHECK(make_server(tree, {.force_path_check = true})->decide(get("/link_out")).status == 403);
    CHECK(make_server(tree)->decide(get("/link_in")).status == 200);
    const FileResponse r = make_server(tree, {.follow_symlinks = true})->decide(get("/link_out"));
    CHECK(r.status == 200);
    CHECK(r.length == 7);
}

TEST_CASE("a matching If-None-Match gets 304 without a file", "[fileserve][serve][conditional]") {
    const TempTree tree;
    const auto server = make_server(tree);
    FileRequest request = get("/a.txt");
    const std::string tag(make_etag(a_txt_mtime, a_txt_size).view());
    request.conditionals.if_none_match = tag;
    const FileResponse r = server->decide(request);
    CHECK(r.status == 304);
    CHECK_FALSE(r.file);
    CHECK(r.etag.view() == tag);
}

TEST_CASE("a failing If-Match gets 412", "[fileserve][serve][conditional]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.conditionals.if_match = "\"nope\"";
    CHECK(make_server(tree)->decide(request).status == 412);
}

TEST_CASE("with etag off no tag is sent and tags never match", "[fileserve][serve][conditional]") {
    const TempTree tree;
    const auto server = make_server(tree, {.etag = false});
    FileRequest request = get("/a.txt");
    CHECK(server->decide(request).etag.size == 0);
    const ETag tag = make_etag(a_txt_mtime, a_txt_size);
    request.conditionals.if_none_match = tag.view();
    CHECK(server->decide(request).status == 200);
}

TEST_CASE("a satisfiable range of a GET gets 206", "[fileserve][serve][range]") {
    const TempTree tree;
    const auto server = make_server(tree);
    FileRequest request = get("/a.txt");
    request.range = "bytes=6-";
    const FileResponse r = server->decide(request);
    CHECK(r.status == 206);
    CHECK(r.offset == 6);
    CHECK(r.length == 6);
    CHECK(r.size == a_txt_size);
}

TEST_CASE("a range is ignored for HEAD", "[fileserve][serve][range]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.method = "HEAD";
    request.range = "bytes=6-";
    const FileResponse r = make_server(tree)->decide(request);
    CHECK(r.status == 200);
    CHECK(r.length == a_txt_size);
}

TEST_CASE("a GET of a range past the end of the file decides 416", "[fileserve][serve][range]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.range = "bytes=12-";
    const FileResponse r = make_server(tree)->decide(request);
    CHECK(r.status == 416);
    CHECK(r.size == a_txt_size);
    CHECK_FALSE(r.file);
}

TEST_CASE("a stale If-Range turns a range request into a 200", "[fileserve][serve][range]") {
    const TempTree tree;
    const auto server = make_server(tree);
    FileRequest request = get("/a.txt");
    request.range = "bytes=0-1";
    request.if_range = "\"stale\"";
    CHECK(server->decide(request).status == 200);
    request.if_range = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK(server->decide(request).status == 206);
}

TEST_CASE("bad options name the config key at fault", "[fileserve][create]") {
    const TempTree tree;
    CreateError error;
    SECTION("a missing root") {
        CHECK(FileServer::create({.root = (tree.base() / "none").string()}, error) == nullptr);
        CHECK(error.key == "root");
    }
    SECTION("a root that is a file") {
        CHECK(FileServer::create({.root = (tree.root() / "a.txt").string()}, error) == nullptr);
        CHECK(error.key == "root");
    }
    SECTION("an index with a slash") {
        CHECK(FileServer::create({.root = tree.root().string(), .index = "a/b"}, error) == nullptr);
        CHECK(error.key == "index");
    }
    SECTION("an empty index") {
        CHECK(FileServer::create({.root = tree.root().string(), .index = ""}, error) == nullptr);
        CHECK(error.key == "index");
    }
    SECTION("a Cache-Control value with a line break") {
        CHECK(FileServer::create({.root = tree.root().string(), .cache_control = "a\r\nb: c"},
                                 error) == nullptr);
        CHECK(error.key == "cache_control");
    }
}

TEST_CASE("a 200 response sends the head, the file and finishes", "[fileserve][respond]") {
    const TempTree tree;
    const auto server = make_server(tree, {.cache_control = "max-age=60", .file_cache = 0});
    const Recorded r = respond_to(*server, get("/a.txt"), DT_DONE);
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(r.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(r.header("ETag") == make_etag(a_txt_mtime, a_txt_size).view());
    CHECK(r.header("Accept-Ranges") == "bytes");
    CHECK(r.header("Cache-Control") == "max-age=60");
    CHECK(r.header("Content-Range") == "<absent>");
    CHECK(r.length == a_txt_size);
    CHECK(r.send_file_calls == 1);
    CHECK(r.sent_offset == 0);
    CHECK(r.sent_length == a_txt_size);
    CHECK(r.finish_calls == 1);
}

TEST_CASE("a HEAD response has the same head as GET", "[fileserve][respond]") {
    const TempTree tree;
    const auto server = make_server(tree);
    FileRequest head = get("/a.txt");
    head.method = "HEAD";
    const Recorded h = respond_to(*server, head, DT_DONE);
    const Recorded g = respond_to(*server, get("/a.txt"), DT_DONE);
    CHECK(h.status == g.status);
    CHECK(h.headers == g.headers);
    CHECK(h.length == g.length);
}

TEST_CASE("a 206 response carries Content-Range and sends only the range",
          "[fileserve][respond][range]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.range = "bytes=-5";
    const Recorded r = respond_to(*make_server(tree, {.file_cache = 0}), request, DT_DONE);
    CHECK(r.status == 206);
    CHECK(r.header("Content-Range") == "bytes 7-11/12");
    CHECK(r.length == 5);
    CHECK(r.sent_offset == 7);
    CHECK(r.sent_length == 5);
}

TEST_CASE("a cached small file goes out from memory, a large one by reference to its fd",
          "[fileserve][respond][file_cache]") {
    const TempTree tree;
    TempTree::write(tree.root() / "big.bin", std::string(FileCache::kInlineMax + 10, 'x'));
    const auto server = make_server(tree);    // file_cache on by default
    for (int round = 0; round < 2; ++round) { // a miss, then a hit
        INFO("round " << round);
        const Recorded whole = respond_to(*server, get("/a.txt"), DT_DONE);
        CHECK(whole.write_ref_calls == 1);
        CHECK(whole.send_file_calls + whole.send_file_ref_calls == 0);
        CHECK(whole.written == a_txt_content);
        FileRequest tail = get("/a.txt");
        tail.range = "bytes=-5";
        const Recorded part = respond_to(*server, tail, DT_DONE);
        CHECK(part.status == 206);
        CHECK(part.written == std::string(a_txt_content).substr(7));
        const Recorded big = respond_to(*server, get("/big.bin"), DT_DONE);
        CHECK(big.send_file_ref_calls == 1);
        CHECK(big.write_ref_calls == 0);
        CHECK(big.sent_length == FileCache::kInlineMax + 10);
    }
}

TEST_CASE("a 416 response carries the size in Content-Range", "[fileserve][respond][range]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.range = "bytes=100-200";
    const Recorded r = respond_to(*make_server(tree), request, DT_DONE);
    CHECK(r.status == 416);
    CHECK(r.header("Content-Range") == "bytes */12");
    CHECK(r.length == 0);
    CHECK(r.send_file_calls == 0);
    CHECK(r.finish_calls == 1);
}

TEST_CASE("a 304 response carries validators but no length or type", "[fileserve][respond]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.conditionals.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
    const Recorded r = respond_to(*make_server(tree), request, DT_DONE);
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == make_etag(a_txt_mtime, a_txt_size).view());
    CHECK(r.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(r.header("Content-Type") == "<absent>");
    CHECK_FALSE(r.length.has_value());
    CHECK(r.send_file_calls == 0);
}

TEST_CASE("a 405 response names the allowed methods", "[fileserve][respond]") {
    const TempTree tree;
    FileRequest request = get("/a.txt");
    request.method = "POST";
    const Recorded r = respond_to(*make_server(tree), request, DT_DONE);
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD");
}

TEST_CASE("a redirect carries Location", "[fileserve][respond][directory]") {
    const TempTree tree;
    const Recorded r = respond_to(*make_server(tree), get("/sub"), DT_DONE);
    CHECK(r.status == 301);
    CHECK(r.header("Location") == "/sub/");
    CHECK(r.length == 0);
}

TEST_CASE("error statuses are left to the runtime to render", "[fileserve][respond]") {
    const TempTree tree;
    const auto server = make_server(tree);
    for (const auto &[path, status] : {std::pair{"/missing", 404}, std::pair{"/empty/", 403}}) {
        const Recorded r = respond_to(*server, get(path), status);
        CHECK(r.headers.empty());
        CHECK(r.finish_calls == 0);
    }
}

TEST_CASE("an empty file is served without a file send", "[fileserve][respond]") {
    const TempTree tree;
    TempTree::write(tree.root() / "empty.txt", "");
    const Recorded r = respond_to(*make_server(tree), get("/empty.txt"), DT_DONE);
    CHECK(r.status == 200);
    CHECK(r.length == 0);
    CHECK(r.send_file_calls == 0);
    CHECK(r.finish_calls == 1);
}

TEST_CASE("paths are percent-encoded for Location", "[fileserve][directory]") {
    CHECK(encode_path("/a b/ü?#%") == "/a%20b/%C3%BC%3F%23%25");
    CHECK(encode_path("/keep-._~!$&'()*+,;=:@/") == "/keep-._~!$&'()*+,;=:@/");
    CHECK(encode_path(std::string_view("/\0\x7f", 3)) == "/%00%7F");
}
