// Package counts checks that runtime.NumGoroutine, seen from a test, counts
// no goroutine of leakcheck's.
//
// TestCountJoined, TestCountChannels and TestCountSubtests (per subtest)
// start goroutines, join them, wait (a bounded loop) until
// runtime.NumGoroutine is back to its value at the start, and assert it
// is. TestCountExact starts no goroutine and asserts that the count at its
// end equals the count at its start, with no waiting. TestCountParallel
// does as TestCountJoined under t.Parallel, alone: it is the package's only
// parallel test. Nothing leaks; every test passes.
package counts
