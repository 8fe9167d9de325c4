//! The Rust API: Go tests, with leak checking, from Rust tests.
//!
//! This module owns the public builder types [`GoModule`] (a Go module, or
//! some of its packages) and [`GoPackage`] (one package directory), and the
//! [`LeakAssertions`] helpers on the reports they return. Results are the
//! types the CLI reports: [`Report`], [`PackageReport`], [`TestReport`]
//! (with [`TestOutcome`] and
//! [`Leak`](crate::detect::compare::Leak)s that carry their creation sites).
//!
//! Paths are relative to the directory of the crate being tested
//! (`CARGO_MANIFEST_DIR`, which cargo and nextest set when they run tests;
//! the current directory otherwise). Test binaries are kept in a
//! [`cache`](crate::cache) under the cargo target directory, so building
//! happens once for any number of runs, listings and processes.
//!
//! ```
//! use leakcheck::{GoPackage, LeakAssertions};
//!
//! let report = GoPackage::new("go-fixtures/clean").run()?;
//! report.assert_no_leaks();
//! assert!(report.tests.iter().any(|t| t.name == "TestWorkerPool"));
//! # Ok::<(), leakcheck::error::Error>(())
//! ```
//!
//! In a plain `#[test]`:
//!
//! ```no_run
//! #[test]
//! fn queue_does_not_leak() -> Result<(), leakcheck::error::Error> {
//!     leakcheck::GoPackage::new("go/queue")
//!         .go_args(["-race"])
//!         .run()?
//!         .assert_passed();
//!     Ok(())
//! }
//! ```
//!
//! To make every Go test a cargo (and nextest) test, see [`crate::mimic`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::cache::{default_dir, BinaryCache};
use crate::detect::ignore::{IgnoreRule, IgnoreRules};
use crate::error::Error;
use crate::go::args::GoTestArgs;
use crate::go::cmd::{self, GoEnv, GoList, GoTestBuild};
use crate::go::harness::Overlay;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, PackageReport, Report, TestOutcome, TestReport};
use crate::output::reporter::{leak_report_lines, Reporter};
use crate::runner::{run, RunEvent, RunOptions};

/// Settings shared by [`GoModule`] and [`GoPackage`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) dir: PathBuf,
    grace: Duration,
    test_timeout: Option<Duration>,
    ignore: IgnoreRules,
    go_args: Vec<String>,
    cache_dir: Option<PathBuf>,
    verbose: bool,
    print: bool,
    jobs: usize,
}

/// `path` made absolute: relative paths are taken from
/// `CARGO_MANIFEST_DIR` when set, else from the current directory.
fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    base.join(path)
}

impl Settings {
    fn new(dir: &Path) -> Settings {
        let defaults = RunOptions::new(resolve(dir));
        Settings {
            dir: defaults.dir,
            grace: defaults.grace,
            test_timeout: defaults.test_timeout,
            ignore: defaults.ignore,
            go_args: Vec::new(),
            cache_dir: None,
            verbose: false,
            print: true,
            jobs: defaults.jobs,
        }
    }

    fn cache(&self) -> BinaryCache {
        BinaryCache::new(self.cache_dir.clone().unwrap_or_else(default_dir))
    }

