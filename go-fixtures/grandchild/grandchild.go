// Package grandchild is a leakcheck fixture for a leak two goroutines deep.
//
// In TestGrandchild the test starts a goroutine P; P starts a goroutine C
// that blocks forever on a channel receive, and P returns at once. By the
// time the test returns P has exited, so the leaked goroutine C's creator no
// longer exists: the leak must still be attributed to TestGrandchild (the
// marker is on C's go statement, in spawnChild).
//
// TestGrandchildClean has the same shape but releases C and waits for it
// before returning: it is clean.
package grandchild

// spawnChild is the body of goroutine P: it starts C, reports that C has
// been started by closing started, and returns.
func spawnChild(block <-chan struct{}, childDone chan<- struct{}, started chan<- struct{}) {
	go child(block, childDone) // want-leak: TestGrandchild
	close(started)
}

// child is the body of goroutine C: it waits on block, then closes done.
func child(block <-chan struct{}, done chan<- struct{}) {
	<-block
	close(done)
}
