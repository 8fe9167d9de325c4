// Checks in a crowded process: judging test runs with later dumps.

package harness

import (
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// leakcheckCrowded is the number of live goroutines from which a dump
// per test is too dear (a dump stops the world for about 2 µs per
// goroutine: 40 ms for 20,000).
const leakcheckCrowded = 1000

var (
	// leakcheckDeferChecks is set when leakcheck allows runs to be judged
	// later (LEAKCHECK_DEFER=1: the default, not with --no-defer-checks).
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

	// leakcheckExact is set when leakcheck asks for a dump at every run's
	// start and end again: a goroutine without a test's label appeared
	// in a window that spans several runs, so later ones get exact
	// windows.
	leakcheckExact atomic.Bool

	// Runs started and ended in this process, and the count of live
	// goroutines at the last run's end. leakcheckGap is set, until the
	// next full dump, when more goroutines were alive at a run's start
	// than at the last one's end (created between them by goroutines
	// older than the runs), or a run ended whose counts said nothing:
	// goroutines may be alive that no dump lists and no count accounts
	// for. Guarded by leakcheckDumpMu.
	leakcheckStarts, leakcheckEnds int64
	leakcheckLastEnd               int
	leakcheckStartsAtLastEnd       int64
	leakcheckGap                   bool

	leakcheckRootMu sync.Mutex
	leakcheckRoots  = map[uintptr]bool{}
)

// leakcheckIsCrowded says whether to skip a run's dumps: when leakcheck
// allows it (the default; not with --no-defer-checks) and has not asked
// for exact windows since, in a crowded process with goroutine labels in
// dumps and probes, once the round's final check is arranged. Each test's
// goroutines carry its label, so a later dump still tells them apart:
// the helper sends "start~" and "end~" instead of dumps, and leakcheck
// judges every ended run with the next dump it asks for (at most one per
// few dumps' time, so checks cost a bounded share), or with the one
// leakcheckFlush sends after the last test.
func leakcheckIsCrowded() bool {
	leakcheckRootMu.Lock()
	flushing := leakcheckFlushing
	leakcheckRootMu.Unlock()
	return flushing && !leakcheckExact.Load() && runtime.NumGoroutine() >= leakcheckCrowded
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

// leakcheckFlush asks leakcheck what the runs still waiting for a dump
// need ("check" without one), and sends dumps or leak profiles as it
// answers until it is done with them.
func leakcheckFlush(socket string) {
	leakcheckDumpMu.Lock()
	pending := leakcheckDeferred > 0
	leakcheckDeferred = 0
	if pending {
		leakcheckDumpSeq++
	}
	seq := leakcheckDumpSeq
	leakcheckDumpMu.Unlock()
	if !pending {
		return
	}
	conn := leakcheckGetConn(socket)
	leakcheckWrite(conn, "check - "+strconv.FormatInt(seq, 10)+" 0\n", nil)
	leakcheckUntilDone(conn, "check -")
}

// leakcheckMark is what a run's end compares with its start.
type leakcheckMark struct {
	// Goroutines created before the run's start snapshot, and alive then.
	created uint64
	live    int
	// Runs started and ended in the process by then.
	starts, ends int64
	// Goroutines may have been alive then that no dump lists and no
	// count accounts for (leakcheckGap, which a dump taken during the
	// run clears).
	gap bool
}

// leakcheckMarkStart notes a run's start. Called with leakcheckDumpMu held.
func leakcheckMarkStart(created uint64) leakcheckMark {
	leakcheckStarts++
	live := runtime.NumGoroutine()
	// Since the last run ended, its goroutine ended and the testing
	// package created this one's, and those of the runs started since
	// (parallel tests, which wait): any more alive were created by
	// goroutines older than them. (The runtime's own goroutines, such as
	// the GC's workers, are not counted.)
	others := int(leakcheckStarts - leakcheckStartsAtLastEnd - 1)
	if leakcheckLastEnd != 0 && live > leakcheckLastEnd+others {
		leakcheckGap = true
	}
	return leakcheckMark{created, live, leakcheckStarts, leakcheckEnds, leakcheckGap}
}

// leakcheckMarkEnd notes a run's end. Called with leakcheckDumpMu held.
func leakcheckMarkEnd() {
	leakcheckEnds++
	leakcheckLastEnd = runtime.NumGoroutine()
	leakcheckStartsAtLastEnd = leakcheckStarts
}

// leakcheckCounts compares a sequential run's end with its start, in a
// crowded process where its checks are deferred. When no other run
// started or ended meanwhile, the count of live goroutines either "grew"
// (some goroutine created during the run is still alive, after those
// about to end had a moment to: the run gets an end dump, as in any
// process), or it did not: "clean" says that, as far as the helper knows, every goroutine
// alive at the run's start was in the last full dump or created since by
// runs that ended "clean" too, so that, unless an older goroutine ended
// meanwhile and hid one in the count, no goroutine the run created
// outlived it. leakcheck relies on it only for a run that lies wholly
// between two full dumps, the later one showing every goroutine of the
// earlier one. Otherwise "-": the counts say nothing.
func leakcheckCounts(mark leakcheckMark) string {
	if leakcheckStarts != mark.starts || leakcheckEnds != mark.ends {
		return "-"
	}
	live := runtime.NumGoroutine()
	for i := 0; i < 20 && live > mark.live; i++ {
		runtime.Gosched()
		live = runtime.NumGoroutine()
	}
	switch {
	case live > mark.live:
		return "grew"
	case mark.gap || leakcheckGap:
		return "-"
	}
	return "clean"
}

// leakcheckIsParallel says whether t called t.Parallel: then it may have
// run alongside other parallel tests, whose goroutines the live count
// mixes with its own. (A sequential test runs while parallel ones wait,
// before they call t.Parallel or after all sequential tests.)
func leakcheckIsParallel(t *testing.T) bool {
	f := reflect.ValueOf(t).Elem().FieldByName("isParallel")
	return !f.IsValid() || f.Kind() != reflect.Bool || f.Bool()
}
