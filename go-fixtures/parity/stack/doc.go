// Package stack checks that a test sees the call stack go test gives it,
// with no frame of leakcheck's on it.
//
// TestTopLevelFrames, TestSubtestFrames and TestParallelFrames (and its
// parallel subtest) assert their exact frames from runtime.Callers: [the
// test function, testing.tRunner, runtime.goexit]. FuzzFrames asserts the
// fuzz target's frames [FuzzFrames, testing.fRunner, runtime.goexit] and
// that no frame of the fuzz function, run on each seed input, names
// leakcheck. TestCleanupFrames and TestDeferFrames assert that no frame
// seen from a t.Cleanup func or from a deferred func names leakcheck.
// ExampleCallers prints every frame of an example's stack (the same from
// Go 1.21 to 1.27: ExampleCallers, testing.runExample, testing.runExamples,
// testing.(*M).Run, main.main, runtime.main, runtime.goexit) and whether
// any frame names leakcheck.
//
// TestGoroutineHeader asserts that the header runtime.Stack writes for the
// test's goroutine, a subtest's and a goroutine the test starts is exactly
// "goroutine N [running]:": no pprof labels. Those appear only with
// GODEBUG=tracebacklabels=1, which no test here sets (Go 1.27 makes it the
// default, but only for modules that say go 1.27 or later in go.mod).
//
// Nothing leaks; every test passes.
package stack
