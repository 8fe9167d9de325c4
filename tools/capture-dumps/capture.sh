#!/usr/bin/env bash
# Regenerates the goroutine dumps in tests/dumps/ (see tests/dumps/README.md).
#
# Usage: tools/capture-dumps/capture.sh [OUTDIR]     (default: tests/dumps)
#
# Toolchains: Go 1.21.13 and Go 1.27.3 come from .ci/go-toolchain; "Go 1.26" is
# the machine's `go` when it is a go1.26.x (else .ci/go-toolchain 1.26.6), or
# $GO126 if set. Each program is built, run, and its output checked for the
# feature it is meant to show; the files are written only if every step works.
# The dumps are exactly what the runtime printed; never edit them by hand.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/tests/dumps}

die() { echo "capture.sh: $*" >&2; exit 1; }
log() { echo "capture.sh: $*" >&2; }

# A clean, fixed environment for building and running.
unset GOROOT GODEBUG GOTRACEBACK GOEXPERIMENT GOMAXPROCS
export GOTOOLCHAIN=local

go121=$("$repo/.ci/go-toolchain" 1.21.13)
go127=$("$repo/.ci/go-toolchain" 1.27.3)
if [ -n "${GO126:-}" ]; then
    go126=$GO126
elif command -v go >/dev/null 2>&1 && [[ $(go env GOVERSION) == go1.26.* ]]; then
    go126=$(command -v go)
else
    go126=$("$repo/.ci/go-toolchain" 1.26.6)
fi
for g in "$go121" "$go126" "$go127"; do
    log "using $("$g" version) at $g"
done
[[ $("$go121" env GOVERSION) == go1.21.* ]] || die "$go121 is not Go 1.21"
[[ $("$go126" env GOVERSION) == go1.26.* ]] || die "$go126 is not Go 1.26"
[[ $("$go127" env GOVERSION) == go1.27.* ]] || die "$go127 is not Go 1.27"

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/bin" "$tmp/out"

# Source checks: gofmt with the newest gofmt, go vet with every toolchain.
unformatted=$(cd "$here" && "$(dirname "$go127")/gofmt" -l .)
[ -z "$unformatted" ] || die "not gofmt-clean: $unformatted"
for g in "$go121" "$go126" "$go127"; do
    (cd "$here" && "$g" vet ./...) || die "go vet failed with $("$g" env GOVERSION)"
done

# build GO NAME PKG [ENV...]: builds ./PKG (a main package) into $tmp/bin/NAME.
build() {
    local g=$1 name=$2 pkg=$3
    shift 3
    (cd "$here" && env "$@" "$g" build -o "$tmp/bin/$name" "./$pkg") || die "build of $pkg ($name) failed"
}

# buildtest GO NAME PKG: builds the test binary of ./PKG into $tmp/bin/NAME.
buildtest() {
    (cd "$here" && "$1" test -c -o "$tmp/bin/$2" "./$3") || die "go test -c of $3 ($2) failed"
}

# run FILE NAME [ENV...]: runs $tmp/bin/NAME with ENV, stdout to the dump FILE.
run() {
    local file=$1 name=$2
    shift 2
    env "$@" timeout 60 "$tmp/bin/$name" >"$tmp/out/$file" || die "$name failed (for $file)"
}

# runcrash FILE NAME PKG [ENV...] -- [ARGS...]: runs the test binary with
# LEAKCHECK_CAPTURE=1 in its package directory; its stderr is the dump FILE.
# It must exit with status 2 (what a Go crash exits with).
runcrash() {
    local file=$1 name=$2 pkg=$3 rc=0
    shift 3
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    (cd "$here/$pkg" && env LEAKCHECK_CAPTURE=1 "${envs[@]}" timeout 60 "$tmp/bin/$name" "$@" \
        >"$tmp/$file.stdout" 2>"$tmp/out/$file") || rc=$?
    [ "$rc" -eq 2 ] || die "$name exited $rc, want 2 (for $file); stderr: $(head -5 "$tmp/out/$file")"
}

# sigquit FILE NAME PKG [ENV...]: starts the test binary, waits until it prints
# READY (its goroutines are parked), then sends SIGQUIT; stderr is the dump.
sigquit() {
    local file=$1 name=$2 pkg=$3 pid rc=0
    shift 3
    (cd "$here/$pkg" && exec env LEAKCHECK_CAPTURE=1 "$@" "$tmp/bin/$name" \
        -test.run '^TestHang$' -test.timeout=10m >"$tmp/$file.stdout" 2>"$tmp/out/$file") &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 150); do
        grep -q READY "$tmp/$file.stdout" 2>/dev/null && break
        sleep 0.1
    done
    grep -q READY "$tmp/$file.stdout" || die "$name never became ready (for $file)"
    sleep 1
    kill -QUIT "$pid"
    wait "$pid" || rc=$?
    [ "$rc" -eq 2 ] || die "$name exited $rc after SIGQUIT, want 2 (for $file)"
}

