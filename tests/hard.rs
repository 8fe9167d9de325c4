//! What goleak cannot catch: hung and deadlocked tests, crashed binaries,
//! GC-proven leaks and flaky leaks, on the `go-fixtures/hard` module. Each
//! of its packages states every test's outcome in a `// want:` line; the
//! tests here check all of them, that the tests after a hang or crash ran
//! (in a fresh process), and what the reports say.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use leakcheck::output::report::{PackageOutcome, Report, TestOutcome, TestReport};

const MODULE: &str = "leakcheck.test/hard";

fn hard() -> PathBuf {
    fixtures().join("hard")
}

/// package → (test → wanted outcome), from each package's `// want:` line.
fn wanted() -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(hard()).unwrap() {
        let dir = entry.unwrap().path();
        // rare's tests are built only with -tags rare (tests/stress.rs).
        if dir.ends_with("rare") {
            continue;
        }
        let Ok(doc) = std::fs::read_to_string(dir.join("doc.go")) else {
            continue;
        };
        let line = doc
            .lines()
            .find_map(|l| l.strip_prefix("// want: "))
            .expect("a // want: line");
        let tests = line
            .split_whitespace()
            .map(|p| {
                let (t, o) = p.split_once('=').unwrap();
                (t.to_string(), o.to_string())
            })
            .collect();
        out.insert(
            format!("{MODULE}/{}", dir.file_name().unwrap().to_string_lossy()),
            tests,
        );
    }
    out
}

fn test<'r>(report: &'r Report, pkg: &str, name: &str) -> &'r TestReport {
    report
        .packages
        .iter()
        .find(|p| p.import_path == format!("{MODULE}/{pkg}"))
        .and_then(|p| p.tests.iter().find(|t| t.name == name))
        .unwrap_or_else(|| panic!("{pkg}.{name} not in the report"))
}

/// The test file of a crowded package: its TestMain keeps 1,500
/// goroutines parked while `tests` run (more than the helper's threshold
/// from which checks are deferred); it imports os, testing and `imports`.
fn crowded_package(imports: &[&str], tests: &str) -> String {
    let imports: String = ["os", "testing"]
        .iter()
        .chain(imports)
        .map(|i| format!("\t{i:?}\n"))
        .collect();
    format!(
        "package p\n\nimport (\n{imports})\n\nfunc TestMain(m *testing.M) {{\n\tstop := make(chan struct{{}})\n\tfor i := 0; i < 1500; i++ {{\n\t\tgo func() {{ <-stop }}()\n\t}}\n\tos.Exit(m.Run())\n}}\n\n{tests}"
    )
}

/// The line of `src` marked `// leak`.
fn leak_line(src: &str) -> u32 {
    1 + src
        .lines()
        .position(|l| l.ends_with("// leak"))
        .expect("a // leak line") as u32
}

