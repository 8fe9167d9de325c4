package clean

import "testing"

func TestSum(t *testing.T) {
	if got := Sum([]int64{1, 2, 3, 4, 5}, 3); got != 15 {
		t.Fatalf("Sum = %d, want 15", got)
	}
}

func TestSumEmpty(t *testing.T) {
	if got := Sum(nil, 4); got != 0 {
		t.Fatalf("Sum(nil) = %d, want 0", got)
	}
}
