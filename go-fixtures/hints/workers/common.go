package workers

// poolCommon is what pools share (as ants' pools share theirs).
type poolCommon struct {
	tasks chan func()
	quit  chan struct{}
}

func newPoolCommon() *poolCommon {
	return &poolCommon{tasks: make(chan func()), quit: make(chan struct{})}
}

// Release stops the idle workers; a worker still running a task stops
// after it.
func (p *poolCommon) Release() { close(p.quit) }
