// Goroutine dumps: taken in order, numbered, sent to leakcheck; skipped
// when the runtime's count of created goroutines proves nothing changed.

package harness

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	leakcheckmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
)

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

// leakcheckStart sends a run's start snapshot ("start=" when the count of
// created goroutines proves a dump would list only the base's goroutines
// and the caller's) and returns what its end compares with.
func leakcheckStart(conn *leakcheckConn, run string) leakcheckMark {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	created, ok := leakcheckCreated()
	mark := leakcheckMarkStart(created)
	if ok && leakcheckBaseLen > 0 && created-leakcheckBaseCount <= 1 && len(leakcheckBaseExtra) < 1024 {
		gid := leakcheckGoid()
		if created == leakcheckBaseCount || !leakcheckInBase(gid) {
			// The only goroutine created since the base, if any, is
			// this one: it was not alive then.
			if created != leakcheckBaseCount {
				leakcheckBaseCount = created
				leakcheckBaseExtra[gid] = true
			}
			leakcheckDumpSeq++
			leakcheckWrite(conn, "start= "+run+" "+gid+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
			return mark
		}
	}
	if ok && leakcheckBaseLen > 0 && leakcheckIsCrowded() {
		// See crowded.go: goroutines created since the base are judged
		// by their labels and a later dump.
		leakcheckDumpSeq++
		leakcheckWrite(conn, "start~ "+run+" "+leakcheckGoid()+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
		return mark
	}
	leakcheckDump(conn, "start "+run, created, ok)
	return mark
}

// leakcheckGoid is the calling goroutine's ID.
func leakcheckGoid() string {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	return string(b[:bytes.IndexByte(b, ' ')])
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
// created since its start snapshot (mark), so a dump would list none that
// the start did not. It says whether leakcheck will answer: a dump is
// answered, "end=" is not (the run is clean). parallel: the test called
// t.Parallel.
func leakcheckEnd(conn *leakcheckConn, run, status string, mark leakcheckMark, parallel bool) bool {
	leakcheckDumpMu.Lock()
	defer leakcheckDumpMu.Unlock()
	now, ok := leakcheckCreated()
	defer leakcheckMarkEnd()
	if ok && now == mark.created {
		leakcheckDumpSeq++
		leakcheckWrite(conn, "end= "+run+" "+status+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
		return false
	}
	if ok && leakcheckBaseLen > 0 && leakcheckIsCrowded() {
		// Judged with later dumps (crowded.go), not answered: a parallel
		// run, whose counts say nothing, or one whose counts show that
		// nothing it created outlived it. Any other gets a dump now, as
		// in any process: the next test waits until what outlived this
		// one has ended.
		counts := "-"
		if parallel {
			leakcheckGap = true
		} else {
			counts = leakcheckCounts(mark)
		}
		if parallel || counts == "clean" {
			leakcheckDumpSeq++
			leakcheckDeferred++
			leakcheckWrite(conn, "end~ "+run+" "+status+" "+counts+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" 0\n", nil)
			return false
		}
	}
	leakcheckDump(conn, "end "+run+" "+status, now, ok)
	return true
}

// leakcheckSend sends a dump: a full one, or the goroutine leak profile
// at debug=2 when profile is set and the runtime has one.
func leakcheckSend(conn io.Writer, kind string, profile bool) {
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
func leakcheckDump(conn io.Writer, kind string, created uint64, ok bool) {
	// About 500 bytes a goroutine: one try, rather than one per doubling
	// (each stops the world).
	if want := 512 * runtime.NumGoroutine(); len(leakcheckDumpBuf) < want {
		leakcheckDumpBuf = make([]byte, want)
	}
	n := runtime.Stack(leakcheckDumpBuf, true)
	for n == len(leakcheckDumpBuf) {
		leakcheckDumpBuf = make([]byte, 2*len(leakcheckDumpBuf))
		n = runtime.Stack(leakcheckDumpBuf, true)
	}
	leakcheckBaseLen, leakcheckBaseCount = 0, created
	leakcheckGap = false
	if len(leakcheckBaseExtra) > 0 {
		leakcheckBaseExtra = map[string]bool{}
	}
	if ok {
		leakcheckBaseLen = n
	}
	leakcheckDumpSeq++
	leakcheckWrite(conn, kind+" "+strconv.FormatInt(leakcheckDumpSeq, 10)+" "+strconv.Itoa(n)+"\n", leakcheckDumpBuf[:n])
}

func leakcheckWrite(conn io.Writer, header string, dump []byte) {
	_, err := io.WriteString(conn, header)
	if err == nil && len(dump) > 0 {
		_, err = conn.Write(dump)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		os.Exit(leakcheckSetupExit)
	}
}
