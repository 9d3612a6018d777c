#!/usr/bin/env bash
# The plugin SDK, end to end: installs a dialtone build into a temporary prefix, builds the
# example plugins from copies of their folders (so nothing can reach into the source tree)
# against that prefix alone, runs the installed host with them, and checks the answers; builds
# the embedding examples (examples/embed, examples/longpoll) the same way and runs them.
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

# hello (C): CMake through find_package, and the pkg-config route (the Makefile).
example_hello() {
    step "examples/plugins/hello: CMake and pkg-config builds"
    cmake_build_example examples/plugins/hello
    hello_so=$work/build/hello/hello.so
    [ -f "$hello_so" ] || fail "hello.so not built"
    exports_only_entry "$hello_so"

    mkdir -p "$work/src/hello-pc"
    cp "$src/examples/plugins/hello/hello.c" "$src/examples/plugins/hello/Makefile" \
        "$work/src/hello-pc/"
    PKG_CONFIG_PATH="$prefix/share/pkgconfig" make -s -C "$work/src/hello-pc" \
        CFLAGS="-O2 -Wall -Wextra -Werror" >"$work/hello-pc.log" 2>&1 ||
        { cat "$work/hello-pc.log"; fail "hello: pkg-config build"; }
    hello_pc_so=$work/src/hello-pc/hello.so
    exports_only_entry "$hello_pc_so"

    config_plugins+="
[[plugin]]
name = \"hello\"
path = \"$hello_so\"

[[plugin]]
name = \"hello_pc\"
path = \"$hello_pc_so\"
"
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
    config_plugins+="
[[plugin]]
name = \"primes\"
path = \"$primes_so\"
"
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

start_host() {
    step "start the installed host"
    printf '[server]\nlisten = ["127.0.0.1:0"]\nworkers = 2\n%s\n%s\n' \
        "$config_plugins" "$config_locations" >"$work/dialtone.toml"
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
config_locations=
install_sdk
example_hello
example_primes
example_embed
example_longpoll
check_hello_config_errors
start_host
check_hello
check_primes
stop_host
echo "ok: SDK test passed in $(( ($(date +%s%N) - begin) / 1000000 )) ms"
