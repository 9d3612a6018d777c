#!/usr/bin/env bash
# The dialup benchmark: N concurrent paced downloads on loopback against a freshly started
# server, one table row per (server, N). See bench/README.md for what each figure means.
#
#   bench/dialup.sh                               dialtone, N = 1000 then 10000
#   bench/dialup.sh --servers dialtone,nginx      both, each restarted per N
#   bench/dialup.sh --no-build -n 1000 --size 65536
#
# A server is a pair of functions, start_<name> PORT and stop_<name>, and a pid in
# server_pid; adding one (apache, h2o) means writing those two.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
usage: bench/dialup.sh [options]

  --servers LIST          comma-separated: dialtone, nginx (default: dialtone)
  -n, --connections LIST  comma-separated N (default: \$DIALUP_CONNECTIONS or 1000,10000)
  --size BYTES            test file size (default: \$DIALUP_SIZE or 32768: 4.7 s at V.92)
  --rate BYTES_PER_SEC    nominal rate (default 7000 = V.92, 56000 bit/s)
  --workers N             server worker threads / processes (default 2)
  --ramp-per-sec R        client connection ramp (default 10000: 1000 per 100 ms)
  --timeout-sec T         client per-connection timeout (default 3 x transfer + 30 s)
  --build-dir DIR         CMake build directory (default: <repo>/build-bench)
  --no-build              use the binaries already in the build directory
  --dialtone-handler H    dialtone location handler (default dialup; "static" serves
                          unthrottled, to exercise the bench before the dialup plugin exists)
  --out DIR               keep configs, client reports and samples in DIR
  -h, --help              this help

Environment: DIALUP_CONNECTIONS, DIALUP_SIZE, DIALUP_SERVERS set the same defaults.
Needs: cmake, a C++20 compiler, libuv1-dev, jq, curl; nginx for --servers nginx.
EOF
}

servers=${DIALUP_SERVERS:-dialtone}
counts=${DIALUP_CONNECTIONS:-1000,10000}
size=${DIALUP_SIZE:-32768}
rate=7000
workers=2
ramp=10000
timeout_sec=""
build_dir="$repo/build-bench"
build=1
dialtone_handler=dialup
out_dir=""

while [ $# -gt 0 ]; do
    case "$1" in
    --servers) servers=$2; shift 2 ;;
    -n | --connections) counts=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --ramp-per-sec) ramp=$2; shift 2 ;;
    --timeout-sec) timeout_sec=$2; shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --dialtone-handler) dialtone_handler=$2; shift 2 ;;
    --out) out_dir=$(realpath -m "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "dialup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

die() { echo "dialup.sh: $*" >&2; exit 1; }
note() { echo "dialup.sh: $*" >&2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }

for v in "$size" "$rate" "$workers" "$ramp"; do is_uint "$v" || die "not a positive integer: $v"; done
IFS=, read -r -a count_list <<<"$counts"
IFS=, read -r -a server_list <<<"$servers"
for n in "${count_list[@]}"; do is_uint "$n" || die "not a connection count: $n"; done
for s in "${server_list[@]}"; do
    [[ $s =~ ^[a-z0-9_]+$ ]] || die "not a server name: $s"
done
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"

# Transfer time of one file, and the client's per-connection timeout derived from it.
transfer_s=$(((size + rate - 1) / rate))
timeout_sec=${timeout_sec:-$((3 * transfer_s + 30))}

# Descriptors: the client holds one per connection; servers raise their own soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max_n=0
for n in "${count_list[@]}"; do [ "$n" -gt "$max_n" ] && max_n=$n; done
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ $((max_n + 100)) -gt "$hard" ]; then
    die "N = $max_n needs more descriptors than the hard limit ($hard) allows"
fi

