package clean

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan int)
	exited := make(chan struct{})
	go ticks(ctx, time.Millisecond, out, exited)
	for i := 0; i < 3; i++ {
		<-out
	}
	cancel()
	<-exited
}

func TestContextCancelNoJoin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the worker exits right after the test returns
	out := make(chan int)
	go ticks(ctx, time.Millisecond, out, make(chan struct{}))
	<-out
}

func TestWorkerPool(t *testing.T) {
	jobs := []int{1, 2, 3, 4, 5, 6, 7, 8}
	got := squares(3, jobs)
	for i, v := range jobs {
		if got[i] != v*v {
			t.Fatalf("got[%d] = %d, want %d", i, got[i], v*v)
		}
	}
}

func TestAfterFunc(t *testing.T) {
	fired := make(chan struct{})
	time.AfterFunc(5*time.Millisecond, func() { close(fired) })
	<-fired
	// A timer that is stopped before firing never starts its goroutine.
	tm := time.AfterFunc(time.Hour, func() { t.Error("fired") })
	tm.Stop()
}

func TestCleanupStopsGoroutine(t *testing.T) {
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		<-stop
	}()
	t.Cleanup(func() {
		close(stop)
		<-exited
	})
}

func TestFinishesShortlyAfter(t *testing.T) {
	for _, d := range []time.Duration{10, 50, 100} {
		go func(d time.Duration) {
			time.Sleep(d * time.Millisecond)
		}(d)
	}
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock() // acquired once the AfterFunc below unlocks
		mu.Unlock()
	}()
	time.AfterFunc(20*time.Millisecond, mu.Unlock)
}

func TestGroupOK(t *testing.T) {
	g, ctx := WithContext(context.Background())
	results := make([]int, 5)
	for i := 0; i < 5; i++ {
		i := i
		g.Go(func() error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(i) * time.Millisecond):
				results[i] = i * 10
				return nil
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if results[4] != 40 {
		t.Fatalf("results = %v", results)
	}
}

func TestGroupError(t *testing.T) {
	boom := errors.New("boom")
	g, ctx := WithContext(context.Background())
	g.Go(func() error { return boom })
	for i := 0; i < 4; i++ {
		g.Go(func() error {
			<-ctx.Done() // cancelled by the failing function
			return ctx.Err()
		})
	}
	if err := g.Wait(); err != boom {
		t.Fatalf("err = %v, want boom", err)
	}
}
