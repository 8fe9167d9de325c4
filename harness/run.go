// One test run: label it, report before and after it, wait for the verdict.

package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// leakcheckRuns numbers test runs within the process (-count, reruns).
var leakcheckRuns atomic.Int64

// leakcheckConn is a connection to leakcheck; it carries one test run at
// a time and is kept for the next one.
type leakcheckConn struct {
	net.Conn
	replies *bufio.Reader
}

var (
	leakcheckConnMu sync.Mutex
	leakcheckIdle   []*leakcheckConn
)

// leakcheckGetConn takes an idle connection, or dials a new one.
func leakcheckGetConn(socket string) *leakcheckConn {
	leakcheckConnMu.Lock()
	if n := len(leakcheckIdle); n > 0 {
		c := leakcheckIdle[n-1]
		leakcheckIdle = leakcheckIdle[:n-1]
		leakcheckConnMu.Unlock()
		return c
	}
	leakcheckConnMu.Unlock()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
	return &leakcheckConn{conn, bufio.NewReader(conn)}
}

func leakcheckPutConn(c *leakcheckConn) {
	leakcheckConnMu.Lock()
	leakcheckIdle = append(leakcheckIdle, c)
	leakcheckConnMu.Unlock()
}

func leakcheckRunTest(t *testing.T, socket, name string, f func(*testing.T)) {
	run := name + "#" + strconv.FormatInt(leakcheckRuns.Add(1), 10)
	conn := leakcheckGetConn(socket)
	if leakcheckAsk {
		leakcheckWrite(conn, "ask "+run+" 0 0\n", nil)
		reply, err := conn.replies.ReadString('\n')
		if err != nil {
			conn.Close()
			return
		}
		if reply != "run\n" {
			leakcheckPutConn(conn)
			return
		}
	}
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(leakcheckLabel, run))
	pprof.SetGoroutineLabels(ctx)
	created := leakcheckStart(conn, run)
	// Registered first, so it runs last: after the test's own cleanups
	// and after its subtests, also when the test fails or skips.
	t.Cleanup(func() {
		status := "pass"
		if t.Skipped() {
			status = "skip"
		} else if t.Failed() {
			status = "fail"
		}
		if answered := leakcheckEnd(conn, run, status, created); !answered {
			leakcheckPutConn(conn)
			return
		}
		for {
			reply, err := conn.replies.ReadString('\n')
			if err != nil {
				conn.Close()
				return
			}
			switch reply {
			case "again\n":
				leakcheckSend(conn, "again "+run, false)
			case "leakprofile\n":
				leakcheckSend(conn, "again "+run, true)
			default:
				leakcheckPutConn(conn)
				return
			}
		}
	})
	f(t)
}
