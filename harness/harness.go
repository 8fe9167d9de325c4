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
//     leakcheck answers "done"; leakcheck decides when to ask again, and
//     whether the next dump is the goroutine leak profile (GC-proven
//     leaks) or a plain one.
//
// With LEAKCHECK_ASK=1 it also waits, before each test, for leakcheck to
// say "run" or "skip" (used to stop repeating a test once it leaked).
//
// Without LEAKCHECK_SOCKET in the environment it does nothing at all.
// Every identifier starts with "leakcheck" so it cannot clash with the
// package it is compiled into.
package harness

import (
	"bufio"
	"bytes"
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

// leakcheckAsk is set when leakcheck decides whether each run happens.
var leakcheckAsk bool

// leakcheckMain runs the tests of m, wrapped when leakcheck is listening,
// through the package's own TestMain when it has one.
func leakcheckMain(m *testing.M, userMain func(*testing.M)) {
	socket := os.Getenv(leakcheckSocketEnv)
	leakcheckAsk = os.Getenv("LEAKCHECK_ASK") == "1"
	// Child processes started by tests (the os.Args[0] helper-process
	// pattern) must not report to leakcheck as if they were this binary.
	os.Unsetenv(leakcheckSocketEnv)
	os.Unsetenv("LEAKCHECK_ASK")
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
	if pprof.Lookup("goroutineleak") != nil {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return err
		}
		fmt.Fprintf(conn, "control - 0 0\n")
		go leakcheckServeProbes(conn)
	}
	return nil
}

// leakcheckServeProbes answers leakcheck's requests for the goroutine
// leak profile while tests run, so that a test whose own goroutine the GC
// proves deadlocked is reported at once. It starts before any test, so no
// test is ever blamed for it.
func leakcheckServeProbes(conn net.Conn) {
	requests := bufio.NewReader(conn)
	for {
		if _, err := requests.ReadString('\n'); err != nil {
			return
		}
		leakcheckSend(conn, "probe -", true)
	}
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
	replies := bufio.NewReader(conn)
	if leakcheckAsk {
		fmt.Fprintf(conn, "ask %s 0 0\n", run)
		if reply, _ := replies.ReadString('\n'); reply != "run\n" {
			conn.Close()
			return
		}
	}
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(leakcheckLabel, run))
	pprof.SetGoroutineLabels(ctx)
	leakcheckSend(conn, "start "+run, false)
	// Registered first, so it runs last: after the test's own cleanups
	// and after its subtests, also when the test fails or skips.
	t.Cleanup(func() {
		defer conn.Close()
		status := "pass"
		if t.Skipped() {
			status = "skip"
		} else if t.Failed() {
			status = "fail"
		}
		kind, profile := "end "+run+" "+status, false
		for {
			leakcheckSend(conn, kind, profile)
			reply, err := replies.ReadString('\n')
			if err != nil {
				return
			}
			switch reply {
			case "again\n":
				kind, profile = "again "+run, false
			case "leakprofile\n":
				kind, profile = "again "+run, true
			default:
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
// LEN bytes of runtime.Stack(all) output, or of the goroutine leak
// profile at debug=2 when profile is set and the runtime has one. SEQ
// numbers the dumps of this process in the order they were taken.
func leakcheckSend(conn net.Conn, kind string, profile bool) {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	var dump []byte
	if p := pprof.Lookup("goroutineleak"); profile && p != nil {
		var buf bytes.Buffer
		p.WriteTo(&buf, 2)
		dump = buf.Bytes()
	} else {
		n := runtime.Stack(leakcheckDumpBuf, true)
		for n == len(leakcheckDumpBuf) {
			leakcheckDumpBuf = make([]byte, 2*len(leakcheckDumpBuf))
			n = runtime.Stack(leakcheckDumpBuf, true)
		}
		dump = leakcheckDumpBuf[:n]
	}
	leakcheckDumpSeq++
	header := kind + " " + strconv.FormatInt(leakcheckDumpSeq, 10) + " " + strconv.Itoa(len(dump)) + "\n"
	bufs := net.Buffers{[]byte(header), dump}
	if _, err := bufs.WriteTo(conn); err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
}
