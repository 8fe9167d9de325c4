package crowded

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	stop := make(chan struct{})
	Park(1500, stop)
	code := m.Run()
	close(stop)
	os.Exit(code)
}

func TestCrowdedClean(t *testing.T) { Join(3) }

func TestCrowdedLeak(t *testing.T) {
	Join(2)
	LeakSequential()
}

func TestCrowdedLinger(t *testing.T) { Linger() }

func TestCrowdedParallelA(t *testing.T) {
	t.Parallel()
	Join(4)
}

func TestCrowdedParallelB(t *testing.T) {
	t.Parallel()
	Join(4)
}

func TestCrowdedParallelLeak(t *testing.T) {
	t.Parallel()
	Join(2)
	LeakParallel()
}

func TestCrowdedLast(t *testing.T) { Join(1) }
