//! `--check fds,processes,heap`: the fixtures of `go-fixtures/resources`
//! both ways (each leak found on its test, with its kind, description and
//! allocation line; every clean twin passes), without the checks only the
//! goroutine leaks counting, tests running in parallel, the leftovers
//! killed, and the settings. Run with the machine's Go, and by CI again
//! with Go 1.21 and 1.27 (`LEAKCHECK_TEST_GO`).

mod common;

use std::path::PathBuf;

use common::*;
use leakcheck::detect::resources::{Resource, ResourceKind};
use leakcheck::output::report::{Report, TestOutcome, TestReport};

fn module() -> PathBuf {
    fixtures().join("resources")
}

fn test<'r>(report: &'r Report, name: &str) -> &'r TestReport {
    common::test_report(report, name)
}

/// The line of `// want-heap: TEST` in the fixture's resources.go.
fn heap_marker(name: &str) -> u32 {
    let text = std::fs::read_to_string(module().join("resources.go")).unwrap();
    let i = text
        .lines()
        .position(|l| l.ends_with(&format!("// want-heap: {name}")))
        .unwrap_or_else(|| panic!("no want-heap marker for {name}"));
    i as u32 + 1
}

/// Whether process `pid` is still running (not gone, not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| leakcheck::detect::resources::procs::parse_stat(&t))
        .is_some_and(|p| p.state != 'Z')
}

/// The one resource two tests that ran at once left, reported on one of
/// them with the other named as its possible owner.
fn reported_once<'r>(report: &'r Report, tests: [&str; 2], stdout: &str) -> &'r Resource {
    let all: Vec<(&str, &Resource)> = tests
        .iter()
        .flat_map(|name| test(report, name).resources.iter().map(move |r| (*name, r)))
        .collect();
    assert_eq!(all.len(), 1, "reported once: {all:#?}\n{stdout}");
    let (owner, r) = all[0];
    let other = if owner == tests[0] {
        tests[1]
    } else {
        tests[0]
    };
    assert_eq!(r.ambiguous_with, [other], "{stdout}");
    r
}

fn kinds(t: &TestReport) -> Vec<ResourceKind> {
    t.resources.iter().map(|r| r.kind).collect()
}

