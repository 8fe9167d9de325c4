//! CI-grade output, end to end: JUnit XML parsed back, GitHub annotations
//! at the creation line, the `--json` stream through gotestsum, sharding
//! with `--partition` and `merge-reports`, and no escape codes off a
//! terminal. The pure parts (escaping, partition arithmetic, JUnit shape,
//! colouring) are unit-tested in their modules.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use leakcheck::output::report::Report;

const MODULE: &str = "leakcheck.test/fixtures";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// 1-based number of the first line of `file` containing `needle`.
fn line_of(file: &Path, needle: &str) -> u32 {
    let body = std::fs::read_to_string(file).unwrap();
    body.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display())) as u32
        + 1
}

/// How annotations spell `dir`: relative to the git work tree's root when
/// there is one (with a trailing `/`), else empty (the run directory is
/// the root).
fn repo_prefix(dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let top = PathBuf::from(text(&o.stdout).trim());
            let dir = dir.canonicalize().unwrap();
            let rel = dir.strip_prefix(top.canonicalize().unwrap()).unwrap();
            if rel.as_os_str().is_empty() {
                String::new()
            } else {
                format!("{}/", rel.display())
            }
        }
        _ => String::new(),
    }
}

fn testcase<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

fn child<'a>(node: roxmltree::Node<'a, 'a>, tag: &str) -> Option<roxmltree::Node<'a, 'a>> {
    node.children().find(|n| n.has_tag_name(tag))
}

fn suite<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testsuite {name}"))
}

#[test]
fn junit_has_suites_leaks_skips_failures_and_build_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    write(m, "go.mod", "module example.com/ci\n\ngo 1.21\n");
    write(
        m,
        "good/good.go",
        "package good\n\nfunc Two() int { return 2 }\n",
    );
    write(
        m,
        "good/good_test.go",
        "package good\n\nimport \"testing\"\n\n\
         func TestTwo(t *testing.T) {\n\tif Two() != 2 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n\n\
         func TestSkipped(t *testing.T) { t.Skip(\"needs a network\") }\n\n\
         func TestFails(t *testing.T) { t.Error(\"want 2, got 3\") }\n\n\
         func TestLeaks(t *testing.T) {\n\tblock := make(chan int)\n\tfor i := 0; i < 2; i++ {\n\t\tgo func() { block <- 1 }() // the leak\n\t}\n}\n",
    );
    write(
        m,
        "bad/bad.go",
        "package bad\n\nfunc Three() int { return 3\n",
    );
    write(
        m,
        "bad/bad_test.go",
        "package bad\n\nimport \"testing\"\n\nfunc TestThree(t *testing.T) {}\n",
    );
    let junit = m.join("out/junit.xml");
    std::fs::create_dir_all(junit.parent().unwrap()).unwrap();
    let out = leakcheck()
        .current_dir(m)
        .env_remove("GITHUB_ACTIONS")
        .args(["--grace", "200ms", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    // A package failed to build: exit 2, and the JUnit file is written.
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("5"), "{xml}");
    assert_eq!(root.attribute("failures"), Some("3"), "{xml}");
    assert_eq!(root.attribute("skipped"), Some("1"), "{xml}");

    let good = suite(&doc, "example.com/ci/good");
    assert_eq!(good.attribute("tests"), Some("4"));
    assert_eq!(good.attribute("failures"), Some("2"));
    assert_eq!(good.attribute("skipped"), Some("1"));
    for case in good.children().filter(|n| n.has_tag_name("testcase")) {
        assert_eq!(case.attribute("classname"), Some("example.com/ci/good"));
    }
    assert!(child(testcase(&doc, "TestTwo"), "failure").is_none());

    let site = format!(
        "good/good_test.go:{}",
        line_of(&m.join("good/good_test.go"), "// the leak")
    );
    let leak = child(testcase(&doc, "TestLeaks"), "failure").expect("a leak is a failure");
    assert_eq!(leak.attribute("type"), Some("leak"));
    assert_eq!(
        leak.attribute("message"),
        Some(format!("leaked 2 goroutines, first created at {site}").as_str())
    );
    let body = leak.text().unwrap();
    assert!(
        body.starts_with("--- LEAK: TestLeaks (2 goroutines)\n"),
        "{body}"
    );
    assert!(body.contains(&format!("created at  {site} by ")), "{body}");

    let fails = child(testcase(&doc, "TestFails"), "failure").unwrap();
    assert_eq!(fails.attribute("type"), Some("fail"));
    assert!(fails.text().unwrap().contains("want 2, got 3"), "{xml}");

    let skipped = child(testcase(&doc, "TestSkipped"), "skipped").expect("skipped");
    assert!(
        skipped
            .attribute("message")
            .unwrap()
            .contains("needs a network"),
        "{xml}"
    );

    let bad = suite(&doc, "example.com/ci/bad");
    assert_eq!(bad.attribute("tests"), Some("1"));
    assert_eq!(bad.attribute("failures"), Some("1"));
    let build = testcase(&doc, "[build failed]");
    assert_eq!(build.attribute("classname"), Some("example.com/ci/bad"));
    let failure = child(build, "failure").unwrap();
    assert_eq!(failure.attribute("type"), Some("build-error"));
    assert!(failure.text().unwrap().contains("bad.go:"), "{xml}");
}

