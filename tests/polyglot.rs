//! examples/polyglot driven as its users drive it: `cargo test` and
//! `cargo nextest run` on its `harness = false` target, whose trials are
//! the Go tests of its Go module.
//!
//! The example builds in `target/polyglot` (its own target directory,
//! kept across runs); each test gives it a fresh binary cache
//! (`LEAKCHECK_CACHE_DIR`) so that what it asserts about building is its
//! own. The tests run one at a time: they share that target directory.
//! cargo-nextest must be installed (`cargo install --locked
//! cargo-nextest`; `.ci/run` does it): its absence fails the nextest
//! tests, it does not skip them.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

const GO_TESTS: [&str; 4] = [
    "example.com/polyglot/clean::TestSum",
    "example.com/polyglot/clean::TestSumEmpty",
    "example.com/polyglot/leaky::TestWatch",
    "example.com/polyglot/leaky::TestParse",
];

fn example() -> PathBuf {
    common::root().join("examples/polyglot")
}

/// The `go` statement of the leak, as `file:line` relative to the Go module.
fn leak_site() -> String {
    let text = fs::read_to_string(example().join("go/leaky/watch.go")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("the leaking goroutine is created here"))
        .expect("marker in watch.go")
        + 1;
    format!("leaky/watch.go:{line}")
}

/// `cargo ARGS` in the example, with its own target directory, the binary
/// cache `cache`, and `POLYGLOT_LEAK` set when `leak`.
fn cargo(args: &[&str], cache: &Path, leak: bool) -> Output {
    let example = example();
    // Its lock file (not in git) is the repository's, so it builds with
    // the versions leakcheck is tested with, and without resolving anew.
    fs::copy(
        common::root().join("Cargo.lock"),
        example.join("Cargo.lock"),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&example).args(args);
    // Nothing of the outer cargo or nextest run leaks into the inner one.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME")
            || k.starts_with("NEXTEST")
            || k.starts_with("RUST_TEST")
            || k == "LEAKCHECK_SOCKET"
        {
            cmd.env_remove(&*k);
        }
    }
    cmd.env("CARGO_TARGET_DIR", common::root().join("target/polyglot"))
        .env("CARGO_TERM_COLOR", "never")
        .env("LEAKCHECK_CACHE_DIR", cache)
        .env("PATH", common::go_path())
        .env_remove("GOFLAGS");
    if leak {
        cmd.env("POLYGLOT_LEAK", "1");
    } else {
        cmd.env_remove("POLYGLOT_LEAK");
    }
    cmd.output().expect("cargo runs")
}

fn text(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What `cargo test` printed for trial `name` after `...` (libtest-mimic
/// pads names to align the results).
fn result_of<'a>(all: &'a str, name: &str) -> Option<&'a str> {
    all.lines().find_map(|l| {
        let rest = l.strip_prefix("test ")?.strip_prefix(name)?;
        rest.trim_start().strip_prefix("... ")
    })
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each cached binary with its inode and modification time, and the build
/// log.
fn cache_state(cache: &Path) -> (Vec<(String, u64, i64, i64)>, String) {
    let mut binaries: Vec<(String, u64, i64, i64)> = fs::read_dir(cache)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".test"))
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.ino(),
                m.mtime(),
                m.mtime_nsec(),
            )
        })
        .collect();
    binaries.sort();
    let log = fs::read_to_string(cache.join(leakcheck::cache::BUILD_LOG)).unwrap_or_default();
    (binaries, log)
}

/// One build per Go package, whatever the number of tests and processes.
fn assert_built_once_per_package(cache: &Path, context: &str) {
    let (binaries, log) = cache_state(cache);
    let built: Vec<&str> = log
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap_or(""))
        .collect();
    let mut sorted = built.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["example.com/polyglot/clean", "example.com/polyglot/leaky"],
        "{context}: builds.log:\n{log}"
    );
    assert_eq!(binaries.len(), 2, "{context}: {binaries:?}");
}

fn nextest_installed() {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo-nextest is not installed; these tests need it. Install it with \
         `cargo install --locked cargo-nextest` (.ci/run does).\n{}",
        text(&out)
    );
}

#[test]
fn cargo_test_lists_exactly_the_go_tests() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();
    let out = cargo(
        &["test", "--test", "go", "--", "--list", "--format", "terse"],
        cache.path(),
        false,
    );
    assert!(out.status.success(), "{}", text(&out));
    let listed: BTreeSet<String> = stdout(&out).lines().map(str::to_string).collect();
    let want: BTreeSet<String> = GO_TESTS.iter().map(|t| format!("{t}: test")).collect();
    assert_eq!(listed, want, "{}", text(&out));

    // No Go test is ignored before it runs (t.Skip is known only then).
    let out = cargo(
        &[
            "test",
            "--test",
            "go",
            "--",
            "--list",
            "--format",
            "terse",
            "--ignored",
        ],
        cache.path(),
        false,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out), "", "{}", text(&out));
    assert_built_once_per_package(cache.path(), "after listing twice");
}

