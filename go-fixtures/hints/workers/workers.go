// Package workers is a fixture's worker-pool library, shaped like
// golang.org/x/sync/errgroup (Group: Go, then Wait) and
// github.com/panjf2000/ants (Pool: NewPool starts a purging goroutine,
// Submit starts workers, and Release, declared on the type Pool embeds in
// another file, stops them).
package workers

import "sync"

// Group runs tasks on goroutines of their own; Wait waits for them all.
type Group struct{ wg sync.WaitGroup }

// Go runs task on a goroutine.
func (g *Group) Go(task func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		task()
	}()
}

// Wait waits for every task to return.
func (g *Group) Wait() { g.wg.Wait() }

// Pool runs tasks on up to size workers, which wait for more tasks until
// the pool is released.
type Pool struct {
	*poolCommon
	size    int
	workers int
}

// NewPool returns a pool of up to size workers.
func NewPool(size int) (*Pool, error) {
	p := &Pool{poolCommon: newPoolCommon(), size: size}
	go p.purge()
	return p, nil
}

// Submit runs task on a worker, starting one if there are fewer than size.
func (p *Pool) Submit(task func()) error {
	if p.workers < p.size {
		p.workers++
		go p.work()
	}
	p.tasks <- task
	return nil
}

func (p *Pool) work() {
	for {
		select {
		case task := <-p.tasks:
			task()
		case <-p.quit:
			return
		}
	}
}

// purge would stop idle workers after a while; it waits for Release.
func (p *Pool) purge() {
	<-p.quit
}
