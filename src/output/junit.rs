//! JUnit XML (`--junit FILE`, and `merge-reports --junit`): this module
//! owns turning a [`Report`] into JUnit with quick-junit. Pure apart from
//! [`write_junit`].
//!
//! - One `<testsuite>` per package (named by its import path), one
//!   `<testcase>` per top-level test with `classname` = the import path.
//! - A leaked test is a `<failure type="leak">` whose message names the
//!   goroutine count and the first creation site (relative to the run
//!   directory) and whose text is the full `--- LEAK` block, stacks
//!   included.
//! - A failed test is a `<failure type="fail">` (its output, and its leak
//!   block when it also leaked); hung and crashed tests are failures of
//!   type `hang` and `crash` with their details; skipped tests are
//!   `<skipped>`.
//! - A package that failed to build is one failed testcase named
//!   `[build failed]`; a package whose binary failed outside any test is
//!   one failed testcase named `[package failed]`.
//!
//! The output of a test that did not pass, when the caller has it (a live
//! run, not `merge-reports`), goes in the testcase's `<system-out>`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::detect::compare::Leak;
use crate::error::Error;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, Report, TestOutcome, TestReport};
use crate::output::reporter::{creation_site, leak_report_lines};

/// Test output by (import path, top-level test name).
pub type TestOutputs = HashMap<(String, String), String>;

/// Collects test output for JUnit from a run's events as they come, by
/// top-level test. JUnit shows the output of tests that did not pass, so a
/// run's output is dropped when the run passes.
#[derive(Default)]
pub struct OutputCollector {
    pub outputs: TestOutputs,
    /// Where the current run's output starts, by test, while it runs.
    run_start: HashMap<(String, String), usize>,
}

impl OutputCollector {
    pub fn add(&mut self, events: &[TestEvent]) {
        for e in events {
            let (Some(pkg), Some(test)) = (&e.package, e.top_level_test()) else {
                continue;
            };
            let key = (pkg.clone(), test.to_string());
            if let (Some(text), "output") = (&e.output, e.action.as_str()) {
                let out = self.outputs.entry(key.clone()).or_default();
                self.run_start.entry(key).or_insert(out.len());
                out.push_str(text);
            } else if e.is_final() && e.test.as_deref() == Some(test) {
                let start = self.run_start.remove(&key);
                if let (Some(start), "pass") = (start, e.action.as_str()) {
                    if let Some(out) = self.outputs.get_mut(&key) {
                        out.truncate(start);
                        if out.is_empty() {
                            self.outputs.remove(&key);
                        }
                    }
                }
            }
        }
    }
}

