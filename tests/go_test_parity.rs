//! `go test` parity of flags, packages and verdicts: what `go test` does
//! with a flag, an environment setting or an odd package, leakcheck does
//! too (the fixtures in go-fixtures/parity check what a test can observe).

mod common;

use common::*;
use leakcheck::output::report::{PackageOutcome, TestOutcome};

const PASSING: &str = "package p\n\nimport \"testing\"\n\nfunc TestP(t *testing.T) {}\n";

/// Runs `go test` with `args` in `dir`, with the Go under test.
fn go_test(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("go")
        .arg("test")
        .args(args)
        .current_dir(dir)
        .env("PATH", go_path())
        .env_remove("GOFLAGS")
        .output()
        .expect("go runs")
}

#[test]
fn a_package_go_cannot_name_fails_alone_and_the_others_run() {
    let dir = go_module(&[
        ("ok/p_test.go", PASSING),
        ("with space/p_test.go", PASSING),
        ("ünï/p_test.go", PASSING),
    ]);
    let (out, report) = run_with_report(dir.path(), &["./..."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let outcome = |path: &str| {
        report
            .packages
            .iter()
            .find(|p| p.import_path == path)
            .unwrap_or_else(|| panic!("{path}: {stdout}"))
            .outcome
    };
    assert_eq!(outcome("example.com/m/ok"), PackageOutcome::Pass);
    assert_eq!(
        outcome("example.com/m/with space"),
        PackageOutcome::BuildError
    );
    assert_eq!(outcome("example.com/m/ünï"), PackageOutcome::BuildError);
    assert!(
        stdout.contains("malformed import path \"example.com/m/with space\""),
        "go's own message: {stdout}"
    );
}

#[test]
fn without_home_it_works_as_go_test_does() {
    let dir = go_module(&[("p/p_test.go", PASSING)]);
    let cache = tempfile::tempdir().unwrap();
    let out = leakcheck()
        .current_dir(dir.path())
        .env_remove("HOME")
        .env_remove("GOPATH")
        .env_remove("GOMODCACHE")
        .env_remove("XDG_CACHE_HOME")
        .env("GOCACHE", cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok  \texample.com/m/p\t"), "{stdout}");
}

const COVERED: &str =
    "package a\n\nfunc A(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t}\n\treturn 0\n}\n";

#[test]
fn coverage_is_shown_and_profiles_are_merged_as_go_test_merges_them() {
    let dir = go_module(&[
        ("a/a.go", COVERED),
        (
            "a/a_test.go",
            "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) { A(1) }\n",
        ),
        (
            "b/b.go",
            &COVERED
                .replace("package a", "package b")
                .replace("A(", "B("),
        ),
        (
            "b/b_test.go",
            "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) { B(1); B(0) }\n",
        ),
        ("c/c.go", "package c\n\nfunc C() int { return 1 }\n"),
    ]);
    let out = leakcheck()
        .current_dir(dir.path())
        .args(["--", "-coverprofile=lc.out", "./..."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let want = go_test(dir.path(), &["-count=1", "-coverprofile=go.out", "./..."]);
    assert!(want.status.success());
    let go_stdout = String::from_utf8_lossy(&want.stdout);
    // The same package lines but for their times.
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                ["ok  \t", "FAIL\t", "?   \t", "\t"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| {
                l.split('\t')
                    .filter(|f| !f.ends_with('s') || f.contains(' '))
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect()
    };
    let mut got = lines(&stdout);
    let mut wanted = lines(&go_stdout);
    got.sort();
    wanted.sort();
    assert_eq!(got, wanted, "leakcheck:\n{stdout}\ngo test:\n{go_stdout}");
    assert!(
        got.iter()
            .any(|l| l.contains("coverage: 66.7% of statements")),
        "{got:?}"
    );
    // The same blocks, whatever the order packages finished in.
    let profile = |name: &str| {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(lines[0], "mode: set", "{text}");
        lines.sort();
        lines
    };
    assert_eq!(profile("lc.out"), profile("go.out"));
}

#[test]
fn goflags_count_runs_every_test_that_many_times() {
    let dir = go_module(&[("p/p_test.go", PASSING)]);
    let (out, report) = run_command_with_report(
        leakcheck()
            .current_dir(dir.path())
            .env("GOFLAGS", "-count=3"),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report.packages[0].tests[0].runs, 3);
}

#[test]
fn fuzzing_is_refused_before_anything_is_built() {
    let dir = go_module(&[("p/p_test.go", PASSING)]);
    let out = leakcheck()
        .current_dir(dir.path())
        .args(["--", "-fuzz=FuzzX", "./p"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("leakcheck: -fuzz is not supported"),
        "{stderr}"
    );
}

#[test]
fn a_package_passes_when_its_binary_exits_zero() {
    // testify's suite tests run testing.RunTests with a test that fails on
    // purpose: its `--- FAIL` line is the binary's output, and the
    // package passes, as under `go test`.
    let dir = go_module(&[(
        "p/p_test.go",
        "package p\n\nimport (\n\t\"regexp\"\n\t\"testing\"\n)\n\nfunc TestInnerRunTests(t *testing.T) {\n\tmatch := func(pat, s string) (bool, error) { return regexp.MatchString(pat, s) }\n\tif testing.RunTests(match, []testing.InternalTest{{Name: \"TestInner\", F: func(t *testing.T) { t.Fatal(\"on purpose\") }}}) {\n\t\tt.Fatal(\"want the inner test to fail\")\n\t}\n}\n",
    )]);
    assert!(go_test(dir.path(), &["-count=1", "./..."]).status.success());
    let (out, report) = run_with_report(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(report.packages[0].outcome, PackageOutcome::Pass, "{stdout}");
    assert!(stdout.contains("ok  \texample.com/m/p\t"), "{stdout}");
}

#[test]
fn vet_fails_a_package_as_go_test_does() {
    let dir = go_module(&[
        (
            "v/v_test.go",
            "package v\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nfunc TestV(t *testing.T) { fmt.Printf(\"%d\\n\", \"x\") }\n",
        ),
        ("ok/p_test.go", PASSING),
    ]);
    let go = go_test(dir.path(), &["-count=1", "./..."]);
    assert!(!go.status.success());
    let (out, report) = run_with_report(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = report
        .packages
        .iter()
        .find(|p| p.import_path == "example.com/m/v")
        .unwrap();
    assert_eq!(v.outcome, PackageOutcome::BuildError, "{stdout}");
    assert!(
        stdout.contains("fmt.Printf format %d has arg \"x\" of wrong type string"),
        "{stdout}"
    );
    assert!(v.tests.is_empty(), "no test ran: {stdout}");
    // -vet=off, as under go test, runs it.
    let (_, report) = run_with_report(dir.path(), &["--", "-vet=off", "./v"]);
    assert_eq!(report.packages[0].outcome, PackageOutcome::Pass);
}

#[test]
fn examples_and_fuzz_seeds_are_checked_for_leaks() {
    let src = "package p\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nfunc block() { select {} }\n\nfunc Example_leak() {\n\tgo block() // example leak\n\tfmt.Println(\"hi\")\n\t// Output: hi\n}\n\nfunc Example_clean() {\n\tdone := make(chan bool)\n\tgo func() { close(done) }()\n\t<-done\n\tfmt.Println(\"ok\")\n\t// Output: ok\n}\n\nfunc FuzzSeeds(f *testing.F) {\n\tf.Add(1)\n\tf.Add(2)\n\tf.Fuzz(func(t *testing.T, n int) {\n\t\tif n == 2 {\n\t\t\tgo block() // seed leak\n\t\t}\n\t})\n}\n";
    let line = |marker: &str| 1 + src.lines().position(|l| l.ends_with(marker)).unwrap() as u32;
    let dir = go_module(&[("p/p_test.go", src)]);
    assert!(go_test(dir.path(), &["-count=1", "./..."]).status.success());
    let (out, report) = run_with_report(dir.path(), &["--grace", "200ms"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let test = |name: &str| {
        report.packages[0]
            .tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
    };
    assert_eq!(test("Example_clean").outcome, TestOutcome::Pass, "{stdout}");
    let leak = test("Example_leak");
    assert_eq!(leak.outcome, TestOutcome::Leak, "{stdout}");
    assert_eq!(
        leak.leaks[0].created_by.as_ref().unwrap().line,
        line("// example leak")
    );
    let fuzz = test("FuzzSeeds");
    assert_eq!(fuzz.outcome, TestOutcome::Leak, "{stdout}");
    assert_eq!(fuzz.leaks.len(), 1, "{stdout}");
    assert_eq!(
        fuzz.leaks[0].created_by.as_ref().unwrap().line,
        line("// seed leak")
    );
    assert_eq!(fuzz.leaks[0].subtest, "FuzzSeeds/seed#1", "{stdout}");
}

#[test]
fn a_toolchain_the_go_command_downloads_builds_with_the_hook() {
    // go.mod asks for a newer Go than the one installed: the go command
    // runs a toolchain from the module cache, where it refuses overlays.
    let dir = go_module(&[(
        "p/p_test.go",
        "package p\n\nimport (\n\t\"runtime\"\n\t\"testing\"\n)\n\nfunc TestVersion(t *testing.T) { t.Log(runtime.Version()) }\n\nfunc TestLeak(t *testing.T) { go func() { select {} }() }\n",
    )]);
    write(dir.path(), "go.mod", "module example.com/m\n\ngo 1.27.0\n");
    let (out, report) = run_command_with_report(
        leakcheck()
            .current_dir(dir.path())
            .env("GOTOOLCHAIN", "go1.27.3"),
        &["--grace", "100ms"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report.go_version, "go1.27.3");
    let tests = &report.packages[0].tests;
    let outcome = |name: &str| tests.iter().find(|t| t.name == name).unwrap().outcome;
    assert_eq!(outcome("TestVersion"), TestOutcome::Pass, "{stdout}");
    assert_eq!(outcome("TestLeak"), TestOutcome::Leak, "{stdout}");
}

#[test]
fn a_package_that_does_not_build_gives_go_tests_json_events() {
    let dir = go_module(&[(
        "b/b_test.go",
        "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) { undefined() }\n",
    )]);
    // Events without their times, as (action, package, import path,
    // failed build, output).
    let events = |stdout: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|e| {
                format!(
                    "{} {} {} {} {:?}",
                    e["Action"], e["Package"], e["ImportPath"], e["FailedBuild"], e["Output"]
                )
            })
            .collect()
    };
    let want = go_test(dir.path(), &["-json", "-count=1", "./..."]);
    let got = leakcheck()
        .current_dir(dir.path())
        .args(["--json", "./..."])
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(2));
    if go_minor() >= 24 {
        assert_eq!(events(&got.stdout), events(&want.stdout));
    } else {
        // Before Go 1.24 go test prints the compiler's output as text.
        let got = String::from_utf8_lossy(&got.stdout);
        assert!(got.contains("undefined: undefined"), "{got}");
        assert!(
            got.contains("FAIL\\texample.com/m/b [build failed]"),
            "{got}"
        );
    }
}

/// The lines of `go test`'s output for failed tests (timings taken out),
/// up to the package's FAIL line.
fn failure_lines(stdout: &[u8]) -> Vec<String> {
    let time = regex::Regex::new(r"\(\d+\.\d+s\)").unwrap();
    String::from_utf8_lossy(stdout)
        .lines()
        .take_while(|l| !l.starts_with("FAIL\t"))
        .map(|l| time.replace(l, "(T)").into_owned())
        .collect()
}

#[test]
fn a_failed_tests_output_sits_under_its_header_as_go_test_prints_it() {
    let dir = go_module(&[(
        "a/a_test.go",
        r#"package a

import (
	"fmt"
	"testing"
)

func TestNest(t *testing.T) {
	fmt.Println("printed by TestNest")
	t.Log("top log\nsecond line")
	t.Run("ok", func(t *testing.T) { t.Log("ok log"); fmt.Println("printed by ok") })
	t.Run("bad", func(t *testing.T) {
		t.Log("bad log")
		fmt.Print("printed by bad\n")
		t.Run("deep", func(t *testing.T) { t.Error("deep err") })
		t.Log("after deep")
	})
	t.Run("skip", func(t *testing.T) { t.Skip("why") })
	t.Error("top err")
}

// What a test that passes prints is shown too, since the package fails.
func TestPasses(t *testing.T) { t.Log("not shown"); fmt.Println("printed by TestPasses") }

func TestPlain(t *testing.T) { fmt.Println("printed by TestPlain"); t.Fatal("plain") }

func TestLeaksToo(t *testing.T) {
	go func() { select {} }()
	t.Log("leaking")
	t.Fail()
}
"#,
    )]);
    let go = go_test(dir.path(), &["./a"]);
    let lc = leakcheck()
        .current_dir(dir.path())
        .arg("./a")
        .output()
        .unwrap();
    let want = failure_lines(&go.stdout);
    let mut got = failure_lines(&lc.stdout);
    // leakcheck adds the leak block after the failed test's lines.
    let leak_at = got
        .iter()
        .position(|l| l.starts_with("--- LEAK: TestLeaksToo"))
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&lc.stdout)));
    let leak_end = got[leak_at + 1..]
        .iter()
        .position(|l| !l.starts_with("    "))
        .map_or(got.len(), |n| leak_at + 1 + n);
    got.drain(leak_at..leak_end);
    assert_eq!(
        got,
        want,
        "go test:\n{}\nleakcheck:\n{}",
        String::from_utf8_lossy(&go.stdout),
        String::from_utf8_lossy(&lc.stdout)
    );
    assert!(want.len() >= 19, "{want:?}");
    assert!(
        want.iter().any(|l| l == "printed by TestPasses"),
        "{want:?}"
    );
}

#[test]
fn a_nested_run_tests_with_captured_output_adds_no_test() {
    // As testify's suite tests do: a test runs testing.RunTests with a
    // name of its own while stdout goes elsewhere. go test shows nothing
    // of the inner run; leakcheck neither, unless it leaked.
    let src = r#"package a

import (
	"os"
	"testing"
)

func nested(t *testing.T, name string, f func(*testing.T)) {
	saved := os.Stdout
	r, w, _ := os.Pipe()
	os.Stdout = w
	go func() { buf := make([]byte, 4096); for { if _, err := r.Read(buf); err != nil { return } } }()
	testing.RunTests(func(string, string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: t.Name() + "/" + name, F: f}})
	os.Stdout = saved
	w.Close()
}

func TestOuterFails(t *testing.T) {
	nested(t, "Inner", func(t *testing.T) { t.Error("the inner run fails on purpose") })
}

func TestOuterLeaks(t *testing.T) {
	nested(t, "Leaky", func(t *testing.T) { go func() { select {} }() })
}
"#;
    let dir = go_module(&[("a/a_test.go", src)]);
    let go = go_test(dir.path(), &["-run", "TestOuterFails", "./..."]);
    assert!(
        go.status.success(),
        "{}",
        String::from_utf8_lossy(&go.stdout)
    );
    let (out, report) = run_with_report(dir.path(), &["./...", "--", "-run", "TestOuterFails"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let names: Vec<&str> = report.packages[0]
        .tests
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["TestOuterFails"], "{stdout}");
    // A leak in such a run is still reported.
    let (out, report) = run_with_report(dir.path(), &["./...", "--", "-run", "TestOuterLeaks"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let leaked: Vec<(&str, TestOutcome)> = report.packages[0]
        .tests
        .iter()
        .filter(|t| !t.leaks.is_empty())
        .map(|t| (t.name.as_str(), t.outcome))
        .collect();
    assert!(!leaked.is_empty(), "{stdout}");
}
