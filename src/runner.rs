//! The runner: list → build → run.
//!
//! It lists packages with `go list`, builds each package's test binary with
//! the helper injected through `-overlay` (never writing the user's tree),
//! runs the binaries with a [`HelperListener`] serving their helper, reads
//! their `go test -json` event stream through the toolchain's `test2json`,
//! joins the comparator's verdicts to it, and emits [`RunEvent`]s for a
//! reporter to print. Packages are built and run `jobs` at a time; events
//! come out in `go list` order.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::compare::{group_leaks_merge, Comparator, CompareConfig, RunVerdict};
use crate::error::Error;
use crate::goargs::GoTestArgs;
use crate::gocmd::{command_line, godebug_with, GoEnv, GoList, GoPackage, GoTestBuild};
use crate::harness::Overlay;
use crate::ignore::IgnoreRules;
use crate::listener::{Finished, HelperListener};
use crate::report::{PackageOutcome, PackageReport, Report, TestOutcome, TestReport};
use crate::reporter::leak_report_lines;
use crate::testjson::TestEvent;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The directory to run in (the user's module).
    pub dir: PathBuf,
    pub go_args: GoTestArgs,
    pub grace: Duration,
    /// Packages built and run at once.
    pub jobs: usize,
    pub ignore: IgnoreRules,
    /// Show every goroutine's full stack in leak reports.
    pub verbose: bool,
    /// A test still running after this long is declared hung (`None`: off).
    pub test_timeout: Option<Duration>,
    /// Repeat each test up to N times, stopping at its first leak.
    pub until_leak: Option<u32>,
    /// Keep test binaries here and reuse them while their build inputs are
    /// unchanged (`None`: build into a temporary directory every run).
    pub cache_dir: Option<PathBuf>,
}

impl RunOptions {
    /// Options for `dir` with leakcheck's defaults: grace 1s, test timeout
    /// 60s, one job per CPU, the built-in ignore rules.
    pub fn new(dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            dir: dir.into(),
            go_args: GoTestArgs::default(),
            grace: Duration::from_secs(1),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ignore: IgnoreRules::default(),
            verbose: false,
            test_timeout: Some(Duration::from_secs(60)),
            until_leak: None,
            cache_dir: None,
        }
    }
}

/// What the runner tells its reporter, in order.
#[derive(Debug)]
pub enum RunEvent<'a> {
    Started {
        go: &'a GoEnv,
        packages: usize,
    },
    /// One package is done: its report and its (leak-annotated)
    /// `go test -json` events.
    PackageFinished {
        report: &'a PackageReport,
        events: &'a [TestEvent],
    },
    Finished {
        report: &'a Report,
    },
}

