package hangrecv

import (
	"sync"
	"testing"
)

// recvForever receives from ch; called with a channel nobody sends on, it
// never returns.
func recvForever(ch chan int) int {
	return <-ch
}

func TestHangBefore1(t *testing.T) {
	if got := 2 + 2; got != 4 {
		t.Fatalf("2+2 = %d", got)
	}
}

func TestHangBefore2(t *testing.T) {
	done := make(chan struct{})
	go func() {
		close(done)
	}()
	<-done
}

func TestHangRecv(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	started := make(chan struct{})
	go func() {
		close(started)
		mu.Lock() // blocks forever: the test never unlocks mu
		mu.Unlock()
	}()
	<-started
	v := recvForever(make(chan int)) // blocks forever
	mu.Unlock()
	t.Fatalf("received %d from a channel nobody sends on", v)
}

func TestHangAfter1(t *testing.T) {
	if got := len("after"); got != 5 {
		t.Fatalf("len = %d", got)
	}
}

func TestHangAfter2(t *testing.T) {}
