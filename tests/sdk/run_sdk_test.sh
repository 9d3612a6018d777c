#!/usr/bin/env bash
# The plugin SDK, end to end: installs a dialtone build into a temporary prefix, builds the
# example plugins from copies of their folders (so nothing can reach into the source tree)
# against that prefix alone, runs the installed host with them, and checks the answers; builds
# the embedding examples (examples/embed, examples/longpoll) the same way and runs them. The
# upstream the fanout example calls is a second installed host serving static files.
#
# Usage: run_sdk_test.sh BUILD_DIR SOURCE_DIR [CMAKE]   (ctest passes all three; see
# tests/CMakeLists.txt). One function per example: add the next one beside them.
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cmake=${3:-cmake}

# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
dt_work sdk
prefix=$work/prefix

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$work/host.err" ]; then sed 's/^/  host: /' "$work/host.err" >&2; fi
    if [ -s "$work/files.err" ]; then sed 's/^/  upstream: /' "$work/files.err" >&2; fi
    exit 1
}
step() { echo "== $*"; }

# Copies example folder $1 (relative to the source tree) to $work/src/<name> and builds it with
# CMake against the installed prefix only; prints nothing but the build's errors.
cmake_build_example() {
    local folder=$1 name
    name=$(basename "$folder")
    mkdir -p "$work/src"
    cp -r "$src/$folder" "$work/src/$name"
    rm -rf "$work/src/$name/build"
    "$cmake" -S "$work/src/$name" -B "$work/build/$name" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >"$work/$name.configure.log" 2>&1 ||
        { cat "$work/$name.configure.log"; fail "$folder: configure against the SDK"; }
    "$cmake" --build "$work/build/$name" -j2 >"$work/$name.build.log" 2>&1 ||
        { cat "$work/$name.build.log"; fail "$folder: build against the SDK"; }
}

# A C example ($1: its folder, holding NAME.c and a Makefile), built both ways a plugin author
# may: with CMake through find_package, and with its Makefile through pkg-config, warnings as
# errors. Sets cmake_so and pc_so, each checked to export only the entry.
c_build_example() {
    local folder=$1 name
    name=$(basename "$folder")
    step "$folder: CMake and pkg-config builds"
    cmake_build_example "$folder"
    cmake_so=$work/build/$name/$name.so
    [ -f "$cmake_so" ] || fail "$name.so not built"
    exports_only_entry "$cmake_so"

    mkdir -p "$work/src/$name-pc"
    cp "$src/$folder/$name.c" "$src/$folder/Makefile" "$work/src/$name-pc/"
    PKG_CONFIG_PATH="$prefix/share/pkgconfig" make -s -C "$work/src/$name-pc" \
        CFLAGS="-O2 -Wall -Wextra -Werror -pedantic" >"$work/$name-pc.log" 2>&1 ||
        { cat "$work/$name-pc.log"; fail "$name: pkg-config build"; }
    pc_so=$work/src/$name-pc/$name.so
    exports_only_entry "$pc_so"
}

exports_only_entry() { # plugin.so
    [ "$(nm -D --defined-only "$1" | awk '{print $NF}')" = dt_plugin_entry ] ||
        fail "$1 exports more than dt_plugin_entry: $(nm -D --defined-only "$1" | tr '\n' ' ')"
}

# expect NAME STATUS BODY curl-args...: one request, exact status and body ('*': any body).
expect() {
    local what=$1 status=$2 body=$3 got
    shift 3
    got=$(curl -sS --max-time 10 -o "$work/body" -w '%{http_code}' "$@") || fail "$what: curl"
    [ "$got" = "$status" ] || fail "$what: status $got, wanted $status"
    [ "$body" = '*' ] || [ "$(cat "$work/body"; echo .)" = "$body." ] ||
        fail "$what: body '$(cat "$work/body")', wanted '$body'"
}

install_sdk() {
    step "install into a temporary prefix"
    "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; fail "cmake --install"; }
    local f
    for f in bin/dialtone lib/dialtone/static.so lib/dialtone/dialup.so \
             include/dialtone/plugin.h include/dialtone/server.hpp \
             share/pkgconfig/dialtone-plugin.pc; do
        [ -e "$prefix/$f" ] || fail "not installed: $f"
    done
    cmp -s "$prefix/include/dialtone/plugin.h" "$src/plugin_api/include/dialtone/plugin.h" ||
        fail "installed plugin.h differs from the source"
    [ -n "$(find "$prefix" -name dialtoneConfig.cmake)" ] || fail "no dialtoneConfig.cmake"
    [ -n "$(find "$prefix" -name libdialtone_runtime.a)" ] || fail "no libdialtone_runtime.a"
}

