//! Adoption in real codebases: ignore rules (command line and
//! leakcheck.toml, per package, with states), `//leakcheck:ignore`
//! directives, the config file and its errors, `leakcheck config`, and the
//! leak baseline cycle. Uses the `go-fixtures/adopt` module, whose
//! packages state each test's outcome and ignored count in a `want:` line,
//! and temporary modules for what must change between runs.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use leakcheck::output::report::{Report, TestOutcome, TestReport};

const MODULE: &str = "leakcheck.test/adopt";

fn adopt() -> PathBuf {
    fixtures().join("adopt")
}

fn test<'r>(report: &'r Report, pkg: &str, name: &str) -> &'r TestReport {
    report
        .packages
        .iter()
        .find(|p| p.import_path == pkg)
        .and_then(|p| p.tests.iter().find(|t| t.name == name))
        .unwrap_or_else(|| panic!("{pkg}.{name} not in the report"))
}

fn ignored(t: &TestReport) -> usize {
    t.ignored.iter().map(|i| i.count).sum()
}

#[test]
fn config_rules_and_directives_match_what_each_package_states() {
    let (out, report) = run_with_report(&adopt(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // `// want: TestX=outcome[/ignored:N]` in each package's doc comment.
    let mut checked = 0;
    for m in markers(&adopt(), MODULE) {
        for t in &m.tests {
            // Test names are unique in the module; a marker may sit in a
            // package other than the test's.
            let r = report
                .packages
                .iter()
                .flat_map(|p| &p.tests)
                .find(|r| &r.name == t)
                .unwrap_or_else(|| panic!("{t} not in the report"));
            let leak = r.leaks.iter().find(|l| {
                let c = l.created_by.as_ref().unwrap();
                Path::new(&c.file) == m.file && c.line == m.line
            });
            assert_eq!(
                leak.map(|l| l.count),
                Some(m.count),
                "{}:{} {t}: {r:?}",
                m.file.display(),
                m.line
            );
        }
    }
    for entry in walk(&adopt()) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let Some(line) = text.lines().find_map(|l| l.strip_prefix("// want: ")) else {
            continue;
        };
        let rel = entry.parent().unwrap().strip_prefix(adopt()).unwrap();
        let pkg = format!("{MODULE}/{}", rel.display());
        for spec in line.split_whitespace() {
            let (name, rest) = spec.split_once('=').unwrap();
            let (outcome, n) = match rest.split_once("/ignored:") {
                Some((o, n)) => (o, n.parse().unwrap()),
                None => (rest, 0),
            };
            let r = test(&report, &pkg, name);
            assert_eq!(r.outcome.as_str(), outcome, "{pkg}.{name}: {r:?}");
            assert_eq!(ignored(r), n, "{pkg}.{name} ignored: {:?}", r.ignored);
            if outcome == "pass" {
                assert!(r.leaks.is_empty(), "{pkg}.{name}: {:?}", r.leaks);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
    // The rule that matched is named.
    let pool = test(&report, &format!("{MODULE}/pool"), "TestPool");
    assert!(
        pool.ignored[0]
            .rule
            .starts_with("--ignore-top leakcheck.test/adopt/pool.(*Pool).worker"),
        "{:?}",
        pool.ignored
    );
    let dir = test(
        &report,
        &format!("{MODULE}/directives"),
        "TestDirectiveOnTest",
    );
    assert!(
        dir.ignored[0]
            .rule
            .contains("directives_test.go:9 (known leak, tracked in issue 42)"),
        "{:?}",
        dir.ignored
    );
    // The rule that matched nothing is stale, said once.
    assert_eq!(report.stale_rules.len(), 1, "{:?}", report.stale_rules);
    assert!(report.stale_rules[0].contains("leakcheck.test/adopt/nowhere.Start"));
    assert_eq!(
        stderr.matches("ignored no goroutine in this run").count(),
        1,
        "{stderr}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "go") {
            out.push(p);
        }
    }
    out
}

#[test]
fn command_line_rules_with_states_and_verbose_explanations() {
    // netish leaks its writer (chan send); a command-line rule for that
    // state ignores it too. perpkg/b's goroutine is ignored by prefix.
    let out = leakcheck()
        .current_dir(adopt())
        .args([
            "-v",
            "--ignore-created-by",
            "leakcheck.test/adopt/netish.*",
            "--ignore-state",
            "chan send",
            "--ignore-created-by",
            "leakcheck.test/adopt/perpkg.*",
            "./netish",
            "./perpkg/b",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 goroutine(s) of TestReaderAndWriter ignored by --ignore-created-by leakcheck.test/adopt/netish.* --ignore-state 'chan send'"),
        "{stdout}"
    );
    assert!(stdout.contains("1 goroutine(s) of TestStartInB ignored by --ignore-created-by leakcheck.test/adopt/perpkg.*"), "{stdout}");
    // The state is a condition: in another state the rule does not apply.
    let (out, report) = run_with_report(
        &adopt(),
        &[
            "--ignore-created-by",
            "leakcheck.test/adopt/perpkg.*",
            "--ignore-state",
            "select",
            "./perpkg/b",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        test(&report, &format!("{MODULE}/perpkg/b"), "TestStartInB").outcome,
        TestOutcome::Leak
    );
    // Rules that ignored nothing in this run are reported, the file's
    // included (only two packages ran).
    assert!(
        report
            .stale_rules
            .iter()
            .any(|r| r
                == "--ignore-created-by leakcheck.test/adopt/perpkg.* --ignore-state 'select'"),
        "{:?}",
        report.stale_rules
    );
}

#[test]
fn no_default_ignores_and_config_off_switch() {
    // With the file's rules and without the built-ins, a clean test stays
    // clean: the testing package's goroutines are not new to it.
    let (out, report) = run_with_report(&fixtures(), &["--no-default-ignores", "./clean"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(report.packages[0]
        .tests
        .iter()
        .all(|t| t.outcome == TestOutcome::Pass));
}

#[test]
fn directive_without_a_reason_is_a_usage_error_at_its_line() {
    let dir = go_module(&[
        ("p/p.go", "package p\n\nvar never = make(chan int)\n\nfunc Start() {\n\tgo func() { <-never }() //leakcheck:ignore\n}\n"),
        ("p/p_test.go", "package p\n\nimport \"testing\"\n\nfunc TestStart(t *testing.T) { Start() }\n"),
    ]);
    let out = leakcheck().current_dir(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("p/p.go:6: //leakcheck:ignore needs a reason"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing was built or run");
}

#[test]
fn config_file_errors_name_file_line_and_key() {
    let dir = go_module(&[(
        "p/p_test.go",
        "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
    )]);
    for (toml, needle) in [
        (
            "grace = \"1s\"\ngraec = \"2s\"\n",
            "leakcheck.toml:2: unknown field `graec`",
        ),
        (
            "\ntest-timeout = \"forever\"\n",
            "leakcheck.toml:2: test-timeout: invalid duration",
        ),
        (
            "[[ignore]]\nstate = \"select\"\n",
            "leakcheck.toml:1: ignore: give exactly one of",
        ),
        ("grace = 5\n", "leakcheck.toml:1: invalid type"),
    ] {
        write(dir.path(), "leakcheck.toml", toml);
        let out = leakcheck().current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {stderr}");
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
    // --config names another file; the command line overrides it.
    write(dir.path(), "leakcheck.toml", "grace = \"nonsense\"\n");
    write(
        dir.path(),
        "other.toml",
        "grace = \"3s\"\ngo-test-args = [\"-count=2\"]\n",
    );
    let out = leakcheck()
        .current_dir(dir.path())
        .args(["config", "--config", "other.toml", "--test-timeout", "5s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("grace = \"3s\"  # ") && stdout.contains("other.toml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test-timeout = \"5s\"  # command line"),
        "{stdout}"
    );
    assert!(stdout.contains("go-test-args = [\"-count=2\"]"), "{stdout}");
    assert!(
        stdout.contains("default-ignores = true  # default"),
        "{stdout}"
    );
}

#[test]
fn baseline_cycle_known_new_and_fixed() {
    let dir = go_module(&[]);
    let root = dir.path();
    let leaky =
        |name: &str| format!("func {name}(t *testing.T) {{\n\tgo func() {{ <-never }}()\n}}\n\n");
    let source = |tests: &[&str]| {
        let mut s =
            String::from("package p\n\nimport \"testing\"\n\nvar never = make(chan int)\n\n");
        for t in tests {
            s.push_str(&leaky(t));
        }
        s.push_str("func TestClean(t *testing.T) {}\n");
        s
    };
    write(root, "p/p_test.go", &source(&["TestOldA", "TestOldB"]));
    let base = root.join("leakcheck-baseline.json");
    let write_baseline = || {
        leakcheck()
            .current_dir(root)
            .args([
                "--grace",
                "200ms",
                "--write-baseline",
                "leakcheck-baseline.json",
            ])
            .output()
            .unwrap()
    };
    // 1. Record the existing leaks.
    let out = write_baseline();
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&base).unwrap();
    let b: leakcheck::detect::baseline::Baseline = serde_json::from_str(&text).unwrap();
    let tests: Vec<&str> = b.leaks.iter().map(|e| e.test.as_str()).collect();
    assert_eq!(tests, vec!["TestOldA", "TestOldB"]);
    assert!(
        b.leaks
            .iter()
            .all(|e| e.file == "p/p_test.go" && e.package == "example.com/m/p"),
        "{text}"
    );

    // 2. With the baseline, the same code passes; leaks are known.
    let (out, report) = run_with_report(
        root,
        &["--grace", "200ms", "--baseline", "leakcheck-baseline.json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let a = test(&report, "example.com/m/p", "TestOldA");
    assert_eq!(a.outcome, TestOutcome::Pass);
    assert!(a.leaks.len() == 1 && a.leaks[0].known, "{a:?}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("--- LEAK (known, in the baseline): TestOldA"));

    // 3. A new leak fails alone; lines moved by the edit do not matter.
    write(
        root,
        "p/p_test.go",
        &("// a new comment line\n".to_string() + &source(&["TestOldA", "TestOldB", "TestNew"])),
    );
    let (out, report) = run_with_report(
        root,
        &["--grace", "200ms", "--baseline", "leakcheck-baseline.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let failing: Vec<&str> = report.packages[0]
        .tests
        .iter()
        .filter(|t| t.outcome.is_failure())
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(failing, vec!["TestNew"]);

    // 4. Fixing an old leak lists its entry as fixed.
    write(
        root,
        "p/p_test.go",
        &source(&["TestOldA"]).replace(
            "func TestClean",
            "func TestOldB(t *testing.T) {}\n\nfunc TestClean",
        ),
    );
    let (out, report) = run_with_report(
        root,
        &["--grace", "200ms", "--baseline", "leakcheck-baseline.json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let fixed: Vec<&str> = report
        .baseline_fixed
        .iter()
        .map(|e| e.test.as_str())
        .collect();
    assert_eq!(fixed, vec!["TestOldB"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Fixed since the baseline"));
    // Rewriting the baseline shrinks it.
    let out = write_baseline();
    assert_eq!(out.status.code(), Some(1));
    let b: leakcheck::detect::baseline::Baseline =
        serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(b.leaks.len(), 1);
}
