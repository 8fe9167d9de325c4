// Package hangrecv is a leakcheck fixture with a test that hangs forever.
//
// TestHangRecv locks a sync.Mutex, starts one goroutine that blocks trying
// to lock the same mutex, and then blocks its own goroutine on a receive
// from a channel nobody sends on. A hang report for it should show the
// test's goroutine (chan receive) and the one goroutine it started
// (sync.Mutex.Lock). The other tests are clean and pass; the two after
// TestHangRecv only run once leakcheck resumes the package in a fresh
// process.
//
// want: TestHangBefore1=pass TestHangBefore2=pass TestHangRecv=hang TestHangAfter1=pass TestHangAfter2=pass
package hangrecv
