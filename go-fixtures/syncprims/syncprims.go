// Package syncprims is a leakcheck fixture for goroutines blocked forever on
// sync primitives rather than channels.
//
// Leaking tests, one goroutine each:
//   - TestMutexLeak: the test locks a sync.Mutex and never unlocks it; the
//     goroutine blocks forever in Mutex.Lock.
//   - TestWaitGroupLeak: WaitGroup.Add(1) is never matched by Done; the
//     goroutine blocks forever in WaitGroup.Wait.
//   - TestCondLeak: the goroutine waits on a sync.Cond that is never
//     signalled; it blocks forever in Cond.Wait.
//
// TestMutexClean, TestWaitGroupClean and TestCondClean use the same
// primitives correctly (unlock, Done, Broadcast) and wait for their
// goroutines: they are clean.
package syncprims

import "sync"

// lockAndSignal locks mu (blocking while someone else holds it), then unlocks
// it and closes done.
func lockAndSignal(mu *sync.Mutex, done chan<- struct{}) {
	mu.Lock()
	defer mu.Unlock()
	close(done)
}

// waitAndSignal waits for wg and closes done.
func waitAndSignal(wg *sync.WaitGroup, done chan<- struct{}) {
	wg.Wait()
	close(done)
}

// gate is a one-shot condition built on sync.Cond.
type gate struct {
	mu    sync.Mutex
	cond  *sync.Cond
	open  bool
	nwait int
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// wait blocks until the gate is opened.
func (g *gate) wait() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nwait++
	for !g.open {
		g.cond.Wait()
	}
}

// waiters reports how many goroutines have entered wait.
func (g *gate) waiters() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nwait
}

// openGate opens the gate and wakes every waiter.
func (g *gate) openGate() {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
	g.cond.Broadcast()
}
