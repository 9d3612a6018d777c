#!/usr/bin/env bash
# The proxy benchmarks: dialtone's proxy plugin beside nginx, H2O, HAProxy and Varnish as
# reverse proxies, in one run, each in front of the same upstream (dialtone's static plugin on a
# port of its own, started once for the whole run). Writes bench/results/<date>-proxy.md: a
# table per workload (median and spread over rounds, dialtone's ratio to each peer). See
# bench/README.md ("The proxy benchmarks") for what each figure means.
#
#   bench/proxy.sh                              everything, 3 rounds
#   bench/proxy.sh --quick --out /tmp/proxy     a smoke test of the script; the numbers mean little
#   bench/proxy.sh --only proxy-4k --servers dialtone,nginx --rounds 5
#
# A sibling of suite.sh rather than more workloads in it: these runs need a second server (the
# upstream) for their whole length, peers the suite does not have (HAProxy, Varnish) and not
# Apache, and every server in its proxy role. They share bench/lib.sh (servers, sampling, the
# dialup run) and bench/report (every figure); this script only runs things.
set -euo pipefail

prog=proxy.sh
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

all_servers=dialtone,nginx,h2o,haproxy,varnish
all_workloads=proxy-4k,proxy-slow

usage() {
    cat <<EOF
usage: bench/proxy.sh [options]

  --quick             a smoke test: 3 s wrk runs, 1 round, 200 slow clients reading at 10x
                      the rate (15 s a run)
  --only LIST         workloads, comma-separated (default: all):
                        proxy-4k    wrk -t2 -c64 keep-alive GETs of a 4 KiB file through the
                                    proxy: req/s, p99, errors, the proxy's CPU per request,
                                    upstream connections opened per request once warm
                        proxy-slow  N slow clients reading a 1 MiB file through the proxy at
                                    7,000 B/s: completions, errors, peak RSS, RSS per client
  --servers LIST      comma-separated (default: $all_servers)
  --rounds N          rounds per workload (default 3; --quick: 1)
  --slow-n N          slow clients (default 10,000, or what the descriptor limit allows a
                      one-process proxy: 2 per client; --quick: 200)
  --slow-rate B       bytes/s each slow client reads (default 7000; --quick: 70000)
  --rss-limit-mib M   stop a proxy whose RSS passes M MiB (default: half the memory available
                      at the start); the row says so
  --out DIR           where the .md goes (default: bench/results)
  --keep DIR          also keep the run's configs, logs and raw client output in DIR
  --build-dir DIR     CMake build directory (default: <repo>/build-bench)
  --no-build          use the binaries already in the build directory
  --no-install        do not install missing Debian packages
  -h, --help          this help

Installs, when missing: the build tools (.ci/deps) and wrk nginx h2o haproxy varnish jq curl,
with apt-get (root or sudo); needs python3 for bench/report. Traffic goes to 127.0.0.1 only.
EOF
}

servers=$all_servers
workloads=$all_workloads
rounds=""
quick=0
build=1
install=1
slow_n=""
slow_rate=""
rss_limit_mib=""
out_dir="$repo/bench/results"
keep_dir=""
build_dir="$repo/build-bench"
args_given="$*"

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1; shift ;;
    --only) workloads=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --slow-n) slow_n=$2; shift 2 ;;
    --slow-rate) slow_rate=$2; shift 2 ;;
    --rss-limit-mib) rss_limit_mib=$2; shift 2 ;;
    --out) out_dir=$(realpath -m "$2"); shift 2 ;;
    --keep) keep_dir=$(realpath -m "$2"); shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --no-install) install=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "proxy.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

IFS=, read -r -a server_list <<<"$servers"
IFS=, read -r -a workload_list <<<"$workloads"
for s in "${server_list[@]}"; do
    [[ ,$all_servers, == *,"$s",* ]] || die "unknown server: $s (known: $all_servers)"
done
for w in "${workload_list[@]}"; do
    [[ ,$all_workloads, == *,"$w",* ]] || die "unknown workload: $w (known: $all_workloads)"