    fn check_dir(&self) -> Result<(), Error> {
        if self.dir.is_dir() {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "{}: no such directory",
                self.dir.display()
            )))
        }
    }

    /// The `go test` arguments for `patterns`, plus `extra` flags.
    fn go_test_args(&self, patterns: &[String], extra: &[String]) -> Result<GoTestArgs, Error> {
        self.check_dir()?;
        let goflags = std::env::var("GOFLAGS").ok();
        let mut args = GoTestArgs::parse_with_goflags(&self.go_args, goflags.as_deref())?;
        if !args.packages.is_empty() {
            return Err(Error::Usage(format!(
                "go_args takes flags, not packages ({}); name packages with GoModule::packages",
                args.packages.join(" ")
            )));
        }
        if !extra.is_empty() {
            let more = GoTestArgs::parse(extra)?;
            args.test_flags.extend(more.test_flags);
        }
        args.packages = patterns.to_vec();
        Ok(args)
    }

    fn run_options(&self, go_args: GoTestArgs, jobs: usize) -> RunOptions {
        RunOptions {
            dir: self.dir.clone(),
            verbose: self.verbose || go_args.verbose,
            go_args,
            grace: self.grace,
            jobs,
            ignore: self.ignore.clone(),
            test_timeout: self.test_timeout,
            cache_dir: Some(self.cache().dir().to_path_buf()),
            ..RunOptions::new(&self.dir)
        }
    }

    /// Runs `patterns` (with `extra` test flags), printing the human
    /// report with `print!` when asked (the test harness captures it).
    pub(crate) fn run(
        &self,
        patterns: &[String],
        extra: &[String],
        jobs: usize,
    ) -> Result<(Report, Vec<Vec<TestEvent>>), Error> {
        let opts = self.run_options(self.go_test_args(patterns, extra)?, jobs);
        let mut reporter = Reporter::human(Vec::new(), opts.verbose, opts.dir.clone());
        let mut events = Vec::new();
        let mut package = Vec::new();
        let print = self.print;
        let report = run(&opts, &mut |event| {
            match &event {
                RunEvent::PackageEvents { events: e, .. } => package.extend_from_slice(e),
                RunEvent::PackageFinished { events: e, .. } => {
                    package.extend_from_slice(e);
                    events.push(std::mem::take(&mut package));
                }
                _ => {}
            }
            reporter.event(event)?;
            if print {
                if let Reporter::Human { out, .. } = &mut reporter {
                    print!("{}", String::from_utf8_lossy(out));
                    out.clear();
                }
            }
            Ok(())
        })?;
        Ok((report, events))
    }

    /// Runs the one test `name` of the package `pattern`.
    pub(crate) fn run_one(&self, pattern: &str, name: &str) -> Result<OneTest, Error> {
        let run_flag = format!("-run=^{}$", regex::escape(name));
        let (report, mut events) = self.run(&[pattern.to_string()], &[run_flag], 1)?;
        let package = report
            .packages
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoPackages(format!("{pattern} matched no packages")))?;
        let events = events.pop().unwrap_or_default();
        let test = package.tests.iter().find(|t| t.name == name).cloned();
        Ok(OneTest {
            output: test_output(&events, name),
            package_output: package_output(&events),
            package,
            test,
        })
    }

    /// Builds the test binaries of `patterns` (from the cache when it
    /// has them). Packages without tests are left out.
    pub(crate) fn build_all(&self, patterns: &[String]) -> Result<Vec<Built>, Error> {
        let args = self.go_test_args(patterns, &[])?;
        let env = GoEnv::detect(&self.dir)?;
        let packages = GoList {
            env: &env,
            dir: &self.dir,
            build_flags: &args.build_flags,
            patterns: &args.packages,
        }
        .run()?;
        let work = tempfile::Builder::new()
            .prefix("leakcheck-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory", e))?;
        let build_flags = cmd::test_build_flags(env.release, &args.build_flags);
        let mut overlay = Overlay::from_user(args.overlay.as_deref().map(Path::new))?;
        overlay.hook_testing(
            Path::new(&env.goroot),
            &env.version,
            &work.path().join("hook"),
        )?;
        let overlay_path = work.path().join("overlay.json");
        overlay.write(&overlay_path)?;
        let cache = self.cache();
        let todo: Vec<&cmd::GoPackage> = packages
            .iter()
            .filter(|p| p.has_tests() || p.error.is_some())
            .collect();
        let next = AtomicUsize::new(0);
        let mut built: Vec<(usize, Result<Built, Error>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..self.jobs.clamp(1, todo.len().max(1)))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::SeqCst);
                            let Some(pkg) = todo.get(i) else { break };
                            let binary = match &pkg.error {
                                Some(e) => Ok(Err(format!("{}\n", e.err.trim_end()))),
                                None => cache
                                    .get_or_build(
                                        &GoTestBuild {
                                            dir: &self.dir,
                                            import_path: &pkg.import_path,
                                            output: Path::new(""),
                                            overlay: &overlay_path,
                                            build_flags: &build_flags,
                                            env: crate::runner::build_env(&env),
                                        },
                                        &env,
                                    )
                                    .map(|r| r.map(|c| c.path)),
                            };
                            done.push((
                                i,
                                binary.map(|binary| Built {
                                    package: (*pkg).clone(),
                                    binary,
                                }),
                            ));
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        built.sort_by_key(|(i, _)| *i);
        built.into_iter().map(|(_, b)| b).collect()
    }
}

