// Package xtestonly is a leakcheck fixture for a package whose only test
// files are external (package xtestonly_test).
//
// TestWatchLeak (in xtestonly_test.go) starts a Watch on a channel and never
// closes it, so the watcher goroutine blocks forever in chan receive: it
// leaks one goroutine. TestWatchClosed closes the channel and waits for the
// watcher to finish: it is clean.
package xtestonly

// Watch calls fn for every value received on ch until ch is closed, then
// closes done.
func Watch(ch <-chan int, fn func(int), done chan<- struct{}) {
	for v := range ch {
		fn(v)
	}
	close(done)
}
