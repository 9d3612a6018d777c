#!/usr/bin/env bash
# The benchmark suite: dialtone beside H2O, nginx and Apache httpd in one run, on the same
# machine, the same files and the same clients. Writes bench/results/<date>.md (a table per
# workload: median and spread over rounds, dialtone's ratio to each peer) and PNG plots beside
# it. See bench/README.md ("The suite") for what each figure means.
#
#   bench/suite.sh                              everything (about 15 minutes on two cores)
#   bench/suite.sh --quick --out /tmp/suite     a smoke test of the script; the numbers mean little
#   bench/suite.sh --only static-4k,idle --servers dialtone,nginx --rounds 5
#   bench/suite.sh --baseline ../before/build --servers dialtone,baseline,nginx   a change
#                                               against the build before it, in one run
#
# Within a workload the runs go round by round, the servers in turn (A B C D A B C D ...), so a
# drift of the machine spreads over all of them. Every run starts its server afresh on a free
# loopback port from its template in bench/configs/ and stops it afterwards. Every figure (the
# rows, medians, spreads, ratios and plot data) comes from bench/report; this script runs things.
set -euo pipefail

prog=suite.sh
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

all_servers=dialtone,h2o,nginx,apache
known_servers=$all_servers,baseline
all_workloads=static-4k,static-1m,dialup,scaling,idle

usage() {
    cat <<EOF
usage: bench/suite.sh [options]

  --quick             a smoke test: 3 s wrk runs, 1 round, N = 1000 (scaling 500..2000)
  --only LIST         workloads, comma-separated (default: all):
                        static-4k  wrk -t2 -c64 keep-alive GETs of a 4 KiB file: req/s, p99
                        static-1m  the same with a 1 MiB file
                        dialup     10,000 concurrent 16 KiB downloads at 7,000 B/s: rates, cost
                        scaling    dialup at N = 1000, 2000, 5000, 10000 and the descriptor
                                   limit: RSS, RSS/N, CPU per request
                        idle       10,000 idle keep-alive connections: server bytes each
  --servers LIST      comma-separated (default: $all_servers; also: baseline)
  --baseline DIR      the server "baseline" is dialtone built in DIR (a Release build of
                      another commit, e.g. the one before a change): its figures sit beside
                      this tree's, and the ratios dialtone / baseline show the change
  --rounds N          rounds per workload (default 3; --quick: 1)
  --out DIR           where the .md and the PNGs go (default: bench/results)
  --keep DIR          also keep the run's configs, logs and raw client output in DIR
  --build-dir DIR     CMake build directory (default: <repo>/build-bench)
  --no-build          use the binaries already in the build directory
  --no-install        do not install missing Debian packages
  -h, --help          this help

Installs, when missing: the build tools (.ci/deps) and wrk h2o nginx apache2 gnuplot-nox jq
curl, with apt-get (root or sudo); needs python3 for bench/report. Traffic goes to 127.0.0.1
only.
EOF
}

servers=$all_servers
workloads=$all_workloads
rounds=""
quick=0
build=1
install=1
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
    --out) out_dir=$(realpath -m "$2"); shift 2 ;;
    --keep) keep_dir=$(realpath -m "$2"); shift 2 ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --no-install) install=0; shift ;;
    --baseline) baseline_bin=$(realpath -m "$2")/bin/dialtone; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "suite.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

IFS=, read -r -a server_list <<<"$servers"
IFS=, read -r -a workload_list <<<"$workloads"
for s in "${server_list[@]}"; do
    [[ ,$known_servers, == *,"$s",* ]] || die "unknown server: $s (known: $known_servers)"
    if [ "$s" = baseline ]; then
        [ -x "${baseline_bin:-}" ] || die "--servers baseline needs --baseline DIR with bin/dialtone in it"
    fi
done
for w in "${workload_list[@]}"; do
    [[ ,$all_workloads, == *,"$w",* ]] || die "unknown workload: $w (known: $all_workloads)"