# expect FILE STRING...: the dump FILE must contain every STRING.
expect() {
    local file=$1
    shift
    [ -s "$tmp/out/$file" ] || die "$file is empty"
    for s in "$@"; do
        grep -qF -- "$s" "$tmp/out/$file" || die "$file lacks '$s'"
    done
}

log "building"
for v in 121 126 127; do
    gv=go$v
    g=${!gv}
    build "$g" "basic$v" basic
    build "$g" "labels$v" labels
done
build "$go127" leaked127 leaked
build "$go126" leaked126 leaked GOEXPERIMENT=goroutineleakprofile
build "$go126" elided126 elided
build "$go126" locked126 locked
build "$go126" ancestors126 ancestors
buildtest "$go126" sigquit126.test sigquit
buildtest "$go126" panicking126.test panicking
buildtest "$go126" fatalmap126.test fatalmap

log "running"
run go1.21-basic.txt basic121
run go1.26-basic.txt basic126
run go1.27-basic.txt basic127
for f in go1.21-basic.txt go1.26-basic.txt go1.27-basic.txt; do
    expect "$f" "[chan send]:" "[chan receive]:" "[select]:" "[select (no cases)]:" \
        "[sync.Mutex.Lock]:" "[sync.Cond.Wait]:" "[sleep]:" "[IO wait]:" "[syscall]:" \
        "main.(*T).M(" "main.nested.func1.2()" "main.parkGeneric[...](" "main.inlinedRecv(...)" \
        " in goroutine "
done

run go1.21-labels-none.txt labels121 GODEBUG=tracebacklabels=1
run go1.26-labels.txt labels126 GODEBUG=tracebacklabels=1
run go1.27-labels.txt labels127 GODEBUG=tracebacklabels=1
expect go1.26-labels.txt '[chan receive labels:{"leakcheck_test": "TestX#1"}]:'
expect go1.27-labels.txt '[chan receive] {leakcheck_test: "TestX#1"}:'
if grep -qE 'labels:|\] \{' "$tmp/out/go1.21-labels-none.txt"; then
    die "go1.21-labels-none.txt shows labels"
fi

run go1.27-leaked.txt leaked127
run go1.26-leaked.txt leaked126
for f in go1.26-leaked.txt go1.27-leaked.txt; do
    expect "$f" "[chan send (leaked)]:" "[chan receive (leaked)]:" "[sync.WaitGroup.Wait (leaked)]:" \
        "[sync.Mutex.Lock (leaked)]:"
done

run go1.26-elided.txt elided126
expect go1.26-elided.txt " frames elided..."
run go1.26-locked.txt locked126
expect go1.26-locked.txt ", locked to thread]:"
run go1.26-ancestors.txt ancestors126 GODEBUG=tracebackancestors=2
expect go1.26-ancestors.txt "[originating from goroutine " "...additional frames elided..."

sigquit go1.26-sigquit.txt sigquit126.test sigquit GODEBUG=tracebacklabels=1
expect go1.26-sigquit.txt "SIGQUIT: quit" 'labels:{"leakcheck_test": "TestHang#1"}]:' "[sync.Mutex.Lock "
head -1 "$tmp/out/go1.26-sigquit.txt" | grep -qx 'SIGQUIT: quit' || die "go1.26-sigquit.txt does not start with SIGQUIT: quit"

# Without -test.timeout no timer is pending, so the runtime's deadlock check fires.
runcrash go1.26-deadlock.txt sigquit126.test sigquit GODEBUG=tracebacklabels=1 -- -test.run '^TestHang$'
expect go1.26-deadlock.txt "fatal error: all goroutines are asleep - deadlock!"

runcrash go1.26-panic.txt panicking126.test panicking GODEBUG=tracebacklabels=1 -- -test.timeout=10m
expect go1.26-panic.txt "panic: boom" "[running labels:"
runcrash go1.26-panic-all.txt panicking126.test panicking GODEBUG=tracebacklabels=1 GOTRACEBACK=all -- -test.timeout=10m
expect go1.26-panic-all.txt "panic: boom" "testing.(*T).Run(" '[chan receive labels:{"leakcheck_test": "TestPanic#1"}]:'
runcrash go1.26-fatal-map.txt fatalmap126.test fatalmap -- -test.timeout=10m
expect go1.26-fatal-map.txt "fatal error: concurrent map writes"

mkdir -p "$out"
n=0
for f in "$tmp"/out/*.txt; do
    cp "$f" "$out"/
    n=$((n + 1))
done
log "wrote $n dumps to $out"
