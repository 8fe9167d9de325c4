//go:build rare && preempt

package rare

import "testing"

func TestRarePreempted(t *testing.T) {
	l := newLease()
	finished := make(chan struct{})
	go l.watch(finished)
	l.work()
	close(finished)
}
