# shellcheck shell=bash
# shellcheck disable=SC2154 # the globals below are the caller's
# Shell code shared by the benchmark scripts (dialup.sh, soak.sh, suite.sh, proxy.sh); sourced,
# not run.
# The caller sets `prog` (its name, for messages) first. See bench/README.md.
#
# The servers: start_server NAME PORT starts dialtone, h2o, nginx or apache (or, as proxies,
# haproxy and varnish) from its template in bench/configs/ (every @KEY@ filled in here) in a
# process group of its own and sets server_pid; stop_server stops it and whatever it forked.
# start_upstream starts a proxies' upstream (dialtone's static plugin) beside it, as many as the
# caller names. They read these globals, set by the caller:
#   work            scratch folder; each server gets work/NAME/ for its config and logs
#   www             the document root, served at /static/ and, paced, at /dialup/; it holds
#                   tiny.txt (a few bytes: the servers' check, Apache's waker) and the test files
#   workers         worker threads / processes
#   rate            the paced rate in bytes/s (7000 = V.92)
#   max_n           the most connections any run opens (servers are sized above it)
#   dialtone_bin    the dialtone binary
#   baseline_bin    another dialtone binary (the server named baseline: a change measured
#                   beside the build before it, in the same run)
#   dialtone_handler  handler of dialtone's /dialup location (default dialup)
#   server_role     static (default: the servers serve www themselves) or proxy (they proxy
#                   /static/ to the upstream on upstream_port: the *-proxy templates)
#   upstream_port   the upstream's port, for server_role proxy
#   fail_timeout_ms how long a proxy leaves out an upstream that failed (server_role proxy; the
#                   peers' equivalents are filled from it where they have one)
# measure_dialup also reads dialup_client (the binary), dialup_target (the path it fetches),
# dialup_ramp (connects per second) and dialup_timeout (seconds per connection); optionally
# check_path (what the server must answer first; default /dialup/tiny.txt) and rss_limit_kib
# (the server is stopped when its RSS passes it; default none).

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
dialtone_handler=${dialtone_handler:-dialup}
server_role=${server_role:-static}
apache_modules=/usr/lib/apache2/modules
clk_tck=$(getconf CLK_TCK)

die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

sleep_until_us() {
    local d=$(($1 - $(now_us)))
    [ "$d" -le 0 ] || sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
}

# Each connection is a descriptor, in the clients as in the servers, which inherit the limit.
# Sets nofile: the limit now in force (65536 stands for unlimited in server configs).
raise_open_files() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    nofile=$(ulimit -n)
    [ "$nofile" = unlimited ] && nofile=65536
    return 0
}

# Configures and builds the tree in $1: Release, no tests, the bench clients included.
build_tree() {
    local dir=$1 log="$1/${prog%.sh}-build.log"
    note "building in $dir"
    mkdir -p "$dir"
    if ! { cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DDIALTONE_BUILD_TESTS=OFF \
        -DDIALTONE_BUILD_BENCH=ON && cmake --build "$dir" -j2; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "build failed (log: $log)"
    fi
}

# Builds the tree in $1 when $2 is 1, then sets dialtone_bin, dialup_client and hostile_client
# to the binaries in it, which must exist.
find_binaries() {
    local b
    if [ "$2" = 1 ]; then build_tree "$1"; fi
    dialtone_bin="$1/bin/dialtone"
    dialup_client="$1/bin/dialup_client"
    hostile_client="$1/bin/hostile_client"
    for b in "$dialtone_bin" "$dialup_client" "$hostile_client"; do
        [ -x "$b" ] || die "no $(basename "$b") in $1 (build without --no-build)"
    done
}

# Installs the Debian packages named that are not installed yet.
install_missing() {
    local installed p sudo=""
    local -a missing=()
    # dpkg-query fails for a package it has never heard of; the others are listed all the same.
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
        awk '$1 == "ii" { print $2 }' || true)
    for p in "$@"; do grep -qxF "$p" <<<"$installed" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    note "installing: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

# A scratch folder for the run, $work (named after $1), with the document root $www in it
# holding tiny.txt. Readable by all: servers started as root serve it as nobody.
# The start every benchmark script shares: installs `packages` (unless --no-install; the build
# tools too when it builds), checks that the `tools` are there, builds or finds the binaries,
# checks the output folder, and makes the run's work area ($work, $www) with its traps and an
# empty $failures list. Reads install, build, build_dir and out_dir; sets report and failures.
#   prepare_run WORK_NAME "PACKAGE..." "TOOL..."
prepare_run() {
    local name=$1 packages=$2 tools=$3 tool
    if [ "$install" = 1 ]; then
        if [ "$build" = 1 ]; then "$repo/.ci/deps"; fi
        # shellcheck disable=SC2086 # a list of package names
        install_missing $packages
    fi
    for tool in $tools; do
        command -v "$tool" >/dev/null || die "$tool is missing (run without --no-install)"
    done
    find_binaries "$build_dir" "$build"
    # shellcheck disable=SC2034 # the caller's: bench/report, which makes every figure
    report="$bench_dir/report"
    mkdir -p "$out_dir" || die "cannot create $out_dir"
    [ -w "$out_dir" ] || die "cannot write to $out_dir"
    make_work "$name"
    trap cleanup_work EXIT
    trap 'note interrupted; exit 130' INT TERM
    failures="$work/failures.txt"
    : >"$failures"
}

make_work() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$work"
    www="$work/www"
    mkdir -p "$www"
    echo ok >"$www/tiny.txt" # the servers' check, and what apache_waker fetches
    chmod 644 "$www/tiny.txt"
}