done
rounds=${rounds:-$((quick ? 1 : 3))}
is_uint "$rounds" || die "--rounds: not a positive integer: $rounds"
selected() { [[ ,$workloads, == *,"$1",* ]]; }

# --- the workloads' settings -------------------------------------------------------------------

workers=2
rate=7000                # V.92: 56,000 bit/s
wrk_args=(-t2 -c64)      # the same for every server
wrk_secs=$((quick ? 3 : 10))
dialup_size=16384        # 2.3 s at V.92
dialup_n=$((quick ? 1000 : 10000))
dialup_ramp=10000        # connects per second (dialup_client's default)
dialup_timeout=$((3 * ((dialup_size + rate - 1) / rate) + 30))
idle_n=$((quick ? 1000 : 10000))
idle_ramp=5000           # connects per second
raise_open_files
# The client holds one descriptor per connection and so does the server; keep 1000 spare.
limit_n=$(((nofile - 1000) / 1000 * 1000))
[ "$limit_n" -ge 1000 ] || die "the open-files limit ($nofile) is too low for the suite"
if [ "$quick" = 1 ]; then
    scaling_ns=(500 1000 2000)
else
    scaling_ns=(1000 2000 5000 10000 "$limit_n")
fi
max_n=$limit_n

# --- packages and build ------------------------------------------------------------------------

prepare_run dialtone-suite "wrk h2o nginx apache2 gnuplot-nox jq curl" "wrk jq curl gnuplot python3"

# --- work area ---------------------------------------------------------------------------------