#[test]
fn cargo_test_runs_the_go_tests_and_reuses_the_cache() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();
    let out = cargo(&["test", "--test", "go"], cache.path(), false);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for t in [GO_TESTS[0], GO_TESTS[1], GO_TESTS[3]] {
        assert_eq!(result_of(&all, t), Some("ok"), "{t}: {all}");
    }
    // Skipped by t.Skip without POLYGLOT_LEAK: ignored, with its reason.
    let skipped = result_of(&all, GO_TESTS[2]).unwrap_or_default();
    assert!(
        skipped.starts_with("ignored") && skipped.contains("set POLYGLOT_LEAK=1"),
        "{all}"
    );
    assert!(all.contains("3 passed; 0 failed; 1 ignored"), "{all}");
    assert_built_once_per_package(cache.path(), "first run");
    let before = cache_state(cache.path());

    // Filters and --skip work as in libtest.
    let out = cargo(
        &[
            "test",
            "--test",
            "go",
            "--",
            "clean::",
            "--skip",
            "TestSumEmpty",
        ],
        cache.path(),
        false,
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert_eq!(result_of(&all, GO_TESTS[0]), Some("ok"), "{all}");
    assert!(
        all.contains("1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out"),
        "{all}"
    );

    // The leak, when it is let happen: the trial fails with the creation
    // site of the goroutine.
    let out = cargo(&["test", "--test", "go"], cache.path(), true);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert_eq!(result_of(&all, GO_TESTS[2]), Some("FAILED"), "{all}");
    assert!(
        all.contains("--- LEAK: TestWatch (1 goroutine; checked in "),
        "{all}"
    );
    assert!(
        all.contains(&format!("created at  {}", leak_site())),
        "{all}"
    );
    assert!(all.contains("3 passed; 1 failed"), "{all}");

    // Nothing was rebuilt: same binaries (inode and mtime), same log.
    assert_eq!(cache_state(cache.path()), before, "{all}");
}

#[test]
fn nextest_runs_each_go_test_in_its_own_process_from_one_build() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    nextest_installed();
    let cache = tempfile::tempdir().unwrap();

    let out = cargo(
        &[
            "nextest",
            "list",
            "--test",
            "go",
            "--message-format",
            "json",
        ],
        cache.path(),
        false,
    );
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = &list["rust-suites"]["polyglot::go"]["testcases"];
    let names: BTreeSet<&str> = cases
        .as_object()
        .unwrap_or_else(|| panic!("no test cases: {list}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, GO_TESTS.into_iter().collect::<BTreeSet<_>>());
    assert!(cases
        .as_object()
        .unwrap()
        .values()
        .all(|c| c["ignored"] == false));

    let out = cargo(&["nextest", "run", "--test", "go"], cache.path(), false);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for t in GO_TESTS {
        assert!(
            all.lines()
                .any(|l| l.contains("PASS [")
                    && l.trim_end().ends_with(&format!("polyglot::go {t}"))),
            "{t}: {all}"
        );
    }
    assert!(all.contains("4 tests run: 4 passed"), "{all}");
    // A listing and four processes, one build per package.
    assert_built_once_per_package(cache.path(), "after nextest list and run");
    let before = cache_state(cache.path());

    let out = cargo(
        &["nextest", "run", "--test", "go", "--no-fail-fast"],
        cache.path(),
        true,
    );
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.lines()
            .any(|l| l.contains("FAIL [") && l.trim_end().ends_with(GO_TESTS[2])),
        "{all}"
    );
    assert!(
        all.contains("--- LEAK: TestWatch (1 goroutine; checked in "),
        "{all}"
    );
    assert!(
        all.contains(&format!("created at  {}", leak_site())),
        "{all}"
    );
    assert!(all.contains("4 tests run: 3 passed, 1 failed"), "{all}");

    // The second run built nothing.
    assert_eq!(cache_state(cache.path()), before);
}

#[test]
fn one_named_test_runs_without_listing_the_module() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();
    // As nextest runs a test: `NAME --exact --nocapture`.
    let out = cargo(
        &[
            "test",
            "--test",
            "go",
            "--",
            GO_TESTS[0],
            "--exact",
            "--nocapture",
        ],
        cache.path(),
        false,
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert_eq!(result_of(&all, GO_TESTS[0]), Some("ok"), "{all}");
    assert!(all.contains("1 passed; 0 failed"), "{all}");
    // Only the package of that test was built: nothing else was listed.
    let (_, log) = cache_state(cache.path());
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains(" example.com/polyglot/clean "), "{log}");
}