# The EXIT trap of a script that uses make_work: stops what was started here, copies the
# scratch folder to $keep_dir when that is set, removes it.
cleanup_work() {
    local rc=$?
    trap - EXIT INT TERM
    stop_started
    stop_upstreams
    if [ -n "${keep_dir:-}" ]; then
        mkdir -p "$keep_dir" && cp -r "$work"/. "$keep_dir"/ && note "kept the run's files in $keep_dir"
    fi
    rm -rf "$work"
    exit "$rc"
}

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

wait_listening() {
    local port=$1 pid=$2
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 1
        [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- processes ---------------------------------------------------------------------------------

# Runs a command in the background in a process group of its own (pid in $spawned), so that
# stopping it with kill -- -PGID also stops whatever it started (nginx's and Apache's workers, the
# client a loop is running).
spawn() {
    set -m
    "$@" &
    spawned=$!
    set +m
}

# Waits up to $2 seconds for every process of group $1 to end; 1 if some are left.
wait_group() {
    local pid=$1 grace=$2
    for _ in $(seq 1 $((grace * 10))); do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

# Stops a group we spawned: SIGTERM to all of it (a client that catches it gets to write its
# report), then SIGKILL after $2 seconds.
stop_group() {
    local pid=$1 grace=${2:-5}
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait_group "$pid" "$grace" || kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Runs a command bounded by $1 seconds in a group of its own and waits for it; $bounded_pid is
# set meanwhile, so an interrupted script's cleanup stops it at once instead of waiting.
run_bounded() {
    local secs=$1 rc=0
    shift
    spawn timeout -k 5 "$secs" "$@"
    bounded_pid=$spawned
    wait "$bounded_pid" || rc=$?
    bounded_pid=""
    return "$rc"
}

# Stops what the functions here started and are still running; for the caller's EXIT trap.
stop_started() {
    [ -n "${bounded_pid:-}" ] && stop_group "$bounded_pid" 2
    [ -n "${waker_pid:-}" ] && stop_group "$waker_pid" 2
    [ -n "${sampler_pid:-}" ] && stop_group "$sampler_pid" 2
    [ -n "${server_pid:-}" ] && stop_server
    bounded_pid="" waker_pid="" sampler_pid=""
}

# --- servers -----------------------------------------------------------------------------------

# Fills template bench/configs/$1 into $2: each KEY=VALUE argument replaces @KEY@. A placeholder
# left over is a mistake in the template or here, not something to serve with.
render_config() {
    local src="$bench_dir/configs/$1" dst=$2 text kv
    shift 2
    text=$(<"$src")
    for kv in "$@"; do text=${text//"@${kv%%=*}@"/"${kv#*=}"}; done
    if [[ $text =~ @[A-Z_]+@ ]]; then die "$src: nothing fills ${BASH_REMATCH[0]}"; fi
    printf '%s\n' "$text" >"$dst"
}

# Connections a server must accept: above the largest N (so none is refused), below the
# descriptors a process has.
connection_limit() {
    local limit=$((max_n + 100))
    [ "$limit" -gt $((nofile - 50)) ] && limit=$((nofile - 50))
    echo "$limit"
}

# The template of server $1 in the current role: NAME.EXT, or NAME-proxy.EXT as a proxy.
template() {
    if [ "$server_role" = proxy ]; then echo "$1-proxy.$2"; else echo "$1.$2"; fi
}

start_dialtone() {
    local dir=$1 port=$2 rate_setting=""
    if [ "$dialtone_handler" = dialup ]; then
        rate_setting='modem = "V.92"'
        [ "$rate" = 7000 ] || rate_setting="bits_per_second = $((rate * 8))"
    fi
    render_config "$(template dialtone toml)" "$dir/dialtone.toml" PORT="$port" \
        WORKERS="$workers" WWW="$www" MAX_CONNECTIONS="$(connection_limit)" \
        DIALUP_HANDLER="$dialtone_handler" DIALUP_RATE="$rate_setting" \
        UPSTREAM_PORT="${upstream_port:-}" FAIL_TIMEOUT_MS="${fail_timeout_ms:-}"
    [ -x "$dialtone_bin" ] || die "no dialtone binary at $dialtone_bin"
    if ! "$dialtone_bin" --check --config "$dir/dialtone.toml" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        note "dialtone refused $dir/dialtone.toml"
        return 1
    fi
    spawn "$dialtone_bin" --config "$dir/dialtone.toml" >"$dir/server.log" 2>&1
}

# dialtone again, from another build: the same template and settings, another binary.
start_baseline() {
    [ -n "${baseline_bin:-}" ] || die "the baseline server needs --baseline DIR"
    local dialtone_bin=$baseline_bin
    start_dialtone "$@"
}

start_h2o() {
    local dir=$1 port=$2
    command -v h2o >/dev/null || die "h2o is missing (apt-get install h2o)"
    render_config "$(template h2o conf)" "$dir/h2o.conf" PORT="$port" WORKERS="$workers" \
        WWW="$www" DIR="$dir" RATE="$rate" MAX_CONNECTIONS="$(connection_limit)" \
        UPSTREAM_PORT="${upstream_port:-}"
    if ! h2o -t -c "$dir/h2o.conf" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        note "h2o refused $dir/h2o.conf"
        return 1
    fi
    spawn h2o -c "$dir/h2o.conf" >"$dir/server.log" 2>&1
}

start_nginx() {
    local dir=$1 port=$2
    command -v nginx >/dev/null || die "nginx is missing (apt-get install nginx)"
    mkdir -p "$dir/tmp"
    render_config "$(template nginx conf)" "$dir/nginx.conf" PORT="$port" WORKERS="$workers" \
        WWW="$www" DIR="$dir" RATE="$rate" NOFILE="$nofile" \
        WORKER_CONNECTIONS=$((nofile - 100)) UPSTREAM_PORT="${upstream_port:-}" \
        FAIL_TIMEOUT_S=$(((${fail_timeout_ms:-0} + 999) / 1000))
    if ! nginx -t -q -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" "$dir/error.log" >&2 2>/dev/null
        note "nginx refused $dir/nginx.conf"
        return 1
    fi
    spawn nginx -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/server.log" 2>&1
}

# Apache's event MPM. A process stops accepting once it holds ThreadsPerChild + idle threads x
# AsyncRequestWorkerFactor connections (mod_dialup's suspended transfers and idle keep-alive
# connections included), so the factor is set for max_n spread over the processes.
start_apache() {
    local dir=$1 port=$2 threads=64 factor
    command -v apache2 >/dev/null || die "apache2 is missing (apt-get install apache2)"
    [ -e "$apache_modules/mod_dialup.so" ] || die "no mod_dialup in $apache_modules"
    # mod_dialup knows named modem standards only; V.92 is 56,000 bit/s = 7,000 B/s.
    [ "$rate" = 7000 ] || die "apache: mod_dialup has no rate $rate B/s (only V.92 = 7000)"
    factor=$(((max_n / workers + threads) * 2 / threads))
    [ "$factor" -lt 2 ] && factor=2
    render_config apache2.conf "$dir/apache2.conf" PORT="$port" WORKERS="$workers" WWW="$www" \
        DIR="$dir" MODULES="$apache_modules" THREADS="$threads" \
        MAX_WORKERS=$((workers * threads)) ASYNC_FACTOR="$factor"
    if ! apache2 -t -f "$dir/apache2.conf" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        note "apache2 refused $dir/apache2.conf"
        return 1
    fi
    spawn apache2 -f "$dir/apache2.conf" -DFOREGROUND >"$dir/server.log" 2>&1
}

# HAProxy, a proxy only: nbthread and maxconn in haproxy.cfg; -db keeps it in the foreground.
start_haproxy() {
    local dir=$1 port=$2
    command -v haproxy >/dev/null || die "haproxy is missing (apt-get install haproxy)"
    [ "$server_role" = proxy ] || die "haproxy runs here as a proxy only"
    # HAProxy sizes its descriptors from maxconn (two per proxied connection) and refuses to
    # start when that passes the hard limit: half the descriptors, less a margin.
    local maxconn
    maxconn=$(connection_limit)
    [ "$maxconn" -le $(((nofile - 100) / 2)) ] || maxconn=$(((nofile - 100) / 2))
    render_config haproxy.cfg "$dir/haproxy.cfg" PORT="$port" WORKERS="$workers" \
        MAX_CONNECTIONS="$maxconn" UPSTREAM_PORT="$upstream_port"
    if ! haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        note "haproxy refused $dir/haproxy.cfg"
        return 1
    fi
    spawn haproxy -db -f "$dir/haproxy.cfg" >"$dir/server.log" 2>&1
}

# Varnish, a proxy only (varnish.vcl passes every request). Its threads serve one session
# each, so the pools are sized for max_n (a passed request may use a second thread for its
# fetch); thread_pools = $workers. -n keeps its state in the run's folder; started as root, its
# cache process runs as Debian's vcache user.
start_varnish() {
    local dir=$1 port=$2 per_pool
    command -v varnishd >/dev/null || die "varnishd is missing (apt-get install varnish)"
    [ "$server_role" = proxy ] || die "varnish runs here as a proxy only"
    render_config varnish.vcl "$dir/varnish.vcl" UPSTREAM_PORT="$upstream_port"
    chmod 644 "$dir/varnish.vcl"
    per_pool=$(((2 * max_n) / workers + 100))
    [ "$per_pool" -lt 100 ] && per_pool=100
    local -a args=(-a "127.0.0.1:$port" -T 127.0.0.1:0 -f "$dir/varnish.vcl" -s "malloc,256m"
        -n "$dir/state" -p thread_pools="$workers" -p thread_pool_min=100
        -p thread_pool_max="$per_pool" -p backend_idle_timeout=60 -p timeout_idle=60)
    if ! varnishd -C "${args[@]}" >"$dir/check.log" 2>&1; then
        tail -n 20 "$dir/check.log" >&2
        note "varnishd refused $dir/varnish.vcl"
        return 1
    fi
    spawn varnishd -F "${args[@]}" >"$dir/server.log" 2>&1
}

# The proxies' upstreams: dialtone's static plugin (and the status plugin, whose `accepted`
# counter counts the connections the proxies open), each named, in work/NAME/, its pid in
# upstream_pids[NAME]. stop_started leaves them running for the next server.
declare -A upstream_pids=()

# Starts upstream $1 on port $2, closing idle keep-alive connections after $3 ms, and waits until
# it listens; 1 (with a note) if it does not. Its log is appended to, so a restart keeps it.
start_upstream() {
    local name=$1 port=$2 keepalive_ms=$3 dir="$work/$1"
    mkdir -p "$dir"
    render_config dialtone-upstream.toml "$dir/dialtone.toml" PORT="$port" WORKERS="$workers" \
        WWW="$www" MAX_CONNECTIONS=$((nofile - 100)) KEEPALIVE_MS="$keepalive_ms"
    "$dialtone_bin" --check --config "$dir/dialtone.toml" >"$dir/check.log" 2>&1 ||
        die "dialtone refused $dir/dialtone.toml: $(cat "$dir/check.log")"
    spawn "$dialtone_bin" --config "$dir/dialtone.toml" >>"$dir/server.log" 2>&1
    upstream_pids[$name]=$spawned
    if ! wait_listening "$port" "$spawned"; then
        note "upstream $name did not start listening on $port: $(tail -n 5 "$dir/server.log")"
        stop_upstream "$name"
        return 1
    fi
}

# Kills upstream $1 with SIGKILL, a crash: no grace, its connections reset or cut by the kernel.
kill_upstream() {
    local pid=${upstream_pids[$1]:-}
    [ -n "$pid" ] || return 0
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "upstream_pids[$1]"
}

# Stops upstream $1, if it runs.
stop_upstream() {
    local pid=${upstream_pids[$1]:-}
    [ -n "$pid" ] || return 0
    stop_group "$pid" 10
    unset "upstream_pids[$1]"
}

# Stops every upstream still running; at the end of a run.
stop_upstreams() {
    local name
    for name in "${!upstream_pids[@]}"; do stop_upstream "$name"; done
}

# Starts server $1 on port $2 and waits until it listens; 1 (with a note) if it does not.
start_server() {
    local name=$1 port=$2 dir="$work/$1"
    declare -F "start_$name" >/dev/null || die "unknown server: $name"
    mkdir -p "$dir"
    "start_$name" "$dir" "$port" || return 1
    server_pid=$spawned
    server_name=$name
    if ! wait_listening "$port" "$server_pid"; then
        note "$name did not start listening on $port: $(tail -n 5 "$dir"/*.log 2>/dev/null)"
        stop_server
        return 1
    fi
}

# SIGTERM to the server's main process (each of them stops its workers on it), then SIGKILL to
# whatever of its group is left after 10 s.
stop_server() {
    [ -n "${server_pid:-}" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    if ! wait_group "$server_pid" 10; then
        note "$server_name ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL -- "-$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# One line naming server $1's version.
server_version() {
    case "$1" in
    dialtone) "$dialtone_bin" --version 2>&1 | head -n 1 ;;
    baseline) "$baseline_bin" --version 2>&1 | head -n 1 ;;
    h2o) h2o --version 2>&1 | head -n 1 ;;
    nginx) nginx -v 2>&1 | head -n 1 ;;
    apache) apache2 -v 2>&1 | head -n 1 ;;
    haproxy) haproxy -v 2>&1 | head -n 1 ;;
    varnish) varnishd -V 2>&1 | head -n 1 ;;
    esac
}

