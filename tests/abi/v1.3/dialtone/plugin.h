/*
 * dialtone/plugin.h — the dialtone plugin ABI, version 1.3.
 *
 * History: 1.0 the first release; 1.1 adds server_stats (live counters for status pages) at the
 * end of dt_api_t. 1.2 adds the on_stop hook (a stop began: answer waiting requests now) in the
 * first reserved slot of dt_plugin_t and config_context (an embedding application's pointer for
 * its in-process plugin) at the end of dt_api_t, and writes out the end of a request's and a
 * server's life — "Ending" below, on_abort, on_destroy, the timers from other threads — as
 * every host since 1.2 keeps it, whatever minor a plugin was built for. 1.3 adds upstream
 * exchanges (the host's HTTP/1.1 client, pools, balancing and health, for proxies and for any
 * plugin that calls another server: "Upstreams" below) and req_fail. Every released header
 * is kept under tests/abi/ in dialtone's sources, and a plugin built against each keeps loading
 * in every later 1.x host.
 *
 * This file is the whole contract between the dialtone runtime (the host) and a content-handler
 * plugin. It is pure C99, depends only on <stddef.h> and <stdint.h>, and compiles as C++.
 * A plugin includes this header and nothing else of ours, and links against nothing of ours:
 * every host service arrives through a table of function pointers (dt_api_t), so one plugin
 * binary works with the `dialtone` host and inside any application that links the runtime.
 *
 * Versioning. DT_ABI_MAJOR changes only when a compatible plugin could break; the host refuses
 * a plugin of another major at load time, naming both versions. DT_ABI_MINOR grows when
 * something is added: same major = binary compatible, a minor only adds (new functions at the
 * end of dt_api_t, new hooks in dt_plugin_t's reserved slots). Structs that may grow start with
 * their size. A plugin built against minor M works with any host of minor >= its
 * `min_host_minor`; a plugin that wants a function added later checks `api->size` first.
 *
 * Threads. Unless a function says otherwise, call it only from the thread that called you
 * (a hook or a callback), and only while that call is in progress or later from another hook or
 * callback for the same request. Functions marked "Thread-safe: any thread." may be called from
 * any thread, including threads the runtime does not own. Hooks for one request never run
 * concurrently with each other; they may run on different worker threads over the request's
 * life, so a plugin must not assume thread affinity. Instance hooks (on_handle for different
 * requests) run concurrently on all workers: an instance is shared, read-only state.
 *
 * Signals. The host handles SIGINT, SIGTERM and SIGHUP (and ignores SIGPIPE) with handlers that
 * are safe on any thread, so threads a plugin starts need not block signals; they may, but a
 * plugin must not change the process's signal dispositions.
 *
 * Ending. A request ends when it is finished (and its response queued) or aborted (on_abort).
 * A server ends in three steps: the stop begins (listeners close; new requests are refused;
 * on_stop runs), then after timeouts.grace_ms every request still running is aborted, then the
 * host waits for plugins to drop the request references they still hold, at most
 * max(grace_ms, 1 s). During
 * all of it every request function stays safe to call on a held request from any thread the
 * function allows: after an abort they fail cleanly (DT_EABORTED, DT_ENOENT, DT_ESTATE) and
 * req_resume still runs its callback exactly once (on the calling thread once the workers are
 * gone). What a plugin thread should do after on_abort: stop its work on the request, then
 * req_resume (or req_release) it soon. on_destroy of an instance runs only after its last
 * request is released and after every release callback of its sends. A plugin still holding
 * requests when the host's wait ends is left alone: its instances are not destroyed (logged),
 * and the references stay safe to use and release.
 *
 * Errors. Functions returning int return 0 on success or a negative DT_E* code;
 * dt_api_t.strerror names them.
 *
 * Ownership. The caller allocates and the owner frees; each function says which is which.
 * Strings handed out as dt_str_t are not NUL-terminated unless stated.
 */
#ifndef DIALTONE_PLUGIN_H
#define DIALTONE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DT_ABI_MAJOR 1
#define DT_ABI_MINOR 3

/* Marks the one symbol a plugin exports. Build plugins with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define DT_EXPORT __attribute__((visibility("default")))
#define DT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define DT_EXPORT
#define DT_PRINTF(fmt, args)
#endif

/* The name of the entry symbol the host looks up with dlsym(). */
#define DT_PLUGIN_ENTRY_SYMBOL "dt_plugin_entry"

/* ---------------------------------------------------------------------------------------------
 * Error codes: one list, which also generates the host's strerror. Values never change.
 */
