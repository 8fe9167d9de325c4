//go:build rare && preempt

package rare

import (
	"sync/atomic"
	"time"
)

// lease is held by a worker that renews it at every step of its work; a
// watcher that finds it older than leaseTimeout takes the work over and
// waits for the worker to hand it over, which a worker that went on and
// finished never does. The worker never blocks or yields: the lease goes
// stale only while the OS keeps the worker's thread off its CPU for
// longer than leaseTimeout (a descheduled thread, as under CPU
// contention), or when widened.
type lease struct {
	start    time.Time
	renewed  atomic.Int64 // time.Since(start) at the last renewal
	handover chan struct{}
}

func newLease() *lease {
	return &lease{start: time.Now(), handover: make(chan struct{})}
}

func (l *lease) renew() { l.renewed.Store(int64(time.Since(l.start))) }

func (l *lease) stale() bool {
	return time.Since(l.start)-time.Duration(l.renewed.Load()) > leaseTimeout
}

// work spins for leaseWork in all, renewing the lease every few spins.
func (l *lease) work() {
	l.renew()
	for time.Since(l.start) < leaseWork {
		window(leaseSpins, 2)
		l.renew()
	}
}

// watch checks the lease every leasePoll until finished is closed.
func (l *lease) watch(finished <-chan struct{}) {
	for {
		select {
		case <-finished:
			return
		default:
		}
		if l.stale() {
			l.takeOver()
			return
		}
		time.Sleep(leasePoll)
	}
}

func (l *lease) takeOver() {
	<-l.handover // rare: Preempted blocks here
}

const (
	leaseTimeout = time.Millisecond
	leaseWork    = 2 * time.Millisecond
	leasePoll    = 100 * time.Microsecond
	leaseSpins   = 200
)
