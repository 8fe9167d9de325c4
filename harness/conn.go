// Talking to leakcheck: messages on the connection it handed over, and
// its answers.

package testing

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// leakcheckMu guards the connection and all of the hook's state: a
// message and its answer are one exchange, and messages reach leakcheck
// in the order their snapshots were taken.
var leakcheckMu sync.Mutex

// leakcheckSend sends a message: a header line "KIND ARGS... LEN", then
// LEN bytes of body (a goroutine dump), if any. Called with leakcheckMu
// held.
func leakcheckSend(header string, body []byte) {
	err := leakcheckWrite([]byte(header + " " + strconv.Itoa(len(body)) + "\n"))
	if err == nil {
		err = leakcheckWrite(body)
	}
	if err != nil {
		leakcheckFail(err)
	}
}

func leakcheckWrite(b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(leakcheckFD, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// leakcheckAwait answers leakcheck after a dump for run id (or "-": the
// runs judged later), until it says "done": "again MS" asks for another
// dump after MS milliseconds, "profile MS" for the goroutine leak profile;
// "done exact" also asks for a snapshot at every run's start and end from
// now on. Called with leakcheckMu held; other runs go on while it waits.
func leakcheckAwait(id string) {
	for {
		kind, arg, _ := strings.Cut(leakcheckReadLine(), " ")
		switch kind {
		case "again", "profile":
			ms, _ := strconv.Atoi(arg)
			leakcheckMu.Unlock()
			time.Sleep(time.Duration(ms) * time.Millisecond)
			leakcheckMu.Lock()
			leakcheckDump("dump "+id, kind == "profile")
		case "done":
			if arg == "exact" {
				leakcheckExact = true
			}
			return
		default:
			leakcheckFail(fmt.Errorf("unexpected answer %q", kind+" "+arg))
		}
	}
}

// leakcheckReadLine reads one answer: a line, and nothing follows it
// until the next message is sent.
func leakcheckReadLine() string {
	var line []byte
	var buf [64]byte
	for {
		n, err := syscall.Read(leakcheckFD, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			leakcheckFail(fmt.Errorf("connection closed (%v)", err))
		}
		line = append(line, buf[:n]...)
		if i := strings.IndexByte(string(line), '\n'); i >= 0 {
			if i != len(line)-1 {
				leakcheckFail(fmt.Errorf("unexpected answer %q", line))
			}
			return string(line[:i])
		}
	}
}

// leakcheckFail: without its connection, leakcheck cannot judge the
// tests; the process ends with the status leakcheck reads as that.
func leakcheckFail(err error) {
	fmt.Fprintf(os.Stderr, "leakcheck: the helper in this test binary: %v\n", err)
	os.Exit(86)
}
