// Package tickers is a fixture of leakcheck's fix hints: a loop on a
// time.Ticker's channel with no way out gets the Stop-and-quit hint (here
// `<-t.C` in a `for {}` loop; go-fixtures/ticker is the other fixture, a
// `for range ticker.C`); look-alikes that have a way out which is never
// taken leak as well but get no hint.
//
// Leaking: TestReceiveLoop, TestQuitNeverClosed, TestFlagNeverSet (1 each).
package tickers

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestReceiveLoop(t *testing.T) {
	tk := time.NewTicker(time.Hour)
	go func() { // want-leak: TestReceiveLoop
		for {
			<-tk.C // hint: TestReceiveLoop
		}
	}()
}

// A look-alike: the loop returns on quit, which is never closed. Its way
// out exists; what is missing is the call that closes quit.
func TestQuitNeverClosed(t *testing.T) {
	ticker := time.NewTicker(time.Hour)
	quit := make(chan struct{})
	go func() { // want-leak: TestQuitNeverClosed
		defer ticker.Stop()
		for {
			select { // no hint: TestQuitNeverClosed
			case <-ticker.C:
			case <-quit:
				return
			}
		}
	}()
	_ = quit
}

// A look-alike: the loop returns once a flag is set, which never is.
func TestFlagNeverSet(t *testing.T) {
	var stop atomic.Bool
	ticker := time.NewTicker(time.Hour)
	go func() { // want-leak: TestFlagNeverSet
		for range ticker.C { // no hint: TestFlagNeverSet
			if stop.Load() {
				return
			}
		}
	}()
}
