// Package internalandx is a leakcheck fixture for a package with both
// internal (package internalandx) and external (package internalandx_test)
// test files.
//
//   - TestInternalLeak (internal_test.go) leaks one goroutine: an unexported
//     listener blocked forever in chan receive.
//   - TestExternalLeak (external_test.go) leaks one goroutine: a Subscribe
//     callback goroutine started by the test, blocked forever on a send that
//     nobody receives.
//   - TestInternalClean and TestExternalClean join everything they start:
//     they are clean.
package internalandx

// Subscribe calls fn once for every value received on ch until ch is closed.
func Subscribe(ch <-chan string, fn func(string)) {
	for s := range ch {
		fn(s)
	}
}

// listen waits for one value on ch and delivers it on out.
func listen(ch <-chan int, out chan<- int) {
	out <- <-ch
}
