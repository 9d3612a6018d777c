/* v1_0 — a plugin built against the released ABI 1.0 header (tests/abi/v1.0, never the current
 * one), so every later 1.x host is checked to keep loading it. It uses the whole 1.0 descriptor
 * and a few 1.0 functions and answers "abi 1.0 ok\n". */
#include <dialtone/plugin.h>

#include <string.h>

#if DT_ABI_MAJOR != 1 || DT_ABI_MINOR != 0
#error "this fixture must be compiled against tests/abi/v1.0/dialtone/plugin.h"
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
    (void)instance;
    static const char body[] = "abi 1.0 ok\n";
    api->resp_add_header(req, "Content-Type", 12, "text/plain", 10);
    api->resp_set_length(req, sizeof body - 1);
    api->req_write(req, body, sizeof body - 1);
    return DT_DONE;
}

static const dt_plugin_t plugin = {
    DT_PLUGIN_INIT, 0, 0, "v1_0", "1.0", on_create, NULL, on_handle, NULL, NULL, {0},
};

DT_PLUGIN_DEFINE(plugin, api)
