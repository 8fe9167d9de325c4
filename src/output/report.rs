//! The structured report of a run (`--report FILE`): what other tools and
//! leakcheck's own checks rely on. This module owns its shape and the
//! outcome types; field names are stable.
//!
//! ```json
//! {"go_version": "go1.26.8",
//!  "packages": [{"import_path": "...", "outcome": "pass|fail|skip|build-error|crash",
//!    "error": null,
//!    "tests": [{"name": "TestX", "outcome": "pass|fail|skip|leak|crash", "elapsed_ms": 1.5,
//!      "leaks": [{"count": 1, "state": "chan send", "proven": false, "ambiguous_with": [],
//!         "function": "pkg.F.func1", "file": "/abs/f.go", "line": 10,
//!         "created_by": {"function": "pkg.F", "file": "/abs/f.go", "line": 9},
//!         "goroutine_ids": [26], "stack": "..."}]}]}],
//!  "summary": {"tests": 0, "passed": 0, "failed": 0, "leaked": 0, "skipped": 0}}
//! ```

use serde::{Deserialize, Serialize};

use crate::detect::compare::Leak;
use crate::error::{EXIT_ERROR, EXIT_OK, EXIT_TESTS_FAILED};

/// How one top-level test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestOutcome {
    Pass,
    Skip,
    /// Passed (or skipped), but left goroutines behind.
    Leak,
    /// Failed; its leaks, if any, are still listed.
    Fail,
    /// Still running after `--test-timeout`: the binary was dumped and
    /// killed, and the package's remaining tests resumed.
    Hang,
    /// The test binary died while the test ran.
    Crash,
}

impl TestOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            TestOutcome::Pass => "pass",
            TestOutcome::Skip => "skip",
            TestOutcome::Leak => "leak",
            TestOutcome::Fail => "fail",
            TestOutcome::Hang => "hang",
            TestOutcome::Crash => "crash",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TestOutcome::Leak | TestOutcome::Fail | TestOutcome::Hang | TestOutcome::Crash
        )
    }
}

impl TestReport {
    /// A test that ran once, with nothing hung, crashed or ignored.
    pub fn new(name: impl Into<String>, outcome: TestOutcome, leaks: Vec<Leak>) -> TestReport {
        TestReport {
            name: name.into(),
            outcome,
            elapsed_ms: 0.0,
            leaks,
            runs: 1,
            leaked_runs: 0,
            deadlock: None,
            details: None,
            ignored: Vec::new(),
            check_ms: 0.0,
            stress: None,
            first_bad_run: None,
            resources: Vec::new(),
        }
    }
}

/// How one package ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageOutcome {
    Pass,
    Fail,
    /// No test files.
    Skip,
    BuildError,
    Crash,
}

/// One top-level test (all its runs, with `-count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    pub name: String,
    pub outcome: TestOutcome,
    pub elapsed_ms: f64,
    /// For `leak` and `fail`: what it left behind. For `hang`: its own
    /// goroutine and every goroutine it started, as the hang dump showed.
    pub leaks: Vec<Leak>,
    /// How many times it ran (`-count`, `--until-leak`).
    #[serde(default = "one")]
    pub runs: u32,
    /// How many of those runs leaked.
    #[serde(default)]
    pub leaked_runs: u32,
    /// For `hang`: every goroutine involved is blocked on a channel,
    /// select, mutex, condition or wait group, none runnable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlock: Option<bool>,
    /// For `crash` and `hang`: the panic or fatal error and the crashing
    /// goroutine's stack first, or the hang's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Goroutines of this test that an ignore rule or directive exempted,
    /// by rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredCount>,
    /// Time leakcheck spent checking its goroutines after it ended (all
    /// runs), left out of `elapsed_ms` as `go test` would measure it.
    #[serde(default)]
    pub check_ms: f64,
    /// Under `--stress`: its runs, how long, and what found its problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress: Option<crate::stress::StressStats>,
    /// Which of its runs in this process first leaked, failed, hung or
    /// crashed (1-based), for `--stress`'s `found_at_run`; not written to
    /// the report file.
    #[serde(skip)]
    pub first_bad_run: Option<u32>,
    /// What else it left behind (`--check fds,processes,heap`):
    /// descriptors, processes, retained heap. A test that passed and left
    /// any of them is `leak`, as with goroutines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<crate::detect::resources::Resource>,
}

/// How many goroutines a rule exempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredCount {
    /// The rule, as written (`--ignore-top F`, `//leakcheck:ignore at f.go:3 (why)`).
    pub rule: String,
    pub count: usize,
}

fn one() -> u32 {
    1
}

/// One package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageReport {
    pub import_path: String,
    pub outcome: PackageOutcome,
    pub error: Option<String>,
    #[serde(default)]
    pub elapsed_ms: f64,
    pub tests: Vec<TestReport>,
}

impl PackageReport {
    /// Whether the package failed although none of its tests did: its
    /// failure is not in the test counts.
    pub fn failed_outside_tests(&self) -> bool {
        matches!(
            self.outcome,
            PackageOutcome::Fail | PackageOutcome::Crash | PackageOutcome::BuildError
        ) && !self.tests.iter().any(|t| t.outcome.is_failure())
    }

