// leakcheck's hook in the testing package.
//
// leakcheck adds the files zz_leakcheck_*.go to the standard library's
// testing package through `go test -overlay`, and one call on the line of
// each anchor (line numbers stay as they are):
//
//	tRunner, before fn(t):       leakcheckRun(&t.common); fn(t)
//	fRunner, before fn(f):       leakcheckRun(&f.common); fn(f)
//	runExample, before eg.F():   leakcheckExampleStart(eg.Name); eg.F()
//	runExample's deferred func:  timeSpent := ...; leakcheckExampleEnd(finished)
//
// Each call returns before the test function runs, so no frame of
// leakcheck's is on a test's stack, and no goroutine of leakcheck's lives
// while tests run (but a probe's, for the moment it sends).
//
// The hook holds no policy: it labels each test's goroutine, so that every
// goroutine the test starts carries the label; it tells leakcheck when a
// test starts and ends, with a goroutine dump where one is needed; and
// after a test it sends dumps until leakcheck says "done". leakcheck
// decides what leaked. Files: hook.go (the calls above), conn.go (talking
// to leakcheck), dump.go (snapshots), probe.go (the leak profile of
// long-running tests), resources.go (descriptors, processes and heap).
// Every identifier starts with "leakcheck", so none clashes with the
// testing package's own.
//
// Without LEAKCHECK_HELPER in the environment it does nothing at all.

package testing

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// leakcheck's settings, from LEAKCHECK_HELPER="fd=N labels=1 probe=MS defer=1"
// (fd: the connection, see conn.go; res=1 memrate=N: see resources.go).
var (
	// leakcheckLabels: runtime.Stack can show pprof labels (Go 1.26+).
	leakcheckLabels bool
	// leakcheckProbeAfter: a run going on this long gets probed (0: never).
	leakcheckProbeAfter time.Duration
	// leakcheckDefer: runs in a crowded process may be judged later.
	leakcheckDefer bool
)

// leakcheckLabelKey is the pprof label that marks a test's goroutines.
const leakcheckLabelKey = "leakcheck_test"

func init() {
	settings, ok := os.LookupEnv("LEAKCHECK_HELPER")
	if !ok {
		return
	}
	// The environment a test sees is the user's, and processes the tests
	// start (the os.Args[0] helper-process pattern) are not checked.
	os.Unsetenv("LEAKCHECK_HELPER")
	fd := -1
	for _, setting := range strings.Fields(settings) {
		key, value, _ := strings.Cut(setting, "=")
		n, err := strconv.Atoi(value)
		switch {
		case err != nil:
			leakcheckFail(fmt.Errorf("has a bad setting %q", setting))
		case key == "fd":
			fd = n
		case key == "labels":
			leakcheckLabels = n == 1
		case key == "probe":
			leakcheckProbeAfter = time.Duration(n) * time.Millisecond
		case key == "defer":
			leakcheckDefer = n == 1
		case key == "res":
			leakcheckResourcesOn = n == 1
		case key == "memrate" && n > 0:
			runtime.MemProfileRate = n
		}
	}
	if fd < 3 {
		leakcheckFail(fmt.Errorf("has bad settings %q", settings))
	}
	syscall.CloseOnExec(fd)
	leakcheckConn = os.NewFile(uintptr(fd), "leakcheck")
	leakcheckAnswers = bufio.NewReader(leakcheckConn)
	// The key that starts every message (see conn.go): read before any
	// test's code runs.
	if kind, key := leakcheckAnswer(); kind == "key" && key != "" {
		leakcheckKey = key
	} else {
		leakcheckFail(fmt.Errorf("got no key from leakcheck (%q)", kind+" "+key))
	}
	if leakcheckResourcesOn {
		leakcheckResourcesInit()
	}
}

