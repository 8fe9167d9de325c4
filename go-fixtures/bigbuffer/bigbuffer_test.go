package bigbuffer

import "testing"

func TestBigBuffer(t *testing.T) {
	for i := 0; i < 3; i++ {
		ch := start()
		ch <- byte(i)
		// ch is never closed: the goroutine and its buffer leak.
	}
}

func TestBigBufferClosed(t *testing.T) {
	ch := start()
	ch <- 1
	close(ch)
}