#[test]
fn github_annotations_point_at_the_creation_line() {
    let handler = fixtures().join("handler/handler.go");
    let line = line_of(&handler, "// want-leak: TestQuery");
    let want = format!(
        "::error file={}handler/handler.go,line={line},title=TestQuery leaked 1 goroutine::1 goroutine [chan send] started here outlived TestQuery ({MODULE}/handler)%0Ablocked at ",
        repo_prefix(&fixtures())
    );
    let run = |env: Option<&str>, args: &[&str]| {
        let mut cmd = leakcheck();
        cmd.current_dir(fixtures()).env_remove("GITHUB_ACTIONS");
        if let Some(v) = env {
            cmd.env("GITHUB_ACTIONS", v);
        }
        let out = cmd
            .args(["--grace", "200ms"])
            .args(args)
            .arg("./handler")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        out
    };

    // On GitHub Actions: after the human report, on stdout.
    let out = run(Some("true"), &[]);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("{want} in:\n{stdout}"));
    let summary = lines
        .iter()
        .position(|l| l.starts_with("leakcheck: 2 tests"))
        .unwrap();
    assert!(at > summary, "annotations come after the report:\n{stdout}");
    assert_eq!(stdout.matches("::error ").count(), 1, "{stdout}");

    // With --json they go to stderr, and stdout stays pure JSON.
    let out = run(Some("true"), &["--json"]);
    for l in text(&out.stdout).lines() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
    }
    assert!(
        text(&out.stderr).lines().any(|l| l.starts_with(&want)),
        "{}",
        show(&out)
    );

    // Off: --annotations none, and outside GitHub Actions by default;
    // --annotations github turns them on anywhere.
    let out = run(Some("true"), &["--annotations", "none"]);
    assert!(!text(&out.stdout).contains("::error"), "{}", show(&out));
    let out = run(None, &[]);
    assert!(!text(&out.stdout).contains("::error"), "{}", show(&out));
    let out = run(Some("false"), &["--annotations", "github"]);
    assert!(
        text(&out.stdout).lines().any(|l| l.starts_with(&want)),
        "{}",
        show(&out)
    );
}

#[test]
fn hung_and_crashed_tests_in_junit_and_annotations() {
    let hard = fixtures().join("hard");
    let junit = tempfile::NamedTempFile::new().unwrap();
    let out = leakcheck()
        .current_dir(&hard)
        .env("GITHUB_ACTIONS", "true")
        .args(["--grace", "200ms", "--test-timeout", "2s", "--junit"])
        .arg(junit.path())
        .args(["./hangrecv", "./panictest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let xml = std::fs::read_to_string(junit.path()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let hang = child(testcase(&doc, "TestHangRecv"), "failure").expect("hang is a failure");
    assert_eq!(hang.attribute("type"), Some("hang"));
    assert!(
        hang.attribute("message")
            .unwrap()
            .starts_with("TestHangRecv "),
        "{xml}"
    );
    assert!(hang.text().unwrap().contains("recvForever"), "{xml}");
    let crash = child(testcase(&doc, "TestPanicInTest"), "failure").expect("crash is a failure");
    assert_eq!(crash.attribute("type"), Some("crash"));
    assert!(
        crash
            .attribute("message")
            .unwrap()
            .starts_with("panic: boom in test"),
        "{xml}"
    );
    assert!(child(testcase(&doc, "TestHangAfter1"), "failure").is_none());

    // The hung test at its own goroutine's blocking line; the crash at the
    // panicking line.
    let prefix = repo_prefix(&hard);
    let stdout = text(&out.stdout);
    let hang_at = format!(
        "::error file={prefix}hangrecv/hangrecv_test.go,line={},title=TestHangRecv hung (leakcheck.test/hard/hangrecv)::",
        line_of(&hard.join("hangrecv/hangrecv_test.go"), "return <-ch")
    );
    let crash_at = format!(
        "::error file={prefix}panictest/panictest_test.go,line={},title=TestPanicInTest crashed (leakcheck.test/hard/panictest)::panic: boom in test",
        line_of(&hard.join("panictest/panictest_test.go"), "panic(\"boom in test\")")
    );
    for want in [hang_at, crash_at] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&want)),
            "{want} in:\n{stdout}"
        );
    }
}

