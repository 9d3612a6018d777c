// What most integration tests share: the harness, the clients and config snippets.
#pragma once

#include "fixture_plugins.hpp"
#include "host_process.hpp"
#include "http_client.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>

namespace dialtone::test {

// A whole config: one IPv4 loopback listener on port 0, two workers, `server_extra` (lines of
// [server] and its sub-tables), the fixture plugins, then `locations`.
inline std::string config(std::string_view server_extra, std::string_view locations) {
    std::string text = "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\n";
    text.append(server_extra).append("\n").append(fixture_plugins).append("\n").append(locations);
    return text;
}

// One location serving everything with the echo fixture.
inline constexpr std::string_view echo_everywhere = R"(
[[location]]
prefix = "/"
handler = "echo"
)";

// The suspend fixture under /s, echo for everything else.
inline constexpr std::string_view suspend_and_echo = R"(
[[location]]
prefix = "/s"
handler = "suspend"

[[location]]
prefix = "/"
handler = "echo"
)";

// Sends `bytes` on a new connection and reads one response.
inline std::optional<HttpResponse> fetch(std::uint16_t port, std::string_view bytes,
                                         bool head_request = false) {
    RawClient client(port);
    if (!client.send(bytes))
        return std::nullopt;
    return client.read_response(5s, head_request);
}

// The "key=value" pairs of a stats or answer line.
inline std::map<std::string, std::string> fields(const std::string &line) {
    std::map<std::string, std::string> out;
    std::regex kv(R"((\w+)=(\S+))");
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kv); it != std::sregex_iterator();
         ++it)
        out[(*it)[1]] = (*it)[2];
    return out;
}

// How many times `needle` occurs in `text`.
inline size_t count(std::string_view text, std::string_view needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

inline bool matches(const std::string &text, const std::string &pattern) {
    return std::regex_search(text, std::regex(pattern));
}

// An RFC 9110 IMF-fixdate, as the Date header must be.
inline constexpr const char *imf_fixdate =
    R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )"
    R"(\d{4} \d{2}:\d{2}:\d{2} GMT$)";

inline std::string lower(std::string text) {
    for (char &c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Polls `path` until its content satisfies `done`, up to `timeout`; returns the last content.
template <typename Pred>
std::string wait_for_file(const fs::path &path, Pred done, Millis timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::string text = read_file(path);
        if (done(text) || std::chrono::steady_clock::now() >= deadline)
            return text;
        std::this_thread::sleep_for(20ms);
    }
}

// Polls `done` every 20 ms until it holds or `timeout` passes.
template <class F> bool eventually(F done, std::chrono::milliseconds timeout = 5s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// Where `got` stops matching `want` (got.size() when it is a prefix of `want`). Comparing this
// way keeps a failure's report short: Catch would print both 16 MiB strings.
inline size_t first_difference(const std::string &got, const std::string &want) {
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i])
        ++i;
    return i;
}

} // namespace dialtone::test