/// A package's test binary, or why it could not be built.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) package: cmd::GoPackage,
    /// The binary, or the build's (or `go list`'s) error output.
    pub(crate) binary: Result<PathBuf, String>,
}

impl Built {
    fn into_binary(self) -> Result<TestBinary, Error> {
        match self.binary {
            Ok(path) => Ok(TestBinary {
                import_path: self.package.import_path,
                dir: self.package.dir,
                path,
            }),
            Err(output) => Err(Error::Command {
                command: format!("go test -c {}", self.package.import_path),
                message: output.trim_end().to_string(),
            }),
        }
    }
}

/// The result of running one test.
#[derive(Debug)]
pub(crate) struct OneTest {
    pub(crate) package: PackageReport,
    pub(crate) test: Option<TestReport>,
    /// The test's output, as `go test` prints a failed test's.
    pub(crate) output: String,
    /// Output that belongs to no test.
    pub(crate) package_output: String,
}

impl OneTest {
    /// The test's report; an error when the test did not run.
    pub(crate) fn into_report(self, pattern: &str, name: &str) -> Result<TestReport, Error> {
        if let Some(t) = self.test {
            return Ok(t);
        }
        Err(match self.package.outcome {
            PackageOutcome::BuildError => Error::Command {
                command: format!("go test -c {}", self.package.import_path),
                message: self.package.error.unwrap_or_default().trim_end().into(),
            },
            PackageOutcome::Pass | PackageOutcome::Skip => {
                Error::Usage(format!("{pattern} has no test named {name}"))
            }
            _ => Error::Command {
                command: format!("the test binary of {}", self.package.import_path),
                message: format!(
                    "{name} did not run: {}{}",
                    self.package.error.as_deref().unwrap_or(""),
                    self.package_output
                ),
            },
        })
    }
}

/// Whether an output line is `go test -v` framing.
fn is_framing(line: &str) -> bool {
    ["=== RUN", "=== PAUSE", "=== CONT", "=== NAME"]
        .iter()
        .any(|p| line.trim_start().starts_with(p))
}

/// The output of top-level test `name` (and its subtests), framing left
/// out.
pub(crate) fn test_output(events: &[TestEvent], name: &str) -> String {
    events
        .iter()
        .filter(|e| e.action == "output" && e.top_level_test() == Some(name))
        .filter_map(|e| e.output.as_deref())
        .filter(|l| !is_framing(l))
        .collect()
}

/// Output lines that belong to no test, framing left out.
fn package_output(events: &[TestEvent]) -> String {
    events
        .iter()
        .filter(|e| e.action == "output" && e.test.is_none())
        .filter_map(|e| e.output.as_deref())
        .filter(|l| !is_framing(l))
        .collect()
}

/// The names `-test.list .` prints that `go test` runs: tests, fuzz
/// targets (their seed corpus) and examples with output; not benchmarks.
fn is_test_name(line: &str) -> bool {
    crate::runner::is_test_function_name(line)
        && !line.is_empty()
        && line.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Lists the tests of a test binary: `-test.list .` in the package's
/// directory, without `LEAKCHECK_SOCKET` (the helper does nothing then).
/// Note that a `TestMain` of the package runs.
pub(crate) fn list_binary(binary: &Path, dir: &Path) -> Result<Vec<String>, Error> {
    let args = ["-test.list", "."];
    let line = cmd::command_line(
        &binary.display().to_string(),
        &args.iter().map(Into::into).collect::<Vec<_>>(),
    );
    let out = duct::cmd(binary, args)
        .dir(dir)
        .env_remove("LEAKCHECK_HELPER")
        .stdout_capture()
        .stderr_capture()
        .stdin_null()
        .unchecked()
        .run()
        .map_err(|e| Error::Command {
            command: line.clone(),
            message: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Error::Command {
            command: line,
            message: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr))
                .trim_end()
                .to_string(),
        });
    }
    Ok(stdout
        .lines()
        .map(str::trim_end)
        .filter(|l| is_test_name(l))
        .map(str::to_string)
        .collect())
}

