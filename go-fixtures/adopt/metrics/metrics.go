// Package metrics starts a flusher that lives for the whole process, on
// purpose. leakcheck.toml ignores it by its `created by` function.
//
// want: TestFlusher=pass/ignored:1
package metrics

var flushes = make(chan struct{})

// StartFlusher starts the process-wide flusher.
func StartFlusher() {
	go func() {
		for range flushes {
		}
	}()
}