#define DT_ERRNO_MAP(XX)                                                                           \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EAGAIN, -3, "would block: wait for on_writable")                                            \
    XX(EABORTED, -4, "request aborted: the client went away or the server is stopping")            \
    XX(ESTATE, -5, "not allowed in the request's current state")                                   \
    XX(ENOENT, -6, "no such key or header")                                                        \
    XX(ETYPE, -7, "config value has another type")                                                 \
    XX(ERANGE, -8, "value out of range")                                                           \
    XX(EIO, -9, "input/output error")                                                              \
    XX(ENOTSUP, -10, "not supported by this host")                                                 \
    XX(ECONNECT, -11, "upstream: could not connect")                                               \
    XX(ETIMEDOUT, -12, "upstream: timed out")                                                      \
    XX(ERESET, -13, "upstream: connection closed or reset before the response ended")              \
    XX(EPROTO, -14, "upstream: invalid response")                                                  \
    XX(EUNAVAILABLE, -15, "upstream: every server is marked down")                                 \
    XX(ECANCELED, -16, "upstream: exchange cancelled")

typedef enum dt_errno {
#define DT__ERR_ENUM(name, value, text) DT_##name = value,
    DT_ERRNO_MAP(DT__ERR_ENUM)
#undef DT__ERR_ENUM
        DT_OK = 0
} dt_errno_t;

/* ---------------------------------------------------------------------------------------------
 * Handler verdicts. on_handle returns one of these, or an HTTP status 400..599 that the runtime
 * renders as an error page (only if no response head was sent yet; the status, headers and
 * length the plugin set are discarded, so a response that needs headers of its own, such as
 * 405 with Allow, is one the plugin builds and answers DT_DONE). Anything else is a plugin bug:
 * the runtime logs it and answers 500.
 */
typedef enum dt_verdict {
    /* The response is complete as far as the plugin is concerned. If the plugin has not called
     * finish, the runtime does it now; queued body data still drains asynchronously. */
    DT_DONE = 0,
    /* Not mine: the runtime tries the next matching location (a shorter prefix), finally 404.
     * Allowed only if nothing of the response was set or written. */
    DT_DECLINED = 1,
    /* The plugin keeps the request and will continue it later (timers, dt_api_t.req_resume,
     * writes, file sends) and end it with exactly one req_finish. Until then the runtime does
     * nothing with the request but watch the client: if the client goes away, or the server
     * stops past its grace period, on_abort runs exactly once and the plugin's pending timers
     * are cancelled (see on_abort for what "goes away" means). The worker thread serves other
     * connections meanwhile. */
    DT_SUSPENDED = 2
} dt_verdict_t;

/* Log levels, most severe first. */
typedef enum dt_log_level {
    DT_LOG_ERROR = 0,
    DT_LOG_WARN = 1,
    DT_LOG_INFO = 2,
    DT_LOG_DEBUG = 3
} dt_log_level_t;

/* A borrowed string: `len` bytes at `ptr`, not NUL-terminated unless stated. ptr is NULL when
 * the value is absent (as opposed to empty: non-NULL ptr, len 0). */
typedef struct dt_str {
    const char *ptr;
    size_t len;
} dt_str_t;

/* Opaque host objects. */
typedef struct dt_req dt_req_t;       /* one HTTP request and its response */
typedef struct dt_config dt_config_t; /* one location's settings table for one plugin */
typedef uint64_t dt_timer_id_t;       /* 0 is never a valid id */

/* Live counters of one worker (since ABI 1.1). The caller sets `size` to sizeof(dt_worker_stats_t)
 * before the call; the host fills the members that fit in `size` (and zeroes none beyond). */
typedef struct dt_worker_stats {
    uint32_t size;
    uint32_t index;       /* the worker's number, 0.. */
    uint64_t connections; /* open now */
    uint64_t accepted;    /* connections taken since the start (including refused ones) */
    uint64_t requests;    /* requests answered since the start (every status) */
    uint64_t active;      /* requests in progress now, suspended ones included */
    uint64_t suspended;   /* of those, requests whose handler returned DT_SUSPENDED */
    uint64_t bytes_sent;  /* bytes written to clients since the start (heads and bodies) */
    /* Since ABI 1.3: upstream exchanges, every group together. */
    uint64_t upstream_exchanges; /* exchanges started since the start */
    uint64_t upstream_active;    /* exchanges under way now */
    uint64_t upstream_failed;    /* exchanges ended by an upstream failure (not cancelled) */
    uint64_t upstream_connects;  /* upstream connections opened since the start */
    uint64_t upstream_idle;      /* kept-alive upstream connections idle in the pools now */
} dt_worker_stats_t;

/* The server a request belongs to (since ABI 1.1). `size` as for dt_worker_stats_t. */
typedef struct dt_server_stats {
    uint32_t size;
    uint32_t workers;         /* how many workers (and dt_worker_stats_t entries) there are */
    uint64_t started_unix_ms; /* wall-clock start time, ms since 1970 */
    uint64_t uptime_ms;       /* monotonic time since the start */
    uint64_t max_connections; /* the configured limit, over all workers */
    const char *version;      /* the runtime's version, e.g. "0.2.0": static storage */
} dt_server_stats_t;

