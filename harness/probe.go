// Probes: while a run goes on, the goroutine leak profile is sent to
// leakcheck now and then, so that a test whose own goroutine the garbage
// collector proves deadlocked is reported at once, not at the timeout.

package testing

import "time"

// leakcheckProbe is one run's probe timer. Its goroutine exists only
// while it sends.
type leakcheckProbe struct {
	timer *time.Timer
	wait  time.Duration
	ended bool
}

// leakcheckProbedAt is when the last probe was sent, by any run's timer.
var leakcheckProbedAt time.Time

// leakcheckStartProbe starts the calling run's probes: after
// leakcheckProbeAfter, then at doubling intervals up to 10 s. Called
// with leakcheckMu held.
func leakcheckStartProbe() *leakcheckProbe {
	if leakcheckProbeAfter <= 0 {
		return nil
	}
	p := &leakcheckProbe{wait: leakcheckProbeAfter}
	p.timer = time.AfterFunc(p.wait, p.send)
	return p
}

func (p *leakcheckProbe) send() {
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	if p.ended {
		return
	}
	// One probe covers every run going on.
	if time.Since(leakcheckProbedAt) >= p.wait/2 {
		leakcheckDump("probe -", true)
		leakcheckProbedAt = time.Now()
	}
	// (Not the builtin min: Go 1.21's testing package has a min of its own.)
	if p.wait *= 2; p.wait > 10*time.Second {
		p.wait = 10 * time.Second
	}
	p.timer.Reset(p.wait)
}

// stop ends the probes. Called with leakcheckMu held.
func (p *leakcheckProbe) stop() {
	if p != nil {
		p.ended = true
		p.timer.Stop()
	}
}
