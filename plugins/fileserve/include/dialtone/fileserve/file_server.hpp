// dialtone/fileserve/file_server.hpp — serving files from a root, in two steps shared by the
// static and dialup plugins: decide() works out what to send (status, headers, file descriptor,
// byte range) without touching the connection; write_head() and respond() send it through the
// plugin API. The static plugin hands the range to req_send_file at once; dialup paces it.
//
// Threads: a FileServer is immutable after create(); decide() runs concurrently on every
// worker. write_head() and respond() follow the plugin API's rules for `req`.
#pragma once

#include <dialtone/fileserve/file_cache.hpp>
#include <dialtone/fileserve/http.hpp>
#include <dialtone/fileserve/mime.hpp>
#include <dialtone/fileserve/root.hpp>
#include <dialtone/plugin.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace dialtone::fileserve {

struct Options {
    std::string root = {};            // the document root directory (required)
    std::string index = "index.html"; // served for a directory; a plain file name
    bool follow_symlinks = false;     // true: symlinks may point anywhere
    bool etag = true;                 // send ETag and honour entity-tag preconditions
    // nullopt: /etc/mime.types, or the built-in table if it is missing; set: this file, and
    // failing to read it is an error.
    std::optional<std::string> mime_types = {};
    std::string cache_control = {}; // Cache-Control value for 200/206/304; empty: none
    bool force_path_check = false;  // tests: use Root's fallback instead of openat2
    // Open-file cache (FileCache): how many paths to keep open, 0 for none, and how long an
    // entry is trusted before the path is resolved again.
    size_t file_cache = 1024;
    uint64_t file_cache_valid_ms = 1000;
};

// Reads the file-serving keys of a location's settings through the config accessors: `root`
// (required, a path), `index`, `follow_symlinks`, `etag`, `mime_types`, `cache_control`,
// `file_cache`, `file_cache_valid_ms`.
// Returns false after reporting the problem (config_error, or the host's type error); every
// file-serving plugin reads them this way, so they mean the same everywhere.
bool read_options(const dt_api_t &api, const dt_config_t *cfg, Options &out);

// What create() reports: the option at fault (as the config key) and why.
struct CreateError {
    std::string key;
    std::string message;
};

// The parts of a request that decide a file response. Views into the request's storage.
struct FileRequest {
    std::string_view method;
    std::string_view path;      // decoded full path, for the redirect of a directory
    std::string_view path_info; // below the location's prefix, starting with '/'
    std::optional<std::string_view> query;
    Conditionals conditionals;
    std::optional<std::string_view> range;
    std::optional<std::string_view> if_range;
};

// Reads a FileRequest from the runtime. The views live as long as `req`.
FileRequest read_request(const dt_api_t &api, const dt_req_t *req);

// What to send. Statuses: 200 and 206 (file, offset, length), 301 (location), 304, 403, 404,
// 405, 412, 416 (size), 500.
struct FileResponse {
    int status = 500;
    UniqueFd file;                  // 200/206: the open regular file; closed unless released
    CachedFile cached;              // instead of `file` when it came from the open-file cache
    uint64_t offset = 0;            // 200/206: first body byte within the file
    uint64_t length = 0;            // 200/206: body length
    uint64_t size = 0;              // 200/206/304/416: the whole file's size
    std::string_view content_type;  // 200/206; Ownership: the FileServer
    std::string_view cache_control; // 200/206/304; empty for none; Ownership: the FileServer
    ETag etag;                      // 200/206/304; empty when entity tags are off
    char last_modified[http_date_size] = {}; // 200/206/304: IMF-fixdate
    std::string location;                    // 301: where the directory is (path + "/", query kept)

    // Whether the runtime should render this status as an error page (no headers of ours).
    bool is_error_page() const {
        return status == 403 || status == 404 || status == 412 || status >= 500;
    }
    // The open file, cached or not.
    int fd() const { return cached ? cached.get()->fd : file.get(); }
    // Whether there are body bytes to send from `file`.
    bool has_body() const { return (status == 200 || status == 206) && length > 0; }
};

class FileServer {
  public:
    // Opens the root, loads the MIME table, precomputes what requests share. Returns nullptr and
    // fills `error` on failure.
    static std::unique_ptr<FileServer> create(Options options, CreateError &error);
    // Assembles a server from parts create() made and checked; use create().
    FileServer(Options options, Root root, MimeTypes mime);

    // Decides the response: method (GET, HEAD, else 405), path resolution beneath the root,
    // directories (no trailing slash: 301; index file: served; no index: 403 — listings are
    // never generated), non-regular files (404, like nginx), preconditions (304/412), Range and
    // If-Range for GET (206/416). At most an open, an fstat (twice for a directory index) and
    // stack formatting; allocates only for redirects.
    FileResponse decide(const FileRequest &request) const;

    const MimeTypes &mime_types() const { return mime_; }
    const Options &options() const { return options_; }

  private:
    // Opens the file `relative` names (a directory's index for a path ending in '/'), fills
    // r.file, `st` and `name`; returns 0, or the status to answer (301 with r.location).
    int open_regular(const FileRequest &request, char *relative, size_t below_len, FileResponse &r,
                     struct stat &st, std::string_view &name) const;
    // Validators, preconditions and Range for the open file `st` describes.
    void decide_for(const FileRequest &request, FileResponse &r, const struct stat &st,
                    std::string_view name) const;

    Options options_;
    Root root_;
    MimeTypes mime_;
    std::unique_ptr<FileCache> cache_; // when options_.file_cache > 0
};

// What a file-serving plugin's on_create does: read_options, then FileServer::create, reporting
// a problem with config_error at the key at fault. nullptr after reporting.
std::unique_ptr<FileServer> create_from_config(const dt_api_t &api, const dt_config_t *cfg);

// Percent-encodes a decoded path for a Location header: bytes other than unreserved,
// sub-delims, ':', '@' and '/' become %XX.
std::string encode_path(std::string_view path);

// Writes status, headers and the declared length of a response the plugin builds itself (every
// status but is_error_page() ones): 200/206 get Content-Type, Content-Length, Last-Modified,
// ETag, Accept-Ranges and Cache-Control (206 also Content-Range); 304 the validators and
// Cache-Control, no length (RFC 9110 §15.4.5); 301 Location; 405 Allow; 416 Content-Range
// "bytes */size". Returns 0 or the first DT_E* error.
int write_head(const dt_api_t &api, dt_req_t *req, const FileResponse &response);

// The static plugin's whole response: returns the status for error pages; otherwise writes the
// head, hands the byte range to req_send_file, or req_send_file_ref for a cached file (for HEAD
// too: the runtime counts but does not send body bytes of a HEAD request), finishes and returns
// DT_DONE.
int respond(const dt_api_t &api, dt_req_t *req, FileResponse &response);

} // namespace dialtone::fileserve
