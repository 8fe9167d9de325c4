//! Creation chains (`--chains`): each leak group names its origin (the
//! innermost line of its creation chain in the user's module) and via
//! (the test's own line), and groups split by them.

mod common;

use common::{go_module, go_path, run_with_report};
use leakcheck::detect::compare::Leak;
use leakcheck::output::report::Report;

const POOL: &str = r#"package pool

// Pool runs functions on goroutines; Wait lets them end.
type Pool struct{ done chan struct{} }

func New() *Pool { return &Pool{done: make(chan struct{})} }

func (p *Pool) Go(f func()) {
	go func() { // the pool's go statement: line 9
		f()
		<-p.done
	}()
}

func (p *Pool) Wait() { close(p.done) }
"#;

const APP: &str = r#"package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/m/pool"
)

// Small enough to be inlined into the subtest's function.
func startServer(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})) // line 13
}

func TestServer(t *testing.T) {
	t.Run("helper", func(t *testing.T) {
		srv := startServer(t) // line 18
		t.Log(srv.URL)
	})
}

func TestPool(t *testing.T) {
	p := pool.New()
	p.Go(func() {}) // line 25
	p.Go(func() {}) // line 26
	q := pool.New()
	q.Go(func() {}) // line 28
	t.Log("pools started")
}
"#;

fn leaks<'r>(report: &'r Report, test: &str) -> &'r [Leak] {
    &common::test_report(report, test).leaks
}

/// (file name, line) of a location.
fn at(l: &Option<leakcheck::detect::compare::Location>) -> Option<(String, u32)> {
    l.as_ref().map(|l| {
        let name = l.file.rsplit('/').next().unwrap_or("").to_string();
        (name, l.line)
    })
}

