// Snapshots: goroutine dumps, and the short messages that stand for one
// when the runtime's count of created goroutines (Go 1.26+) proves what a
// dump would show.

package testing

import (
	"bytes"
	"io"
	"runtime"
	leakcheckmetrics "runtime/metrics"
	"runtime/pprof"
	"syscall"
	_ "unsafe" // for go:linkname
)

var (
	// The base: the last full dump (leakcheckBuf[:leakcheckBaseLen]), and
	// the run goroutines that "start=" added since; leakcheckBaseCreated
	// goroutines had been created by then. Valid when leakcheckBaseLen > 0.
	leakcheckBuf         = make([]byte, 64<<10)
	leakcheckBaseLen     int
	leakcheckBaseCreated uint64
	leakcheckBaseExtra   = map[string]bool{}

	// Tests and fuzz targets started and not ended, each on a goroutine
	// of its own; leakcheckBaseOthers goroutines alive when the base was
	// taken were not theirs.
	leakcheckTestsRunning int
	leakcheckBaseOthers   int

	// leakcheckJudgeLater: a run of this round ended with "end~".
	leakcheckJudgeLater bool
	// leakcheckExact: leakcheck asked for a snapshot at every start and end.
	leakcheckExact bool

	leakcheckMetric = []leakcheckmetrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
)

// leakcheckCreated is the number of goroutines created so far, when the
// runtime counts them (Go 1.26+).
func leakcheckCreated() (uint64, bool) {
	leakcheckmetrics.Read(leakcheckMetric)
	v := leakcheckMetric[0].Value
	if v.Kind() != leakcheckmetrics.KindUint64 {
		return 0, false
	}
	return v.Uint64(), true
}

// leakcheckSendStart sends the start snapshot of run id, on goroutine
// gid, and returns the count of goroutines created before it:
//   - "start= ID GID" when the count proves that no goroutine but gid was
//     created since the base: the snapshot is the base plus gid;
//   - "start~ ID GID" in a crowded process: goroutines created since the
//     last snapshot may be there too (labels tell them apart);
//   - else "start ID GID" with a dump.
func leakcheckSendStart(id, gid string) uint64 {
	created, counted := leakcheckCreated()
	if counted && leakcheckBaseLen > 0 && created-leakcheckBaseCreated <= 1 &&
		(created == leakcheckBaseCreated || !leakcheckInBase(gid)) {
		if created != leakcheckBaseCreated {
			leakcheckBaseCreated = created
			leakcheckBaseExtra[gid] = true
		}
		leakcheckSend("start= "+id+" "+gid, nil)
		return created
	}
	if counted && leakcheckCrowded() {
		leakcheckSend("start~ "+id+" "+gid, nil)
		return created
	}
	leakcheckDump("start "+id+" "+gid, false)
	return created
}

// leakcheckSendEnd sends the end snapshot of run r, and says whether
// leakcheck answers it:
//   - "end= ID STATUS", not answered, when no goroutine was created since
//     its start: the run is clean;
//   - "end~ ID STATUS COUNT", not answered, in a crowded process, for a
//     test (not a fuzz target) that is parallel or whose COUNT is
//     "clean": the run is judged with a later dump (labels tell its
//     goroutines apart), and the round's end asks for what such runs
//     still need;
//   - else "end ID STATUS" with a dump, answered.
//
// COUNT is "clean" when no more goroutines are alive than in the base,
// but for tests' own: then none the run started outlived it, unless one
// of the base's ended meanwhile and hid it in the count (which leakcheck
// rules out when the next dump still has all of the base's). Else "-".
func leakcheckSendEnd(r *leakcheckRunning, status string, parallel bool) bool {
	now, counted := leakcheckCreated()
	if counted && now == r.created {
		leakcheckSend("end= "+r.id+" "+status, nil)
		return false
	}
	if counted && r.deferrable && leakcheckCrowded() {
		count := "-"
		if leakcheckNoneNew() {
			count = "clean"
		}
		if parallel || count == "clean" {
			leakcheckJudgeLater = true
			leakcheckSend("end~ "+r.id+" "+status+" "+count, nil)
			return false
		}
	}
	leakcheckDump("end "+r.id+" "+status, false)
	return true
}