#[test]
fn every_test_ends_as_its_package_says_and_the_rest_still_run() {
    let before = tree_state(&hard());
    // Proven deadlocks are caught in about a second where the leak profile
    // exists (Go 1.26+); elsewhere the test timeout catches them.
    let (out, report) = run_with_report(&hard(), &["--grace", "300ms", "--test-timeout", "8s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let wanted = wanted();
    assert_eq!(wanted.len(), 9);
    for (pkg, tests) in &wanted {
        let p = report
            .packages
            .iter()
            .find(|p| &p.import_path == pkg)
            .unwrap_or_else(|| panic!("{pkg} missing"));
        let got: Vec<(String, TestOutcome)> = p
            .tests
            .iter()
            .map(|t| (t.name.clone(), t.outcome))
            .collect();
        assert_eq!(got.len(), tests.len(), "{pkg}: {got:?}\n{stdout}");
        for ((name, want), (got_name, got)) in tests.iter().zip(&got) {
            assert_eq!(name, got_name, "{pkg}: tests in source order");
            match want.as_str() {
                "flaky" => assert!(
                    matches!(got, TestOutcome::Pass | TestOutcome::Leak),
                    "{pkg}.{name}: {got:?}"
                ),
                w => assert_eq!(got.as_str(), w, "{pkg}.{name}\n{stdout}"),
            }
        }
        let crashed = tests.iter().any(|(_, o)| o == "crash");
        let expected = if crashed {
            PackageOutcome::Crash
        } else if tests.iter().all(|(_, o)| o == "pass") {
            PackageOutcome::Pass
        } else {
            p.outcome // flaky: either
        };
        assert_eq!(p.outcome, expected, "{pkg}");
    }

    // Crashes: the message and the crashing goroutine come first.
    let details = |pkg, name| test(&report, pkg, name).details.clone().unwrap_or_default();
    assert!(
        details("panicgoroutine", "TestPanicInGoroutine").starts_with("panic: boom in goroutine")
    );
    assert!(details("panicgoroutine", "TestPanicInGoroutine").contains("\n\ngoroutine "));
    assert!(details("mapwrites", "TestConcurrentMapWrites")
        .starts_with("fatal error: concurrent map writes"));
    assert!(details("panictest", "TestPanicInTest").starts_with("panic: boom in test"));
    assert!(
        details("osexit", "TestOsExit3").contains("status 3"),
        "{}",
        details("osexit", "TestOsExit3")
    );
    assert!(
        stdout.contains("--- CRASH: TestPanicInGoroutine"),
        "{stdout}"
    );

    // Hangs: the test's own goroutine and every goroutine it started,
    // grouped, and a deadlock verdict.
    let hang = test(&report, "hangrecv", "TestHangRecv");
    assert_eq!(hang.deadlock, Some(true));
    let states: Vec<&str> = hang.leaks.iter().map(|l| l.state.as_str()).collect();
    assert_eq!(states, vec!["chan receive", "sync.Mutex.Lock"]);
    assert!(
        hang.leaks[0].created_by.is_none(),
        "the test's own goroutine comes first"
    );
    assert!(hang.leaks[1]
        .created_by
        .as_ref()
        .unwrap()
        .file
        .ends_with("hangrecv/hangrecv_test.go"));
    let abba = test(&report, "abba", "TestABBADeadlock");
    assert_eq!(abba.deadlock, Some(true));
    assert_eq!(
        abba.leaks.iter().map(|l| l.count).sum::<usize>(),
        3,
        "{:?}",
        abba.leaks
    );
    assert_eq!(
        test(&report, "doublelock", "TestLockTwice").leaks[0].state,
        "sync.Mutex.Lock"
    );
    assert!(stdout.contains("--- HANG: TestHangRecv"), "{stdout}");
    assert!(stdout.contains("resuming the remaining tests"), "{stdout}");
    if go_minor() >= 26 {
        // Proven by the GC long before the 8s test timeout.
        assert!(
            hang.details.as_deref().unwrap().contains("leak profile"),
            "{:?}",
            hang.details
        );
        assert!(hang.leaks[0].proven);
    }
    assert_eq!(before, tree_state(&hard()), "the fixtures' tree changed");
}

#[test]
fn proven_leaks_are_reported_without_the_grace_period() {
    // With a long grace period, a leak the GC proves is reported at once;
    // a ticker loop (reachable through the runtime's timers) is not
    // proven and waits. Without the leak profile nothing is proven. (The
    // times are leakcheck's whole runs: a test's duration, as `go test`
    // would show it, leaves leakcheck's waiting out.)
    let started = std::time::Instant::now();
    let (_, report) = run_with_report(
        &fixtures(),
        &["--grace", "20s", "./handler", "--", "-run", "TestQuery$"],
    );
    let took = started.elapsed();
    let t = &report.packages[0].tests[0];
    assert_eq!(t.outcome, TestOutcome::Leak);
    if go_minor() >= 26 {
        assert!(t.leaks[0].proven, "{:?}", t.leaks);
        // A generous margin: the verdict comes in milliseconds.
        assert!(took.as_secs() < 15, "took {took:?}");
    } else {
        assert!(!t.leaks[0].proven);
        assert!(took.as_secs() >= 20, "took {took:?}");
    }
    assert!(t.elapsed_ms < 1000.0, "{}", t.elapsed_ms);
    let started = std::time::Instant::now();
    let (_, report) = run_with_report(
        &fixtures(),
        &[
            "--grace",
            "300ms",
            "./ticker",
            "--",
            "-run",
            "TestPollerLeak",
        ],
    );
    let took = started.elapsed();
    let t = &report.packages[0].tests[0];
    assert_eq!(t.outcome, TestOutcome::Leak);
    assert!(
        !t.leaks[0].proven,
        "a ticker loop is not provably leaked: {:?}",
        t.leaks
    );
    assert!(
        took.as_millis() >= 300,
        "unproven leaks wait out the grace period: {took:?}"
    );
}

#[test]
fn flaky_leaks_are_counted_across_runs() {
    let (out, report) = run_with_report(
        &hard(),
        &[
            "--grace",
            "100ms",
            "./flaky",
            "--",
            "-count=20",
            "-run",
            "TestFlakyLeak|TestFlakyFixed",
        ],
    );
    let leak = test(&report, "flaky", "TestFlakyLeak");
    assert_eq!(leak.runs, 20);
    // It leaks in about half the runs: never in none or all of 20.
    assert!(leak.leaked_runs > 0 && leak.leaked_runs < 20, "{leak:?}");
    assert_eq!(leak.outcome, TestOutcome::Leak);
    assert_eq!(
        leak.leaks.len(),
        1,
        "one creation site, reported once: {:?}",
        leak.leaks
    );
    assert_eq!(leak.leaks[0].count as u32, leak.leaked_runs);
    let fixed = test(&report, "flaky", "TestFlakyFixed");
    assert_eq!(
        (fixed.runs, fixed.leaked_runs, fixed.outcome),
        (20, 0, TestOutcome::Pass)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "TestFlakyLeak leaked in {} of 20 runs",
            leak.leaked_runs
        )),
        "{stdout}"
    );
}