# declare_plugin NAME PATH: a [[plugin]] of the host's config.
declare_plugin() {
    config_plugins+="
[[plugin]]
name = \"$1\"
path = \"$2\"
"
}

# hello (C): CMake through find_package, and the pkg-config route (the Makefile).
example_hello() {
    c_build_example examples/plugins/hello
    hello_so=$cmake_so
    hello_pc_so=$pc_so

    declare_plugin hello "$hello_so"
    declare_plugin hello_pc "$hello_pc_so"
    config_locations+='
[[location]]
prefix = "/hello"
handler = "hello"

[[location]]
prefix = "/howdy"
handler = "hello"
[location.hello]
greeting = "Howdy"

[[location]]
prefix = "/pc"
handler = "hello_pc"
[location.hello_pc]
greeting = "Hi"
'
}

check_hello() {
    step "hello answers"
    expect "hello" 200 $'Hello, world!\n' "$base/hello"
    expect "hello ?name=" 200 $'Hello, Ada Lovelace!\n' "$base/hello?name=Ada%20Lovelace"
    expect "greeting key" 200 $'Howdy, partner!\n' "$base/howdy?x=1&name=partner"
    expect "pkg-config build" 200 $'Hi, world!\n' "$base/pc"
    curl -sS -I "$base/hello" >"$work/head" || fail "HEAD: curl"
    if ! grep -q '^HTTP/1.1 200' "$work/head" || ! grep -qi '^Content-Length: 14' "$work/head"; then
        fail "HEAD: $(cat "$work/head")"
    fi
    expect "bad name" 400 '*' "$base/hello?name=%zz"
    expect "POST" 405 $'method not allowed\n' -d x "$base/hello"
    curl -sS -D - -o /dev/null -X DELETE "$base/hello" | grep -qi '^Allow: GET, HEAD' ||
        fail "405 without Allow: GET, HEAD"
    curl -sS -D - -o /dev/null "$base/hello" | grep -qi '^Content-Type: text/plain' ||
        fail "hello: no text/plain"
}

check_hello_config_errors() {
    step "hello: bad greeting values are refused with their position"
    local bad
    printf '[server]\nlisten = ["127.0.0.1:0"]\n[[plugin]]\nname = "hello"\npath = "%s"\n[[location]]\nprefix = "/"\nhandler = "hello"\n[location.hello]\ngreeting = 42\n' \
        "$hello_so" >"$work/bad-type.toml"
    bad=$("$prefix/bin/dialtone" --check --config "$work/bad-type.toml" 2>&1) &&
        fail "a greeting of another type was accepted"
    grep -q 'greeting' <<<"$bad" || fail "type error does not name the key: $bad"
    sed 's/greeting = 42/greeting = ""/' "$work/bad-type.toml" >"$work/bad-value.toml"
    bad=$("$prefix/bin/dialtone" --check --config "$work/bad-value.toml" 2>&1) &&
        fail "an empty greeting was accepted"
    grep -q 'bad-value.toml:[0-9]*:[0-9]*: .*greeting: must be 1 to 64 bytes' <<<"$bad" ||
        fail "value error without position and reason: $bad"
}

# primes (C++): computes on threads of its own, resumes requests with req_resume.
example_primes() {
    step "examples/plugins/primes: CMake build"
    cmake_build_example examples/plugins/primes
    primes_so=$work/build/primes/primes.so
    [ -f "$primes_so" ] || fail "primes.so not built"
    exports_only_entry "$primes_so"
    declare_plugin primes "$primes_so"
    config_locations+='
[[location]]
prefix = "/primes"
handler = "primes"
[location.primes]
threads = 2
max_n = 5000000
'
}

