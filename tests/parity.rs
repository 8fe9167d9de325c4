//! Parity with `go test`: the module `go-fixtures/parity`, whose tests
//! look for leakcheck from the inside (their call stacks, goroutine
//! headers, goleak, `runtime.NumGoroutine`, the environment and GODEBUG,
//! also while other tests of the process end around them),
//! runs under `go test -json` and under `leakcheck --json`, and every
//! package, test, subtest, example and fuzz seed must end the same way
//! under both. Nothing in the module leaks, so there is no excuse for a
//! difference. Run with the machine's Go, and with another one through
//! `LEAKCHECK_TEST_GO`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::process::Output;

use common::*;
use serde_json::Value;

/// The GODEBUG both runs get; the tests compare theirs with
/// `PARITY_WANT_GODEBUG`.
const GODEBUG: &str = "madvdontneed=1";

/// (package, test) -> its last `pass`, `fail` or `skip`; a package's own
/// result has the test "".
type Results = BTreeMap<(String, String), String>;

/// The final action of every package and test in a `go test -json` event
/// stream; lines that are not JSON events are left out.
fn final_actions(stdout: &[u8]) -> Results {
    let mut out = Results::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let action = event["Action"].as_str().unwrap_or_default();
        if !matches!(action, "pass" | "fail" | "skip") {
            continue;
        }
        let package = event["Package"].as_str().unwrap_or_default();
        let test = event["Test"].as_str().unwrap_or_default();
        out.insert((package.to_string(), test.to_string()), action.to_string());
    }
    out
}

/// Variables of leakcheck's in this process's environment (the test
/// harness's `LEAKCHECK_TEST_GO`, ...): the tests must not see any, so
/// neither run gets them.
fn leakcheck_vars() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| {
            k.to_string_lossy()
                .to_ascii_uppercase()
                .starts_with("LEAKCHECK")
        })
        .collect()
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "=== {what}: {}\n--- stdout:\n{}\n--- stderr:\n{}\n",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn same_results_as_go_test() {
    let dir = fixtures().join("parity");
    let hidden = leakcheck_vars();

    let mut go = std::process::Command::new("go");
    go.args(["test", "-json", "-count=1", "./..."])
        .current_dir(&dir)
        .env("PATH", go_path())
        .env_remove("GOFLAGS")
        .env("GODEBUG", GODEBUG)
        .env("PARITY_WANT_GODEBUG", GODEBUG);
    for k in &hidden {
        go.env_remove(k);
    }
    let go_out = go.output().expect("go test runs");

    // The same environment as `go test`'s: without LEAKCHECK_CACHE_DIR
    // (there is then no kept build to put anywhere).
    let mut lc = leakcheck();
    lc.current_dir(&dir)
        .env_remove("LEAKCHECK_CACHE_DIR")
        .env("GODEBUG", GODEBUG)
        .env("PARITY_WANT_GODEBUG", GODEBUG)
        .args(["--no-build-cache", "--json", "./..."]);
    for k in &hidden {
        lc.env_remove(k);
    }
    let lc_out = lc.output().expect("leakcheck runs");

    let both = format!(
        "Go: {}\n{}{}",
        go_version(),
        show("go test -json -count=1 ./...", &go_out),
        show("leakcheck --json ./...", &lc_out)
    );
    let want = final_actions(&go_out.stdout);
    let got = final_actions(&lc_out.stdout);

    // The fixture's own contract: everything passes under go test.
    let not_passed: Vec<_> = want.iter().filter(|(_, a)| *a != "pass").collect();
    assert!(
        go_out.status.success() && not_passed.is_empty(),
        "go test must pass everything in go-fixtures/parity; not passed: {not_passed:?}\n{both}"
    );
    let tests = want.keys().filter(|(_, t)| !t.is_empty()).count();
    let packages = want.len() - tests;
    assert!(
        tests >= 25 && packages >= 7,
        "only {tests} tests in {packages} packages under go test\n{both}"
    );

    let keys: BTreeSet<_> = want.keys().chain(got.keys()).collect();
    let mut differences = Vec::new();
    for key in keys {
        let (go_action, lc_action) = (want.get(key), got.get(key));
        if go_action != lc_action {
            let name = if key.1.is_empty() {
                key.0.clone()
            } else {
                format!("{}.{}", key.0, key.1)
            };
            differences.push(format!(
                "{name}: go test {}, leakcheck {}",
                go_action.map_or("(absent)", String::as_str),
                lc_action.map_or("(absent)", String::as_str)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} results differ:\n  {}\n{both}",
        differences.len(),
        want.len(),
        differences.join("\n  ")
    );
    assert!(
        lc_out.status.success(),
        "leakcheck failed with the same results as go test\n{both}"
    );
}
