package subtest

import (
	"sync"
	"testing"
)

func TestWithSubtests(t *testing.T) {
	t.Run("a", func(t *testing.T) {
		ch := make(chan struct{})
		done := make(chan struct{})
		go func() {
			waitFor(ch)
			close(done)
		}()
		close(ch)
		<-done
	})
	t.Run("b", func(t *testing.T) {
		// Nobody ever sends on or closes never.
		never := make(chan struct{})
		go waitFor(never) // want-leak: TestWithSubtests
	})
}

func TestCleanSubtests(t *testing.T) {
	run := func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
			}()
		}
		wg.Wait()
	}
	t.Run("x", run)
	t.Run("y", func(t *testing.T) {
		t.Run("nested", run)
	})
	t.Run("z", run)
}
