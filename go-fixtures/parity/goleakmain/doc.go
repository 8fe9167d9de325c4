// Package goleakmain checks that goleak.VerifyTestMain, run from the
// package's TestMain after all its tests, finds no goroutine but the
// ones go test itself has: no goroutine of leakcheck's outlives the tests.
//
// TestJoinWorkers starts goroutines and waits for them, TestPipeline runs
// a three-stage channel pipeline to completion, TestParallelJoin does the
// same as TestJoinWorkers under t.Parallel, and TestSubtestsJoin's
// subtests (one of them parallel) each start and join a goroutine.
// Nothing leaks; every test passes.
package goleakmain
