// Package helperprocess is a leakcheck fixture for the os.Args[0]
// helper-process pattern.
//
// TestHelperProcess does nothing unless GO_WANT_HELPER_PROCESS=1 is in the
// environment; then it prints "hello from helper process" and calls
// os.Exit(0). TestRunsHelper runs the test binary itself,
// exec.Command(os.Args[0], "-test.run=^TestHelperProcess$"), with that
// variable set, and checks the child's output and exit status. In the
// parent process both pass and nothing leaks; the child process must run
// without leakcheck's environment and must not be reported as a second
// copy of this package. The before and after tests are trivially clean.
//
// want: TestHelperBefore1=pass TestHelperBefore2=pass TestHelperProcess=pass TestRunsHelper=pass TestHelperAfter1=pass TestHelperAfter2=pass
package helperprocess
