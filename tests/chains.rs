//! Creation chains (`--chains`): each leak group names its origin (the
//! innermost line of its creation chain in the user's module) and via
//! (the test's own line), and groups split by them.

mod common;

use common::{go_module, run_with_report};
use leakcheck::compare::Leak;
use leakcheck::report::Report;

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

//go:noinline
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
    &report
        .packages
        .iter()
        .flat_map(|p| &p.tests)
        .find(|t| t.name == test)
        .unwrap_or_else(|| panic!("{test} missing"))
        .leaks
}

/// (file name, line) of a location.
fn at(l: &Option<leakcheck::compare::Location>) -> Option<(String, u32)> {
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
    // its origin is the helper's line, via the same (a _test.go file).
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
        Some(("app_test.go".into(), 13)),
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

    // The module's own pool: the origin is its go statement; each test
    // line that called Go() is a group of its own. (A creator's frames are
    // return addresses: where Go() is inlined, the line shown is the
    // call's or, when the call ends its statement, the next one. Exact
    // call lines need the binary's inline tables: not read yet.)
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
        assert!(*line == call || *line == call + 1, "{vias:?}");
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