check_primes() {
    step "primes answers"
    expect "primes small" 200 $'primes below 1000: 168\n' "$base/primes?n=1000"
    expect "primes 10^5" 200 $'primes below 100000: 9592\n' "$base/primes?x=y&n=100000"
    expect "primes no n" 400 '*' "$base/primes"
    expect "primes past max_n" 400 '*' "$base/primes?n=5000001"
    expect "primes POST" 405 $'method not allowed\n' -d x "$base/primes?n=10"

    step "8 slow primes requests in parallel, hello answered meanwhile"
    local i pids=() start hello_time
    start=$(date +%s%N)
    for i in 1 2 3 4 5 6 7 8; do
        curl -sS --max-time 60 -o "$work/primes.$i" "$base/primes?n=2000000" &
        pids+=($!)
    done
    sleep 0.2
    hello_time=$(curl -sS --max-time 10 -o "$work/hello.during" -w '%{time_total}' "$base/hello")
    [ "$(cat "$work/hello.during")" = "Hello, world!" ] || fail "hello during the load"
    # Every worker thread is free: a request needing none of the plugin's threads is quick.
    awk -v t="$hello_time" 'BEGIN { exit !(t < 0.5) }' ||
        fail "hello took ${hello_time}s while primes computed"
    local still_busy=0
    for i in 1 2 3 4 5 6 7 8; do [ -s "$work/primes.$i" ] || still_busy=$((still_busy + 1)); done
    [ "$still_busy" -gt 0 ] || echo "   (note: every primes request had finished before hello)"
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "primes request $((i + 1)): curl"; done
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(cat "$work/primes.$i")" = "primes below 2000000: 148933" ] ||
            fail "primes request $i: '$(cat "$work/primes.$i")'"
    done
    echo "   hello in ${hello_time}s with $still_busy of 8 still computing;" \
         "all 8 in $(( ($(date +%s%N) - start) / 1000000 )) ms"

    step "primes: clients that leave mid-computation"
    pids=()
    for i in 1 2 3 4; do
        curl -sS --max-time 0.2 -o /dev/null "$base/primes?n=5000000" 2>/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done # not a bare wait: the host is a job too
    expect "primes after aborts" 200 $'primes below 1000: 168\n' "$base/primes?n=1000"
}

