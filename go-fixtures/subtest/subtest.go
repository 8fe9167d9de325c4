// Package subtest is a leakcheck fixture for leaks inside subtests.
//
// TestWithSubtests has two subtests: "a" is clean, "b" leaks one goroutine
// blocked forever on a channel receive. Leaks from subtests are attributed to
// their top-level test, so the marker names TestWithSubtests.
//
// TestCleanSubtests runs three subtests (one of them nested) that all join
// their goroutines: it is clean.
package subtest

// waitFor blocks until ch is closed or receives a value.
func waitFor(ch <-chan struct{}) {
	<-ch
}
