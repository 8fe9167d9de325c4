// Package ticker is a leakcheck fixture for a ticker loop that never ends.
//
// startPoller ranges over the channel of a time.NewTicker that is never
// stopped, and the loop has no exit, so the goroutine runs forever (waking up
// on every tick, otherwise parked in chan receive): TestPollerLeak leaks
// exactly one goroutine.
//
// startPollerStoppable selects on a done channel as well as the ticker and
// stops the ticker with defer when it returns; TestPollerStopped closes done
// and waits for the goroutine, so it is clean.
package ticker

import (
	"sync/atomic"
	"time"
)

// startPoller polls every interval, forever. The returned counter counts
// the ticks seen.
func startPoller(interval time.Duration) *atomic.Int64 {
	var ticks atomic.Int64
	// The ticker is never stopped and the loop below never exits.
	ticker := time.NewTicker(interval)
	go func() { // want-leak: TestPollerLeak
		for range ticker.C {
			ticks.Add(1)
		}
	}()
	return &ticks
}

// startPollerStoppable polls every interval until done is closed; the
// returned channel is closed when the poller has exited.
func startPollerStoppable(interval time.Duration, done <-chan struct{}) (*atomic.Int64, <-chan struct{}) {
	var ticks atomic.Int64
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				ticks.Add(1)
			case <-done:
				return
			}
		}
	}()
	return &ticks, exited
}
