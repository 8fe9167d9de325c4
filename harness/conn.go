// Talking to leakcheck: messages on the connection it handed over, and
// its answers.

package testing

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	// leakcheckMu guards the connection and all of the hook's state: a
	// message and its answer are one exchange, and messages reach
	// leakcheck in the order their snapshots were taken.
	leakcheckMu sync.Mutex

	// The connection (a blocking descriptor: no goroutine of the runtime's
	// poller waits on it), and its answers.
	leakcheckConn    *os.File
	leakcheckAnswers *bufio.Reader

	// leakcheckKey is the secret leakcheck gave this process: the first
	// word of every message, so that one a test writes on the connection
	// is told apart.
	leakcheckKey string
)

// leakcheckSend sends a message: a header line "KEY KIND ARGS... LEN",
// then LEN bytes of body (a goroutine dump), if any. Called with
// leakcheckMu held.
func leakcheckSend(header string, body []byte) {
	_, err := leakcheckConn.WriteString(leakcheckKey + " " + header + " " + strconv.Itoa(len(body)) + "\n")
	if err == nil {
		_, err = leakcheckConn.Write(body)
	}
	if err != nil {
		leakcheckFail(fmt.Errorf("lost its connection to leakcheck: %v", err))
	}
}

// leakcheckAwait answers leakcheck after a dump for run id (or "-": the
// runs judged later), until it says "done": "again MS" asks for another
// dump after MS milliseconds, "profile MS" for the goroutine leak profile;
// "done exact" also asks for a snapshot at every run's start and end from
// now on. Called with leakcheckMu held; other runs go on while it waits.
func leakcheckAwait(id string) {
	for {
		switch kind, arg := leakcheckAnswer(); kind {
		case "again", "profile":
			ms, _ := strconv.Atoi(arg)
			leakcheckMu.Unlock()
			time.Sleep(time.Duration(ms) * time.Millisecond)
			leakcheckMu.Lock()
			leakcheckDump("dump "+id, kind == "profile")
		case "done":
			leakcheckExact = leakcheckExact || arg == "exact"
			return
		default:
			leakcheckFail(fmt.Errorf("got an unexpected answer %q", kind+" "+arg))
		}
	}
}

// leakcheckAnswer reads leakcheck's next answer: "KIND [ARG]".
func leakcheckAnswer() (kind, arg string) {
	answer, err := leakcheckAnswers.ReadString('\n')
	if err != nil {
		leakcheckFail(fmt.Errorf("lost its connection to leakcheck: %v", err))
	}
	kind, arg, _ = strings.Cut(strings.TrimSuffix(answer, "\n"), " ")
	return kind, arg
}

// leakcheckFail: without its connection, leakcheck cannot judge the
// tests; the process ends with the status leakcheck reads as that.
func leakcheckFail(err error) {
	fmt.Fprintf(os.Stderr, "leakcheck: the hook in this test binary %v\n", err)
	os.Exit(86)
}