#[test]
fn until_leak_stops_repeating_a_test_at_its_first_leak() {
    let (_, report) = run_with_report(
        &hard(),
        &[
            "--grace",
            "100ms",
            "--until-leak",
            "60",
            "./flaky",
            "--",
            "-run",
            "TestFlakyLeak|TestFlakyFixed",
        ],
    );
    let leak = test(&report, "flaky", "TestFlakyLeak");
    assert_eq!(leak.leaked_runs, 1, "{leak:?}");
    assert!(
        leak.runs >= 1 && leak.runs < 60,
        "stopped at the first leak: {leak:?}"
    );
    assert_eq!(leak.outcome, TestOutcome::Leak);
    let fixed = test(&report, "flaky", "TestFlakyFixed");
    assert_eq!((fixed.runs, fixed.outcome), (60, TestOutcome::Pass));
}

#[test]
fn race_builds_work_with_hangs_crashes_and_leaks() {
    let (out, report) = run_with_report(
        &hard(),
        &[
            "--grace",
            "300ms",
            "--test-timeout",
            "8s",
            "./hangrecv",
            "./panicgoroutine",
            "./flaky",
            "--",
            "-race",
            "-count=2",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        test(&report, "hangrecv", "TestHangRecv").outcome,
        TestOutcome::Hang
    );
    assert_eq!(
        test(&report, "hangrecv", "TestHangAfter2").outcome,
        TestOutcome::Pass
    );
    assert_eq!(
        test(&report, "panicgoroutine", "TestPanicInGoroutine").outcome,
        TestOutcome::Crash
    );
    assert_eq!(test(&report, "panicgoroutine", "TestPanicGoAfter1").runs, 2);
    assert_eq!(test(&report, "flaky", "TestFlakyFixed").runs, 2);
}

#[test]
fn verbose_output_says_once_when_the_leak_profile_is_missing() {
    let out = leakcheck()
        .current_dir(fixtures())
        .args(["-v", "./clean", "./grandchild"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = stdout.matches("has no goroutine leak profile").count();
    assert_eq!(said, if go_minor() >= 26 { 0 } else { 1 }, "{stdout}");
}

#[test]
fn with_deferred_checks_a_crash_never_turns_a_leak_into_a_pass() {
    // A crowded binary (1,500 goroutines) whose tests leak and end fast,
    // then one calls os.Exit: with checks deferred (the default there) the runs that ended
    // without a dump may not be judged before the binary is gone. Each
    // leaking test must then be reported as leaked or as not judged
    // (failed), never as passed.
    let mut src = crowded_package(&[], "func leak() { go func() { select {} }() }\n");
    for i in 0..10 {
        src.push_str(&format!(
            "\nfunc TestLeak{i:02}(t *testing.T) {{ leak() }}\n"
        ));
    }
    src.push_str("\nfunc TestZExit(t *testing.T) { os.Exit(3) }\n");
    let dir = go_module(&[("p/p_test.go", &src)]);
    let (out, report) = run_with_report(dir.path(), &["--grace", "300ms"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let tests = &report.packages[0].tests;
    assert_eq!(tests.len(), 11, "{stdout}");
    for t in tests {
        let want = if t.name == "TestZExit" {
            vec![TestOutcome::Crash]
        } else {
            vec![TestOutcome::Leak, TestOutcome::Fail]
        };
        assert!(
            want.contains(&t.outcome),
            "{}: {:?}\n{stdout}",
            t.name,
            t.outcome
        );
    }
}

#[test]
fn tests_whose_subtests_wait_for_a_parallel_slot_or_make_progress_are_not_hung() {
    // -parallel 1 and --test-timeout 3s. TestBusy's four parallel
    // subtests run one after another, a second each: TestBusy takes 4s
    // but never 3s without progress. Then TestAParent's subtests wait
    // while TestZ1..3 hold the only slot for a second each: it waits for
    // them, it does not run. go test passes all; both were reported hung
    // (found on centrifuge).
    let src = r#"package p

import (
	"fmt"
	"testing"
	"time"
)

func TestAParent(t *testing.T) {
	t.Parallel()
	for i := 0; i < 3; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) { t.Parallel() })
	}
}

func TestBusy(t *testing.T) {
	for i := 0; i < 4; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) { t.Parallel(); time.Sleep(time.Second) })
	}
}

