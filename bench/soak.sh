#!/usr/bin/env bash
# The soak test: minutes of mixed load against one dialtone, sampling its memory and
# descriptors every second, then a verdict on whether they stayed flat after warm-up. Not run in
# CI (it takes ten minutes and both cores). See bench/README.md.
#
#   bench/soak.sh                                  10 minutes, 60 s warm-up
#   bench/soak.sh --minutes 2 --warmup-seconds 30  a quick check of the script itself
#   bench/soak.sh --no-build --out /tmp/soak       keep the samples and every client's report
#
# The load, all at once for the whole run: wrk's keep-alive requests for a small static file,
# rounds of 2000 paced dialup downloads, clients that drop downloads or half-sent requests, and
# slowloris heads the server must time out. Exit status 0 when RSS and descriptors are flat, the
# server answers after the load and exits cleanly on SIGTERM; 1 otherwise.
set -euo pipefail

prog=soak.sh
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: bench/soak.sh [options]

  --minutes N          load duration, warm-up included (default 10)
  --warmup-seconds N   the first N seconds are left out of the verdict (default 60)
  --build-dir DIR      CMake build directory (default: <repo>/build-bench)
  --no-build           use the binaries already in the build directory
  --out DIR            write samples, configs, logs and client reports to DIR (kept;
                       default: a temporary folder, removed at exit)
  -h, --help           this help

Needs: cmake, a C++20 compiler, libuv1-dev, wrk, curl, jq. Traffic goes to 127.0.0.1 only.
EOF
}

minutes=10
warmup=60
build_dir="$repo/build-bench"
build=1
out_dir=""

while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --warmup-seconds) warmup=$2; shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out_dir=$(realpath -m "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "soak.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if ! [[ $minutes =~ ^[0-9]+$ ]] || [ "$minutes" -eq 0 ]; then
    die "--minutes: not a positive integer"
fi
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup-seconds: not an integer"
duration=$((minutes * 60))
# The verdict compares the first and last minute after warm-up; it needs at least one.
[ $((duration - warmup)) -ge 60 ] || die "the run must last at least 60 s after warm-up"
for tool in wrk curl jq; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install $tool)"
done
if [ -n "$out_dir" ] && [ -e "$out_dir" ] && [ -n "$(ls -A "$out_dir")" ]; then
    die "--out $out_dir is not empty (rounds of an older run would be counted)"
fi

# The load, sized for two cores shared by server and clients.
workers=2
max_connections=15000
rate=8000             # dialup bytes/s: the 32 KiB file takes 4.1 s
dialup_n=2000         # downloads per dialup_client round
dialup_ramp=1000      # connects per second within a round
slowloris_n=300       # slowloris connections held open (each reconnects after the head timeout)
slowloris_every=3000  # ms between their header bytes
abort_n=200           # dropping clients open at a time
abort_rate=100        # new dropping clients per second
wrk_connections=32
wrk_round=30          # seconds per wrk run, so its totals are collected along the way
head_ms=10000         # the server's default head timeout, written out so the report can cite it

raise_open_files

# --- build -------------------------------------------------------------------------------------

find_binaries "$build_dir" "$build"

# --- work area, config, server -----------------------------------------------------------------

if [ -n "$out_dir" ]; then
    work=$out_dir
    mkdir -p "$work"
else
    work=$(mktemp -d /tmp/dialtone-soak.XXXXXX)
fi
mkdir -p "$work/www" "$work/wrk" "$work/dialup" "$work/hostile"
head -c 4096 /dev/urandom >"$work/www/small.bin"
head -c 1048576 /dev/urandom >"$work/www/big.bin"
head -c 32768 /dev/urandom >"$work/www/modem.bin"
samples="$work/samples.tsv"

server_pid=""
sampler_pid=""
loop_pids=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${loop_pids[@]}"; do stop_group "$p" 5; done
    stop_started # the sampler and the server
    if [ -n "$out_dir" ]; then
        note "kept samples, logs and reports in $out_dir"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'note interrupted; exit 130' INT TERM

port=$(free_port)
base="http://127.0.0.1:$port"
cat >"$work/dialtone.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
workers = $workers
log_level = "warn"

