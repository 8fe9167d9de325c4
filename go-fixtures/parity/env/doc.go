// Package env checks that a test's environment is the user's: no variable
// of leakcheck's, and the GODEBUG it was started with.
//
// TestEnvironment asserts that no variable in os.Environ() starts with
// "LEAKCHECK" and that os.Getenv("GODEBUG") equals
// os.Getenv("PARITY_WANT_GODEBUG") (tests/parity.rs sets both; under plain
// go test with neither set, both are empty). TestSetenvGodebug sets
// GODEBUG=panicnil=1 with t.Setenv, checks it reads back, and that
// panic(nil) then recovers nil, as that setting says. TestRunsHelper runs
// the test binary again (os.Args[0] -test.run=^TestHelperProcess$) with
// PARITY_HELPER_CHILD=1; TestHelperProcess, in that child, checks the same
// as TestEnvironment (and does nothing in the parent). Nothing leaks;
// every test passes.
package env
