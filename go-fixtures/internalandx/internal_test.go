package internalandx

import "testing"

func TestInternalLeak(t *testing.T) {
	// Nobody ever sends on ch.
	ch := make(chan int)
	go listen(ch, make(chan int)) // want-leak: TestInternalLeak
}

func TestInternalClean(t *testing.T) {
	ch := make(chan int)
	out := make(chan int)
	go listen(ch, out)
	ch <- 5
	if v := <-out; v != 5 {
		t.Fatalf("got %d", v)
	}
}
