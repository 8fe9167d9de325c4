//! Go tests as cargo tests: a [libtest-mimic] harness with one trial per
//! top-level Go test, named `import/path::TestName`, run with leak
//! checking. A leak (or a failure) fails the trial with the test's output
//! and its `--- LEAK` report.
//!
//! This module owns turning a [`GoModule`] into trials and running them.
//! A crate uses it from a test target without the standard harness:
//!
//! ```toml
//! [[test]]
//! name = "go"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/go.rs
//! fn main() -> std::process::ExitCode {
//!     leakcheck::mimic::main(leakcheck::GoModule::new("go"))
//! }
//! ```
//!
//! It speaks the protocol cargo-nextest requires of custom harnesses:
//! `--list --format terse` prints only `NAME: test` lines; `--ignored`
//! lists and runs only ignored trials; `NAME --exact` runs exactly one Go
//! test, without listing the module: the name says which package and test
//! to run (`go test -run '^TestName$' import/path`); filters and `--skip`
//! match as in libtest.
//!
//! Listing builds every package's test binary and asks it for its tests
//! (`-test.list .`). Binaries come from the [`cache`](crate::cache), so
//! nextest, which lists once and then starts one process per test, builds
//! each package once, and later runs build nothing until a source, a flag
//! or the Go version changes.
//!
//! # Skipped Go tests
//! Whether a Go test calls `t.Skip` is known only by running it (it may
//! depend on `-short`, the environment or the machine), and listing must
//! not run tests. So every Go test is listed as a normal trial, never as
//! `#[ignore]`d, and a test that skips when it runs ends as *ignored* at
//! run time ([`Trial::ignorable_test`]), with its skip message as the
//! reason: `cargo test` prints `ignored, <reason>` and counts it as
//! ignored; nextest, which reads only the exit status of a one-test
//! process, shows it as passed. `--ignored` therefore selects no Go test.
//!
//! A package that does not compile becomes one failing trial,
//! `import/path::(build)`, carrying the compiler's output, so the rest of
//! the module still runs.
//!
//! [libtest-mimic]: https://docs.rs/libtest-mimic

use std::process::ExitCode;

use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};

use crate::api::{list_binary, GoModule};
use crate::error::Error;
use crate::output::report::TestOutcome;
use crate::output::reporter::leak_report_lines;

/// The test part of the trial that stands for a package's build.
pub const BUILD_TRIAL: &str = "(build)";

/// Runs the harness on `module` with the process's arguments: the whole
/// `main` of a `harness = false` test target. Exit status 101 when a trial
/// failed or the module could not be listed (the error goes to stderr).
pub fn main(module: GoModule) -> ExitCode {
    match run(&module, &Arguments::from_args()) {
        Ok(conclusion) => conclusion.exit_code(),
        Err(e) => {
            eprintln!("leakcheck: {e}");
            ExitCode::from(101)
        }
    }
}

/// Runs the trials of `module` that `args` select. `NAME --exact` with a
/// trial name builds just that trial; everything else lists the module.
pub fn run(module: &GoModule, args: &Arguments) -> Result<Conclusion, Error> {
    let trials = match exact_target(args) {
        Some((import_path, test)) => vec![trial(module, import_path, test)],
        None => trials(module)?,
    };
    Ok(libtest_mimic::run(args, trials))
}

/// `import/path::TestName` when `args` run exactly one named trial.
fn exact_target(args: &Arguments) -> Option<(&str, &str)> {
    if args.list || !args.exact {
        return None;
    }
    args.filter
        .as_deref()?
        .rsplit_once("::")
        .filter(|(p, t)| !p.is_empty() && !t.is_empty())
}

/// One trial per top-level Go test of every package of `module`, in
/// `go list` order and source order, plus a failing `(build)` trial for
/// each package that does not compile.
pub fn trials(module: &GoModule) -> Result<Vec<Trial>, Error> {
    let mut trials = Vec::new();
    for built in module.settings.build_all(&module.packages)? {
        let import_path = built.package.import_path.clone();
        let listed = built
            .binary
            .and_then(|binary| list_binary(&binary, &built.package.dir).map_err(|e| e.to_string()));
        match listed {
            Ok(tests) => {
                trials.extend(tests.iter().map(|t| trial(module, &import_path, t)));
            }
            Err(output) => {
                let name = format!("{import_path}::{BUILD_TRIAL}");
                trials.push(Trial::test(name, move || Err(output.into())));
            }
        }
    }
    Ok(trials)
}

/// The trial that runs `test` of the package `import_path` of `module`.
pub fn trial(module: &GoModule, import_path: &str, test: &str) -> Trial {
    let module = module.clone().print_output(false);
    let (import_path, test) = (import_path.to_string(), test.to_string());
    Trial::ignorable_test(format!("{import_path}::{test}"), move || {
        if test == BUILD_TRIAL {
            return build_trial(&module, &import_path);
        }
        run_trial(&module, &import_path, &test)
    })
}

fn build_trial(module: &GoModule, import_path: &str) -> Result<Completion, Failed> {
    let built = module
        .settings
        .build_all(&[import_path.to_string()])
        .map_err(|e| e.to_string())?;
    for b in built {
        b.binary?;
    }
    Ok(Completion::Completed)
}

