// Package parallel is a leakcheck fixture for attribution among parallel
// tests.
//
// TestParallel01 ... TestParallel10 all call t.Parallel() and run at the same
// time. Exactly one of them, TestParallel07, leaks one goroutine (started by
// leakOne, blocked forever on a channel receive). The other nine start a few
// short-lived goroutines with runWorkers and join them before returning, so
// they are clean.
package parallel

import (
	"sync"
	"time"
)

// runWorkers starts n goroutines that each work for a few milliseconds and
// waits for all of them. It returns the sum of their results.
func runWorkers(n int) int {
	var wg sync.WaitGroup
	results := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i+1) * time.Millisecond)
			results[i] = i
		}(i)
	}
	wg.Wait()
	sum := 0
	for _, r := range results {
		sum += r
	}
	return sum
}

// leakOne starts a goroutine that waits forever on a channel nobody uses.
func leakOne() {
	never := make(chan struct{})
	go func() { <-never }() // want-leak: TestParallel07
}
