package abba

import (
	"sync"
	"testing"
)

// lockBoth locks first, waits at the barrier until the other goroutine
// holds its first lock too, then locks second.
func lockBoth(first, second *sync.Mutex, barrier, done *sync.WaitGroup) {
	defer done.Done()
	first.Lock()
	defer first.Unlock()
	barrier.Done()
	barrier.Wait()
	second.Lock()
	defer second.Unlock()
}

func TestABBABefore1(t *testing.T) {
	// Same lock order in both goroutines: no deadlock.
	var a, b sync.Mutex
	var done sync.WaitGroup
	done.Add(2)
	for i := 0; i < 2; i++ {
		go func() {
			defer done.Done()
			a.Lock()
			b.Lock()
			b.Unlock()
			a.Unlock()
		}()
	}
	done.Wait()
}

func TestABBABefore2(t *testing.T) {}

func TestABBADeadlock(t *testing.T) {
	var a, b sync.Mutex
	var barrier, done sync.WaitGroup
	barrier.Add(2)
	done.Add(2)
	go lockBoth(&a, &b, &barrier, &done) // holds A, blocks forever on B
	go lockBoth(&b, &a, &barrier, &done) // holds B, blocks forever on A
	done.Wait()                          // blocks forever
	t.Fatal("ABBA lock order did not deadlock")
}

func TestABBAAfter1(t *testing.T) {}

func TestABBAAfter2(t *testing.T) {
	if s := "ab" + "ba"; s != "abba" {
		t.Fatalf("got %q", s)
	}
}
