// dialtone/plugin_support/boundary.hpp — the exception boundary at the C ABI.
//
// The host is C: an exception leaving a hook would unwind through frames that cannot take it.
// So every C++ plugin runs the body of each hook that may throw through one of these, and they
// turn an exception into what the hook's contract allows. One policy for every plugin:
//
//   on_create   any exception: `err` = "<plugin>: <what>", return 1 (the host refuses the
//               location and prints `err`).
//   on_handle   std::bad_alloc: 503, not logged. The server is short of memory for now, a retry
//               may succeed, and the access log has the 503; a log line per failed request
//               would only pile on under memory pressure.
//               Any other exception: 500 and an error log line "<plugin>: on_handle: <what>",
//               since it is a bug the operator should see.
//               Like every error status, it becomes an error page only if the response head has
//               not gone out; otherwise the runtime closes the connection.
//
// Hooks and callbacks that cannot throw (no allocation) need no boundary: declare them noexcept.
// Threads: as the hook that calls them. Header-only; depends on <dialtone/plugin.h> only.
#pragma once

#include <dialtone/plugin.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>

namespace dialtone::plugin_support {

// Runs `body` (returning 0, or non-zero after reporting with config_error) for on_create.
template <class Body>
int create_boundary(const char *plugin, char *err, std::size_t err_len, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::exception &e) {
        std::snprintf(err, err_len, "%s: %s", plugin, e.what());
    } catch (...) {
        std::snprintf(err, err_len, "%s: unknown exception", plugin);
    }
    return 1;
}

// Runs `body` (returning a dt_verdict_t or an HTTP status) for on_handle.
template <class Body>
int handle_boundary(const dt_api_t &api, const char *plugin, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return 503;
    } catch (const std::exception &e) {
        api.log(DT_LOG_ERROR, "%s: on_handle: %s", plugin, e.what());
    } catch (...) {
        api.log(DT_LOG_ERROR, "%s: on_handle: unknown exception", plugin);
    }
    return 500;
}

} // namespace dialtone::plugin_support
