// Package subtest is a leakcheck fixture for leaks inside subtests. A leak
// belongs to its top-level test, which fails; its report names the
// innermost subtest whose goroutine started it (subtest= in the markers).
//
// TestWithSubtests has two subtests: "a" is clean, "b" leaks one goroutine
// blocked forever on a channel receive. TestNestedSubtests leaks from
// outer/inner, TestParallelSubtests from its parallel subtest p2,
// TestTableDriven from the case "closed early", and TestQueueSuite, a
// testify-style suite whose methods run as subtests, from TestWatchLeaks.
//
// TestCleanSubtests runs three subtests (one of them nested) that all join
// their goroutines: it is clean.
package subtest

// waitFor blocks until ch is closed or receives a value.
func waitFor(ch <-chan struct{}) {
	<-ch
}
