//! `--stress` (issue #16): the rare fixtures of `go-fixtures/hard/rare`
//! are found with the right test and lines, what a stress process finds
//! comes with its run, settings and a reproduction command that works, a
//! clean package passes after many runs, a test that always leaks is
//! found at run 1, and bad input is one line and exit 2.
//!
//! Nothing here depends on luck or speed: the rare fixtures are widened
//! (`LEAKCHECK_RARE_WIDEN`) so that they misbehave on every run, and the
//! test that only a stress process can find misbehaves from its second
//! run in a process on, which every stress process gives it.

mod common;

use std::path::Path;

use common::*;
use leakcheck::output::report::{PackageOutcome, Report, TestOutcome, TestReport};

fn test<'r>(report: &'r Report, name: &str) -> &'r TestReport {
    test_report(report, name)
}

/// A fixture: its test, how it misbehaves, and (function, line) of each
/// goroutine of it blocked in rare.go.
type Case = (&'static str, TestOutcome, Vec<(String, u32)>);

fn line_of(file: &Path, marker: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    1 + text
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} not in {}", file.display())) as u32
}

fn text(out: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `leakcheck --stress 2m --grace 500ms [args] ./rare -- -tags TAGS
/// [go_args]` in go-fixtures/hard, the rare fixtures' windows widened so
/// that they misbehave on every run.
fn stress_widened(
    hard: &Path,
    args: &[&str],
    tags: &str,
    go_args: &[&str],
) -> (std::process::Output, Report) {
    let mut all = vec!["--stress", "2m", "--grace", "500ms"];
    all.extend_from_slice(args);
    all.extend(["./rare", "--", "-tags", tags]);
    all.extend_from_slice(go_args);
    run_command_with_report(
        leakcheck()
            .current_dir(hard)
            .env("LEAKCHECK_RARE_WIDEN", "20ms"),
        &all,
    )
}

/// Each rare fixture, widened so that it misbehaves on every run: found,
/// with the outcome and the exact lines its doc promises, and with the
/// stress fields of a find.
#[test]
fn widened_rare_fixtures_are_found_with_their_lines() {
    let hard = fixtures().join("hard");
    let rare = hard.join("rare/rare.go");
    let (out, report) = stress_widened(&hard, &["--test-timeout", "20s"], "rare", &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let blocked = |t: &TestReport| -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = t
            .leaks
            .iter()
            .filter(|l| l.file.ends_with("rare.go"))
            .map(|l| (l.function.rsplit('.').next().unwrap().to_string(), l.line))
            .collect();
        v.sort();
        v
    };
    let at = |marker| line_of(&rare, marker);
    let cases: [Case; 5] = [
        (
            "TestRareABBA",
            TestOutcome::Hang,
            vec![
                ("transfer".into(), at("rare: ABBA blocks here")),
                ("transfer".into(), at("rare: ABBA blocks here")),
            ],
        ),
        (
            "TestRareRLock",
            TestOutcome::Hang,
            vec![
                ("Add".into(), at("rare: the writer blocks here")),
                ("Len".into(), at("rare: RLock blocks here")),
            ],
        ),
        (
            "TestRareLostSignal",
            TestOutcome::Leak,
            vec![("WaitOpen".into(), at("rare: LostSignal blocks here"))],
        ),
        ("TestRareSendClose", TestOutcome::Crash, vec![]),
        (
            "TestRareStopEarly",
            TestOutcome::Leak,
            vec![("Run".into(), at("rare: StopEarly blocks here"))],
        ),
    ];
    for (name, outcome, lines) in cases {
        let t = test(&report, name);
        assert_eq!(t.outcome, outcome, "{name}\n{all}");
        assert_eq!(blocked(t), lines, "{name}\n{all}");
        let s = t.stress.as_ref().expect("stress fields");
        let found = s.found_at_run.expect("found");
        assert!(found >= 1 && found <= s.runs, "{name}: {s:?}");
        assert!(s.settings.is_some(), "{name}: {s:?}");
        assert!(
            s.reproduce
                .as_deref()
                .is_some_and(|r| r.contains(&format!("-run '^{name}$'")) && r.contains("-tags")),
            "{name}: {s:?}"
        );
    }
    let crash = test(&report, "TestRareSendClose");
    let details = crash.details.as_deref().unwrap_or("");
    assert!(
        details.starts_with("panic: send on closed channel"),
        "{details}"
    );
    assert!(
        details.contains(&format!("rare.go:{}", at("rare: SendClose panics here"))),
        "{details}"
    );
    assert_eq!(report.packages[0].outcome, PackageOutcome::Crash);
}

/// A package whose TestLater misbehaves only from its second run in a
/// process on (a package-level counter): the plain first run passes it,
/// and the first stress process finds it.
const LATER: &str = r#"package p

import "testing"

var runs int

func TestLater(t *testing.T) {
	runs++
	if runs >= 2 {
		ch := make(chan int)
		go func() { ch <- 1 }() // leaks from the second run on
	}
}

func TestSteady(t *testing.T) {}
"#;

#[test]
fn what_a_stress_process_finds_comes_with_its_run_settings_and_a_command_that_reproduces_it() {
    let module = go_module(&[("p/p_test.go", LATER)]);
    let (out, report) = run_command_with_report(
        leakcheck().current_dir(module.path()),
        &["--stress", "10s", "-j", "2", "./p"],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let t = test(&report, "TestLater");
    assert_eq!(t.outcome, TestOutcome::Leak, "{all}");
    assert_eq!(t.leaks.len(), 1, "{all}");
    assert_eq!(t.leaks[0].line, 11, "{all}");
    let s = t.stress.as_ref().expect("stress fields");
    let settings = s.settings.as_ref().expect("settings");
    // Run 1 passed it: a stress process, with at least two runs, found it,
    // at its second run in that process at the earliest (run 1 is the
    // plain run's): found_at_run counts up to the run that leaked.
    assert!(s.found_at_run.unwrap() >= 3, "{s:?}");
    assert!(settings.count >= 2, "{s:?}");
    // Before Go 1.26 (no leak profile), no process does more runs than
    // the grace period (1 s) fits in the budget (10 s): TestLater leaks at
    // every run after its first, and each leaking run waits out the grace
    // period there.
    if go_minor() < 26 {
        assert!(settings.count <= 10, "{s:?}");
    }
    assert_eq!(settings.processes, 2, "{s:?}");
    assert!(settings.gomaxprocs.is_some(), "{s:?}");
    assert!(s.runs >= s.found_at_run.unwrap(), "{s:?}");
    assert!(s.seconds > 0.0, "{s:?}");
    // The clean test ran until the budget's end, or until TestLater's find
    // left it alone in play.
    let steady = test(&report, "TestSteady");
    assert_eq!(steady.outcome, TestOutcome::Pass);
    let ss = steady.stress.as_ref().expect("stress fields");
    assert!(ss.runs > 1 && ss.found_at_run.is_none() && ss.settings.is_none());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--- LEAK: TestLater")
            && stdout.contains("leakcheck: stress: TestLater leaked at run "),
        "{all}"
    );

    // The command reproduces it, with the same GOMAXPROCS.
    let repro = s.reproduce.clone().expect("a reproduction command");
    let g = settings.gomaxprocs.unwrap();
    assert!(
        repro.starts_with(&format!("GOMAXPROCS={g} leakcheck --stress ")),
        "{repro}"
    );
    let bin = assert_cmd::cargo::cargo_bin("leakcheck");
    let path = std::env::join_paths(
        std::iter::once(bin.parent().unwrap().to_path_buf())
            .chain(std::env::split_paths(&go_path())),
    )
    .unwrap();
    let report_file = tempfile::NamedTempFile::new().unwrap();
    let again = std::process::Command::new("sh")
        .arg("-c")
        .arg(repro.replacen(
            "leakcheck ",
            &format!("leakcheck --report {} ", report_file.path().display()),
            1,
        ))
        .env("PATH", path)
        .env("LEAKCHECK_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("GOFLAGS")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "{repro}\n{}", text(&again));
    let again: Report =
        serde_json::from_str(&std::fs::read_to_string(report_file.path()).unwrap()).unwrap();
    assert_eq!(again.packages[0].tests.len(), 1, "only TestLater ran");
    let t2 = test(&again, "TestLater");
    assert_eq!(t2.outcome, TestOutcome::Leak);
    assert_eq!(t2.leaks[0].line, 11);
    let s2 = t2.stress.as_ref().unwrap();
    assert_eq!(s2.settings.as_ref().unwrap().gomaxprocs, Some(g));
}

#[test]
fn a_clean_package_passes_after_many_runs() {
    let (out, report) = run_with_report(&fixtures(), &["--stress", "3s", "./clean"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(report.summary.passed, report.summary.tests, "{all}");
    assert!(report.summary.tests >= 1);
    for t in report.packages.iter().flat_map(|p| &p.tests) {
        let s = t.stress.as_ref().expect("stress fields");
        assert!(s.runs > 1, "{}: {s:?}", t.name);
        assert_eq!(u64::from(t.runs), s.runs);
        assert_eq!(s.found_at_run, None);
        assert_eq!(s.settings, None);
        assert_eq!(s.reproduce, None);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("leakcheck: stress: ") && stdout.contains(" found misbehaving"),
        "{all}"
    );
    assert!(
        stdout.contains("ok  \tleakcheck.test/fixtures/clean"),
        "{all}"
    );
}

#[test]
fn a_test_that_always_leaks_is_found_at_run_one_and_its_command_is_a_plain_run() {
    let (out, report) = run_with_report(
        &fixtures(),
        &["--stress", "10m", "./handler", "--", "-run", "^TestQuery$"],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let t = test(&report, "TestQuery");
    assert!(t.outcome.is_failure(), "{all}");
    let s = t.stress.as_ref().expect("stress fields");
    assert_eq!(s.found_at_run, Some(1), "{s:?}");
    assert_eq!(s.runs, 1, "{s:?}");
    let settings = s.settings.as_ref().unwrap();
    assert_eq!(
        (settings.gomaxprocs, settings.processes, settings.count),
        (None, 1, 1)
    );
    let repro = s.reproduce.as_deref().unwrap();
    assert!(repro.starts_with("leakcheck -C "), "{repro}");
    assert!(
        repro.ends_with("leakcheck.test/fixtures/handler -- -run '^TestQuery$'"),
        "{repro}"
    );
    // Nothing was left to stress: the budget was not spent.
    assert!(s.seconds < 300.0, "{s:?}");
}

#[test]
fn bad_stress_input_is_one_line_and_exit_2() {
    for (args, want) in [
        (
            vec!["--stress", "0s"],
            "--stress: the budget must be more than 0s",
        ),
        (
            vec!["--stress", "0"],
            "--stress: the budget must be more than 0s",
        ),
        (
            vec!["--stress", "200h"],
            "--stress: the budget is at most 168h",
        ),
        (vec!["--stress", "soon"], "--stress: invalid duration"),
        (
            vec!["--stress", "5s", "--until-leak", "3"],
            "--stress and --until-leak cannot be used together",
        ),
        (
            vec!["--stress", "5s", "--", "-cover"],
            "--stress does not take coverage flags",
        ),
    ] {
        let out = leakcheck()
            .current_dir(fixtures())
            .args(&args)
            .arg("./clean")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("leakcheck: {want}")),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The descheduling fixture (`-tags rare,preempt`), widened so that its
/// lease goes stale at every run: found as a leak of the watcher, at the
/// line its marker names.
#[test]
fn the_widened_preempt_fixture_leaks_its_watcher() {
    let hard = fixtures().join("hard");
    let (out, report) =
        stress_widened(&hard, &[], "rare,preempt", &["-run", "^TestRarePreempted$"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let t = test(&report, "TestRarePreempted");
    assert_eq!(t.outcome, TestOutcome::Leak, "{all}");
    let at = line_of(&hard.join("rare/preempt.go"), "rare: Preempted blocks here");
    let blocked: Vec<(String, u32)> = t
        .leaks
        .iter()
        .map(|l| (l.function.rsplit('.').next().unwrap().to_string(), l.line))
        .collect();
    assert_eq!(blocked, [("takeOver".to_string(), at)], "{all}");
    assert!(t.stress.as_ref().is_some_and(|s| s.found_at_run.is_some()));
}
