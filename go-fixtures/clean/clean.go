// Package clean is a leakcheck fixture in which nothing leaks.
//
// Every test here is clean:
//   - TestContextCancel: a worker exits on ctx.Done() after cancel.
//   - TestWorkerPool: a pool of workers drains a closed jobs channel and is
//     joined with a sync.WaitGroup.
//   - TestAfterFunc: a time.AfterFunc callback runs and finishes.
//   - TestCleanupStopsGoroutine: a t.Cleanup function stops a background
//     goroutine and waits for it.
//   - TestFinishesShortlyAfter: goroutines still running when the test
//     returns, but finishing 10-100 ms later, well within the 1 s grace.
//   - TestGroupOK and TestGroupError: an errgroup-like Group (standard
//     library only) that joins all goroutines and cancels the rest on the
//     first error.
package clean

import (
	"context"
	"sync"
	"time"
)

// ticks counts on out every interval until ctx is cancelled.
func ticks(ctx context.Context, interval time.Duration, out chan<- int, exited chan<- struct{}) {
	defer close(exited)
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case out <- i:
			case <-ctx.Done():
				return
			}
		}
	}
}

// squares computes the squares of jobs with a pool of n workers.
func squares(n int, jobs []int) []int {
	in := make(chan int)
	out := make([]int, len(jobs))
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range in {
				out[i] = jobs[i] * jobs[i]
			}
		}()
	}
	for i := range jobs {
		in <- i
	}
	close(in)
	wg.Wait()
	return out
}

// Group is a minimal errgroup: it runs functions in goroutines, waits for
// all of them and returns the first error, cancelling its context then.
type Group struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

// WithContext returns a Group and a context cancelled when a function fails
// or Wait returns.
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &Group{cancel: cancel}, ctx
}

// Go runs f in a new goroutine.
func (g *Group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	}()
}

// Wait waits for every function started with Go and returns the first error.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
