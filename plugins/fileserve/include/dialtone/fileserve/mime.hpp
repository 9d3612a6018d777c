// dialtone/fileserve/mime.hpp — file extension to Content-Type, built once per instance.
// Threads: build on one thread; lookups on a built table are read-only and may run concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dialtone::fileserve {

// The type given to files whose extension is unknown.
inline constexpr std::string_view default_content_type = "application/octet-stream";

class MimeTypes {
  public:
    // The built-in table: about 40 common web types.
    static MimeTypes builtin();

    // Parses a mime.types file (Debian media-types format: "type ext ext ..." per line, '#'
    // comments). The first line naming an extension wins. Returns nullopt and sets `error` when
    // the file cannot be read.
    static std::optional<MimeTypes> load(const std::string &path, std::string &error);

    // Maps `extension` (without the dot, any case) to `type`; keeps an existing mapping.
    void add(std::string_view extension, std::string_view type);

    // The Content-Type for a file named by `path`: by the extension after the last '.' of the
    // last segment, case-insensitive; default_content_type if there is none or it is unknown.
    // Every text/* type and application/javascript carries "; charset=utf-8": nginx and H2O add a
    // charset only when configured, but the web's text is UTF-8 and without it browsers guess
    // windows-1252 for text/plain. O(1), no allocation. Ownership: the table.
    std::string_view lookup(std::string_view path) const;

    std::size_t size() const { return by_extension_.size(); }

  private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_extension_;
};

} // namespace dialtone::fileserve
