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
# server answers after the load and exits cleanly on SIGTERM; 1 otherwise. The report and the
# verdict come from bench/report (`bench/report soak DIR` renders a kept --out folder again).
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

Needs: cmake, a C++20 compiler, libuv1-dev, wrk, curl, python3. Traffic goes to 127.0.0.1 only.
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
for tool in wrk curl python3; do
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
report="$bench_dir/report"

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
        IFS=$'\t' read -r _ _ rss fds thr cpu < <(tail -n 1 "$samples")
        note "$(printf '%4d s  RSS %d KiB, %d fds, %d threads, CPU %s s' "$t" "$rss" "$fds" \
            "$thr" "$cpu")"
    fi
done

# The dialup round in flight is cut; wrk and the hostile clients end on their own (wrk prints
# nothing when killed), given a few seconds.
stop_group "$dialup_pid" 10
for p in "${loop_pids[@]}"; do wait_group "$p" 20 || true; stop_group "$p" 5; done
loop_pids=()

# Closed clients should leave the server with its idle descriptors within seconds.
read -r _ idle_fds < <("$report" soak-idle "$samples")
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

# What bench/report needs beside the samples and the clients' reports: the settings the report
# cites and what was measured after the load. Kept with --out, so the report can be made again.
{
    printf '%s\t%s\n' minutes "$minutes" warmup "$warmup" workers "$workers" port "$port" \
        wrk_connections "$wrk_connections" rate "$rate" dialup_n "$dialup_n" \
        abort_rate "$abort_rate" abort_n "$abort_n" slowloris_n "$slowloris_n" \
        slowloris_every "$slowloris_every" head_ms "$head_ms" drain_s "$drain_s" \
        after_rss "$after_rss" after_fds "$after_fds" final_static "$final_static" \
        final_dialup "$final_dialup" exit_rc "$exit_rc" exit_ms "$exit_ms"
} >"$work/run.tsv"
# The report, and the exit status: 0 when RSS and descriptors are flat and back to idle, the
# fetches after the load answered 200 and the server exited 0.
"$report" soak "$work"
