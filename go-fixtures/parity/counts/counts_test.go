package counts

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// settle waits (up to 5 s) until runtime.NumGoroutine() is want, and
// fails t unless it is.
func settle(t *testing.T, want int) {
	t.Helper()
	got := runtime.NumGoroutine()
	for i := 0; i < 5000 && got != want; i++ {
		time.Sleep(time.Millisecond)
		got = runtime.NumGoroutine()
	}
	if got != want {
		t.Fatalf("runtime.NumGoroutine() = %d after joining, want %d as at the start", got, want)
	}
}

// startJoin starts n goroutines and waits until each has run.
func startJoin(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.Gosched()
		}()
	}
	wg.Wait()
}

func TestCountJoined(t *testing.T) {
	start := runtime.NumGoroutine()
	startJoin(20)
	settle(t, start)
}

func TestCountChannels(t *testing.T) {
	start := runtime.NumGoroutine()
	in := make(chan int)
	out := make(chan int)
	for i := 0; i < 3; i++ {
		go func() {
			for v := range in {
				out <- v + 1
			}
		}()
	}
	go func() {
		for i := 0; i < 9; i++ {
			in <- i
		}
		close(in)
	}()
	sum := 0
	for i := 0; i < 9; i++ {
		sum += <-out
	}
	if sum != 45 {
		t.Fatalf("sum = %d, want 45", sum)
	}
	if during := runtime.NumGoroutine(); during < start {
		t.Fatalf("runtime.NumGoroutine() = %d while running, below %d at the start", during, start)
	}
	settle(t, start)
}

func TestCountSubtests(t *testing.T) {
	for _, n := range []int{1, 5} {
		t.Run("join", func(t *testing.T) {
			start := runtime.NumGoroutine()
			startJoin(n)
			settle(t, start)
		})
	}
}

func TestCountExact(t *testing.T) {
	start := runtime.NumGoroutine()
	total := 0
	for i := 0; i < 1000; i++ {
		total += i
	}
	if end := runtime.NumGoroutine(); end != start || total != 499500 {
		t.Fatalf("runtime.NumGoroutine() = %d at the end, %d at the start", end, start)
	}
}

func TestCountParallel(t *testing.T) {
	t.Parallel()
	start := runtime.NumGoroutine()
	startJoin(10)
	settle(t, start)
}

// countInTurn joins two goroutines and wants the count it started with.
func countInTurn(t *testing.T) {
	start := runtime.NumGoroutine()
	startJoin(2)
	settle(t, start)
}