// leakcheckRunning is a test run that started and has not ended: a
// top-level test, fuzz target or example.
type leakcheckRunning struct {
	id      string // Name#N
	created uint64 // goroutines created before its start snapshot, if counted
	// listed: the test's name while the testing package lists it as
	// running (see probe.go), else "".
	listed string
	// test: a test or fuzz target, on a goroutine of its own (an example
	// runs on the main goroutine).
	test bool
	// deferrable: a test, whose round ends with leakcheckEndRound (a fuzz
	// target's does not: the fuzz targets' root is never run by tRunner).
	deferrable bool
}

var (
	// leakcheckRuns numbers runs within the process (-count, -cpu).
	leakcheckRuns int
	// leakcheckTests maps each top-level test running to its run ID,
	// which its subtests' labels start with.
	leakcheckTests = map[*common]string{}
	// leakcheckExample is the example running, if any.
	leakcheckExample *leakcheckRunning
	// leakcheckRound is the root of the round of tests running.
	leakcheckRound *common
)

// leakcheckRun is called on the goroutine of a round's root test, a
// top-level test or fuzz target, or a subtest (a fuzz seed is one),
// just before its function.
func leakcheckRun(c *common) {
	if leakcheckConn == nil {
		return
	}
	switch {
	case c.parent == nil:
		// Its cleanup runs after all the round's tests, parallel ones too.
		c.Cleanup(leakcheckEndRound)
		leakcheckMu.Lock()
		leakcheckRound = c
		leakcheckMu.Unlock()
	case c.parent.parent == nil:
		r := leakcheckStart(c.name, true)
		leakcheckMu.Lock()
		leakcheckTests[c] = r.id
		r.deferrable = c.parent == leakcheckRound
		leakcheckMu.Unlock()
		// Registered first, so it runs last: after the test's own cleanups
		// and after its subtests.
		c.Cleanup(func() { leakcheckEndTest(c, r) })
	default:
		leakcheckStartSubtest(c)
	}
}

// leakcheckStart starts a run on the calling goroutine: labels it, and
// sends its start snapshot.
func leakcheckStart(name string, test bool) *leakcheckRunning {
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	leakcheckRuns++
	r := &leakcheckRunning{id: name + "#" + strconv.Itoa(leakcheckRuns), test: test}
	if test {
		leakcheckTestsRunning++
	}
	leakcheckLabel(r.id)
	r.created = leakcheckSendStart(r.id, leakcheckGoid())
	leakcheckResources(r.id, "start")
	leakcheckStartProbe(r, name)
	return r
}

// leakcheckEndTest ends a top-level test's run, unless it is about to
// crash the process (a panic, or runtime.Goexit outside FailNow and
// SkipNow). The time spent here is not the test's.
func leakcheckEndTest(c *common, r *leakcheckRunning) {
	began := time.Now()
	c.mu.RLock()
	finished := c.finished
	c.mu.RUnlock()
	status := "pass"
	if c.Skipped() {
		status = "skip"
	} else if c.Failed() {
		status = "fail"
	}
	leakcheckMu.Lock()
	delete(leakcheckTests, c)
	leakcheckMu.Unlock()
	if leakcheckResourcesOn {
		leakcheckForgetCleanups(c)
	}
	leakcheckEnd(r, status, finished, c.isParallel)
	c.duration -= time.Since(began)
}

// leakcheckForgetCleanups: cleanups that ran stay in the backing array of
// c.cleanups (runCleanup only shortens the slice), with what they
// captured, until c is unreachable, and a parallel subtest is reachable
// from its parent's sub. Dropped before the heap and descriptors are
// judged, as they are once the test is done.
func leakcheckForgetCleanups(c *common) {
	c.mu.Lock()
	clear(c.cleanups[len(c.cleanups):cap(c.cleanups)])
	sub := c.sub
	c.mu.Unlock()
	for _, t := range sub {
		leakcheckForgetCleanups(&t.common)
	}
}