    /// Why it failed, in one line, for a package that
    /// [failed outside its tests](PackageReport::failed_outside_tests).
    pub fn failure_reason(&self) -> &str {
        // Not the `# import/path` header go build starts with: the error.
        self.error
            .as_deref()
            .and_then(|e| {
                e.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("# "))
            })
            .unwrap_or(match self.outcome {
                PackageOutcome::BuildError => "build failed",
                _ => "the test binary failed",
            })
    }
}

/// Test counts: each test counts once, by its outcome (a test that failed
/// and leaked counts as failed, and in `failed_and_leaked`); packages that
/// failed outside their tests are counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub tests: usize,
    pub passed: usize,
    pub failed: usize,
    pub leaked: usize,
    pub skipped: usize,
    #[serde(default)]
    pub crashed: usize,
    #[serde(default)]
    pub hung: usize,
    /// Of the failed tests, those that also leaked (counted as failed).
    #[serde(default)]
    pub failed_and_leaked: usize,
    /// Packages that failed although none of their tests did (a build
    /// error, a TestMain that failed, a binary that exited non-zero after
    /// its tests, a protocol problem); see
    /// [`PackageReport::failed_outside_tests`].
    #[serde(default)]
    pub packages_failed: usize,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub go_version: String,
    pub packages: Vec<PackageReport>,
    pub summary: Summary,
    /// Baseline entries (`--baseline`) whose leak was not seen in tests
    /// that ran: fixed, and can be removed from the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_fixed: Vec<crate::detect::baseline::BaselineEntry>,
    /// User ignore rules that ignored no goroutine in the whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_rules: Vec<String>,
    /// The run was interrupted (Ctrl-C): only what finished is here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Report {
    pub fn new(go_version: String, packages: Vec<PackageReport>) -> Report {
        let mut summary = Summary::default();
        for t in packages.iter().flat_map(|p| &p.tests) {
            summary.tests += 1;
            match t.outcome {
                TestOutcome::Pass => summary.passed += 1,
                TestOutcome::Skip => summary.skipped += 1,
                TestOutcome::Leak => summary.leaked += 1,
                TestOutcome::Fail => {
                    summary.failed += 1;
                    if t.leaks.iter().any(|l| !l.known) || !t.resources.is_empty() {
                        summary.failed_and_leaked += 1;
                    }
                }
                TestOutcome::Hang => summary.hung += 1,
                TestOutcome::Crash => summary.crashed += 1,
            }
        }
        summary.packages_failed = packages.iter().filter(|p| p.failed_outside_tests()).count();
        Report {
            go_version,
            packages,
            summary,
            baseline_fixed: Vec::new(),
            stale_rules: Vec::new(),
            interrupted: false,
        }
    }

    /// Of `rules` (described as `IgnoreRule::describe` does), the ones no
    /// test used: stale, probably misspelt or obsolete. In order, once each.
    pub fn unused_rules(&self, rules: impl IntoIterator<Item = String>) -> Vec<String> {
        let used: std::collections::HashSet<&str> = self
            .packages
            .iter()
            .flat_map(|p| &p.tests)
            .flat_map(|t| &t.ignored)
            .map(|i| i.rule.as_str())
            .collect();
        let mut stale: Vec<String> = Vec::new();
        for r in rules {
            if !used.contains(r.as_str()) && !stale.contains(&r) {
                stale.push(r);
            }
        }
        stale
    }

    /// The exit code this report calls for (see [`crate::error`]).
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            return crate::signals::exit_code();
        }
        let mut code = EXIT_OK;
        for p in &self.packages {
            let c = match p.outcome {
                PackageOutcome::BuildError => EXIT_ERROR,
                PackageOutcome::Fail | PackageOutcome::Crash => EXIT_TESTS_FAILED,
                PackageOutcome::Pass | PackageOutcome::Skip => EXIT_OK,
            };
            code = code.max(c);
            // A test reported failed in a package that passes (one that
            // runs testing.RunTests itself) fails nothing, as under `go
            // test`; a leak, hang or crash always does.
            if p.tests.iter().any(|t| {
                matches!(
                    t.outcome,
                    TestOutcome::Leak | TestOutcome::Hang | TestOutcome::Crash
                )
            }) {
                code = code.max(EXIT_TESTS_FAILED);
            }
        }
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_failures_reason_is_its_first_error_not_the_package_header() {
        let p = PackageReport {
            import_path: "example.com/m".into(),
            outcome: PackageOutcome::BuildError,
            error: Some("# example.com/m\n./m_test.go:5:2: undefined: x\n".into()),
            elapsed_ms: 0.0,
            tests: vec![],
        };
        assert_eq!(p.failure_reason(), "./m_test.go:5:2: undefined: x");
        let bare = PackageReport {
            error: Some("# example.com/m\n".into()),
            ..p
        };
        assert_eq!(bare.failure_reason(), "build failed");
    }
}