/// Installs gotestsum into a directory kept between test runs; `None`
/// when the Go module proxy cannot be reached.
fn gotestsum() -> Option<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gotestsum-bin");
    let exe = bin.join("gotestsum");
    if exe.is_file() {
        return Some(exe);
    }
    // The machine's own Go: gotestsum may need a newer Go than the one
    // under test.
    let out = std::process::Command::new("go")
        .args(["install", "gotest.tools/gotestsum@v1.13.0"])
        .env("GOBIN", &bin)
        .env_remove("GOFLAGS")
        .output()
        .expect("go runs");
    if out.status.success() {
        return Some(exe);
    }
    let err = text(&out.stderr);
    let unreachable = [
        "dial tcp",
        "no such host",
        "connection refused",
        "connection reset",
        "i/o timeout",
        "network is unreachable",
        "TLS handshake timeout",
        "proxyconnect",
        "Temporary failure in name resolution",
        "server misbehaving",
    ];
    if unreachable.iter().any(|n| err.contains(n)) {
        // Written to the real stderr (not captured), so it is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\nSKIPPED json_stream_works_with_gotestsum: the Go module proxy is unreachable, \
             gotestsum could not be installed:\n{err}"
        );
        return None;
    }
    panic!("go install gotest.tools/gotestsum@v1.13.0 failed:\n{err}");
}

#[test]
fn json_stream_works_with_gotestsum() {
    let Some(gotestsum) = gotestsum() else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("leakcheck");
    let out = std::process::Command::new(&gotestsum)
        .current_dir(fixtures())
        .env("PATH", go_path())
        .env_remove("GOFLAGS")
        .env_remove("GITHUB_ACTIONS")
        .args(["--format", "testname", "--raw-command", "--"])
        .arg(&bin)
        .args(["--grace", "200ms", "--json", "./handler", "./clean"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout.contains("FAIL handler.TestQuery "), "{}", show(&out));
    assert!(
        stdout.contains("PASS handler.TestQueryFixed "),
        "{}",
        show(&out)
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "PASS clean"),
        "{}",
        show(&out)
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "FAIL handler"),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains("--- LEAK: TestQuery (1 goroutine; checked in "),
        "the leak block reaches gotestsum: {}",
        show(&out)
    );
    assert!(stdout.contains("1 failure"), "{}", show(&out));
}

/// The parts of a report that do not depend on timing: packages sorted,
/// tests sorted, and for each leak group everything but its goroutine
/// IDs, stack and `proven` (which depends on when the collector ran);
/// run-wide lists sorted.
fn shape(report: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(report).unwrap();
    for list in ["stale_rules", "baseline_fixed"] {
        if let Some(items) = v.get_mut(list).and_then(|l| l.as_array_mut()) {
            items.sort_by_key(|i| i.to_string());
        }
    }
    let packages = v["packages"].as_array_mut().unwrap();
    packages.sort_by(|a, b| a["import_path"].as_str().cmp(&b["import_path"].as_str()));
    for p in packages.iter_mut() {
        p.as_object_mut().unwrap().remove("elapsed_ms");
        let tests = p["tests"].as_array_mut().unwrap();
        tests.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        for t in tests.iter_mut() {
            t.as_object_mut().unwrap().remove("elapsed_ms");
            t.as_object_mut().unwrap().remove("check_ms");
            // Goroutines an ignore rule exempted depend on the moment of
            // the dump too: a subtest's goroutine still exiting at its
            // test's end is counted under `--ignore-created-by testing.*`
            // in one run and gone in the next.
            t.as_object_mut().unwrap().remove("ignored");
            let leaks = t["leaks"].as_array_mut().unwrap();
            for l in leaks.iter_mut() {
                let l = l.as_object_mut().unwrap();
                // What the moment of the dump decides: a ticker's
                // goroutine is `runnable` in one and `chan receive` in
                // the next.
                for k in ["goroutine_ids", "stack", "proven", "state"] {
                    l.remove(k);
                }
                // Goroutine IDs in creation chains differ between runs.
                if let Some(chain) = l.get_mut("chain").and_then(|c| c.as_array_mut()) {
                    for frame in chain {
                        frame.as_object_mut().unwrap().remove("goroutine");
                    }
                }
            }
            leaks.sort_by_key(|l| l.to_string());
        }
    }
    v
}

