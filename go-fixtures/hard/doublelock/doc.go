// Package doublelock is a leakcheck fixture with a test that hangs forever.
//
// TestLockTwice locks a sync.Mutex and then locks it again on the same
// goroutine; sync.Mutex is not reentrant, so the second Lock never
// returns. The test starts no goroutines: a hang report for it should show
// only the test's goroutine, blocked in sync.Mutex.Lock. The other tests
// are clean and pass; the two after TestLockTwice only run once leakcheck
// resumes the package in a fresh process.
//
// want: TestDoubleLockBefore1=pass TestDoubleLockBefore2=pass TestLockTwice=hang TestDoubleLockAfter1=pass TestDoubleLockAfter2=pass
package doublelock
