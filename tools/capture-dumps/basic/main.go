// Command basic parks goroutines in many different wait states and prints
// runtime.Stack(buf, true) to stdout.
package main

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"leakcheck.test/capturedumps/internal/dump"
)

// T has a method on a pointer receiver that blocks.
type T struct{ ch chan int }

// M blocks on a channel receive.
func (t *T) M() { <-t.ch }

func blockSend(ch chan int) { ch <- 1 }

func blockRecv(ch chan int) { <-ch }

func blockSelect(a, b chan int) {
	select {
	case <-a:
	case b <- 1:
	}
}

func blockSelectNoCases() { select {} }

func blockNilRecv() {
	var ch chan int
	<-ch
}

func blockNilSend() {
	var ch chan int
	ch <- 1
}

func blockMutex(mu *sync.Mutex) { mu.Lock() }

func blockRWMutex(rw *sync.RWMutex) { rw.Lock() }

func blockWaitGroup(wg *sync.WaitGroup) { wg.Wait() }

func blockCond(c *sync.Cond) {
	c.L.Lock()
	c.Wait()
	c.L.Unlock()
}

func blockSleep() { time.Sleep(time.Hour) }

func blockAccept(ln net.Listener) {
	c, err := ln.Accept()
	if err == nil {
		c.Close()
	}
}

// blockSyscall blocks in a raw read(2) on a pipe nobody writes to.
func blockSyscall(fd int) {
	var b [1]byte
	_, _ = syscall.Read(fd, b[:])
}

// parkGeneric is a generic function; its frame prints as main.parkGeneric[...].
func parkGeneric[E any](ch chan E) { <-ch }

// inlinedRecv is small enough for the compiler to inline it into its caller,
// so its frame prints with (...) and no +0x offset.
func inlinedRecv(ch chan int) { <-ch }

// nested starts a closure goroutine (nested.func1) which starts two closure
// goroutines of its own (nested.func1.1, nested.func1.2) and then blocks.
func nested(ch chan int) {
	go func() {
		go func() { <-ch }()
		go func() {
			select {
			case <-ch:
			case <-time.After(time.Hour):
			}
		}()
		<-ch
	}()
}

// spawner starts a goroutine and returns, so the child's "created by" line
// names a goroutine that no longer exists.
func spawner(ch chan int, done chan struct{}) {
	go blockRecv(ch)
	close(done)
}

func main() {
	// Only receives ever happen on never; the send and select goroutines get
	// channels of their own so that no two goroutines can pair up.
	never := make(chan int)

	go blockSend(make(chan int))
	go blockRecv(never)
	go blockSelect(make(chan int), make(chan int))
	go blockSelectNoCases()
	go blockNilRecv()
	go blockNilSend()

	var mu sync.Mutex
	mu.Lock()
	go blockMutex(&mu)

	var rw sync.RWMutex
	rw.RLock()
	go blockRWMutex(&rw)

	var wg sync.WaitGroup
	wg.Add(1)
	go blockWaitGroup(&wg)

	cond := sync.NewCond(&sync.Mutex{})
	go blockCond(cond)

	go blockSleep()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go blockAccept(ln)

	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	go blockSyscall(int(r.Fd()))

	t := &T{ch: never}
	go t.M()

	go parkGeneric(make(chan string))

	go func() { inlinedRecv(never) }()

	nested(never)

	done := make(chan struct{})
	go spawner(never, done)
	<-done

	// Wait for every goroutine by its function name: state names differ between
	// Go versions (WaitGroup.Wait shows as "semacquire" in Go 1.21, for example).
	dump.Print(
		"main.blockSend(", "main.blockRecv(", "main.blockSelect(",
		"main.blockSelectNoCases(", "main.blockNilRecv(", "main.blockNilSend(",
		"main.blockMutex(", "main.blockRWMutex(", "main.blockWaitGroup(",
		"main.blockCond(", "main.blockSleep(", "main.blockAccept(",
		"main.blockSyscall(", "main.(*T).M(", "main.parkGeneric[",
		"main.inlinedRecv(...)", "main.nested.func1(", "main.nested.func1.1(",
		"main.nested.func1.2(", "created by main.spawner",
	)

	// Keep everything alive until the dump is written.
	mu.Unlock()
	rw.RUnlock()
	wg.Done()
	_ = w.Close()
	_ = ln.Close()
}
