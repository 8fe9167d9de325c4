// Command labels parks goroutines that carry pprof labels and prints
// runtime.Stack(buf, true) to stdout. The labels appear in the goroutine
// headers only from Go 1.26 on, and only with GODEBUG=tracebacklabels=1
// (the default from Go 1.27 for modules that say go 1.27 or later).
package main

import (
	"context"
	"runtime/pprof"

	"leakcheck.test/capturedumps/internal/dump"
)

// label sets the calling goroutine's pprof labels to the given key/value pairs.
func label(kv ...string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(kv...)))
}

// oneLabel blocks under the label leakcheck_test=TestX#1.
func oneLabel(ch chan int) {
	label("leakcheck_test", "TestX#1")
	<-ch
}

// inherit labels itself and starts a child (which inherits the label),
// then returns, so the child outlives its labelled parent.
func inherit(ch chan int, done chan struct{}) {
	label("leakcheck_test", "TestX#1")
	go inheritedChild(ch)
	close(done)
}

func inheritedChild(ch chan int) { <-ch }

// twoLabels blocks under two labels.
func twoLabels(ch chan int) {
	label("leakcheck_test", "TestY#2", "phase", "setup")
	<-ch
}

// oddValue blocks under a label whose value needs quoting in Go 1.27 (and is
// always quoted in Go 1.26).
func oddValue(ch chan int, v string) {
	label("leakcheck_test", v)
	<-ch
}

// oddKey blocks under a label whose key needs quoting.
func oddKey(ch chan int) {
	label("odd key", "plain_value.1/2")
	<-ch
}

func unlabelled(ch chan int) { <-ch }

func main() {
	never := make(chan int)

	go oneLabel(never)

	done := make(chan struct{})
	go inherit(never, done)
	<-done

	go twoLabels(never)

	for _, v := range []string{
		"TestSpace has space",
		`TestQuote say "hi"`,
		`TestBackslash a\b`,
		"TestTab a\tb",
		"TestNewline a\nb",
		"TestUnicode caf\u00e9",
		"TestComma a,b: {c}",
		"TestBytes \x01\xff",
		"",
	} {
		go oddValue(never, v)
	}

	go oddKey(never)

	go unlabelled(never)

	dump.Print(
		"main.oneLabel(", "main.inheritedChild(", "main.twoLabels(",
		"main.oddKey(", "main.unlabelled(",
	)
}