fn duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or_default()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `leaked N goroutines, first created at F:L` (with the runs that leaked
/// when the test ran more than once).
fn leak_summary(t: &TestReport, base: &Path) -> String {
    let total: usize = t.leaks.iter().map(|l| l.count).sum();
    let runs = if t.runs > 1 && t.leaked_runs > 0 {
        format!(" in {} of {} runs", t.leaked_runs, t.runs)
    } else {
        String::new()
    };
    let site = t
        .leaks
        .first()
        .map(|l| {
            let more: String = crate::output::reporter::origin_and_via_lines(l)
                .into_iter()
                .map(|(word, at)| {
                    format!(
                        ", {word} {}:{}",
                        crate::output::reporter::display_path(&at.file, base),
                        at.line
                    )
                })
                .collect();
            format!(", first created at {}{more}", creation_site(l, base))
        })
        .unwrap_or_default();
    let kept: u64 = t
        .leaks
        .iter()
        .flat_map(|l| &l.keeps_alive)
        .map(|k| k.bytes)
        .sum();
    let goroutines = if kept > 0 {
        format!(
            "{} keeping {} alive",
            plural(total, "goroutine"),
            crate::detect::resources::human_bytes(kept)
        )
    } else {
        plural(total, "goroutine")
    };
    if t.resources.is_empty() {
        return format!("leaked {goroutines}{runs}{site}");
    }
    let resources = crate::detect::resources::summary(&t.resources);
    if total == 0 {
        return format!("leaked {resources}{runs}");
    }
    format!("leaked {goroutines}{runs}{site}, and {resources}")
}

/// The `--- LEAK` block: goroutines (when any), then resources.
fn leak_block(test: &str, leaks: &[Leak], base: &Path) -> String {
    leak_report_lines(test, leaks, base, true).concat()
}

/// [`leak_block`] with the test's resources (`--check`).
fn leak_block_of(t: &TestReport, base: &Path) -> String {
    let mut text = if t.leaks.is_empty() {
        format!(
            "--- LEAK: {} ({})\n",
            t.name,
            crate::detect::resources::summary(&t.resources)
        )
    } else {
        leak_block(&t.name, &t.leaks, base)
    };
    text.push_str(&crate::detect::resources::report_lines(&t.resources, base).concat());
    text
}

fn failure(ty: &str, message: String, description: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_type(ty).set_message(message);
    if !description.is_empty() {
        status.set_description(description);
    }
    status
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn test_case(pkg: &str, t: &TestReport, base: &Path, output: Option<&str>) -> TestCase {
    let name = t.name.as_str();
    let output = output.unwrap_or("");
    let status = match t.outcome {
        TestOutcome::Pass => TestCaseStatus::success(),
        TestOutcome::Skip => {
            let mut s = TestCaseStatus::skipped();
            if let Some(reason) = output
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("=== ") && !l.starts_with("--- "))
            {
                s.set_message(reason);
            }
            s
        }
        TestOutcome::Leak => failure("leak", leak_summary(t, base), leak_block_of(t, base)),
        TestOutcome::Fail => {
            let mut message = "test failed".to_string();
            let mut text = output.to_string();
            if !t.leaks.is_empty() || !t.resources.is_empty() {
                message = format!("test failed, and {}", leak_summary(t, base));
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&leak_block_of(t, base));
            }
            failure("fail", message, text)
        }
        TestOutcome::Hang => {
            let details = t.details.clone().unwrap_or_else(|| format!("{name} hung"));
            let mut text = format!("{}\n", details.trim_end());
            for l in leak_report_lines(name, &t.leaks, base, true)
                .into_iter()
                .skip(1)
            {
                text.push_str(&l);
            }
            failure("hang", first_line(&details).to_string(), text)
        }
        TestOutcome::Crash => {
            let details = t
                .details
                .clone()
                .unwrap_or_else(|| "the test binary died while this test ran".into());
            failure("crash", first_line(&details).to_string(), details)
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(pkg).set_time(duration(t.elapsed_ms));
    if !output.is_empty() && t.outcome != TestOutcome::Pass {
        case.set_system_out(output);
    }
    case
}

/// The JUnit report for `report`; paths in messages relative to `base`.
pub fn junit(report: &Report, base: &Path, outputs: &TestOutputs) -> quick_junit::Report {
    let mut out = quick_junit::Report::new("leakcheck");
    let mut total_ms = 0.0;
    for p in &report.packages {
        let pkg = p.import_path.as_str();
        let mut suite = TestSuite::new(pkg);
        suite.set_time(duration(p.elapsed_ms));
        total_ms += p.elapsed_ms.max(0.0);
        let test_failed = p.tests.iter().any(|t| t.outcome.is_failure());
        let package_failure = match (p.outcome, &p.error) {
            (PackageOutcome::BuildError, e) => Some((
                "[build failed]",
                "build-error",
                e.clone().unwrap_or_default(),
            )),
            (PackageOutcome::Fail | PackageOutcome::Crash, Some(e)) if !test_failed => {
                Some(("[package failed]", "package-error", e.clone()))
            }
            _ => None,
        };
        if let Some((name, ty, error)) = package_failure {
            let message = match first_line(&error) {
                "" => format!("{pkg}: {name}"),
                line => line.to_string(),
            };
            let mut case = TestCase::new(name, failure(ty, message, error));
            case.set_classname(pkg);
            suite.add_test_case(case);
        }
        for t in &p.tests {
            let output = outputs.get(&(p.import_path.clone(), t.name.clone()));
            suite.add_test_case(test_case(pkg, t, base, output.map(String::as_str)));
        }
        out.add_test_suite(suite);
    }
    out.set_time(duration(total_ms));
    out
}

/// The JUnit report for `report` as XML text. quick-junit drops the
/// control characters XML 1.0 forbids; U+FFFE and U+FFFF, which it also
/// forbids and tests can print, become U+FFFD (they are never markup).
pub fn junit_xml(
    report: &Report,
    base: &Path,
    outputs: &TestOutputs,
) -> Result<String, quick_junit::SerializeError> {
    let text = junit(report, base, outputs).to_string()?;
    Ok(if text.contains(['\u{FFFE}', '\u{FFFF}']) {
        text.replace(['\u{FFFE}', '\u{FFFF}'], "\u{FFFD}")
    } else {
        text
    })
}

/// Writes the JUnit report for `report` to `path`.
pub fn write_junit(
    path: &Path,
    report: &Report,
    base: &Path,
    outputs: &TestOutputs,
) -> Result<(), Error> {
    let text = junit_xml(report, base, outputs).map_err(|e| {
        Error::io(
            format!("writing JUnit report {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    })?;
    crate::output::outfile::write_atomic("JUnit report", path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::Location;
    use crate::output::report::PackageReport;

    fn leak(count: usize) -> Leak {
        Leak {
            count,
            function: "example.com/m/p.F.func1".into(),
            line: 31,
            created_by: Some(Location {
                function: "example.com/m/p.F".into(),
                file: "/m/p/p.go".into(),
                line: 30,
            }),
            stack: "goroutine 7 [chan send]:\nexample.com/m/p.F.func1()".into(),
            ..Leak::example()
        }
    }

    fn test(name: &str, outcome: TestOutcome, leaks: Vec<Leak>) -> TestReport {
        TestReport {
            elapsed_ms: 1500.0,
            ..TestReport::new(name, outcome, leaks)
        }
    }

    fn sample() -> Report {
        let mut hang = test("TestHang", TestOutcome::Hang, vec![leak(1)]);
        hang.details =
            Some("TestHang still running after --test-timeout (1 goroutine involved)".into());
        let mut crash = test("TestCrash", TestOutcome::Crash, vec![]);
        crash.details = Some("panic: boom\n\ngoroutine 9 [running]:\n...".into());
        let mut flaky = test("TestFlaky", TestOutcome::Leak, vec![leak(1)]);
        flaky.runs = 5;
        flaky.leaked_runs = 2;
        Report::new(
            "go1.26.0".into(),
            vec![
                PackageReport {
                    import_path: "example.com/m/p".into(),
                    outcome: PackageOutcome::Fail,
                    error: None,
                    elapsed_ms: 2500.0,
                    tests: vec![
                        test("TestOK", TestOutcome::Pass, vec![]),
                        test("TestLeak", TestOutcome::Leak, vec![leak(3)]),
                        test("TestFail", TestOutcome::Fail, vec![]),
                        test("TestSkip", TestOutcome::Skip, vec![]),
                        hang,
                        crash,
                        flaky,
                    ],
                },
                PackageReport {
                    import_path: "example.com/m/bad".into(),
                    outcome: PackageOutcome::BuildError,
                    error: Some("bad/bad.go:3:1: syntax error\n".into()),
                    elapsed_ms: 0.0,
                    tests: vec![],
                },
            ],
        )
    }

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).expect("well-formed XML")
    }

    fn case<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> roxmltree::Node<'a, 'a> {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no testcase {name}"))
    }

    fn failure_of<'a>(case: roxmltree::Node<'a, 'a>) -> roxmltree::Node<'a, 'a> {
        case.children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("no failure in {:?}", case.attribute("name")))
    }

    #[test]
    fn suites_per_package_and_counts() {
        let xml = junit(&sample(), Path::new("/m"), &TestOutputs::new())
            .to_string()
            .unwrap();
        let doc = parse(&xml);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("tests"), Some("8"));
        assert_eq!(root.attribute("failures"), Some("6"));
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        assert_eq!(suites.len(), 2);
        assert_eq!(suites[0].attribute("name"), Some("example.com/m/p"));
        assert_eq!(suites[0].attribute("tests"), Some("7"));
        assert_eq!(suites[0].attribute("failures"), Some("5"));
        assert_eq!(suites[0].attribute("skipped"), Some("1"));
        assert_eq!(suites[0].attribute("time"), Some("2.500"));
        assert_eq!(suites[1].attribute("tests"), Some("1"));
        assert_eq!(suites[1].attribute("failures"), Some("1"));
        for c in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
            let suite = c.parent().unwrap().attribute("name");
            assert_eq!(c.attribute("classname"), suite);
        }
    }

    #[test]
    fn failures_name_count_site_and_carry_the_block() {
        let xml = junit(&sample(), Path::new("/m"), &TestOutputs::new())
            .to_string()
            .unwrap();
        let doc = parse(&xml);
        assert!(case(&doc, "TestOK").children().all(|n| !n.is_element()));
        let f = failure_of(case(&doc, "TestLeak"));
        assert_eq!(f.attribute("type"), Some("leak"));
        assert_eq!(
            f.attribute("message"),
            Some("leaked 3 goroutines, first created at p/p.go:30")
        );
        let text = f.text().unwrap();
        assert!(
            text.starts_with("--- LEAK: TestLeak (3 goroutines)\n"),
            "{text}"
        );
        assert!(text.contains("created at  p/p.go:30 by example.com/m/p.F"));
        assert!(
            text.contains("| goroutine 7 [chan send]:"),
            "stacks: {text}"
        );
        assert_eq!(
            failure_of(case(&doc, "TestFlaky")).attribute("message"),
            Some("leaked 1 goroutine in 2 of 5 runs, first created at p/p.go:30")
        );
        assert_eq!(
            failure_of(case(&doc, "TestFail")).attribute("message"),
            Some("test failed")
        );
        let hang = failure_of(case(&doc, "TestHang"));
        assert_eq!(hang.attribute("type"), Some("hang"));
        assert_eq!(
            hang.attribute("message"),
            Some("TestHang still running after --test-timeout (1 goroutine involved)")
        );
        assert!(hang
            .text()
            .unwrap()
            .contains("blocked at  example.com/m/p.F.func1 (p/p.go:31)"));
        let crash = failure_of(case(&doc, "TestCrash"));
        assert_eq!(crash.attribute("message"), Some("panic: boom"));
        assert!(crash.text().unwrap().contains("goroutine 9 [running]:"));
        let skip = case(&doc, "TestSkip");
        assert!(skip.children().any(|n| n.has_tag_name("skipped")));
        let build = case(&doc, "[build failed]");
        assert_eq!(build.attribute("classname"), Some("example.com/m/bad"));
        let f = failure_of(build);
        assert_eq!(f.attribute("message"), Some("bad/bad.go:3:1: syntax error"));
    }

    #[test]
    fn resources_fail_a_test_like_goroutines_and_are_listed() {
        use crate::detect::resources::{Resource, ResourceKind};
        let file = Resource {
            kind: ResourceKind::File,
            description: "/m/p/data.txt (fd 7)".into(),
            count: 1,
            bytes: None,
            site: None,
            ambiguous_with: vec![],
            known: false,
        };
        let mut only = test("TestOpen", TestOutcome::Leak, vec![]);
        only.resources = vec![file.clone()];
        let mut both = test("TestBoth", TestOutcome::Leak, vec![leak(1)]);
        both.resources = vec![file];
        let report = Report::new(
            "go1.26.0".into(),
            vec![PackageReport {
                import_path: "example.com/m/p".into(),
                outcome: PackageOutcome::Fail,
                error: None,
                elapsed_ms: 1.0,
                tests: vec![only, both],
            }],
        );
        let xml = junit(&report, Path::new("/m"), &TestOutputs::new())
            .to_string()
            .unwrap();
        let doc = parse(&xml);
        let f = failure_of(case(&doc, "TestOpen"));
        assert_eq!(f.attribute("type"), Some("leak"));
        assert_eq!(f.attribute("message"), Some("leaked 1 descriptor"));
        let text = f.text().unwrap_or("");
        assert!(
            text.starts_with("--- LEAK: TestOpen (1 descriptor)\n"),
            "{text}"
        );
        assert!(
            text.contains("    file     /m/p/data.txt (fd 7)\n"),
            "{text}"
        );
        let f = failure_of(case(&doc, "TestBoth"));
        assert_eq!(
            f.attribute("message"),
            Some("leaked 1 goroutine, first created at p/p.go:30, and 1 descriptor")
        );
    }

    #[test]
    fn any_text_tests_print_still_makes_well_formed_xml() {
        // What a test can print, valid UTF-8 (test2json already made
        // invalid bytes U+FFFD): controls, escapes, XML's non-characters,
        // markup, the last code point.
        let nasty = "a\u{0}b\u{7}c\u{b}\u{1b}[31mred\u{1b}[0m \u{FFFE}\u{FFFF}\u{FFFD} \
                     <x a=\"1\">&amp;]]> é 日本 \u{10FFFF}\r\n";
        let mut report = sample();
        let p = &mut report.packages[0];
        p.tests[2].name = format!("TestFail/{nasty}");
        p.tests[5].details = Some(format!("panic: {nasty}"));
        let mut outputs = TestOutputs::new();
        let key = ("example.com/m/p".to_string(), p.tests[2].name.clone());
        outputs.insert(key, nasty.repeat(3));
        let xml = junit_xml(&report, Path::new("/m"), &outputs).unwrap();
        let doc = parse(&xml);
        let text: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(text.contains("日本 \u{10FFFF}"), "{text:?}");
        assert!(text.contains("<x a=\"1\">&amp;]]>"), "{text:?}");
        assert!(
            !text.contains(['\u{FFFE}', '\u{FFFF}', '\u{0}']),
            "{text:?}"
        );
    }

    #[test]
    fn test_output_goes_to_system_out_and_failure_text() {
        let mut collector = OutputCollector::default();
        let passed = |test: &str| TestEvent {
            test: Some(test.into()),
            ..crate::runner::final_event("example.com/m/p", "pass", 0.0)
        };
        collector.add(&[
            TestEvent::output(
                "example.com/m/p",
                Some("TestOK"),
                "=== RUN   TestOK\n".into(),
            ),
            TestEvent::output(
                "example.com/m/p",
                Some("TestFail"),
                "=== RUN   TestFail\n".into(),
            ),
            TestEvent::output(
                "example.com/m/p",
                Some("TestFail/sub"),
                "    p_test.go:9: want 2, got 3\n".into(),
            ),
            TestEvent::output(
                "example.com/m/p",
                Some("TestSkip"),
                "    p_test.go:20: needs network\n".into(),
            ),
            TestEvent::output(
                "example.com/m/p",
                Some("TestPassing"),
                "=== RUN   TestPassing\n".into(),
            ),
            passed("TestPassing"),
            TestEvent {
                action: "fail".into(),
                ..passed("TestFail")
            },
            TestEvent::output("example.com/m/p", None, "FAIL\n".into()),
        ]);
        // A test that failed in one run and passed in the next keeps the
        // failed run's output only.
        collector.add(&[
            TestEvent::output("example.com/m/p", Some("TestFail"), "second run\n".into()),
            passed("TestFail"),
        ]);
        let outputs = collector.outputs;
        assert_eq!(outputs.len(), 3, "{outputs:?}");
        assert!(!outputs[&("example.com/m/p".into(), "TestFail".into())].contains("second run"));
        let xml = junit(&sample(), Path::new("/m"), &outputs)
            .to_string()
            .unwrap();
        let doc = parse(&xml);
        let fail = case(&doc, "TestFail");
        assert!(failure_of(fail).text().unwrap().contains("want 2, got 3"));
        let out = fail
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        assert!(out.text().unwrap().contains("=== RUN   TestFail"));
        assert!(
            case(&doc, "TestOK").children().all(|n| !n.is_element()),
            "no output kept for passing tests"
        );
        let skipped = case(&doc, "TestSkip")
            .children()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap();
        assert_eq!(
            skipped.attribute("message"),
            Some("p_test.go:20: needs network")
        );
    }

    #[test]
    fn bad_timings_do_not_panic() {
        let mut r = sample();
        r.packages[0].elapsed_ms = -1.0;
        r.packages[0].tests[0].elapsed_ms = f64::NAN;
        r.packages[0].tests[1].elapsed_ms = f64::INFINITY;
        assert!(junit(&r, Path::new("/m"), &TestOutputs::new())
            .to_string()
            .is_ok());
    }
}
