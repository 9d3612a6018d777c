/* hello — a dialtone plugin in C, written as any third-party author would write one: it
 * includes <dialtone/plugin.h>, links nothing of dialtone's and builds against an installed
 * SDK (see CMakeLists.txt, or the Makefile for pkg-config).
 *
 *   [[plugin]]
 *   name = "hello"
 *   path = "/path/to/hello.so"
 *
 *   [[location]]
 *   prefix = "/hello"
 *   handler = "hello"
 *   [location.hello]
 *   greeting = "Hello"      # optional; 1..64 bytes
 *
 * GET /hello answers "Hello, world!\n"; GET /hello?name=Ada answers "Hello, Ada!\n" (the name is
 * percent-decoded, at most 64 bytes, else 400). HEAD as GET; other methods get 405 with Allow.
 */
#include <dialtone/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT 64

static const dt_api_t *api;

typedef struct hello {
    char greeting[MAX_TEXT + 1];
} hello_t;

static int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    dt_str_t greeting = {"Hello", 5};
    int rc = api->config_string(cfg, "greeting", &greeting);
    if (rc == DT_ETYPE)
        return -1; /* the host has reported the key, its position and the expected type */
    if (rc != 0 && rc != DT_ENOENT) {
        snprintf(err, err_len, "hello: greeting: %s", api->strerror(rc));
        return -1;
    }
    if (greeting.len == 0 || greeting.len > MAX_TEXT) {
        api->config_error(cfg, "greeting", "must be 1 to %d bytes long, not %zu", MAX_TEXT,
                          greeting.len);
        return -1;
    }
    hello_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "hello: out of memory");
        return -1;
    }
    memcpy(h->greeting, greeting.ptr, greeting.len);
    *instance = h;
    return 0;
}

static void on_destroy(void *instance) { free(instance); }

static int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the value of `name=` in the query into out (NUL-terminated). Returns its length,
 * 0 when absent or empty, -1 when malformed or longer than MAX_TEXT. */
static int query_name(dt_str_t query, char out[MAX_TEXT + 1]) {
    size_t i = 0, n = 0;
    while (query.ptr && i < query.len) {
        size_t end = i;
        while (end < query.len && query.ptr[end] != '&')
            end++;
        if (end - i >= 5 && memcmp(query.ptr + i, "name=", 5) == 0) {
            for (size_t j = i + 5; j < end; j++) {
                char c = query.ptr[j];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = j + 2 < end ? hex(query.ptr[j + 1]) : -1;
                    int lo = hi >= 0 ? hex(query.ptr[j + 2]) : -1;
                    if (lo < 0)
                        return -1;
                    c = (char)(hi * 16 + lo);
                    j += 2;
                }
                if (n == MAX_TEXT || c == '\0')
                    return -1;
                out[n++] = c;
            }
            break;
        }
        i = end + 1;
    }
    out[n] = '\0';
    return (int)n;
}

static int send_text(dt_req_t *req, int status, const char *text, size_t len) {
    api->resp_set_status(req, status);
    api->resp_add_header(req, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    api->resp_set_length(req, len);
    api->req_write(req, text, len);
    return DT_DONE; /* the runtime finishes the response */
}

static int on_handle(void *instance, dt_req_t *req) {
    const hello_t *h = instance;
    dt_str_t method = api->req_method(req);
    int is_get = method.len == 3 && memcmp(method.ptr, "GET", 3) == 0;
    int is_head = method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0;
    if (!is_get && !is_head) {
        /* Error statuses returned as verdicts lose their headers: build the 405 here. */
        api->resp_add_header(req, "Allow", 5, "GET, HEAD", 9);
        static const char text[] = "method not allowed\n";
        return send_text(req, 405, text, sizeof text - 1);
    }

    char name[MAX_TEXT + 1];
    int name_len = query_name(api->req_query(req), name);
    if (name_len < 0)
        return 400;
    char body[2 * MAX_TEXT + 8];
    int len = snprintf(body, sizeof body, "%s, %s!\n", h->greeting, name_len ? name : "world");
    return send_text(req, 200, body, (size_t)len);
}

static const dt_plugin_t plugin = {
    DT_PLUGIN_INIT, 0, 0, "hello", "1.0.0", on_create, on_destroy, on_handle, NULL, NULL, NULL, {0},
};

DT_PLUGIN_DEFINE(plugin, api)
