//! The command line's contract: usage errors, missing toolchain or module,
//! bad patterns, packages that do not compile, exit codes, and help.

mod common;

use common::*;
use leakcheck::output::report::{PackageOutcome, TestOutcome};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A one-line `leakcheck: ...` error, no panic or backtrace.
fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("leakcheck: "), "{err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn no_go_on_path() {
    let empty = tempfile::tempdir().unwrap();
    let out = leakcheck()
        .current_dir(fixtures())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_one_line_error(&out, "no `go` command found on PATH");
}

#[test]
fn not_in_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakcheck()
        .current_dir(dir.path())
        .env("GO111MODULE", "on")
        .output()
        .unwrap();
    assert_one_line_error(&out, "is not in a Go module");
}

#[test]
fn patterns_that_match_nothing() {
    let out = leakcheck()
        .current_dir(fixtures())
        .arg("./nope/...")
        .output()
        .unwrap();
    assert_one_line_error(&out, "no packages to test");
    // A directory that does not exist is a package that fails alone, as
    // under `go test`, while the others run.
    let out = leakcheck()
        .current_dir(fixtures())
        .args(["./nope", "./clean"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("FAIL\t./nope [setup failed]\n"), "{stdout}");
    assert!(
        stdout.contains("ok  \tleakcheck.test/fixtures/clean\t"),
        "{stdout}"
    );
}

#[test]
fn bad_flags_are_refused_before_building() {
    for (args, needle) in [
        (
            vec!["--", "-bogus"],
            "flag provided but not defined: -bogus",
        ),
        (
            vec!["--", "-count=many"],
            "invalid value \"many\" for flag -count",
        ),
        (vec!["--", "-run"], "flag needs an argument: -run"),
        (vec!["--", "-c"], "-c is not supported"),
        (vec!["--grace", "soon"], "--grace: invalid duration"),
        (vec!["--jobs", "0"], "--jobs must be at least 1"),
        (
            vec!["-C", "/nonexistent/dir"],
            "-C /nonexistent/dir: no such directory",
        ),
        (vec!["-C", "go.mod"], "go.mod: not a directory"),
        (
            vec!["--grace", "-1s"],
            "--grace: negative durations are not allowed: -1s",
        ),
        (
            vec!["--test-timeout=-5m"],
            "--test-timeout: negative durations are not allowed: -5m",
        ),
        (
            vec!["--report", "/nonexistent/dir/r.json"],
            "--report /nonexistent/dir/r.json: no such directory",
        ),
        (vec!["--junit", "."], "--junit .: is a directory"),
    ] {
        let out = leakcheck()
            .current_dir(fixtures())
            .args(&args)
            .output()
            .unwrap();
        assert_one_line_error(&out, needle);
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // clap's own usage errors also exit 2.
    let out = leakcheck().arg("--no-such-option").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_package_that_does_not_compile_is_shown_and_others_still_run() {
    let dir = go_module(&[
        ("good/good.go", "package good\n\nfunc Two() int { return 2 }\n"),
        ("good/good_test.go", "package good\n\nimport \"testing\"\n\nfunc TestTwo(t *testing.T) {\n\tif Two() != 2 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n"),
        ("bad/bad.go", "package bad\n\nfunc Three() int { return 3 }\n"),
        ("bad/bad_test.go", "package bad\n\nimport \"testing\"\n\nfunc TestThree(t *testing.T) {\n\tvar x int = \"three\"\n\t_ = x\n}\n"),
    ]);
    let (out, report) = run_with_report(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bad_test.go:6"),
        "compiler output shown: {stdout}"
    );
    assert!(
        stdout.contains("FAIL\texample.com/m/bad [build failed]"),
        "{stdout}"
    );
    assert!(stdout.contains("ok  \texample.com/m/good\t"), "{stdout}");
    let bad = report
        .packages
        .iter()
        .find(|p| p.import_path == "example.com/m/bad")
        .unwrap();
    assert_eq!(bad.outcome, PackageOutcome::BuildError);
    assert!(bad.error.as_deref().unwrap().contains("bad_test.go:6"));
    let good = report
        .packages
        .iter()
        .find(|p| p.import_path == "example.com/m/good")
        .unwrap();
    assert_eq!(good.outcome, PackageOutcome::Pass);
    assert_eq!(good.tests[0].outcome, TestOutcome::Pass);
}

#[test]
fn go_test_flags_reach_the_build_and_the_binary() {
    // -run selects tests; -tags reaches the build; -count repeats.
    let dir = go_module(&[
        ("p/p.go", "package p\n"),
        ("p/tagged_test.go", "//go:build special\n\npackage p\n\nimport \"testing\"\n\nfunc TestTagged(t *testing.T) {}\n"),
        ("p/p_test.go", "package p\n\nimport \"testing\"\n\nvar never = make(chan int)\n\nfunc TestLeaky(t *testing.T) { go func() { <-never }() }\n\nfunc TestOther(t *testing.T) {}\n"),
    ]);
    let (out, report) = run_with_report(
        dir.path(),
        &[
            "--grace",
            "200ms",
            "--",
            "-tags=special",
            "-run",
            "Tagged|Leaky",
            "-count=2",
            "./...",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let names: Vec<&str> = report.packages[0]
        .tests
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, vec!["TestLeaky", "TestTagged"]);
    let leaky = &report.packages[0].tests[0];
    assert_eq!(leaky.outcome, TestOutcome::Leak);
    // Two runs, two goroutines from the same line.
    assert_eq!(leaky.leaks.len(), 1);
    assert_eq!(leaky.leaks[0].count, 2);
    assert_eq!(leaky.leaks[0].created_by.as_ref().unwrap().line, 7);
}

#[test]
fn help_and_version_document_exit_codes() {
    let out = leakcheck().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--grace",
        "--json",
        "--report",
        "--jobs",
        "-C <DIR>",
        "Exit codes:",
        "2  leakcheck could not do its job",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
    // -h fits one screen, with examples; --help has the rest.
    let out = leakcheck().arg("-h").output().unwrap();
    let short = String::from_utf8_lossy(&out.stdout);
    assert!(short.lines().count() <= 50, "{short}");
    assert!(
        short.contains("Examples:") && short.contains("--help"),
        "{short}"
    );
    assert!(help.lines().count() > short.lines().count());
    let out = leakcheck().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("leakcheck {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_stopping_signal_writes_what_finished_and_exits_128_plus_it() {
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        interrupted_run_writes_what_finished(sig, code);
    }
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
fn a_signal_during_the_build_stops_it_at_once_and_leaves_nothing_behind() {
    // A fresh build cache: `go test -c` compiles the standard library for
    // a while. Once its work directory exists, leakcheck gets SIGTERM
    // (once, or twice: the second quits at once).
    for signals in [1, 2] {
        let dir = go_module(&[(
            "a/a_test.go",
            "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
        )]);
        let tmp = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let reports = tempfile::tempdir().unwrap();
        let report_path = reports.path().join("report.json");
        let tree_before = tree_state(dir.path());
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakcheck"))
            .current_dir(dir.path())
            .env("PATH", go_path())
            .env("TMPDIR", tmp.path())
            .env("GOCACHE", cache.path())
            .arg("--no-build-cache")
            .arg("--report")
            .arg(&report_path)
            .arg("./...")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let work = tmp.path().to_string_lossy().into_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while processes_mentioning(&format!("{work}/leakcheck-go-")).len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the build never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let t0 = std::time::Instant::now();
        for _ in 0..signals {
            // SAFETY: kill(2) on our own child, not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let code = child.wait().unwrap().code();
        assert_eq!(code, Some(143), "{signals} signal(s)");
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t0.elapsed()
        );
        if signals == 1 {
            let report = std::fs::read_to_string(&report_path).unwrap();
            assert!(report.contains("\"interrupted\": true"), "{report}");
        }
        // The module's tree is as it was.
        assert_eq!(tree_state(dir.path()), tree_before, "{signals} signal(s)");
        // Nothing of the build lives on or is left in TMPDIR.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(processes_mentioning(&work), Vec::<String>::new());
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "{signals} signal(s) left {left:?}");
    }
}

fn interrupted_run_writes_what_finished(sig: libc::c_int, want: i32) {
    let (code, dir) = interrupted_run_by(&["--report", "report.json"], sig);
    assert_eq!(code, Some(want));
    let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let r: leakcheck::output::report::Report = serde_json::from_str(&text).unwrap();
    assert!(r.interrupted);
    let a = r
        .packages
        .iter()
        .find(|p| p.import_path == "example.com/m/a")
        .unwrap();
    assert_eq!(a.outcome, PackageOutcome::Pass);
    let b = r
        .packages
        .iter()
        .find(|p| p.import_path == "example.com/m/b")
        .unwrap();
    assert!(
        b.error
            .as_deref()
            .is_some_and(|e| e.starts_with("interrupted")),
        "{b:?}"
    );
}

#[test]
fn list_shows_the_test_names_as_go_test_does() {
    let out = leakcheck()
        .current_dir(fixtures())
        .args(["./handler", "--", "-list", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\nTestQuery\nTestQueryFixed\nok  \tleakcheck.test/fixtures/handler\t")
            || stdout.starts_with("TestQuery\nTestQueryFixed\nok  \t"),
        "{stdout}"
    );
}

/// The test binaries under a leakcheck cache directory, with their inode
/// numbers (a binary linked again is a new file renamed into place; one
/// found up to date keeps its inode, though cmd/go touches it).
fn kept_binaries(cache: &std::path::Path) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let mut found = std::collections::BTreeMap::new();
    let Ok(modules) = std::fs::read_dir(cache.join("builds")) else {
        return found;
    };
    for module in modules.flatten() {
        let Ok(batches) = std::fs::read_dir(module.path().join("bin")) else {
            continue;
        };
        for batch in batches.flatten() {
            for bin in std::fs::read_dir(batch.path()).unwrap().flatten() {
                let inode = bin.metadata().unwrap().ino();
                let name = bin
                    .path()
                    .strip_prefix(cache)
                    .unwrap()
                    .display()
                    .to_string();
                found.insert(name, inode);
            }
        }
    }
    found
}

#[test]
fn unchanged_packages_are_not_linked_again() {
    let dir = go_module(&[]);
    let cache = tempfile::tempdir().unwrap();
    for p in ["a", "b"] {
        write(
            dir.path(),
            &format!("{p}/{p}_test.go"),
            &format!("package {p}\n\nimport \"testing\"\n\nfunc TestOne(t *testing.T) {{}}\n"),
        );
    }
    let run = |extra: &[&str]| {
        let out = leakcheck()
            .current_dir(dir.path())
            .env("LEAKCHECK_CACHE_DIR", cache.path())
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    run(&[]);
    let first = kept_binaries(cache.path());
    assert_eq!(first.len(), 2, "{first:?}");
    run(&[]);
    assert_eq!(
        kept_binaries(cache.path()),
        first,
        "nothing changed, nothing linked"
    );
    // A change to one package links that package's binary only.
    write(
        dir.path(),
        "b/b_test.go",
        "package b\n\nimport \"testing\"\n\nfunc TestOne(t *testing.T) {}\n\nfunc TestTwo(t *testing.T) {}\n",
    );
    run(&[]);
    let after = kept_binaries(cache.path());
    let changed: Vec<&String> = after.keys().filter(|k| after[*k] != first[*k]).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].ends_with("b.test"), "{changed:?}");
    // --no-build-cache keeps nothing.
    let other = tempfile::tempdir().unwrap();
    let out = leakcheck()
        .current_dir(dir.path())
        .env("LEAKCHECK_CACHE_DIR", other.path())
        .arg("--no-build-cache")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(kept_binaries(other.path()).is_empty());
    assert!(!other.path().join("builds").exists());
}

#[test]
fn a_package_that_no_longer_links_is_not_run_from_an_old_binary() {
    // The kept build directory still holds the binary of the last run
    // that linked; a link error now must be reported, not that binary run.
    let dir = go_module(&[(
        "p/p_test.go",
        "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
    )]);
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        run_command_with_report(
            leakcheck()
                .current_dir(dir.path())
                .env("LEAKCHECK_CACHE_DIR", cache.path()),
            &[],
        )
    };
    let (out, report) = run();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report.packages[0].outcome, PackageOutcome::Pass);
    write(
        dir.path(),
        "p/p_test.go",
        "package p\n\nimport (\n\t\"testing\"\n\t_ \"unsafe\"\n)\n\n//go:linkname missing example.com/m/p.doesNotExist\nfunc missing()\n\nfunc TestA(t *testing.T) { missing() }\n",
    );
    let (out, report) = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert_eq!(report.packages[0].outcome, PackageOutcome::BuildError);
    assert!(
        report.packages[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("doesNotExist")),
        "{:?}",
        report.packages[0].error
    );
}