done
rounds=${rounds:-$((quick ? 1 : 3))}
is_uint "$rounds" || die "--rounds: not a positive integer: $rounds"
selected() { [[ ,$workloads, == *,"$1",* ]]; }

# --- the workloads' settings -------------------------------------------------------------------

server_role=proxy
workers=2
wrk_args=(-t2 -c64)      # the same for every proxy
wrk_secs=$((quick ? 3 : 10))
warm_secs=$((quick ? 1 : 3))
raise_open_files
# A proxy holds two descriptors per slow client (the client's and the upstream's), and dialtone,
# H2O, HAProxy and Varnish hold them all in one process.
fit_n=$(((nofile - 200) / 2 / 100 * 100))
slow_n=${slow_n:-$((quick ? 200 : (fit_n < 10000 ? fit_n : 10000)))}
is_uint "$slow_n" || die "--slow-n: not a positive integer: $slow_n"
slow_rate=${slow_rate:-$((quick ? 70000 : 7000))}
is_uint "$slow_rate" || die "--slow-rate: not a positive integer: $slow_rate"
slow_size=1048576
rate=$slow_rate          # measure_dialup's --expect-rate
max_n=$slow_n            # the servers' connection limits are sized above it
dialup_ramp=2000         # slow clients connecting per second (each makes an upstream connection)
dialup_timeout=$((slow_size * 3 / 2 / slow_rate + 30))
dialup_target=/static/big.bin
check_path=/static/tiny.txt
# Each slow client announces an Ethernet MSS, as a client on the internet would. With loopback's
# 64 KiB MSS, Linux sizes a sending socket's buffer for 10 x 2 segments of 128 KiB (2.5 MiB) and
# the kernel would hold every proxy's whole 1 MiB response; at 1460 it is about 80 KiB. The
# small receive buffer keeps what the client's kernel holds near what it has read.
slow_client_args=(--read-rate "$slow_rate" --rcvbuf 16384 --mss 1460)
if [ -n "$rss_limit_mib" ]; then
    is_uint "$rss_limit_mib" || die "--rss-limit-mib: not a positive integer: $rss_limit_mib"
    rss_limit_kib=$((rss_limit_mib * 1024))
else
    rss_limit_kib=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 2))
fi

# --- packages and build ------------------------------------------------------------------------

prepare_run dialtone-proxy "wrk nginx h2o haproxy varnish jq curl" "wrk jq curl python3"

# --- work area and the upstream ----------------------------------------------------------------

