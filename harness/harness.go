// Package harness is the helper that leakcheck compiles into every test
// binary it builds. It is added to the package under test through
// `go test -overlay` as one extra _test.go file; leakcheck rewrites the
// package clause and appends a TestMain that calls leakcheckMain.
//
// The helper holds no policy. For every top-level test it:
//   - labels the test's goroutine (pprof label leakcheck_test=Name#N), so every
//     goroutine the test starts, directly or not, carries the label;
//   - sends a numbered goroutine dump to leakcheck before the test;
//   - after the test (after its cleanups and subtests), sends dumps until
//     leakcheck answers "done"; leakcheck decides when to ask again, and
//     whether the next dump is the goroutine leak profile (GC-proven
//     leaks) or a plain one.
//
// With LEAKCHECK_ASK=1 it also waits, before each test, for leakcheck to
// say "run" or "skip" (used to stop repeating a test once it leaked).
//
// A dump lists every goroutine, which costs time in proportion to all of
// them (tens of milliseconds for 20,000). When the runtime counts the
// goroutines it creates (runtime/metrics, Go 1.26+), the helper sends a
// short message instead of a dump where that count proves the dump would
// list no goroutine the last one did not (see listener.rs for the
// protocol). Connections are reused from one test run to the next.
//
// Without LEAKCHECK_SOCKET in the environment it does nothing at all.
// Every identifier starts with "leakcheck" so it cannot clash with the
// package it is compiled into.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	leakcheckmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// leakcheckSocketEnv names the Unix socket leakcheck listens on.
const leakcheckSocketEnv = "LEAKCHECK_SOCKET"

// leakcheckLabel is the pprof label key that marks a test's goroutines.
const leakcheckLabel = "leakcheck_test"

// leakcheckSetupExit is the exit code when the helper cannot do its job.
const leakcheckSetupExit = 86

// leakcheckAsk is set when leakcheck decides whether each run happens.
var leakcheckAsk bool

// leakcheckMain runs the tests of m, wrapped when leakcheck is listening,
// through the package's own TestMain when it has one.
func leakcheckMain(m *testing.M, userMain func(*testing.M)) {
	socket := os.Getenv(leakcheckSocketEnv)
	leakcheckAsk = os.Getenv("LEAKCHECK_ASK") == "1"
	// Child processes started by tests (the os.Args[0] helper-process
	// pattern) must not report to leakcheck as if they were this binary.
	os.Unsetenv(leakcheckSocketEnv)
	os.Unsetenv("LEAKCHECK_ASK")
	if socket != "" {
		if err := leakcheckWrap(m, socket); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
			os.Exit(leakcheckSetupExit)
		}
	}
	if userMain != nil {
		userMain(m) // testing's generated main exits with m's code
		return
	}
	os.Exit(m.Run())
}

// leakcheckWrap replaces each top-level test function in m with one that
// reports to leakcheck around it.
func leakcheckWrap(m *testing.M, socket string) error {
	field := reflect.ValueOf(m).Elem().FieldByName("tests")
	if !field.IsValid() || field.Type() != reflect.TypeOf([]testing.InternalTest(nil)) {
		return errors.New("testing.M has no field tests []testing.InternalTest in " + runtime.Version())
	}
	tests := *(*[]testing.InternalTest)(unsafe.Pointer(field.UnsafeAddr()))
	for i := range tests {
		name, f := tests[i].Name, tests[i].F
		tests[i].F = func(t *testing.T) { leakcheckRunTest(t, socket, name, f) }
	}
	if pprof.Lookup("goroutineleak") != nil {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return err
		}
		fmt.Fprintf(conn, "control - 0 0\n")
		go leakcheckServeProbes(conn)
	}
	return nil
}

// leakcheckServeProbes answers leakcheck's requests for the goroutine
// leak profile while tests run, so that a test whose own goroutine the GC
// proves deadlocked is reported at once. It starts before any test, so no
// test is ever blamed for it.
func leakcheckServeProbes(conn net.Conn) {
	requests := bufio.NewReader(conn)
	for {
		if _, err := requests.ReadString('\n'); err != nil {
			return
		}
		leakcheckSend(conn, "probe -", true)
	}
}

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
		leakcheckEnd(conn, run, status, created)
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

var (
	leakcheckDumpMu  sync.Mutex
	leakcheckDumpSeq int64
	leakcheckDumpBuf = make([]byte, 64<<10)

	// The base: the last snapshot, that is the last full dump
	// (leakcheckDumpBuf[:leakcheckBaseLen]) plus the goroutines that
	// "start=" messages added since; leakcheckBaseCount goroutines had
	// been created before it was taken. Valid when leakcheckBaseLen > 0.
	leakcheckBaseLen   int
	leakcheckBaseCount uint64
	leakcheckBaseExtra = map[string]bool{}

	leakcheckMetric = []leakcheckmetrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
)

