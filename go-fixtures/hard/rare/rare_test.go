//go:build rare

package rare

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRareABBA(t *testing.T) {
	var a, b sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go transfer(&a, &b, &wg)
	go transfer(&b, &a, &wg)
	wg.Wait()
}

func TestRareRLock(t *testing.T) {
	r := &registry{}
	done := make(chan struct{})
	go func() {
		if widen > 0 {
			time.Sleep(widen / 2)
		}
		r.Add()
		close(done)
	}()
	r.Snapshot()
	<-done
}

func TestRareLostSignal(t *testing.T) {
	g := newGate()
	var started atomic.Bool
	go func() {
		started.Store(true)
		g.WaitOpen()
	}()
	for !started.Load() {
		runtime.Gosched()
	}
	if widen > 0 {
		time.Sleep(widen)
	}
	g.Open()
}

func TestRareSendClose(t *testing.T) {
	q := &queue{ch: make(chan int, 1)}
	var started atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		started.Store(true)
		q.Put(1)
	}()
	for !started.Load() {
		runtime.Gosched()
	}
	if widen > 0 {
		time.Sleep(widen)
	}
	q.Close()
	<-done
}

func TestRareStopEarly(t *testing.T) {
	w := &worker{stop: make(chan struct{})}
	go w.Run()
	yieldUntil(stopYields, w.started.Load)
	w.Stop()
}
