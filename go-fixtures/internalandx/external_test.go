package internalandx_test

import (
	"testing"

	"leakcheck.test/fixtures/internalandx"
)

func TestExternalLeak(t *testing.T) {
	ch := make(chan string, 1)
	ch <- "hello"
	// The test never receives from got.
	got := make(chan string)
	go internalandx.Subscribe(ch, func(s string) { got <- s }) // want-leak: TestExternalLeak
}

func TestExternalClean(t *testing.T) {
	ch := make(chan string)
	got := make(chan string, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		internalandx.Subscribe(ch, func(s string) { got <- s })
	}()
	ch <- "a"
	ch <- "b"
	close(ch)
	<-done
	if a, b := <-got, <-got; a != "a" || b != "b" {
		t.Fatalf("got %q %q", a, b)
	}
}
