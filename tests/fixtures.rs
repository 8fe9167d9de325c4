//! Runs leakcheck on the whole go-fixtures module and checks the report
//! against the fixtures' `// want-leak:` markers, both ways: every expected
//! leak is found at its creation line with its count, on its test, and
//! nothing else is reported anywhere. Run with the machine's Go, and by CI
//! again with Go 1.21 (`LEAKCHECK_TEST_GO`), so both the label path and the
//! fallback path are checked.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use leakcheck::output::report::{PackageOutcome, Report, TestOutcome};

const MODULE: &str = "leakcheck.test/fixtures";

fn check_report_against_markers(report: &Report) {
    let labels = go_minor() >= 26;
    let expected = markers(&fixtures(), MODULE);
    assert!(expected.len() >= 18, "markers found: {expected:#?}");
    // (package, test) -> leak groups still unexplained.
    let mut unexplained: BTreeMap<(String, String), Vec<leakcheck::detect::compare::Leak>> =
        BTreeMap::new();
    for p in &report.packages {
        for t in &p.tests {
            if !t.leaks.is_empty() {
                unexplained.insert((p.import_path.clone(), t.name.clone()), t.leaks.clone());
            }
        }
    }
    let test_report = |pkg: &str, test: &str| {
        report
            .packages
            .iter()
            .find(|p| p.import_path == pkg)
            .and_then(|p| p.tests.iter().find(|t| t.name == test))
            .unwrap_or_else(|| panic!("{pkg}.{test} missing from the report"))
    };
    let mut leaking_tests = Vec::new();
    for e in &expected {
        let ambiguous = !labels && !e.fallback_ambiguous.is_empty();
        for test in &e.tests {
            // Which test reports it, and with which others named.
            let mut owners = vec![test.clone()];
            if ambiguous {
                owners.extend(e.fallback_ambiguous.iter().cloned());
            }
            let matches_site = |l: &leakcheck::detect::compare::Leak| {
                let c = l.created_by.as_ref().expect("created_by");
                match &e.via {
                    Some(via) => c.function == *via,
                    None => std::path::Path::new(&c.file) == e.file && c.line == e.line,
                }
            };
            let mut found = 0;
            let mut reporter = None;
            for owner in &owners {
                let key = (e.package.clone(), owner.clone());
                if let Some(groups) = unexplained.get_mut(&key) {
                    groups.retain(|l| {
                        if !matches_site(l) {
                            return true;
                        }
                        found += l.count;
                        let mut named: Vec<String> = l.ambiguous_with.clone();
                        named.push(owner.clone());
                        named.sort();
                        let mut want = owners.clone();
                        want.sort();
                        if ambiguous {
                            assert_eq!(named, want, "{}:{} ambiguity", e.file.display(), e.line);
                        } else {
                            assert!(
                                l.ambiguous_with.is_empty(),
                                "{}:{} must be exact: {l:?}",
                                e.file.display(),
                                e.line
                            );
                            // The innermost subtest whose goroutine started it.
                            assert_eq!(
                                &l.subtest,
                                e.subtest.as_ref().unwrap_or(test),
                                "{}:{} subtest",
                                e.file.display(),
                                e.line
                            );
                        }
                        assert!(
                            !l.state.is_empty() && !l.function.is_empty() && l.line > 0,
                            "{l:?}"
                        );
                        assert!(l.goroutine_ids.len() == l.count, "{l:?}");
                        false
                    });
                    if found > 0 && reporter.is_none() {
                        reporter = Some(owner.clone());
                    }
                }
            }
            assert_eq!(
                found,
                e.count,
                "{}:{} expects {} goroutine(s) leaked by {test} (go {})",
                e.file.display(),
                e.line,
                e.count,
                report.go_version
            );
            let reporter = reporter.unwrap();
            assert_eq!(
                test_report(&e.package, &reporter).outcome,
                TestOutcome::Leak
            );
            leaking_tests.push((e.package.clone(), reporter));
        }
    }
    unexplained.retain(|_, groups| !groups.is_empty());
    assert!(
        unexplained.is_empty(),
        "leaks no marker explains (false positives): {unexplained:#?}"
    );
    // Every other test is clean and passed.
    for p in &report.packages {
        for t in &p.tests {
            if !leaking_tests.contains(&(p.import_path.clone(), t.name.clone())) {
                assert_eq!(
                    t.outcome,
                    TestOutcome::Pass,
                    "{}.{} should be clean: {t:?}",
                    p.import_path,
                    t.name
                );
            }
        }
    }
}

