package leaky

import (
	"os"
	"testing"
)

// TestWatch reads only the first line, so Watch's goroutine stays blocked.
// It runs only when POLYGLOT_LEAK is set, to show what a leak looks like.
func TestWatch(t *testing.T) {
	if os.Getenv("POLYGLOT_LEAK") == "" {
		t.Skip("set POLYGLOT_LEAK=1 to run this leaking test")
	}
	if first := <-Watch([]string{"a", "b"}); first != "A" {
		t.Fatalf("first = %q", first)
	}
}

func TestParse(t *testing.T) {
	if got := Parse("a,b"); len(got) != 2 {
		t.Fatalf("Parse = %q", got)
	}
}
