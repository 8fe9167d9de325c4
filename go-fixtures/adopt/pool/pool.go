// Package pool keeps idle workers, on purpose. leakcheck.toml ignores
// goroutines whose top frame is the worker loop.
//
// want: TestPool=pass/ignored:2
package pool

// Pool is a set of idle workers.
type Pool struct{ jobs chan func() }

// New starts n workers.
func New(n int) *Pool {
	p := &Pool{jobs: make(chan func())}
	for i := 0; i < n; i++ {
		go p.worker()
	}
	return p
}

func (p *Pool) worker() {
	for job := range p.jobs {
		job()
	}
}
