// Package crowded is a leakcheck fixture for a crowded process: its
// TestMain keeps 1,500 goroutines parked while the tests run, more than
// the helper's threshold (1,000) from which it stops dumping every
// goroutine at every test's start and end, and leakcheck judges the runs
// with later dumps, telling their goroutines apart by their labels.
//
// Two tests leak one goroutine each, one of them parallel; the others
// start goroutines and join them (one lets its goroutine finish after the
// test returns, well within the grace period), so they are clean.
package crowded

import (
	"sync"
	"time"
)

// Park starts n goroutines that wait until stop is closed, and returns
// once they all run.
func Park(n int, stop chan struct{}) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			wg.Done()
			<-stop
		}()
	}
	wg.Wait()
}

// Join starts n goroutines and waits for them.
func Join(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
}

// Linger starts a goroutine that ends shortly after the caller returns.
func Linger() {
	go func() { time.Sleep(50 * time.Millisecond) }()
}

// LeakSequential leaks a goroutine blocked on a channel nobody uses.
func LeakSequential() {
	never := make(chan int)
	go func() { <-never }() // want-leak: TestCrowdedLeak
}

// LeakParallel leaks a goroutine blocked in an empty select.
func LeakParallel() {
	go func() { select {} }() // want-leak: TestCrowdedParallelLeak
}