/// A package's test binary in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    pub import_path: String,
    /// The package's directory (where its tests run).
    pub dir: PathBuf,
    /// The binary. Run without leakcheck it is a plain Go test binary.
    pub path: PathBuf,
}

/// The tests of one package, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageTests {
    pub import_path: String,
    /// The package's directory.
    pub dir: PathBuf,
    /// Top-level tests, fuzz targets and examples (`go test -list .`).
    pub tests: Vec<String>,
}

/// The builder methods both [`GoModule`] and [`GoPackage`] have.
macro_rules! settings_methods {
    () => {
        /// How long a test's goroutines may outlive it before they count
        /// as leaked (default 1s).
        pub fn grace(mut self, grace: Duration) -> Self {
            self.settings.grace = grace;
            self
        }

        /// A test still running after this long is declared hung
        /// (default 60s; `None`: never).
        pub fn test_timeout(mut self, timeout: Option<Duration>) -> Self {
            self.settings.test_timeout = timeout;
            self
        }

        /// Adds a rule exempting goroutines from the leak check (the
        /// built-in rules stay).
        pub fn ignore(mut self, rule: IgnoreRule) -> Self {
            self.settings.ignore.rules.push(rule);
            self
        }

        /// Replaces all ignore rules, the built-in ones included
        /// ([`IgnoreRules::default`] has those).
        pub fn ignore_rules(mut self, rules: IgnoreRules) -> Self {
            self.settings.ignore = rules;
            self
        }

        /// Adds `go test` flags: build flags (`-race`, `-tags=x`, ...) and
        /// test flags (`-short`, `-count=2`, ...), as `go test` takes them.
        /// They are checked when the tests are built or run; packages are
        /// not taken here.
        pub fn go_args<I, S>(mut self, args: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.settings
                .go_args
                .extend(args.into_iter().map(Into::into));
            self
        }

        /// Where test binaries are cached (default:
        /// [`cache::default_dir`](crate::cache::default_dir)).
        pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
            self.settings.cache_dir = Some(dir.into());
            self
        }

        /// Show every leaked goroutine's full stack.
        pub fn verbose(mut self, verbose: bool) -> Self {
            self.settings.verbose = verbose;
            self
        }

        /// Print the `go test`-style report of runs with `print!` (default
        /// on; the Rust test harness captures it and shows it when the
        /// test fails).
        pub fn print_output(mut self, print: bool) -> Self {
            self.settings.print = print;
            self
        }

        /// The directory, made absolute.
        pub fn dir(&self) -> &Path {
            &self.settings.dir
        }
    };
}

/// A Go module, or some of its packages: the unit of [`crate::mimic`].
///
/// ```
/// use leakcheck::{GoModule, LeakAssertions};
/// use leakcheck::output::report::TestOutcome;
///
/// let module = GoModule::new("go-fixtures").packages(["./clean", "./handler"]);
/// let report = module.run()?;
/// let query = report.packages.iter()
///     .flat_map(|p| &p.tests)
///     .find(|t| t.name == "TestQuery")
///     .unwrap();
/// assert_eq!(query.outcome, TestOutcome::Leak);
/// let site = query.leaks[0].created_by.as_ref().unwrap();
/// assert!(site.file.ends_with("handler/handler.go"));
/// assert!(report.leak_report().unwrap().contains("--- LEAK: leakcheck.test/fixtures/handler.TestQuery"));
/// # Ok::<(), leakcheck::error::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GoModule {
    pub(crate) settings: Settings,
    pub(crate) packages: Vec<String>,
}

impl GoModule {
    /// The module in `dir` (relative to `CARGO_MANIFEST_DIR`); all its
    /// packages (`./...`) unless [`packages`](Self::packages) says
    /// otherwise.
    pub fn new(dir: impl AsRef<Path>) -> GoModule {
        GoModule {
            settings: Settings::new(dir.as_ref()),
            packages: vec!["./...".to_string()],
        }
    }

