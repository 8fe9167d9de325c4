// Package mapwrites is a leakcheck fixture whose test binary crashes.
//
// TestConcurrentMapWrites starts two goroutines that write the same map in
// tight loops without synchronization, then blocks forever on a channel.
// The runtime's map-write check kills the binary with the unrecoverable
// "fatal error: concurrent map writes" (exit status 2) while
// TestConcurrentMapWrites is running. The loops never stop, so the crash
// is only a matter of time (normally well under a millisecond); the test
// raises GOMAXPROCS to at least 2 so the writers really run in parallel.
// The other tests are clean and pass; the two after
// TestConcurrentMapWrites only run once leakcheck resumes the package in a
// fresh process.
//
// want: TestMapBefore1=pass TestMapBefore2=pass TestConcurrentMapWrites=crash TestMapAfter1=pass TestMapAfter2=pass
package mapwrites
