// Package panictest is a leakcheck fixture whose test binary crashes.
//
// TestPanicInTest calls panic("boom in test") on the test's own goroutine.
// The testing package reports "--- FAIL: TestPanicInTest" and re-panics
// ("panic: boom in test [recovered]"; "[recovered, repanicked]" since Go
// 1.25), so the test binary dies (exit status 2) while TestPanicInTest is
// running. The other tests are clean
// and pass; the two after TestPanicInTest only run once leakcheck resumes
// the package in a fresh process.
//
// want: TestPanicBefore1=pass TestPanicBefore2=pass TestPanicInTest=crash TestPanicAfter1=pass TestPanicAfter2=pass
package panictest