[server.limits]
max_connections = $max_connections

[server.timeouts]
head_ms = $head_ms
grace_ms = 5000

[[location]]
prefix = "/static"
handler = "static"
[location.static]
root = "www"

[[location]]
prefix = "/dialup"
handler = "dialup"
[location.dialup]
root = "www"
bits_per_second = $((rate * 8))
EOF
if ! "$dialtone_bin" --check --config "$work/dialtone.toml" >"$work/check.log" 2>&1; then
    cat "$work/check.log" >&2
    die "dialtone refused $work/dialtone.toml"
fi
spawn "$dialtone_bin" --config "$work/dialtone.toml" >"$work/server.log" 2>&1
server_pid=$spawned
server_name=dialtone
wait_listening "$port" "$server_pid" || die "dialtone did not start listening on $port"

# --- sampling ----------------------------------------------------------------------------------

# Load starts a few seconds after the server, so the samples show its idle baseline first.
idle_s=5
load_start_us=$(($(now_us) + idle_s * 1000000))
load_end_us=$((load_start_us + duration * 1000000))

# One row a second: ms since the load started (negative: idle), phase, RSS KiB, descriptors,
# threads, CPU seconds so far.
soak_sampler() {
    local pid=$1 next now t phase rss thr cpu
    local -a fds
    shopt -s nullglob
    printf 't_ms\tphase\trss_kib\tfds\tthreads\tcpu_s\n' >"$samples"
    next=$(now_us)
    while kill -0 "$pid" 2>/dev/null; do
        now=$(now_us)
        t=$(((now - load_start_us) / 1000))
        if [ "$now" -lt "$load_start_us" ]; then phase=idle
        elif [ "$t" -lt $((warmup * 1000)) ]; then phase=warmup
        elif [ "$now" -lt "$load_end_us" ]; then phase=load
        else phase=drain
        fi
        read -r rss _ thr < <(status_sums "$pid")
        fds=("/proc/$pid/fd"/*)
        cpu=$(($(cpu_ticks "$pid") * 100 / clk_tck))
        [ "$thr" -gt 0 ] || break # the server is gone
        printf '%d\t%s\t%d\t%d\t%d\t%d.%02d\n' "$t" "$phase" "$rss" "${#fds[@]}" "$thr" \
            $((cpu / 100)) $((cpu % 100)) >>"$samples"
        next=$((next + 1000000)) # a one-second grid however long the sample took
        sleep_until_us "$next"
    done
}
spawn soak_sampler "$server_pid"
sampler_pid=$spawned

# --- load --------------------------------------------------------------------------------------

seconds_left() { echo $(((load_end_us - $(now_us)) / 1000000)); }

# Keep-alive static traffic. wrk runs as fast as it can, so it is niced: the other loads keep
# their share of the two cores. Each run ends by the end of the load.
wrk_loop() {
    local i=0 left d
    while left=$(seconds_left); [ "$left" -ge 2 ]; do
        d=$((left < wrk_round ? left : wrk_round))
        timeout --foreground -k 5 $((d + 15)) nice -n 10 \
            wrk -t1 -c"$wrk_connections" -d"${d}s" --timeout 5s "$base/static/small.bin" \
            >"$work/wrk/$(printf %04d "$i").txt" 2>&1 || sleep 1
        i=$((i + 1))
    done
}

# Rounds of paced downloads, back to back. The round running when the load ends is stopped by
# SIGTERM; the client then reports its unfinished downloads as cut off (interrupted).
dialup_loop() {
    local i=0 report bound=$((dialup_n / dialup_ramp + 30 + 10))
    while [ "$(seconds_left)" -ge 1 ]; do
        report="$work/dialup/$(printf %04d "$i").json"
        timeout --foreground -k 5 "$bound" "$dialup_client" --port "$port" \
            --path /dialup/modem.bin -n "$dialup_n" --ramp-per-sec "$dialup_ramp" \
            --timeout-sec 30 --expect-rate "$rate" --json >"$report" 2>>"$work/dialup/client.err" ||
            [ -s "$report" ] || sleep 1 # exit 1 = some downloads failed; no report = no client
        i=$((i + 1))
    done
}

# $1: slowloris or abort; runs until the end of the load, restarted if it ever stops early.
hostile_loop() {
    local mode=$1 i=0 left
    local -a args
    if [ "$mode" = slowloris ]; then
        args=(-n "$slowloris_n" --rate 300 --interval-ms "$slowloris_every"
            --path /static/small.bin)
    else
        args=(-n "$abort_n" --rate "$abort_rate" --path /dialup/modem.bin --path /static/big.bin)
    fi
    while left=$(seconds_left); [ "$left" -ge 1 ]; do
        timeout --foreground -k 5 $((left + 15)) "$hostile_client" --mode "$mode" --port "$port" \
            --duration-sec "$left" "${args[@]}" \
            >"$work/hostile/$mode-$(printf %04d "$i").txt" 2>>"$work/hostile/$mode.err" || sleep 1
        i=$((i + 1))
    done
}

curl -sS -o /dev/null -m 5 "$base/static/small.bin" || die "dialtone does not answer $base"
sleep_until_us "$load_start_us"
note "load for ${minutes} min (warm-up ${warmup} s) on port $port; samples in $samples"
spawn dialup_loop
dialup_pid=$spawned
loop_pids+=("$spawned")
spawn wrk_loop
loop_pids+=("$spawned")
spawn hostile_loop slowloris
loop_pids+=("$spawned")
spawn hostile_loop abort
loop_pids+=("$spawned")

# Progress every 30 s; stop at once if the server dies.
next_note=30
while [ "$(now_us)" -lt "$load_end_us" ]; do
    sleep 1
    kill -0 "$server_pid" 2>/dev/null || die "dialtone died during the load ($work/server.log)"
    t=$((($(now_us) - load_start_us) / 1000000))
    if [ "$t" -ge "$next_note" ]; then
        next_note=$((next_note + 30))
        tail -n 1 "$samples" | awk -F'\t' -v t="$t" '{ printf "soak.sh: %4d s  RSS %.1f MiB, " \
            "%d fds, %d threads, CPU %s s\n", t, $3 / 1024, $4, $5, $6 }' >&2
    fi
done

# The dialup round in flight is cut; wrk and the hostile clients end on their own (wrk prints
# nothing when killed), given a few seconds.
stop_group "$dialup_pid" 10
for p in "${loop_pids[@]}"; do wait_group "$p" 20 || true; stop_group "$p" 5; done
loop_pids=()

# Closed clients should leave the server with its idle descriptors within seconds.
idle_fds=$(awk -F'\t' '$2 == "idle" { v = $4 } END { print v + 0 }' "$samples")
drain_s=""
for s in $(seq 1 30); do
    sleep 1
    now_fds=$(tail -n 1 "$samples" | cut -f4)
    if [ "$now_fds" -le "$idle_fds" ]; then drain_s=$s; break; fi
done
after_rss=$(tail -n 1 "$samples" | cut -f3)
after_fds=$(tail -n 1 "$samples" | cut -f4)

# --- after the load: is it still serving, and does it stop cleanly? --------------------------

fetch() { # $1 target, $2 seconds
    curl -sS -o /dev/null -m "$2" -w '%{http_code}, %{size_download} bytes in %{time_total} s' \
        "$base$1" 2>&1 || true
}
final_static=$(fetch /static/small.bin 10)
final_dialup=$(fetch /dialup/modem.bin 20)

stop_group "$sampler_pid" 2
sampler_pid=""
t0=$(now_us)
kill -TERM "$server_pid" 2>/dev/null || true
exit_rc=timeout
for _ in $(seq 1 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
else
    exit_rc=0
    wait "$server_pid" || exit_rc=$?
fi
exit_ms=$((($(now_us) - t0) / 1000))
server_pid=""

# --- report ------------------------------------------------------------------------------------

# "min max median" of column $1 over the samples with $2 <= t_ms < $3.
window_stats() {
    awk -F'\t' -v c="$1" -v a="$2" -v b="$3" 'NR > 1 && $1 >= a && $1 < b { print $c }' "$samples" |
        sort -n | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print v[1], v[NR], m }'
}
# Least-squares slope of column $1 per minute over $2 <= t_ms < $3.
slope() {
    awk -F'\t' -v c="$1" -v a="$2" -v b="$3" 'NR > 1 && $1 >= a && $1 < b {
            x = $1 / 60000; y = $c; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
        END { d = n * sxx - sx * sx; printf "%.1f", (d > 0 ? (n * sxy - sx * sy) / d : 0) }' \
        "$samples"
}
last_before() { # column $1 of the last sample before t_ms $2
    awk -F'\t' -v c="$1" -v b="$2" 'NR > 1 && $1 < b { v = $c } END { print v + 0 }' "$samples"
}

w0=$((warmup * 1000)) w1=$((duration * 1000))
read -r rss_min rss_max rss_med < <(window_stats 3 "$w0" "$w1")
read -r fds_min fds_max fds_med < <(window_stats 4 "$w0" "$w1")
read -r thr_min thr_max _ < <(window_stats 5 "$w0" "$w1")
read -r _ _ rss_first < <(window_stats 3 "$w0" $((w0 + 60000)))
read -r _ _ rss_last < <(window_stats 3 $((w1 - 60000)) "$w1")
read -r _ _ fds_first < <(window_stats 4 "$w0" $((w0 + 60000)))
read -r _ _ fds_last < <(window_stats 4 $((w1 - 60000)) "$w1")
rss_slope=$(slope 3 "$w0" "$w1")
fds_slope=$(slope 4 "$w0" "$w1")
rss_warm=$(last_before 3 "$w0")
fds_warm=$(last_before 4 "$w0")
idle_rss=$(awk -F'\t' '$2 == "idle" { v = $3 } END { print v + 0 }' "$samples")
cpu_load=$(awk -F'\t' 'NR > 1 && $2 != "idle" && $2 != "drain" { if (a == "") a = $6; b = $6 }
    END { printf "%.1f", b - a }' "$samples")

# RSS: growth over 10 minutes at the fitted slope under 1% of the median or 256 KiB, whichever
# is more, and the last minute's median within 5% of the first minute's. The floor is there
# because 1% of a 13 MiB server is one step of the allocator; 256 KiB in ten minutes is still
# about a byte per dialup download or aborted connection at this load. Descriptors follow the load, which is steady: the last
# minute's median within 10% of the first minute's.
rss_flat=$(awk -v s="$rss_slope" -v m="$rss_med" -v f="$rss_first" -v l="$rss_last" 'BEGIN {
    d = l - f; if (d < 0) d = -d; limit = 0.01 * m; if (limit < 256) limit = 256
    print ((s * 10 < limit && d <= 0.05 * f) ? "yes" : "no") }')
fds_flat=$(awk -v f="$fds_first" -v l="$fds_last" \
    'BEGIN { d = l - f; if (d < 0) d = -d; print ((d <= 0.10 * f) ? "yes" : "no") }')
fds_back=no
[ -n "$drain_s" ] && fds_back=yes

# Per-load totals from the clients' reports.
wrk_totals=$(cat "$work"/wrk/*.txt 2>/dev/null | awk '
    / requests in / { req += $1; runs++ }
    /Socket errors:/ { gsub(",", ""); conn += $4; rd += $6; wr += $8; to += $10 }
    /Non-2xx or 3xx/ { bad += $NF }
    END { printf "%d requests in %d runs; socket errors: connect %d, read %d, write %d, " \
        "timeout %d; non-2xx/3xx %d", req, runs, conn, rd, wr, to, bad }')
dialup_totals=$(cat "$work"/dialup/*.json 2>/dev/null | jq -rs '
    def sum(f): map(f) | add // 0;
    map(select(.interrupted | not)) as $full | map(select(.interrupted)) as $cut
    | ([$full[].error_kinds | to_entries[] | select(.value > 0)] | group_by(.key)
       | map("\(.[0].key) \(map(.value) | add)") | join(", ")) as $kinds
    | (map(.rate_first_byte.pct_of_nominal.p50 // empty)) as $p50
    | "\($full | sum(.completed)) completed, \($full | sum(.errors)) errors"
      + (if $kinds == "" then "" else " (\($kinds))" end)
      + " in \($full | length) rounds; the round cut by the end: \($cut | sum(.completed))"
      + " completed, \($cut | sum(.errors)) cut off; median rate "
      + (if ($p50 | length) > 0 then "\($p50 | add / length * 10 | round / 10)%" else "-" end)
      + " of nominal"') || dialup_totals="no report (see $work/dialup/client.err)"
declare -A hostile=()
while read -r key val; do
    case "$key" in
    *_s_*) hostile[$key]=${hostile[$key]:-$val} ;; # timings: the first run's (normally the only)
    *) hostile[$key]=$((${hostile[$key]:-0} + val)) ;;
    esac
done < <(cat "$work"/hostile/*.txt 2>/dev/null)
h() { echo "${hostile[$1]:-0}"; }

kib_mib() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }
row() { printf '%-12s %12s %10s %10s %10s %14s %10s %10s\n' "$@"; }

echo
echo "== dialtone soak: $minutes min of load, warm-up $warmup s, $workers workers, port $port"
echo "wrk, keep-alive GET of 4 KiB, $wrk_connections connections, nice 10:"
echo "    $wrk_totals"
echo "dialup, 32 KiB at $rate B/s, rounds of $dialup_n:"
echo "    $dialup_totals"
echo "aborting clients, $abort_rate/s, up to $abort_n open: $(h abort.connections) connections"
echo "    $(h abort.get_aborts) downloads dropped ($(h abort.resets) with RST)," \
    "$(h abort.half_heads) half heads, $(h abort.half_bodies) half bodies;" \
    "$(h abort.connect_errors) connect errors," \
    "$(h abort.closed_by_server) closed by the server first"
echo "slowloris, $slowloris_n held, a byte every $slowloris_every ms:" \
    "$(h slowloris.connections) connections"
echo "    $(h slowloris.closed_by_server) closed by the server," \
    "$(h slowloris.close_after_s_median) s" \
    "after the first byte (median; max $(h slowloris.close_after_s_max) s; head_ms $head_ms);" \
    "$(h slowloris.connect_errors) connect errors"
echo "server during the load: CPU $cpu_load s, threads $thr_min..$thr_max," \
    "$(wc -l <"$work/server.log") lines in its log (log_level warn)"
# The log's messages with numbers (addresses, ports, counts) folded, most frequent first.
sed 's/[0-9][0-9]*/N/g' "$work/server.log" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'
echo
row "" "end warm-up" min max median "slope /min" "first min" "last min"
row "RSS MiB" "$(kib_mib "$rss_warm")" "$(kib_mib "$rss_min")" "$(kib_mib "$rss_max")" \
    "$(kib_mib "$rss_med")" "$rss_slope KiB" "$(kib_mib "$rss_first")" "$(kib_mib "$rss_last")"
row descriptors "$fds_warm" "$fds_min" "$fds_max" "$fds_med" "$fds_slope" "$fds_first" "$fds_last"
if [ $((duration - warmup)) -lt 120 ]; then
    echo "(less than two minutes after warm-up: the first and last minute overlap)"
fi
echo "idle before the load: RSS $(kib_mib "$idle_rss") MiB, $idle_fds fds;" \
    "after it: RSS $(kib_mib "$after_rss") MiB, $after_fds fds"
echo "after the load: GET /static/small.bin: $final_static"
echo "                GET /dialup/modem.bin: $final_dialup"
echo "SIGTERM: exit status $exit_rc after $exit_ms ms"
echo
echo "RSS flat: $rss_flat (criterion: fitted slope x 10 min < max(1% of the median, 256 KiB)," \
    "and the last minute's median within 5% of the first post-warm-up minute's)"
echo "descriptors flat: $fds_flat (criterion: the last minute's median within 10% of the first" \
    "post-warm-up minute's)"
echo "descriptors back to idle after the load: $fds_back${drain_s:+ (in $drain_s s)}"

[ "$rss_flat" = yes ] && [ "$fds_flat" = yes ] && [ "$fds_back" = yes ] && [ "$exit_rc" = 0 ] &&
    [[ $final_static == 200,* ]] && [[ $final_dialup == 200,* ]]
