package flaky

import (
	"math/rand"
	"runtime"
	"time"
)

// Timeout is how long Fetch and FetchFixed wait for the worker.
const Timeout = time.Millisecond

// MaxWork bounds the worker's random amount of work.
const MaxWork = 2 * time.Millisecond

// randomWork returns a duration uniform in [0, MaxWork).
func randomWork() time.Duration {
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	return time.Duration(rng.Int63n(int64(MaxWork)))
}

// Fetch returns the worker's result and true if it arrives within Timeout,
// or 0 and false if the timer wins. In that case the worker leaks: it
// stays blocked forever sending on the unbuffered channel.
func Fetch() (int, bool) {
	return fetch(make(chan int))
}

// FetchFixed is Fetch with a buffered channel: the worker can always
// complete its send and exit, whichever side wins.
func FetchFixed() (int, bool) {
	return fetch(make(chan int, 1))
}

// spin busy-waits for d, yielding the processor between checks. It does
// not sleep: short sleeps are rounded up to the timer granularity (about
// 1ms on some Linux machines), which would make the worker lose almost
// every race against the 1ms timer.
func spin(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

func fetch(result chan int) (int, bool) {
	work := randomWork()
	go func() {
		spin(work)
		result <- 42 // blocks forever if result is unbuffered and the timer won
	}()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case v := <-result:
		return v, true
	case <-timer.C:
		return 0, false
	}
}
