package doublelock

import (
	"sync"
	"testing"
)

func TestDoubleLockBefore1(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	mu.Unlock()
	mu.Lock()
	mu.Unlock()
}

func TestDoubleLockBefore2(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
	}()
	wg.Wait()
}

func TestLockTwice(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock() // blocks forever: sync.Mutex is not reentrant
	mu.Unlock()
	t.Fatal("locked a sync.Mutex twice")
}

func TestDoubleLockAfter1(t *testing.T) {}

func TestDoubleLockAfter2(t *testing.T) {
	if got := 3 * 3; got != 9 {
		t.Fatalf("3*3 = %d", got)
	}
}
