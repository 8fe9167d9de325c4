// Package dump waits until a program's goroutines have reached the states it
// set up and then writes the runtime.Stack(buf, true) text.
package dump

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// All returns runtime.Stack(buf, true), growing buf until the dump fits.
func All() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Settled reports whether every string in want occurs in the dump and no
// goroutine other than the caller's (the first one) is running or runnable.
func Settled(d []byte, want []string) bool {
	for _, w := range want {
		if !bytes.Contains(d, []byte(w)) {
			return false
		}
	}
	blocks := strings.Split(string(d), "\n\n")
	for _, b := range blocks[1:] {
		if strings.Contains(b, " [running") || strings.Contains(b, " [runnable") {
			return false
		}
	}
	return true
}

// Wait polls the dump until Settled(dump, want) holds. After 10 seconds it
// writes the last dump to stderr and exits with status 1.
func Wait(want ...string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := All()
		if Settled(d, want) {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "dump: goroutines did not settle (want %q):\n%s\n", want, d)
			os.Exit(1)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Print waits like Wait and then writes a fresh runtime.Stack(buf, true) dump
// to stdout, exactly as the runtime produced it.
func Print(want ...string) {
	Wait(want...)
	if _, err := os.Stdout.Write(All()); err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
}