/// Runs the tests; `on_event` receives progress. The report is returned
/// even when some packages failed to build or crashed.
pub fn run(
    opts: &RunOptions,
    on_event: &mut dyn FnMut(RunEvent<'_>) -> std::io::Result<()>,
) -> Result<Report, Error> {
    let env = GoEnv::detect(&opts.dir)?;
    let patterns = if opts.go_args.packages.is_empty() {
        vec!["./...".to_string()]
    } else {
        opts.go_args.packages.clone()
    };
    let packages = GoList {
        dir: &opts.dir,
        build_flags: &opts.go_args.build_flags,
        patterns: &patterns,
    }
    .run()?;
    let test2json = env.test2json(&opts.dir)?;
    let work = tempfile::Builder::new()
        .prefix("leakcheck-")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", e))?;
    let mut overlay = Overlay::from_user(opts.go_args.overlay.as_deref().map(Path::new))?;
    for (i, p) in packages.iter().enumerate() {
        if p.has_tests() && p.error.is_none() {
            overlay.inject(p, &work.path().join(format!("pkg{i}")))?;
        }
    }
    let overlay_path = work.path().join("overlay.json");
    overlay.write(&overlay_path)?;
    let print = |e: std::io::Result<()>| e.map_err(|e| Error::io("writing output", e));
    print(on_event(RunEvent::Started {
        go: &env,
        packages: packages.len(),
    }))?;

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, PackageReport, Vec<TestEvent>)>();
    let ctx = PackageContext {
        env: &env,
        opts,
        overlay: &overlay_path,
        work: work.path(),
        test2json: &test2json,
    };
    let mut reports: Vec<Option<PackageReport>> = vec![None; packages.len()];
    let result = std::thread::scope(|scope| -> Result<(), Error> {
        for _ in 0..opts.jobs.max(1).min(packages.len().max(1)) {
            let tx = tx.clone();
            let (next, packages, ctx) = (&next, &packages, &ctx);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(pkg) = packages.get(i) else { return };
                let (report, events) = ctx.test_package(i, pkg);
                if tx.send((i, report, events)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, (PackageReport, Vec<TestEvent>)> = BTreeMap::new();
        let mut emitted = 0;
        for (i, report, events) in rx {
            pending.insert(i, (report, events));
            while let Some((report, events)) = pending.remove(&emitted) {
                print(on_event(RunEvent::PackageFinished {
                    report: &report,
                    events: &events,
                }))?;
                reports[emitted] = Some(report);
                emitted += 1;
            }
        }
        Ok(())
    });
    let report = Report::new(env.version.clone(), reports.into_iter().flatten().collect());
    result?;
    print(on_event(RunEvent::Finished { report: &report }))?;
    Ok(report)
}

struct PackageContext<'a> {
    env: &'a GoEnv,
    opts: &'a RunOptions,
    overlay: &'a Path,
    work: &'a Path,
    test2json: &'a Path,
}

fn package_report(
    pkg: &GoPackage,
    outcome: PackageOutcome,
    error: Option<String>,
) -> PackageReport {
    PackageReport {
        import_path: pkg.import_path.clone(),
        outcome,
        error,
        elapsed_ms: 0.0,
        tests: Vec::new(),
    }
}

fn output_event(pkg: &str, test: Option<&str>, text: String) -> TestEvent {
    TestEvent::output(pkg, test, text)
}

fn final_event(pkg: &str, action: &str, elapsed: f64) -> TestEvent {
    TestEvent {
        time: Some(crate::testjson::now_rfc3339()),
        action: action.into(),
        package: Some(pkg.into()),
        elapsed: Some(elapsed),
        ..TestEvent::default()
    }
}

impl PackageContext<'_> {
    /// Builds and runs one package.
    fn test_package(&self, index: usize, pkg: &GoPackage) -> (PackageReport, Vec<TestEvent>) {
        let path = &pkg.import_path;
        if let Some(err) = &pkg.error {
            let text = format!("{}\n", err.err.trim_end());
            let events = vec![
                output_event(path, None, text.clone()),
                output_event(path, None, format!("FAIL\t{path} [setup failed]\n")),
                final_event(path, "fail", 0.0),
            ];
            return (
                package_report(pkg, PackageOutcome::BuildError, Some(text)),
                events,
            );
        }
        if !pkg.has_tests() {
            let events = vec![
                output_event(path, None, format!("?   \t{path}\t[no test files]\n")),
                final_event(path, "skip", 0.0),
            ];
            return (package_report(pkg, PackageOutcome::Skip, None), events);
        }
        let binary = self.work.join(format!("pkg{index}.test"));
        let build = GoTestBuild {
            dir: &self.opts.dir,
            import_path: path,
            output: &binary,
            overlay: self.overlay,
            build_flags: &self.opts.go_args.build_flags,
            env: Vec::new(),
        };
        let failure = match build.run() {
            Ok(Ok(())) => None,
            Ok(Err(output)) => Some(output),
            Err(e) => Some(format!("{e}\n")),
        };
        if let Some(output) = failure {
            let events = vec![
                output_event(path, None, output.clone()),
                output_event(path, None, format!("FAIL\t{path} [build failed]\n")),
                final_event(path, "fail", 0.0),
            ];
            return (
                package_report(pkg, PackageOutcome::BuildError, Some(output)),
                events,
            );
        }
        self.run_binary(index, pkg, &binary)
    }

    fn test_binary_args(&self) -> Vec<String> {
        let a = &self.opts.go_args;
        let mut args = vec![
            "-test.v=test2json".to_string(),
            "-test.paniconexit0".to_string(),
            format!("-test.timeout={}", a.timeout.as_deref().unwrap_or("10m0s")),
        ];
        args.extend(a.test_flags.iter().cloned());
        if !a
            .test_flags
            .iter()
            .any(|f| f.starts_with("-test.outputdir"))
        {
            args.push(format!("-test.outputdir={}", self.opts.dir.display()));
        }
        args.extend(a.args.iter().cloned());
        args
    }

    fn run_binary(
        &self,
        index: usize,
        pkg: &GoPackage,
        binary: &Path,
    ) -> (PackageReport, Vec<TestEvent>) {
        let path = pkg.import_path.as_str();
        let started = Instant::now();
        let fail = |message: String| {
            let events = vec![
                output_event(path, None, format!("{message}\n")),
                output_event(
                    path,
                    None,
                    format!("FAIL\t{path}\t{:.3}s\n", started.elapsed().as_secs_f64()),
                ),
                final_event(path, "fail", started.elapsed().as_secs_f64()),
            ];
            (
                package_report(pkg, PackageOutcome::Fail, Some(message)),
                events,
            )
        };
        let comparator = Comparator::new(CompareConfig {
            grace: self.opts.grace,
            ignore: self.opts.ignore.clone(),
            goroot: self.env.goroot.clone(),
        });
        let socket = self.work.join(format!("pkg{index}.sock"));
        let listener = match HelperListener::bind(&socket, comparator) {
            Ok(l) => l,
            Err(e) => return fail(e.to_string()),
        };
        let args = self.test_binary_args();
        let mut cmd = duct::cmd(binary, &args)
            .dir(&pkg.dir)
            .env("LEAKCHECK_SOCKET", listener.path());
        if self.env.has_traceback_labels() {
            let godebug = std::env::var("GODEBUG").ok();
            cmd = cmd.env(
                "GODEBUG",
                godebug_with(godebug.as_deref(), "tracebacklabels=1"),
            );
        }
        let line = command_line(
            &binary.display().to_string(),
            &args.iter().map(Into::into).collect::<Vec<_>>(),
        );
        let (reader, writer) = match os_pipe::pipe() {
            Ok(p) => p,
            Err(e) => return fail(format!("creating a pipe: {e}")),
        };
        let writer2 = match writer.try_clone() {
            Ok(w) => w,
            Err(e) => return fail(format!("creating a pipe: {e}")),
        };
        let child = cmd
            .stdout_file(writer)
            .stderr_file(writer2)
            .stdin_null()
            .unchecked()
            .start();
        // `cmd` is consumed: our ends of the write side are closed now.
        let child = match child {
            Ok(c) => c,
            Err(e) => return fail(format!("running {line}: {e}")),
        };
        let converter = duct::cmd(self.test2json, ["-t", "-p", path])
            .stdin_file(reader)
            .stderr_to_stdout()
            .unchecked()
            .reader();
        let converter = match converter {
            Ok(c) => c,
            Err(e) => {
                let _ = child.kill();
                return fail(format!("running {}: {e}", self.test2json.display()));
            }
        };
        let mut join = EventJoiner::new(path, &listener, self.env, self.opts);
        for line in BufReader::new(&converter).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<TestEvent>(&line) {
                Ok(event) => join.event(event),
                Err(_) => join.raw_output(format!("{line}\n")),
            }
        }
        let status = child.wait().map(|o| o.status);
        let finished = listener.finish();
        let elapsed = started.elapsed();
        let code = match status {
            Ok(s) => s.code(),
            Err(_) => None,
        };
        join.finish(code, finished, elapsed)
    }
}

