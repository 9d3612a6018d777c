#!/usr/bin/env bash
# Runs examples/embed as a user would: it serves a static root and its in-process handler on
# its own loop, answers, then stops cleanly on SIGTERM (exit 0, "server stopped", loop closed).
#   embed_example.sh EMBED_BINARY WWW_DIR
set -euo pipefail
embed=$1 www=$2
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
dt_work embed
out=$work/out err=$work/err
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }

"$embed" --listen 127.0.0.1:0 --root "$www" >"$out" 2>"$err" &
pid=$!
port=$(dt_wait_port "$out" "$pid") || fail "no port announced"
base=http://127.0.0.1:$port

# The static root, byte for byte.
curl -sf -o "$work/index.html" "$base/index.html" || fail "GET /index.html"
cmp -s "$work/index.html" "$www/index.html" || fail "index.html differs"
# The in-process handler sees the application's heartbeats (its timer runs on the same loop).
sleep 0.6
app=$(curl -sf "$base/app") || fail "GET /app"
beats=$(sed -n 's/^heartbeats //p' <<<"$app")
[ "${beats:-0}" -ge 2 ] || fail "heartbeats ${beats:-none} after 0.6 s: $app"
grep -q '^requests 1$' <<<"$app" || fail "requests counter: $app"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/app")" = 405 ] || fail "POST /app not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/missing")" = 404 ] || fail "missing file not 404"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
grep -q 'server stopped' "$err" || fail "no on_stopped"
grep -q 'stopped after .* 4 requests' "$out" || fail "final counters"
echo "embed example: ok (port $port, $beats heartbeats)"