head -c 4096 /dev/urandom >"$www/small.bin"
head -c 1048576 /dev/urandom >"$www/big.bin"
head -c "$dialup_size" /dev/urandom >"$www/modem.bin"
chmod 644 "$www"/*
dialup_target=/dialup/modem.bin

# Records a run that produced no figures; the results file lists them.
failed() {
    note "$1: $2"
    printf -- '- %s: %s\n' "$1" "$2" >>"$failures"
}

# --- the runs ----------------------------------------------------------------------------------

# Starts server $2 on a free port (in $port) and checks GET $3 answers 200; 1 if not (recorded
# under run name $1).
start_checked() {
    local name=$1 server=$2 path=$3 status
    port=$(free_port)
    if ! start_server "$server" "$port"; then
        failed "$name" "$server did not start (log in $work/$server/)"
        return 1
    fi
    status=$(fetch_status "$port" "$path")
    if [ "$status" != 200 ]; then
        stop_server
        failed "$name" "$server answered GET $path with $status"
        return 1
    fi
}

# static-4k / static-1m: one wrk run. Row: round server rps p99_ms errors us_req.
run_static() {
    local workload=$1 round=$2 server=$3 path=$4 run cpu0 cpu1 rc=0
    run="$work/$workload/$round-$server"
    mkdir -p "$run"
    start_checked "$workload round $round $server" "$server" "$path" || return 0
    cpu0=$(cpu_ticks "$server_pid")
    run_bounded $((wrk_secs + 30)) wrk "${wrk_args[@]}" -d"${wrk_secs}s" --latency --timeout 5s \
        "http://127.0.0.1:$port$path" >"$run/wrk.txt" 2>&1 || rc=$?
    cpu1=$(cpu_ticks "$server_pid")
    stop_server
    if [ "$rc" != 0 ] || ! grep -q '^Requests/sec:' "$run/wrk.txt"; then
        failed "$workload round $round $server" "wrk exit $rc: $(tail -n 3 "$run/wrk.txt")"
        return 0
    fi
    "$report" row static "$round" "$server" "$(ticks_s "$cpu0" "$cpu1")" "$run/wrk.txt" \
        >>"$work/$workload.tsv"
}

# dialup / scaling: one measure_dialup run. Row: see the header written below.
run_dialup() {
    local workload=$1 round=$2 server=$3 n=$4 run name
    local -a extra=()
    run="$work/$workload/$round-$server-$n"
    name="$workload round $round $server N=$n"
    [ "$workload" = dialup ] && extra=(--rates-file "$run/rates.txt")
    if ! measure_dialup "$server" "$n" "$run" "${extra[@]}"; then
        failed "$name" "$server did not start or answer (log in $work/$server/)"
        return 0
    fi
    if ! jq -e . "$run/client.json" >/dev/null 2>&1; then
        failed "$name" "the client failed: $(head -c 300 "$run/client.err")"
        return 0
    fi
    "$report" row dialup "$round" "$run/client.json" "$run/server.json" >>"$work/$workload.tsv"
    local errs
    errs=$(jq -r '.error_kinds | to_entries | map(select(.value > 0) | "\(.key) \(.value)")
        | join(", ")' "$run/client.json")
    if [ -n "$errs" ]; then failed "$name" "client errors: $errs"; fi
    return 0
}

# "median-RSS-KiB max-threads" of five samples of the server 200 ms apart.
settled_rss() {
    for _ in 1 2 3 4 5; do
        status_sums "$1"
        sleep 0.2
    done | "$report" settled
}

# idle: N keep-alive connections that made one request each, then wait. Row: round server n
# held base_mib held_mib bytes_per_conn threads.
run_idle() {
    local round=$1 server=$2 run base held thr ready=0 bound
    run="$work/idle/$round-$server"
    mkdir -p "$run"
    start_checked "idle round $round $server" "$server" /static/small.bin || return 0
    # Warm-up at the static workloads' concurrency, so what serving requests allocates (buffers,
    # thread stacks, caches) is in the baseline and the difference is the connections' own.
    run_bounded 20 wrk "${wrk_args[@]}" -d1s "http://127.0.0.1:$port/static/small.bin" \
        >"$run/warmup.txt" 2>&1 || true
    sleep 1
    read -r base _ < <(settled_rss "$server_pid")
    # Not under timeout: the client's run is bounded by --duration-sec, and it must get exactly
    # one SIGTERM (a second one, which timeout would forward, kills it before its report).
    bound=$((idle_n / idle_ramp + 50))
    spawn "$hostile_client" --mode idle --port "$port" -n "$idle_n" --rate "$idle_ramp" \
        --path /static/small.bin --duration-sec "$bound" >"$run/client.txt" 2>"$run/client.err"
    bounded_pid=$spawned
    for _ in $(seq 1 $(((bound - 5) * 10))); do
        if grep -q '^idle.ready_s' "$run/client.txt"; then ready=1; break; fi
        kill -0 "$bounded_pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 2 # what a server frees or grows a moment after the last response
    read -r held thr < <(settled_rss "$server_pid")
    stop_group "$bounded_pid" 5
    bounded_pid=""
    stop_server
    if [ "$ready" = 0 ]; then
        failed "idle round $round $server" "not every connection got its response in time"
    fi
    "$report" row idle "$round" "$server" "$base" "$held" "$thr" "$run/client.txt" \
        >>"$work/idle.tsv"
    if grep -qE '^idle\.(connect_errors|closed_by_server|bad_responses) [1-9]' "$run/client.txt"; then
        failed "idle round $round $server" "$(grep -E '^idle\.(connect_errors|closed_by_server|bad_responses)' \
            "$run/client.txt" | tr '\n' ' ')"
    fi
    return 0
}

# --- the plan ----------------------------------------------------------------------------------

# Seconds each run takes, roughly: the load plus starting, checking and stopping a server (about
# 2 s, measured on the development machine), and for idle the warm-up and the samples.
transfer_s=$(((dialup_size + rate - 1) / rate))
estimate=0
for w in "${workload_list[@]}"; do
    case "$w" in
    static-*) per=$((wrk_secs + 2)) ;;
    dialup) per=$((dialup_n / dialup_ramp + transfer_s + 2)) ;;
    scaling) per=0; for n in "${scaling_ns[@]}"; do per=$((per + n / dialup_ramp + transfer_s + 2)); done ;;
    idle) per=$((idle_n / idle_ramp + 7)) ;;
    esac
    estimate=$((estimate + per * rounds * ${#server_list[@]}))
done
note "servers ${server_list[*]}; workloads ${workload_list[*]}; $rounds round(s);" \
    "about $(((estimate + 59) / 60)) minutes"

date_tag=$(date +%F)
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now_us)

dialup_header='round	server	n	completed	errors	fb_p1	fb_p50	fb_p99	rq_p50	on_rate	rss_mib	rss_per_n_kib	delta_per_n_kib	cpu_s	us_req	threads	mach_s	first_read'
for w in "${workload_list[@]}"; do
    case "$w" in
    static-*) printf 'round\tserver\trps\tp99_ms\terrors\tus_req\n' >"$work/$w.tsv" ;;
    dialup | scaling) echo "$dialup_header" >"$work/$w.tsv" ;;
    idle) printf 'round\tserver\tn\theld\tbase_mib\theld_mib\tbytes_per_conn\tthreads\n' >"$work/idle.tsv" ;;
    esac
    for round in $(seq 1 "$rounds"); do
        note "$w, round $round of $rounds"
        case "$w" in
        static-4k) for s in "${server_list[@]}"; do run_static "$w" "$round" "$s" /static/small.bin; done ;;
        static-1m) for s in "${server_list[@]}"; do run_static "$w" "$round" "$s" /static/big.bin; done ;;
        dialup) for s in "${server_list[@]}"; do run_dialup dialup "$round" "$s" "$dialup_n"; done ;;
        scaling)
            for n in "${scaling_ns[@]}"; do
                for s in "${server_list[@]}"; do run_dialup scaling "$round" "$s" "$n"; done
            done
            ;;
        idle) for s in "${server_list[@]}"; do run_idle "$round" "$s"; done ;;
        esac
    done
done
elapsed_min=$(awk -v us=$(($(now_us) - t_start)) 'BEGIN { printf "%.1f", us / 6e7 }')

# --- plots -------------------------------------------------------------------------------------

plot_dir="$work/plot"
mkdir -p "$plot_dir"
# One colour per server in every plot.
server_colour() {
    case "$1" in
    dialtone) echo 0x1b9e77 ;;
    baseline) echo 0x66a61e ;;
    h2o) echo 0xd95f02 ;;
    nginx) echo 0x7570b3 ;;
    apache) echo 0xe7298a ;;
    esac
}
if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then
    terminal='pngcairo noenhanced font ",10"'
else
    terminal='png noenhanced'
fi

# Requests/s per server, a panel per static workload, bars at the median with the spread.
plot_static() {
    local png=$1 panels=0 w data script="$plot_dir/static.gp"
    printf 'set terminal %s size 1200,480\nset output "%s"\n' "$terminal" "$png" >"$script"
    for w in static-4k static-1m; do selected "$w" && panels=$((panels + 1)); done
    printf 'set multiplot layout 1,%d title "requests/s, wrk %s, keep-alive (median; bars: min-max over %d rounds)"\n' \
        "$panels" "${wrk_args[*]} -d${wrk_secs}s" "$rounds" >>"$script"
    for w in static-4k static-1m; do
        selected "$w" || continue
        data="$plot_dir/$w.dat"
        "$report" plotdata static "$work/$w.sum" | while read -r s v lo hi; do
            echo "$s $v $lo $hi $(($(server_colour "$s")))"
        done >"$data"
        cat >>"$script" <<EOF
set title "$([ "$w" = static-4k ] && echo "4 KiB file" || echo "1 MiB file")"
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:*]
set offsets 0.5, 0.5, graph 0.1, 0
set grid ytics
set ylabel "requests/s"
plot "$data" using 0:2:5:xtic(1) with boxes lc rgb variable notitle, \\
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 7 ps 0.4 notitle, \\
     "" using 0:4:(sprintf("%.0f", \$2)) with labels offset 0,0.8 notitle
EOF
    done
    echo "unset multiplot" >>"$script"
    gnuplot "$script" >&2
}

# Peak RSS and CPU per request against N, a line per server.
plot_scaling() {
    local png=$1 sum="$work/scaling.sum" s plots_rss="" plots_cpu=""
    for s in "${server_list[@]}"; do
        "$report" plotdata scaling "$sum" "$s" >"$plot_dir/scaling-$s.dat"
        [ -s "$plot_dir/scaling-$s.dat" ] || continue
        plots_rss+="\"$plot_dir/scaling-$s.dat\" using 1:2:3:4 with yerrorlines lw 2 lc rgb $(server_colour "$s") title \"$s\", "
        plots_cpu+="\"$plot_dir/scaling-$s.dat\" using 1:5:6:7 with yerrorlines lw 2 lc rgb $(server_colour "$s") title \"$s\", "
    done
    [ -n "$plots_rss" ] || return 1
    gnuplot >&2 <<EOF
set terminal $terminal size 1200,480
set output "$png"
set multiplot layout 1,2 title "dialup downloads, ${dialup_size} B at $rate B/s: cost against concurrent connections (median; bars: min-max)"
set logscale x
set xrange [${scaling_ns[0]} / 1.5 : ${scaling_ns[-1]} * 1.5]
set grid
set key top left
set xlabel "concurrent connections N"
set title "peak RSS, all the server's processes"
set ylabel "MiB"
set yrange [0:*]
plot ${plots_rss%, }
set title "server CPU per completed download"
set ylabel "µs"
plot ${plots_cpu%, }
unset multiplot
EOF
}

# The distribution of per-connection rates (from first byte) in the dialup runs, as a CDF per server.
plot_rates() {
    local png=$1 s plots=""
    local -a files
    for s in "${server_list[@]}"; do
        files=("$work"/dialup/*-"$s"-*/rates.txt)
        [ -e "${files[0]}" ] || continue
        "$report" plotdata rates "$rate" "${files[@]}" >"$plot_dir/rates-$s.dat"
        if ! [ -s "$plot_dir/rates-$s.dat" ]; then
            # A key entry without a line: every body came in one read (H2O here).
            rm -f "$plot_dir/rates-$s.dat"
            plots+="NaN with lines lw 2 lc rgb $(server_colour "$s") title \"$s: no rate from first byte (each body in one read)\", "
            continue
        fi
        plots+="\"$plot_dir/rates-$s.dat\" using 1:2 with lines lw 2 lc rgb $(server_colour "$s") title \"$s\", "
    done
    [ -n "$plots" ] || return 1
    # At least 50-150% of nominal; wider when a server's rates reach further (up to 0-300%).
    local range
    local -a dats=("$plot_dir"/rates-*.dat)
    [ -e "${dats[0]}" ] || dats=()
    range=$("$report" plotdata range "${dats[@]}")
    gnuplot >&2 <<EOF
