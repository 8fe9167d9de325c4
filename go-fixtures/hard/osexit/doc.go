// Package osexit is a leakcheck fixture whose test binary exits mid-test.
//
// TestOsExit3 calls os.Exit(3): the test binary exits with status 3 while
// TestOsExit3 is running, with no panic and no goroutine dump. The other
// tests are clean and pass; the two after TestOsExit3 only run once
// leakcheck resumes the package in a fresh process.
//
// want: TestExitBefore1=pass TestExitBefore2=pass TestOsExit3=crash TestExitAfter1=pass TestExitAfter2=pass
package osexit
