package main

// Prints runtime.Stack(all) of a process with N parked goroutines in a
// mix of states, depths and creators, labelled as leakcheck labels them.

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	cond = sync.NewCond(&mu)
)

func deep(n int, kind int, ready *sync.WaitGroup, ch chan int) {
	if n > 0 {
		deep(n-1, kind, ready, ch)
		return
	}
	ready.Done()
	switch kind {
	case 0:
		<-ch
	case 1:
		select {
		case <-ch:
		case ch <- 1:
		}
	case 2:
		ch <- 1
	case 3:
		time.Sleep(time.Hour)
	default:
		mu.Lock()
		cond.Wait()
		mu.Unlock()
	}
}

func spawn(i int, ready *sync.WaitGroup, ch chan int) {
	go deep(i%7, i%5, ready, ch)
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	ch := make(chan int)
	var ready sync.WaitGroup
	ready.Add(n - 1)
	ctx := pprof.WithLabels(context.Background(), pprof.Labels("leakcheck_test", "TestCrowded#1"))
	pprof.SetGoroutineLabels(ctx)
	for i := 0; i < n-1; i++ {
		spawn(i, &ready, ch)
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond)
	buf := make([]byte, 1<<20)
	for {
		k := runtime.Stack(buf, true)
		if k < len(buf) {
			os.Stdout.Write(buf[:k])
			return
		}
		buf = make([]byte, 2*len(buf))
	}
}