# Status of GET $2 from the server on port $1.
fetch_status() {
    curl -sS -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
}

# mod_dialup's timers run only when something wakes the event MPM's listener (see README.md):
# a new connection every 100 ms does. Each process has a listening socket of its own
# (ListenCoresBucketsRatio in apache2.conf) and the kernel spreads the connections over them, so
# every process's listener is woken several times a second.
apache_waker() {
    curl -s --rate 10/s -H 'Connection: close' -m 3600 \
        "http://127.0.0.1:$1/static/tiny.txt?[1-1000000]" >/dev/null 2>&1 || true
}

# --- measurements ------------------------------------------------------------------------------

# The server's processes: its main pid and direct children (nginx's and Apache's workers).
server_pids() {
    local pid=$1 kids=""
    [ -r "/proc/$pid/task/$pid/children" ] && kids=$(<"/proc/$pid/task/$pid/children")
    # shellcheck disable=SC2086 # one pid per word
    echo "$pid" $kids
}

# utime + stime in clock ticks, summed over the server's processes.
cpu_ticks() {
    local total=0 pid stat rest
    local -a f
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

# Seconds between two tick counts.
ticks_s() { awk -v a="$1" -v b="$2" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }'; }

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

# Kernel memory of every TCP socket on the machine, KiB (/proc/net/sockstat counts pages):
# where the bytes a server has written and the client has not read yet wait.
tcp_mem_kib() {
    local proto rest i
    local -a f
    while read -r proto rest; do
        [ "$proto" = TCP: ] || continue
        read -r -a f <<<"$rest"
        for i in "${!f[@]}"; do
            [ "${f[i]}" = mem ] && echo $((f[i + 1] * $(getconf PAGESIZE) / 1024)) && return
        done
    done </proc/net/sockstat
    echo 0
}

# A line "rss hwm threads tcp-KiB" (status_sums and tcp_mem_kib) every 200 ms while the server
# runs. With $3 (KiB) set, a server whose RSS passes it is killed (its whole group) and the
# file $2.limit says so: a runaway server must not take the machine's memory.
sampler() {
    local rss rest
    while kill -0 "$1" 2>/dev/null; do
        read -r rss rest < <(status_sums "$1")
        echo "$rss $rest $(tcp_mem_kib)" >>"$2"
        if [ "${3:-0}" -gt 0 ] && [ "$rss" -gt "$3" ]; then
            echo "$rss" >"$2.limit"
            kill -KILL -- "-$1" 2>/dev/null || true
            return
        fi
        sleep 0.2
    done
}

# One dialup run: starts server $1 on a free port, checks it answers, samples the server
# while $dialup_client makes $2 downloads (arguments after $3 go to the client too), stops the
# server. Leaves in folder $3: client.json (the client's report),
# client.err, samples.txt and server.json (base and peak RSS KiB, peak threads, server and
# machine CPU seconds during the client's run, the client's exit status). 1 when the server did
# not start or answer.
measure_dialup() {
    local server=$1 n=$2 run=$3 port status cpu0 cpu1 mach0 mach1 base_rss client_rc=0
    shift 3
    mkdir -p "$run"
    port=$(free_port)
    start_server "$server" "$port" || return 1
    if [ "$server" = apache ]; then
        spawn apache_waker "$port"
        waker_pid=$spawned
    fi
    # The paced location answers: a GET of a few bytes (mod_dialup never answers a HEAD).
    status=$(fetch_status "$port" "${check_path:-/dialup/tiny.txt}")
    if [ "$status" != 200 ]; then
        note "$server answered GET ${check_path:-/dialup/tiny.txt} with $status"
        stop_started
        return 1
    fi
    read -r base_rss _ < <(status_sums "$server_pid")
    cpu0=$(cpu_ticks "$server_pid")
    mach0=$(machine_ticks)
    spawn sampler "$server_pid" "$run/samples.txt" "${rss_limit_kib:-0}"
    sampler_pid=$spawned
    run_bounded $((n / dialup_ramp + dialup_timeout + 30)) "$dialup_client" --port "$port" \
        --path "$dialup_target" -n "$n" --ramp-per-sec "$dialup_ramp" \
        --timeout-sec "$dialup_timeout" --expect-rate "$rate" --json "$@" \
        >"$run/client.json" 2>"$run/client.err" || client_rc=$?
    cpu1=$(cpu_ticks "$server_pid")
    mach1=$(machine_ticks)
    stop_started
    local peak_rss peak_thr peak_tcp limit_hit=false
    read -r peak_rss peak_thr peak_tcp < <(awk '{ if ($1 > r) r = $1; if ($3 > t) t = $3
        if ($4 > m) m = $4 } END { print r + 0, t + 0, m + 0 }' "$run/samples.txt" 2>/dev/null ||
        echo 0 0 0)
    [ -e "$run/samples.txt.limit" ] && limit_hit=true
    printf '{"server": "%s", "n": %d, "base_rss_kib": %d, "peak_rss_kib": %d, "peak_threads": %d, "peak_tcp_kib": %d, "rss_limit_hit": %s, "cpu_s": %s, "mach_s": %s, "client_rc": %d}\n' \
        "$server" "$n" "$base_rss" "$peak_rss" "$peak_thr" "$peak_tcp" "$limit_hit" \
        "$(ticks_s "$cpu0" "$cpu1")" "$(ticks_s "$mach0" "$mach1")" "$client_rc" \
        >"$run/server.json"
}
