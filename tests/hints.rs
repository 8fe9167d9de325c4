//! Fix hints: given for the shapes that are certain, never for their
//! look-alikes.

mod common;

use common::{go_module, run_with_report};
use leakcheck::output::report::TestOutcome;

/// Runs leakcheck in `dir` with `args`, which must find a leak (exit 1):
/// its stdout and report.
fn leaking(dir: &std::path::Path, args: &[&str]) -> (String, leakcheck::output::report::Report) {
    let (out, report) = run_with_report(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    (stdout, report)
}

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
fn hints(report: &leakcheck::output::report::Report, test: &str) -> Vec<String> {
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
    let (stdout, report) = leaking(dir.path(), &["./..."]);
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
    let (stdout, report) = leaking(dir.path(), &["./..."]);
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
    let (stdout, report) = leaking(&common::fixtures(), &["./selecttimeout", "./handler"]);
    let h = hints(&report, "TestFetchTimeout");
    assert_eq!(h.len(), 1, "{stdout}");
    assert!(
        h[0].starts_with("the select that receives from ch can take another case"),
        "{h:?}"
    );
    assert_eq!(hints(&report, "TestQuery"), ["-"], "{stdout}");
}

/// go-fixtures/hints: the fixtures of the hints below (a module of its
/// own, outside go-fixtures' counts).
fn hint_fixtures() -> std::path::PathBuf {
    common::fixtures().join("hints")
}

/// The line (1-based) of `file` under `dir` that holds `marker`, the only
/// one that does.
fn marked(dir: &std::path::Path, file: &str, marker: &str) -> u32 {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.ends_with(marker))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{marker} in {file}: {lines:?}");
    lines[0] as u32
}

/// `test`'s only leak group: its blocking file's name, line and hint.
fn only_leak(
    report: &leakcheck::output::report::Report,
    test: &str,
) -> (String, u32, Option<String>) {
    let t = common::test_report(report, test);
    assert_eq!(t.leaks.len(), 1, "{test}: {:#?}", t.leaks);
    let l = &t.leaks[0];
    let name = l.file.rsplit('/').next().unwrap().to_string();
    (name, l.line, l.hint.clone())
}

#[test]
fn a_producer_blocked_after_its_range_consumer_returned_gets_a_hint_and_look_alikes_none() {
    // go-fixtures/rangeconsumer: produce's send, started by firstTwo, whose
    // consume ranges over the channel and breaks after two items.
    let (stdout, report) = leaking(&common::fixtures(), &["./rangeconsumer"]);
    let (file, line, hint) = only_leak(&report, "TestFirstTwo");
    assert_eq!((file.as_str(), line), ("rangeconsumer.go", 17), "{stdout}");
    let hint = hint.expect("a hint");
    assert!(
        hint.starts_with("the consumer's for-range loop over in stops early (break/return)"),
        "{hint}"
    );
    assert!(hint.contains("a done channel or a context"), "{hint}");
    assert!(
        stdout.contains("        hint        the consumer's for-range loop over in"),
        "{stdout}"
    );

    // go-fixtures/hints/producers: the test's own loop breaks (a hint);
    // a consumer stuck inside its loop, and a channel read twice without
    // a range, leak without one.
    let dir = hint_fixtures();
    let (stdout, report) = leaking(&dir, &["./producers"]);
    let file = "producers/producers_test.go";
    let (_, line, hint) = only_leak(&report, "TestFirstMatch");
    assert_eq!(line, marked(&dir, file, "// hint: TestFirstMatch"));
    assert!(
        hint.as_deref()
            .is_some_and(|h| h.starts_with("the consumer's for-range loop over ch stops early")),
        "{hint:?}\n{stdout}"
    );
    let stuck = &common::test_report(&report, "TestConsumerStuck").leaks;
    assert_eq!(stuck.len(), 2, "{stuck:#?}");
    let send = stuck.iter().find(|l| l.state == "chan send").unwrap();
    assert_eq!(
        send.line,
        marked(&dir, file, "// no hint: TestConsumerStuck")
    );
    assert!(stuck.iter().all(|l| l.hint.is_none()), "{stuck:#?}");
    let (_, line, hint) = only_leak(&report, "TestNobodyRanges");
    assert_eq!(line, marked(&dir, file, "// no hint: TestNobodyRanges"));
    assert_eq!(hint, None);
}

