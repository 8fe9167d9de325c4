// One test run: label it, report before and after it, wait for the verdict.

package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// leakcheckRuns numbers test runs within the process (-count, reruns).
var leakcheckRuns atomic.Int64

// leakcheckConn is a connection to leakcheck; it carries one test run at
// a time and is kept for the next one.
type leakcheckConn struct {
	*os.File
	replies *bufio.Reader
}

// leakcheckDial connects to leakcheck's Unix socket. It uses syscall, not
// net: net would link its resolver (and, with cgo, the C runtime) into
// every test binary, which makes each link noticeably slower.
func leakcheckDial(socket string) (*os.File, error) {
	// Close-on-exec before any fork can copy it (as net does where the
	// socket call cannot set it): a child process a test starts must not
	// keep the connection open after this binary exits.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect "+socket, err)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime's poller:
	// a goroutine waiting for leakcheck parks instead of holding a thread
	// in a blocking read.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(fd), socket), nil
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
	conn, err := leakcheckDial(socket)
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

// leakcheckUntilDone answers leakcheck after a dump was sent on conn:
// another dump (kind "again RUN" or "check -") or the goroutine leak
// profile, as asked, until it says "done"; then conn goes back to the
// pool.
func leakcheckUntilDone(conn *leakcheckConn, kind string) {
	for {
		reply, err := conn.replies.ReadString('\n')
		if err != nil {
			conn.Close()
			return
		}
		switch reply {
		case "again\n":
			leakcheckSend(conn, kind, false)
		case "leakprofile\n":
			leakcheckSend(conn, kind, true)
		default:
			leakcheckPutConn(conn)
			return
		}
	}
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
	leakcheckWatchRoot(t, socket)
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(leakcheckLabel, run))
	pprof.SetGoroutineLabels(ctx)
	mark := leakcheckStart(conn, run)
	// Registered first, so it runs last: after the test's own cleanups
	// and after its subtests, also when the test fails or skips.
	t.Cleanup(func() {
		status := "pass"
		if t.Skipped() {
			status = "skip"
		} else if t.Failed() {
			status = "fail"
		}
		if answered := leakcheckEnd(conn, run, status, mark, leakcheckIsParallel(t)); !answered {
			leakcheckPutConn(conn)
			return
		}
		leakcheckUntilDone(conn, "again "+run)
	})
	f(t)
}
