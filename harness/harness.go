// Package harness is the helper that leakcheck compiles into every test
// binary it builds. It is added to the package under test through
// `go test -overlay` as one extra _test.go file; leakcheck rewrites the
// package clause and appends a TestMain that calls leakcheckMain.
//
// The helper holds no policy. For every top-level test it:
//   - labels the test's goroutine (pprof label leakcheck_test=Name#N), so every
//     goroutine the test starts, directly or not, carries the label;
//   - sends a numbered goroutine dump to leakcheck before the test;
//   - after the test (after its cleanups and subtests), sends dumps until
//     leakcheck answers "done"; leakcheck decides when to ask again.
//
// Without LEAKCHECK_SOCKET in the environment it does nothing at all.
// Every identifier starts with "leakcheck" so it cannot clash with the
// package it is compiled into.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// leakcheckSocketEnv names the Unix socket leakcheck listens on.
const leakcheckSocketEnv = "LEAKCHECK_SOCKET"

// leakcheckLabel is the pprof label key that marks a test's goroutines.
const leakcheckLabel = "leakcheck_test"

// leakcheckSetupExit is the exit code when the helper cannot do its job.
const leakcheckSetupExit = 86

// leakcheckMain runs the tests of m, wrapped when leakcheck is listening,
// through the package's own TestMain when it has one.
func leakcheckMain(m *testing.M, userMain func(*testing.M)) {
	socket := os.Getenv(leakcheckSocketEnv)
	// Child processes started by tests (the os.Args[0] helper-process
	// pattern) must not report to leakcheck as if they were this binary.
	os.Unsetenv(leakcheckSocketEnv)
	if socket != "" {
		if err := leakcheckWrap(m, socket); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
			os.Exit(leakcheckSetupExit)
		}
	}
	if userMain != nil {
		userMain(m) // testing's generated main exits with m's code
		return
	}
	os.Exit(m.Run())
}

// leakcheckWrap replaces each top-level test function in m with one that
// reports to leakcheck around it.
func leakcheckWrap(m *testing.M, socket string) error {
	field := reflect.ValueOf(m).Elem().FieldByName("tests")
	if !field.IsValid() || field.Type() != reflect.TypeOf([]testing.InternalTest(nil)) {
		return errors.New("testing.M has no field tests []testing.InternalTest in " + runtime.Version())
	}
	tests := *(*[]testing.InternalTest)(unsafe.Pointer(field.UnsafeAddr()))
	for i := range tests {
		name, f := tests[i].Name, tests[i].F
		tests[i].F = func(t *testing.T) { leakcheckRunTest(t, socket, name, f) }
	}
	return nil
}

// leakcheckRuns numbers test runs within the process (-count, reruns).
var leakcheckRuns atomic.Int64

func leakcheckRunTest(t *testing.T, socket, name string, f func(*testing.T)) {
	run := name + "#" + strconv.FormatInt(leakcheckRuns.Add(1), 10)
	conn, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(leakcheckLabel, run))
	pprof.SetGoroutineLabels(ctx)
	leakcheckSend(conn, "start "+run)
	// Registered first, so it runs last: after the test's own cleanups
	// and after its subtests, also when the test fails or skips.
	t.Cleanup(func() {
		defer conn.Close()
		replies := bufio.NewReader(conn)
		status := "pass"
		if t.Skipped() {
			status = "skip"
		} else if t.Failed() {
			status = "fail"
		}
		for kind := "end " + run + " " + status; ; kind = "again " + run {
			leakcheckSend(conn, kind)
			reply, err := replies.ReadString('\n')
			if err != nil || reply != "again\n" {
				return
			}
		}
	})
	f(t)
}

var (
	leakcheckDumpMu  sync.Mutex
	leakcheckDumpSeq int64
	leakcheckDumpBuf = make([]byte, 64<<10)
)

// leakcheckSend writes one message: a header line "KIND SEQ LEN", then
// LEN bytes of runtime.Stack(all) output. SEQ numbers the dumps of this
// process in the order they were taken.
func leakcheckSend(conn net.Conn, kind string) {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	n := runtime.Stack(leakcheckDumpBuf, true)
	for n == len(leakcheckDumpBuf) {
		leakcheckDumpBuf = make([]byte, 2*len(leakcheckDumpBuf))
		n = runtime.Stack(leakcheckDumpBuf, true)
	}
	leakcheckDumpSeq++
	header := kind + " " + strconv.FormatInt(leakcheckDumpSeq, 10) + " " + strconv.Itoa(n) + "\n"
	bufs := net.Buffers{[]byte(header), leakcheckDumpBuf[:n]}
	if _, err := bufs.WriteTo(conn); err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
}
