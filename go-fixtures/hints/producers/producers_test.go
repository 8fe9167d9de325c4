// Package producers is a fixture of leakcheck's fix hints: a producer
// blocked after its for-range consumer returned gets the done-channel hint;
// look-alikes (a consumer still inside its loop, a channel nobody ranges
// over) leak as well but get no hint. go-fixtures/rangeconsumer is the
// other fixture of the hint, with the consumer in a function of its own.
//
// Leaking: TestFirstMatch (1: the producer), TestConsumerStuck (2: the
// producer and its consumer), TestNobodyRanges (1: the producer).
package producers

import "testing"

// TestFirstMatch ranges over a producer's channel and breaks out at the
// first match: the producer blocks on its next send.
func TestFirstMatch(t *testing.T) {
	ch := make(chan int)
	go func() { // want-leak: TestFirstMatch
		for i := 0; ; i++ {
			ch <- i // hint: TestFirstMatch
		}
	}()
	for v := range ch {
		if v == 3 {
			break
		}
	}
}

// A look-alike: the consumer could return early, but it is stuck inside its
// loop; the producer waits on it, not on a consumer that returned.
func TestConsumerStuck(t *testing.T) {
	ch := make(chan int)
	never := make(chan struct{})
	go func() { // want-leak: TestConsumerStuck
		for i := 0; ; i++ {
			ch <- i // no hint: TestConsumerStuck
		}
	}()
	go func() { // want-leak: TestConsumerStuck
		for v := range ch {
			if v < 0 {
				return
			}
			<-never
		}
	}()
}

// A look-alike: nobody ranges over the channel; the test reads two values.
func TestNobodyRanges(t *testing.T) {
	ch := make(chan int)
	go func() { // want-leak: TestNobodyRanges
		for i := 0; ; i++ {
			ch <- i // no hint: TestNobodyRanges
		}
	}()
	<-ch
	<-ch
}
