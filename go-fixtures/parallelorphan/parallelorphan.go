// Package parallelorphan is a leakcheck fixture for the hardest case of
// attribution: an orphan among parallel tests.
//
// TestOrphanA and TestOrphanB run in parallel and are both running when
// TestOrphanA's goroutine P starts a goroutine C and exits; C blocks
// forever. TestOrphanB is clean.
//
// With Go 1.26 and later the inherited pprof label names TestOrphanA
// exactly. Before 1.26 nothing in the dump links C to a test (its creator
// has exited and two tests were running), so leakcheck reports it once, as
// ambiguous between the two tests. The marker says both.
//
// The tests need -parallel 2 or more to overlap; with less, the barrier
// gives up after a while so that they never hang.
package parallelorphan

import (
	"sync"
	"time"
)

// Barrier releases its waiters once n of them have arrived.
type Barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	release chan struct{}
}

// NewBarrier returns a barrier for n goroutines.
func NewBarrier(n int) *Barrier {
	return &Barrier{n: n, release: make(chan struct{})}
}

// Wait blocks until n goroutines have called Wait, or for 5 seconds.
func (b *Barrier) Wait() {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	select {
	case <-b.release:
	case <-timeout.C:
	}
}

// SpawnOrphan starts a goroutine that starts a goroutine blocked forever,
// and waits until the middle one has exited.
func SpawnOrphan() {
	parentDone := make(chan struct{})
	go func() {
		defer close(parentDone)
		go func() { select {} }() // want-leak: TestOrphanA fallback-ambiguous=TestOrphanB
	}()
	<-parentDone
}
