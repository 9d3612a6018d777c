/* fanout — a dialtone plugin in C that calls other servers. Each request fetches a fixed set of
 * resources from an [[upstream]] group at the same time, with the host's upstream exchanges
 * (plugin ABI 1.3), and answers one JSON object that bundles them: the client makes one round
 * trip instead of several, as an aggregating "backend for frontend" does. It includes
 * <dialtone/plugin.h>, links nothing of dialtone's and builds against an installed SDK (see
 * CMakeLists.txt, or the Makefile for pkg-config).
 *
 *   [[upstream]]
 *   name = "files"
 *   servers = ["127.0.0.1:9001"]
 *
 *   [[plugin]]
 *   name = "fanout"
 *   path = "/path/to/fanout.so"
 *
 *   [[location]]
 *   prefix = "/bundle"
 *   handler = "fanout"
 *   [location.fanout]
 *   upstream = "files"            # required: the group's name
 *   parts = ["/a.txt", "/b.txt"]  # required: 1 to 8 distinct targets, fetched with GET
 *   max_bytes = 65536             # optional: the longest body one part may have (1..16 MiB)
 *
 * GET /bundle answers 200 with the parts in the order of `parts`, each with the upstream's
 * status, its body's length and, for a 2xx, the body as a JSON string (bytes that are not
 * UTF-8 become U+FFFD):
 *
 *   {"/a.txt":{"status":200,"bytes":6,"body":"alpha\n"},"/b.txt":{"status":404,"bytes":90}}
 *
 * An upstream status, 404 included, is data to report. A part the upstream did not deliver
 * fails the whole request, as nginx answers a proxied one: 504 on a timeout, 503 when every
 * server is marked down, 502 otherwise (no connection, a reset, an invalid response, or a
 * body longer than max_bytes). HEAD as GET; other methods get 405 with Allow.
 */
#include <dialtone/plugin.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 8
#define MAX_NAME 128
#define DEFAULT_MAX_BYTES 65536
#define LIMIT_MAX_BYTES (16 * 1024 * 1024)

static const dt_api_t *api;

typedef struct fanout {
    const dt_upstream_t *upstream;
    dt_str_t parts[MAX_PARTS]; /* the host's strings: valid until on_destroy */
    size_t part_count;
    size_t max_bytes;
} fanout_t;

/* A growing heap buffer. After a failed allocation it takes nothing more and says so once, in
 * `failed`, so a long run of appends needs one check at its end. */
typedef struct buf {
    char *ptr;
    size_t len, cap;
    int failed;
} buf_t;

static void buf_put(buf_t *b, const char *data, size_t len) {
    if (b->failed || len == 0)
        return;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len)
            cap *= 2;
        char *p = realloc(b->ptr, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->ptr = p;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
}

struct bundle;

/* One part of a request: one exchange, from exchange_start until its on_done. */
typedef struct part {
    struct bundle *bundle;
    dt_str_t target;
    dt_exchange_t *ex; /* valid while running: the host frees it after on_done */
    int running;
    int status; /* the upstream's, once on_head ran */
    size_t bytes;
    buf_t body; /* kept for 2xx answers only */
} part_t;

/* One client request's state, in the request's arena. Every running exchange holds the
 * request, so this outlives the last on_done, and the arena frees it with the request. */
typedef struct bundle {
    dt_req_t *req;
    const fanout_t *in;
    size_t running;  /* exchanges whose on_done has not run yet */
    int fail_status; /* 0, or the error status the first failed part decided */
    part_t parts[MAX_PARTS];
} bundle_t;

/* Nginx's answers for an upstream that did not deliver. */
static int status_for(int result) {
    switch (result) {
    case DT_ETIMEDOUT:
        return 504;
    case DT_EUNAVAILABLE:
        return 503;
    default:
        return 502;
    }
}

/* The request will answer `status` whatever the other parts bring: stop them instead of
 * waiting. Each cancelled exchange still ends with its own on_done (DT_ECANCELED), after the
 * callback that called this returns, so the count of running parts stays exact. */
