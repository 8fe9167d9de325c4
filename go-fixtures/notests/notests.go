// Package notests is a leakcheck fixture with no test files at all.
//
// It has no tests, so nothing can leak or be clean here; `go test` reports
// "[no test files]". Spawn contains a go statement that would leak if it were
// called, but no test calls it.
package notests

// Spawn starts a goroutine that waits on ch until it is closed.
func Spawn(ch <-chan struct{}) {
	go func() { <-ch }()
}

// Add returns a + b.
func Add(a, b int) int {
	return a + b
}
