package grandchild

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// waitParentExited waits (at most 1s) until no goroutine is still running
// spawnChild. Only active frames are matched: the "created by" line of C
// names spawnChild without the "(" of a call.
func waitParentExited(t *testing.T) {
	t.Helper()
	frame := []byte("grandchild.spawnChild(")
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(time.Second)
	for {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], frame) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("goroutine P (spawnChild) did not exit")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGrandchild(t *testing.T) {
	block := make(chan struct{}) // never closed
	started := make(chan struct{})
	go spawnChild(block, make(chan struct{}), started)
	<-started
	// P has started C and is returning; make sure it is gone.
	waitParentExited(t)
}

func TestGrandchildClean(t *testing.T) {
	block := make(chan struct{})
	childDone := make(chan struct{})
	started := make(chan struct{})
	go spawnChild(block, childDone, started)
	<-started
	waitParentExited(t)
	close(block)
	<-childDone
}
