// Command leaked leaks goroutines on primitives that nothing else can reach,
// parks a few that are not provably leaked, and writes the goroutine leak
// profile with debug=2 to stdout. The profile exists in Go 1.27, and in Go 1.26
// only for binaries built with GOEXPERIMENT=goroutineleakprofile.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"leakcheck.test/capturedumps/internal/dump"
)

// reachable is a global: goroutines blocked on it are not provably leaked.
var reachable = make(chan int)

func leakSend() {
	ch := make(chan int)
	go func() { ch <- 1 }()
}

func leakRecv() {
	ch := make(chan int)
	go func() { <-ch }()
}

func leakSelect() {
	a, b := make(chan int), make(chan int)
	go func() {
		select {
		case <-a:
		case b <- 1:
		}
	}()
}

// guarded is large enough, and has pointers, so it is not placed by the tiny
// allocator: a bare new(sync.Mutex) shares a 16-byte block with other small
// objects, and a reachable neighbour keeps it (and its waiter) from being
// reported.
type guarded struct {
	mu    sync.Mutex
	items []int
}

func leakMutex() {
	g := new(guarded)
	g.mu.Lock()
	go func() {
		g.mu.Lock()
		g.items = append(g.items, 1)
	}()
}

// leakTinyMutex leaks just like leakMutex, but its bare 8-byte sync.Mutex
// comes from the tiny allocator; the leak profile usually does not report it.
func leakTinyMutex() {
	mu := new(sync.Mutex)
	mu.Lock()
	go func() { mu.Lock() }()
}

func leakRWMutex() {
	rw := new(sync.RWMutex)
	rw.RLock()
	go func() { rw.Lock() }()
}

func leakWaitGroup() {
	wg := new(sync.WaitGroup)
	wg.Add(1)
	go func() { wg.Wait() }()
}

func leakCond() {
	c := sync.NewCond(new(sync.Mutex))
	go func() {
		c.L.Lock()
		c.Wait()
		c.L.Unlock()
	}()
}

func blockReachable() { <-reachable }

func blockSleep() { time.Sleep(time.Hour) }

func main() {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		fmt.Fprintln(os.Stderr, "leaked: no goroutineleak profile in this Go build")
		os.Exit(2)
	}

	leakSend()
	leakRecv()
	leakSelect()
	leakMutex()
	leakTinyMutex()
	leakRWMutex()
	leakWaitGroup()
	leakCond()
	go blockReachable()
	go blockSleep()

	dump.Wait(
		"main.leakSend.func1(", "main.leakRecv.func1(", "main.leakSelect.func1(",
		"main.leakMutex.func1(", "main.leakTinyMutex.func1(", "main.leakRWMutex.func1(",
		"main.leakWaitGroup.func1(", "main.leakCond.func1(",
		"main.blockReachable(", "main.blockSleep(",
	)

	if err := p.WriteTo(os.Stdout, 2); err != nil {
		fmt.Fprintln(os.Stderr, "leaked:", err)
		os.Exit(1)
	}
}