fn run_trial(module: &GoModule, import_path: &str, test: &str) -> Result<Completion, Failed> {
    let one = module
        .settings
        .run_one(import_path, test)
        .map_err(|e| e.to_string())?;
    let Some(report) = one.test.clone() else {
        let package_output = one.package_output.clone();
        let err = one
            .into_report(import_path, test)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(format!("{err}\n{package_output}").trim_end().into());
    };
    match report.outcome {
        TestOutcome::Pass => Ok(Completion::Completed),
        TestOutcome::Skip => Ok(Completion::ignored_with(skip_reason(&one.output))),
        _ => {
            let mut text = one.output.clone();
            if !report.leaks.is_empty() && !text.contains("--- LEAK: ") {
                let base = module.dir();
                text.push_str(&leak_report_lines(test, &report.leaks, base, false).concat());
            }
            if let Some(d) = report.details.as_deref().filter(|d| !text.contains(*d)) {
                text.push_str(d);
                text.push('\n');
            }
            if let Some(e) = &one.package.error {
                text.push_str(&format!("leakcheck: {}\n", e.trim_end()));
            }
            if text.trim().is_empty() {
                text = format!("{test}: {}", report.outcome.as_str());
            }
            Err(text.trim_end().into())
        }
    }
}

/// A skipped test's message, from its output.
fn skip_reason(output: &str) -> String {
    let reason: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--- SKIP"))
        .collect();
    if reason.is_empty() {
        "skipped (t.Skip)".to_string()
    } else {
        reason.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Arguments {
        Arguments::from_iter(std::iter::once("go").chain(a.iter().copied()))
    }

    #[test]
    fn an_exact_trial_name_needs_no_listing() {
        assert_eq!(
            exact_target(&args(&["example.com/p::TestA", "--exact", "--nocapture"])),
            Some(("example.com/p", "TestA"))
        );
        assert_eq!(exact_target(&args(&["example.com/p::TestA"])), None);
        assert_eq!(exact_target(&args(&["TestA", "--exact"])), None);
        assert_eq!(
            exact_target(&args(&["--list", "--exact", "example.com/p::TestA"])),
            None
        );
    }

    #[test]
    fn skip_reasons_come_from_the_output() {
        assert_eq!(
            skip_reason("    x_test.go:9: needs POLYGLOT_LEAK=1\n--- SKIP: TestX (0.00s)\n"),
            "x_test.go:9: needs POLYGLOT_LEAK=1"
        );
        assert_eq!(skip_reason("--- SKIP: TestX (0.00s)\n"), "skipped (t.Skip)");
    }

    #[test]
    fn trials_are_named_by_package_and_test() {
        let module = GoModule::new("go-fixtures").packages(["./clean", "./notests"]);
        let trials = trials(&module).unwrap();
        let names: Vec<&str> = trials.iter().map(|t| t.name()).collect();
        assert!(names.contains(&"leakcheck.test/fixtures/clean::TestWorkerPool"));
        assert!(names
            .iter()
            .all(|n| n.starts_with("leakcheck.test/fixtures/clean::Test")));
        assert!(trials.iter().all(|t| !t.has_ignored_flag()));
    }

    #[test]
    fn a_leak_fails_the_trial_with_its_creation_site() {
        let module = GoModule::new("go-fixtures").grace(std::time::Duration::from_millis(300));
        let log = tempfile::NamedTempFile::new().unwrap();
        let log_path = log.path().to_str().unwrap();
        let conclusion = run(
            &module,
            &args(&[
                "leakcheck.test/fixtures/handler::TestQuery",
                "--exact",
                "--test-threads=1",
                "--logfile",
                log_path,
            ]),
        )
        .unwrap();
        assert_eq!(conclusion.num_passed, 0);
        assert_eq!(conclusion.num_failed, 1);
        // The failure text itself, from the trial's runner.
        let Err(err) = run_trial(&module, "leakcheck.test/fixtures/handler", "TestQuery") else {
            panic!("TestQuery passed");
        };
        let msg = err.message().unwrap();
        assert!(
            msg.contains("--- LEAK: TestQuery (1 goroutine; checked in "),
            "{msg}"
        );
        assert!(msg.contains("created at  handler/handler.go:30"), "{msg}");
    }

    #[test]
    fn a_package_that_does_not_compile_is_one_failing_trial() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("go.mod"), "module example.com/m\n\ngo 1.21\n").unwrap();
        for (pkg, test) in [
            ("ok", "func TestOK(t *testing.T) {}"),
            ("broken", "func TestBroken(t *testing.T) { undefined() }"),
        ] {
            std::fs::create_dir(root.join(pkg)).unwrap();
            std::fs::write(
                root.join(pkg).join("x_test.go"),
                format!("package {pkg}\n\nimport \"testing\"\n\n{test}\n"),
            )
            .unwrap();
        }
        let module = GoModule::new(root).cache_dir(root.join("cache"));
        let trials = trials(&module).unwrap();
        let names: Vec<&str> = trials.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            ["example.com/m/broken::(build)", "example.com/m/ok::TestOK"]
        );
        let log = tempfile::NamedTempFile::new().unwrap();
        let conclusion =
            libtest_mimic::run(&args(&["--logfile", log.path().to_str().unwrap()]), trials);
        assert_eq!((conclusion.num_passed, conclusion.num_failed), (1, 1));
        let out = std::fs::read_to_string(log.path()).unwrap();
        assert!(out.contains("undefined: undefined"), "{out}");
        // Run by name, as nextest does, it fails the same way.
        let Err(err) = build_trial(&module, "example.com/m/broken") else {
            panic!("the broken package built");
        };
        assert!(err.message().unwrap().contains("undefined: undefined"));
    }

    #[test]
    fn a_missing_test_fails_clearly() {
        let module = GoModule::new("go-fixtures");
        let Err(err) = run_trial(&module, "leakcheck.test/fixtures/clean", "TestNoSuch") else {
            panic!("TestNoSuch passed");
        };
        let msg = err.message().unwrap();
        assert!(msg.contains("has no test named TestNoSuch"), "{msg}");
    }
}