/* Callbacks a plugin passes to the host. `req` is valid for the duration of the call. */
typedef void (*dt_release_cb)(void *arg);
typedef void (*dt_req_cb)(dt_req_t *req, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Upstreams (since ABI 1.3). A plugin that needs another HTTP server — a proxy, a cache, an
 * authentication check — asks the host for an exchange with a named [[upstream]] group of the
 * configuration instead of opening sockets of its own. The host owns what every such plugin
 * would get wrong alone: per-worker keep-alive pools (idle connections watched, so an upstream
 * closing one is noticed before reuse), connecting, an HTTP/1.1 client as strict as the
 * server side, the group's timeouts, balancing, passive health, and retries (before the
 * response head only: a connect failure on any method, a failed reused connection for
 * idempotent methods, never a non-idempotent request once sent; RFC 9110 9.2.2).
 *
 * The exchange runs on the worker of the request it was started for, and its callbacks run
 * there in step with the request's hooks (never concurrently with one): on_head once when the
 * final response head arrives (1xx interim responses are skipped), on_body for the body in
 * pieces, and on_done exactly once in every case, last. A plugin either consumes the body
 * itself (on_body, taking fewer bytes than offered pauses the upstream socket until
 * exchange_resume: a bounded window, whatever the upstream's speed) or, from on_head, hands
 * the rest of the response to the host with req_forward: the host then streams it to the
 * client with backpressure both ways and no call into the plugin per piece.
 */
typedef struct dt_upstream dt_upstream_t; /* an [[upstream]] group of the configuration */
typedef struct dt_exchange dt_exchange_t; /* one request to an upstream and its response */

/* A header field: borrowed strings, as dt_str_t. */
typedef struct dt_field {
    dt_str_t name;
    dt_str_t value;
} dt_field_t;

/* dt_exchange_req_t.flags. DT_EXCHANGE_UPGRADE: the request asks the upstream to switch
 * protocols (it carries an Upgrade field, such as "websocket"); the host sends
 * "Connection: Upgrade" with it, a 101 answer reaches on_head, and req_forward then joins the
 * client's connection and the upstream's into a tunnel, bytes both ways with backpressure, until
 * either side closes (half-closes are passed on). Without the flag a 101 is DT_EPROTO. */
#define DT_EXCHANGE_UPGRADE 1u

/* What to send upstream. The host copies everything before exchange_start returns. */
typedef struct dt_exchange_req {
    uint32_t size;            /* sizeof(dt_exchange_req_t) */
    uint32_t flags;           /* DT_EXCHANGE_* or 0 */
    dt_str_t method;          /* a token: "GET" */
    dt_str_t target;          /* origin-form: "/path?query" */
    const dt_field_t *fields; /* sent in order. Content-Length, Transfer-Encoding and Connection
                                 are the host's (DT_EINVAL); without Host the host sends the
                                 server's address. CR, LF and NUL anywhere are DT_EINVAL. */
    size_t field_count;
    dt_str_t body;     /* the whole request body, sent with Content-Length; ptr NULL: none */
    dt_str_t hash_key; /* the key of a `balancer = "hash"` group; ptr NULL: the group's
                          hash_key setting, from the client's request (uri: `target`) */
    uint32_t window;   /* body bytes the host holds ahead of on_body, or queued for the client
                          when forwarding, before it spools (forwarding) or stops reading the
                          upstream (0: 16 KiB; at least 4 KiB): a slow client's cost in memory */
    uint32_t reserved; /* 0 */
} dt_exchange_req_t;

/* The final response head, as on_head sees it: valid for the duration of the call. */
typedef struct dt_upstream_head {
    uint32_t size;            /* sizeof(dt_upstream_head_t) as the host built it */
    int status;               /* the final status: 200..599; 101 with DT_EXCHANGE_UPGRADE */
    int http_version;         /* 10 or 11 */
    int64_t content_length;   /* -1: chunked, or delimited by the upstream's close */
    dt_str_t reason;          /* the reason phrase, possibly empty */
    const dt_field_t *fields; /* in arrival order, Transfer-Encoding and Content-Length included */
    size_t field_count;
} dt_upstream_head_t;

/* The callbacks of one exchange. `arg` is exchange_start's. The host copies the struct. */
typedef struct dt_exchange_cbs {
    uint32_t size; /* sizeof(dt_exchange_cbs_t) */
    /* Mandatory. The final response head arrived: 200..599, or 101 for an exchange started with
     * DT_EXCHANGE_UPGRADE (else a 101 ends it with DT_EPROTO). Shape the client's response
     * here (resp_set_status, resp_add_header: for a 101 copy Upgrade and the protocol's fields;
     * the host sends Connection: Upgrade), then either return and take the body in on_body, or
     * call req_forward (for a 101: the tunnel). */
    void (*on_head)(dt_exchange_t *ex, void *arg, const dt_upstream_head_t *head);
    /* Optional (without it the body is read and dropped). Body bytes, de-chunked: `data` is
     * valid for the call only. Returns how many bytes it took, 0..len. Taking fewer pauses
     * the exchange: the host keeps the rest and stops reading the upstream until
     * exchange_resume, then offers the rest again. Never called after req_forward. */
    size_t (*on_body)(dt_exchange_t *ex, void *arg, const char *data, size_t len);
    /* Mandatory. The end, exactly once, always last: 0 when the whole response arrived, or
     * DT_ECONNECT, DT_ETIMEDOUT, DT_ERESET, DT_EPROTO (invalid, oversized or smuggling-shaped
     * response), DT_EUNAVAILABLE (every server marked down), DT_ECANCELED (exchange_cancel),
     * DT_EABORTED (its request was aborted first). After on_head a non-zero result means the
     * body was cut short: end the client's response with req_fail, never req_finish. When the
     * response was forwarded the host has already finished or failed it. `ex` is invalid once
     * on_done returns. */
    void (*on_done)(dt_exchange_t *ex, void *arg, int result);
} dt_exchange_cbs_t;

/* ---------------------------------------------------------------------------------------------
 * dt_api_t — the functions the host provides. Handed to dt_plugin_entry(); valid until the
 * process exits (the host never unloads a plugin while anything of it is alive). Append-only:
 * members are never removed or reordered within a major version.
 */
typedef struct dt_api {
    /* sizeof(dt_api_t) as the host built it: a plugin may use a member only if its offset is
     * below this size. */
    uint32_t size;
    uint16_t abi_major; /* the host's DT_ABI_MAJOR */
    uint16_t abi_minor; /* the host's DT_ABI_MINOR */

    /* ---- General ------------------------------------------------------------------------ */

    /* Static text for a DT_E* code ("unknown error" for anything else).
     * Ownership: static storage. Thread-safe: any thread. */
    const char *(*strerror)(int err);

    /* Writes one line to the host's error log if `level` is enabled (start it with the
     * plugin's name: the host cannot tell who called). Thread-safe: any thread. */
    void (*log)(dt_log_level_t level, const char *fmt, ...) DT_PRINTF(2, 3);

    /* ---- Configuration (only during on_create) ------------------------------------------ */
    /* Each accessor reads `key` of the location's settings table for this plugin. `*out` is
     * left untouched and the return is DT_ENOENT when the key is absent. On a type mismatch the
     * accessor returns DT_ETYPE and the host itself reports it (file, line, column, key,
     * expected type), so on_create may just fail. Keys the plugin never asked for are reported
     * by the host as unknown after a successful on_create.
     * Ownership: strings belong to the host and stay valid until on_destroy of the instance.
     * Threads: only inside on_create. */
    int (*config_string)(const dt_config_t *cfg, const char *key, dt_str_t *out);
    int (*config_int)(const dt_config_t *cfg, const char *key, int64_t *out);
    int (*config_bool)(const dt_config_t *cfg, const char *key, int *out);
    int (*config_double)(const dt_config_t *cfg, const char *key, double *out);
    /* A string naming a file or folder: relative values are resolved against the folder of the
     * config file that set them. `*out` is NUL-terminated. */
    int (*config_path)(const dt_config_t *cfg, const char *key, dt_str_t *out);
    /* A list of strings: `*count` receives its length (an absent key is DT_ENOENT). */
    int (*config_list_size)(const dt_config_t *cfg, const char *key, size_t *count);
    int (*config_list_string)(const dt_config_t *cfg, const char *key, size_t index, dt_str_t *out);
    /* Reports a bad value: the host prints "<file>:<line>:<col>: <section>.<key>: <message>"
     * using the position of `key` (or of the section when key is NULL). on_create should then
     * return non-zero. */
    void (*config_error)(const dt_config_t *cfg, const char *key, const char *fmt, ...)
        DT_PRINTF(3, 4);

    /* ---- Request: reading ---------------------------------------------------------------- */
    /* Ownership of every returned string: the request; valid until the request is released
     * (see req_retain). Threads: any hook or callback of this request. */

    dt_str_t (*req_method)(const dt_req_t *req); /* "GET" */
    dt_str_t (*req_target)(const dt_req_t *req); /* raw request-target, "/a%20b?x=1" */
    /* The decoded, normalised path ("/a b"): no "." or ".." segments, no "//". */
    dt_str_t (*req_path)(const dt_req_t *req);
    /* The part of req_path below the matched location's prefix, always starting with "/":
     * prefix "/site" and path "/site/a.html" give "/a.html". */
    dt_str_t (*req_path_info)(const dt_req_t *req);
    dt_str_t (*req_query)(const dt_req_t *req); /* after '?', undecoded; ptr NULL if none */
    /* The first header named `name` (case-insensitive); ptr NULL if absent. */
    dt_str_t (*req_header)(const dt_req_t *req, const char *name, size_t name_len);
    /* Header number `index` in arrival order: DT_ENOENT past the end. */
    int (*req_header_at)(const dt_req_t *req, size_t index, dt_str_t *name, dt_str_t *value);
    /* The request body, read whole before on_handle (bounded by limits.max_body_size);
     * len 0 when there is none. */
    dt_str_t (*req_body)(const dt_req_t *req);
    /* The client's address as text: "192.0.2.1" or "2001:db8::1". NUL-terminated. */
    dt_str_t (*req_remote_addr)(const dt_req_t *req);
    /* HTTP version as major * 10 + minor: 10 or 11. */
    int (*req_http_version)(const dt_req_t *req);

    /* Allocates `size` bytes aligned for any type from the request's arena.
     * Ownership: the request; freed all at once when the request is released. NULL on failure. */
    void *(*req_alloc)(dt_req_t *req, size_t size);
    /* A per-request pointer for the plugin (on_abort, on_writable and callbacks can find their
     * state). The host never touches it. Threads: hooks and callbacks of the request (they run
     * one at a time); a plugin thread of its own goes through req_resume. */
    void (*req_set_data)(dt_req_t *req, void *data);
    void *(*req_data)(const dt_req_t *req);

    /* ---- Response ------------------------------------------------------------------------ */

    /* Sets the status (100 < status < 600, default 200). DT_ESTATE once the head was sent. */
    int (*resp_set_status)(dt_req_t *req, int status);
    /* Adds a response header; both strings are copied. The runtime owns Date, Server,
     * Connection, Transfer-Encoding and Content-Length (use resp_set_length): adding those is
     * DT_EINVAL. Bytes CR, LF and NUL are DT_EINVAL. DT_ESTATE once the head was sent. */
    int (*resp_add_header)(dt_req_t *req, const char *name, size_t name_len, const char *value,
                           size_t value_len);
    /* Declares the body length. Without it the body is sent chunked (HTTP/1.1) or delimited
     * by closing the connection (HTTP/1.0). Writing more than declared is DT_ERANGE; finishing
     * with less closes the connection, since the client was promised more. Responses 1xx, 204
     * and 304 never carry a body nor Content-Length, whatever is declared. */
    int (*resp_set_length)(dt_req_t *req, uint64_t length);

    /* Queues a copy of `data` as body bytes (the head goes out first, with the first write;
     * writes made during one hook or callback go out together when it returns).
     * Backpressure: while the connection holds more than its high watermark (256 KiB) of
     * unsent bytes, nothing is taken and the return is DT_EAGAIN; the runtime then calls the
     * plugin's on_writable once the queue drains to the low watermark (64 KiB). The check is
     * made before the write: one write of any size is taken whole while the queue is at or
     * below the watermark (and copied: keep writes to tens of KiB, or use req_write_ref), so
     * a plugin has at most the watermark plus its last write in flight, whatever the client's
     * speed. On HEAD requests the bytes are counted but not sent. DT_ERANGE past a declared
     * length, DT_ESTATE after finish, DT_EABORTED after an abort. */
    int (*req_write)(dt_req_t *req, const void *data, size_t len);
    /* Like req_write without the copy: the runtime sends `data` in place.
     * Ownership: if and only if the call returns 0, the runtime calls `release(arg)` exactly
     * once when it no longer needs `data` (sent, or the connection closed); release may be
     * NULL and runs on a worker thread or on the thread destroying the server, never
     * concurrently with on_destroy and always before it: `data` may live in the instance.
     * On an error return the caller keeps `data`. */
    int (*req_write_ref)(dt_req_t *req, const void *data, size_t len, dt_release_cb release,
                         void *arg);
    /* Queues `len` bytes of the open file `fd` from `offset`, sent zero-copy (sendfile on the
     * non-blocking socket). Ownership: if and only if the call returns 0, the runtime owns `fd`
     * and closes it when done; on an error return the caller keeps it. If the file turns out
     * shorter than promised the runtime logs it and closes the connection (a declared length
     * is never silently violated). Backpressure as req_write, counting the file bytes. On HEAD
     * requests, and for len 0, the bytes are counted, nothing is sent, and fd is closed at
     * once. */
    int (*req_send_file)(dt_req_t *req, int fd, uint64_t offset, uint64_t len);
    /* Ends the response. Exactly once per request; a second call is DT_ESTATE. DT_EABORTED
     * after an abort (the plugin still lets go of the request as usual). */
    int (*req_finish)(dt_req_t *req);

    /* ---- Suspended requests ---------------------------------------------------------------- */

    /* Reference counting. The runtime holds one reference until the response is finished or
     * the request aborted; on_handle's caller holds the request alive for that call. A plugin
     * that keeps `req` past the hook that gave it (threads, queues) takes a reference and drops
     * it when done. After the last release the request and its arena are freed: on a worker
     * thread, or on the thread destroying the server, even when a plugin thread releases last
     * (freeing may end the instance: on_destroy never runs on a plugin's own thread).
     * References stay valid past on_abort and past the server's stop; release them soon after
     * on_abort (see "Ending"). Thread-safe: any thread. */
    void (*req_retain)(dt_req_t *req);
    void (*req_release)(dt_req_t *req);

    /* Runs `cb(req, arg)` on a worker thread as soon as possible: on the calling worker when
     * called from one, else on the connection's own. Use it to continue a suspended request
     * from a thread the runtime does not own, or to free per-request state in step with the
     * other hooks: the callback may call every request function, runs after any hook of the
     * request already running, and never concurrently with one. `cb` runs exactly once in
     * every case — also when the request was finished or aborted meanwhile (request functions
     * then return DT_ESTATE or DT_EABORTED), so the plugin can always free `arg` there. Once
     * the request's worker has ended (the server is stopping or gone), cb runs on the calling
     * thread before req_resume returns.
     * Returns 0, or DT_EINVAL for a NULL cb (then nothing runs).
     * The caller must hold a reference (req_retain) when calling from outside a hook or
     * callback of this request; from a hook of another request (waking a parked request from
     * a second one) too, unless the plugin is sure the parked one is not released meanwhile.
     * Thread-safe: any thread. */
    int (*req_resume)(dt_req_t *req, dt_req_cb cb, void *arg);

    /* Starts a one-shot timer: `delay_ms` milliseconds after this call (never earlier; from
     * another thread too: the delay counts from the call, not from when the worker arms it)
     * `cb(req, arg)` runs on a worker thread (not necessarily the connection's), in step with
     * the request's other hooks. Several may be pending per request; all are cancelled when the
     * request ends or aborts (then cb does not run: free `arg` in on_abort or keep it in
     * req_data). `*id` (may be NULL) receives an id for timer_stop before the call returns.
     * Returns 0; DT_EABORTED once the request was finished or aborted (nothing will run);
     * DT_EINVAL for a NULL cb. Thread-safe: any thread. */
    int (*timer_start)(dt_req_t *req, uint64_t delay_ms, dt_req_cb cb, void *arg,
                       dt_timer_id_t *id);
    /* Cancels a timer. 0: its callback will not run (whichever thread calls, also one that
     * started it a moment ago). DT_ENOENT: it is not pending — its callback ran, is running or
     * is queued to run, it was stopped already, or the request ended (which cancelled it).
     * Thread-safe: any thread. */
    int (*timer_stop)(dt_req_t *req, dt_timer_id_t id);
    /* Milliseconds on the runtime's monotonic clock, for schedules. Thread-safe: any thread. */
    uint64_t (*now_ms)(void);

    /* Like req_send_file, but the runtime borrows `fd` instead of taking it: one open file can
     * feed many responses (an open-file cache, paced slices of one file). Ownership: if and only
     * if the call returns 0, the runtime calls `release(arg)` exactly once when it no longer
     * reads `fd` (sent, or the connection closed); until then `fd` must stay open. release may
     * be NULL and runs as req_write_ref's does (before on_destroy). Threads: any thread. */
    int (*req_send_file_ref)(dt_req_t *req, int fd, uint64_t offset, uint64_t len,
                             dt_release_cb release, void *arg);

    /* ---- Since ABI 1.1: check api->size (or api->abi_minor >= 1) before using these ------ */

    /* Live counters of the server `req` arrived on, for status pages and metrics. Fills
     * `*server` (may be NULL) and the first `max_workers` entries of `workers` (may be NULL
     * when max_workers is 0); set each struct's `size` first. Returns the number of workers,
     * which may exceed max_workers (call again with more room), or DT_EINVAL. Each counter is
     * read atomically but the set is not one instant: the workers keep running. DT_ESTATE
     * when called off the server's workers (a callback run on the caller's thread after the
     * server stopped). Ownership: the caller's structs; `version` is static.
     * Threads: a hook or callback of req. */
    int (*server_stats)(dt_req_t *req, dt_server_stats_t *server, dt_worker_stats_t *workers,
                        uint32_t max_workers);

    /* ---- Since ABI 1.2: check api->size (or api->abi_minor >= 2) before using these ------ */

    /* The pointer an embedding application registered with this in-process plugin for the
     * server being configured (ServerOptions::plugins[i].context in dialtone/server.hpp), so
     * that an instance reaches the application's objects without globals, and two servers in
     * one process can host two applications with one plugin. NULL for a plugin loaded from a
     * shared object and when the application gave none.
     * Ownership: the application's; it outlives the server. Threads: only inside on_create. */
    void *(*config_context)(const dt_config_t *cfg);

    /* ---- Since ABI 1.3: check api->size (or api->abi_minor >= 3) before using these ------ */

    /* Ends the response as failed, in place of req_finish (exactly one of the two per
     * request). Before the response head was sent the host answers `status` (400..599;
     * anything else becomes 502) as an error page, like an on_handle verdict. After it, the
     * client must never take the response for complete: the bytes queued so far go out,
     * then the connection closes without the last chunk (or short of the declared length).
     * For a plugin whose upstream or file broke mid-body. DT_ESTATE after finish or fail,
     * DT_EABORTED after an abort. Threads: as req_finish. */
    int (*req_fail)(dt_req_t *req, int status);

    /* The [[upstream]] group named `name` (NUL-terminated), or NULL when the configuration has
     * none (report it with config_error on the key that named it). Ownership: the host's,
     * valid until on_destroy of the instance. Threads: only inside on_create. */
    const dt_upstream_t *(*config_upstream)(const dt_config_t *cfg, const char *name);

    /* Starts an exchange with a server of `up` for `req`. Returns 0 and sets `*ex`: the
     * exchange is under way, and whatever happens from here (no server up, no connection,
     * a timeout) is told by on_done, exactly once. DT_EINVAL for a missing method or target,
     * a NULL on_head or on_done, or a field the host owns; DT_ESTATE when req's response was
     * finished; DT_EABORTED after an abort. On an error return nothing runs and `*ex` is
     * untouched. An exchange belongs to its request: the request's abort cancels it (on_done
     * with DT_EABORTED); finishing the response while it runs cancels it too (DT_ECANCELED),
     * unless it was detached. The caller keeps `xreq` and `cbs` (both are copied).
     * Threads: any hook or callback of req (the exchange itself runs on req's worker). */
    int (*exchange_start)(dt_req_t *req, const dt_upstream_t *up, const dt_exchange_req_t *xreq,
                          const dt_exchange_cbs_t *cbs, void *arg, dt_exchange_t **ex);
    /* Offers the body bytes on_body left again, and reads on. DT_ESTATE when the exchange is
     * not paused. Threads: a hook or callback of the exchange's request (or of the exchange).
     * Such a hook may run on another worker than the exchange's (a req_resume called from
     * there); the call is then carried to the exchange's worker and returns 0, and the checks
     * (DT_ESTATE) and effects happen there, after the calling hook returns. */
    int (*exchange_resume)(dt_exchange_t *ex);
    /* Stops the exchange: no on_head or on_body runs after this call, and on_done follows
     * with DT_ECANCELED, after the hook or callback that called exchange_cancel returns (never
     * inside it). DT_ESTATE when it has already ended (on_done is on its way).
     * Threads: as exchange_resume (carried from another worker, a callback already due may
     * still run before the cancel takes effect; on_done is still exactly once and last). */
    int (*exchange_cancel)(dt_exchange_t *ex);
    /* The exchange stops belonging to its request: it runs to its end even after the request
     * is finished or aborted (cache fills, background refreshes), and its callbacks then run
     * on the request's worker outside any request. It keeps its plugin instance alive until
     * its on_done returns (on_destroy waits for it, as for a request), and a worker that
     * stops ends it (on_done with DT_ECANCELED). DT_ESTATE when forwarded or ended.
     * Threads: as exchange_resume. */
    int (*exchange_detach)(dt_exchange_t *ex);
    /* Only inside on_head of an exchange started for `req`: the host sends the rest of the
     * response itself. It sends the head as the plugin shaped it (status and fields set
     * before this call; without a declared length, the upstream's Content-Length when it had
     * one), then the body as it arrives: at most the window waits in memory for a slow
     * client; what the client is behind by past that goes to the group's spool file on disk
     * (spool_max_size: the upstream is read at its own pace and its connection freed), and
     * only when that is full does the host stop reading the upstream. At the end it finishes
     * the response (or fails it: req_fail) and calls on_done. DT_ESTATE outside on_head or
     * after the response began; DT_EINVAL when ex is not req's. Ownership: ex stays the host's
     * (valid until its on_done returns). Threads: inside on_head, on the exchange's worker. */
    int (*req_forward)(dt_req_t *req, dt_exchange_t *ex);
} dt_api_t;

/* ---------------------------------------------------------------------------------------------
 * dt_plugin_t — what a plugin is. A static, constant descriptor returned by the entry symbol.
 */
typedef struct dt_plugin {
    uint32_t size;           /* sizeof(dt_plugin_t): set with DT_PLUGIN_INIT */
    uint16_t abi_major;      /* DT_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;      /* DT_ABI_MINOR the plugin was built with */
    uint16_t min_host_minor; /* the oldest host minor the plugin works with (usually 0) */
    uint16_t flags;          /* reserved: 0 */
    const char *name;        /* the handler name used in configs, e.g. "static" */
    const char *version;     /* free text for logs, e.g. "1.2.0" */

    /* Mandatory. Creates an instance from one location's settings. Return 0 and set *instance
     * (may be NULL), or non-zero after describing the problem with config_error (or in
     * `err`, a NUL-terminated message of at most err_len bytes). Runs on the thread that
     * starts the server before workers start, or on the one that reloads it. */
    int (*on_create)(const dt_config_t *cfg, void **instance, char *err, size_t err_len);

    /* Optional. Destroys an instance once no request of it is alive (every reference released,
     * every release callback run) and no connection can start one: when the server is
     * destroyed, on that thread, after its wait for plugins ("Ending"); after a reload, on the
     * worker that lets go of the old configuration's last request. Never on a thread of the
     * plugin's own (so it may join them), never concurrently with another hook of the
     * instance. Not at all for an instance whose requests are still held when the server's
     * wait ends (the host logs it). */
    void (*on_destroy)(void *instance);

    /* Optional (a plugin without it declines everything). Handles a request: returns a
     * dt_verdict_t or an HTTP status 400..599. Runs on the connection's worker. */
    int (*on_handle)(void *instance, dt_req_t *req);

    /* Optional. The connection's queue drained below the low watermark after a write returned
     * DT_EAGAIN. Runs on a worker; never concurrently with other hooks of the request. */
    void (*on_writable)(void *instance, dt_req_t *req);

    /* Optional. The request was aborted while the plugin still held it unfinished: the client
     * is gone (a reset or a failed write), a send made no progress for timeouts.send_ms, or the
     * server stopped and grace_ms passed. A client that only half-closes (shuts down its
     * sending side after a complete request, as nc and health checkers do) is not gone: the
     * request is answered and the connection then closed. Runs exactly once, on a worker;
     * pending timers are already cancelled; every later call on the request fails cleanly.
     * The plugin stops work on the request and drops its references soon (see "Ending"). */
    void (*on_abort)(void *instance, dt_req_t *req);

    /* Optional, since ABI 1.2 (the first of the reserved slots: NULL in older plugins). The
     * server began to stop (SIGTERM, SIGINT, Server::stop): runs once per live instance — the
     * current configuration's, and older ones still serving requests after a reload — right
     * after the listeners close, before grace_ms has passed. A plugin whose requests wait on
     * something (long-polls, event streams, jobs of its own) answers them now, for example
     * with req_resume and then a 503 or a final event, instead of sitting out grace_ms to be
     * aborted. Runs on the thread that asked for the stop (the dialtone binary's main thread;
     * an application's thread calling Server::stop, which may be a worker), concurrently with
     * the instance's request hooks on the workers; use only functions marked "any thread".
     * Requests received before the stop may still reach on_handle afterwards: answer them at
     * once too. */
    void (*on_stop)(void *instance);

    void *reserved[7]; /* future hooks: must be NULL */
} dt_plugin_t;

#define DT_PLUGIN_INIT sizeof(dt_plugin_t), DT_ABI_MAJOR, DT_ABI_MINOR

/* The entry symbol. The host calls it once, right after dlopen(), with its function table, and
 * takes the returned descriptor (static storage; NULL refuses the load). Threads: main thread.
 * Ownership: `api` belongs to the host and stays valid for the life of the process. */
typedef const dt_plugin_t *(*dt_plugin_entry_fn)(const dt_api_t *api);

/* Defines the entry symbol: stores the host's table in `api_var` and returns `&descriptor`.
 *     static const dt_api_t *api;
 *     static const dt_plugin_t plugin = { DT_PLUGIN_INIT, 0, 0, "hello", "1.0", ... };
 *     DT_PLUGIN_DEFINE(plugin, api)
 */
#define DT_PLUGIN_DEFINE(descriptor, api_var)                                                      \
    DT_EXPORT const dt_plugin_t *dt_plugin_entry(const dt_api_t *host_api);                        \
    DT_EXPORT const dt_plugin_t *dt_plugin_entry(const dt_api_t *host_api) {                       \
        (api_var) = host_api;                                                                      \
        return &(descriptor);                                                                      \
    }

#ifdef __cplusplus
}
#endif

#endif /* DIALTONE_PLUGIN_H */
