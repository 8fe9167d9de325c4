// Package goleaknone checks that goleak.VerifyNone, with its default
// options, sees no goroutine of leakcheck's during or at the end of a test.
//
// TestDeferVerifyNone and TestDeferVerifyNoneTimer defer
// goleak.VerifyNone(t) and start and join goroutines (the second also
// stops a ticker's goroutine). TestVerifyNoneSubtests defers it around
// subtests that start and join goroutines, one of which defers its own
// VerifyNone. TestVerifyNoneMiddle calls goleak.VerifyNone(t) in its
// middle, after joining its goroutines, and goes on. Nothing leaks; every
// test passes.
package goleaknone
