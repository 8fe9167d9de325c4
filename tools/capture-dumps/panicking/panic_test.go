// Package panicking holds a test whose goroutine panics, for capturing the
// crash output of a test binary. It only runs when LEAKCHECK_CAPTURE=1 (set by
// capture.sh); otherwise it is skipped.
package panicking

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"

	"leakcheck.test/capturedumps/internal/dump"
)

func boom() {
	panic("boom")
}

func TestPanic(t *testing.T) {
	if os.Getenv("LEAKCHECK_CAPTURE") != "1" {
		t.Skip("only for tools/capture-dumps/capture.sh (LEAKCHECK_CAPTURE=1)")
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("leakcheck_test", "TestPanic#1")))

	// The test goroutine stays parked on never: a deferred close here would
	// run during the panic and let the test finish before the crash output.
	never := make(chan struct{})
	go func() {
		dump.Wait("panicking.TestPanic(") // until the test goroutine is parked
		boom()
	}()
	<-never
}
