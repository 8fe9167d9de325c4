package panicgoroutine

import "testing"

func TestPanicGoBefore1(t *testing.T) {}

func TestPanicGoBefore2(t *testing.T) {
	// A panic recovered on its own goroutine is harmless.
	done := make(chan interface{})
	go func() {
		defer func() { done <- recover() }()
		panic("recovered")
	}()
	if r := <-done; r != "recovered" {
		t.Fatalf("recover() = %v", r)
	}
}

func TestPanicInGoroutine(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		panic("boom in goroutine") // kills the test binary
	}()
	<-done
	t.Fatal("the test binary survived a panic in a goroutine")
}

func TestPanicGoAfter1(t *testing.T) {}

func TestPanicGoAfter2(t *testing.T) {}
