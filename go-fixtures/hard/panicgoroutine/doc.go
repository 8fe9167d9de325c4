// Package panicgoroutine is a leakcheck fixture whose test binary crashes.
//
// TestPanicInGoroutine starts a goroutine that calls
// panic("boom in goroutine") and waits for it to finish. Nothing recovers
// a panic on a goroutine the test started, so the whole test binary dies
// (exit status 2) while TestPanicInGoroutine is running. The other tests
// are clean and pass; the two after TestPanicInGoroutine only run once
// leakcheck resumes the package in a fresh process.
//
// want: TestPanicGoBefore1=pass TestPanicGoBefore2=pass TestPanicInGoroutine=crash TestPanicGoAfter1=pass TestPanicGoAfter2=pass
package panicgoroutine
