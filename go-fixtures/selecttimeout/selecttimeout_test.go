package selecttimeout

import (
	"testing"
	"time"
)

// slowWork returns a work function that finishes only once release is
// closed, plus that release function.
func slowWork() (work func() string, release func()) {
	gate := make(chan struct{})
	return func() string {
		<-gate
		return "late result"
	}, func() { close(gate) }
}

func TestFetchTimeout(t *testing.T) {
	work, release := slowWork()
	_, err := fetch(10*time.Millisecond, work)
	release() // the worker now finishes its work and blocks on the send
	if err != errTimeout {
		t.Fatalf("err = %v, want timeout", err)
	}
}

func TestFetchFixed(t *testing.T) {
	work, release := slowWork()
	_, err := fetchFixed(10*time.Millisecond, work)
	release() // the worker sends into the buffer and exits
	if err != errTimeout {
		t.Fatalf("err = %v, want timeout", err)
	}
}

func TestFetchFast(t *testing.T) {
	r, err := fetch(time.Second, func() string { return "fast" })
	if err != nil || r != "fast" {
		t.Fatalf("got %q, %v", r, err)
	}
}
