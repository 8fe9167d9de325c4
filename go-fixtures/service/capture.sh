#!/usr/bin/env bash
# Regenerates tests/dumps/inspect/: what the service's pprof endpoints
# answer (goroutine and goroutineleak profiles at debug=2, 1 and 0) and the
# runtime's panic and SIGQUIT dumps, after 5 queries (5 leaked senders),
# with Go 1.21.13, 1.26 (the machine's go1.26.x, built with
# GOEXPERIMENT=goroutineleakprofile) and 1.27.3 (from .ci/go-toolchain);
# and, with Go 1.26, debug=2 under GODEBUG=tracebackancestors=10.
#
# Usage: go-fixtures/service/capture.sh [OUTDIR]   (default: tests/dumps/inspect)
# The files are exactly what the runtime wrote; never edit one by hand.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/tests/dumps/inspect}
die() { echo "capture.sh: $*" >&2; exit 1; }

unset GOROOT GODEBUG GOTRACEBACK GOEXPERIMENT GOMAXPROCS
export GOTOOLCHAIN=local

go121=$("$repo/.ci/go-toolchain" 1.21.13)
go127=$("$repo/.ci/go-toolchain" 1.27.3)
go126=${GO126:-$(command -v go)}
[[ $("$go121" env GOVERSION) == go1.21.* ]] || die "$go121 is not Go 1.21"
[[ $("$go126" env GOVERSION) == go1.26.* ]] || die "$go126 is not Go 1.26 (set GO126)"
[[ $("$go127" env GOVERSION) == go1.27.* ]] || die "$go127 is not Go 1.27"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out"

for v in 1.21 1.26 1.27; do
    case $v in
        1.21) g=$go121 env=() ;;
        1.26) g=$go126 env=(GOEXPERIMENT=goroutineleakprofile) ;;
        1.27) g=$go127 env=() ;;
    esac
    bin=$tmp/service-$v
    (cd "$here" && env "${env[@]}" "$g" build -o "$bin" .) || die "build with Go $v failed"
    mkdir -p "$tmp/$v"
    timeout 60 "$bin" -capture "$tmp/$v" -n 5 || die "capture with Go $v failed"
    for f in "$tmp/$v"/*; do cp "$f" "$tmp/out/go$v-$(basename "$f")"; done
    if [ "$v" = 1.26 ]; then
        # Creation chains: the server's goroutines come from main.main.func1.
        mkdir -p "$tmp/$v-ancestors"
        env GODEBUG=tracebackancestors=10 timeout 60 "$bin" -capture "$tmp/$v-ancestors" -n 5 ||
            die "capture with tracebackancestors failed"
        cp "$tmp/$v-ancestors/debug2.txt" "$tmp/out/go$v-ancestors-debug2.txt"
    fi
    for crash in panic sigquit; do
        rc=0
        mkdir -p "$tmp/$v-$crash"
        env GOTRACEBACK=all timeout 60 "$bin" -capture "$tmp/$v-$crash" -n 5 -crash "$crash" \
            2>"$tmp/out/go$v-$crash.txt" || rc=$?
        [ "$rc" -eq 2 ] || die "Go $v -crash $crash exited $rc, want 2"
    done
done

# Each file must show what it is meant to.
check() { grep -qF -- "$2" "$tmp/out/$1" || die "$1 lacks '$2'"; }
for v in 1.21 1.26 1.27; do
    check "go$v-debug2.txt" "[chan send]:"
    check "go$v-debug1.txt" "goroutine profile: total "
    check "go$v-panic.txt" "panic: boom"
    check "go$v-sigquit.txt" "SIGQUIT: quit"
    [ "$(head -c2 "$tmp/out/go$v-debug0.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || die "go$v-debug0.pb.gz is not gzip"
done
check go1.26-ancestors-debug2.txt "[originating from goroutine "
for v in 1.26 1.27; do
    check "go$v-leak-debug2.txt" "[chan send (leaked)]:"
    check "go$v-leak-debug1.txt" "goroutineleak profile: total 5"
done
[ ! -e "$tmp/out/go1.21-leak-debug2.txt" ] || die "Go 1.21 has no goroutineleak profile"

mkdir -p "$out"
cp "$tmp"/out/* "$out"/
echo "capture.sh: wrote $(ls "$tmp/out" | wc -l) files to $out" >&2
