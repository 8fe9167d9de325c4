// Package stack checks that a test sees the call stack go test gives it,
// with no frame of leakcheck's on it.
//
// TestTopLevelFrames, TestSubtestFrames and TestParallelFrames (and its
// parallel subtest) assert their exact frames from runtime.Callers:
// [the test function, testing.tRunner, runtime.goexit]. FuzzFrames asserts
// the fuzz target's frames [FuzzFrames, testing.fRunner, runtime.goexit] and
// that no frame of the fuzz function, run on each seed input, names
// leakcheck. TestCleanupFrames and TestDeferFrames assert that no frame seen
// from a t.Cleanup func or from a deferred func names leakcheck.
// ExampleCallers prints the first two frames of an example's stack and
// whether any frame names leakcheck. TestGoroutineHeader asserts that the
// header runtime.Stack writes for the test's goroutine, a subtest's and a
// goroutine the test starts is "goroutine N [running]:", with no pprof
// labels (they appear only with GODEBUG=tracebacklabels=1, which these
// tests never set). Nothing leaks; every test passes.
package stack
