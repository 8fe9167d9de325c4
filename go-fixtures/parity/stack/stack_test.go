package stack

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const pkg = "leakcheck.test/parity/stack"

// callers returns the function names of its caller's stack, innermost
// first.
func callers() []string {
	pcs := make([]uintptr, 128)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var names []string
	for {
		f, more := frames.Next()
		names = append(names, f.Function)
		if !more {
			return names
		}
	}
}

// wantFrames fails t unless got is exactly want.
func wantFrames(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// namesLeakcheck reports whether the function name f names leakcheck
// (this module's path, leakcheck.test/parity, aside).
func namesLeakcheck(f string) bool {
	return strings.Contains(strings.ToLower(strings.TrimPrefix(f, "leakcheck.test/parity/")), "leakcheck")
}

// noLeakcheck fails t if a frame in got names leakcheck.
func noLeakcheck(t *testing.T, where string, got []string) {
	t.Helper()
	for _, f := range got {
		if namesLeakcheck(f) {
			t.Errorf("%s: frame %q names leakcheck; all frames:\n\t%s", where, f, strings.Join(got, "\n\t"))
		}
	}
}

func TestTopLevelFrames(t *testing.T) {
	wantFrames(t, callers(), pkg+".TestTopLevelFrames", "testing.tRunner", "runtime.goexit")
}

func TestSubtestFrames(t *testing.T) {
	t.Run("sub", func(t *testing.T) {
		wantFrames(t, callers(), pkg+".TestSubtestFrames.func1", "testing.tRunner", "runtime.goexit")
	})
	wantFrames(t, callers(), pkg+".TestSubtestFrames", "testing.tRunner", "runtime.goexit")
}

func TestParallelFrames(t *testing.T) {
	t.Parallel()
	wantFrames(t, callers(), pkg+".TestParallelFrames", "testing.tRunner", "runtime.goexit")
	t.Run("par", func(t *testing.T) {
		t.Parallel()
		wantFrames(t, callers(), pkg+".TestParallelFrames.func1", "testing.tRunner", "runtime.goexit")
	})
}

func TestCleanupFrames(t *testing.T) {
	t.Cleanup(func() {
		got := callers()
		noLeakcheck(t, "top-level cleanup", got)
		if got[0] != pkg+".TestCleanupFrames.func1" || got[len(got)-1] != "runtime.goexit" {
			t.Errorf("cleanup frames:\n\t%s", strings.Join(got, "\n\t"))
		}
	})
	t.Run("sub", func(t *testing.T) {
		t.Cleanup(func() { noLeakcheck(t, "subtest cleanup", callers()) })
	})
}

func TestDeferFrames(t *testing.T) {
	defer func() {
		got := callers()
		noLeakcheck(t, "deferred func", got)
		wantFrames(t, got, pkg+".TestDeferFrames.func1", pkg+".TestDeferFrames", "testing.tRunner", "runtime.goexit")
	}()
	t.Run("sub", func(t *testing.T) {
		defer func() { noLeakcheck(t, "subtest's deferred func", callers()) }()
	})
}

func FuzzFrames(f *testing.F) {
	f.Add("a")
	f.Add("bc")
	got := callers()
	if strings.Join(got, " ") != pkg+".FuzzFrames testing.fRunner runtime.goexit" {
		f.Errorf("fuzz target frames:\n\t%s", strings.Join(got, "\n\t"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := callers()
		noLeakcheck(t, "fuzz function", got)
		if got[0] != pkg+".FuzzFrames.func1" || got[len(got)-1] != "runtime.goexit" {
			t.Errorf("fuzz function frames:\n\t%s", strings.Join(got, "\n\t"))
		}
	})
}

func ExampleCallers() {
	named := false
	for _, f := range callers() {
		fmt.Println(f)
		named = named || namesLeakcheck(f)
	}
	fmt.Println("names leakcheck:", named)
	// Output:
	// leakcheck.test/parity/stack.ExampleCallers
	// testing.runExample
	// testing.runExamples
	// testing.(*M).Run
	// main.main
	// runtime.main
	// runtime.goexit
	// names leakcheck: false
}

var header = regexp.MustCompile(`^goroutine [0-9]+ \[running\]:$`)

// ownHeader fails t unless the calling goroutine's header, as
// runtime.Stack writes it, is exactly "goroutine N [running]:".
func ownHeader(t *testing.T, where string) {
	t.Helper()
	buf := make([]byte, 4096)
	buf = buf[:runtime.Stack(buf, false)]
	line, _, _ := strings.Cut(string(buf), "\n")
	if strings.Contains(line, "leakcheck") || !header.MatchString(line) {
		t.Errorf("%s: goroutine header %q", where, line)
	}
}

func TestGoroutineHeader(t *testing.T) {
	ownHeader(t, "test")
	t.Run("sub", func(t *testing.T) { ownHeader(t, "subtest") })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ownHeader(t, "goroutine started by the test")
	}()
	wg.Wait()
}