/// Per-test state while joining events and verdicts.
#[derive(Default)]
struct TestState {
    outcome: Option<TestOutcome>,
    elapsed: f64,
    leaks: Vec<crate::compare::Leak>,
    /// The current run's verdict, taken at its `--- PASS` line.
    pending: Option<RunVerdict>,
}

/// Joins the converter's events with the comparator's verdicts.
struct EventJoiner<'a> {
    pkg: &'a str,
    listener: &'a HelperListener,
    env: &'a GoEnv,
    opts: &'a RunOptions,
    events: Vec<TestEvent>,
    tests: HashMap<String, TestState>,
    order: Vec<String>,
    package_final: Option<TestEvent>,
    any_leak: bool,
}

impl<'a> EventJoiner<'a> {
    fn new(
        pkg: &'a str,
        listener: &'a HelperListener,
        env: &'a GoEnv,
        opts: &'a RunOptions,
    ) -> Self {
        EventJoiner {
            pkg,
            listener,
            env,
            opts,
            events: Vec::new(),
            tests: HashMap::new(),
            order: Vec::new(),
            package_final: None,
            any_leak: false,
        }
    }

    fn state(&mut self, test: &str) -> &mut TestState {
        if !self.tests.contains_key(test) {
            self.order.push(test.to_string());
        }
        self.tests.entry(test.to_string()).or_default()
    }

