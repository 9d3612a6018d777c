// Sending a decided file response through the plugin API.
#include <dialtone/fileserve/file_server.hpp>

#include <dialtone/plugin_support/text.hpp>

#include <charconv>

namespace dialtone::fileserve {
namespace {

using plugin_support::optional_view;
using plugin_support::view;

// Builds "bytes first-last/size" or "bytes */size" in `buf`.
std::string_view content_range(char (&buf)[72], const FileResponse &r) {
    char *p = buf;
    char *const end = buf + sizeof buf;
    const std::string_view unit = "bytes ";
    p = std::copy(unit.begin(), unit.end(), p);
    if (r.status == 206) {
        p = std::to_chars(p, end, r.offset).ptr;
        *p++ = '-';
        p = std::to_chars(p, end, r.offset + r.length - 1).ptr;
    } else {
        *p++ = '*';
    }
    *p++ = '/';
    p = std::to_chars(p, end, r.size).ptr;
    return {buf, static_cast<std::size_t>(p - buf)};
}

} // namespace

FileRequest read_request(const dt_api_t &api, const dt_req_t *req) {
    const auto header = [&](std::string_view name) {
        return optional_view(api.req_header(req, name.data(), name.size()));
    };
    FileRequest r;
    r.method = view(api.req_method(req));
    r.path = view(api.req_path(req));
    r.path_info = view(api.req_path_info(req));
    r.query = optional_view(api.req_query(req));
    r.conditionals.if_match = header("If-Match");
    r.conditionals.if_none_match = header("If-None-Match");
    r.conditionals.if_modified_since = header("If-Modified-Since");
    r.conditionals.if_unmodified_since = header("If-Unmodified-Since");
    r.range = header("Range");
    r.if_range = header("If-Range");
    return r;
}

int write_head(const dt_api_t &api, dt_req_t *req, const FileResponse &r) {
    int rc = api.resp_set_status(req, r.status);
    const auto add = [&](std::string_view name, std::string_view value) {
        if (rc == 0)
            rc = api.resp_add_header(req, name.data(), name.size(), value.data(), value.size());
    };
    const auto set_length = [&](uint64_t length) {
        if (rc == 0)
            rc = api.resp_set_length(req, length);
    };
    char range_buf[72];

    switch (r.status) {
    case 200:
    case 206:
    case 304:
        if (r.status != 304) {
            add("Content-Type", r.content_type);
            add("Accept-Ranges", "bytes");
        }
        add("Last-Modified", std::string_view(r.last_modified, http_date_size));
        if (r.etag.size != 0)
            add("ETag", r.etag.view());
        if (!r.cache_control.empty())
            add("Cache-Control", r.cache_control);
        if (r.status == 206)
            add("Content-Range", content_range(range_buf, r));
        if (r.status != 304) // a 304 has no body and no Content-Length of its own
            set_length(r.length);
        break;
    case 301:
        add("Location", r.location);
        set_length(0);
        break;
    case 405:
        add("Allow", "GET, HEAD");
        set_length(0);
        break;
    case 416:
        add("Content-Range", content_range(range_buf, r));
        set_length(0);
        break;
    default:
        break;
    }
    return rc;
}

int respond(const dt_api_t &api, dt_req_t *req, FileResponse &r) {
    if (r.is_error_page())
        return r.status;
    const int rc = write_head(api, req, r);
    if (rc == DT_EABORTED)
        return DT_DONE;
    if (rc != 0)
        return 500; // nothing was sent yet: the head goes out with the first write or finish
    if (r.has_body()) {
        if (r.cached) {
            // Borrowed: the entry is released once the runtime has sent from it. A small file
            // goes from memory, in the same write as the head.
            FileCache::Entry *e = r.cached.get();
            const int rc =
                e->content.size() == r.size
                    ? api.req_write_ref(req, e->content.data() + r.offset, r.length,
                                        FileCache::release, e)
                    : api.req_send_file_ref(req, e->fd, r.offset, r.length, FileCache::release, e);
            if (rc == 0)
                r.cached.release();
        } else {
            api.req_send_file(req, r.file.release(), r.offset, r.length); // takes the fd always
        }
    }
    api.req_finish(req);
    return DT_DONE;
}

} // namespace dialtone::fileserve
