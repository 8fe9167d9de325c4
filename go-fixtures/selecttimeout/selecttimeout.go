// Package selecttimeout is a leakcheck fixture for the "abandoned worker
// after a select timeout" leak.
//
// fetch starts a worker that computes a result and sends it on an unbuffered
// channel, while the caller selects between that channel and time.After. When
// the timeout wins, nobody ever receives from the channel, so the worker
// blocks forever on its send: TestFetchTimeout leaks exactly one goroutine.
//
// fetchFixed is identical except that the channel has a buffer of one, so
// the late worker can always deliver its result and exit: TestFetchFixed is
// clean. TestFetchFast (the worker answers before the timeout) is clean too.
//
// To keep the fixture deterministic the slow work is a function supplied by
// the test: the tests make it wait until fetch has already returned with a
// timeout, instead of racing a sleep against the timer.
package selecttimeout

import (
	"errors"
	"time"
)

var errTimeout = errors.New("timeout")

// fetch runs work in a worker goroutine and waits at most timeout for it.
func fetch(timeout time.Duration, work func() string) (string, error) {
	// Unbuffered: the worker needs a receiver to finish.
	ch := make(chan string)
	go func() { ch <- work() }() // want-leak: TestFetchTimeout
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(timeout):
		return "", errTimeout
	}
}

// fetchFixed is fetch with a buffered channel, so the worker never blocks.
func fetchFixed(timeout time.Duration, work func() string) (string, error) {
	ch := make(chan string, 1)
	go func() { ch <- work() }()
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(timeout):
		return "", errTimeout
	}
}
