// Package abba is a leakcheck fixture with a lock-order (ABBA) deadlock.
//
// TestABBADeadlock starts two goroutines: one locks A then B, the other
// locks B then A. A barrier (a sync.WaitGroup) makes both hold their first
// lock before either tries its second, so the deadlock happens on every
// run. The test waits for both with another sync.WaitGroup and hangs
// forever. A hang report for it should show three goroutines: the test's
// (sync.WaitGroup.Wait) and the two it started (sync.Mutex.Lock). The
// other tests are clean and pass; the two after TestABBADeadlock only run
// once leakcheck resumes the package in a fresh process.
//
// want: TestABBABefore1=pass TestABBABefore2=pass TestABBADeadlock=hang TestABBAAfter1=pass TestABBAAfter2=pass
package abba
