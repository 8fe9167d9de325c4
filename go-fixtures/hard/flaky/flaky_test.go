package flaky

import "testing"

func TestFlakyBefore1(t *testing.T) {}

func TestFlakyBefore2(t *testing.T) {
	if MaxWork <= Timeout {
		t.Fatalf("MaxWork %v must exceed Timeout %v", MaxWork, Timeout)
	}
}

func TestFlakyFixed(t *testing.T) {
	if v, ok := FetchFixed(); ok && v != 42 {
		t.Fatalf("FetchFixed() = %d, want 42", v)
	}
}

func TestFlakyLeak(t *testing.T) {
	v, ok := Fetch()
	if ok && v != 42 {
		t.Fatalf("Fetch() = %d, want 42", v)
	}
	t.Logf("worker won: %v", ok)
}

func TestFlakyAfter1(t *testing.T) {}

func TestFlakyAfter2(t *testing.T) {}