func TestZ1(t *testing.T) { t.Parallel(); time.Sleep(time.Second) }
func TestZ2(t *testing.T) { t.Parallel(); time.Sleep(time.Second) }
func TestZ3(t *testing.T) { t.Parallel(); time.Sleep(time.Second) }
"#;
    let dir = go_module(&[("p/p_test.go", src)]);
    let (out, report) = run_with_report(
        dir.path(),
        &["--test-timeout", "3s", "./...", "--", "-parallel", "1"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(report.summary.hung, 0, "{stdout}");
    assert_eq!(report.summary.passed, 5, "{stdout}");
}

#[test]
fn the_time_checks_take_does_not_count_against_go_tests_timeout() {
    // Five tests of 100ms each, whose goroutines outlive them by 600ms:
    // their checks wait 3s in all, the tests take 0.5s, -timeout is 2s.
    // go test passes; the binary's alarm went off under leakcheck (found
    // on centrifuge with --check=all: "test timed out after 10m0s").
    let src = format!(
        "package p\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n{}",
        r#"
func TestLingers0(t *testing.T) {
	go func() { time.Sleep(600 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
}

func TestLingers1(t *testing.T) {
	go func() { time.Sleep(600 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
}

func TestLingers2(t *testing.T) {
	go func() { time.Sleep(600 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
}

func TestLingers3(t *testing.T) {
	go func() { time.Sleep(600 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
}

func TestLingers4(t *testing.T) {
	go func() { time.Sleep(600 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
}
"#
    );
    let dir = go_module(&[("p/p_test.go", &src)]);
    let (out, report) = run_with_report(dir.path(), &["./...", "--", "-timeout", "2s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(report.summary.passed, 5, "{stdout}");
    assert!(!stdout.contains("test timed out"), "{stdout}");
}

#[test]
fn in_a_crowded_process_fuzz_targets_and_examples_are_judged_as_tests_are() {
    // Fuzz targets run after the tests, under a root of their own that
    // no round end follows: a run deferred there (checks are deferred in
    // a crowded process) was never judged, and the fuzz target failed
    // ("could not judge") where go test passes it. Found on centrifuge.
    let src = crowded_package(
        &["fmt"],
        "func TestPlain(t *testing.T) {}

func FuzzLeaks(f *testing.F) {
	f.Add([]byte(\"a\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		go func() { select {} }() // leak
	})
}

// Last: no run ends after it to judge it with.
func FuzzClean(f *testing.F) {
	f.Add([]byte(\"a\"))
	f.Add([]byte(\"b\"))
	f.Fuzz(func(t *testing.T, b []byte) { _ = len(b) })
}

func Example() {
	fmt.Println(\"hi\")
	// Output: hi
}
",
    );
    let dir = go_module(&[("p/p_test.go", &src)]);
    let (out, report) = run_with_report(dir.path(), &["--grace", "300ms"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let outcome = |name: &str| {
        report.packages[0]
            .tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"))
            .outcome
    };
    assert_eq!(outcome("TestPlain"), TestOutcome::Pass, "{stdout}");
    assert_eq!(outcome("FuzzClean"), TestOutcome::Pass, "{stdout}");
    assert_eq!(outcome("Example"), TestOutcome::Pass, "{stdout}");
    assert_eq!(outcome("FuzzLeaks"), TestOutcome::Leak, "{stdout}");
    assert!(!stdout.contains("could not judge"), "{stdout}");
    assert!(
        stdout.contains(&format!("p_test.go:{}", leak_line(&src))),
        "{stdout}"
    );
}

#[test]
fn in_a_crowded_process_an_unlabelled_leak_is_blamed_on_its_test_alone() {
    // A crowded binary (1,500 goroutines) where a test leaks a goroutine
    // that carries no label: a time.AfterFunc callback, started by the
    // runtime's timers, blocked for good. With checks deferred (the
    // default), the test before it ends without a dump, but with no more
    // goroutines alive than at its start, so it is no candidate; the
    // leaking test ends with more, so it gets a dump at its end. Every
    // round's leak is reported on TestTimerLeak alone, as without
    // deferred checks.
    let src = crowded_package(
        &["time"],
        "func TestTimerFirst(t *testing.T) {
\tdone := make(chan bool)
\tgo func() { done <- true }()
\t<-done
}

func TestTimerLeak(t *testing.T) {
\tstarted := make(chan struct{})
\tnever := make(chan int)
\ttime.AfterFunc(0, func() {
\t\tclose(started)
\t\t<-never // leak
\t})
\t<-started
}

func TestTimerWait(t *testing.T) { time.Sleep(20 * time.Millisecond) }
",
    );
    let line = leak_line(&src);
    let dir = go_module(&[("p/p_test.go", &src)]);
    const ROUNDS: usize = 4;
    let count = format!("-count={ROUNDS}");
    for no_defer in [false, true] {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut args = vec!["--grace", "300ms"];
        if no_defer {
            args.push("--no-defer-checks");
        }
        args.extend(["--", count.as_str(), "./..."]);
        let (out, report) = run_command_with_report(
            leakcheck()
                .current_dir(dir.path())
                .env(leakcheck::detect::listener::PROTOCOL_LOG_ENV, log.path()),
            &args,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        let log = std::fs::read_to_string(log.path()).unwrap();
        let tests = &report.packages[0].tests;
        assert_eq!(tests.len(), 3, "{stdout}");
        for t in tests {
            assert_eq!(t.runs as usize, ROUNDS, "{}", t.name);
            if t.name != "TestTimerLeak" {
                assert!(t.leaks.is_empty(), "{}: {:?}\n{stdout}", t.name, t.leaks);
                continue;
            }
            assert_eq!(t.leaked_runs as usize, ROUNDS, "{stdout}");
            assert_eq!(t.leaks.len(), 1, "{stdout}");
            let l = &t.leaks[0];
            assert_eq!((l.line, l.count), (line, ROUNDS), "{l:?}");
            assert!(l.ambiguous_with.is_empty(), "{l:?}\n{log}");
        }
        // TestTimerFirst's runs are judged later when checks are
        // deferred (Go 1.26+: labels in dumps), never otherwise.
        let first_deferred = log
            .lines()
            .filter(|l| l.starts_with("end~ TestTimerFirst#"))
            .count();
        if no_defer || go_minor() < 26 {
            assert_eq!(first_deferred, 0, "{log}");
        } else {
            assert!(first_deferred > 0, "{log}");
            assert!(!log.lines().any(|l| l == "exact"), "{log}");
        }
    }
}

#[test]
fn an_unlabelled_goroutine_the_counts_cannot_place_makes_later_runs_dumped() {
    // Two parallel tests in a crowded binary, one leaking a timer's
    // callback (no label): they run together, so counts say nothing and
    // either may own it, with or without dumps. A sequential test before
    // them starts a goroutine, so they start without a dump (`start~`):
    // with checks deferred, leakcheck then asks the helper to dump every
    // later run (`exact`).
    let src = crowded_package(
        &["time"],
        "func TestFirst(t *testing.T) {
\tdone := make(chan bool)
\tgo func() { done <- true }()
\t<-done
}

func TestParallelWait(t *testing.T) {
\tt.Parallel()
\ttime.Sleep(20 * time.Millisecond)
}

type waiter struct{ started, never chan struct{} }

func (w *waiter) wait() {
\tclose(w.started)
\t<-w.never
}

func TestParallelLeak(t *testing.T) {
\tt.Parallel()
\tw := &waiter{make(chan struct{}), make(chan struct{})}
\t// A method value: the callback's stack names no test.
\ttime.AfterFunc(0, w.wait)
\t<-w.started
}
",
    );
    let dir = go_module(&[("p/p_test.go", &src)]);
    let log = tempfile::NamedTempFile::new().unwrap();
    let (out, report) = run_command_with_report(
        leakcheck()
            .current_dir(dir.path())
            .env(leakcheck::detect::listener::PROTOCOL_LOG_ENV, log.path()),
        &["--grace", "300ms", "--", "-count=3", "./..."],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let log = std::fs::read_to_string(log.path()).unwrap();
    // Each round's goroutine is reported once, by one parallel test,
    // naming the other (TestFirst's counts rule it out).
    let mut reported = 0;
    for t in &report.packages[0].tests {
        for l in &t.leaks {
            let other = match t.name.as_str() {
                "TestParallelWait" => "TestParallelLeak",
                "TestParallelLeak" => "TestParallelWait",
                _ => panic!("{}: {l:?}\n{stdout}", t.name),
            };
            assert_eq!(l.ambiguous_with, vec![other.to_string()], "{l:?}");
            reported += l.count;
        }
    }
    assert_eq!(reported, 3, "{stdout}");
    if go_minor() >= 26 {
        assert!(log.lines().any(|l| l == "exact"), "{log}");
        // The helper reads it between two messages: the last round's
        // runs are dumped at their end.
        for run in ["TestParallelWait#8", "TestParallelLeak#9"] {
            assert!(
                log.lines().any(|l| l.starts_with(&format!("end {run} "))),
                "{run}: {log}"
            );
        }
    }
}

#[test]
fn until_leak_stops_at_the_first_leak_in_a_crowded_process_too() {
    // Checks are deferred there; each round (-count) ends with a check
    // that judges its runs before the next round asks whether to run
    // the test again.
    let src = crowded_package(
        &[],
        "func TestLeaky(t *testing.T) { go func() { select {} }() }

func TestClean(t *testing.T) {
\tdone := make(chan bool)
\tgo func() { done <- true }()
\t<-done
}
",
    );
    let dir = go_module(&[("p/p_test.go", &src)]);
    let (out, report) = run_with_report(dir.path(), &["--grace", "300ms", "--until-leak", "20"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let tests = &report.packages[0].tests;
    let test = |name: &str| tests.iter().find(|t| t.name == name).unwrap();
    let leaky = test("TestLeaky");
    assert_eq!((leaky.runs, leaky.leaked_runs), (1, 1), "{stdout}");
    let clean = test("TestClean");
    assert_eq!(
        (clean.runs, clean.outcome),
        (20, TestOutcome::Pass),
        "{stdout}"
    );
}

/// A leak a test should report, as (test, the tests it is ambiguous with).
type WantedLeak = (&'static str, &'static [&'static str]);

/// Crowded packages (1,500 parked goroutines) whose leaks carry no label:
/// (name, tests, the leaks they report). The leaking goroutine blocks at
/// the line marked `// leak`.
const UNLABELLED_LEAKS: &[(&str, &str, &[WantedLeak])] = &[
    (
        // TestQ's goroutine outlives it (its end comes with a dump) and
        // ends while TestR runs: it would hide TestR's leak in TestR's
        // count.
        "q_lingers_r_leaks",
        "func TestQ(t *testing.T) {
\tgo func() { time.Sleep(150 * time.Millisecond) }()
}

func TestR(t *testing.T) {
\tstarted := make(chan struct{})
\tnever := make(chan int)
\ttime.AfterFunc(0, func() {
\t\tclose(started)
\t\t<-never // leak
\t})
\t<-started
\ttime.Sleep(300 * time.Millisecond)
}
",
        &[("TestR", &[])],
    ),
    (
        // A timer callback that TestT set fires while TestO runs (200 ms
        // after TestT, long after TestO started even in a debug build of
        // leakcheck), and TestP waits (parallel): created while they ran, as leakcheck
        // places goroutines without a label. TestO's own goroutines are
        // exempt by a directive; the leak must still be reported.
        "timer_fires_later",
        "var gStarted = make(chan struct{})

func TestP(t *testing.T) {
\tt.Parallel()
\ttime.Sleep(500 * time.Millisecond)
}

func TestT(t *testing.T) {
\thStarted := make(chan struct{})
\ttime.AfterFunc(0, func() { close(hStarted); time.Sleep(60 * time.Millisecond) })
\t<-hStarted
\tnever := make(chan int)
\ttime.AfterFunc(200*time.Millisecond, func() { close(gStarted); <-never }) // leak
}

//leakcheck:ignore this test's own goroutines are known
func TestO(t *testing.T) {
\t<-gStarted
\tgo func() { time.Sleep(50 * time.Millisecond) }()
}
",
        // The callback is TestT's function literal, and it started after
        // TestT was judged: the next run judged reports it, naming TestT
        // (TestO's directive is for TestO's goroutines, not this one).
        &[("TestO", &["TestT"])],
    ),
    (
        // TestA's goroutine outlives it and starts a timer whose callback
        // leaks, 100 ms after TestA returned: still within its grace
        // period, before TestB starts.
        "timer_from_a_lingering_goroutine",
        "func TestA(t *testing.T) {
\tgo func() {
\t\ttime.Sleep(100 * time.Millisecond)
\t\tnever := make(chan int)
\t\ttime.AfterFunc(0, func() { <-never }) // leak
\t\ttime.Sleep(100 * time.Millisecond)
\t}()
}

func TestB(t *testing.T) { time.Sleep(400 * time.Millisecond) }
",
        &[("TestA", &[])],
    ),
];

#[test]
fn unlabelled_leaks_get_the_verdicts_of_a_dump_per_test_with_checks_deferred() {
    for (name, tests, want) in UNLABELLED_LEAKS {
        let src = crowded_package(&["time"], tests);
        let line = leak_line(&src);
        let dir = go_module(&[("p/p_test.go", &src)]);
        for mode in ["--defer-checks", "--no-defer-checks"] {
            let (out, report) = run_with_report(dir.path(), &[mode, "--grace", "1s"]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let mut got: Vec<(String, Vec<String>)> = Vec::new();
            for t in &report.packages[0].tests {
                for l in &t.leaks {
                    assert_eq!((l.line, l.count), (line, 1), "{name} {mode}: {l:?}");
                    got.push((t.name.clone(), l.ambiguous_with.clone()));
                }
            }
            let want: Vec<(String, Vec<String>)> = want
                .iter()
                .map(|(t, a)| (t.to_string(), a.iter().map(|s| s.to_string()).collect()))
                .collect();
            assert_eq!(got, want, "{name} {mode}:\n{stdout}");
        }
    }
}

#[test]
fn a_timer_callback_that_starts_after_its_test_was_judged_is_still_reported() {
    // Crowded, parallel, -count: TestSets sets a timer whose callback (its
    // function literal) blocks for good, and returns before it fires;
    // TestLingers keeps each round's check going after that. The callback
    // starts after TestSets' run may already be judged. Every round's
    // callback is reported, on TestSets, or by the run judged next,
    // naming TestSets; never dropped.
    let src = crowded_package(
        &["time"],
        "var never = make(chan int)

func TestSets(t *testing.T) {
\tt.Parallel()
\ttime.AfterFunc(20*time.Millisecond, func() {
\t\t<-never // leak
\t})
}

func TestLingers(t *testing.T) {
\tt.Parallel()
\tgo func() { time.Sleep(150 * time.Millisecond) }()
\ttime.Sleep(5 * time.Millisecond)
}
",
    );
    let line = leak_line(&src);
    let dir = go_module(&[("p/p_test.go", &src)]);
    const ROUNDS: usize = 5;
    let count = format!("-count={ROUNDS}");
    for mode in ["--defer-checks", "--no-defer-checks"] {
        let (out, report) = run_with_report(dir.path(), &[mode, "--grace", "300ms", "--", &count]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{mode}: {stdout}");
        let mut reported = 0;
        for t in &report.packages[0].tests {
            for l in &t.leaks {
                assert_eq!(l.line, line, "{mode}: {l:?}\n{stdout}");
                if t.name != "TestSets" {
                    assert_eq!(l.ambiguous_with, ["TestSets"], "{mode}: {l:?}");
                }
                reported += l.count;
            }
        }
        assert_eq!(reported, ROUNDS, "{mode}: {stdout}");
    }
}