# A port below the ephemeral range (32768-60999 here), so no client socket can hold it.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ]; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# Stops a process we started: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
    local pid=$1 grace=${2:-10}
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 $((grace * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        note "pid $pid ignored SIGTERM for ${grace}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

wait_listening() {
    local port=$1 pid=$2
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 1
        [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- servers -----------------------------------------------------------------------------------

start_dialtone() {
    local port=$1 dir="$work/dialtone" settings max_connections=$((max_n + 100))
    # Above N (so no connection is refused), below the descriptors it has.
    [ "$hard" != unlimited ] && [ "$max_connections" -gt $((hard - 50)) ] &&
        max_connections=$((hard - 50))
    mkdir -p "$dir"
    ln -sfn "$work/www" "$dir/www"
    if [ "$dialtone_handler" = dialup ]; then
        if [ "$rate" = 7000 ]; then
            settings='modem = "V.92"'
        else
            settings="bits_per_second = $((rate * 8))"
        fi
    else
        settings=""
    fi
    cat >"$dir/dialtone.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
workers = $workers
log_level = "warn"

[server.limits]
max_connections = $max_connections

[server.timeouts]
grace_ms = 2000

[[location]]
prefix = "/dialup"
handler = "$dialtone_handler"
[location.$dialtone_handler]
root = "www"
$settings
EOF
    [ -x "$dialtone_bin" ] || die "no dialtone binary at $dialtone_bin"
    if ! "$dialtone_bin" --check --config "$dir/dialtone.toml" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        die "dialtone refused the config (is the $dialtone_handler plugin built?" \
            "--dialtone-handler static runs the bench unthrottled)"
    fi
    "$dialtone_bin" --config "$dir/dialtone.toml" >"$dir/server.log" 2>&1 &
    server_pid=$!
}
stop_dialtone() { [ -n "$server_pid" ] && stop_pid "$server_pid" 10; server_pid=""; }

# Debian's nginx as shipped (sendfile on) plus limit_rate; backlog as dialtone's (4096).
start_nginx() {
    local port=$1 dir="$work/nginx" nofile
    command -v nginx >/dev/null || die "nginx is missing (apt-get install nginx-light)"
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=65536
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile - 100)); }
http {
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location /dialup/ {
            alias $work/www/;
            limit_rate $rate;
            limit_rate_after 0;
        }
    }
}
EOF
    nginx -t -q -e "$dir/error.log" -c "$dir/nginx.conf" || die "nginx refused $dir/nginx.conf"
    nginx -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/server.log" 2>&1 &
    server_pid=$!
}
stop_nginx() { [ -n "$server_pid" ] && stop_pid "$server_pid" 10; server_pid=""; }

# --- measurements ------------------------------------------------------------------------------

# The server's processes: its main pid and direct children (nginx's workers).
server_pids() {
    local pid=$1 kids=""
    [ -r "/proc/$pid/task/$pid/children" ] && kids=$(<"/proc/$pid/task/$pid/children")
    # shellcheck disable=SC2086 # one pid per word
    echo "$pid" $kids
}

# utime + stime in clock ticks, summed over the server's processes.
cpu_ticks() {
    local total=0 pid stat rest
    for pid in $(server_pids "$1"); do
        { stat=$(<"/proc/$pid/stat"); } 2>/dev/null || continue
        rest=${stat##*) } # fields from 3 on; the command name may hold spaces
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Busy ticks of the whole machine (all CPUs): user nice system irq softirq.
machine_ticks() {
    local user nice system irq softirq
    read -r _ user nice system _ _ irq softirq _ </proc/stat
    echo $((user + nice + system + irq + softirq))
}

# "VmRSS VmHWM Threads" (KiB, KiB, count), each summed over the server's processes.
status_sums() {
    local rss=0 hwm=0 thr=0 p key val
    for p in $(server_pids "$1"); do
        while read -r key val _; do
            case "$key" in
            VmRSS:) rss=$((rss + val)) ;;
            VmHWM:) hwm=$((hwm + val)) ;;
            Threads:) thr=$((thr + val)) ;;
            esac
        done 2>/dev/null <"/proc/$p/status" || true
    done
    echo "$rss $hwm $thr"
}

