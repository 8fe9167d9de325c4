// Package fatalmap holds a test in which two goroutines write one map without
// a lock, for capturing the "fatal error: concurrent map writes" output of a
// test binary. It only runs when LEAKCHECK_CAPTURE=1 (set by capture.sh);
// otherwise it is skipped.
package fatalmap

import (
	"os"
	"testing"
)

func write(m map[int]int, base int) {
	for i := 0; ; i++ {
		m[base+i%1000] = i
	}
}

func TestConcurrentMapWrites(t *testing.T) {
	if os.Getenv("LEAKCHECK_CAPTURE") != "1" {
		t.Skip("only for tools/capture-dumps/capture.sh (LEAKCHECK_CAPTURE=1)")
	}
	m := make(map[int]int)
	go write(m, 0)
	go write(m, 0)
	select {}
}