// leakcheckEnd ends a run: stops its probes and, unless the process is
// about to crash, sends its end and answers leakcheck until it is judged.
func leakcheckEnd(r *leakcheckRunning, status string, finished, parallel bool) {
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	defer leakcheckPostpone(time.Now())
	leakcheckStopProbe(r)
	if r.test {
		defer func() { leakcheckTestsRunning-- }()
	}
	if !finished {
		return
	}
	if leakcheckSendEnd(r, status, parallel) {
		leakcheckAwait(r.id)
	}
	leakcheckResources(r.id, "end")
}

// leakcheckStartSubtest labels a subtest's goroutine with its run ID and
// its name (TestX#3/a/b for TestX/a/b) where dumps show labels (Go
// 1.26+), else says which goroutine it runs on: the goroutines it starts
// name it as their creator.
func leakcheckStartSubtest(c *common) {
	top := c
	for top.parent.parent != nil {
		top = top.parent
	}
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	id, ok := leakcheckTests[top]
	if !ok || !strings.HasPrefix(c.name, top.name) {
		return
	}
	id += c.name[len(top.name):]
	if leakcheckLabels {
		leakcheckLabel(id)
	} else {
		leakcheckSend("sub "+id+" "+leakcheckGoid(), nil)
	}
}

// leakcheckEndRound: after a round's last test, the runs judged later
// (see leakcheckSendEnd) are judged before the process goes on.
func leakcheckEndRound() {
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	if !leakcheckJudgeLater {
		return
	}
	leakcheckJudgeLater = false
	defer leakcheckPostpone(time.Now())
	// Asks what they need (a dump, the leak profile, or nothing).
	leakcheckSend("dump -", nil)
	leakcheckAwait("-")
}

// The binary's -timeout alarm (set by startAlarm), and when it goes off:
// postponed by the time the runs wait for their checks, which is not the
// tests' (leakcheck allows the process as much more).
var (
	leakcheckAlarm    *time.Timer
	leakcheckDeadline time.Time
)

// leakcheckSetAlarm is called by startAlarm as it returns.
func leakcheckSetAlarm(t *time.Timer, deadline time.Time) {
	leakcheckMu.Lock()
	leakcheckAlarm, leakcheckDeadline = t, deadline
	leakcheckMu.Unlock()
}

// leakcheckPostpone postpones the alarm by the time since began, unless
// it went off or was stopped. Called with leakcheckMu held.
func leakcheckPostpone(began time.Time) {
	if leakcheckAlarm != nil && leakcheckAlarm.Stop() {
		leakcheckDeadline = leakcheckDeadline.Add(time.Since(began))
		leakcheckAlarm.Reset(time.Until(leakcheckDeadline))
	}
}

// leakcheckExampleStart starts an example's run on the main goroutine.
func leakcheckExampleStart(name string) {
	if leakcheckConn != nil {
		leakcheckExample = leakcheckStart(name, false)
	}
}

// leakcheckExampleEnd ends it (finished: it returned), before its output
// is compared; the main goroutine's label is taken off.
func leakcheckExampleEnd(finished bool) {
	r := leakcheckExample
	if r == nil {
		return
	}
	leakcheckExample = nil
	if leakcheckLabels {
		pprof.SetGoroutineLabels(context.Background())
	}
	leakcheckEnd(r, "pass", finished, false)
}

// leakcheckLabel sets the calling goroutine's label, when dumps can show
// it.
func leakcheckLabel(id string) {
	if leakcheckLabels {
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(leakcheckLabelKey, id)))
	}
}

// leakcheckWrap hooks a test by wrapping its function, for a Go release
// whose tRunner lacks the anchor (see leakcheck's src/go/harness.rs): the
// wrapper's frame is then on the test's stack.
func leakcheckWrap(f func(*T)) func(*T) {
	if leakcheckConn == nil {
		return f
	}
	return func(t *T) {
		leakcheckRun(&t.common)
		f(t)
	}
}
