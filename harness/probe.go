// Answering leakcheck's probes for the goroutine leak profile.

package harness

import (
	"bufio"
	"io"
)

// leakcheckServeProbes answers leakcheck's requests for the goroutine
// leak profile while tests run, so that a test whose own goroutine the GC
// proves deadlocked is reported at once. It starts before any test, so no
// test is ever blamed for it.
func leakcheckServeProbes(conn io.ReadWriter) {
	requests := bufio.NewReader(conn)
	for {
		if _, err := requests.ReadString('\n'); err != nil {
			return
		}
		leakcheckSend(conn, "probe -", true)
	}
}
