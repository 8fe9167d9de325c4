// Package harness is the helper that leakcheck compiles into every test
// binary it builds. Its files are added to the package under test through
// `go test -overlay` as extra _test.go files; leakcheck rewrites their
// package clause and appends a TestMain that calls leakcheckMain.
//
// Each file has one job: main.go wraps the tests, run.go reports one test
// run, dump.go takes and sends goroutine dumps, probe.go answers probes
// while tests run, crowded.go defers checks in a crowded process.
//
// The helper holds no policy. For every top-level test it:
//   - labels the test's goroutine (pprof label leakcheck_test=Name#N), so every
//     goroutine the test starts, directly or not, carries the label;
//   - sends a numbered goroutine dump to leakcheck before the test;
//   - after the test (after its cleanups and subtests), sends dumps until
//     leakcheck answers "done"; leakcheck decides when to ask again, and
//     whether the next dump is the goroutine leak profile (GC-proven
//     leaks) or a plain one. When no goroutine was created during the
//     test, a short message stands for the dump and nothing is awaited.
//
// With LEAKCHECK_ASK=1 it also waits, before each test, for leakcheck to
// say "run" or "skip" (used to stop repeating a test once it leaked).
//
// A dump lists every goroutine, which costs time in proportion to all of
// them (tens of milliseconds for 20,000). When the runtime counts the
// goroutines it creates (runtime/metrics, Go 1.26+), the helper sends a
// short message instead of a dump where that count proves the dump would
// list no goroutine the last one did not (see listener.rs for the
// protocol). Connections are reused from one test run to the next.
//
// Without LEAKCHECK_SOCKET in the environment it does nothing at all.
// Every identifier starts with "leakcheck" so it cannot clash with the
// package it is compiled into.
package harness

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
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
	leakcheckDeferChecks = os.Getenv("LEAKCHECK_DEFER") == "1"
	// Child processes started by tests (the os.Args[0] helper-process
	// pattern) must not report to leakcheck as if they were this binary.
	os.Unsetenv(leakcheckSocketEnv)
	os.Unsetenv("LEAKCHECK_ASK")
	os.Unsetenv("LEAKCHECK_DEFER")
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
		conn, err := leakcheckDial(socket)
		if err != nil {
			return err
		}
		fmt.Fprintf(conn, "control - 0 0\n")
		leakcheckProbes = true
		go leakcheckServeProbes(conn)
	}
	return nil
}