head -c 4096 /dev/urandom >"$www/small.bin"
head -c "$slow_size" /dev/urandom >"$www/big.bin"
chmod 644 "$www"/*

upstream_port=$(free_port)
start_upstream "$upstream_port"
[ "$(fetch_status "$upstream_port" /static/small.bin)" = 200 ] || die "the upstream does not serve"

# Records a run that produced no figures, or errors; the results file lists them.
failed() {
    note "$1: $2"
    printf -- '- %s: %s\n' "$1" "$2" >>"$failures"
}

# The upstream's count of connections accepted since it started (the status plugin's totals).
upstream_accepted() {
    curl -sS -m 5 "http://127.0.0.1:$upstream_port/server-status/json" 2>/dev/null |
        jq -r '.totals.accepted // "-"' 2>/dev/null || echo -
}

# --- the runs ----------------------------------------------------------------------------------

# proxy-4k: a warm-up, then one wrk run with the upstream's accepted count read before and after.
# Row: round server rps p99_ms errors us_req up_opened up_per_req.
run_proxy_4k() {
    local round=$1 server=$2 run name cpu0 cpu1 before after rc=0 status
    run="$work/proxy-4k/$round-$server"
    name="proxy-4k round $round $server"
    mkdir -p "$run"
    port=$(free_port)
    if ! start_server "$server" "$port"; then
        failed "$name" "$server did not start (log in $work/$server/)"
        return 0
    fi
    status=$(fetch_status "$port" /static/small.bin)
    if [ "$status" != 200 ]; then
        stop_server
        failed "$name" "$server answered GET /static/small.bin with $status"
        return 0
    fi
    # Warm: the proxy's upstream connections are open before the count starts.
    run_bounded $((warm_secs + 30)) wrk "${wrk_args[@]}" -d"${warm_secs}s" \
        "http://127.0.0.1:$port/static/small.bin" >"$run/warmup.txt" 2>&1 || true
    before=$(upstream_accepted)
    cpu0=$(cpu_ticks "$server_pid")
    run_bounded $((wrk_secs + 30)) wrk "${wrk_args[@]}" -d"${wrk_secs}s" --latency --timeout 5s \
        "http://127.0.0.1:$port/static/small.bin" >"$run/wrk.txt" 2>&1 || rc=$?
    cpu1=$(cpu_ticks "$server_pid")
    after=$(upstream_accepted)
    stop_server
    if [ "$rc" != 0 ] || ! grep -q '^Requests/sec:' "$run/wrk.txt"; then
        failed "$name" "wrk exit $rc: $(tail -n 3 "$run/wrk.txt")"
        return 0
    fi
    "$report" row proxy "$round" "$server" "$(ticks_s "$cpu0" "$cpu1")" "$run/wrk.txt" \
        "$before" "$after" >>"$work/proxy-4k.tsv"
    if grep -qE 'Socket errors|Non-2xx' "$run/wrk.txt"; then
        failed "$name" "$(grep -E 'Socket errors|Non-2xx' "$run/wrk.txt" | tr -s ' \n' ' ')"
    fi
    return 0
}

# proxy-slow: measure_dialup with paced readers. Row: see report's proxy_slow_row.
run_proxy_slow() {
    local round=$1 server=$2 run name errs
    run="$work/proxy-slow/$round-$server"
    name="proxy-slow round $round $server"
    if ! measure_dialup "$server" "$slow_n" "$run" "${slow_client_args[@]}"; then
        failed "$name" "$server did not start or answer (log in $work/$server/)"
        return 0
    fi
    if ! jq -e . "$run/client.json" >/dev/null 2>&1; then
        failed "$name" "the client failed: $(head -c 300 "$run/client.err")"
        return 0
    fi
    "$report" row proxy-slow "$round" "$run/client.json" "$run/server.json" \
        >>"$work/proxy-slow.tsv"
    if [ -e "$run/samples.txt.limit" ]; then
        failed "$name" "stopped: RSS passed the limit of $((rss_limit_kib / 1024)) MiB"
    fi
    errs=$(jq -r '.error_kinds | to_entries | map(select(.value > 0) | "\(.key) \(.value)")
        | join(", ")' "$run/client.json")
    if [ -n "$errs" ]; then failed "$name" "client errors: $errs"; fi
    return 0
}

# --- the plan ----------------------------------------------------------------------------------

estimate=0
for w in "${workload_list[@]}"; do
    case "$w" in
    proxy-4k) per=$((warm_secs + wrk_secs + 3)) ;;
    proxy-slow) per=$((slow_n / dialup_ramp + slow_size / slow_rate + 3)) ;;
    esac
    estimate=$((estimate + per * rounds * ${#server_list[@]}))
done
note "servers ${server_list[*]}; workloads ${workload_list[*]}; $rounds round(s);" \
    "upstream on port $upstream_port; about $(((estimate + 59) / 60)) minutes"

date_tag=$(date +%F)
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now_us)

for w in "${workload_list[@]}"; do
    case "$w" in
    proxy-4k) printf 'round\tserver\trps\tp99_ms\terrors\tus_req\tup_opened\tup_per_req\n' \
        >"$work/$w.tsv" ;;
    proxy-slow) printf 'round\tserver\tn\tcompleted\terrors\trss_mib\trss_per_n_kib\tdelta_per_n_kib\ttcp_mib\tcpu_s\tthreads\tlimit\n' \
        >"$work/$w.tsv" ;;
    esac
    for round in $(seq 1 "$rounds"); do
        note "$w, round $round of $rounds"
        for s in "${server_list[@]}"; do
            case "$w" in
            proxy-4k) run_proxy_4k "$round" "$s" ;;
            proxy-slow) run_proxy_slow "$round" "$s" ;;
            esac
        done
    done
done
elapsed_min=$(awk -v us=$(($(now_us) - t_start)) 'BEGIN { printf "%.1f", us / 6e7 }')

# --- the results file --------------------------------------------------------------------------

results="$out_dir/$date_tag-proxy.md"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+=" (with uncommitted changes)"
fi
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
server_line() {
    case "$1" in
    dialtone) echo "dialtone: $(server_version dialtone) (this tree, Release), the proxy plugin" ;;
    nginx) echo "nginx: $(server_version nginx | sed 's/^nginx version: //') (Debian $(pkg_version nginx))" ;;
    h2o) echo "H2O: $(server_version h2o) (Debian $(pkg_version h2o))" ;;
    haproxy) echo "HAProxy: $(server_version haproxy | sed 's/ - https.*//') (Debian $(pkg_version haproxy))" ;;
    varnish) echo "Varnish: $(server_version varnish) (Debian $(pkg_version varnish)), every request passed: a proxy, not a cache" ;;
    esac
}