fn packages_of(report: &Report) -> Vec<String> {
    report
        .packages
        .iter()
        .map(|p| p.import_path.clone())
        .collect()
}

#[test]
fn shards_cover_the_fixtures_once_and_merge_back_to_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--grace", "200ms", "./..."];
    let (out, whole) = run_with_report(&fixtures(), &args);
    assert_eq!(out.status.code(), Some(whole.exit_code()), "{}", show(&out));
    assert_ne!(whole.exit_code(), 0, "the fixtures leak");
    let mut all = packages_of(&whole);
    all.sort();
    assert!(all.len() >= 15, "{all:?}");
    for (kind, n) in [("count", 2), ("hash", 3)] {
        let mut shards = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for m in 1..=n {
            let spec = format!("{kind}:{m}/{n}");
            let path = dir.path().join(format!("{kind}-{m}.json"));
            let out = leakcheck()
                .current_dir(fixtures())
                .args(["--partition", &spec, "--report"])
                .arg(&path)
                .args(args)
                .output()
                .unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{spec}: {}",
                show(&out)
            );
            let report: Report =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for p in packages_of(&report) {
                assert!(!seen.contains(&p), "{p} in two {kind} shards");
                seen.push(p);
            }
            if kind == "count" {
                // Round-robin over the sorted list: sizes differ by at most one.
                assert!(report.packages.len().abs_diff(all.len() / n) <= 1);
            }
            shards.push(path);
        }
        seen.sort();
        assert_eq!(seen, all, "{kind}:M/{n} covers every package once");

        let merged_path = dir.path().join(format!("{kind}-merged.json"));
        let junit = dir.path().join(format!("{kind}-merged.xml"));
        let out = leakcheck()
            .arg("merge-reports")
            .arg("--junit")
            .arg(&junit)
            .arg("-o")
            .arg(&merged_path)
            .args(&shards)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(whole.exit_code()),
            "merge-reports exits as the run did: {}",
            show(&out)
        );
        let merged: Report =
            serde_json::from_str(&std::fs::read_to_string(&merged_path).unwrap()).unwrap();
        assert_eq!(merged.summary, whole.summary);
        assert_eq!(
            shape(&merged),
            shape(&whole),
            "{kind}: merged shards equal the whole run"
        );
        let xml = std::fs::read_to_string(&junit).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(
            doc.root_element().attribute("tests"),
            Some(whole.summary.tests.to_string().as_str())
        );
    }
}

#[test]
fn bad_partitions_are_usage_errors() {
    for (spec, needle) in [
        ("count:0/2", "shard 0 is not between 1 and 2"),
        ("count:3/2", "shard 3 is not between 1 and 2"),
        ("hash:1/0", "the shard count must be at least 1"),
        ("round:1/2", "unknown kind \"round\""),
        ("count:1", "expected count:M/N or hash:M/N"),
    ] {
        let out = leakcheck()
            .current_dir(fixtures())
            .args(["--partition", spec])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {}", show(&out));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("leakcheck: --partition: "), "{err}");
        assert!(err.contains(needle), "{needle} in {err}");
        assert!(out.stdout.is_empty(), "{}", show(&out));
    }
}

