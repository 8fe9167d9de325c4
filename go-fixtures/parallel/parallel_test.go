package parallel

import "testing"

// check runs the shared clean workload.
func check(t *testing.T) {
	if got := runWorkers(5); got != 10 {
		t.Fatalf("sum = %d, want 10", got)
	}
}

func TestParallel01(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel02(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel03(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel04(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel05(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel06(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel07(t *testing.T) {
	t.Parallel()
	leakOne()
	check(t)
}

func TestParallel08(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel09(t *testing.T) {
	t.Parallel()
	check(t)
}

func TestParallel10(t *testing.T) {
	t.Parallel()
	check(t)
}