# fanout (C): two and more upstream exchanges per request. Its upstream is the installed host
# itself, a second process serving files with the bundled static plugin (and, paced by dialup,
# as a slow server), so the test needs nothing else.
example_fanout() {
    c_build_example examples/plugins/fanout
    fanout_so=$cmake_so
    fanout_pc_so=$pc_so

    start_files_host
    find_closed_port
    declare_plugin fanout "$fanout_so"
    declare_plugin fanout_pc "$fanout_pc_so"
    config_upstreams+="
[[upstream]]
name = \"files\"
servers = [\"127.0.0.1:$files_port\"]

[[upstream]]
name = \"slow\"
servers = [\"127.0.0.1:$files_port\"]
io_timeout_ms = 300

[[upstream]]
name = \"down\"
servers = [\"127.0.0.1:$closed_port\"]
max_fails = 0
"
    fanout_location /bundle fanout files '["/a.txt", "/quote.json", "/odd.txt"]'
    fanout_location /bundle-pc fanout_pc files '["/a.txt", "/missing.txt"]'
    fanout_location /limited fanout files '["/dial/long.txt", "/big.txt"]' 'max_bytes = 1000'
    fanout_location /dialled fanout files '["/a.txt", "/dial/long.txt"]'
    fanout_location /slow fanout slow '["/a.txt", "/dial/long.txt"]'
    fanout_location /down fanout down '["/a.txt", "/quote.json"]'
}

# fanout_location PREFIX HANDLER GROUP PARTS [SETTING]: a location of fanout (or its pkg-config
# build) fetching PARTS (a TOML array) from GROUP.
fanout_location() {
    config_locations+="
[[location]]
prefix = \"$1\"
handler = \"$2\"
[location.$2]
upstream = \"$3\"
parts = $4
${5:-}
"
}

# The upstream: the installed host with its bundled static plugin over a few files, and the
# same files at V.21's 37.5 bytes/s under /dial (a server that keeps an exchange running).
start_files_host() {
    step "start the installed host as the upstream (static files)"
    local www=$work/files/www
    mkdir -p "$www"
    printf 'alpha\n' >"$www/a.txt"
    printf '{"n": 1}' >"$www/quote.json"
    printf 'tab\there "q" back\\slash caf\xc3\xa9 bad\xff\n' >"$www/odd.txt"
    head -c 4096 /dev/zero | tr '\0' x >"$www/big.txt"
    head -c 900 /dev/zero | tr '\0' y >"$www/long.txt"
    printf '[server]\nlisten = ["127.0.0.1:0"]\nworkers = 1\n%s\n%s\n' \
        '[[location]]
prefix = "/dial"
handler = "dialup"
[location.dialup]
root = "www"
modem = "V.21"' '[[location]]
prefix = "/"
handler = "static"
[location.static]
root = "www"' >"$work/files/dialtone.toml"
    "$prefix/bin/dialtone" --config "$work/files/dialtone.toml" 2>"$work/files.err" &
    files_pid=$!
    files_port=$(dt_wait_port "$work/files.err" "$files_pid") || fail "the upstream host did not start"
}

stop_files_host() {
    step "stop the upstream host with SIGTERM"
    kill -TERM "$files_pid"
    local rc=0
    wait "$files_pid" || rc=$?
    [ "$rc" = 0 ] || fail "the upstream host exited with $rc after SIGTERM"
}

# A loopback port nothing listens on: one the installed host bound, then released.
find_closed_port() {
    local pid
    printf '[server]\nlisten = ["127.0.0.1:0"]\nworkers = 1\n[[location]]\nprefix = "/"\n%s\n' \
        'handler = "static"
[location.static]
root = "www"' >"$work/files/closed.toml"
    "$prefix/bin/dialtone" --config "$work/files/closed.toml" 2>"$work/closed.err" &
    pid=$!
    closed_port=$(dt_wait_port "$work/closed.err" "$pid") || fail "no port to close"
    kill -TERM "$pid"
    wait "$pid" || fail "the host holding the port to close did not stop cleanly"
}

check_fanout_config_errors() {
    step "fanout: a group that does not exist is refused at its key"
    local bad
    printf '[server]\nlisten = ["127.0.0.1:0"]\n[[plugin]]\nname = "fanout"\npath = "%s"\n%s\n' \
        "$fanout_so" '[[upstream]]
name = "files"
servers = ["127.0.0.1:9"]
[[location]]
prefix = "/"
handler = "fanout"
[location.fanout]
upstream = "flies"
parts = ["/a.txt"]' >"$work/bad-group.toml"
    bad=$("$prefix/bin/dialtone" --check --config "$work/bad-group.toml" 2>&1) &&
        fail "an unknown upstream group was accepted"
    grep -q 'bad-group.toml:13:12: .*fanout.upstream: no \[\[upstream\]\] group is named "flies"' \
        <<<"$bad" || fail "unknown group without position and reason: $bad"
    sed 's|parts = \["/a.txt"\]|parts = ["a.txt"]|; s/"flies"/"files"/' "$work/bad-group.toml" \
        >"$work/bad-parts.toml"
    bad=$("$prefix/bin/dialtone" --check --config "$work/bad-parts.toml" 2>&1) &&
        fail "a part that is not a path was accepted"
    grep -q 'fanout.parts: "a.txt" is not a path' <<<"$bad" || fail "bad part: $bad"
}

check_fanout() {
    step "fanout answers"
    local a='"/a.txt":{"status":200,"bytes":6,"body":"alpha\n"}'
    local quote='"/quote.json":{"status":200,"bytes":8,"body":"{\"n\": 1}"}'
    local odd='"/odd.txt":{"status":200,"bytes":35,"body":"tab\there \"q\" back\\slash caf'$'\xc3\xa9'' bad\ufffd\n"}'
    expect "fanout: three parts, escaped" 200 "{$a,$quote,$odd}" "$base/bundle"
    curl -sS -D - -o /dev/null "$base/bundle" | grep -qi '^Content-Type: application/json' ||
        fail "fanout: no application/json"
    curl -sS -I "$base/bundle" >"$work/head" || fail "fanout HEAD: curl"
    grep -qi "^Content-Length: $(( ${#a} + ${#quote} + $(printf '%s' "$odd" | wc -c) + 4 ))" \
        "$work/head" || fail "fanout HEAD: $(cat "$work/head")"
    expect "fanout POST" 405 '' -d x "$base/bundle"

    # The upstream's own 404 page is part of the answer, reported with its length.
    local missing
    missing=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' \
        "http://127.0.0.1:$files_port/missing.txt") || fail "upstream 404: curl"
    [ "${missing% *}" = 404 ] || fail "the upstream answered /missing.txt with ${missing% *}"
    expect "fanout (pkg-config build): a missing part is reported" 200 \
        "{$a,\"/missing.txt\":{\"status\":404,\"bytes\":${missing#* }}}" "$base/bundle-pc"

    step "fanout: failures"
    expect "fanout: an upstream that is down" 502 '*' "$base/down"
    local t
    t=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' "$base/limited") ||
        fail "fanout over max_bytes: curl"
    [ "${t% *}" = 502 ] || fail "fanout over max_bytes: ${t% *}, wanted 502"
    # The other part would take 24 s at V.21: refusing one part cancels the rest.
    awk -v t="${t#* }" 'BEGIN { exit !(t < 3) }' ||
        fail "fanout over max_bytes took ${t#* }s: the slow part was not cancelled"
    t=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' "$base/slow") ||
        fail "fanout timeout: curl"
    [ "${t% *}" = 504 ] || fail "fanout with an upstream slower than io_timeout_ms: ${t% *}, wanted 504"
    awk -v t="${t#* }" 'BEGIN { exit !(t < 3) }' || fail "fanout timeout took ${t#* }s"

    # A client that closes its side looks like one that half-closed: it is found gone only when
    # its answer is written. These requests therefore still wait on their 24 s part when the
    # host stops, and stop_fanout_host checks that the stop aborts them (on_done with
    # DT_EABORTED, then on_abort) and still exits 0.
    step "fanout: clients that leave while parts are under way"
    local i pids=()
    for i in 1 2 3 4; do
        curl -sS --max-time 0.3 -o /dev/null "$base/dialled" 2>/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done # not a bare wait: the hosts are jobs too
    expect "fanout after clients left" 200 "{$a,$quote,$odd}" "$base/bundle"
}

# The host stops (exit 0) with fanout's abandoned requests aborted after grace_ms.
stop_fanout_host() {
    stop_host
    grep -q 'grace period over, aborting [1-9]' "$work/host.err" ||
        fail "the stop found no request of fanout's left running to abort"
}

start_host() {
    step "start the installed host"
    # grace_ms: fanout's requests left by their clients still wait on a 24 s part at the stop;
    # the stop aborts them after one second instead of ten (check_fanout says why).
    printf '[server]\nlisten = ["127.0.0.1:0"]\nworkers = 2\n%s\n%s\n%s\n%s\n' \
        '[server.timeouts]
grace_ms = 1000' "$config_plugins" "$config_upstreams" "$config_locations" >"$work/dialtone.toml"
    "$prefix/bin/dialtone" --check --config "$work/dialtone.toml" >/dev/null 2>"$work/host.err" ||
        fail "dialtone --check refused the config"
    "$prefix/bin/dialtone" --config "$work/dialtone.toml" 2>"$work/host.err" &
    host_pid=$!
    local port
    port=$(dt_wait_port "$work/host.err" "$host_pid") || fail "no 'listening on' line"
    base=http://127.0.0.1:$port
}

stop_host() {
    step "stop the host with SIGTERM"
    kill -TERM "$host_pid"
    local rc=0
    wait "$host_pid" || rc=$?
    host_pid=
    [ "$rc" = 0 ] || fail "the host exited with $rc after SIGTERM"
}

# examples/embed (an application linking dialtone::runtime), built against the SDK and run as
# the in-tree test runs it: the static plugin comes from the prefix (dialtone_PLUGIN_DIR).
example_embed() {
    step "examples/embed: CMake build against dialtone::runtime, then run"
    cmake_build_example examples/embed
    "$src/tests/examples/embed_example.sh" "$work/build/embed/embed" "$src/examples/www" ||
        fail "examples/embed built against the SDK"
}

# examples/longpoll (dialtone::runtime on its own worker threads, an in-process plugin with a
# context pointer and on_stop), built against the SDK and run as the in-tree test runs it.
example_longpoll() {
    step "examples/longpoll: CMake build against dialtone::runtime, then run"
    cmake_build_example examples/longpoll
    "$src/tests/examples/longpoll_example.sh" "$work/build/longpoll/longpoll" ||
        fail "examples/longpoll built against the SDK"
}

begin=$(date +%s%N)
config_plugins=
config_upstreams=
config_locations=
install_sdk
example_hello
example_primes
example_fanout
example_embed
example_longpoll
check_hello_config_errors
check_fanout_config_errors
start_host
check_hello
check_primes
check_fanout
stop_fanout_host
stop_files_host
echo "ok: SDK test passed in $(( ($(date +%s%N) - begin) / 1000000 )) ms"
