// Command dumpgen prints runtime.Stack(all) of a process with N parked
// goroutines in a mix of states, depths and creators, labelled as
// leakcheck labels them (run it with GODEBUG=tracebacklabels=1). bench/run
// and benches/parse.rs use it to capture dumps: dumpgen N > dump-N.txt.
package main

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

// Nothing ever sends on recv or receives from send.
var recv, send = make(chan int), make(chan int)

func deep(n int, kind int, ready *sync.WaitGroup) {
	if n > 0 {
		deep(n-1, kind, ready)
		return
	}
	ready.Done()
	switch kind {
	case 0:
		<-recv
	case 1:
		select {
		case <-recv:
		case send <- 1:
		}
	case 2:
		send <- 1
	case 3:
		time.Sleep(time.Hour)
	default:
		mu.Lock()
		cond.Wait()
		mu.Unlock()
	}
}

func spawn(i int, ready *sync.WaitGroup) {
	go deep(i%7, i%5, ready)
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	var ready sync.WaitGroup
	ready.Add(n - 1)
	ctx := pprof.WithLabels(context.Background(), pprof.Labels("leakcheck_test", "TestCrowded#1"))
	pprof.SetGoroutineLabels(ctx)
	for i := 0; i < n-1; i++ {
		spawn(i, &ready)
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