set terminal $terminal size 1000,560
set output "$png"
set title "per-connection rate from first byte, $dialup_n concurrent downloads of $dialup_size B at $rate B/s ($rounds round(s) pooled)"
set xlabel "% of nominal rate"
set ylabel "fraction of connections at or below"
set grid
set key bottom right
set xrange [$range]
set yrange [0:1]
set object 1 rectangle from 98, graph 0 to 102, graph 1 fillcolor rgb "#dddddd" fillstyle solid 0.5 noborder behind
set label 1 "±2%" at 100, graph 0.97 center
plot ${plots%, }
EOF
}

# Draws plot $2 with function $1 and links it with alt text $3; a plot that fails is noted, not
# fatal: the tables are the results, the plots only show them.
md_plot() {
    local png="$out_dir/$date_tag-$2.png"
    rm -f "$png"
    if "$1" "$png" && [ -s "$png" ]; then
        printf '![%s](%s)\n\n' "$3" "$date_tag-$2.png"
    else
        note "no $2 plot (gnuplot failed or nothing to draw)"
    fi
}

# --- the results file --------------------------------------------------------------------------

results="$out_dir/$date_tag.md"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+=" (with uncommitted changes)"
fi
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
server_line() {
    case "$1" in
    dialtone) echo "dialtone: $(server_version dialtone) (this tree, Release)" ;;
    baseline) echo "baseline: $(server_version baseline) (dialtone built in $(dirname "$(dirname "$baseline_bin")"))" ;;
    h2o) echo "H2O: $(server_version h2o) (Debian $(pkg_version h2o))" ;;
    nginx) echo "nginx: $(server_version nginx | sed 's/^nginx version: //') (Debian $(pkg_version nginx))" ;;
    apache) echo "Apache httpd: $(server_version apache | sed 's/^Server version: //'), event MPM (Debian $(pkg_version apache2))" ;;
    esac
}

