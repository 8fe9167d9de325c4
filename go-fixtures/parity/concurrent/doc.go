// Package concurrent checks that what a test sees stays the user's while
// other tests of its process start and end around it, which is when
// leakcheck's hook takes its goroutine dumps.
//
// TestWatchWhileTestsEnd, a parallel test, reads os.Getenv("GODEBUG") over
// and over until the parallel tests TestChurn01 to TestChurn24, each of
// which starts and joins a few goroutines, have all ended (or 3 s have
// passed: with -parallel 1 they cannot run alongside it). GODEBUG must
// always equal PARITY_WANT_GODEBUG (both unset under plain go test).
// (A goroutine header printed at the moment of one of those dumps shows
// leakcheck's pprof label, on Go 1.26+: the README of leakcheck lists that
// under "What a test can notice". stack.TestGoroutineHeader checks the
// header of a test that runs alone.) Nothing leaks; every test passes.
package concurrent
