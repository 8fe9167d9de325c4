// Answering leakcheck's probes: the goroutine leak profile, or a dump.

package harness

import (
	"bufio"
	"io"
)

// leakcheckServeProbes answers leakcheck's requests while tests run: for
// the goroutine leak profile ("leakprofile"), so that a test whose own
// goroutine the GC proves deadlocked is reported at once, or for a plain
// dump ("dump"), which judges the runs ended in a crowded process
// (crowded.go); "exact" asks for a dump at every run's start and end
// from now on, and is not answered. It starts before any test, so no test
// is ever blamed for it.
func leakcheckServeProbes(conn io.ReadWriter) {
	requests := bufio.NewReader(conn)
	for {
		request, err := requests.ReadString('\n')
		if err != nil {
			return
		}
		switch request {
		case "exact\n":
			leakcheckExact.Store(true)
		case "dump\n":
			leakcheckSend(conn, "dumped -", false)
		default:
			leakcheckSend(conn, "probe -", true)
		}
	}
}
