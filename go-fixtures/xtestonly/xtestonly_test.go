package xtestonly_test

import (
	"testing"

	"leakcheck.test/fixtures/xtestonly"
)

func TestWatchLeak(t *testing.T) {
	ch := make(chan int) // never closed
	seen := make(chan int)
	go xtestonly.Watch(ch, func(v int) { seen <- v }, make(chan struct{})) // want-leak: TestWatchLeak
	ch <- 42
	if v := <-seen; v != 42 {
		t.Fatalf("saw %d, want 42", v)
	}
}

func TestWatchClosed(t *testing.T) {
	ch := make(chan int)
	seen := make(chan int, 1)
	done := make(chan struct{})
	go xtestonly.Watch(ch, func(v int) { seen <- v }, done)
	ch <- 7
	close(ch)
	<-done
	if v := <-seen; v != 7 {
		t.Fatalf("saw %d, want 7", v)
	}
}
