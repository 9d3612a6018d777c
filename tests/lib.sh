# Shared by the test scripts that start a server and talk to it (source it; bash, set -eu):
#
#   dt_work NAME            makes $work, a scratch folder; at exit every process the script
#                           started (its jobs, and pids given to dt_spawned) is killed and
#                           waited for, and $work removed
#   dt_spawned PID          also kill PID at exit (a process that is not one of the script's jobs)
#   dt_wait_port LOG PID    prints the loopback port PID announced in LOG ("127.0.0.1:PORT",
#                           as the host's "listening on" line and the examples print it); fails
#                           if PID exits first or nothing shows within 10 s
# shellcheck shell=bash

dt__pids=""

dt__cleanup() {
    local pid
    for pid in $dt__pids $(jobs -p); do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -z "${work:-}" ] || rm -rf "$work"
}

dt_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/dialtone-$1.XXXXXX")
    trap dt__cleanup EXIT
}

dt_spawned() { dt__pids="$dt__pids $1"; }

dt_wait_port() {
    local log=$1 pid=$2 port='' _
    for _ in $(seq 200); do
        port=$(grep -o '127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | head -1 | cut -d: -f2 || true)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
