//go:build rare

package rare

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// widen is LEAKCHECK_RARE_WIDEN: when set, each window sleeps about this
// long (times its weight) instead of spinning, and every fixture fires.
var widen = func() time.Duration {
	d, err := time.ParseDuration(os.Getenv("LEAKCHECK_RARE_WIDEN"))
	if err != nil || d < 0 {
		return 0
	}
	return d
}()

var spun atomic.Int64

// window is the gap a bug needs another goroutine to fall into: a few
// iterations of a spin, or, widened, a sleep of weight times widen.
func window(spins int, weight time.Duration) {
	if widen > 0 {
		time.Sleep(weight * widen)
		return
	}
	for i := 0; i < spins; i++ {
		spun.Add(1)
	}
}

// transfer locks from, then to: with another transfer the other way
// round, an AB-BA deadlock when each holds its first lock.
func transfer(from, to *sync.Mutex, wg *sync.WaitGroup) {
	defer wg.Done()
	from.Lock()
	window(abbaSpins, 1)
	to.Lock() // rare: ABBA blocks here
	to.Unlock()
	from.Unlock()
}

// registry's Snapshot read-locks and calls Len, which read-locks again:
// a writer's Lock between the two makes the second RLock wait for the
// writer, which waits for the first RLock.
type registry struct {
	mu sync.RWMutex
	n  int
}

func (r *registry) Len() int {
	r.mu.RLock() // rare: RLock blocks here
	defer r.mu.RUnlock()
	return r.n
}

func (r *registry) Snapshot() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	window(rlockSpins, 1)
	return r.Len()
}

func (r *registry) Add() {
	r.mu.Lock() // rare: the writer blocks here
	r.n++
	r.mu.Unlock()
}

// gate's WaitOpen checks open under the lock, lets go of it, and only
// then waits: an Open in between signals nobody, and the wait never ends.
type gate struct {
	mu   sync.Mutex
	cond *sync.Cond
	open bool
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) WaitOpen() {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	if open {
		return
	}
	window(signalSpins, 2)
	g.mu.Lock()
	g.cond.Wait() // rare: LostSignal blocks here
	g.mu.Unlock()
}

func (g *gate) Open() {
	g.mu.Lock()
	g.open = true
	g.cond.Signal()
	g.mu.Unlock()
}

// queue's Put checks closed, then sends outside the lock: a Close in
// between makes the send panic.
type queue struct {
	mu     sync.Mutex
	closed bool
	ch     chan int
}

func (q *queue) Put(v int) {
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return
	}
	window(sendSpins, 2)
	q.ch <- v // rare: SendClose panics here
}

func (q *queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	close(q.ch)
}

// worker's Stop stops it only if it has started: a Stop before the
// worker ran leaves it waiting for a stop that never comes.
type worker struct {
	started atomic.Bool
	stop    chan struct{}
}

func (w *worker) Run() {
	w.started.Store(true)
	<-w.stop // rare: StopEarly blocks here
}

func (w *worker) Stop() {
	if w.started.Load() {
		close(w.stop)
	}
}

// yieldUntil yields up to n times until cond holds: the worker has
// usually started by then.
func yieldUntil(n int, cond func() bool) {
	if widen > 0 {
		return
	}
	for i := 0; i < n && !cond(); i++ {
		runtime.Gosched()
	}
}

// How wide each window is (calibrated on a 2-CPU machine, see
// bench/RESULTS.md).
const (
	abbaSpins   = 60
	rlockSpins  = 300
	signalSpins = 20
	sendSpins   = 40
	stopYields  = 20
)
