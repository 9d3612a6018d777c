#include <dialtone/fileserve/file_server.hpp>
#include <dialtone/fileserve/mime.hpp>

#include "temp_tree.hpp"

#include <catch2/catch.hpp>

using namespace dialtone::fileserve;
using dialtone::fileserve::test::TempTree;

namespace {

constexpr const char *sample = "# a comment line\n"
                               "text/x-foo\t\t\t\tfoo FOO2\n"
                               "application/x-bar  bar   # a trailing comment\n"
                               "\n"
                               "application/x-typeonly\n"
                               "image/x-first      dup\n"
                               "image/x-second     dup\n";

MimeTypes load_sample(const TempTree &tree) {
    const auto path = tree.base() / "mime.types";
    TempTree::write(path, sample);
    std::string error;
    std::optional<MimeTypes> mime = MimeTypes::load(path.string(), error);
    REQUIRE(mime.has_value());
    CHECK(error.empty());
    return std::move(*mime);
}

} // namespace

TEST_CASE("a mime.types file maps extensions to types", "[fileserve][mime]") {
    const TempTree tree;
    const MimeTypes mime = load_sample(tree);
    CHECK(mime.size() == 4);
    CHECK(mime.lookup("/b.bar") == "application/x-bar");
    CHECK(mime.lookup("/dir/a.foo2") == "text/x-foo; charset=utf-8");
    CHECK(mime.lookup("x.typeonly") == default_content_type);
}

TEST_CASE("MIME lookup ignores the case of the extension", "[fileserve][mime]") {
    const TempTree tree;
    const MimeTypes mime = load_sample(tree);
    CHECK(mime.lookup("/a.FOO") == "text/x-foo; charset=utf-8");
    CHECK(mime.lookup("/a.Foo2") == "text/x-foo; charset=utf-8");
    CHECK(MimeTypes::builtin().lookup("/INDEX.HTML") == "text/html; charset=utf-8");
}

TEST_CASE("the first line naming an extension wins", "[fileserve][mime]") {
    const TempTree tree;
    CHECK(load_sample(tree).lookup("/x.dup") == "image/x-first");
}

TEST_CASE("files without a known extension are application/octet-stream", "[fileserve][mime]") {
    const MimeTypes mime = MimeTypes::builtin();
    CHECK(mime.lookup("/README") == "application/octet-stream");
    CHECK(mime.lookup("/x.unknownext") == "application/octet-stream");
    CHECK(mime.lookup("/.html") == "application/octet-stream"); // a dotfile, no extension
    CHECK(mime.lookup("/dir.html/file") == "application/octet-stream");
    CHECK(mime.lookup("/trailing.") == "application/octet-stream");
    CHECK(mime.lookup("/x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == "application/octet-stream");
}

TEST_CASE("the built-in MIME table covers common web types", "[fileserve][mime]") {
    const MimeTypes mime = MimeTypes::builtin();
    CHECK(mime.size() >= 30);
    CHECK(mime.lookup("/index.html") == "text/html; charset=utf-8");
    CHECK(mime.lookup("/a.css") == "text/css; charset=utf-8");
    CHECK(mime.lookup("/a.js") == "text/javascript; charset=utf-8");
    CHECK(mime.lookup("/a.txt") == "text/plain; charset=utf-8");
    CHECK(mime.lookup("/a.json") == "application/json");
    CHECK(mime.lookup("/a.png") == "image/png");
    CHECK(mime.lookup("/a.jpeg") == "image/jpeg");
    CHECK(mime.lookup("/a.svg") == "image/svg+xml");
    CHECK(mime.lookup("/a.wasm") == "application/wasm");
    CHECK(mime.lookup("/a.woff2") == "font/woff2");
    CHECK(mime.lookup("/a.mp4") == "video/mp4");
}

TEST_CASE("application/javascript gets a charset like the text types", "[fileserve][mime]") {
    MimeTypes mime;
    mime.add("js", "application/javascript");
    mime.add("xml", "application/xml");
    CHECK(mime.lookup("/a.js") == "application/javascript; charset=utf-8");
    CHECK(mime.lookup("/a.xml") == "application/xml");
}

TEST_CASE("a missing mime.types file is an error naming it", "[fileserve][mime]") {
    const TempTree tree;
    const std::string path = (tree.base() / "nope.types").string();
    std::string error;
    CHECK_FALSE(MimeTypes::load(path, error).has_value());
    CHECK_THAT(error, Catch::Contains(path));
}

TEST_CASE("a configured mime.types file that is missing fails instance creation",
          "[fileserve][mime]") {
    const TempTree tree;
    CreateError error;
    Options options{.root = tree.root().string(),
                    .mime_types = (tree.base() / "nope.types").string()};
    CHECK(FileServer::create(options, error) == nullptr);
    CHECK(error.key == "mime_types");
}

TEST_CASE("a configured mime.types file is used for lookups", "[fileserve][mime]") {
    const TempTree tree;
    TempTree::write(tree.base() / "mime.types", sample);
    CreateError error;
    const auto server = FileServer::create(
        {.root = tree.root().string(), .mime_types = (tree.base() / "mime.types").string()}, error);
    REQUIRE(server != nullptr);
    CHECK(server->mime_types().lookup("/a.bar") == "application/x-bar");
    CHECK(server->mime_types().lookup("/a.html") == "application/octet-stream");
}
