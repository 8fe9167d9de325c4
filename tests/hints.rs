//! Fix hints: given for the shapes that are certain, never for their
//! look-alikes.

mod common;

use common::{go_module, run_with_report};
use leakcheck::report::TestOutcome;

const SERVERS: &str = r#"package h

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func hello(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }

func TestHttptestNeverClosed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	_ = srv.URL
}

// A look-alike: a server the test started itself, never shut down.
func TestOwnServerNeverShutDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(hello)}
	go srv.Serve(ln)
}
"#;

const BODIES: &str = r#"package b

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
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.StatusCode
}

// A look-alike: the body is read and closed; the connection stays idle in
// the transport's pool.
func TestBodyClosedConnectionIdle(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
}
"#;

/// Each leaking test's hints, one per leak group (`-` where none).
fn hints(report: &leakcheck::report::Report, test: &str) -> Vec<String> {
    let t = common::test_report(report, test);
    assert!(!t.leaks.is_empty(), "{test} leaked nothing");
    t.leaks
        .iter()
        .map(|l| l.hint.clone().unwrap_or_else(|| "-".into()))
        .collect()
}

#[test]
fn an_httptest_server_never_closed_gets_a_hint_and_a_server_of_ones_own_none() {
    let dir = go_module(&[("h/h_test.go", SERVERS)]);
    let (out, report) = run_with_report(dir.path(), &["./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let h = hints(&report, "TestHttptestNeverClosed");
    assert_eq!(h.len(), 1, "{stdout}");
    assert!(h[0].contains("defer srv.Close()"), "{h:?}");
    assert!(
        stdout.contains("        hint        an httptest.Server is never closed"),
        "{stdout}"
    );
    let own = hints(&report, "TestOwnServerNeverShutDown");
    assert!(own.iter().all(|h| h == "-"), "{own:?}\n{stdout}");
}

#[test]
fn a_response_body_never_closed_gets_a_hint_and_an_idle_connection_none() {
    let dir = go_module(&[("b/b_test.go", BODIES)]);
    let (out, report) = run_with_report(dir.path(), &["./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let h = hints(&report, "TestBodyNeverClosed");
    assert_eq!(
        h.iter().filter(|h| h.contains("resp.Body.Close()")).count(),
        1,
        "{h:?}\n{stdout}"
    );
    // The idle keep-alive connection is the transport's pool, not a leak:
    // the test passes, as under go test, and the report counts what the
    // built-in rules set aside.
    let idle = common::test_report(&report, "TestBodyClosedConnectionIdle");
    assert_eq!(idle.outcome, TestOutcome::Pass, "{stdout}");
    assert!(idle.leaks.is_empty(), "{stdout}");
    let set_aside: usize = idle.ignored.iter().map(|i| i.count).sum();
    assert!(set_aside >= 2, "{:?}", idle.ignored);
}

#[test]
fn a_send_a_timed_out_select_gave_up_on_gets_a_hint_and_an_unread_send_none() {
    // go-fixtures: selecttimeout's worker sends after fetch's select took
    // its time.After case; handler's third replica sends where only two
    // replies are read, with no select: no hint for that one.
    let (out, report) = run_with_report(&common::fixtures(), &["./selecttimeout", "./handler"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let h = hints(&report, "TestFetchTimeout");
    assert_eq!(h.len(), 1, "{stdout}");
    assert!(
        h[0].starts_with("the select that receives from ch can take another case"),
        "{h:?}"
    );
    assert_eq!(hints(&report, "TestQuery"), ["-"], "{stdout}");
}