#[test]
fn a_ticker_loop_with_no_way_out_gets_a_hint_and_loops_with_an_exit_none() {
    // go-fixtures/ticker: `for range ticker.C`, the ticker never stopped.
    let (stdout, report) = leaking(&common::fixtures(), &["./ticker"]);
    let (file, line, hint) = only_leak(&report, "TestPollerLeak");
    assert_eq!((file.as_str(), line), ("ticker.go", 25), "{stdout}");
    let hint = hint.expect("a hint");
    assert!(
        hint.starts_with(
            "this loop over ticker.C never ends (Stop does not close a ticker's channel)"
        ),
        "{hint}"
    );
    assert!(hint.contains("defer ticker.Stop()"), "{hint}");

    // go-fixtures/hints/tickers: `<-tk.C` in a `for {}` loop (a hint); a
    // loop that returns on a quit channel never closed, or on a flag never
    // set, leaks without one.
    let dir = hint_fixtures();
    let (stdout, report) = leaking(&dir, &["./tickers"]);
    let file = "tickers/tickers_test.go";
    let (_, line, hint) = only_leak(&report, "TestReceiveLoop");
    assert_eq!(line, marked(&dir, file, "// hint: TestReceiveLoop"));
    assert!(
        hint.as_deref()
            .is_some_and(|h| h.starts_with("this loop over tk.C never ends")),
        "{hint:?}\n{stdout}"
    );
    for test in ["TestQuitNeverClosed", "TestFlagNeverSet"] {
        let (_, line, hint) = only_leak(&report, test);
        assert_eq!(line, marked(&dir, file, &format!("// no hint: {test}")));
        assert_eq!(hint, None, "{test}\n{stdout}");
    }
}

#[test]
fn a_pool_never_waited_for_or_released_gets_a_hint_with_chains_and_look_alikes_none() {
    // go-fixtures/hints/pools, with the fixture's own pool library
    // (workers: a Group to Wait for; a Pool whose constructor and Submit
    // start goroutines, to Release, declared on the type it embeds, in
    // another file). The test's line (via) comes from creation chains.
    let dir = hint_fixtures();
    let (stdout, report) = leaking(&dir, &["--chains", "./pools"]);
    let file = "pools/pools_test.go";
    // Each group's via line and hint, by via line.
    let groups = |test: &str| {
        let mut groups: Vec<(u32, Option<String>)> = common::test_report(&report, test)
            .leaks
            .iter()
            .map(|l| {
                let via = l.via.as_ref().expect("a via line");
                assert!(via.file.ends_with(file), "{via:?}");
                assert_eq!(l.count, 1, "{l:?}");
                (via.line, l.hint.clone())
            })
            .collect();
        groups.sort();
        groups
    };
    let wait = "g.Wait() is never called, so the Group's goroutines outlive the test";
    let release = "p.Release() is never called, so the Pool's goroutines outlive the test";
    for (test, expected) in [
        ("TestGroupNeverWaited", vec![("", wait)]),
        (
            "TestPoolNeverReleased",
            vec![(" (purge)", release), (" (worker)", release)],
        ),
    ] {
        let got = groups(test);
        assert_eq!(got.len(), expected.len(), "{test}: {got:?}\n{stdout}");
        for ((line, hint), (marker, text)) in got.iter().zip(expected) {
            let marker = format!("// hint: {test}{marker}");
            assert_eq!(*line, marked(&dir, file, &marker), "{test}");
            assert!(
                hint.as_deref().is_some_and(|h| h.starts_with(text)),
                "{test}: {hint:?}\n{stdout}"
            );
        }
    }
    assert!(
        stdout.contains("        hint        g.Wait() is never called"),
        "{stdout}"
    );
    // Released, but its task blocks; handed on to other code: no hint.
    for (test, markers) in [
        ("TestPoolReleasedTaskBlocked", vec![""]),
        ("TestPoolHandedOn", vec![" (purge)", " (worker)"]),
    ] {
        let got = groups(test);
        let lines: Vec<u32> = markers
            .iter()
            .map(|m| marked(&dir, file, &format!("// no hint: {test}{m}")))
            .collect();
        assert_eq!(
            got,
            lines.into_iter().map(|l| (l, None)).collect::<Vec<_>>(),
            "{stdout}"
        );
    }

    // Without chains the test's line is unknown: no pool hint.
    let (out, plain) = run_with_report(&dir, &["./pools"]);
    assert_eq!(out.status.code(), Some(1));
    let hinted: Vec<_> = plain
        .packages
        .iter()
        .flat_map(|p| &p.tests)
        .flat_map(|t| &t.leaks)
        .filter_map(|l| l.hint.as_ref())
        .collect();
    assert!(hinted.is_empty(), "{hinted:?}");
}