#[test]
fn an_empty_shard_is_a_clean_run() {
    // More shards than packages leaves a shard empty: it runs nothing and
    // passes.
    let (out, report) = run_with_report(
        &fixtures(),
        &["--partition", "count:3/3", "./handler", "./clean"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(report.packages.is_empty(), "{report:?}");
}

fn report_json(go: &str, packages: &[&str]) -> String {
    let packages: Vec<serde_json::Value> = packages
        .iter()
        .map(|p| {
            serde_json::json!({"import_path": p, "outcome": "pass", "error": null,
                "elapsed_ms": 1.0, "tests": [{"name": "TestX", "outcome": "pass",
                "elapsed_ms": 1.0, "leaks": []}]})
        })
        .collect();
    serde_json::json!({"go_version": go, "packages": packages,
        "summary": {"tests": 0, "passed": 0, "failed": 0, "leaked": 0, "skipped": 0}})
    .to_string()
}

#[test]
fn merge_reports_refuses_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.json", &report_json("go1.26.1", &["m/a", "m/b"]));
    write(d, "b.json", &report_json("go1.26.1", &["m/c"]));
    write(d, "overlap.json", &report_json("go1.26.1", &["m/c", "m/d"]));
    write(d, "old.json", &report_json("go1.21.13", &["m/e"]));
    write(d, "junk.json", "not json");
    let merge = |args: &[&str]| {
        leakcheck()
            .current_dir(d)
            .arg("merge-reports")
            .args(args)
            .output()
            .unwrap()
    };
    // The good case, recounted.
    let out = merge(&["-o", "out.json", "a.json", "b.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let merged: Report =
        serde_json::from_str(&std::fs::read_to_string(d.join("out.json")).unwrap()).unwrap();
    assert_eq!(packages_of(&merged), ["m/a", "m/b", "m/c"]);
    assert_eq!((merged.summary.tests, merged.summary.passed), (3, 3));

    for (args, needle) in [
        (
            vec!["-o", "x.json", "b.json", "overlap.json"],
            "package m/c is in both b.json and overlap.json",
        ),
        (
            vec!["-o", "x.json", "a.json", "a.json"],
            "package m/a is in both a.json and a.json",
        ),
        (
            vec!["-o", "x.json", "a.json", "old.json"],
            "old.json was made with go1.21.13 but a.json with go1.26.1",
        ),
        (
            vec!["-o", "x.json", "a.json", "junk.json"],
            "junk.json is not a leakcheck report",
        ),
        (
            vec!["-o", "x.json", "a.json", "missing.json"],
            "missing.json",
        ),
    ] {
        let out = merge(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("leakcheck: merge-reports: "), "{err}");
        assert!(err.contains(needle), "{needle} in {err}");
        assert!(!d.join("x.json").exists(), "nothing written on error");
    }
    // An output that is also an input is refused before anything is
    // read or written: the shell's `shard-*.json` once overwrote shard 1.
    let a_before = std::fs::read_to_string(d.join("a.json")).unwrap();
    for args in [
        vec!["-o", "a.json", "a.json", "b.json"],
        vec!["-o", "./a.json", "a.json", "b.json"],
        vec!["-o", "out2.json", "--junit", "b.json", "a.json", "b.json"],
    ] {
        let out = merge(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("is also an input"), "{err}");
        assert!(!d.join("out2.json").exists());
    }
    assert_eq!(std::fs::read_to_string(d.join("a.json")).unwrap(), a_before);
    // An output that cannot be written is found before the inputs are read.
    let out = merge(&["-o", "no/such/dir/m.json", "a.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("no such directory"),
        "{}",
        show(&out)
    );
    // Usage: an output and at least one input; the old form (output
    // first, no -o) is refused.
    for args in [vec!["only.json"], vec!["out.json", "a.json", "b.json"]] {
        let out = merge(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
    }
    let out = merge(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout)
            .contains("leakcheck merge-reports [OPTIONS] --output <OUT.json> <IN.json>..."),
        "{}",
        show(&out)
    );
}

#[test]
fn no_escape_codes_off_a_terminal_or_with_no_color() {
    let run = |args: &[&str], no_color: bool| {
        let mut cmd = leakcheck();
        cmd.current_dir(fixtures()).env_remove("GITHUB_ACTIONS");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd
            .args(["--grace", "200ms"])
            .args(args)
            .args(["./handler", "./clean"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        out
    };
    for (args, no_color) in [
        (vec![], false),
        (vec![], true),
        (vec!["--color", "auto"], true),
        (vec!["--color", "never"], false),
        (vec!["--json", "--color", "always"], false),
    ] {
        let out = run(&args, no_color);
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !bytes.contains(&0x1b) && !bytes.contains(&b'\r'),
                "{args:?} NO_COLOR={no_color}: escape codes on {name}: {}",
                show(&out)
            );
        }
    }
    // The check above can fail: forced colour does colour.
    let out = run(&["--color", "always"], true);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\x1b[1;31m--- LEAK:\x1b[0m TestQuery"),
        "{stdout}"
    );
    assert!(stdout.contains("\x1b[32mok\x1b[0m"), "{stdout}");
}

/// Runs leakcheck on a pseudo-terminal (util-linux `script`), with or
/// without `NO_COLOR`; returns everything the terminal received.
fn on_a_terminal(no_color: bool) -> String {
    let bin = assert_cmd::cargo::cargo_bin("leakcheck");
    let mut cmd = std::process::Command::new("script");
    cmd.current_dir(fixtures())
        .env("PATH", go_path())
        .env("TERM", "xterm")
        .env_remove("GOFLAGS")
        .env_remove("GITHUB_ACTIONS")
        .arg("-qec")
        .arg(format!(
            "'{}' --grace 200ms ./handler ./clean",
            bin.display()
        ))
        .arg("/dev/null");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().expect("`script` (util-linux) runs");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    text(&out.stdout)
}

/// Whether `s` has an SGR (colour) escape sequence: ESC `[`, digits and
/// semicolons, `m`.
fn has_sgr(s: &str) -> bool {
    s.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            r.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';')
                .starts_with('m')
        })
    })
}

