package ticker

import (
	"testing"
	"time"
)

// waitTicks waits until ticks reaches n (or fails after 2s).
func waitTicks(t *testing.T, load func() int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d ticks, want %d", load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPollerLeak(t *testing.T) {
	ticks := startPoller(10 * time.Millisecond)
	waitTicks(t, ticks.Load, 2)
}

func TestPollerStopped(t *testing.T) {
	done := make(chan struct{})
	ticks, exited := startPollerStoppable(5*time.Millisecond, done)
	waitTicks(t, ticks.Load, 2)
	close(done)
	<-exited
}
