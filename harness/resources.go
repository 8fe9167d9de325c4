// Resources (leakcheck --check fds,processes,heap): a run's start and end
// become points where the process waits while leakcheck looks at it from
// outside (its descriptors, its child processes) and, when asked, at its
// live heap.

package testing

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// leakcheckResourcesOn: setting res=1, the exchange below (memrate=N
// sets runtime.MemProfileRate, for the heap profile).
var leakcheckResourcesOn bool

// leakcheckResourcesInit: the runtime's poller opens its descriptors
// (epoll, and an eventfd or a pipe) the first time something pollable is
// opened; opening a pipe now gives them to the process before any test.
func leakcheckResourcesInit() {
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
}

// leakcheckResources sends "res ID WHEN PID HEAP PAUSED" (WHEN: start or
// end; HEAP: the live heap after a GC, or "-"; PAUSED: the runs of tests
// paused in t.Parallel, or "-") and answers leakcheck until it says
// "done": "again MS" asks for the message again after MS milliseconds,
// "heap" for it with the live heap, "heap profile" with the heap profile
// as its body too (after two GCs). Called with leakcheckMu held, which it
// keeps: no run starts or ends meanwhile.
func leakcheckResources(id, when string) {
	if !leakcheckResourcesOn {
		return
	}
	heap := "-"
	var body []byte
	for {
		paused := []string{}
		for c, id := range leakcheckTests {
			if !leakcheckIsRunning(c.name) {
				paused = append(paused, id)
			}
		}
		if len(paused) == 0 {
			paused = append(paused, "-")
		}
		leakcheckSend("res "+id+" "+when+" "+strconv.Itoa(os.Getpid())+" "+heap+" "+strings.Join(paused, ","), body)
		body = nil
		switch kind, arg := leakcheckAnswer(); kind {
		case "done":
			return
		case "again":
			ms, _ := strconv.Atoi(arg)
			time.Sleep(time.Duration(ms) * time.Millisecond)
		case "heap":
			// With the profile, twice: a sync.Pool's buffers outlive one
			// GC (its victim cache), not two.
			runtime.GC()
			if arg == "profile" {
				runtime.GC()
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			heap = strconv.FormatUint(m.HeapAlloc, 10)
			if arg == "profile" {
				var b bytes.Buffer
				pprof.Lookup("heap").WriteTo(&b, 1)
				body = b.Bytes()
			}
		default:
			leakcheckFail(fmt.Errorf("got an unexpected answer %q", kind+" "+arg))
		}
	}
}

// leakcheckIsRunning says whether test name or one of its subtests runs,
// not paused in t.Parallel (nor waiting for parallel subtests).
func leakcheckIsRunning(name string) bool {
	_, found := running.Load(name)
	running.Range(func(k, _ any) bool {
		found = found || strings.HasPrefix(k.(string), name+"/")
		return !found
	})
	return found
}