#[test]
fn on_a_terminal_colours_unless_no_color_and_progress_is_cleared() {
    assert!(has_sgr("a\x1b[1;31mb") && has_sgr("\x1b[0m") && !has_sgr("\x1b[2K\x1b[1A"));
    let coloured = on_a_terminal(false);
    assert!(
        coloured.contains("\x1b[1;31m--- LEAK:\x1b[0m TestQuery"),
        "{coloured:?}"
    );
    assert!(coloured.contains("\x1b[32mok\x1b[0m"), "{coloured:?}");
    let plain = on_a_terminal(true);
    assert!(!has_sgr(&plain), "NO_COLOR: {plain:?}");
    assert!(
        plain.contains("--- LEAK: TestQuery (1 goroutine; checked in "),
        "{plain:?}"
    );
    // The progress line was up, and is gone before the summary.
    assert!(plain.contains(" packages built, "), "{plain:?}");
    let summary = &plain[plain.rfind("Leaking tests:").expect("summary")..];
    assert!(!summary.contains(" packages built, "), "{summary:?}");
}

#[test]
fn an_interrupted_run_still_writes_junit_with_what_finished() {
    let (code, dir) = interrupted_run(&["--junit", "junit.xml"]);
    assert_eq!(code, Some(130));
    let junit = dir.path().join("junit.xml");
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let a = suite(&doc, "example.com/m/a");
    assert_eq!(a.attribute("tests"), Some("1"), "{xml}");
    assert_eq!(a.attribute("failures"), Some("0"), "{xml}");
    let b = suite(&doc, "example.com/m/b");
    let failure = b
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("the interrupted package is a failure: {xml}"));
    assert!(
        failure
            .attribute("message")
            .unwrap_or("")
            .contains("interrupted"),
        "{xml}"
    );
}

/// `text` with what may differ between two runs of the same code taken
/// out: times, durations, addresses, goroutine IDs, offsets.
fn normalized(text: &str) -> String {
    let rules = [
        (r"\d+\.\d+s\b", "T"),
        (r"0x[0-9a-f]+", "0xA"),
        (r"goroutine \d+", "goroutine N"),
        (
            r#""(elapsed_ms|check_ms|Elapsed)": ?[0-9.e-]+"#,
            "\"$1\": T",
        ),
        (r#""goroutine_ids": ?\[[^\]]*\]"#, "\"goroutine_ids\": []"),
        (r#""goroutine": ?\d+"#, "\"goroutine\": N"),
        (r"\+0x[0-9a-f]+", "+0xO"),
    ];
    let mut out = text.to_string();
    for (re, to) in rules {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, to)
            .into_owned();
    }
    out
}

#[test]
fn two_runs_of_the_same_code_print_the_same() {
    // Goroutines of four kinds, started in map order (random in Go), so
    // that dumps list them in a different order each run; each test waits
    // until its goroutines are blocked, so that whether the leak profile
    // proves them does not depend on the machine's load.
    let src = r#"package a

import (
	"runtime"
	"strings"
	"sync"
	"testing"
)

// parked waits until n goroutines are blocked in fn, so that the leak
// profile proves them all at the test's end however loaded the machine.
func parked(fn string, n int) {
	buf := make([]byte, 1<<20)
	for {
		count := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, fn) && !strings.Contains(g, "[runnable") && !strings.Contains(g, "[running") {
				count++
			}
		}
		if count >= n {
			return
		}
		runtime.Gosched()
	}
}