// leakcheckNoneNew says whether no more goroutines are alive than in the
// base, tests' own aside, once those about to end had a moment to.
func leakcheckNoneNew() bool {
	for i := 0; runtime.NumGoroutine()-leakcheckTestsRunning > leakcheckBaseOthers; i++ {
		if i == 20 {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// leakcheckCrowded says whether snapshots may skip their dump: a dump
// lists every goroutine, which costs time in proportion to all of them
// (tens of milliseconds for 20,000). So when leakcheck allows it and
// dumps show labels, in a process of 1,000 goroutines or more, they may.
func leakcheckCrowded() bool {
	return leakcheckDefer && leakcheckLabels && !leakcheckExact && leakcheckBaseLen > 0 &&
		runtime.NumGoroutine() >= 1000
}

// leakcheckInBase says whether goroutine gid is in the base.
func leakcheckInBase(gid string) bool {
	if leakcheckBaseExtra[gid] {
		return true
	}
	header := []byte("goroutine " + gid + " [")
	base := leakcheckBuf[:leakcheckBaseLen]
	return bytes.HasPrefix(base, header) || bytes.Contains(base, append([]byte("\n"), header...))
}

// leakcheckDump sends a message with a full dump, which becomes the base.
// With profile, the goroutine leak profile is taken first (when the
// runtime has it): its GC marks the goroutines it proves unreachable, and
// the dump shows them "(leaked)".
func leakcheckDump(header string, profile bool) {
	if p := pprof.Lookup("goroutineleak"); profile && p != nil {
		p.WriteTo(io.Discard, 1)
	}
	created, counted := leakcheckCreated()
	// Counted before and after the dump: the fewer is never more than it
	// shows.
	others := runtime.NumGoroutine() - leakcheckTestsRunning
	// About 500 bytes a goroutine: one try, rather than one per doubling
	// (each stops the world).
	if want := 512 * runtime.NumGoroutine(); len(leakcheckBuf) < want {
		leakcheckBuf = make([]byte, want)
	}
	var n int
	leakcheckWithLabels(func() {
		n = runtime.Stack(leakcheckBuf, true)
		for n == len(leakcheckBuf) {
			leakcheckBuf = make([]byte, 2*len(leakcheckBuf))
			n = runtime.Stack(leakcheckBuf, true)
		}
	})
	if after := runtime.NumGoroutine() - leakcheckTestsRunning; after < others {
		others = after
	}
	leakcheckBaseOthers = others
	leakcheckBaseLen, leakcheckBaseCreated = 0, created
	if counted {
		leakcheckBaseLen = n
	}
	clear(leakcheckBaseExtra)
	leakcheckSend(header, leakcheckBuf[:n])
	// The dump stopped the world: goroutines it caught running wait in
	// the global run queue, one of them perhaps the last test's, about to
	// exit. They go first, as they would have without the dump, so that a
	// test counting goroutines at its start sees what go test shows it.
	runtime.Gosched()
}

// leakcheckWithLabels runs dump with pprof labels in goroutine headers
// (GODEBUG=tracebacklabels=1), when the runtime can show them: the
// runtime is told so for the moment of the dump only (which stops the
// world), and the process's environment never changes, so that the tests
// read their own GODEBUG.
func leakcheckWithLabels(dump func()) {
	if !leakcheckLabels {
		dump()
		return
	}
	old, had := syscall.Getenv("GODEBUG")
	with := "tracebacklabels=1"
	if old != "" {
		with = old + "," + with
	}
	leakcheckRuntimeSetenv("GODEBUG", with)
	dump()
	if had {
		leakcheckRuntimeSetenv("GODEBUG", old)
	} else {
		leakcheckRuntimeUnsetenv("GODEBUG")
	}
}

// The runtime's side of os.Setenv and os.Unsetenv (it re-reads GODEBUG),
// without the process's environment.
//
//go:linkname leakcheckRuntimeSetenv syscall.runtimeSetenv
func leakcheckRuntimeSetenv(key, value string)

//go:linkname leakcheckRuntimeUnsetenv syscall.runtimeUnsetenv
func leakcheckRuntimeUnsetenv(key string)

// leakcheckGoid is the calling goroutine's ID.
func leakcheckGoid() string {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	return string(b[:bytes.IndexByte(b, ' ')])
}
