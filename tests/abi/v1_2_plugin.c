/* v1_2 — a plugin built against the released ABI 1.2 header (tests/abi/v1.2): it needs a 1.2
 * host (min_host_minor 2) for on_stop, which logs a line the test waits for, and answers
 * "abi 1.2 ok\n". */
#include <dialtone/plugin.h>

#include <stdio.h>
#include <string.h>

#if DT_ABI_MAJOR != 1 || DT_ABI_MINOR != 2
#error "this fixture must be compiled against tests/abi/v1.2/dialtone/plugin.h"
#endif

static const dt_api_t *api;

static int on_create(const dt_config_t *cfg, void **instance, char *err, size_t err_len) {
    (void)cfg;
    (void)err;
    (void)err_len;
    *instance = NULL;
    return 0;
}

static int on_handle(void *instance, dt_req_t *req) {
    static const char body[] = "abi 1.2 ok\n";
    (void)instance;
    api->resp_add_header(req, "Content-Type", 12, "text/plain", 10);
    api->resp_set_length(req, sizeof body - 1);
    api->req_write(req, body, sizeof body - 1);
    return DT_DONE;
}

static void on_stop(void *instance) {
    (void)instance;
    api->log(DT_LOG_WARN, "v1_2: on_stop");
}

static const dt_plugin_t plugin = {
    DT_PLUGIN_INIT, 2, 0, "v1_2", "1.2", on_create, NULL, on_handle, NULL, NULL, on_stop, {0},
};

DT_PLUGIN_DEFINE(plugin, api)
