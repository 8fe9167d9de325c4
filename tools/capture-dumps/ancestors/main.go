// Command ancestors is meant to run with GODEBUG=tracebackancestors=N. It
// parks goroutines whose creators have exited (main -> grandparent -> parent
// -> child) and one created from deep inside a recursion, then prints
// runtime.Stack(buf, true) to stdout; the runtime adds
// "[originating from goroutine N]:" blocks for the recorded ancestors.
package main

import "leakcheck.test/capturedumps/internal/dump"

func grandparent(ch chan int, done chan struct{}) {
	go parent(ch, done)
}

func parent(ch chan int, done chan struct{}) {
	go child(ch)
	go func() {
		<-ch
	}()
	close(done)
}

func child(ch chan int) { <-ch }

// deep creates a goroutine from 60 frames down, more than the 50 frames the
// runtime keeps for an ancestor, which prints "...additional frames elided...".
//
//go:noinline
func deep(depth int, ch chan int) {
	if depth == 0 {
		go child(ch)
		return
	}
	deep(depth-1, ch)
}

func main() {
	never := make(chan int)

	done := make(chan struct{})
	go grandparent(never, done)
	<-done

	go func() {
		deep(60, never)
		<-never
	}()

	dump.Print("created by main.parent", "main.parent.func1(", "created by main.deep", "main.main.func1(")
}