// leakcheckCreated is the number of goroutines created so far, when the
// runtime counts them (Go 1.26+). Called with leakcheckDumpMu held.
func leakcheckCreated() (uint64, bool) {
	leakcheckmetrics.Read(leakcheckMetric)
	v := leakcheckMetric[0].Value
	if v.Kind() != leakcheckmetrics.KindUint64 {
		return 0, false
	}
	return v.Uint64(), true
}

// leakcheckStart sends a run's start snapshot and returns the creation
// count it holds for ("start=" when it proves a dump would list only the
// base's goroutines and the caller's).
func leakcheckStart(conn *leakcheckConn, run string) uint64 {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	created, ok := leakcheckCreated()
	if ok && leakcheckBaseLen > 0 && created-leakcheckBaseCount <= 1 && len(leakcheckBaseExtra) < 1024 {
		var buf [64]byte
		b := buf[:runtime.Stack(buf[:], false)]
		b = b[len("goroutine "):]
		gid := string(b[:bytes.IndexByte(b, ' ')])
		if created == leakcheckBaseCount || !leakcheckInBase(gid) {
			// The only goroutine created since the base, if any, is
			// this one: it was not alive then.
			if created != leakcheckBaseCount {
				leakcheckBaseCount = created
				leakcheckBaseExtra[gid] = true
			}
			leakcheckDumpSeq++
			leakcheckWrite(conn, "start= "+run+" "+gid+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
			return created
		}
	}
	leakcheckDump(conn, "start "+run, created, ok)
	return created
}

// leakcheckInBase says whether goroutine gid is in the base snapshot.
func leakcheckInBase(gid string) bool {
	if leakcheckBaseExtra[gid] {
		return true
	}
	header := "goroutine " + gid + " ["
	base := leakcheckDumpBuf[:leakcheckBaseLen]
	return bytes.HasPrefix(base, []byte(header)) || bytes.Contains(base, []byte("\n"+header))
}

// leakcheckEnd sends a run's end snapshot: "end=" when no goroutine was
// created since its start snapshot (which created counted), so a dump
// would list none that the start did not.
func leakcheckEnd(conn *leakcheckConn, run, status string, created uint64) {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	now, ok := leakcheckCreated()
	if ok && now == created {
		leakcheckDumpSeq++
		leakcheckWrite(conn, "end= "+run+" "+status+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
		return
	}
	leakcheckDump(conn, "end "+run+" "+status, now, ok)
}

// leakcheckSend sends a dump: a full one, or the goroutine leak profile
// at debug=2 when profile is set and the runtime has one.
func leakcheckSend(conn net.Conn, kind string, profile bool) {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	if p := pprof.Lookup("goroutineleak"); profile && p != nil {
		var buf bytes.Buffer
		p.WriteTo(&buf, 2)
		leakcheckDumpSeq++
		leakcheckWrite(conn, kind+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" "+strconv.Itoa(buf.Len())+"\n", buf.Bytes())
		return
	}
	created, ok := leakcheckCreated()
	leakcheckDump(conn, kind, created, ok)
}

// leakcheckDump writes one message: a header line "KIND SEQ LEN", then
// LEN bytes of runtime.Stack(all) output, which becomes the base. SEQ
// numbers the snapshots of this process in the order they were taken;
// created was read before the dump. Called with leakcheckDumpMu held.
func leakcheckDump(conn net.Conn, kind string, created uint64, ok bool) {
	n := runtime.Stack(leakcheckDumpBuf, true)
	for n == len(leakcheckDumpBuf) {
		leakcheckDumpBuf = make([]byte, 2*len(leakcheckDumpBuf))
		n = runtime.Stack(leakcheckDumpBuf, true)
	}
	leakcheckBaseLen, leakcheckBaseCount = 0, created
	if len(leakcheckBaseExtra) > 0 {
		leakcheckBaseExtra = map[string]bool{}
	}
	if ok {
		leakcheckBaseLen = n
	}
	leakcheckDumpSeq++
	leakcheckWrite(conn, kind+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" "+strconv.Itoa(n)+"\n", leakcheckDumpBuf[:n])
}

func leakcheckWrite(conn net.Conn, header string, dump []byte) {
	var err error
	if len(dump) == 0 {
		_, err = conn.Write([]byte(header))
	} else {
		bufs := net.Buffers{[]byte(header), dump}
		_, err = bufs.WriteTo(conn)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
}
