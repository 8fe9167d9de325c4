package parallelorphan

import "testing"

// Both tests are running when the orphan is created, and neither ends
// before it exists.
var started, spawned = NewBarrier(2), NewBarrier(2)

func TestOrphanA(t *testing.T) {
	t.Parallel()
	started.Wait()
	SpawnOrphan()
	spawned.Wait()
}

func TestOrphanB(t *testing.T) {
	t.Parallel()
	started.Wait()
	spawned.Wait()
}
