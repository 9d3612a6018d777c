#!/usr/bin/env bash
# Every code block of the documentation (README.md, docs/*.md, examples/**/README*) is checked:
# doc_snippets reads the blocks and their markers (the convention: tests/docs/snippets.hpp),
# checks excerpts and TOML itself, and writes the rest out; this script compiles the C and C++
# blocks with warnings as errors, links and serves the complete plugins, runs `dialtone --check`
# on whole configs, and syntax-checks shell and CMake blocks. It fails on the first look at a
# block nobody decided how to check.
#
# Usage: check_snippets.sh --source DIR --tool DOC_SNIPPETS --host DIALTONE
#            --example-plugins DIR --cc CC --cxx CXX --cmake CMAKE [--cxx-flags "FLAGS"]
# (ctest passes them all: tests/docs/CMakeLists.txt). --cxx-flags: the include flags of the
# runtime's dependencies (libuv, toml++), which embedding snippets need.
set -euo pipefail

cxx_flags=
while [ $# -gt 0 ]; do
    case $1 in
    --source) src=$2 ;;
    --tool) tool=$2 ;;
    --host) host=$2 ;;
    --example-plugins) example_plugins=$2 ;;
    --cc) cc=$2 ;;
    --cxx) cxx=$2 ;;
    --cmake) cmake=$2 ;;
    --cxx-flags) cxx_flags=$2 ;;
    *) echo "check_snippets.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
for v in src tool host example_plugins cc cxx cmake; do
    [ -n "${!v:-}" ] || { echo "check_snippets.sh: --${v//_/-} is missing" >&2; exit 2; }
done

# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
dt_work docs

cd "$src"
shopt -s globstar nullglob
docs=(README.md docs/*.md examples/**/README*)

failed=0
checked=0
# fail ORIGIN MESSAGE [LOG]: reports a block, with the tool's output indented under it.
fail() {
    echo "FAIL: $1: $2"
    if [ -n "${3:-}" ] && [ -s "$3" ]; then sed 's/^/    /' "$3"; fi
    failed=$((failed + 1))
}

# The plan: problems found by doc_snippets itself count as failures, the rest is run below.
"$tool" --root "$src" --out "$work/blocks" "${docs[@]}" >"$work/plan.log" || {
    grep -v '^doc_snippets: ' "$work/plan.log" | sed 's/^/FAIL: /'
    failed=$((failed + $(grep -vc '^doc_snippets: ' "$work/plan.log")))
}
grep '^doc_snippets: ' "$work/plan.log"

c_flags=(-std=c99 -Wall -Wextra -Werror -pedantic -I "$src/plugin_api/include")
read -r -a cxx_deps <<<"$cxx_flags"
cpp_flags=(-std=c++20 -Wall -Wextra -Werror -pedantic -I "$src/plugin_api/include"
    -I "$src/runtime/include" "${cxx_deps[@]}")
# A fragment shows part of a program: the names it declares may be used in the part not shown.
fragment_flags=(-Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function)

compiler_for() { # LANG: the compiler and its flags, into the array `compile`
    if [ "$1" = c ]; then compile=("$cc" "${c_flags[@]}"); else compile=("$cxx" "${cpp_flags[@]}"); fi
}

# A complete plugin: a shared object that exports only the entry, which the host loads and serves.
check_plugin() { # LANG FILE ORIGIN
    local lang=$1 file=$2 origin=$3 so=${2%.*}.so log=${2%.*}.log port='' symbols
    compiler_for "$lang"
    [ "$lang" = cpp ] && compile+=(-fvisibility-inlines-hidden)
    "${compile[@]}" -shared -fPIC -fvisibility=hidden -Wl,--no-undefined -Wl,--exclude-libs,ALL \
        -o "$so" "$file" >"$log" 2>&1 || { fail "$origin" "does not compile as a plugin" "$log"; return; }
    symbols=$(nm -D --defined-only "$so" | awk '{print $NF}' | tr '\n' ' ')
    [ "$symbols" = "dt_plugin_entry " ] ||
        { fail "$origin" "the plugin exports more than dt_plugin_entry: $symbols"; return; }
    printf '[server]\nlisten = "127.0.0.1:0"\nworkers = 1\n[[plugin]]\nname = "snippet"\n%s\n%s\n' \
        "path = \"$so\"" '[[location]]
prefix = "/"
handler = "snippet"' >"${file%.*}.toml"
    "$host" --config "${file%.*}.toml" >/dev/null 2>"$log" &
    host_pid=$!
    port=$(dt_wait_port "$log" "$host_pid") || true
    local status=
    [ -n "$port" ] && status=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$port/" 2>>"$log" || true)
    kill -TERM "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
    host_pid=
    case $status in
    2??) ;;
    '') fail "$origin" "the host did not serve the plugin" "$log" ;;
    000) fail "$origin" "no complete answer to GET /" "$log" ;;
    *) fail "$origin" "the plugin answered GET / with $status" "$log" ;;
    esac
}

# A whole config, checked by the host in a folder holding what the marker names.
check_config() { # FILE ORIGIN ARGS...
    local file=$1 origin=$2 dir arg target
    shift 2
    dir=$(mktemp -d "$work/config.XXXXXX")
    for arg in "$@"; do
        case $arg in
        */) mkdir -p "$dir/$arg" ;;
        *=*)
            target=$dir/${arg%%=*}
            mkdir -p "$(dirname "$target")"
            ln -s "$example_plugins/${arg#*=}.so" "$target"
            ;;
        *) fail "$origin" "config: $arg is neither DIR/ nor FILE=PLUGIN"; return ;;
        esac
    done
    cp "$file" "$dir/dialtone.toml"
    "$host" --check --config "$dir/dialtone.toml" >"$dir/check.log" 2>&1 ||
        fail "$origin" "dialtone --check refuses the config" "$dir/check.log"
}

# The manifest is read on fd 3: nothing run for a block can swallow the next lines.
while IFS=$'\t' read -r -u 3 lang kind file origin args; do
    checked=$((checked + 1))
    failed_before=$failed
    log=${file%.*}.log
    read -r -a arg_list <<<"$args"
    case $lang:$kind in
    c:plugin | cpp:plugin) check_plugin "$lang" "$file" "$origin" ;;
    c:tu | cpp:tu)
        compiler_for "$lang"
        "${compile[@]}" -fsyntax-only "$file" >"$log" 2>&1 || fail "$origin" "does not compile" "$log"
        ;;
    c:* | cpp:*)
        compiler_for "$lang"
        "${compile[@]}" "${fragment_flags[@]}" -fsyntax-only "$file" >"$log" 2>&1 ||
            fail "$origin" "does not compile as $kind" "$log"
        ;;
    toml:config) check_config "$file" "$origin" "${arg_list[@]}" ;;
    sh:syntax) bash -n "$file" >"$log" 2>&1 || fail "$origin" "bash -n" "$log" ;;
    cmake:syntax) "$cmake" -P "$file" >"$log" 2>&1 || fail "$origin" "cmake cannot parse it" "$log" ;;
    *) fail "$origin" "no check for a $lang block of kind $kind" ;;
    esac
    [ "$failed" -ne "$failed_before" ] || echo "ok: $origin ($lang $kind)"
done 3<"$work/blocks/manifest.tsv"

echo "check_snippets: $checked blocks compiled, served or run; $failed failure(s)"
[ "$failed" -eq 0 ]