#[test]
fn chains_name_the_origin_in_the_module_and_the_tests_line() {
    let dir = go_module(&[("pool/pool.go", POOL), ("app/app_test.go", APP)]);
    let (out, report) = run_with_report(dir.path(), &["--chains", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");

    // A library goroutine (httptest's) started by a helper in a subtest:
    // its origin is the helper's line, via the subtest's line that called
    // the helper (the test function's own body).
    let server = leaks(&report, "TestServer");
    assert_eq!(server.len(), 1, "{server:?}");
    let l = &server[0];
    assert!(
        l.created_by.as_ref().unwrap().file.contains("httptest"),
        "{l:?}"
    );
    assert_eq!(
        at(&l.origin),
        Some(("app_test.go".into(), 13)),
        "{:?}",
        l.chain
    );
    assert_eq!(
        at(&l.via),
        Some(("app_test.go".into(), 18)),
        "{:?}",
        l.chain
    );
    assert_eq!(l.subtest, "TestServer/helper");
    let functions: Vec<&str> = l.chain.iter().map(|c| c.function.as_str()).collect();
    for f in [
        "net/http/httptest.NewServer",
        "example.com/m/app.startServer",
        "example.com/m/app.TestServer",
    ] {
        assert!(functions.contains(&f), "{f} not in {functions:?}");
    }
    assert!(
        stdout.contains("        origin      app/app_test.go:13 in example.com/m/app.startServer"),
        "{stdout}"
    );
    // Creators' frames at their calls' lines, not the lines after them.
    let line_of = |f: &str| {
        l.chain
            .iter()
            .find(|c| c.function.ends_with(f))
            .map(|c| c.line)
    };
    assert_eq!(line_of("app.TestServer.func1"), Some(18), "{:?}", l.chain);
    assert_eq!(line_of("app.TestServer"), Some(17), "{:?}", l.chain);

    // The module's own pool: the origin is its go statement; each test
    // line that called Go() is a group of its own, at the call's line (the
    // dump prints the line after it: the call ends its statement).
    let pool = leaks(&report, "TestPool");
    let mut vias: Vec<(String, u32, usize)> = pool
        .iter()
        .map(|l| {
            let (file, line) = at(&l.via).expect("a via line");
            (file, line, l.count)
        })
        .collect();
    vias.sort();
    assert_eq!(vias.len(), 3, "{pool:?}");
    for ((file, line, count), call) in vias.iter().zip([25, 26, 28]) {
        assert_eq!((file.as_str(), *count), ("app_test.go", 1), "{vias:?}");
        assert_eq!(*line, call, "{vias:?}");
    }
    for l in pool {
        assert_eq!(at(&l.origin), Some(("pool.go".into(), 9)));
    }
    assert!(
        stdout.contains("        via         app/app_test.go:"),
        "{stdout}"
    );

    // Without chains: the creation site is all that is known; the pool's
    // three goroutines are one group, its origin still the module's line.
    let (_, plain) = run_with_report(dir.path(), &["./..."]);
    let pool = leaks(&plain, "TestPool");
    assert_eq!(pool.len(), 1, "{pool:?}");
    assert_eq!(pool[0].count, 3);
    assert_eq!(at(&pool[0].origin), Some(("pool.go".into(), 9)));
    assert_eq!(pool[0].via, None);
    assert_eq!(pool[0].chain.len(), 1);
    let server = leaks(&plain, "TestServer");
    assert_eq!(server[0].origin, None, "{:?}", server[0]);
}

const INLINED: &str = r#"package main

import (
	"os"
	"runtime"
	"sync"
)

var block = make(chan int)

type Group struct{ wg sync.WaitGroup }

func (g *Group) Go(f func()) {
	g.wg.Add(1)
	go func() { // line 15
		defer g.wg.Done()
		f()
	}()
}

func helper(g *Group) {
	g.Go(func() { // line 22: inlined into main
		<-block
	})
}

func Gen[T any](v T) {
	go func() { <-block; _ = v }() // line 28
}

func main() {
	var g Group
	func() {
		helper(&g)
	}()
	Gen(3) // line 36
	run()
	runtime.Gosched()
	buf := make([]byte, 1<<20)
	os.Stdout.Write(buf[:runtime.Stack(buf, true)])
}

type Pool struct{ quit chan struct{} }

func NewPool() *Pool {
	p := &Pool{quit: make(chan struct{})}
	go p.purge() // line 47
	return p
}

func (p *Pool) purge() { <-p.quit }

var kept []*Pool

func keep(p *Pool) { kept = append(kept, p) } // line 55: inlined into run

//go:noinline
func run() {
	p := NewPool() // line 59
	keep(p)
}
"#;

#[test]
fn the_binarys_line_table_gives_each_creators_call_line_or_leaves_the_line_printed() {
    use leakcheck::detect::stack::Snapshot;
    use leakcheck::go::pclntab::LineTable;
    let dir = go_module(&[("main.go", INLINED)]);
    let bin = dir.path().join("inlined");
    let built = std::process::Command::new("go")
        .args(["build", "-ldflags=-s -w", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(dir.path())
        .env("PATH", go_path())
        .status()
        .unwrap();
    assert!(built.success());
    let out = std::process::Command::new(&bin)
        .env("GODEBUG", "tracebackancestors=5")
        .output()
        .unwrap();
    let dump = String::from_utf8(out.stdout).unwrap();
    let table = LineTable::read(&bin).unwrap();
    let snapshot = Snapshot::parse(&dump);
    use leakcheck::go::pclntab::CallLine;
    // Each ancestor frame: (function, printed line, where the call is).
    let mut resolved: Vec<(String, u32, Option<CallLine>)> = Vec::new();
    for g in &snapshot.goroutines {
        for a in g.ancestors() {
            for (f, offset) in a.frames.iter().zip(&a.offsets) {
                let exact = offset.and_then(|o| table.call_line(f.function, f.file, f.line, o));
                resolved.push((f.function.to_string(), f.line, exact));
            }
        }
    }
    let find = |name: &str| {
        resolved
            .iter()
            .find(|(f, _, _)| f == name)
            .unwrap_or_else(|| panic!("{name} in {resolved:?}\n{dump}"))
    };
    // Not inlined: the go statement's own line, where the dump printed the
    // return address's (the closing `}()`, or the next statement).
    let go = find("main.(*Group).Go");
    assert_eq!((go.1, go.2.clone()), (19, Some(CallLine::At(15))), "{dump}");
    let generic = find("main.Gen[...]");
    assert_eq!(
        (generic.1, generic.2.clone()),
        (29, Some(CallLine::At(28))),
        "{dump}"
    );
    // Inlined code: main calls main.func1 (inlined) which calls helper
    // (inlined) which calls Go. The runtime saved, for each of those
    // frames, the pc after the call or after the inlined call's mark (the
    // pc of an instruction at the call's line), and printed at that pc
    // itself, with the offset from main's entry, whatever is there: the
    // code after the call, or the inlined body after the mark. Each frame
    // printed is the next one inward's; the byte before tells which.
    let main_go = dir.path().join("main.go").display().to_string();
    let misnamed = |function: &str, line: u32| {
        Some(CallLine::Misnamed {
            function: function.into(),
            file: main_go.clone(),
            line,
        })
    };
    let frames: Vec<(&str, u32, Option<CallLine>)> = resolved
        .iter()
        .skip_while(|(f, _, _)| f != "main.(*Group).Go")
        .take(4)
        .map(|(f, line, at)| (f.as_str(), *line, at.clone()))
        .collect();
    assert_eq!(
        frames,
        [
            ("main.(*Group).Go", 19, Some(CallLine::At(15))),
            ("main.main", 36, misnamed("main.helper", 22)),
            ("main.helper", 22, misnamed("main.main.func1", 34)),
            ("main.main.func1", 34, misnamed("main.main", 35)),
        ],
        "{dump}"
    );
    // The return address after the call to NewPool (not inlined) is the
    // first byte of keep's inlined body: run's frame, printed as keep's
    // (its name, its line) with run's offset, is run's at the call.
    assert_eq!(
        find("main.keep"),
        &("main.keep".into(), 55, misnamed("main.run", 59)),
        "{dump}"
    );
    assert_eq!(find("main.NewPool").2, Some(CallLine::At(47)), "{dump}");
    // Bad input: a clear error, never a panic.
    let not_go = dir.path().join("go.mod");
    assert!(LineTable::read(&not_go).is_err());
}

const ERRS: &str = r#"package errs

import "example.com/m/pool"

// Errs wraps a pool; its Go is small enough to be inlined into callers
// (the pool's, with its go statement, is not).
type Errs struct{ p *pool.Pool }

func New() *Errs { return &Errs{p: pool.New()} }

func (e *Errs) Go(f func()) { e.p.Go(f) }
"#;

const TWINS: &str = r#"package twins

import (
	"testing"

	"example.com/m/errs"
)

func TestTwins(t *testing.T) {
	t.Run("a", func(t *testing.T) {
		e := errs.New()
		e.Go(func() {}) // line 12
	})
	t.Run("b", func(t *testing.T) {
		e := errs.New()
		e.Go(func() {}) // line 16
	})
}
"#;

#[test]
fn twin_subtests_calling_an_inlined_method_each_get_their_own_line() {
    // The runtime prints each subtest's frame with the name and line of
    // the inlined Go; both subtests' code is the same up to that offset,
    // so the binary alone cannot tell which one it is: the frame printed
    // before it, with the subtest function's own name, does.
    let dir = go_module(&[
        ("pool/pool.go", POOL),
        ("errs/errs.go", ERRS),
        ("twins/twins_test.go", TWINS),
    ]);
    let (out, report) = run_with_report(dir.path(), &["--chains", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut vias: Vec<(String, u32, String)> = leaks(&report, "TestTwins")
        .iter()
        .map(|l| {
            let (file, line) = at(&l.via).unwrap_or_else(|| panic!("a via line: {l:?}\n{stdout}"));
            (file, line, l.subtest.clone())
        })
        .collect();
    vias.sort();
    assert_eq!(
        vias,
        [
            ("twins_test.go".to_string(), 12, "TestTwins/a".to_string()),
            ("twins_test.go".to_string(), 16, "TestTwins/b".to_string()),
        ],
        "{stdout}"
    );
}

#[test]
fn chains_pin_a_grandchild_whose_parent_exited_on_its_test_before_go_1_26_too() {
    // parallelorphan: two parallel tests; TestOrphanA's goroutine starts a
    // goroutine and exits. Without labels in dumps (before Go 1.26) the
    // orphan's creator is gone, and its creation window names both tests;
    // its creation chain names TestOrphanA's goroutine.
    let dir = common::fixtures();
    let (out, report) = run_with_report(&dir, &["--chains", "./parallelorphan"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let leaks = leaks(&report, "TestOrphanA");
    assert_eq!(leaks.len(), 1, "{stdout}");
    assert_eq!(leaks[0].line, 57, "{:?}", leaks[0]);
    assert!(leaks[0].ambiguous_with.is_empty(), "{stdout}");
    assert!(self::leaks(&report, "TestOrphanB").is_empty(), "{stdout}");
    if common::go_minor() < 26 {
        // What chains add there: without them, it is ambiguous.
        let (_, plain) = run_with_report(&dir, &["./parallelorphan"]);
        let all: Vec<&Leak> = plain.packages[0]
            .tests
            .iter()
            .flat_map(|t| &t.leaks)
            .collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(!all[0].ambiguous_with.is_empty(), "{all:?}");
    }
}

const BODY: &str = r#"package b

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

var srv *httptest.Server

func TestMain(m *testing.M) {
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func TestBodyNeverClosed(t *testing.T) {
	resp, err := http.Get(srv.URL) // line 23
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.StatusCode
}
"#;

#[test]
fn a_body_never_closed_leads_through_two_goroutines_of_the_transport_to_the_tests_call() {
    // The transport's reader is created by a dialing goroutine, which the
    // test's goroutine started inside http.Get (inlined into the test):
    // the chain crosses both, and its origin is the call's own line.
    let dir = go_module(&[("b/b_test.go", BODY)]);
    let (out, report) = run_with_report(dir.path(), &["--chains", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let body = leaks(&report, "TestBodyNeverClosed");
    assert_eq!(body.len(), 1, "{stdout}");
    let l = &body[0];
    assert!(
        l.hint
            .as_deref()
            .unwrap_or("")
            .contains("resp.Body.Close()"),
        "{l:?}"
    );
    assert_eq!(
        at(&l.origin),
        Some(("b_test.go".into(), 23)),
        "{:?}",
        l.chain
    );
    assert_eq!(at(&l.via), Some(("b_test.go".into(), 23)), "{:?}", l.chain);
    let goroutines: std::collections::BTreeSet<u64> = l.chain.iter().map(|c| c.goroutine).collect();
    assert!(goroutines.len() >= 2, "{:?}", l.chain);
    // The test's frame appears once, at the call.
    let test_frames: Vec<u32> = l
        .chain
        .iter()
        .filter(|c| c.function.ends_with(".TestBodyNeverClosed"))
        .map(|c| c.line)
        .collect();
    assert_eq!(test_frames, [23], "{:?}", l.chain);
}

const WORKERS: &str = r#"package workers

// Pool starts a purging goroutine that waits for Release.
type Pool struct{ quit chan struct{} }

func NewPool(size int) (*Pool, error) {
	p := &Pool{quit: make(chan struct{})}
	go p.purge() // line 8
	return p, nil
}

func (p *Pool) purge() { <-p.quit }

func (p *Pool) Release() { close(p.quit) }
"#;

const KEEP: &str = r#"package pools

import (
	"testing"

	"example.com/m/workers"
)

var kept []*workers.Pool

func keep(p *workers.Pool) { kept = append(kept, p) } // line 11: inlined

func TestPoolNeverReleased(t *testing.T) {
	p, _ := workers.NewPool(2) // line 14
	keep(p)
}
"#;

#[test]
fn a_creators_call_followed_by_inlined_code_is_its_own_line_not_the_inlined_functions() {
    // The return address after NewPool's call is the first byte of keep's
    // inlined body: the runtime printed the test's frame as keep's, at
    // keep's line. The via is the test's call.
    let dir = go_module(&[
        ("workers/workers.go", WORKERS),
        ("pools/pools_test.go", KEEP),
    ]);
    let (out, report) = run_with_report(dir.path(), &["--chains", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let pool = leaks(&report, "TestPoolNeverReleased");
    assert_eq!(pool.len(), 1, "{stdout}");
    let l = &pool[0];
    assert_eq!(
        at(&l.via),
        Some(("pools_test.go".into(), 14)),
        "{:?}",
        l.chain
    );
    assert_eq!(
        at(&l.origin),
        Some(("workers.go".into(), 8)),
        "{:?}",
        l.chain
    );
    let chain: Vec<(&str, u32)> = l
        .chain
        .iter()
        .take(2)
        .map(|c| (c.function.as_str(), c.line))
        .collect();
    assert_eq!(
        chain,
        [
            ("example.com/m/workers.NewPool", 8),
            ("example.com/m/pools.TestPoolNeverReleased", 14)
        ],
        "{:?}",
        l.chain
    );
    assert!(
        !l.chain.iter().any(|c| c.function.ends_with(".keep")),
        "{:?}",
        l.chain
    );
}
