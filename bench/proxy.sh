#!/usr/bin/env bash
# The proxy benchmarks: dialtone's proxy plugin beside nginx, H2O, HAProxy and Varnish as
# reverse proxies, in one run, each in front of the same upstream (dialtone's static plugin on a
# port of its own, started once for the whole run; the two failure workloads have upstreams of
# their own). Writes bench/results/<date>-proxy.md: a table per workload (median and spread over
# rounds, dialtone's ratio to each peer). See bench/README.md ("The proxy benchmarks") for what
# each figure means.
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
all_workloads=proxy-4k,proxy-slow,proxy-idle-race,proxy-restart

usage() {
    cat <<EOF
usage: bench/proxy.sh [options]

  --quick             a smoke test: 3 s wrk runs, 1 round, 200 slow clients reading at 10x
                      the rate (15 s a run), 10,000 requests in proxy-idle-race
  --only LIST         workloads, comma-separated (default: all):
                        proxy-4k    wrk -t2 -c64 keep-alive GETs of a 4 KiB file through the
                                    proxy: req/s, p99, errors, the proxy's CPU per request,
                                    upstream connections opened per request once warm
                        proxy-slow  N slow clients reading a 1 MiB file through the proxy at
                                    7,000 B/s: completions, errors, peak RSS, RSS per client
                        proxy-idle-race  an upstream that closes idle keep-alive connections
                                    after 150 ms, 100,000 GETs from 500 connections in waves
                                    100-200 ms apart: requests, errors seen by clients by
                                    kind, upstream connections opened
                        proxy-restart  64 connections of back-to-back GETs; the upstream is
                                    killed (SIGKILL) 3 s in and restarted 4 s later: a
                                    timeline by seconds, errors outside the outage (the kill
                                    to fail_timeout after the return: must be 0), the time
                                    from the return to the first second of only 2xx
  --servers LIST      comma-separated (default: $all_servers)
  --rounds N          rounds per workload (default 3; --quick: 1)
  --slow-n N          slow clients (default 10,000, or what the descriptor limit allows a
                      one-process proxy: 2 per client; --quick: 200)
  --slow-rate B       bytes/s each slow client reads (default 7000; --quick: 70000)
  --rss-limit-mib M   stop a proxy whose RSS passes M MiB (default: half the memory available
                      at the start); the row says so
  --fail-timeout-ms MS  how long a proxy leaves out a failed upstream (dialtone's
                      fail_timeout_ms, nginx's fail_timeout; default 3000); proxy-restart's
                      allowance for the return
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
fail_timeout_ms=3000
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
    --fail-timeout-ms) fail_timeout_ms=$2; shift 2 ;;
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
is_uint "$fail_timeout_ms" || die "--fail-timeout-ms: not a positive integer: $fail_timeout_ms"
# Both failure workloads run hostile_client --mode keepalive through the proxy (keep-alive GETs
# of the 4 KiB file; outcomes counted by kind and by moment; a request unanswered for 5 s fails).
keepalive_client=(--mode keepalive --path /static/small.bin --timeout-ms 5000 --rate 5000)
# proxy-idle-race: an upstream of its own closes idle keep-alive connections after
# race_keepalive_ms, while the proxies keep theirs 60 s. The clients send in waves a random
# 100-200 ms apart (each answered connection waits for the next wave), so a proxy's upstream
# connections are reused about when the upstream closes them: with a gap of each connection's
# own, the load is smooth, a shared pool reuses its few hottest connections and few ever idle
# that long (README.md). 500 connections make about 3,000 requests a second: 100,000 in 30 s.
race_keepalive_ms=150
race_gap_ms=(100 200)
race_conns=500
race_requests=$((quick ? 10000 : 100000))
race_secs=$((race_requests / 1000 + 30)) # the bound, should the proxy be slow
# proxy-restart: back-to-back requests on 64 connections; the upstream (one of its own) is
# killed restart_kill_s into the run and restarted restart_down_s later. The run lasts until
# fail_timeout_ms after the return, and 4 s more in which any error counts against the proxy.
restart_conns=64
restart_kill_s=3
restart_down_s=4
restart_secs=$((restart_kill_s + restart_down_s + (fail_timeout_ms + 999) / 1000 + 4))
restart_bucket_ms=100
# The most connections a run opens; the proxies' connection limits are sized above it.
max_n=$((slow_n > race_conns ? slow_n : race_conns))

# --- packages and build ------------------------------------------------------------------------

prepare_run dialtone-proxy "wrk nginx h2o haproxy varnish jq curl" "wrk jq curl python3"

# --- work area and the upstream ----------------------------------------------------------------

head -c 4096 /dev/urandom >"$www/small.bin"
head -c "$slow_size" /dev/urandom >"$www/big.bin"
chmod 644 "$www"/*

upstream_port=$(free_port)
start_upstream upstream "$upstream_port" 60000 || die "the upstream did not start"
[ "$(fetch_status "$upstream_port" /static/small.bin)" = 200 ] || die "the upstream does not serve"
if selected proxy-idle-race; then
    race_port=$(free_port)
    start_upstream race "$race_port" "$race_keepalive_ms" || die "the race upstream did not start"
fi

# Records a run that produced no figures, or errors; the results file lists them.
failed() {
    note "$1: $2"
    printf -- '- %s: %s\n' "$1" "$2" >>"$failures"
}

# The count of connections the upstream on upstream_port accepted since it started (the status
# plugin's totals).
upstream_accepted() {
    curl -sS -m 5 "http://127.0.0.1:$upstream_port/server-status/json" 2>/dev/null |
        jq -r '.totals.accepted // "-"' 2>/dev/null || echo -
}

# --- the runs ----------------------------------------------------------------------------------

# Starts server $2 on a free port (sets port) and checks it answers through the upstream on
# upstream_port; 1 when it does not (recorded as failed for run $1).
start_checked() {
    local name=$1 server=$2 status
    port=$(free_port)
    if ! start_server "$server" "$port"; then
        failed "$name" "$server did not start (log in $work/$server/)"
        return 1
    fi
    status=$(fetch_status "$port" /static/small.bin)
    if [ "$status" != 200 ]; then
        stop_server
        failed "$name" "$server answered GET /static/small.bin with $status"
        return 1
    fi
}

# proxy-4k: a warm-up, then one wrk run with the upstream's accepted count read before and after.
# Row: round server rps p99_ms errors us_req up_opened up_per_req.
run_proxy_4k() {
    local round=$1 server=$2 run name cpu0 cpu1 before after rc=0
    run="$work/proxy-4k/$round-$server"
    name="proxy-4k round $round $server"
    mkdir -p "$run"
    start_checked "$name" "$server" || return 0
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

# After a failure workload's run of server $1 in folder $2: keeps the proxy's logs beside the
# client's report, and prints the errors the client saw with the proxy's last log lines (nothing
# when the client saw none).
client_errors_note() {
    local server=$1 run=$2 errs
    cp "$work/$server"/*.log "$run/" 2>/dev/null || true
    errs=$("$report" client-errors "$run/client.txt")
    [ -n "$errs" ] || return 0
    echo "client errors: $errs; the proxy's last log lines: $(grep -hv '^$' "$run"/server.log \
        "$run"/error.log 2>/dev/null | tail -n 5 | tr '\n' ' ' | cut -c1-600)"
}

# proxy-idle-race: hostile_client through the proxy to the race upstream, whose accepted count
# is read before and after. Row: see report's idle_race_row.
run_proxy_idle_race() {
    local round=$1 server=$2 run name before after rc=0 note upstream_port=$race_port
    run="$work/proxy-idle-race/$round-$server"
    name="proxy-idle-race round $round $server"
    mkdir -p "$run"
    start_checked "$name" "$server" || return 0
    before=$(upstream_accepted)
    run_bounded $((race_secs + 30)) "$hostile_client" "${keepalive_client[@]}" --port "$port" \
        -n "$race_conns" --requests "$race_requests" --waves --gap-min-ms "${race_gap_ms[0]}" \
        --gap-max-ms "${race_gap_ms[1]}" --duration-sec "$race_secs" \
        --timeline "$run/timeline.tsv" >"$run/client.txt" 2>"$run/client.err" || rc=$?
    after=$(upstream_accepted)
    stop_server
    if [ "$rc" != 0 ] || ! grep -q '^keepalive.responses' "$run/client.txt"; then
        failed "$name" "the client failed (exit $rc): $(head -c 300 "$run/client.err")"
        return 0
    fi
    "$report" row proxy-idle-race "$round" "$server" "$run/client.txt" "$before" "$after" \
        >>"$work/proxy-idle-race.tsv"
    note=$(client_errors_note "$server" "$run")
    if [ -n "$note" ]; then failed "$name" "$note"; fi
    return 0
}

# proxy-restart: hostile_client through the proxy to an upstream of the run's own, killed and
# restarted on the same port while the client runs. Row: see report's restart_row.
run_proxy_restart() {
    local round=$1 server=$2 run name t_kill t_back=- rc=0 row upstream_port
    run="$work/proxy-restart/$round-$server"
    name="proxy-restart round $round $server"
    mkdir -p "$run"
    upstream_port=$(free_port)
    if ! start_upstream restart "$upstream_port" 60000; then
        failed "$name" "its upstream did not start"
        return 0
    fi
    if ! start_checked "$name" "$server"; then
        stop_upstream restart
        return 0
    fi
    spawn timeout -k 5 $((restart_secs + 30)) "$hostile_client" "${keepalive_client[@]}" \
        --port "$port" -n "$restart_conns" --duration-sec "$restart_secs" \
        --bucket-ms "$restart_bucket_ms" --timeline "$run/timeline.tsv" \
        >"$run/client.txt" 2>"$run/client.err"
    bounded_pid=$spawned
    sleep "$restart_kill_s"
    t_kill=$(now_us)
    kill_upstream restart
    sleep "$restart_down_s"
    # The return is the moment it is seen listening again (polled every 100 ms).
    if start_upstream restart "$upstream_port" 60000; then t_back=$(now_us); fi
    wait "$bounded_pid" || rc=$?
    bounded_pid=""
    stop_server
    stop_upstream restart
    # The moments on the script's clock (µs since the epoch), kept for bench/report.
    printf 'kill_us\t%s\nback_us\t%s\n' "$t_kill" "$t_back" >"$run/events.tsv"
    cp "$work/restart/server.log" "$run/upstream.log" 2>/dev/null || true
    rm -f "$work/restart/server.log"
    if [ "$rc" != 0 ] || ! grep -q '^keepalive.responses' "$run/client.txt"; then
        failed "$name" "the client failed (exit $rc): $(head -c 300 "$run/client.err")"
        return 0
    fi
    [ "$t_back" != - ] || failed "$name" "the upstream did not come back on port $upstream_port"
    row=$("$report" row proxy-restart "$round" "$server" "$run/client.txt" "$run/timeline.tsv" \
        "$t_kill" "$t_back" "$fail_timeout_ms" "$run/seconds.tsv")
    echo "$row" >>"$work/proxy-restart.tsv"
    # Errors during the outage are expected; a run that did not pass (its last cell) is listed.
    if [ "${row##*$'\t'}" != 1 ]; then
        failed "$name" "errors outside the outage, or no clean second within the fail timeout of the return: $(client_errors_note "$server" "$run")"
    else
        client_errors_note "$server" "$run" >/dev/null
    fi
    return 0
}

# --- the plan ----------------------------------------------------------------------------------

estimate=0
for w in "${workload_list[@]}"; do
    case "$w" in
    proxy-4k) per=$((warm_secs + wrk_secs + 3)) ;;
    proxy-slow) per=$((slow_n / dialup_ramp + slow_size / slow_rate + 3)) ;;
    proxy-idle-race) per=$((race_requests / 3000 + 3)) ;;
    proxy-restart) per=$((restart_secs + 3)) ;;
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
    proxy-idle-race) printf 'round\tserver\trequests\terrors\tsocket\tconnect\tclosed\treset\ttimeout\tprotocol\tnon2xx\ts502\ts503\ts504\tother\tup_opened\n' \
        >"$work/$w.tsv" ;;
    proxy-restart) printf 'round\tserver\trequests\ts2xx\tnon2xx\tsocket\tinside\toutside\trecovery_ms\tfail_timeout_ms\tpass\n' \
        >"$work/$w.tsv" ;;
    esac
    for round in $(seq 1 "$rounds"); do
        note "$w, round $round of $rounds"
        for s in "${server_list[@]}"; do
            case "$w" in
            proxy-4k) run_proxy_4k "$round" "$s" ;;
            proxy-slow) run_proxy_slow "$round" "$s" ;;
            proxy-idle-race) run_proxy_idle_race "$round" "$s" ;;
            proxy-restart) run_proxy_restart "$round" "$s" ;;
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
    proxy-idle-race) "$report" summarize "$work/$w.tsv" server \
        requests,errors,socket,connect,closed,reset,timeout,protocol,non2xx,s502,s503,s504,other,up_opened \
        >"$work/$w.sum" ;;
    proxy-restart) "$report" summarize "$work/$w.tsv" server \
        requests,s2xx,non2xx,socket,inside,outside,recovery_ms,fail_timeout_ms,pass >"$work/$w.sum" ;;
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
        "started once for the whole run; every proxy fetches /static/ from it (proxy-idle-race" \
        "and proxy-restart: upstreams of their own, below)"
    echo "- clients: $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'); \`dialup_client\` and" \
        "\`hostile_client --mode keepalive\` from this tree"
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

    if selected proxy-idle-race; then
        echo "## An upstream that closes idle keep-alive connections first (\`proxy-idle-race\`)"
        echo
        echo "An upstream of its own closes idle keep-alive connections after" \
            "${race_keepalive_ms} ms (\`keepalive_ms\`); every proxy keeps its upstream" \
            "connections 60 s. \`hostile_client ${keepalive_client[*]} -n $race_conns" \
            "--requests $race_requests --waves --gap-min-ms ${race_gap_ms[0]} --gap-max-ms" \
            "${race_gap_ms[1]}\`: the connections send in waves a random" \
            "${race_gap_ms[0]}–${race_gap_ms[1]} ms apart (an answered connection waits for the" \
            "next), so the proxy's upstream connections idle about that long and are reused" \
            "about when the upstream closes them; a proxy that sends a request on one the" \
            "upstream has just closed must" \
            "try it again on a new connection (GET is idempotent) or the client sees the error." \
            "**0 errors is the pass.** requests: answers of any status. socket errors: connect" \
            "(refused), closed (the proxy closed the connection before the whole response)," \
            "reset (a read error), timeout (5 s), protocol (a malformed response). upstream" \
            "conns: connections the upstream accepted during the run (its \`accepted\` before" \
            "and after, less the reading's own): each is one the upstream's close made the" \
            "proxy open again, or one a proxy opened for a new client connection."
        echo
        "$report" table "$work/proxy-idle-race.sum" "server=server:key" "requests=requests:0" \
            "errors=errors:0" "socket errors=socket:0" "closed=closed:0" "reset=reset:0" \
            "timeout=timeout:0" "connect=connect:0" "protocol=protocol:0" "non-2xx=non2xx:0" \
            "502=s502:0" "503=s503:0" "504=s504:0" "other=other:0" "upstream conns=up_opened:0"
        echo
    fi

    if selected proxy-restart; then
        echo "## The upstream killed and restarted under load (\`proxy-restart\`)"
        echo
        echo "\`hostile_client ${keepalive_client[*]} -n $restart_conns\`, requests back to" \
            "back for ${restart_secs} s through the proxy to an upstream of the run's own, which" \
            "is killed (SIGKILL) ${restart_kill_s} s in and restarted on the same port" \
            "${restart_down_s} s later. **The pass:** errors only from the kill until" \
            "fail_timeout (${fail_timeout_ms} ms) after the return (a ${restart_bucket_ms} ms" \
            "interval that overlaps that window counts as inside it), and a whole second of" \
            "only 2xx answers within fail_timeout of the return. recovery: from the return (the" \
            "upstream seen listening again, polled every 100 ms) to the start of the first" \
            "whole second of full service: every ${restart_bucket_ms} ms interval in it has" \
            "answers, and every answer is a 2xx. fail timeout: dialtone's" \
            "\`fail_timeout_ms\` and nginx's \`fail_timeout\`" \
            "(which nginx ignores for a single server); the others have none (below)."
        echo
        "$report" table "$work/proxy-restart.sum" "server=server:key" "requests=requests:0" \
            "2xx=s2xx:0" "non-2xx=non2xx:0" "socket errors=socket:0" \
            "errors in the outage=inside:0" "errors outside (must be 0)=outside:0" \
            "recovery ms=recovery_ms:0" "fail timeout ms=fail_timeout_ms:0" "passed (1: yes)=pass:0"
        echo
        echo "The timeline of round 1: answers per second from the kill (2xx, then each other" \
            "outcome that happened: 502×N, 503×N, socket×N for socket errors; an interval counts" \
            "in the second its start falls in)."
        echo
        timeline_cols=()
        for s in "${server_list[@]}"; do
            seconds_file="$work/proxy-restart/1-$s/seconds.tsv"
            [ -s "$seconds_file" ] && timeline_cols+=("$s=$seconds_file")
        done
        if [ ${#timeline_cols[@]} -gt 0 ]; then "$report" restart-timeline "${timeline_cols[@]}"; fi
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
        dialtone) echo "| dialtone | \`dialtone-proxy.toml\`: workers = $workers, \`[[upstream]]\` with keepalive = 64, idle_timeout_ms = 60000, max_fails = 1, fail_timeout_ms = $fail_timeout_ms; \`handler = \"proxy\"\` at /static. Retries (built in): a failed reused connection on a fresh one for idempotent methods (not counted as a try), a connect failure on another server (there is none here); an ejected group is probed by one request per worker |" ;;
        nginx) echo "| nginx | \`nginx-proxy.conf\`: worker_processes $workers, \`upstream\` block with \`keepalive 64\` (keepalive_requests raised as on the client side), \`proxy_http_version 1.1\`, \`proxy_set_header Connection \"\"\`, default buffering (temporary files); \`max_fails=1 fail_timeout=$(((fail_timeout_ms + 999) / 1000))s\` (ignored: one server is never marked unavailable); default \`proxy_next_upstream error timeout\`: a request whose cached connection fails is tried again on a new one |" ;;
        h2o) echo "| H2O | \`h2o-proxy.conf\`: num-threads: $workers, \`proxy.reverse.url\`, \`proxy.timeout.keepalive: 60000\`; 2.2 has no retry or health setting |" ;;
        haproxy) echo "| HAProxy | \`haproxy.cfg\`: nbthread $workers, \`mode http\`, \`option http-keep-alive\`, \`http-reuse safe\` (a client's first request on a connection of its own), \`retries 3\`, \`retry-on conn-failure empty-response\` (a reused connection closed before any response is retried); no health checks (their connections would count in the upstream's \`accepted\`), so a down server is tried, with up to 3 retries 1 s apart, then 503 |" ;;
        varnish) echo "| Varnish | \`varnish.vcl\`: \`return (pass)\` in vcl_recv (no caching), \`-s malloc,256m\`, thread_pools=$workers, backend_idle_timeout=60; no probe (a down backend is tried for every request: 503 on failure); a fetch that fails on a recycled connection is retried once on a new one (built in) |" ;;
        esac
    done
    echo
    echo "The upstream: \`dialtone-upstream.toml\` (static plugin at /static, status plugin at" \
        "/server-status), \`keepalive_ms = 60000\`; proxy-idle-race's" \
        "\`keepalive_ms = $race_keepalive_ms\`; proxy-restart's a fresh one per run," \
        "killed and restarted."
    echo
    echo "## Runs without figures, and errors"
    echo
    if [ -s "$failures" ]; then cat "$failures"; else echo "None: every run completed."; fi
} >"$results"

note "wrote $results"
