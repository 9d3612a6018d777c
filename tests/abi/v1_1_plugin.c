/* v1_1 — a plugin built against the released ABI 1.1 header (tests/abi/v1.1): it needs a 1.1
 * host (min_host_minor 1), checks api->size before using server_stats, and answers
 * "abi 1.1 ok: N workers\n". */
#include <dialtone/plugin.h>

#include <stdio.h>
#include <string.h>

#if DT_ABI_MAJOR != 1 || DT_ABI_MINOR != 1
#error "this fixture must be compiled against tests/abi/v1.1/dialtone/plugin.h"
#endif

static const dt_api_t *api;

static int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    (void)cfg;
    *instance = NULL;
    if (api->size < offsetof(dt_api_t, server_stats) + sizeof api->server_stats) {
        snprintf(err, err_len, "v1_1: the host has no server_stats");
        return 1;
    }
    return 0;
}

static int on_handle(void *instance, dt_req_t *req) {
    dt_server_stats_t server;
    char body[64];
    int len;
    (void)instance;
    memset(&server, 0, sizeof server);
    server.size = sizeof server;
    if (api->server_stats(req, &server, NULL, 0) < 1 || server.workers < 1)
        return 500;
    len = snprintf(body, sizeof body, "abi 1.1 ok: %u workers\n", (unsigned)server.workers);
    api->resp_add_header(req, "Content-Type", 12, "text/plain", 10);
    api->resp_set_length(req, (uint64_t)len);
    api->req_write(req, body, (size_t)len);
    return DT_DONE;
}

static const dt_plugin_t plugin = {
    DT_PLUGIN_INIT, 1, 0, "v1_1", "1.1", on_create, NULL, on_handle, NULL, NULL, {0},
};

DT_PLUGIN_DEFINE(plugin, api)
