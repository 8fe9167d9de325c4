// Package testmain is a leakcheck fixture for a package with its own
// TestMain.
//
// TestMain (in main_test.go) starts a background metrics flusher with
// StartFlusher before calling m.Run, and sets setupDone so the tests can
// check that TestMain really ran. The flusher goroutine loops over a channel
// that is never closed, so it lives until the process exits; but it existed
// before any test started and must never be blamed on a test.
//
// TestSetupRan and TestRecordMetrics are clean. TestLeakAfterTestMain leaks
// one goroutine blocked forever on a channel receive, to check that
// attribution still works in a package with its own TestMain.
package testmain

import "sync"

// Metric is one recorded measurement.
type Metric struct {
	Name  string
	Value int
}

var (
	mu      sync.Mutex
	flushed []Metric
)

// StartFlusher starts the background flusher that drains metrics into the
// flushed list until metrics is closed.
func StartFlusher(metrics <-chan Metric) {
	go func() {
		for m := range metrics {
			mu.Lock()
			flushed = append(flushed, m)
			mu.Unlock()
		}
	}()
}

// Flushed returns how many metrics have been flushed so far.
func Flushed() int {
	mu.Lock()
	defer mu.Unlock()
	return len(flushed)
}

// waitForever blocks until ch is closed or receives a value.
func waitForever(ch <-chan struct{}) {
	<-ch
}
