package syncprims

import (
	"sync"
	"testing"
	"time"
)

func TestMutexLeak(t *testing.T) {
	var mu sync.Mutex
	mu.Lock() // never unlocked
	done := make(chan struct{})
	go lockAndSignal(&mu, done) // want-leak: TestMutexLeak
	select {
	case <-done:
		t.Fatal("goroutine acquired a locked mutex")
	case <-time.After(10 * time.Millisecond):
	}
}

func TestMutexClean(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	done := make(chan struct{})
	go lockAndSignal(&mu, done)
	time.Sleep(5 * time.Millisecond)
	mu.Unlock()
	<-done
}

func TestWaitGroupLeak(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1) // never Done
	done := make(chan struct{})
	go waitAndSignal(&wg, done) // want-leak: TestWaitGroupLeak
	select {
	case <-done:
		t.Fatal("Wait returned with a pending Add")
	case <-time.After(10 * time.Millisecond):
	}
}

func TestWaitGroupClean(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	go waitAndSignal(&wg, done)
	time.Sleep(5 * time.Millisecond)
	wg.Done()
	<-done
}

func TestCondLeak(t *testing.T) {
	// The gate is never opened.
	g := newGate()
	go g.wait() // want-leak: TestCondLeak
	for g.waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
}

func TestCondClean(t *testing.T) {
	g := newGate()
	done := make(chan struct{})
	go func() {
		g.wait()
		close(done)
	}()
	for g.waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	g.openGate()
	<-done
}