# One line of status_sums every 200 ms while the server runs.
sampler() {
    while kill -0 "$1" 2>/dev/null; do
        status_sums "$1" >>"$2"
        sleep 0.2
    done
}

clk_tck=$(getconf CLK_TCK)

# The table: one Markdown row per run, padded so it also reads in a terminal.
titles=(server N "done" errors "first-byte % p1/p50/p99" "from request % p1/p50/p99" "on rate fb/req"
    "RSS MiB" "KiB/conn" "CPU s" "us/req" threads "wall s" "cli CPU" "mach CPU")
widths=(8 6 6 6 23 26 14 7 8 6 6 7 6 7 8)
print_cells() {
    local i line="|"
    for i in "${!widths[@]}"; do
        line+=$(printf ' %*s |' "${widths[$i]}" "${1:-}")
        shift || true
    done
    echo "$line"
}
print_header() {
    local i line="|"
    print_cells "${titles[@]}"
    for i in "${!widths[@]}"; do line+=$(printf '%*s|' $((widths[i] + 2)) '' | tr ' ' -); done
    echo "$line"
}

# One run: start the server, sample it while the client runs, stop it, print the row.
run_one() {
    local server=$1 n=$2 port run samples report cpu0 cpu1 mach0 mach1 base_rss
    port=$(free_port)
    run="$work/$server-$n"
    mkdir -p "$run"
    samples="$run/samples.txt"
    report="$run/client.json"

    current_server=$server
    "start_$server" "$port"
    wait_listening "$port" "$server_pid" || die "$server did not start listening on $port" \
        "(see $work/$server/server.log)"
    local head_status
    head_status=$(curl -sS -o /dev/null -I -m 5 -w '%{http_code}' "http://127.0.0.1:$port$target") ||
        true
    [ "$head_status" = 200 ] || die "$server answered HEAD $target with $head_status"

    read -r base_rss _ < <(status_sums "$server_pid")
    cpu0=$(cpu_ticks "$server_pid")
    mach0=$(machine_ticks)
    sampler "$server_pid" "$samples" &
    sampler_pid=$!

    note "$server, N = $n: ~$((transfer_s + n / ramp + 1)) s"
    local bound=$((n / ramp + timeout_sec + 30)) client_rc=0
    timeout --foreground -k 5 "$bound" "$client" --port "$port" --path "$target" --connections "$n" \
        --ramp-per-sec "$ramp" --timeout-sec "$timeout_sec" --expect-rate "$rate" --json \
        >"$report" 2>"$run/client.err" || client_rc=$?

    cpu1=$(cpu_ticks "$server_pid")
    mach1=$(machine_ticks)
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    "stop_$server"
    current_server=""

    if ! jq -e . "$report" >/dev/null 2>&1; then
        note "client failed (exit $client_rc): $(head -c 500 "$run/client.err")"
        print_cells "$server" "$n" "client failed (exit $client_rc)"
        return
    fi
    local peak_rss peak_thr
    read -r peak_rss peak_thr < <(awk '{ if ($1 > r) r = $1; if ($3 > t) t = $3 }
        END { print r + 0, t + 0 }' "$samples")
    local cpu_s mach_s
    cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')
    mach_s=$(awk -v a="$mach0" -v b="$mach1" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')

    local row
    row=$(jq -r --arg server "$server" --argjson n "$n" --argjson rss "$peak_rss" \
        --argjson base "$base_rss" --argjson thr "$peak_thr" --argjson cpu "$cpu_s" \
        --argjson mach "$mach_s" '
        def f(x; d): if d == 0 then (x | round | tostring) else
            (x * pow(10; d) | round) as $r | pow(10; d) as $m
            | (if $r < 0 then "-" else "" end)
              + "\(($r | fabs) / $m | floor).\(("00000" + (($r | fabs) % $m | tostring))[-d:])"
            end;
        def pct(s): if s.count > 0 then
            [s.pct_of_nominal.p1, s.pct_of_nominal.p50, s.pct_of_nominal.p99]
            | map(f(.; 1)) | join("/") else "-" end;
        [ $server, $n, .completed, .errors, pct(.rate_first_byte), pct(.rate_from_request),
          "\(.on_rate_first_byte)/\(.on_rate_from_request)", f($rss / 1024; 1),
          f(([$rss - $base, 0] | max) / $n; 2), f($cpu; 2),
          (if .completed > 0 then f($cpu * 1e6 / .completed; 0) else "-" end),
          $thr, f(.wall_s; 2), f(.client_cpu_user_s + .client_cpu_sys_s; 2), f($mach; 2) ]
        | map(tostring) | @tsv' "$report")
    local -a cols
    IFS=$'\t' read -r -a cols <<<"$row"
    print_cells "${cols[@]}"

    local errs
    errs=$(jq -r '.error_kinds | to_entries | map(select(.value > 0) | "\(.key) \(.value)")
        | join(", ")' "$report")
    [ -n "$errs" ] && note "$server, N = $n: errors: $errs $(jq -c '.sys_errors, .bad_statuses' "$report" | tr '\n' ' ')"
    if jq -e '.deadline_hit or .interrupted' "$report" >/dev/null; then
        note "$server, N = $n: the client's run deadline cut the run short"
    fi
    return 0
}

# --- the run -------------------------------------------------------------------------------------

for s in "${server_list[@]}"; do
    declare -F "start_$s" >/dev/null || die "unknown server: $s (known: dialtone, nginx)"
done

# --- build -------------------------------------------------------------------------------------

if [ "$build" = 1 ]; then
    note "building in $build_dir"
    mkdir -p "$build_dir"
    build_log="$build_dir/dialup-bench-build.log"
    if ! { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DDIALTONE_BUILD_TESTS=OFF &&
        cmake --build "$build_dir" -j2; } >"$build_log" 2>&1; then
        tail -n 30 "$build_log" >&2
        die "build failed (log: $build_log)"
    fi
fi
dialtone_bin="$build_dir/bin/dialtone"
client="$build_dir/bin/dialup_client"
if [ ! -x "$client" ]; then
    # Until the top-level CMakeLists.txt adds bench/, the client builds on its own.
    client="$build_dir/bench-client/bin/dialup_client"
    if [ "$build" = 1 ]; then
        if ! { cmake -S "$repo/bench" -B "$build_dir/bench-client" -DCMAKE_BUILD_TYPE=Release &&
            cmake --build "$build_dir/bench-client" -j2; } >>"$build_log" 2>&1; then
            tail -n 30 "$build_log" >&2
            die "building the client failed (log: $build_log)"
        fi
    fi
fi
[ -x "$client" ] || die "no dialup_client in $build_dir (build without --no-build)"

# --- work area ---------------------------------------------------------------------------------

work=$(mktemp -d /tmp/dialup-bench.XXXXXX)
chmod 755 "$work" # nginx workers run as nobody when started as root
mkdir -p "$work/www"
head -c "$size" /dev/urandom >"$work/www/file.bin"
chmod 644 "$work/www/file.bin"
target=/dialup/file.bin

server_pid=""
sampler_pid=""
current_server=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
    [ -n "$current_server" ] && "stop_$current_server" 2>/dev/null
    if [ -n "$out_dir" ]; then
        mkdir -p "$out_dir" && cp -r "$work"/. "$out_dir"/ && note "kept the run's files in $out_dir"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'note interrupted; exit 130' INT TERM

print_header
for server in "${server_list[@]}"; do
    for n in "${count_list[@]}"; do
        run_one "$server" "$n"
    done
done
note "nominal $rate B/s, $size-byte file, $workers workers; on rate: connections within 2%" \
    "by the first-byte rate (the criterion) / by the rate from request"
