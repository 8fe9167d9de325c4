// Package netish starts a reader and a writer. leakcheck.toml ignores its
// goroutines only while they are blocked receiving, so the reader is
// ignored and the writer, blocked sending, is a leak.
//
// want: TestReaderAndWriter=leak/ignored:1
package netish

// Start starts a reader and a writer on channels nobody else uses.
func Start() {
	in, out := make(chan int), make(chan int)
	go func() { <-in }()
	go func() { out <- 1 }() // want-leak: TestReaderAndWriter
}