func park(kind int, mu *sync.Mutex, in, out chan int) {
	switch kind {
	case 0:
		<-in
	case 1:
		out <- 1
	case 2:
		mu.Lock()
	default:
		select {}
	}
}

func TestMixed(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	in, out := make(chan int), make(chan int)
	kinds := map[int]int{0: 3, 1: 2, 2: 2, 3: 1}
	for kind, n := range kinds {
		for i := 0; i < n; i++ {
			go park(kind, &mu, in, out)
		}
	}
	parked("a.park(", 8)
}

func TestOther(t *testing.T) {
	go func() { select {} }()
	parked("a.TestOther.func1(", 1)
	t.Log("fails too")
	t.Fail()
}
"#;
    let dir = go_module(&[("a/a_test.go", src)]);
    let run = || {
        let (out, report) = run_with_report(dir.path(), &["-v", "./..."]);
        let report = serde_json::to_string_pretty(&report).unwrap();
        (normalized(&text(&out.stdout)), normalized(&report))
    };
    let (first_out, first_report) = run();
    assert!(
        first_out.contains("--- LEAK: TestMixed (8 goroutines; checked in "),
        "{first_out}"
    );
    for _ in 0..2 {
        let (out, report) = run();
        assert_eq!(out, first_out);
        assert_eq!(report, first_report);
    }
}

#[test]
fn the_readme_sample_is_what_leakcheck_prints() {
    // The first `$ leakcheck ...` block of the README: its command, run
    // from the repository root, prints the block (times aside, and the
    // slowest packages, whose order is the times').
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("\n$ leakcheck ")
        .expect("a sample in the README")
        + 1;
    let block = &readme[start..start + readme[start..].find("\n```").unwrap()];
    let (command, sample) = block.split_once('\n').unwrap();
    let words: Vec<String> = command["$ leakcheck ".len()..]
        .split(' ')
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let out = leakcheck()
        .current_dir(root())
        .args(&words)
        .output()
        .unwrap();
    let comparable = |text: &str| {
        let text = normalized(text);
        match (
            text.find("\nSlowest packages:\n"),
            text.find("\nleakcheck: "),
        ) {
            (Some(a), Some(b)) => format!("{}{}", &text[..a], &text[b..]),
            _ => text,
        }
    };
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        comparable(&text(&out.stdout)),
        comparable(&format!("{sample}\n")),
        "README.md's sample has drifted; leakcheck printed:\n{}",
        text(&out.stdout)
    );
}

/// A module whose one run has every outcome: passes, a failure, a leak, a
/// failure that also leaked, a skip, a hang, a crash, and a package that
/// fails outside its tests.
const EVERY_OUTCOME: &[(&str, &str)] = &[
    (
        "a/a_test.go",
        "package a\n\nimport \"testing\"\n\n\
         func TestPass(t *testing.T) {}\n\n\
         func TestFail(t *testing.T) { t.Error(\"wrong\") }\n\n\
         func TestLeak(t *testing.T) { go func() { select {} }() }\n\n\
         func TestSkip(t *testing.T) { t.Skip(\"not here\") }\n\n\
         func TestFailLeak(t *testing.T) {\n\tgo func() { select {} }()\n\tt.Error(\"wrong too\")\n}\n",
    ),
    (
        "b/b_test.go",
        "package b\n\nimport \"testing\"\n\nfunc TestHang(t *testing.T) {\n\tch := make(chan int)\n\t<-ch\n}\n",
    ),
    (
        "c/c_test.go",
        "package c\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n\
         func TestCrash(t *testing.T) {\n\tgo func() { panic(\"boom\") }()\n\ttime.Sleep(time.Second)\n}\n",
    ),
    (
        "d/d_test.go",
        "package d\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"testing\"\n)\n\n\
         func TestMain(m *testing.M) {\n\tm.Run()\n\tfmt.Println(\"found unexpected goroutines\")\n\tos.Exit(1)\n}\n\n\
         func TestFine(t *testing.T) {}\n",
    ),
];