    /// The packages to test, as `go test` takes them (`./queue`,
    /// `./internal/...`, import paths).
    pub fn packages<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.packages = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Packages built and run at once (default: one per CPU).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.settings.jobs = jobs.max(1);
        self
    }

    settings_methods!();

    /// Builds the test binary of every package with tests (or finds it in
    /// the cache). A package that does not compile is an error carrying
    /// the compiler's output.
    pub fn build(&self) -> Result<Vec<TestBinary>, Error> {
        self.settings
            .build_all(&self.packages)?
            .into_iter()
            .map(Built::into_binary)
            .collect()
    }

    /// The tests of every package with tests, in `go list` order.
    pub fn list_tests(&self) -> Result<Vec<PackageTests>, Error> {
        self.build()?
            .into_iter()
            .map(|b| {
                Ok(PackageTests {
                    tests: list_binary(&b.path, &b.dir)?,
                    import_path: b.import_path,
                    dir: b.dir,
                })
            })
            .collect()
    }

    /// Runs the tests. A package that does not compile is an error; test
    /// failures and leaks are in the report.
    pub fn run(&self) -> Result<Report, Error> {
        let (report, _) = self.settings.run(&self.packages, &[], self.settings.jobs)?;
        build_errors(&report)?;
        Ok(report)
    }

    /// Runs one top-level test of the package `import_path` (or a
    /// relative package path such as `./queue`). An error if there is no
    /// such test.
    pub fn run_test(&self, import_path: &str, name: &str) -> Result<TestReport, Error> {
        self.settings
            .run_one(import_path, name)?
            .into_report(import_path, name)
    }
}

/// Fails on the first package that did not build.
fn build_errors(report: &Report) -> Result<(), Error> {
    match report
        .packages
        .iter()
        .find(|p| p.outcome == PackageOutcome::BuildError)
    {
        Some(p) => Err(Error::Command {
            command: format!("go test -c {}", p.import_path),
            message: p.error.clone().unwrap_or_default().trim_end().into(),
        }),
        None => Ok(()),
    }
}

/// One Go package: a directory (relative to `CARGO_MANIFEST_DIR`) with
/// `_test.go` files, inside a Go module.
///
/// ```
/// use leakcheck::{GoPackage, LeakAssertions};
/// use leakcheck::output::report::TestOutcome;
/// use std::time::Duration;
///
/// let handler = GoPackage::new("go-fixtures/handler").grace(Duration::from_millis(300));
/// assert!(handler.list_tests()?.contains(&"TestQuery".to_string()));
/// let query = handler.run_test("TestQuery")?;
/// assert_eq!(query.outcome, TestOutcome::Leak);
/// assert!(query.leak_report().unwrap().contains("created at"));
/// # Ok::<(), leakcheck::error::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GoPackage {
    settings: Settings,
}

impl GoPackage {
    /// The package in `dir`, relative to `CARGO_MANIFEST_DIR`.
    pub fn new(dir: impl AsRef<Path>) -> GoPackage {
        let mut settings = Settings::new(dir.as_ref());
        settings.jobs = 1;
        GoPackage { settings }
    }

    settings_methods!();

    fn one(&self) -> [String; 1] {
        [".".to_string()]
    }

    /// Builds the package's test binary (or finds it in the cache). Not
    /// compiling is an error carrying the compiler's output; so is a
    /// package without test files.
    pub fn build(&self) -> Result<TestBinary, Error> {
        match self.settings.build_all(&self.one())?.pop() {
            Some(b) => b.into_binary(),
            None => Err(Error::NoPackages(format!(
                "{} has no test files",
                self.settings.dir.display()
            ))),
        }
    }

    /// The package's top-level tests, fuzz targets and examples, in
    /// source order.
    pub fn list_tests(&self) -> Result<Vec<String>, Error> {
        let b = self.build()?;
        list_binary(&b.path, &b.dir)
    }

    /// Runs the package's tests. Not compiling is an error; test failures
    /// and leaks are in the report.
    pub fn run(&self) -> Result<PackageReport, Error> {
        let (report, _) = self.settings.run(&self.one(), &[], 1)?;
        build_errors(&report)?;
        report
            .packages
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoPackages(format!("{}", self.settings.dir.display())))
    }

    /// Runs one top-level test (`-run ^NAME$`). An error if there is no
    /// such test.
    pub fn run_test(&self, name: &str) -> Result<TestReport, Error> {
        self.settings
            .run_one(".", name)?
            .into_report(&self.settings.dir.display().to_string(), name)
    }
}