static void give_up(bundle_t *b, int status) {
    if (b->fail_status)
        return;
    b->fail_status = status;
    for (size_t i = 0; i < b->in->part_count; i++)
        if (b->parts[i].running)
            api->exchange_cancel(b->parts[i].ex);
}

/* The length of the UTF-8 sequence at s (1..4), or 0 when the bytes there are not UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_length(const unsigned char *s, size_t len) {
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* Appends the JSON escape of a quote, a backslash or a control byte: by name where JSON has
 * one that readers expect (\n, \t, \r), else \u00XX. */
static void json_escape(buf_t *out, unsigned char c) {
    static const char plain[] = "\"\\\n\r\t", named[] = "\"\\nrt";
    const char *at = c ? strchr(plain, c) : NULL; /* strchr would find NUL as the terminator */
    char esc[8];
    if (at) {
        esc[0] = '\\';
        esc[1] = named[at - plain];
        buf_put(out, esc, 2);
    } else {
        snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        buf_put(out, esc, 6);
    }
}

/* Appends `s` as a JSON string: UTF-8 kept, and every byte that is not UTF-8 replaced by
 * U+FFFD, so the answer is valid JSON whatever the upstream sent. */
static void json_string(buf_t *out, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    buf_put(out, "\"", 1);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_length(u + i, len - i);
        if (n == 0) {
            buf_put(out, "\\ufffd", 6);
            i++;
        } else if (u[i] == '"' || u[i] == '\\' || u[i] < 0x20) {
            json_escape(out, u[i]);
            i++;
        } else {
            buf_put(out, s + i, n);
            i += n;
        }
    }
    buf_put(out, "\"", 1);
}

static void build_json(const bundle_t *b, buf_t *out) {
    char num[64];
    buf_put(out, "{", 1);
    for (size_t i = 0; i < b->in->part_count; i++) {
        const part_t *p = &b->parts[i];
        if (i > 0)
            buf_put(out, ",", 1);
        json_string(out, p->target.ptr, p->target.len);
        int n = snprintf(num, sizeof num, ":{\"status\":%d,\"bytes\":%zu", p->status, p->bytes);
        buf_put(out, num, (size_t)n);
        if (p->status / 100 == 2) {
            buf_put(out, ",\"body\":", 8);
            json_string(out, p->body.ptr, p->body.len);
        }
        buf_put(out, "}", 1);
    }
    buf_put(out, "}", 1);
}

/* Runs once, from the last on_done: every part has ended, whatever the order and results. */
static void answer(bundle_t *b) {
    dt_req_t *req = b->req;
    buf_t json = {NULL, 0, 0, 0};
    if (!b->fail_status) {
        build_json(b, &json);
        if (json.failed)
            b->fail_status = 503;
    }
    for (size_t i = 0; i < b->in->part_count; i++)
        free(b->parts[i].body.ptr);
    if (b->fail_status) {
        free(json.ptr);
        /* Nothing of the response went out yet: the host answers an error page. After a client
         * abort this returns DT_EABORTED, and there is nothing left to do. */
        api->req_fail(req, b->fail_status);
        return;
    }
    api->resp_add_header(req, "Content-Type", 12, "application/json", 16);
    api->resp_set_length(req, json.len);
    if (api->req_write_ref(req, json.ptr, json.len, free, json.ptr) != 0)
        free(json.ptr); /* not taken (the client left): still ours */
    api->req_finish(req);
}

static void part_head(dt_exchange_t *ex, void *arg, const dt_upstream_head_t *head) {
    part_t *p = arg;
    (void)ex;
    p->status = head->status; /* any status is data to report: the body follows in on_body */
}