#[test]
fn every_check_finds_its_fixture_and_passes_its_clean_twin() {
    let (out, report) = run_with_report(&module(), &["--check", "all", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let leaking = [
        "TestFileLeftOpen",
        "TestListenerLeftOpen",
        "TestBodyLeftOpen",
        "TestProcessNotWaited",
        "TestProcessOrphaned",
        "TestProcessDaemonized",
        "TestBufferHeld",
        "TestCacheGrows",
    ];
    for t in report.packages.iter().flat_map(|p| &p.tests) {
        let expect = if leaking.contains(&t.name.as_str()) {
            TestOutcome::Leak
        } else {
            TestOutcome::Pass
        };
        assert_eq!(t.outcome, expect, "{}: {t:#?}\n{stdout}", t.name);
        if expect == TestOutcome::Pass {
            assert!(t.resources.is_empty() && t.leaks.is_empty(), "{t:#?}");
        }
        // The tests run one after another: nothing is ambiguous.
        assert!(
            t.resources.iter().all(|r| r.ambiguous_with.is_empty()),
            "{t:#?}"
        );
    }
    assert_eq!(report.summary.tests, 18);

    let file = test(&report, "TestFileLeftOpen");
    assert_eq!(kinds(file), [ResourceKind::File]);
    let data = module().join("testdata/data.txt");
    assert!(
        file.resources[0]
            .description
            .starts_with(&format!("{} (fd ", data.display())),
        "{file:#?}"
    );
    assert!(file.leaks.is_empty());

    let listener = test(&report, "TestListenerLeftOpen");
    assert_eq!(kinds(listener), [ResourceKind::Socket]);
    let d = &listener.resources[0].description;
    assert!(
        d.starts_with("tcp 127.0.0.1:") && d.contains(" listening (fd "),
        "{d}"
    );

    // The body: its connection, and the transport's goroutines.
    let body = test(&report, "TestBodyLeftOpen");
    assert_eq!(kinds(body), [ResourceKind::Socket]);
    let d = &body.resources[0].description;
    assert!(
        d.starts_with("tcp 127.0.0.1:") && d.contains(" -> 127.0.0.1:"),
        "{d}"
    );
    let functions: Vec<&str> = body.leaks.iter().map(|l| l.function.as_str()).collect();
    assert!(
        functions.contains(&"net/http.(*persistConn).readLoop"),
        "{functions:?}"
    );

    // Processes: the one never waited for (and, from Go 1.23, the pidfd
    // its os.Process keeps), the one sh left behind, and the one setsid
    // took out of the process group after sh exited.
    for name in [
        "TestProcessNotWaited",
        "TestProcessOrphaned",
        "TestProcessDaemonized",
    ] {
        let t = test(&report, name);
        let procs: Vec<&Resource> = t
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Process)
            .collect();
        assert_eq!(procs.len(), 1, "{t:#?}");
        let (pid, command) = procs[0]
            .description
            .strip_prefix("pid ")
            .and_then(|d| d.split_once(": "))
            .unwrap_or_else(|| panic!("{:?}", procs[0].description));
        assert_eq!(command, "sleep 30");
        let pid: u32 = pid.parse().unwrap();
        for other in t
            .resources
            .iter()
            .filter(|r| r.kind != ResourceKind::Process)
        {
            assert!(
                other.kind == ResourceKind::Other && other.description.contains("pidfd"),
                "{other:?}"
            );
        }
        // Killed at the end, and said so.
        assert!(
            stdout.contains(&format!(
                "leakcheck: killed pid {pid} (sleep 30), left running by {name}\n"
            )),
            "{stdout}"
        );
        assert!(!running(pid), "pid {pid} still runs");
    }

    // Heap: the cache's 2 MiB, at its line; the 10 MiB a blocked
    // goroutine holds, at its allocation line, kept by the goroutine's
    // leak group (allocated before its go statement, in its creator).
    let near = |kept: u64, bytes: u64| (bytes..bytes + (256 << 10)).contains(&kept);
    let cache = test(&report, "TestCacheGrows");
    assert_eq!(kinds(cache), [ResourceKind::Heap], "{cache:#?}");
    let r = &cache.resources[0];
    assert!(near(r.bytes.unwrap(), 2 << 20), "{r:?}");
    let site = r.site.as_ref().expect("an allocation site");
    assert_eq!(
        (PathBuf::from(&site.file), site.line),
        (module().join("resources.go"), heap_marker("TestCacheGrows"))
    );
    assert!(cache.leaks.is_empty(), "{cache:#?}");
    let held = test(&report, "TestBufferHeld");
    assert!(held.resources.is_empty(), "{held:#?}");
    assert_eq!(held.leaks.len(), 1, "{held:#?}");
    let kept = &held.leaks[0].keeps_alive;
    assert_eq!(kept.len(), 1, "{held:#?}");
    assert!(near(kept[0].bytes, 10 << 20), "{kept:?}");
    assert_eq!(
        (
            kept[0].site.function.as_str(),
            PathBuf::from(&kept[0].site.file),
            kept[0].site.line
        ),
        (
            "leakcheck.test/resources.hold",
            module().join("resources.go"),
            heap_marker("TestBufferHeld")
        )
    );
    assert!(
        stdout.contains(&format!(
            "        keeps alive 10.0 MiB allocated at resources.go:{} in leakcheck.test/resources.hold\n",
            heap_marker("TestBufferHeld")
        )),
        "{stdout}"
    );
    // The human output shows them like goroutine leaks.
    assert!(
        stdout.contains("--- LEAK: TestFileLeftOpen (1 descriptor; checked in "),
        "{stdout}"
    );
    assert!(stdout.contains("allocated at  resources.go:"), "{stdout}");
    // The summary names the amount the report gives (about 2 MiB: the
    // profile's estimate).
    let cache_bytes = test(&report, "TestCacheGrows").resources[0].bytes.unwrap();
    assert!(
        stdout.contains(&format!(
            "    leakcheck.test/resources.TestCacheGrows: {} of heap\n",
            leakcheck::detect::resources::human_bytes(cache_bytes)
        )),
        "{stdout}"
    );
}

#[test]
fn without_checks_only_goroutines_count() {
    // The process fixtures are left out: unchecked, their sleeps would
    // outlive the run.
    let (out, report) = run_with_report(
        &module(),
        &[
            "./...",
            "--",
            "-run",
            "Test(File|Listener|Body|Buffer|Cache|Pool)",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    for t in report.packages.iter().flat_map(|p| &p.tests) {
        assert!(t.resources.is_empty(), "{t:#?}");
        let leaks = ["TestBodyLeftOpen", "TestBufferHeld"].contains(&t.name.as_str());
        let want = if leaks {
            TestOutcome::Leak
        } else {
            TestOutcome::Pass
        };
        assert_eq!(t.outcome, want, "{}", t.name);
    }
}

#[test]
fn a_cache_that_grows_leaks_in_every_run_and_the_threshold_is_a_setting() {
    let (_, report) = run_with_report(
        &module(),
        &[
            "--check",
            "heap",
            "./...",
            "--",
            "-run",
            "TestCache|TestBuffer|TestPool",
            "-count=3",
        ],
    );
    let grows = test(&report, "TestCacheGrows");
    assert_eq!((grows.runs, grows.leaked_runs), (3, 3), "{grows:#?}");
    assert_eq!(grows.resources.len(), 3);
    assert_eq!(test(&report, "TestCacheEvicts").outcome, TestOutcome::Pass);
    assert_eq!(test(&report, "TestPool").outcome, TestOutcome::Pass);
    assert_eq!(
        test(&report, "TestBufferReleased").outcome,
        TestOutcome::Pass
    );

    let (_, report) = run_with_report(
        &module(),
        &[
            "--check",
            "heap",
            "--heap-threshold",
            "4MiB",
            "./...",
            "--",
            "-run",
            "TestCacheGrows|TestBufferHeld",
        ],
    );
    assert_eq!(test(&report, "TestCacheGrows").outcome, TestOutcome::Pass);
    let held = test(&report, "TestBufferHeld");
    assert!(held.resources.is_empty(), "{held:#?}");
    assert_eq!(held.leaks[0].keeps_alive.len(), 1, "{held:#?}");
}

#[test]
fn parallel_tests_share_a_leak_and_a_paused_one_is_not_blamed() {
    let dir = go_module(&[
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
        (
            "p/p_test.go",
            r#"package p

import (
	"os"
	"testing"
)

var (
	keep   []*os.File
	opened = make(chan struct{})
)

func open(t *testing.T, name string) {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, f)
}

// Both run at once: A opens a file and lets B go on.
func TestParA(t *testing.T) {
	t.Parallel()
	open(t, "../a.txt")
	close(opened)
}

func TestParB(t *testing.T) {
	t.Parallel()
	<-opened
}

// Runs while the parallel tests wait in t.Parallel: exact.
func TestSeq(t *testing.T) {
	open(t, "../b.txt")
}
"#,
        ),
    ]);
    // Two at once whatever the machine's CPUs (-parallel defaults to
    // GOMAXPROCS; with 1, TestParB would wait for TestParA's end).
    let (out, report) = run_with_report(
        dir.path(),
        &["--check", "fds", "./...", "--", "-parallel", "2"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seq = test(&report, "TestSeq");
    assert_eq!(seq.resources.len(), 1, "{seq:#?}\n{stdout}");
    assert!(seq.resources[0].description.contains("/b.txt (fd "));
    assert!(seq.resources[0].ambiguous_with.is_empty(), "{seq:#?}");
    let r = reported_once(&report, ["TestParA", "TestParB"], &stdout);
    assert!(r.description.contains("/a.txt (fd "), "{r:?}");
    assert!(
        stdout.contains("owner ambiguous: may belong to"),
        "{stdout}"
    );
}

#[test]
fn an_idle_keep_alive_connection_passes_as_under_go_test_and_a_raw_one_left_open_does_not() {
    let dir = go_module(&[(
        "p/p_test.go",
        r#"package p

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Connections the server accepted.
var accepted atomic.Int32

// A server for the whole package, as a TestMain or a package variable
// keeps one: its listener is there before any test.
var srv = func() *httptest.Server {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			accepted.Add(1)
		}
	}
	s.Start()
	return s
}()

var kept net.Conn

// The body read and closed: http.DefaultTransport keeps the connection
// idle for 90 s, and go test passes.
func TestIdle(t *testing.T) {
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
}

// A connection of the test's own, never closed.
func TestRawConnLeft(t *testing.T) {
	before := accepted.Load()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	kept = c
	// The server's end is open once it accepted (on a busy machine, maybe
	// after the test's end without this wait).
	for accepted.Load() == before {
		time.Sleep(time.Millisecond)
	}
}
"#,
    )]);
    let (out, report) = run_with_report(dir.path(), &["--check", "fds", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let idle = test(&report, "TestIdle");
    assert_eq!(idle.outcome, TestOutcome::Pass, "{idle:#?}\n{stdout}");
    let raw = test(&report, "TestRawConnLeft");
    assert_eq!(raw.outcome, TestOutcome::Leak, "{raw:#?}\n{stdout}");
    // Both ends of the raw connection (the server's idle end is no
    // client's pooled connection).
    let sockets: usize = raw
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Socket && r.description.contains("(ESTABLISHED)"))
        .map(|r| r.count)
        .sum();
    assert_eq!(sockets, 2, "{raw:#?}");
}

#[test]
fn a_file_nothing_reaches_is_closed_by_the_collector_and_passes_every_time() {
    // Found unclosed or not depending on whether a garbage collection
    // happened to run: leakcheck runs one before judging descriptors.
    let dir = go_module(&[(
        "p/p_test.go",
        r#"package p

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDroppedFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("x")
}
"#,
    )]);
    for checks in ["fds", "fds,heap"] {
        for _ in 0..3 {
            let (out, report) = run_with_report(dir.path(), &["--check", checks, "./..."]);
            let t = test(&report, "TestDroppedFile");
            assert_eq!(
                t.outcome,
                TestOutcome::Pass,
                "{checks}: {t:#?}\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

#[test]
fn heap_kept_by_parallel_tests_is_judged_once_they_all_ended_and_names_both() {
    let dir = go_module(&[(
        "p/p_test.go",
        r#"package p

import (
	"runtime"
	"testing"
)

var (
	kept      [][]byte
	allocated = make(chan struct{})
	released  = make(chan struct{})
)

// TestKeep keeps 6 MiB in a package variable, while TestWork, beside
// it, holds 12 MiB it lets go before it ends.
func TestKeep(t *testing.T) {
	t.Parallel()
	kept = append(kept, make([]byte, 6<<20))
	close(allocated)
	<-released
}

func TestWork(t *testing.T) {
	t.Parallel()
	work := make([]byte, 12<<20)
	<-allocated
	runtime.KeepAlive(work)
	close(released)
}

// Both allocate while they run and keep nothing.
func TestBusyA(t *testing.T) {
	t.Parallel()
	b := make([]byte, 8<<20)
	runtime.KeepAlive(b)
}

func TestBusyB(t *testing.T) {
	t.Parallel()
	b := make([]byte, 8<<20)
	runtime.KeepAlive(b)
}
"#,
    )]);
    let run = |pattern: &str| {
        let (out, report) = run_with_report(
            dir.path(),
            &[
                "--check",
                "heap",
                "./...",
                "--",
                "-parallel",
                "2",
                "-run",
                pattern,
            ],
        );
        (String::from_utf8_lossy(&out.stdout).into_owned(), report)
    };
    let (stdout, report) = run("TestKeep|TestWork");
    let r = reported_once(&report, ["TestKeep", "TestWork"], &stdout);
    assert_eq!(r.kind, ResourceKind::Heap);
    let bytes = r.bytes.unwrap();
    assert!(
        ((6 << 20)..(6 << 20) + (256 << 10)).contains(&bytes),
        "{r:?}"
    );
    let site = r.site.as_ref().expect("a site");
    assert_eq!(
        (site.function.as_str(), site.line),
        ("example.com/m/p.TestKeep", 18)
    );

    let (stdout, report) = run("TestBusy");
    for name in ["TestBusyA", "TestBusyB"] {
        let t = test(&report, name);
        assert_eq!(t.outcome, TestOutcome::Pass, "{t:#?}\n{stdout}");
    }
}

#[test]
fn settings_come_from_the_command_line_or_leakcheck_toml() {
    let out = leakcheck()
        .current_dir(module())
        .args(["--check", "fds,files", "./..."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown check \"files\""), "{stderr}");

    let dir = go_module(&[
        ("leakcheck.toml", "checks = [\"fds\"]\n"),
        (
            "f/f_test.go",
            "package f\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nvar keep *os.File\n\nfunc TestOpen(t *testing.T) {\n\tkeep, _ = os.Open(\"f_test.go\")\n}\n\n//leakcheck:ignore kept open on purpose\nfunc TestOpenIgnored(t *testing.T) {\n\tf, _ := os.Open(\"f_test.go\")\n\tkeep2 = f\n}\n\nvar keep2 *os.File\n",
        ),
    ]);
    let (out, report) = run_with_report(dir.path(), &["./..."]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(kinds(test(&report, "TestOpen")), [ResourceKind::File]);
    let ignored = test(&report, "TestOpenIgnored");
    assert_eq!(ignored.outcome, TestOutcome::Pass, "{ignored:#?}");
    assert_eq!(ignored.ignored.iter().map(|i| i.count).sum::<usize>(), 1);
    let config = leakcheck()
        .current_dir(dir.path())
        .arg("config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&config.stdout);
    assert!(
        text.contains("checks = [\"goroutines\", \"fds\"]"),
        "{text}"
    );
}
