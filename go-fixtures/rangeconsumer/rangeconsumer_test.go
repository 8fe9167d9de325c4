package rangeconsumer

import "testing"

func TestFirstTwo(t *testing.T) {
	got := firstTwo()
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("got %v, want [0 1]", got)
	}
}

func TestFirstTwoFixed(t *testing.T) {
	got := firstTwoFixed()
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("got %v, want [0 1]", got)
	}
}
