package goleakmain

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sumWorkers adds 1..n on n goroutines and waits for all of them.
func sumWorkers(n int) int {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sum int
	)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mu.Lock()
			sum += i
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return sum
}

func TestJoinWorkers(t *testing.T) {
	if got := sumWorkers(8); got != 36 {
		t.Fatalf("sum = %d, want 36", got)
	}
}

func TestPipeline(t *testing.T) {
	src := make(chan int)
	sq := make(chan int)
	done := make(chan int)
	go func() {
		defer close(src)
		for i := 1; i <= 4; i++ {
			src <- i
		}
	}()
	go func() {
		defer close(sq)
		for v := range src {
			sq <- v * v
		}
	}()
	go func() {
		total := 0
		for v := range sq {
			total += v
		}
		done <- total
	}()
	if got := <-done; got != 30 {
		t.Fatalf("total = %d, want 30", got)
	}
}

func TestParallelJoin(t *testing.T) {
	t.Parallel()
	if got := sumWorkers(4); got != 10 {
		t.Fatalf("sum = %d, want 10", got)
	}
}

func TestSubtestsJoin(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		n := n
		t.Run("seq", func(t *testing.T) {
			if got, want := sumWorkers(n), n*(n+1)/2; got != want {
				t.Fatalf("sum = %d, want %d", got, want)
			}
		})
	}
	t.Run("group", func(t *testing.T) {
		t.Run("par", func(t *testing.T) {
			t.Parallel()
			if got := sumWorkers(5); got != 15 {
				t.Fatalf("sum = %d, want 15", got)
			}
		})
	})
}
