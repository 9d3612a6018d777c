#!/usr/bin/env bash
# The dialup benchmark: N concurrent paced downloads on loopback against a freshly started
# server, one table row per (server, N). See bench/README.md for what each figure means.
#
#   bench/dialup.sh                               dialtone, N = 1000 then 10000
#   bench/dialup.sh --servers dialtone,nginx      both, each restarted per N
#   bench/dialup.sh --no-build -n 1000 --size 65536
#
# The servers, their configs (bench/configs/) and the measurement are in bench/lib.sh, shared
# with bench/suite.sh, which runs this workload beside the others.
set -euo pipefail

prog=dialup.sh
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: bench/dialup.sh [options]

  --servers LIST          comma-separated: dialtone, h2o, nginx, apache (default: dialtone)
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
Needs: cmake, a C++20 compiler, libuv1-dev, jq, curl; h2o, nginx, apache2 for those servers.
EOF
}

servers=${DIALUP_SERVERS:-dialtone}
counts=${DIALUP_CONNECTIONS:-1000,10000}
size=${DIALUP_SIZE:-32768}
rate=7000
workers=2
dialup_ramp=10000
dialup_timeout=""
build_dir="$repo/build-bench"
build=1
dialtone_handler=dialup
keep_dir=""

while [ $# -gt 0 ]; do
    case "$1" in
    --servers) servers=$2; shift 2 ;;
    -n | --connections) counts=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --ramp-per-sec) dialup_ramp=$2; shift 2 ;;
    --timeout-sec) dialup_timeout=$2; shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --dialtone-handler) dialtone_handler=$2; shift 2 ;;
    --out) keep_dir=$(realpath -m "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "dialup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

for v in "$size" "$rate" "$workers" "$dialup_ramp"; do is_uint "$v" || die "not a positive integer: $v"; done
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
dialup_timeout=${dialup_timeout:-$((3 * transfer_s + 30))}

# Descriptors: the client holds one per connection, and so do the servers.
raise_open_files
max_n=0
for n in "${count_list[@]}"; do [ "$n" -gt "$max_n" ] && max_n=$n; done
if [ $((max_n + 100)) -gt "$nofile" ]; then
    die "N = $max_n needs more descriptors than the hard limit ($nofile) allows"
fi

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

# One run (bench/lib.sh's measure_dialup), then its row.
run_one() {
    local server=$1 n=$2 run="$work/$1-$2"
    note "$server, N = $n: ~$((transfer_s + n / dialup_ramp + 1)) s"
    measure_dialup "$server" "$n" "$run" || die "$server did not start or answer (see $work/$server/)"
    local report="$run/client.json" client_rc
    client_rc=$(jq .client_rc "$run/server.json")
    if ! jq -e . "$report" >/dev/null 2>&1; then
        note "client failed (exit $client_rc): $(head -c 500 "$run/client.err")"
        print_cells "$server" "$n" "client failed (exit $client_rc)"
        return
    fi
    local row
    row=$(jq -r --slurpfile srv "$run/server.json" '
        def f(x; d): if d == 0 then (x | round | tostring) else
            (x * pow(10; d) | round) as $r | pow(10; d) as $m
            | (if $r < 0 then "-" else "" end)
              + "\(($r | fabs) / $m | floor).\(("00000" + (($r | fabs) % $m | tostring))[-d:])"
            end;
        def pct(s): if s.count > 0 then
            [s.pct_of_nominal.p1, s.pct_of_nominal.p50, s.pct_of_nominal.p99]
            | map(f(.; 1)) | join("/") else "-" end;
        $srv[0] as $s
        | [ $s.server, $s.n, .completed, .errors, pct(.rate_first_byte), pct(.rate_from_request),
          "\(.on_rate_first_byte)/\(.on_rate_from_request)", f($s.peak_rss_kib / 1024; 1),
          f(([$s.peak_rss_kib - $s.base_rss_kib, 0] | max) / $s.n; 2), f($s.cpu_s; 2),
          (if .completed > 0 then f($s.cpu_s * 1e6 / .completed; 0) else "-" end),
          $s.peak_threads, f(.wall_s; 2), f(.client_cpu_user_s + .client_cpu_sys_s; 2),
          f($s.mach_s; 2) ]
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
    declare -F "start_$s" >/dev/null || die "unknown server: $s (known: dialtone, h2o, nginx, apache)"
done

find_binaries "$build_dir" "$build"

# --- work area ---------------------------------------------------------------------------------

make_work dialup-bench
trap cleanup_work EXIT # keeps the files in --out's $keep_dir
trap 'note interrupted; exit 130' INT TERM
head -c "$size" /dev/urandom >"$www/file.bin"
chmod 644 "$www/file.bin"
dialup_target=/dialup/file.bin

print_header
for server in "${server_list[@]}"; do
    for n in "${count_list[@]}"; do
        run_one "$server" "$n"
    done
done
note "nominal $rate B/s, $size-byte file, $workers workers; on rate: connections within 2%" \
    "by the first-byte rate (the criterion) / by the rate from request"
