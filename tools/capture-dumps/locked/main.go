// Command locked parks a goroutine that called runtime.LockOSThread, so its
// header says ", locked to thread", and prints runtime.Stack(buf, true) to
// stdout.
package main

import (
	"runtime"

	"leakcheck.test/capturedumps/internal/dump"
)

func lockedRecv(ch chan int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	<-ch
}

func main() {
	never := make(chan int)
	go lockedRecv(never)
	go func() { <-never }()
	dump.Print("locked to thread]:", "main.main.func1(")
}