#[test]
fn every_output_agrees_on_one_run_with_every_outcome() {
    use leakcheck::output::report::TestOutcome;
    let dir = go_module(EVERY_OUTCOME);
    let d = dir.path();
    let out = leakcheck()
        .current_dir(d)
        .args([
            "--json",
            "--report",
            "r.json",
            "--junit",
            "j.xml",
            "--test-timeout",
            "5s",
            "./...",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let s = &report.summary;
    assert_eq!(
        (s.tests, s.passed, s.failed, s.leaked, s.skipped, s.hung, s.crashed),
        (8, 2, 2, 1, 1, 1, 1),
        "{s:?}"
    );
    assert_eq!((s.failed_and_leaked, s.packages_failed), (1, 1), "{s:?}");
    let outcome: BTreeMap<(String, String), TestOutcome> = report
        .packages
        .iter()
        .flat_map(|p| {
            p.tests
                .iter()
                .map(move |t| ((p.import_path.clone(), t.name.clone()), t.outcome))
        })
        .collect();

    // --json: one final event per test, its action the report's outcome.
    let stream = text(&out.stdout);
    let mut actions: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in stream.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if let (Some(pkg), Some(test), Some(a @ ("pass" | "fail" | "skip"))) = (
            e["Package"].as_str(),
            e["Test"].as_str(),
            e["Action"].as_str(),
        ) {
            let old = actions.insert((pkg.into(), test.into()), a.into());
            assert!(old.is_none(), "two final events for {test}");
        }
    }
    let want: BTreeMap<_, _> = outcome
        .iter()
        .map(|(k, o)| {
            let a = match o {
                TestOutcome::Pass => "pass",
                TestOutcome::Skip => "skip",
                _ => "fail",
            };
            (k.clone(), a.to_string())
        })
        .collect();
    assert_eq!(actions, want, "--json against the report");

    // JUnit: one testcase per test (plus the package's failure), with the
    // report's outcome.
    let xml = std::fs::read_to_string(d.join("j.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let mut cases: BTreeMap<(String, String), &str> = BTreeMap::new();
    for c in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let status = if child(c, "failure").is_some() {
            "fail"
        } else if child(c, "skipped").is_some() {
            "skip"
        } else {
            "pass"
        };
        let key = (
            c.attribute("classname").unwrap().to_string(),
            c.attribute("name").unwrap().to_string(),
        );
        cases.insert(key, status);
    }
    let mut junit_want: BTreeMap<(String, String), &str> =
        want.iter().map(|(k, a)| (k.clone(), a.as_str())).collect();
    junit_want.insert(
        ("example.com/m/d".into(), "[package failed]".into()),
        "fail",
    );
    assert_eq!(cases, junit_want, "JUnit against the report");

    // gotestsum reads the --json stream to the same counts: every failed,
    // leaked, hung and crashed test, and the package that failed outside
    // its tests.
    let events = d.join("events.json");
    std::fs::write(&events, &out.stdout).unwrap();
    if let Some(gotestsum) = gotestsum() {
        let gts = std::process::Command::new(gotestsum)
            .args(["--format", "standard-quiet", "--raw-command", "--", "cat"])
            .arg(&events)
            .output()
            .unwrap();
        let failures = s.failed + s.leaked + s.hung + s.crashed + s.packages_failed;
        let done = format!(
            "DONE {} tests, {} skipped, {failures} failures",
            s.tests, s.skipped
        );
        assert!(
            text(&gts.stdout).contains(&done),
            "{done} in:\n{}",
            show(&gts)
        );
    }

    // The human summary of the same code says the same.
    let human = leakcheck()
        .current_dir(d)
        .args(["--test-timeout", "5s", "./..."])
        .output()
        .unwrap();
    let human = text(&human.stdout);
    assert!(
        human.contains(&format!(
            "leakcheck: {}",
            leakcheck::output::reporter::summary_line(s)
        )),
        "{}\n{human}",
        leakcheck::output::reporter::summary_line(s)
    );
    assert!(
        human.contains("Packages that failed outside their tests:\n    example.com/m/d: "),
        "{human}"
    );
}

#[test]
fn annotations_that_cannot_be_written_are_said_to_be_lost() {
    // stdout is a full disk: the report file is still written, and the
    // annotations written after it fail with a message (they go through
    // a buffer, which is flushed and checked).
    let dir = go_module(&[(
        "a/a_test.go",
        "package a\n\nimport \"testing\"\n\nfunc TestLeak(t *testing.T) { go func() { select {} }() }\n",
    )]);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakcheck"))
        .current_dir(dir.path())
        .env("PATH", common::go_path())
        .env("LEAKCHECK_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("GITHUB_ACTIONS", "true")
        .stdout(full)
        .args(["--report", "r.json", "./..."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("leakcheck: writing annotations: "),
        "{stderr}"
    );
    assert!(dir.path().join("r.json").exists());
}
