// Listeners: IPv4 and IPv6 loopback, several at once, each logged with its real port.
#include "test_support.hpp"

using namespace dialtone::test;

namespace {

std::string listening_on(const std::string &addresses) {
    std::string text = config("", echo_everywhere);
    text.replace(text.find("[\"127.0.0.1:0\"]"), 15, addresses);
    return text;
}

} // namespace

TEST_CASE("the host serves on IPv6 loopback and logs [::1]:port", "[integration][listeners]") {
    HostProcess host(listening_on("[\"[::1]:0\"]"));
    CHECK(host.addresses().at(0) == "[::1]");
    CurlResult got = curl({"-g", url(host.port(), "/six", "[::1]")});
    CHECK(got.status() == 200);
    CHECK(parse_echo(got.body)["remote"] == "::1");
}

TEST_CASE("several listeners each get their own port and all serve", "[integration][listeners]") {
    HostOptions options;
    options.listeners = 3;
    HostProcess host(listening_on("[\"127.0.0.1:0\", \"[::1]:0\", \"127.0.0.1:0\"]"), options);
    REQUIRE(host.addresses().size() == 3);
    CHECK(host.port(0) != host.port(2));
    for (std::size_t i = 0; i < 3; i++) {
        INFO("listener " << host.addresses()[i] << ":" << host.port(i));
        std::string address = host.addresses()[i] == "[::1]" ? "::1" : host.addresses()[i];
        RawClient client(host.port(i), address);
        REQUIRE(client.send(get("/")));
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 200);
    }
}

TEST_CASE("one worker serves several connections at once", "[integration][listeners][workers]") {
    std::string toml = config("", echo_everywhere);
    toml.replace(toml.find("workers = 2"), 11, "workers = 1");
    HostProcess host(toml);
    RawClient first(host.port());
    RawClient second(host.port());
    REQUIRE(first.send("GET /first HTTP/1.1\r\nHost: test\r\n")); // head not finished yet
    REQUIRE(second.send(get("/second")));
    auto second_response = second.read_response(2s);
    REQUIRE(second_response);
    CHECK(parse_echo(second_response->body)["path"] == "/second");
    REQUIRE(first.send("\r\n"));
    auto first_response = first.read_response(2s);
    REQUIRE(first_response);
    CHECK(parse_echo(first_response->body)["path"] == "/first");
}