/// Assertions on reports for Rust tests, and the human leak report.
///
/// ```
/// use leakcheck::LeakAssertions;
/// use leakcheck::output::report::TestReport;
///
/// let clean: TestReport = serde_json::from_str(
///     r#"{"name": "TestClean", "outcome": "pass", "elapsed_ms": 1.0, "leaks": []}"#,
/// ).unwrap();
/// clean.assert_no_leaks();
/// clean.assert_passed();
/// assert_eq!(clean.leak_report(), None);
/// ```
pub trait LeakAssertions {
    /// The `--- LEAK` block of every test that leaked (paths relative to
    /// the current directory), or `None`.
    fn leak_report(&self) -> Option<String>;

    /// Tests that did not pass (failed, leaked, hung or crashed, or whose
    /// package failed), each with its outcome and leaks, or `None`.
    fn failure_report(&self) -> Option<String>;

    /// Panics with the leak report if any test leaked.
    #[track_caller]
    fn assert_no_leaks(&self) {
        if let Some(text) = self.leak_report() {
            panic!("goroutines leaked:\n{text}");
        }
    }

    /// Panics with the failure report unless every test passed (or was
    /// skipped) without leaking.
    #[track_caller]
    fn assert_passed(&self) {
        if let Some(text) = self.failure_report() {
            panic!("Go tests did not pass:\n{text}");
        }
    }
}

fn base() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

/// Leaks that count as leaks: a hung test's goroutines are its own.
fn leaked(t: &TestReport) -> bool {
    !t.leaks.is_empty() && t.outcome != TestOutcome::Hang
}

fn test_leak_lines(label: &str, t: &TestReport) -> String {
    leak_report_lines(label, &t.leaks, &base(), false).concat()
}

fn test_failure(label: &str, t: &TestReport) -> Option<String> {
    if !t.outcome.is_failure() && !leaked(t) {
        return None;
    }
    let mut s = format!("--- {}: {label}\n", t.outcome.as_str().to_uppercase());
    if let Some(d) = &t.details {
        for l in d.lines() {
            s.push_str(&format!("    {l}\n"));
        }
    }
    if leaked(t) {
        s.push_str(&test_leak_lines(label, t));
    }
    Some(s)
}

