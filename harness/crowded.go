// Checks in a crowded process: judging test runs with later dumps.

package harness

import (
	"reflect"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// leakcheckCrowded is the number of live goroutines from which a dump
// per test is too dear (a dump stops the world for about 2 µs per
// goroutine: 40 ms for 20,000).
const leakcheckCrowded = 1000

var (
	// leakcheckDeferChecks is set when leakcheck allows runs to be judged
	// later (LEAKCHECK_DEFER=1, from --defer-checks).
	leakcheckDeferChecks bool

	// leakcheckProbes is set when leakcheck can ask for dumps while
	// tests run (the control connection is up).
	leakcheckProbes bool

	// leakcheckFlushing is set once a round's root test will send the
	// final check: no run is deferred without one.
	leakcheckFlushing bool

	// leakcheckDeferred counts the "end~" messages sent since the last
	// flush: their runs may still wait for dumps (one still inside its
	// grace period needs more). Guarded by leakcheckDumpMu.
	leakcheckDeferred int

	leakcheckRootMu sync.Mutex
	leakcheckRoots  = map[uintptr]bool{}
)

// leakcheckIsCrowded says whether to skip a run's dumps: when leakcheck
// allows it (--defer-checks), in a crowded process with goroutine labels
// in dumps and probes, once the round's final check is arranged. Each test's
// goroutines carry its label, so a later dump still tells them apart:
// the helper sends "start~" and "end~" instead of dumps, and leakcheck
// judges every ended run with the next dump it asks for (at most one per
// few dumps' time, so checks cost a bounded share), or with the one
// leakcheckFlush sends after the last test.
func leakcheckIsCrowded() bool {
	leakcheckRootMu.Lock()
	flushing := leakcheckFlushing
	leakcheckRootMu.Unlock()
	return flushing && runtime.NumGoroutine() >= leakcheckCrowded
}

// leakcheckWatchRoot makes sure that when every test of this round has
// finished (the root test's cleanup runs after all of them, parallel ones
// included), the runs judged later are judged before the binary exits.
func leakcheckWatchRoot(t *testing.T, socket string) {
	if !leakcheckProbes || !leakcheckDeferChecks {
		return
	}
	parent := reflect.ValueOf(t).Elem().FieldByName("parent")
	if !parent.IsValid() || parent.Kind() != reflect.Pointer || parent.IsNil() {
		return
	}
	key := parent.Pointer()
	leakcheckRootMu.Lock()
	defer leakcheckRootMu.Unlock()
	if leakcheckRoots[key] {
		return
	}
	leakcheckRoots[key] = true
	// parent is a *testing.common, reached through an unexported field:
	// its Cleanup is called through a copy of the pointer.
	root := reflect.NewAt(parent.Type(), unsafe.Pointer(parent.UnsafeAddr())).Elem()
	cleanup := root.MethodByName("Cleanup")
	if !cleanup.IsValid() {
		return
	}
	flush := func() {
		leakcheckFlush(socket)
		leakcheckRootMu.Lock()
		leakcheckFlushing = false
		// The next round (-count) may get a root at the same address.
		delete(leakcheckRoots, key)
		leakcheckRootMu.Unlock()
	}
	cleanup.Call([]reflect.Value{reflect.ValueOf(flush)})
	leakcheckFlushing = true
}

// leakcheckFlush sends a dump that judges the runs still waiting for one,
// and more until leakcheck is done with them.
func leakcheckFlush(socket string) {
	leakcheckDumpMu.Lock()
	pending := leakcheckDeferred > 0
	leakcheckDeferred = 0
	leakcheckDumpMu.Unlock()
	if !pending {
		return
	}
	conn := leakcheckGetConn(socket)
	leakcheckSend(conn, "check -", false)
	leakcheckUntilDone(conn, "check -")
}