static size_t part_body(dt_exchange_t *ex, void *arg, const char *data, size_t len) {
    part_t *p = arg;
    bundle_t *b = p->bundle;
    (void)ex;
    /* One check for every framing (a declared length, chunked, close-delimited): at most
     * max_bytes are read before the part is refused. */
    if (len > b->in->max_bytes - p->bytes) {
        api->log(DT_LOG_WARN, "fanout: %.*s: longer than max_bytes", (int)p->target.len,
                 p->target.ptr);
        give_up(b, 502);
        return len; /* dropped: no on_body runs after exchange_cancel */
    }
    p->bytes += len;
    if (p->status / 100 == 2) {
        buf_put(&p->body, data, len); /* `data` is valid for this call only */
        if (p->body.failed)
            give_up(b, 503);
    }
    return len;
}

static void part_done(dt_exchange_t *ex, void *arg, int result) {
    part_t *p = arg;
    bundle_t *b = p->bundle;
    (void)ex;
    p->running = 0;
    p->ex = NULL; /* invalid once this returns */
    /* DT_ECANCELED after give_up finds fail_status set already; the host's own cancellations
     * (a stopping server) and DT_EABORTED (the client left) still need an answer. */
    if (result != 0)
        give_up(b, status_for(result));
    if (--b->running == 0)
        answer(b);
}

static int on_handle(void *instance, dt_req_t *req) {
    const fanout_t *in = instance;
    dt_str_t m = api->req_method(req);
    if (!(m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) &&
        !(m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0)) {
        /* Error statuses returned as verdicts lose their headers: build the 405 here. */
        api->resp_set_status(req, 405);
        api->resp_add_header(req, "Allow", 5, "GET, HEAD", 9);
        api->resp_set_length(req, 0);
        return DT_DONE;
    }
    bundle_t *b = api->req_alloc(req, sizeof *b); /* freed with the request */
    if (!b)
        return 503;
    memset(b, 0, sizeof *b);
    b->req = req;
    b->in = in;

    dt_exchange_req_t x;
    memset(&x, 0, sizeof x); /* no fields, no body, the default window */
    x.size = sizeof x;
    x.method.ptr = "GET";
    x.method.len = 3;
    dt_exchange_cbs_t cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.on_head = part_head;
    cbs.on_body = part_body;
    cbs.on_done = part_done;
    for (size_t i = 0; i < in->part_count; i++) {
        part_t *p = &b->parts[i];
        p->bundle = b;
        p->target = in->parts[i];
        x.target = p->target;
        /* Counting after the start is safe: no callback of an exchange runs before this hook
         * returns (they run in step with the request's hooks). */
        int rc = api->exchange_start(req, in->upstream, &x, &cbs, p, &p->ex);
        if (rc != 0) {
            api->log(DT_LOG_ERROR, "fanout: starting an exchange for %.*s: %s", (int)p->target.len,
                     p->target.ptr, api->strerror(rc));
            if (b->running == 0)
                return 502;  /* nothing under way: answer now */
            give_up(b, 502); /* the last on_done of the started ones answers */
            break;
        }
        p->running = 1;
        b->running++;
    }
    return DT_SUSPENDED; /* exactly one on_done per part follows, the last one answers */
}

/* A config accessor's result: 1 to go on (a value, or none), 0 to fail. The host reports
 * DT_ETYPE itself, with the key's position and the expected type. */
static int read_ok(int rc, const char *key, char *err, size_t err_len) {
    if (rc == 0 || rc == DT_ENOENT)
        return 1;
    if (rc != DT_ETYPE)
        snprintf(err, err_len, "fanout: %s: %s", key, api->strerror(rc));
    return 0;
}

/* What exchange_start accepts as a target, and what a config should hold: a path. */
static int is_path(dt_str_t t) {
    if (t.len == 0 || t.ptr[0] != '/')
        return 0;
    for (size_t i = 0; i < t.len; i++)
        if ((unsigned char)t.ptr[i] <= 0x20 || t.ptr[i] == 0x7F)
            return 0;
    return 1;
}

