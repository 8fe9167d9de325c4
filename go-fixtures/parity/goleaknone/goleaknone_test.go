package goleaknone

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// run starts n goroutines running f and waits for all of them.
func run(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f(i)
		}(i)
	}
	wg.Wait()
}

func TestDeferVerifyNone(t *testing.T) {
	defer goleak.VerifyNone(t)
	results := make([]int, 6)
	run(len(results), func(i int) { results[i] = i * 2 })
	for i, r := range results {
		if r != i*2 {
			t.Fatalf("results[%d] = %d", i, r)
		}
	}
}

func TestDeferVerifyNoneTimer(t *testing.T) {
	defer goleak.VerifyNone(t)
	ticks := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				select {
				case ticks <- struct{}{}:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	for i := 0; i < 3; i++ {
		<-ticks
	}
	close(stop)
	<-done
}

func TestVerifyNoneSubtests(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Run("a", func(t *testing.T) {
		run(3, func(int) {})
	})
	t.Run("b", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ch := make(chan int)
		go func() { ch <- 42 }()
		if v := <-ch; v != 42 {
			t.Fatalf("got %d", v)
		}
	})
	t.Run("c", func(t *testing.T) {
		t.Run("nested", func(t *testing.T) {
			run(2, func(int) { time.Sleep(time.Millisecond) })
		})
	})
}

func TestVerifyNoneMiddle(t *testing.T) {
	var total int
	var mu sync.Mutex
	run(4, func(i int) {
		mu.Lock()
		total += i
		mu.Unlock()
	})
	goleak.VerifyNone(t)
	if total != 6 {
		t.Fatalf("total = %d, want 6", total)
	}
	run(2, func(int) {})
}
