// Package perpkg starts a goroutine that leakcheck.toml ignores only in
// package perpkg/a: the same goroutine is a leak in perpkg/b.
package perpkg

var never = make(chan int)

// Start starts a goroutine blocked forever.
func Start() {
	go func() { <-never }() // want-leak: TestStartInB
}