    fn raw_output(&mut self, text: String) {
        self.events.push(output_event(self.pkg, None, text));
    }

    /// Takes the verdict of `test`'s current run, if not taken yet.
    fn take_verdict(&mut self, test: &str) {
        if self.tests.get(test).is_some_and(|s| s.pending.is_some()) {
            return;
        }
        if let Some(v) = self.listener.take_verdict(test) {
            self.state(test).pending = Some(v);
        }
    }

    fn event(&mut self, mut event: TestEvent) {
        let top = event
            .test
            .as_deref()
            .filter(|t| !t.contains('/'))
            .map(str::to_string);
        match (&top, event.action.as_str()) {
            (Some(test), "run") => {
                self.state(test);
            }
            (Some(test), "output") => {
                let out = event.output.clone().unwrap_or_default();
                let is_result = ["--- PASS: ", "--- SKIP: ", "--- FAIL: "]
                    .iter()
                    .any(|p| out.starts_with(&format!("{p}{test} (")));
                if is_result {
                    self.take_verdict(test);
                    let leaks = self.tests[test]
                        .pending
                        .as_ref()
                        .map(|v| v.leaks.clone())
                        .unwrap_or_default();
                    if !leaks.is_empty() {
                        let rewritten = out.replacen("--- PASS: ", "--- FAIL: ", 1).replacen(
                            "--- SKIP: ",
                            "--- FAIL: ",
                            1,
                        );
                        event.output = Some(rewritten);
                        self.events.push(event);
                        let cwd = self.opts.dir.clone();
                        for l in leak_report_lines(test, &leaks, &cwd, self.opts.verbose) {
                            self.events.push(output_event(self.pkg, Some(test), l));
                        }
                        return;
                    }
                }
            }
            (Some(test), "pass" | "fail" | "skip") => {
                self.take_verdict(test);
                let verdict = self.state(test).pending.take();
                let leaks = verdict.map(|v| v.leaks).unwrap_or_default();
                let mut outcome = match event.action.as_str() {
                    "pass" => TestOutcome::Pass,
                    "skip" => TestOutcome::Skip,
                    _ => TestOutcome::Fail,
                };
                if !leaks.is_empty() {
                    self.any_leak = true;
                    if outcome != TestOutcome::Fail {
                        outcome = TestOutcome::Leak;
                    }
                    event.action = "fail".into();
                }
                let elapsed = event.elapsed.unwrap_or(0.0) * 1000.0;
                let state = self.state(test);
                state.outcome = Some(state.outcome.map_or(outcome, |o| o.max(outcome)));
                state.elapsed += elapsed;
                state.leaks = group_leaks_merge(std::mem::take(&mut state.leaks), leaks);
            }
            (None, "pass" | "fail" | "skip") => {
                self.package_final = Some(event);
                return;
            }
            (None, "output") if self.any_leak && event.output.as_deref() == Some("PASS\n") => {
                event.output = Some("FAIL\n".into());
            }
            _ => {}
        }
        self.events.push(event);
    }

