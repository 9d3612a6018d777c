#!/usr/bin/env bash
# Runs examples/longpoll as a user would, twice on port 0:
#   1. polls wait 300 ms: an idle poll gets 204 after the timeout (not before); bad requests are
#      refused; SIGTERM stops it cleanly.
#   2. polls wait 30 s: two polls on one topic both get a publish ("woken 2"), a poll on another
#      topic stays parked, a poll whose client resets leaves the board (on_abort) and is not
#      counted by the next publish; SIGTERM answers the poll still waiting with 503 at once
#      (grace_ms is 10 s) and the application exits 0 through its on_stopped path.
#   longpoll_example.sh LONGPOLL_BINARY
set -euo pipefail
longpoll=$1
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
dt_work longpoll
fail() {
    echo "FAIL: $*"
    echo "--- stdout"; cat "$work/out"
    echo "--- stderr"; cat "$work/err"
    exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

start_app() { # TIMEOUT_MS
    # The previous run's output goes first: the new process truncates it only once it starts,
    # and until then dt_wait_port would read the old port.
    rm -f "$work/out" "$work/err"
    "$longpoll" --port 0 --timeout-ms "$1" --grace-ms 10000 >"$work/out" 2>"$work/err" &
    app_pid=$!
    local port
    port=$(dt_wait_port "$work/out" "$app_pid") || fail "no port announced"
    base=http://127.0.0.1:$port
}

# After SIGTERM: exit status 0, and its on_stopped reached the main loop.
exited_cleanly() {
    local status=0 _
    for _ in $(seq 200); do
        kill -0 "$app_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$app_pid" 2>/dev/null && fail "still running 10 s after SIGTERM"
    wait "$app_pid" || status=$?
    app_pid=
    [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
    grep -q '^longpoll: server stopped$' "$work/err" || fail "on_stopped did not reach the loop"
    grep -q '^longpoll: stopped after [0-9]* requests$' "$work/out" || fail "no final counters"
}

# poll NAME TOPIC: a poll in the background; its status lands in NAME.status, its body in
# NAME.body, its curl's pid in NAME.pid.
poll() {
    curl -sS --max-time 20 -o "$work/$1.body" -w '%{http_code} %{content_type}' \
        "$base/poll?topic=$2" >"$work/$1.status" 2>"$work/$1.curl" &
    echo $! >"$work/$1.pid"
}

# finished NAME STATUS BODY: the poll NAME ended with STATUS and exactly BODY.
finished() {
    wait "$(cat "$work/$1.pid")" || fail "poll $1: curl: $(cat "$work/$1.curl")"
    local got
    got=$(cat "$work/$1.status")
    [ "${got%% *}" = "$2" ] || fail "poll $1: status $got, wanted $2"
    [ "$(cat "$work/$1.body"; echo .)" = "$3." ] || fail "poll $1: body '$(cat "$work/$1.body")'"
    [ "$2" != 200 ] || [[ $got == "200 text/plain"* ]] || fail "poll $1: not text/plain: $got"
}

# waiting TOPIC N: within 5 s the board has exactly N polls parked on TOPIC.
waiting() {
    local got='' _
    for _ in $(seq 100); do
        got=$(curl -sS --max-time 5 "$base/waiting?topic=$1") || fail "GET /waiting: curl"
        [ "$got" = "$2" ] && return
        sleep 0.05
    done
    fail "$2 poll(s) expected on topic $1, the board has ${got:-none}"
}

publish() { # TOPIC MESSAGE EXPECTED-ANSWER
    local got
    got=$(curl -sS --max-time 5 -d "$2" "$base/publish?topic=$1") || fail "publish $1: curl"
    [ "$got" = "$3" ] || fail "publish $1: '$got', wanted '$3'"
}

status_of() { curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }

# ---- 1. the timeout ----------------------------------------------------------------------------
start_app 300
begin=$(now_ms)
poll idle idle
finished idle 204 ''
took=$(($(now_ms) - begin))
[ "$took" -ge 300 ] || fail "204 after $took ms, before timeout_ms (300)"
[ "$took" -lt 5000 ] || fail "204 after $took ms: the timer is late"
[ "$(status_of "$base/poll")" = 400 ] || fail "a poll without topic is not 400"
[ "$(status_of "$base/poll?topic=a%20b")" = 400 ] || fail "a topic needing decoding is not 400"
curl -sS --max-time 5 -D "$work/head" -o /dev/null "$base/publish?topic=x"
grep -q '^HTTP/1.1 405' "$work/head" || fail "GET /publish: $(cat "$work/head")"
grep -qi '^Allow: POST' "$work/head" || fail "GET /publish: no Allow: POST"
kill -TERM "$app_pid"
exited_cleanly

# ---- 2. publish, other topics, resets, the stop -------------------------------------------------
start_app 30000
poll one news
poll two news
poll other sport
waiting news 2
waiting sport 1
publish news 'hello, board' 'woken 2'
finished one 200 'hello, board'
finished two 200 'hello, board'
waiting news 0
# The poll on sport was not woken: still parked, its client still waiting.
waiting sport 1
kill -0 "$(cat "$work/other.pid")" 2>/dev/null || fail "the poll on sport ended: $(cat "$work/other.status")"

# A client that resets its connection (SO_LINGER 0, then exit) while its poll waits.
poll stays reset
perl -MIO::Socket::INET -MSocket -e '
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "connect: $!";
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)) or die "SO_LINGER: $!";
    print $s "GET /poll?topic=reset HTTP/1.1\r\nHost: test\r\n\r\n";
    sleep 60;' "${base##*:}" 2>"$work/reset.err" &
reset_pid=$!
waiting reset 2
kill -TERM "$reset_pid"
wait "$reset_pid" 2>/dev/null || true
waiting reset 1 # on_abort took the reset poll off the board
publish reset 'after the reset' 'woken 1'
finished stays 200 'after the reset'

# The stop: the poll on sport, parked for a while now, gets 503 at once, not after grace_ms.
begin=$(now_ms)
kill -TERM "$app_pid"
finished other 503 $'poll again later\n'
took=$(($(now_ms) - begin))
[ "$took" -lt 2000 ] || fail "503 after $took ms: the stop sat out grace_ms (10 s)"
exited_cleanly
took=$(($(now_ms) - begin))
[ "$took" -lt 5000 ] || fail "the application took $took ms to exit (grace_ms is 10 s)"
echo "longpoll example: ok (stopped in $took ms)"
