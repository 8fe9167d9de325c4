// Command elided parks a goroutine at the bottom of a 150-deep recursion, so
// runtime.Stack prints "...N frames elided..." between the innermost and the
// outermost frames, and prints runtime.Stack(buf, true) to stdout.
package main

import "leakcheck.test/capturedumps/internal/dump"

// recurse calls itself until depth reaches 0 and then blocks on ch.
//
//go:noinline
func recurse(depth int, ch chan int) int {
	if depth == 0 {
		return <-ch
	}
	return recurse(depth-1, ch) + 1
}

func main() {
	never := make(chan int)
	go recurse(150, never)
	dump.Print("frames elided...")
}
