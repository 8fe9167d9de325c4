// Package sigquit holds a test that hangs forever, for capturing the crash
// output of a test binary killed with SIGQUIT. It only runs when
// LEAKCHECK_CAPTURE=1 (set by capture.sh); otherwise it is skipped.
package sigquit

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"testing"

	"leakcheck.test/capturedumps/internal/dump"
)

func TestHang(t *testing.T) {
	if os.Getenv("LEAKCHECK_CAPTURE") != "1" {
		t.Skip("only for tools/capture-dumps/capture.sh (LEAKCHECK_CAPTURE=1)")
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("leakcheck_test", "TestHang#1")))

	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock() // blocks forever; inherits the test's label
		mu.Unlock()
	}()

	// Tell capture.sh when both goroutines are parked; this helper exits
	// before the dump is taken.
	go func() {
		dump.Wait("sigquit.TestHang.func1(", "sigquit.TestHang(")
		fmt.Println("READY")
	}()

	never := make(chan int)
	<-never
}
