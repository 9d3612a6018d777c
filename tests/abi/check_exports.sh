#!/bin/sh
# Usage: check_exports.sh PLUGIN.so...
# Fails unless each plugin's dynamic symbol table defines exactly one symbol: dt_plugin_entry.
status=0
for so in "$@"; do
    symbols=$(nm -D --defined-only "$so" | awk '{print $NF}') || { status=1; continue; }
    if [ "$symbols" = dt_plugin_entry ]; then
        echo "ok: $so exports only dt_plugin_entry"
    else
        echo "FAIL: $so exports: $(echo "$symbols" | tr '\n' ' ')"
        status=1
    fi
done
exit $status
