// The MIME table: parsed once per instance, looked up per request without allocating.
#include <dialtone/fileserve/mime.hpp>

#include <dialtone/plugin_support/text.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dialtone::fileserve {
namespace {

using plugin_support::to_lower;

// Used when /etc/mime.types is missing; the types follow Debian's media-types.
constexpr std::pair<std::string_view, std::string_view> builtin_types[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"xml", "application/xml"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
};

constexpr std::size_t max_extension = 32;

bool wants_charset(std::string_view type) {
    return type.starts_with("text/") || type == "application/javascript";
}

} // namespace

MimeTypes MimeTypes::builtin() {
    MimeTypes table;
    for (const auto &[ext, type] : builtin_types)
        table.add(ext, type);
    return table;
}

std::optional<MimeTypes> MimeTypes::load(const std::string &path, std::string &error) {
    std::ifstream in(path);
    if (!in) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    MimeTypes table;
    std::string line;
    while (std::getline(in, line)) {
        const std::string_view content = std::string_view(line).substr(0, line.find('#'));
        std::istringstream words{std::string(content)};
        std::string type, ext;
        if (!(words >> type))
            continue;
        while (words >> ext)
            table.add(ext, type);
    }
    if (in.bad()) {
        error = path + ": read error";
        return std::nullopt;
    }
    return table;
}

void MimeTypes::add(std::string_view extension, std::string_view type) {
    if (extension.empty() || extension.size() > max_extension || type.empty())
        return;
    std::string key(extension);
    for (char &c : key)
        c = to_lower(c);
    std::string value(type);
    if (wants_charset(type))
        value += "; charset=utf-8";
    by_extension_.try_emplace(std::move(key), std::move(value));
}

std::string_view MimeTypes::lookup(std::string_view path) const {
    const std::size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || name.size() - dot - 1 > max_extension)
        return default_content_type;
    char buf[max_extension];
    const std::string_view ext = name.substr(dot + 1);
    for (std::size_t i = 0; i < ext.size(); ++i)
        buf[i] = to_lower(ext[i]);
    const auto it = by_extension_.find(std::string_view(buf, ext.size()));
    return it == by_extension_.end() ? default_content_type : std::string_view(it->second);
}

} // namespace dialtone::fileserve
