//! Output is passed on as tests end, not held until their package ends;
//! and a package is not started again when no test of it is left.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{go_module, go_path, run_with_report};
use leakcheck::output::report::TestOutcome;

/// TestFirst prints and passes; TestSecond waits (a minute at most) for
/// the file `$STREAM_GATE`, which the Rust test creates once it has read
/// TestFirst's end from leakcheck's stdout: only if leakcheck passed it on
/// while the package still ran.
const GATED: &str = r#"package a

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// A PASS line before any test (which leakcheck could take for the
// binary's own) must not hold back what follows it.
func TestMain(m *testing.M) {
	fmt.Println("PASS")
	os.Exit(m.Run())
}

func TestFirst(t *testing.T) {
	fmt.Println("first says hello")
}

func TestSecond(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(os.Getenv("STREAM_GATE")); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the gate never opened: TestFirst's end was not printed while the package ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
"#;

/// Runs leakcheck with `args` on the gated module, opening the gate when
/// a line of its stdout satisfies `first_ended`; returns its stdout and
/// whether the gate was opened before the run ended.
fn gated_run(args: &[&str], first_ended: impl Fn(&str) -> bool) -> (Option<i32>, String, bool) {
    let dir = go_module(&[("a/a_test.go", GATED)]);
    let gate = dir.path().join("gate");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakcheck"))
        .current_dir(dir.path())
        .env("PATH", go_path())
        .env_remove("GOFLAGS")
        .env("LEAKCHECK_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("STREAM_GATE", &gate)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut opened = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if !opened && first_ended(&line) {
            std::fs::write(&gate, "").unwrap();
            opened = true;
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().unwrap();
    (status.code(), stdout, opened)
}

#[test]
fn json_events_are_printed_as_each_test_ends() {
    let (code, stdout, opened) = gated_run(&["--json", "./..."], |line| {
        line.contains(r#""Action":"pass""#) && line.contains(r#""Test":"TestFirst""#)
    });
    assert!(opened, "TestFirst's end never came:\n{stdout}");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(r#""Action":"pass","Package":"example.com/m/a","Test":"TestSecond""#),
        "{stdout}"
    );
}

#[test]
fn verbose_lines_are_printed_as_each_test_ends() {
    let (code, stdout, opened) = gated_run(&["-v", "./..."], |line| {
        line.starts_with("--- PASS: TestFirst")
    });
    assert!(opened, "TestFirst's end never came:\n{stdout}");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("--- PASS: TestSecond"), "{stdout}");
}

const PANICS: &str = r#"
func TestPanics(t *testing.T) {
	panic("boom")
}
"#;

#[test]
fn no_fresh_process_is_started_when_no_test_is_left() {
    // Package one has only the test that crashes its binary: nothing is
    // resumed. Package two has another test after it (and a TestMain,
    // a fuzz target and an example behind a comment): it is resumed, and
    // runs.
    let one = format!("package one\n\nimport \"testing\"\n{PANICS}");
    let two = format!(
        "package two\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n\
         func TestMain(m *testing.M) {{ os.Exit(m.Run()) }}\n{PANICS}\n\
         func /* later */ TestAfter(t *testing.T) {{}}\n\n\
         func FuzzSeed(f *testing.F) {{\n\tf.Fuzz(func(t *testing.T, b []byte) {{}})\n}}\n"
    );
    // Package three: after the crash, a TestMain that takes a *testing.T
    // (an ordinary test) and a declaration after a comment are left.
    let three = format!(
        "package three\n\nimport \"testing\"\n{PANICS}\n\
         func TestMain(t *testing.T) {{ t.Log(\"an ordinary test\") }}\n\n\
         /* c */ func TestZ(t *testing.T) {{}}\n"
    );
    let dir = go_module(&[
        ("one/one_test.go", &one),
        ("two/two_test.go", &two),
        ("three/three_test.go", &three),
    ]);
    let (out, report) = run_with_report(dir.path(), &["-j", "1", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let resumed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("resuming the remaining tests"))
        .collect();
    assert_eq!(
        resumed,
        [
            "leakcheck: resuming the remaining tests of example.com/m/three in a fresh process",
            "leakcheck: resuming the remaining tests of example.com/m/two in a fresh process"
        ],
        "{stdout}"
    );
    let tests = |pkg: &str| -> Vec<(String, TestOutcome)> {
        let p = report
            .packages
            .iter()
            .find(|p| p.import_path == pkg)
            .unwrap();
        p.tests
            .iter()
            .map(|t| (t.name.clone(), t.outcome))
            .collect()
    };
    assert_eq!(
        tests("example.com/m/one"),
        [("TestPanics".to_string(), TestOutcome::Crash)]
    );
    assert_eq!(
        tests("example.com/m/three"),
        [
            ("TestPanics".to_string(), TestOutcome::Crash),
            ("TestMain".to_string(), TestOutcome::Pass),
            ("TestZ".to_string(), TestOutcome::Pass),
        ]
    );
    assert_eq!(
        tests("example.com/m/two"),
        [
            ("TestPanics".to_string(), TestOutcome::Crash),
            ("TestAfter".to_string(), TestOutcome::Pass),
            ("FuzzSeed".to_string(), TestOutcome::Pass),
        ]
    );
}

#[test]
fn benchmarks_after_a_crash_still_run() {
    // Benchmarks are not declared tests: with -bench, the binary is
    // resumed after the last test crashed, and the benchmark runs.
    let src = format!(
        "package b\n\nimport \"testing\"\n{PANICS}\n\
         func BenchmarkAfter(b *testing.B) {{ b.Log(\"benchmark ran\") }}\n"
    );
    let dir = go_module(&[("b/b_test.go", &src)]);
    let (out, _) = run_with_report(
        dir.path(),
        &["./...", "--", "-bench", ".", "-benchtime", "1x"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("resuming the remaining tests"), "{stdout}");
    assert!(stdout.contains("benchmark ran"), "{stdout}");
}

/// Package a ends only once package b's loud test is done (`$LOUD_DONE`),
/// so with `-j 2` all of b's output waits for its turn: 200,000 lines,
/// more than the memory waiting packages may use (an event counts a few
/// hundred bytes), so most of it goes through a temporary file.
const WAITS_FOR_LOUD: &str = r#"package a

import (
	"os"
	"testing"
	"time"
)

func TestWaitsForLoud(t *testing.T) {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv("LOUD_DONE")); err == nil {
			return
		}
	}
	t.Fatal("TestLoud never finished")
}
"#;

const LOUD: &str = r#"package b

import (
	"bufio"
	"fmt"
	"os"
	"testing"
)

func TestLoud(t *testing.T) {
	w := bufio.NewWriter(os.Stdout)
	for i := 0; i < 200000; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	w.Flush()
	go func() { select {} }()
	if err := os.WriteFile(os.Getenv("LOUD_DONE"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAfterLoud(t *testing.T) { fmt.Println("after") }
"#;

#[test]
fn a_loud_package_waiting_for_its_turn_comes_out_whole_and_in_order() {
    let dir = go_module(&[("a/a_test.go", WAITS_FOR_LOUD), ("b/b_test.go", LOUD)]);
    let mut cmd = common::leakcheck();
    cmd.current_dir(dir.path())
        .env("LOUD_DONE", dir.path().join("loud-done"));
    let (out, report) = common::run_command_with_report(&mut cmd, &["--json", "-j", "2", "./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        &stdout[stdout.len().saturating_sub(3000)..]
    );
    let events: Vec<leakcheck::go::testjson::TestEvent> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // a's events all come first (it is listed first), then b's.
    let first_b = events
        .iter()
        .position(|e| e.package.as_deref() == Some("example.com/m/b"))
        .unwrap();
    assert!(events[first_b..]
        .iter()
        .all(|e| e.package.as_deref() == Some("example.com/m/b")));
    // Every line, once, in order, then the leak, then the next test.
    let lines: Vec<&str> = events[first_b..]
        .iter()
        .filter(|e| e.test.as_deref() == Some("TestLoud") && e.action == "output")
        .filter_map(|e| e.output.as_deref())
        .filter(|o| o.starts_with("line "))
        .collect();
    assert_eq!(lines.len(), 200_000);
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("line {i}\n")));
    let pos = |pred: &dyn Fn(&leakcheck::go::testjson::TestEvent) -> bool| {
        events.iter().position(pred).unwrap()
    };
    let leak = pos(&|e| {
        e.output
            .as_deref()
            .is_some_and(|o| o.starts_with("--- LEAK: TestLoud"))
    });
    let after = pos(&|e| e.output.as_deref() == Some("after\n"));
    assert!(leak < after);
    assert!(!stdout.contains("could not be read back"));
    let outcome = |name: &str| {
        report
            .packages
            .iter()
            .flat_map(|p| &p.tests)
            .find(|t| t.name == name)
            .unwrap()
            .outcome
    };
    assert_eq!(outcome("TestWaitsForLoud"), TestOutcome::Pass);
    assert_eq!(outcome("TestLoud"), TestOutcome::Leak);
    assert_eq!(outcome("TestAfterLoud"), TestOutcome::Pass);
}
