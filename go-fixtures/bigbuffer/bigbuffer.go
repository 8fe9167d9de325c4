// Package bigbuffer is a leakcheck fixture for a leaked goroutine that pins
// a large allocation.
//
// start launches a goroutine that allocates a 10 MB buffer and then receives
// from the returned channel until it is closed. TestBigBuffer calls start
// three times and never closes the channels, so three goroutines (one go
// statement, executed three times) stay blocked forever in chan receive,
// each keeping its 10 MB alive.
//
// TestBigBufferClosed closes the channel it gets from start, so its
// goroutine returns: it is clean.
package bigbuffer

import "runtime"

const bufSize = 10 << 20 // 10 MB

// start returns a channel whose bytes are written into a 10 MB ring buffer by
// a background goroutine that runs until the channel is closed.
func start() chan byte {
	ch := make(chan byte)
	ready := make(chan struct{})
	go func() { // want-leak: TestBigBuffer x3
		buf := make([]byte, bufSize)
		close(ready)
		i := 0
		for b := range ch {
			buf[i%len(buf)] = b
			i++
		}
		runtime.KeepAlive(buf)
	}()
	<-ready // the buffer is allocated before start returns
	return ch
}