for w in "${workload_list[@]}"; do
    case "$w" in
    static-*) "$report" summarize "$work/$w.tsv" server rps,p99_ms,errors,us_req >"$work/$w.sum" ;;
    dialup) "$report" summarize "$work/dialup.tsv" server \
        completed,errors,fb_p1,fb_p50,fb_p99,rq_p50,on_rate,rss_mib,cpu_s,us_req,threads,mach_s,first_read \
        >"$work/dialup.sum" ;;
    scaling) "$report" summarize "$work/scaling.tsv" n,server \
        completed,errors,rss_mib,rss_per_n_kib,delta_per_n_kib,us_req,on_rate,threads \
        >"$work/scaling.sum" ;;
    idle) "$report" summarize "$work/idle.tsv" server held,base_mib,held_mib,bytes_per_conn,threads \
        >"$work/idle.sum" ;;
    esac
done

{
    echo "# Benchmark suite: dialtone beside H2O, nginx and Apache httpd — $date_tag"
    echo
    if [ "$quick" = 1 ]; then
        echo "**A --quick run (short, one round, small N): it checks the suite, its numbers mean little.**"
        echo
    fi
    echo "- run: $started_at, $elapsed_min minutes; \`bench/suite.sh${args_given:+ $args_given}\`"
    echo "- commit: $commit"
    echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))," \
        "Linux $(uname -r), $(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM," \
        "open-files hard limit $(ulimit -Hn); load average at the start $load_at_start"
    for s in "${server_list[@]}"; do echo "- $(server_line "$s")"; done
    echo "- clients: $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'); \`dialup_client\` and" \
        "\`hostile_client --mode idle\` from this tree (bench/)"
    echo "- $rounds round(s) per workload, the servers in turn within each round;" \
        "every run starts its server afresh and stops it after. Cells: median over the rounds," \
        "with the spread (min–max) when they differ. Ratios: dialtone's median over the peer's."
    echo "- every server: $workers workers (threads or processes), no access log, the same files" \
        "in one folder served at /static/ and, paced, at /dialup/; configs in bench/configs/"
    echo

    if selected static-4k || selected static-1m; then
        echo "## Static files, keep-alive"
        echo
        echo "\`wrk ${wrk_args[*]} -d${wrk_secs}s --latency --timeout 5s\` against each server in turn" \
            "(wrk and the server share the $(nproc) CPUs). errors: socket errors + non-2xx." \
            "server CPU: the server's user + system time over the requests wrk completed."
        echo
        for w in static-4k static-1m; do
            selected "$w" || continue
            echo "### $([ "$w" = static-4k ] && echo "4 KiB file" || echo "1 MiB file") (\`$w\`)"
            echo
            "$report" table "$work/$w.sum" "server=server:key" "req/s=rps:0" "p99 latency ms=p99_ms:2" \
                "errors=errors:0" "server CPU µs/req=us_req:1"
            echo
            "$report" ratios "$work/$w.sum" "" "" "req/s (higher is better)=rps" \
                "p99 latency (lower is better)=p99_ms" "CPU per request (lower is better)=us_req"
            echo
        done
        md_plot plot_static static "requests/s per server"
    fi

    if selected dialup; then
        echo "## Dialup: $dialup_n concurrent downloads of $dialup_size B at $rate B/s (\`dialup\`)"
        echo
        echo "\`dialup_client -n $dialup_n --ramp-per-sec $dialup_ramp --expect-rate $rate\` (one" \
            "request per connection, kernel receive timestamps). Rates are per connection, as % of" \
            "nominal: **from first byte** (the ±2% criterion; the first read's bytes left out) at" \
            "p1/p50/p99, and the median **from request** (what a user sees). on rate: connections" \
            "within ±2% by the first-byte rate. RSS: peak, summed over the server's processes." \
            "mach CPU: the whole machine's busy time during the run (the client's included)." \
            "first read: median bytes of a connection's first read (a server's opening burst)."
        echo
        "$report" table "$work/dialup.sum" "server=server:key" "done=completed:0" "errors=errors:0" \
            "p1 %=fb_p1:1" "p50 %=fb_p50:1" "p99 %=fb_p99:1" "from request p50 %=rq_p50:1" \
            "on rate=on_rate:0" "peak RSS MiB=rss_mib:1" "CPU s=cpu_s:2" "µs/req=us_req:0" \
            "threads=threads:0" "mach CPU s=mach_s:2" "first read B=first_read:0"
        echo
        "$report" ratios "$work/dialup.sum" "" "" "peak RSS (lower is better)=rss_mib" \
            "CPU per request (lower is better)=us_req"
        echo
        md_plot plot_rates rates "distribution of per-connection rates"
    fi

    if selected scaling; then
        echo "## Memory and CPU against concurrent dialup connections (\`scaling\`)"
        echo
        scaling_list="${scaling_ns[*]}"
        echo "The dialup run at N = ${scaling_list// /, }$([ "${scaling_ns[-1]}" = "$limit_n" ] &&
            echo " (the last is the descriptor limit: the client and the server each hold one" \
                "descriptor per connection, and the hard limit is $(ulimit -Hn) per process)")." \
            "RSS/N: peak RSS / N; ΔRSS/N: (peak − RSS before the run) / N; µs/req: server CPU per" \
            "completed download."
        echo
        "$report" table "$work/scaling.sum" "N=n:key" "server=server:key" "done=completed:0" \
            "errors=errors:0" "peak RSS MiB=rss_mib:1" "RSS/N KiB=rss_per_n_kib:2" \
            "ΔRSS/N KiB=delta_per_n_kib:2" "µs/req=us_req:0" "on rate=on_rate:0" \
            "threads=threads:0"
        echo
        echo "Cost growth, from the smallest N to the largest (medians):"
        echo
        "$report" growth "$work/scaling.sum"
        echo
        echo "Ratios per N:"
        echo
        "$report" ratios "$work/scaling.sum" n N "RSS/N (lower is better)=rss_per_n_kib" \
            "CPU per request (lower is better)=us_req"
        echo
        md_plot plot_scaling memory "memory and CPU against N"
    fi

    if selected idle; then
        echo "## Idle keep-alive connections (\`idle\`)"
        echo
        echo "\`hostile_client --mode idle -n $idle_n --rate $idle_ramp\`: each connection makes" \
            "one keep-alive GET of the 4 KiB file and then sits idle (every server keeps idle" \
            "connections 60 s). RSS before: after a 1 s \`wrk ${wrk_args[*]}\` warm-up, so what" \
            "serving requests allocates is in it; RSS with N idle: 2 s after the last response; both the median of" \
            "five samples. bytes/conn = (RSS with N idle − RSS before) / connections held. RSS" \
            "is user-space memory only: the kernel's socket buffers are not in it."
        echo
        "$report" table "$work/idle.sum" "server=server:key" "held=held:0" "RSS before MiB=base_mib:1" \
            "RSS with N idle MiB=held_mib:1" "bytes/conn=bytes_per_conn:0" "threads=threads:0"
        echo
        "$report" ratios "$work/idle.sum" "" "" "bytes per idle connection (lower is better)=bytes_per_conn"
        echo
    fi

    echo "## The servers' configurations"
    echo
    echo "Templates in bench/configs/ (placeholders filled at run time by bench/lib.sh):"
    echo
    echo "| server | configuration |"
    echo "|---|---|"
    for s in "${server_list[@]}"; do
        case "$s" in
        dialtone) echo "| dialtone | \`dialtone.toml\`: workers = $workers, static plugin at /static, dialup plugin with \`modem = \"V.92\"\` at /dialup, keepalive_ms = 60000 |" ;;
        baseline) echo "| baseline | dialtone's template, the baseline build's binary |" ;;
        h2o) echo "| H2O | \`h2o.conf\`: num-threads: $workers, file.dir, \`header.add: \"X-Traffic: $rate\"\` + \`throttle-response: ON\` at /dialup, http1-request-timeout: 60, runs as nobody |" ;;
        nginx) echo "| nginx | \`nginx.conf\`: worker_processes $workers, sendfile on, tcp_nopush on, keepalive_requests 100000000, keepalive_timeout 60s, open_file_cache max=64, \`limit_rate $rate; limit_rate_after 0;\` at /dialup/ |" ;;
        apache) echo "| Apache | \`apache2.conf\`: event MPM, $workers processes × 64 threads, a listening socket per process (ListenCoresBucketsRatio 1), AsyncRequestWorkerFactor sized for N = $max_n, KeepAlive On, MaxKeepAliveRequests 0, KeepAliveTimeout 60, EnableSendfile On, mod_dialup \`ModemStandard V.92\` at /dialup/ |" ;;
        esac
    done
    echo
    paced=0
    if selected dialup || selected scaling; then paced=1; fi
    if [[ " ${server_list[*]} " == *" h2o "* ]] && [ "$paced" = 1 ]; then
        echo "## H2O's throttle-response does not pace these downloads"
        echo
        echo "H2O 2.2's throttle is a token bucket over the chunks its file handler produces, and" \
            "the file handler reads up to 65,000 bytes at a time, whatever the throttle's preferred" \
            "chunk size: a response is sent one chunk at once, and the next waits until the budget is" \
            "back above zero. A $dialup_size-byte file is one chunk, so it goes out unpaced (first read" \
            "= the whole body; no rate from first byte; rate from request far above nominal). A" \
            "130,000-byte file, checked by hand, came as 65,000 bytes at once and the rest 9.1 s" \
            "later: nominal on average, in bursts. H2O's dialup rows therefore show the cost of" \
            "serving the file unpaced; its rates are not comparable."
        echo
    fi
    if [[ " ${server_list[*]} " == *" apache "* ]] && [ "$paced" = 1 ]; then
        echo "## Known defects of Apache's mod_dialup (2.4), and the workaround"
        echo
        echo "- **Its timers fire only when something wakes the listener.** mod_dialup sends one" \
            "second's worth of bytes and then asks the event MPM for a timed callback; the" \
            "callback runs only when the process's listener thread wakes up, which it does for a new" \
            "connection, not for the timer. Without other traffic the downloads stall (a single" \
            "GET got its first 7,000 bytes and then nothing for 8 s). **The suite works around it**:" \
            "during every Apache dialup run a curl opens a new connection for a 3-byte static file" \
            "every 100 ms (\`apache_waker\` in bench/lib.sh), and each process has a listening socket" \
            "of its own (\`ListenCoresBucketsRatio 1\`), so those connections wake every process's" \
            "listener. Those requests (10 a second) are in Apache's CPU figures."
        echo "- **Each connection serves one request and then leaks in CLOSE-WAIT.** When a paced" \
            "response ends, the connection is neither kept alive nor closed: the client's close" \
            "leaves the server's socket in CLOSE-WAIT, holding its descriptor and memory, until" \
            "the process exits. The suite is not affected (one request per connection, and each" \
            "run restarts the server), but a real Apache would run out of descriptors."
        echo "- **A HEAD request to a mod_dialup location is never answered** (not even its head;" \
            "5 s, with the waker running). The suite checks each server with a GET of a 3-byte file" \
            "from the paced location instead."
        echo "- mod_dialup's V.92 is 7,000 B/s sent as one 7,000-byte burst a second: for a" \
            "$dialup_size-byte file the rate from first byte reads far from nominal (the first burst" \
            "is left out, the last is partial) and the rate from request above it."
        echo
    fi
    echo "## Runs without figures, and errors"
    echo
    if [ -s "$failures" ]; then cat "$failures"; else echo "None: every run completed."; fi
} >"$results"

note "wrote $results"
ls "$out_dir/$date_tag"* >&2
