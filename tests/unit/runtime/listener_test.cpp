#include "listener.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <string>

namespace {

sockaddr_storage ipv4(uint32_t host_order) {
    sockaddr_storage ss{};
    auto *in = reinterpret_cast<sockaddr_in *>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(host_order);
    return ss;
}

std::string formatted(const sockaddr_storage &ss, size_t cap = 48) {
    char out[48];
    memset(out, 'x', sizeof out);
    dialtone::format_peer(ss, out, cap);
    return std::string(out, strnlen(out, sizeof out));
}

} // namespace

TEST_CASE("a peer's IPv4 address is written as inet_ntop writes it", "[listener][peer]") {
    for (uint32_t a : {0x00000000u, 0x7f000001u, 0xc0000207u, 0x0a090807u, 0xffffffffu, 0x640a6300u,
                       0x01020304u, 0xc6336409u}) {
        sockaddr_storage ss = ipv4(a);
        char want[INET_ADDRSTRLEN];
        REQUIRE(
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&ss)->sin_addr, want, sizeof want));
        CHECK(formatted(ss) == want);
    }
}

TEST_CASE("an IPv4-mapped IPv6 peer is written as IPv4, another IPv6 one in full",
          "[listener][peer]") {
    sockaddr_storage ss{};
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(&ss);
    in6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6->sin6_addr) == 1);
    CHECK(formatted(ss) == "192.0.2.7");
    REQUIRE(inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr) == 1);
    CHECK(formatted(ss) == "2001:db8::1");
}

TEST_CASE("a peer address that does not fit leaves an empty string", "[listener][peer]") {
    CHECK(formatted(ipv4(0xc0000207u), 9).empty()); // "192.0.2.7" needs 10 bytes
    CHECK(formatted(ipv4(0xc0000207u), 10) == "192.0.2.7");
}