for w in "${workload_list[@]}"; do
    case "$w" in
    proxy-4k) "$report" summarize "$work/$w.tsv" server rps,p99_ms,errors,us_req,up_opened,up_per_req \
        >"$work/$w.sum" ;;
    proxy-slow) "$report" summarize "$work/$w.tsv" server \
        completed,errors,rss_mib,delta_per_n_kib,rss_per_n_kib,tcp_mib,cpu_s,threads,limit \
        >"$work/$w.sum" ;;
    esac
done

{
    echo "# Proxy benchmarks: dialtone beside nginx, H2O, HAProxy and Varnish — $date_tag"
    echo
    if [ "$quick" = 1 ]; then
        echo "**A --quick run (short, one round, small N, slow clients at 10× the rate): it checks" \
            "the script, its numbers mean little.**"
        echo
    fi
    echo "- run: $started_at, $elapsed_min minutes; \`bench/proxy.sh${args_given:+ $args_given}\`"
    echo "- commit: $commit"
    echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))," \
        "Linux $(uname -r), $(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM," \
        "open-files hard limit $(ulimit -Hn); load average at the start $load_at_start"
    for s in "${server_list[@]}"; do echo "- $(server_line "$s")"; done
    echo "- upstream: dialtone's static plugin (this tree) on a port of its own, $workers workers," \
        "started once for the whole run; every proxy fetches /static/ from it"
    echo "- clients: $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'); \`dialup_client\` from this tree"
    echo "- $rounds round(s) per workload, the proxies in turn within each round; every run starts" \
        "its proxy afresh and stops it after. Cells: median over the rounds, with the spread" \
        "(min–max) when they differ. Ratios: dialtone's median over the peer's."
    echo "- every proxy: $workers workers (threads or processes; Varnish: $workers thread pools)," \
        "no access log, keep-alive to clients 60 s and to the upstream; configs in bench/configs/"
    echo

    if selected proxy-4k; then
        echo "## 4 KiB through the proxy, keep-alive (\`proxy-4k\`)"
        echo
        echo "\`wrk ${wrk_args[*]} -d${wrk_secs}s --latency --timeout 5s\` after a ${warm_secs} s" \
            "warm-up (wrk, the proxy and the upstream share the $(nproc) CPUs). errors: socket" \
            "errors + non-2xx. proxy CPU: the proxy's user + system time (not the upstream's) over" \
            "the requests wrk completed. upstream conns: connections the upstream accepted during" \
            "the measured run (its status counter \`accepted\` before and after, less the" \
            "connection the second reading came on), in all and per request."
        echo
        "$report" table "$work/proxy-4k.sum" "server=server:key" "req/s=rps:0" \
            "p99 latency ms=p99_ms:2" "errors=errors:0" "proxy CPU µs/req=us_req:1" \
            "upstream conns=up_opened:0" "upstream conns/req=up_per_req:4"
        echo
        "$report" ratios "$work/proxy-4k.sum" "" "" "req/s (higher is better)=rps" \
            "p99 latency (lower is better)=p99_ms" "CPU per request (lower is better)=us_req"
        echo
    fi

    if selected proxy-slow; then
        echo "## $slow_n slow clients downloading 1 MiB through the proxy at $slow_rate B/s (\`proxy-slow\`)"
        echo
        echo "\`dialup_client -n $slow_n --ramp-per-sec $dialup_ramp ${slow_client_args[*]}\`:" \
            "each connection makes one request and reads the response at $slow_rate B/s (MSS" \
            "1460 and a 16 KiB receive buffer, so the client's kernel holds little); the" \
            "upstream sends at full speed, so whatever the proxy has read and the client has not" \
            "taken waits in the proxy, in its kernel send buffers, or (nginx) in a temporary" \
            "file. peak RSS: summed over the proxy's processes, every 200 ms; ΔRSS/N: (peak − RSS" \
            "before) / N; TCP mem: the machine's socket buffers at their peak (every socket:" \
            "clients', proxy's, upstream's). stopped: runs where the proxy passed the RSS limit" \
            "($((rss_limit_kib / 1024)) MiB) and was killed."
        echo
        "$report" table "$work/proxy-slow.sum" "server=server:key" "done=completed:0" \
            "errors=errors:0" "peak RSS MiB=rss_mib:1" "ΔRSS/N KiB=delta_per_n_kib:1" \
            "RSS/N KiB=rss_per_n_kib:1" "TCP mem MiB=tcp_mib:1" "CPU s=cpu_s:2" \
            "threads=threads:0" "stopped=limit:0"
        echo
        "$report" ratios "$work/proxy-slow.sum" "" "" "peak RSS (lower is better)=rss_mib" \
            "RSS per client (lower is better)=delta_per_n_kib"
        echo
    fi

    echo "## The proxies' configurations"
    echo
    echo "Templates in bench/configs/ (placeholders filled at run time by bench/lib.sh):"
    echo
    echo "| server | configuration |"
    echo "|---|---|"
    for s in "${server_list[@]}"; do
        case "$s" in
        dialtone) echo "| dialtone | \`dialtone-proxy.toml\`: workers = $workers, \`[[upstream]]\` with keepalive = 64, idle_timeout_ms = 60000; \`handler = \"proxy\"\` at /static |" ;;
        nginx) echo "| nginx | \`nginx-proxy.conf\`: worker_processes $workers, \`upstream\` block with \`keepalive 64\` (keepalive_requests raised as on the client side), \`proxy_http_version 1.1\`, \`proxy_set_header Connection \"\"\`, default buffering (temporary files) |" ;;
        h2o) echo "| H2O | \`h2o-proxy.conf\`: num-threads: $workers, \`proxy.reverse.url\`, \`proxy.timeout.keepalive: 60000\` |" ;;
        haproxy) echo "| HAProxy | \`haproxy.cfg\`: nbthread $workers, \`mode http\`, \`option http-keep-alive\`, \`http-reuse safe\` |" ;;
        varnish) echo "| Varnish | \`varnish.vcl\`: \`return (pass)\` in vcl_recv (no caching), \`-s malloc,256m\`, thread_pools=$workers, backend_idle_timeout=60 |" ;;
        esac
    done
    echo
    echo "The upstream: \`dialtone-upstream.toml\` (static plugin at /static, status plugin at" \
        "/server-status)."
    echo
    echo "## Runs without figures, and errors"
    echo
    if [ -s "$failures" ]; then cat "$failures"; else echo "None: every run completed."; fi
} >"$results"

note "wrote $results"