static int read_parts(const dt_config_t *cfg, fanout_t *f, char *err, size_t err_len) {
    size_t count = 0;
    int rc = api->config_list_size(cfg, "parts", &count);
    if (!read_ok(rc, "parts", err, err_len))
        return -1;
    if (rc == DT_ENOENT || count == 0 || count > MAX_PARTS) {
        api->config_error(cfg, rc == DT_ENOENT ? NULL : "parts",
                          "parts: 1 to %d paths to fetch are required, such as [\"/a.txt\"]",
                          MAX_PARTS);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        dt_str_t t = {NULL, 0};
        if (!read_ok(api->config_list_string(cfg, "parts", i, &t), "parts", err, err_len))
            return -1;
        if (!is_path(t)) {
            api->config_error(cfg, "parts",
                              "\"%.*s\" is not a path: start it with / and leave out spaces "
                              "and control characters",
                              (int)t.len, t.ptr);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (f->parts[j].len == t.len && memcmp(f->parts[j].ptr, t.ptr, t.len) == 0) {
                /* The answer is keyed by path: a second one could not be told apart. */
                api->config_error(cfg, "parts", "\"%.*s\" is listed twice", (int)t.len, t.ptr);
                return -1;
            }
        f->parts[i] = t;
    }
    f->part_count = count;
    return 0;
}

static int read_settings(const dt_config_t *cfg, fanout_t *f, char *err, size_t err_len) {
    dt_str_t name = {NULL, 0};
    int rc = api->config_string(cfg, "upstream", &name);
    if (!read_ok(rc, "upstream", err, err_len))
        return -1;
    if (rc == DT_ENOENT) {
        api->config_error(cfg, NULL, "upstream is required: the name of an [[upstream]] group");
        return -1;
    }
    char cname[MAX_NAME]; /* config_upstream takes a NUL-terminated name; dt_str_t is not */
    if (name.len < sizeof cname) {
        memcpy(cname, name.ptr, name.len);
        cname[name.len] = '\0';
        f->upstream = api->config_upstream(cfg, cname);
    }
    if (!f->upstream) {
        api->config_error(cfg, "upstream",
                          "no [[upstream]] group is named \"%.*s\": add one, or fix the name",
                          (int)name.len, name.ptr);
        return -1;
    }

    if (read_parts(cfg, f, err, err_len) != 0)
        return -1;

    int64_t max_bytes = DEFAULT_MAX_BYTES;
    if (!read_ok(api->config_int(cfg, "max_bytes", &max_bytes), "max_bytes", err, err_len))
        return -1;
    if (max_bytes < 1 || max_bytes > LIMIT_MAX_BYTES) {
        api->config_error(cfg, "max_bytes", "must be between 1 and %d bytes, not %" PRId64,
                          LIMIT_MAX_BYTES, max_bytes);
        return -1;
    }
    f->max_bytes = (size_t)max_bytes;
    return 0;
}

static int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    /* min_host_minor = 3 already keeps older hosts from loading the plugin; plugin.h still asks
     * for the size check before a member is used, and an embedding host might build a table
     * of its own. exchange_cancel is the last member used. */
    if (api->size < offsetof(dt_api_t, exchange_cancel) + sizeof api->exchange_cancel) {
        snprintf(err, err_len, "fanout: the host lacks upstream exchanges (needs plugin ABI 1.3)");
        return -1;
    }
    fanout_t *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, err_len, "fanout: out of memory");
        return -1;
    }
    if (read_settings(cfg, f, err, err_len) != 0) {
        free(f);
        return -1;
    }
    *instance = f;
    return 0;
}

static void on_destroy(void *instance) { free(instance); }

static const dt_plugin_t plugin = {
    DT_PLUGIN_INIT,
    3, /* min_host_minor: upstream exchanges and req_fail */
    0,
    "fanout",
    "1.0.0",
    on_create,
    on_destroy,
    on_handle,
    NULL, /* on_writable: one answer, written whole into an empty queue */
    NULL, /* on_abort: the host cancels the exchanges first, and the last on_done frees */
    NULL, /* on_stop: exchanges end within the group's timeouts, or are cancelled at the stop */
    {0},
};

DT_PLUGIN_DEFINE(plugin, api)
