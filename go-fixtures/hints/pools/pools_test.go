// Package pools is a fixture of leakcheck's fix hints: with creation
// chains (--chains), goroutines of a pool whose Wait or Release the test
// never calls get the hint to call it; look-alikes (a pool released whose
// task blocks, a pool handed on to other code) leak as well but get no
// hint.
//
// Leaking: TestGroupNeverWaited (1: its task), TestPoolNeverReleased (2:
// the pool's purging goroutine and its idle worker),
// TestPoolReleasedTaskBlocked (1: its worker, in the task), TestPoolHandedOn
// (2: as TestPoolNeverReleased).
package pools

import (
	"testing"

	"leakcheck.test/hints/workers"
)

var block = make(chan struct{})

func TestGroupNeverWaited(t *testing.T) {
	var g workers.Group
	g.Go(func() { // hint: TestGroupNeverWaited
		<-block
	})
}

func TestPoolNeverReleased(t *testing.T) {
	p, _ := workers.NewPool(2) // hint: TestPoolNeverReleased (purge)
	p.Submit(func() {})        // hint: TestPoolNeverReleased (worker)
}

// A look-alike: the pool is released, but its task blocks forever: the
// leak is the task's.
func TestPoolReleasedTaskBlocked(t *testing.T) {
	p, _ := workers.NewPool(1)
	defer p.Release()
	p.Submit(func() { <-block }) // no hint: TestPoolReleasedTaskBlocked
}

var kept []*workers.Pool

// keep hands a pool on; whoever holds it may release it. Not inlined: the
// creation chain of NewPool's goroutine holds the return address after
// the (inlined) NewPool call, which would otherwise fall in keep's inlined
// body and give keep's line as the test's.
//
//go:noinline
func keep(p *workers.Pool) { kept = append(kept, p) }

// A look-alike: the pool is handed on, so the test's source cannot say
// that nobody releases it.
func TestPoolHandedOn(t *testing.T) {
	p, _ := workers.NewPool(1) // no hint: TestPoolHandedOn (purge)
	keep(p)
	p.Submit(func() {}) // no hint: TestPoolHandedOn (worker)
}