/// Where a Go release's testing.tRunner lacks the anchor, tests are
/// wrapped (`LEAKCHECK_HOOK=wrap` forces it): every marked leak is still
/// found, and nothing else.
#[test]
fn wrapped_tests_report_exactly_the_marked_leaks_too() {
    let (out, report) = run_command_with_report(
        leakcheck()
            .current_dir(fixtures())
            .env(leakcheck::go::harness::HOOK_MODE_ENV, "wrap"),
        &["--", "-parallel=4", "./..."],
    );
    assert_eq!(out.status.code(), Some(1));
    check_report_against_markers(&report);
}

#[test]
fn fixtures_report_exactly_the_marked_leaks() {
    let before = tree_state(&fixtures());
    let (out, report) = run_with_report(&fixtures(), &["--", "-parallel=4", "./..."]);
    assert_eq!(
        report.go_version,
        go_version(),
        "ran with the Go under test"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "leaks fail the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_report_against_markers(&report);

    let outcome = |p: &str| {
        report
            .packages
            .iter()
            .find(|r| r.import_path == format!("{MODULE}/{p}"))
            .unwrap()
            .outcome
    };
    assert_eq!(outcome("notests"), PackageOutcome::Skip);
    assert_eq!(outcome("clean"), PackageOutcome::Pass);
    assert_eq!(outcome("handler"), PackageOutcome::Fail);
    // Every package with tests ran them all (the fixtures have 65 tests).
    let s = &report.summary;
    assert_eq!(
        s.tests,
        report.packages.iter().map(|p| p.tests.len()).sum::<usize>()
    );
    assert!(s.tests >= 65, "{s:?}");
    assert_eq!(s.failed + s.crashed + s.skipped, 0, "{s:?}");

    // Human output names each leaking test and its creation site,
    // relative to the current directory.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--- LEAK: TestQuery (1 goroutine; checked in "),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("created at  handler/handler.go:30 by leakcheck.test/fixtures/handler.query"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok  \tleakcheck.test/fixtures/clean\t"),
        "{stdout}"
    );
    assert!(
        stdout.contains("?   \tleakcheck.test/fixtures/notests\t[no test files]"),
        "{stdout}"
    );

    // The user's tree was not written to.
    assert_eq!(before, tree_state(&fixtures()), "go-fixtures changed");
}

