// Package output prints what a test binary can print, for comparing
// leakcheck's in-process test2json with the toolchain's (tests/test2json.rs).
// It starts no goroutine that outlives a test; some tests fail on purpose.
package output

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLogs(t *testing.T) {
	t.Log("one line")
	t.Log("two\nlines")
	t.Logf("unicode: %s", "héllo wörld ✓")
	t.Log("control bytes: \x16 \x0f \x0e \x1b end")
	fmt.Println("printed control bytes: \x16 \x0f \x0e \x1b end")
}

func TestSubtests(t *testing.T) {
	for _, name := range []string{"a", "b c", "d/e"} {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Log("in", name)
			t.Run("deeper", func(t *testing.T) { t.Log("deep") })
		})
	}
}

func TestParallelSubtests(t *testing.T) {
	for i := 0; i < 3; i++ {
		i := i
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			t.Log("parallel", i)
		})
	}
}

func TestParallelTop1(t *testing.T) { t.Parallel(); t.Log("top 1") }

func TestParallelTop2(t *testing.T) { t.Parallel(); t.Log("top 2") }

func TestSkipped(t *testing.T) { t.Skip("not today") }

func TestFailing(t *testing.T) {
	t.Error("failed on purpose")
	t.Run("sub", func(t *testing.T) { t.Fatal("and this one") })
}

func TestLongLines(t *testing.T) {
	fmt.Println(strings.Repeat("é", 3000))
	fmt.Println(strings.Repeat("x", 5000))
	t.Log(strings.Repeat("y", 2000))
}

func TestPartialLines(t *testing.T) {
	fmt.Print("no newline")
	fmt.Fprint(os.Stderr, "to stderr, no newline")
	fmt.Print("\r\nwindows line\r\n")
	os.Stdout.Write([]byte("bad utf8: \xff\xe2\x82 end\n"))
}

func TestLookalikes(t *testing.T) {
	fmt.Println("=== RUN   TestNotReal")
	fmt.Println("--- FAIL: TestNotReal (0.00s)")
	fmt.Println("    --- PASS: TestNotReal/sub (0.00s)")
	fmt.Println("PASS")
	fmt.Println("FAIL\tnot/a/package")
	fmt.Println("?   \tnot/a/package\t[no test files]")
}

func BenchmarkSmall(b *testing.B) {
	b.Log("benchmarked")
	for i := 0; i < b.N; i++ {
		_ = fmt.Sprint(i)
	}
}

func Example_hello() {
	fmt.Println("hello")
	// Output: hello
}

func Example_wrong() {
	fmt.Println("actual")
	// Output: expected
}
