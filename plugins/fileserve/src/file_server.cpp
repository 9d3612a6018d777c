// Deciding a file response: everything but the sending.
#include <dialtone/fileserve/file_server.hpp>

#include <cerrno>
#include <climits>
#include <cstring>
#include <sys/stat.h>

namespace dialtone::fileserve {
namespace {

constexpr const char *system_mime_types = "/etc/mime.types";

int status_for_errno(int err) {
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case EXDEV: // the path would leave the root
    case ELOOP: // too many links, or a magic link
        return 403;
    default:
        return 500;
    }
}

bool has_control_bytes(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

} // namespace

std::unique_ptr<FileServer> FileServer::create(Options options, CreateError &error) {
    const std::string_view index = options.index;
    if (index.empty() || index == "." || index == ".." ||
        index.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
        error = {"index", "must be a file name, without '/'"};
        return nullptr;
    }
    if (has_control_bytes(options.cache_control)) {
        error = {"cache_control", "must not contain CR, LF or NUL"};
        return nullptr;
    }

    std::string message;
    std::optional<Root> root = Root::open(
        options.root, options.follow_symlinks ? Root::Symlinks::follow : Root::Symlinks::beneath,
        message, options.force_path_check);
    if (!root) {
        error = {"root", message};
        return nullptr;
    }

    std::optional<MimeTypes> mime;
    if (options.mime_types) {
        mime = MimeTypes::load(*options.mime_types, message);
        if (!mime) {
            error = {"mime_types", message};
            return nullptr;
        }
    } else {
        mime = MimeTypes::load(system_mime_types, message);
        if (!mime)
            mime = MimeTypes::builtin();
    }
    return std::make_unique<FileServer>(std::move(options), std::move(*root), std::move(*mime));
}

FileServer::FileServer(Options options, Root root, MimeTypes mime)
    : options_(std::move(options)), root_(std::move(root)), mime_(std::move(mime)) {
    if (options_.file_cache > 0)
        cache_ = std::make_unique<FileCache>(options_.file_cache, options_.file_cache_valid_ms);
}

FileResponse FileServer::decide(const FileRequest &request) const {
    FileResponse r;
    const bool get = request.method == "GET";
    if (!get && request.method != "HEAD") {
        r.status = 405;
        return r;
    }
    if (!is_safe_path_info(request.path_info)) {
        r.status = 404;
        return r;
    }

    // The path relative to the root, NUL-terminated, with room to append the index name.
    char relative[PATH_MAX];
    const std::string_view below = request.path_info.substr(1);
    if (below.size() + options_.index.size() + 2 > sizeof relative) {
        r.status = 404;
        return r;
    }
    std::memcpy(relative, below.empty() ? "." : below.data(), below.empty() ? 1 : below.size());
    relative[below.empty() ? 1 : below.size()] = '\0';

    std::string_view name = below; // names the file for the MIME lookup
    struct stat st;
    const uint64_t now = cache_ ? FileCache::now_ms() : 0;
    if (cache_)
        r.cached.reset(cache_->find(request.path_info, now));
    if (r.cached) {
        // Only regular files are cached: a path ending in '/' named a directory's index.
        st = r.cached.get()->st;
        if (request.path_info.ends_with('/'))
            name = options_.index;
    } else if (int status = open_regular(request, relative, below.size(), r, st, name);
               status != 0) {
        r.status = status;
        return r;
    } else if (cache_) {
        if (FileCache::Entry *e = cache_->insert(request.path_info, r.file.get(), st, now)) {
            r.file.release(); // the entry owns it now, or closed it for the same file's
            r.cached.reset(e);
        }
    }
    decide_for(request, r, st, name);
    return r;
}

int FileServer::open_regular(const FileRequest &request, char *relative, size_t below_len,
                             FileResponse &r, struct stat &st, std::string_view &name) const {
    int fd = root_.open_file(relative);
    if (fd < 0)
        return status_for_errno(-fd);
    r.file.reset(fd);
    if (::fstat(fd, &st) != 0) {
        r.file.reset();
        return 500;
    }
    if (S_ISDIR(st.st_mode)) {
        r.file.reset();
        if (!request.path_info.ends_with('/')) {
            r.location = encode_path(request.path);
            r.location += '/';
            if (request.query) {
                r.location += '?';
                r.location += *request.query;
            }
            return 301;
        }
        // Resolved from the root again, so a symlinked index obeys the same rules as any file.
        std::memcpy(relative + below_len, options_.index.c_str(), options_.index.size() + 1);
        fd = root_.open_file(relative);
        if (fd < 0)
            return fd == -ENOENT ? 403 : status_for_errno(-fd); // no index: no listing
        r.file.reset(fd);
        if (::fstat(fd, &st) != 0) {
            r.file.reset();
            return 500;
        }
        if (!S_ISREG(st.st_mode)) {
            r.file.reset();
            return 403;
        }
        name = options_.index;
    } else if (!S_ISREG(st.st_mode)) { // FIFOs, devices, sockets: never served
        r.file.reset();
        return 404;
    }
    return 0;
}

void FileServer::decide_for(const FileRequest &request, FileResponse &r, const struct stat &st,
                            std::string_view name) const {
    const bool get = request.method == "GET";
    const auto size = static_cast<uint64_t>(st.st_size);
    const int64_t mtime = st.st_mtim.tv_sec;
    r.size = size;
    r.content_type = mime_.lookup(name);
    r.cache_control = options_.cache_control;
    if (options_.etag)
        r.etag = make_etag(mtime, size);
    format_http_date(mtime, r.last_modified);

    const Validators validators{r.etag.view(), mtime};
    switch (evaluate_preconditions(request.conditionals, validators, true)) {
    case Precondition::proceed:
        break;
    case Precondition::not_modified:
        r.file.reset();
        r.status = 304;
        return;
    case Precondition::failed:
        r.file.reset();
        r.status = 412;
        return;
    }

    r.status = 200;
    r.length = size;
    // Range applies to GET only (RFC 9110 §14.2); HEAD gets the 200 head.
    if (get && request.range &&
        (!request.if_range || if_range_holds(*request.if_range, validators))) {
        const RangeResult range = evaluate_range(*request.range, size);
        if (range.outcome == RangeOutcome::partial) {
            r.status = 206;
            r.offset = range.offset;
            r.length = range.length;
        } else if (range.outcome == RangeOutcome::unsatisfiable) {
            r.file.reset();
            r.status = 416;
            r.length = 0;
        }
    }
    return;
}

std::string encode_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size() + 16);
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || std::strchr("-._~!$&'()*+,;=:@/", c) != nullptr;
        if (keep && c != '\0') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

} // namespace dialtone::fileserve