#[test]
fn testmain_setup_and_exit_code_are_honoured() {
    // The fixture's TestSetupRan fails unless its TestMain ran; a clean
    // package whose own TestMain goroutine predates the tests passes.
    let (out, report) = run_with_report(
        &fixtures(),
        &["--", "./testmain", "-run", "TestSetupRan|TestRecordMetrics"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let p = &report.packages[0];
    assert_eq!(p.outcome, PackageOutcome::Pass);
    assert_eq!(p.tests.len(), 2);
    assert!(p
        .tests
        .iter()
        .all(|t| t.outcome == TestOutcome::Pass && t.leaks.is_empty()));
}

#[test]
fn json_stream_is_go_test_json_with_leaks_as_failures() {
    let out = leakcheck()
        .current_dir(fixtures())
        .args(["--json", "./handler"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of = |test: Option<&str>| {
        events
            .iter()
            .filter(move |e| e.get("Test").and_then(|t| t.as_str()) == test)
            .collect::<Vec<_>>()
    };
    let query = of(Some("TestQuery"));
    assert_eq!(query.last().unwrap()["Action"], "fail");
    let output: String = query.iter().filter_map(|e| e["Output"].as_str()).collect();
    assert!(output.contains("--- FAIL: TestQuery ("), "{output}");
    assert!(
        output.contains("--- LEAK: TestQuery (1 goroutine; checked in "),
        "{output}"
    );
    assert!(output.contains("handler/handler.go:30"), "{output}");
    assert_eq!(of(Some("TestQueryFixed")).last().unwrap()["Action"], "pass");
    let package = of(None);
    assert_eq!(package.last().unwrap()["Action"], "fail");
    assert!(package
        .iter()
        .all(|e| e["Package"] == "leakcheck.test/fixtures/handler"));
    assert!(events.iter().all(|e| e["Time"].is_string()));
}

#[test]
fn verbose_output_shows_full_stacks_and_test_output() {
    let out = leakcheck()
        .current_dir(fixtures())
        .args(["-v", "./grandchild"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("=== RUN   TestGrandchildClean"), "{stdout}");
    assert!(stdout.contains("        | goroutine "), "{stdout}");
    assert!(stdout.contains("grandchild.child("), "{stdout}");
}

#[test]
fn a_crowded_process_is_judged_with_few_dumps_and_exactly() {
    // go-fixtures/crowded keeps 1,500 goroutines alive: by default, from
    // Go 1.26, the helper stops dumping them at every
    // run's start and end (`start~`, `end~`), and leakcheck judges the
    // runs with a few later dumps. Ten rounds: every run of the two
    // leaking tests leaks, no other does.
    let log = tempfile::NamedTempFile::new().unwrap();
    let (out, report) = run_command_with_report(
        leakcheck()
            .current_dir(fixtures())
            .env(leakcheck::detect::listener::PROTOCOL_LOG_ENV, log.path()),
        &["--grace", "300ms", "--", "-count=10", "./crowded"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The package's `// want-leak:` markers: test -> (file, line, count).
    let package = format!("{MODULE}/crowded");
    let wanted: BTreeMap<String, (PathBuf, u32, usize)> = markers(&fixtures(), MODULE)
        .into_iter()
        .filter(|e| e.package == package)
        .flat_map(|e| {
            let site = (e.file.clone(), e.line, e.count);
            e.tests.into_iter().map(move |t| (t, site.clone()))
        })
        .collect();
    assert_eq!(wanted.len(), 2, "{wanted:?}");
    let tests = &report.packages[0].tests;
    assert_eq!(tests.len(), 7, "{stdout}");
    for t in tests {
        assert_eq!(t.runs, 10, "{}", t.name);
        let sites: Vec<(PathBuf, u32, usize)> = t
            .leaks
            .iter()
            .map(|l| {
                assert!(l.ambiguous_with.is_empty(), "{}: {l:?}", t.name);
                let c = l.created_by.as_ref().expect("created_by");
                (PathBuf::from(&c.file), c.line, l.count)
            })
            .collect();
        match wanted.get(&t.name) {
            // Every one of the ten runs leaks, from the marked line.
            Some((file, line, count)) => {
                assert_eq!(t.leaked_runs, 10, "{}: {stdout}", t.name);
                assert_eq!(sites, vec![(file.clone(), *line, count * 10)], "{}", t.name);
            }
            None => {
                assert_eq!(t.leaked_runs, 0, "{}: {stdout}", t.name);
                assert!(sites.is_empty(), "{}: {sites:?}", t.name);
            }
        }
    }
    let log = std::fs::read_to_string(log.path()).unwrap();
    // How the runs of `test` ended: judged later (`end~`), or with a dump.
    let ends = |test: &str, kind: &str| {
        let prefix = format!("{kind} {test}#");
        log.lines().filter(|l| l.starts_with(&prefix)).count()
    };
    let starts_dumped = log
        .lines()
        .filter(|l| l.starts_with("start ") && !l.ends_with(" 0"))
        .count();
    if go_minor() >= 26 {
        // Only the first run's start dumps the crowd; later starts are
        // short messages. Ends are judged later (`end~`) unless a third
        // of the time since the last dump would pay for one; each round
        // (-count) ends with a check of the runs judged later.
        assert_eq!(starts_dumped, 1, "{log}");
        let later: usize = tests.iter().map(|t| ends(&t.name, "end~")).sum();
        assert!(later >= 10, "{log}");
        assert!(log.lines().any(|l| l.starts_with("dump - ")), "{log}");
    } else {
        // No labels in dumps: every run is dumped.
        assert_eq!(
            log.lines().filter(|l| l.starts_with("end~")).count(),
            0,
            "{log}"
        );
        assert!(starts_dumped >= 70, "{log}");
    }
}

#[test]
fn with_no_defer_checks_every_run_is_dumped() {
    // With --no-defer-checks every run of the crowded fixture is dumped
    // (the fixture test above checks its verdicts).
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = leakcheck()
        .current_dir(fixtures())
        .env(leakcheck::detect::listener::PROTOCOL_LOG_ENV, log.path())
        .args(["--no-defer-checks", "--grace", "300ms", "./crowded"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = std::fs::read_to_string(log.path()).unwrap();
    assert!(!log.contains("end~") && !log.contains("start~"), "{log}");
    assert!(
        log.lines().any(|l| l.starts_with("end TestCrowdedLeak#")),
        "{log}"
    );
}