    fn finish(
        mut self,
        exit_code: Option<i32>,
        finished: Finished,
        elapsed: Duration,
    ) -> (PackageReport, Vec<TestEvent>) {
        let pkg = self.pkg;
        let Finished {
            unfinished,
            mut verdicts,
            errors,
        } = finished;
        for run in &unfinished {
            let test = Comparator::test_of_run(run).to_string();
            let state = self.state(&test);
            state.outcome = Some(TestOutcome::Crash);
        }
        // Verdicts whose test events never came (a crash right after).
        for (test, runs) in verdicts.drain() {
            for v in runs {
                let state = self.state(&test);
                state.leaks = group_leaks_merge(std::mem::take(&mut state.leaks), v.leaks);
            }
        }
        let tests: Vec<TestReport> = self
            .order
            .iter()
            .filter_map(|name| {
                let s = &self.tests[name];
                let mut outcome = s.outcome?;
                if outcome <= TestOutcome::Skip && !s.leaks.is_empty() {
                    outcome = TestOutcome::Leak;
                }
                Some(TestReport {
                    name: name.clone(),
                    outcome,
                    elapsed_ms: s.elapsed,
                    leaks: s.leaks.clone(),
                    runs: 1,
                    leaked_runs: 0,
                    deadlock: None,
                    details: None,
                })
            })
            .collect();
        let crashed = !unfinished.is_empty();
        let failed_tests = tests.iter().any(|t| t.outcome.is_failure());
        let mut error = None;
        let outcome = if crashed {
            error = Some(format!(
                "test binary exited with {} while {} ran",
                exit_code.map_or("a signal".to_string(), |c| format!("status {c}")),
                unfinished
                    .iter()
                    .map(|r| Comparator::test_of_run(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            PackageOutcome::Crash
        } else if exit_code != Some(0) {
            if !failed_tests {
                error = Some(match exit_code {
                    Some(86) => {
                        "the leakcheck helper could not start in this test binary (see its output)"
                            .to_string()
                    }
                    Some(c) => format!("test binary exited with status {c}"),
                    None => "test binary was killed by a signal".to_string(),
                });
            }
            PackageOutcome::Fail
        } else if failed_tests {
            PackageOutcome::Fail
        } else {
            PackageOutcome::Pass
        };
        for e in errors {
            self.events
                .push(output_event(pkg, None, format!("leakcheck: {e}\n")));
        }
        if let Some(e) = &error {
            self.events
                .push(output_event(pkg, None, format!("leakcheck: {e}\n")));
        }
        let secs = self
            .package_final
            .as_ref()
            .and_then(|e| e.elapsed)
            .unwrap_or(elapsed.as_secs_f64());
        let (word, action) = match outcome {
            PackageOutcome::Pass => ("ok  ", "pass"),
            _ => ("FAIL", "fail"),
        };
        let _ = self.env;
        self.events.push(output_event(
            pkg,
            None,
            format!("{word}\t{pkg}\t{secs:.3}s\n"),
        ));
        let mut last = self
            .package_final
            .take()
            .unwrap_or_else(|| final_event(pkg, action, secs));
        last.action = action.into();
        last.elapsed = Some(secs);
        self.events.push(last);
        let report = PackageReport {
            import_path: pkg.to_string(),
            outcome,
            error,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            tests,
        };
        (report, self.events)
    }
}