fn package_failures(p: &PackageReport) -> Vec<String> {
    let mut out: Vec<String> = p
        .tests
        .iter()
        .filter_map(|t| test_failure(&format!("{}.{}", p.import_path, t.name), t))
        .collect();
    if matches!(
        p.outcome,
        PackageOutcome::BuildError | PackageOutcome::Crash
    ) || (p.outcome == PackageOutcome::Fail && out.is_empty())
    {
        let outcome = serde_json::to_value(p.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push(format!(
            "package {}: {outcome}\n{}",
            p.import_path,
            p.error.as_deref().unwrap_or("")
        ));
    }
    out
}

fn joined(parts: Vec<String>) -> Option<String> {
    (!parts.is_empty()).then(|| parts.concat())
}

impl LeakAssertions for TestReport {
    fn leak_report(&self) -> Option<String> {
        leaked(self).then(|| test_leak_lines(&self.name, self))
    }

    fn failure_report(&self) -> Option<String> {
        test_failure(&self.name, self)
    }
}

impl LeakAssertions for PackageReport {
    fn leak_report(&self) -> Option<String> {
        joined(
            self.tests
                .iter()
                .filter(|t| leaked(t))
                .map(|t| test_leak_lines(&format!("{}.{}", self.import_path, t.name), t))
                .collect(),
        )
    }

    fn failure_report(&self) -> Option<String> {
        joined(package_failures(self))
    }
}

impl LeakAssertions for Report {
    fn leak_report(&self) -> Option<String> {
        joined(
            self.packages
                .iter()
                .filter_map(LeakAssertions::leak_report)
                .collect(),
        )
    }

    fn failure_report(&self) -> Option<String> {
        joined(self.packages.iter().flat_map(package_failures).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::Leak;

    fn test(name: &str, outcome: TestOutcome, leaks: Vec<Leak>) -> TestReport {
        // Through JSON, so fields added to the report keep their defaults.
        serde_json::from_value(serde_json::json!({
            "name": name,
            "outcome": outcome,
            "elapsed_ms": 1.0,
            "leaks": leaks,
        }))
        .unwrap()
    }

    fn package(tests: Vec<TestReport>) -> PackageReport {
        serde_json::from_value(serde_json::json!({
            "import_path": "example.com/p",
            "outcome": "fail",
            "error": null,
            "elapsed_ms": 1.0,
            "tests": tests,
        }))
        .unwrap()
    }

    #[test]
    fn leak_report_names_each_leaking_test_and_its_creation_site() {
        let p = package(vec![
            test("TestOK", TestOutcome::Pass, vec![]),
            test("TestLeak", TestOutcome::Leak, vec![Leak::example()]),
        ]);
        let text = p.leak_report().unwrap();
        assert!(text.starts_with("--- LEAK: example.com/p.TestLeak (1 goroutine)\n"));
        assert!(text.contains("created at  /m/p/p.go:9 by example.com/p.F\n"));
        assert!(!text.contains("TestOK"));
        let r = Report::new("go1.26.0".into(), vec![p]);
        assert_eq!(r.leak_report(), r.packages[0].leak_report());
    }

    #[test]
    fn assert_no_leaks_panics_with_the_report() {
        let t = test("TestLeak", TestOutcome::Leak, vec![Leak::example()]);
        let err = std::panic::catch_unwind(|| t.assert_no_leaks()).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("--- LEAK: TestLeak (1 goroutine)"), "{msg}");
        assert!(msg.contains("p/p.go:9"), "{msg}");
    }

    #[test]
    fn failures_are_not_leaks_but_fail_assert_passed() {
        let mut failed = test("TestBad", TestOutcome::Fail, vec![]);
        failed.assert_no_leaks();
        assert!(std::panic::catch_unwind(|| failed.assert_passed()).is_err());
        assert_eq!(failed.failure_report().unwrap(), "--- FAIL: TestBad\n");
        // A hung test's goroutines are its own, not leaks.
        failed.outcome = TestOutcome::Hang;
        failed.leaks = vec![Leak::example()];
        failed.assert_no_leaks();
        assert!(failed
            .failure_report()
            .unwrap()
            .starts_with("--- HANG: TestBad\n"));
    }

    #[test]
    fn a_package_that_did_not_build_fails_assert_passed() {
        let mut p = package(vec![]);
        p.outcome = PackageOutcome::BuildError;
        p.error = Some("p.go:1: syntax error\n".into());
        p.assert_no_leaks();
        let text = p.failure_report().unwrap();
        assert!(
            text.contains("package example.com/p: build-error\np.go:1: syntax error"),
            "{text}"
        );
    }

    #[test]
    fn only_runnable_names_are_listed() {
        for name in ["TestA", "Test", "FuzzParse", "ExampleQueue_Push", "TestÄ"] {
            assert!(is_test_name(name), "{name}");
        }
        for name in ["BenchmarkA", "ok  \tpkg", "setting up", "", "Test A"] {
            assert!(!is_test_name(name), "{name}");
        }
    }

    #[test]
    fn flags_are_checked_and_packages_refused() {
        let m = GoModule::new("go-fixtures").go_args(["-nosuch"]);
        assert!(matches!(m.run(), Err(Error::Usage(_))));
        let m = GoModule::new("go-fixtures").go_args(["./clean"]);
        let err = m.build().unwrap_err();
        assert!(err.to_string().contains("GoModule::packages"), "{err}");
        let m = GoModule::new("no/such/dir");
        let err = m.list_tests().unwrap_err();
        assert!(err.to_string().contains("no such directory"), "{err}");
    }

    #[test]
    fn relative_paths_start_at_the_manifest_dir() {
        let p = GoPackage::new("go-fixtures/clean");
        assert_eq!(
            p.dir(),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("go-fixtures/clean")
        );
        assert_eq!(GoPackage::new("/abs").dir(), Path::new("/abs"));
    }
}
