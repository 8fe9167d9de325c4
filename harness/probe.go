// Probes: while a run goes on, the goroutine leak profile is sent to
// leakcheck now and then, so that a test whose own goroutine the garbage
// collector proves deadlocked is reported at once, not at the timeout.

package testing

import "time"

var (
	// The runs going on, and when each started. One timer serves them
	// all: its goroutine exists only while it fires.
	leakcheckProbed     = map[*leakcheckRunning]time.Time{}
	leakcheckProbeTimer *time.Timer
	leakcheckProbeWait  time.Duration
)

// leakcheckStartProbe counts run r of test name among those probed, and
// arms the timer if it is not: it fires after leakcheckProbeAfter, then at
// doubling intervals up to 10 s while runs go on. Called with leakcheckMu
// held.
func leakcheckStartProbe(r *leakcheckRunning, name string) {
	if leakcheckProbeAfter <= 0 {
		return
	}
	// The testing package lists a test in running while it runs, not
	// paused (a parallel test waiting for its turn is not); it does not
	// list examples and fuzz targets, which are probed all the same.
	if _, listed := running.Load(name); listed {
		r.listed = name
	}
	leakcheckProbed[r] = time.Now()
	if leakcheckProbeTimer == nil {
		leakcheckProbeWait = leakcheckProbeAfter
		leakcheckProbeTimer = time.AfterFunc(leakcheckProbeWait, leakcheckProbe)
	}
}

// leakcheckStopProbe: run r has ended. Called with leakcheckMu held.
func leakcheckStopProbe(r *leakcheckRunning) {
	delete(leakcheckProbed, r)
}

// leakcheckProbe sends the leak profile when a run has gone on, not
// paused, for leakcheckProbeAfter; disarms when no run goes on.
func leakcheckProbe() {
	leakcheckMu.Lock()
	defer leakcheckMu.Unlock()
	if len(leakcheckProbed) == 0 {
		leakcheckProbeTimer = nil
		return
	}
	for r, started := range leakcheckProbed {
		_, unpaused := running.Load(r.listed)
		if (r.listed == "" || unpaused) && time.Since(started) >= leakcheckProbeAfter {
			leakcheckDump("probe -", true)
			break
		}
	}
	// (Not the builtin min: Go 1.21's testing package has a min of its own.)
	if leakcheckProbeWait *= 2; leakcheckProbeWait > 10*time.Second {
		leakcheckProbeWait = 10 * time.Second
	}
	leakcheckProbeTimer.Reset(leakcheckProbeWait)
}
