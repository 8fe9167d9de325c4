package mapwrites

import (
	"runtime"
	"sync"
	"testing"
)

// writeForever writes m in a tight loop without locking, forever.
func writeForever(m map[int]int, id int) {
	for i := 0; ; i++ {
		m[i%64] = id
	}
}

func TestMapBefore1(t *testing.T) {
	m := map[int]int{1: 1}
	if m[1] != 1 {
		t.Fatal("map lost a value")
	}
}

func TestMapBefore2(t *testing.T) {
	// The same writes under a mutex are fine.
	var mu sync.Mutex
	var wg sync.WaitGroup
	m := make(map[int]int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				m[i%64] = id
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(m) != 64 {
		t.Fatalf("len(m) = %d, want 64", len(m))
	}
}

func TestConcurrentMapWrites(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	m := make(map[int]int)
	go writeForever(m, 1)
	go writeForever(m, 2)
	<-make(chan struct{}) // the runtime kills the binary before this returns
}

func TestMapAfter1(t *testing.T) {}

func TestMapAfter2(t *testing.T) {}
