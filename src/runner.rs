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

use crate::compare::{group_leaks_merge, Comparator, CompareConfig, RunStatus, RunVerdict};
use crate::error::Error;
use crate::goargs::GoTestArgs;
use crate::gocmd::{command_line, godebug_with, GoEnv, GoList, GoPackage, GoTestBuild};
use crate::harness::Overlay;
use crate::ignore::IgnoreRules;
use crate::listener::{HelperListener, Prober};
use crate::report::{PackageOutcome, PackageReport, Report, TestOutcome, TestReport};
use crate::reporter::leak_report_lines;
use crate::stack::Snapshot;
use crate::testjson::TestEvent;

/// Extra environment for `go test -c`: the goroutine leak profile is an
/// experiment in Go 1.26 (always there from 1.27). Everything that builds
/// test binaries uses this, so cached binaries are shared.
pub fn build_env(env: &GoEnv) -> Vec<(String, String)> {
    if env.release != (1, 26) {
        return Vec::new();
    }
    let user = std::env::var("GOEXPERIMENT").unwrap_or_default();
    let value = if user.trim().is_empty() {
        "goroutineleakprofile".to_string()
    } else {
        format!("{user},goroutineleakprofile")
    };
    vec![("GOEXPERIMENT".to_string(), value)]
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops the run in progress (Ctrl-C): no new package starts, running test
/// binaries are killed, and [`run`] returns what finished.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

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
    /// The key and layout are [`crate::cache`]'s; binaries run from there.
    pub cache_dir: Option<PathBuf>,
    /// Known leaks (`--baseline`): reported, not failing.
    pub baseline: Option<crate::baseline::Baseline>,
    /// Run only this shard of the packages (`--partition`).
    pub partition: Option<crate::partition::Partition>,
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
            partition: None,
            baseline: None,
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
    /// A package's test binary is built (or failed to build): comes as
    /// soon as it happens, in any order, before that package's
    /// `PackageFinished`. Packages with nothing to build have none.
    PackageBuilt {
        import_path: &'a str,
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
    let packages = match &opts.partition {
        Some(part) => part.retain(packages, |p| p.import_path.as_str()),
        None => packages,
    };
    // `//leakcheck:ignore` directives: a bad one stops the run here.
    let mut rules = Vec::with_capacity(packages.len());
    for p in &packages {
        let directives = if p.error.is_none() {
            crate::directives::read_package(p)?
        } else {
            Vec::new()
        };
        rules.push(opts.ignore.for_package(&p.import_path, &directives));
    }
    let module_root = env
        .gomod
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
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
    // `None`: the package's binary is built; `Some`: the package is done.
    let (tx, rx) = mpsc::channel::<(usize, Option<(PackageReport, Vec<TestEvent>)>)>();
    let ctx = PackageContext {
        env: &env,
        opts,
        overlay: &overlay_path,
        work: work.path(),
        test2json: &test2json,
        rules: &rules,
        module_root: &module_root,
    };
    let mut reports: Vec<Option<PackageReport>> = vec![None; packages.len()];
    let result = std::thread::scope(|scope| -> Result<(), Error> {
        for _ in 0..opts.jobs.max(1).min(packages.len().max(1)) {
            let tx = tx.clone();
            let (next, packages, ctx) = (&next, &packages, &ctx);
            scope.spawn(move || loop {
                if interrupted() {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(pkg) = packages.get(i) else { return };
                let built = || {
                    let _ = tx.send((i, None));
                };
                let (report, events) = ctx.test_package(i, pkg, &built);
                if tx.send((i, Some((report, events)))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, (PackageReport, Vec<TestEvent>)> = BTreeMap::new();
        let mut emitted = 0;
        for (i, done) in rx {
            let Some((report, events)) = done else {
                print(on_event(RunEvent::PackageBuilt {
                    import_path: &packages[i].import_path,
                }))?;
                continue;
            };
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
        // Interrupted: packages that never started leave gaps; the ones
        // that finished after a gap are still reported.
        for (i, (report, events)) in pending {
            print(on_event(RunEvent::PackageFinished {
                report: &report,
                events: &events,
            }))?;
            reports[i] = Some(report);
        }
        Ok(())
    });
    let mut report = Report::new(env.version.clone(), reports.into_iter().flatten().collect());
    if let Some(baseline) = &opts.baseline {
        report.baseline_fixed = baseline.fixed(&report, &module_root);
    }
    // An interrupted run did not give every rule its chance.
    if !interrupted() {
        report.stale_rules = stale_rules(&rules, &report);
    }
    report.interrupted = interrupted();
    result?;
    print(on_event(RunEvent::Finished { report: &report }))?;
    Ok(report)
}

/// User rules that ignored nothing in the whole run.
fn stale_rules(rules: &[IgnoreRules], report: &Report) -> Vec<String> {
    let used: std::collections::HashSet<&str> = report
        .packages
        .iter()
        .flat_map(|p| &p.tests)
        .flat_map(|t| &t.ignored)
        .map(|i| i.rule.as_str())
        .collect();
    let mut stale: Vec<String> = Vec::new();
    for r in rules.iter().flat_map(|r| &r.rules) {
        let d = r.describe();
        if !r.builtin && !used.contains(d.as_str()) && !stale.contains(&d) {
            stale.push(d);
        }
    }
    stale
}

struct PackageContext<'a> {
    env: &'a GoEnv,
    opts: &'a RunOptions,
    overlay: &'a Path,
    work: &'a Path,
    /// Ignore rules per package, in `packages` order.
    rules: &'a [IgnoreRules],
    module_root: &'a Path,
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
    fn test_package(
        &self,
        index: usize,
        pkg: &GoPackage,
        built: &dyn Fn(),
    ) -> (PackageReport, Vec<TestEvent>) {
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
        let output = self.work.join(format!("pkg{index}.test"));
        let build = GoTestBuild {
            dir: &self.opts.dir,
            import_path: path,
            output: &output,
            overlay: self.overlay,
            build_flags: &self.opts.go_args.build_flags,
            env: build_env(self.env),
        };
        // With a cache directory, the binary comes from (or goes into) the
        // cache: see crate::cache.
        let binary = match &self.opts.cache_dir {
            Some(dir) => crate::cache::BinaryCache::new(dir)
                .get_or_build(&build, self.env)
                .map(|r| r.map(|cached| cached.path)),
            None => build.run().map(|r| r.map(|()| output.clone())),
        };
        let (binary, failure) = match binary {
            Ok(Ok(binary)) => (binary, None),
            Ok(Err(output)) => (PathBuf::new(), Some(output)),
            Err(e) => (PathBuf::new(), Some(format!("{e}\n"))),
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
        built();
        if interrupted() {
            let events = vec![
                output_event(path, None, format!("FAIL\t{path} [interrupted]\n")),
                final_event(path, "fail", 0.0),
            ];
            let error = Some("interrupted before it ran".to_string());
            return (package_report(pkg, PackageOutcome::Fail, error), events);
        }
        self.run_binary(index, pkg, &binary)
    }

    /// Whether the test binaries have the goroutine leak profile.
    fn has_leak_profile(&self) -> bool {
        self.env.release >= (1, 26)
    }

    /// The test binary's arguments; `skip` names top-level tests that
    /// already ran in an earlier process of this package.
    fn test_binary_args(&self, skip: &[String]) -> Vec<String> {
        let a = &self.opts.go_args;
        let mut args = vec![
            "-test.v=test2json".to_string(),
            "-test.paniconexit0".to_string(),
            format!("-test.timeout={}", a.timeout.as_deref().unwrap_or("10m0s")),
        ];
        let mut user_skip = None;
        for f in &a.test_flags {
            if let Some(v) = f.strip_prefix("-test.skip=") {
                user_skip = Some(v.to_string());
            } else if self.opts.until_leak.is_some() && f.starts_with("-test.count=") {
                continue;
            } else {
                args.push(f.clone());
            }
        }
        if let Some(n) = self.opts.until_leak {
            args.push(format!("-test.count={n}"));
        }
        let ours = (!skip.is_empty()).then(|| {
            let names: Vec<String> = skip.iter().map(|t| regex::escape(t)).collect();
            format!("^({})$", names.join("|"))
        });
        match (ours, user_skip) {
            (Some(o), Some(u)) => args.push(format!("-test.skip={o}|{u}")),
            (Some(o), None) => args.push(format!("-test.skip={o}")),
            (None, Some(u)) => args.push(format!("-test.skip={u}")),
            (None, None) => {}
        }
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

    /// Whether the tests left after a hang or crash can run in a fresh
    /// process: not with -failfast (go test would stop too), and not when
    /// the user's -skip has subtest parts (it cannot be combined).
    fn can_resume(&self) -> bool {
        let a = &self.opts.go_args;
        !a.test_flags
            .iter()
            .any(|f| f == "-test.failfast" || f == "-test.failfast=true")
            && !a.test_flags.iter().any(|f| {
                f.strip_prefix("-test.skip=")
                    .is_some_and(|v| v.contains('/'))
            })
    }

    /// Runs one package's test binary, in as many processes as it takes:
    /// after a hang or a crash, the tests that did not run yet are resumed
    /// in a fresh process.
    fn run_binary(
        &self,
        index: usize,
        pkg: &GoPackage,
        binary: &Path,
    ) -> (PackageReport, Vec<TestEvent>) {
        let started = Instant::now();
        let mut join = EventJoiner::new(&pkg.import_path, &self.opts.dir, self.opts.verbose);
        join.baseline = self.opts.baseline.as_ref().map(|b| (b, self.module_root));
        let mut skip: Vec<String> = Vec::new();
        let mut last = ProcessEnd::default();
        for attempt in 0.. {
            join.attempt = attempt;
            let end = match self.run_process(index, attempt, pkg, binary, &skip, &mut join) {
                Ok(end) => end,
                Err(message) => {
                    join.raw_output(format!("leakcheck: {message}\n"));
                    join.failed_to_run = Some(message);
                    break;
                }
            };
            let stopped_early = end.hung.is_some() || !end.crashed.is_empty();
            let before = skip.len();
            skip = join.finished_tests();
            last = end;
            if !stopped_early || !self.can_resume() || skip.len() == before || interrupted() {
                break;
            }
            join.raw_output(format!(
                "leakcheck: resuming the remaining tests of {} in a fresh process\n",
                pkg.import_path
            ));
        }
        join.finish(last.exit_code, last.errors, started.elapsed())
    }

    /// Runs one process of a test binary.
    fn run_process(
        &self,
        index: usize,
        attempt: usize,
        pkg: &GoPackage,
        binary: &Path,
        skip: &[String],
        join: &mut EventJoiner<'_>,
    ) -> Result<ProcessEnd, String> {
        let path = pkg.import_path.as_str();
        let comparator = Comparator::new(CompareConfig {
            grace: self.opts.grace,
            ignore: self.rules[index].clone(),
            goroot: self.env.goroot.clone(),
            leak_profile: self.has_leak_profile(),
        });
        let socket = self.work.join(format!("pkg{index}-{attempt}.sock"));
        let listener = HelperListener::bind(&socket, comparator).map_err(|e| e.to_string())?;
        let args = self.test_binary_args(skip);
        let mut cmd = duct::cmd(binary, &args)
            .dir(&pkg.dir)
            .env("LEAKCHECK_SOCKET", listener.path());
        if self.opts.until_leak.is_some() {
            cmd = cmd.env("LEAKCHECK_ASK", "1");
        }
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
        let (reader, writer) = os_pipe::pipe().map_err(|e| format!("creating a pipe: {e}"))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| format!("creating a pipe: {e}"))?;
        let child = cmd
            .stdout_file(writer)
            .stderr_file(writer2)
            .stdin_null()
            .unchecked()
            .start()
            .map_err(|e| format!("running {line}: {e}"))?;
        // `cmd` is consumed: our ends of the write side are closed now.
        let converter = duct::cmd(self.test2json, ["-t", "-p", path])
            .stdin_file(reader)
            .stderr_to_stdout()
            .unchecked()
            .reader();
        let converter = match converter {
            Ok(c) => c,
            Err(e) => {
                let _ = child.kill();
                return Err(format!("running {}: {e}", self.test2json.display()));
            }
        };
        let watch = Watchdog::start(
            child.pids().first().copied(),
            self.opts.test_timeout,
            Some(listener.prober()),
        );
        let mut all_output = String::new();
        for line in BufReader::new(&converter).lines() {
            let Ok(line) = line else { break };
            let event = match serde_json::from_str::<TestEvent>(&line) {
                Ok(event) => event,
                Err(_) => TestEvent::output(path, None, format!("{line}\n")),
            };
            if let Some(text) = &event.output {
                all_output.push_str(text);
            }
            if watch.observe(&event) {
                continue; // the hang dump: summarized below instead
            }
            if attempt > 0
                && (event.action == "start"
                    || event.output.as_deref() == Some("testing: warning: no tests to run\n"))
            {
                continue; // a resumed process continues the package's stream
            }
            join.event(event, &listener);
        }
        let status = child.wait().map(|o| o.status);
        let (hung, running, proven_dump) = watch.stop();
        let finished = listener.finish();
        let exit_code = status.ok().and_then(|s| s.code());
        join.take_remaining_verdicts(finished.verdicts);
        let mut end = ProcessEnd {
            exit_code,
            errors: finished.errors,
            ..ProcessEnd::default()
        };
        // Tests still running when the process ended.
        let mut unfinished: Vec<String> = running;
        for run in &finished.unfinished {
            let test = Comparator::test_of_run(run).to_string();
            if !unfinished.contains(&test) && !join.has_final(&test) {
                unfinished.push(test);
            }
        }
        if let Some((test, after)) = hung {
            let dump = match &proven_dump {
                Some(d) => d.as_str(),
                None => all_output
                    .find("SIGQUIT: quit")
                    .map_or(all_output.as_str(), |i| &all_output[i..]),
            };
            let (groups, deadlock) = listener.hang_report(&test, dump).unwrap_or_default();
            join.hang(&test, groups, deadlock, after, proven_dump.is_some());
            end.hung = Some(test);
        } else if interrupted() {
            join.raw_output("leakcheck: interrupted\n".to_string());
            join.failed_to_run = Some("interrupted".to_string());
        } else if exit_code != Some(0) && !unfinished.is_empty() {
            let crash = CrashOutput::find(&all_output);
            let culprit = crash
                .as_ref()
                .and_then(|c| c.goroutine)
                .and_then(|gid| {
                    listener.test_of_goroutine(
                        &all_output[crash.as_ref().map_or(0, |c| c.start)..],
                        gid,
                    )
                })
                .filter(|t| unfinished.contains(t));
            let culprits = match culprit {
                Some(t) => vec![t],
                None => unfinished.clone(),
            };
            let details = match &crash {
                Some(c) => c.summary(&all_output),
                None => format!(
                    "the test binary exited with {} while this test ran",
                    exit_code.map_or("a signal".to_string(), |c| format!("status {c}"))
                ),
            };
            for t in &culprits {
                join.crash(t, &details);
            }
            end.crashed = culprits;
        }
        Ok(end)
    }
}

/// How one process of a test binary ended.
#[derive(Debug, Default)]
struct ProcessEnd {
    exit_code: Option<i32>,
    errors: Vec<String>,
    /// The test declared hung.
    hung: Option<String>,
    /// The tests blamed for the crash.
    crashed: Vec<String>,
}

/// Watches a test binary for a test that runs longer than the test
/// timeout; dumps it with SIGQUIT and kills it. It follows top-level tests
/// through their `run`, `pause`, `cont` and final events, so a parallel
/// test waiting for its turn is not counted as running.
struct Watchdog {
    shared: std::sync::Arc<(std::sync::Mutex<WatchState>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A test running this long gets its process probed with the goroutine
/// leak profile; probes then back off, doubling up to [`PROBE_MAX`].
const PROBE_AFTER: Duration = Duration::from_secs(1);
const PROBE_MAX: Duration = Duration::from_secs(10);

#[derive(Default)]
struct WatchState {
    running: Vec<(String, Instant)>,
    /// All top-level tests started and not finished, paused or not.
    started: Vec<String>,
    hung: Option<(String, Duration)>,
    /// The leak profile that proved the hung test deadlocked.
    proven_dump: Option<String>,
    stop: bool,
}

impl Watchdog {
    fn start(pid: Option<u32>, timeout: Option<Duration>, prober: Option<Prober>) -> Watchdog {
        let shared = std::sync::Arc::new((
            std::sync::Mutex::new(WatchState::default()),
            std::sync::Condvar::new(),
        ));
        let thread = pid.map(|pid| {
            let shared = shared.clone();
            std::thread::spawn(move || watch(pid, timeout, prober, &shared))
        });
        Watchdog { shared, thread }
    }

    /// Follows `event`; true once the binary is being dumped for a hang
    /// (its output from then on is the dump).
    fn observe(&self, event: &TestEvent) -> bool {
        let mut st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        if st.hung.is_some() {
            return true;
        }
        if let Some(test) = event.test.as_deref().filter(|t| !t.contains('/')) {
            match event.action.as_str() {
                "run" | "cont" => {
                    st.running.retain(|(t, _)| t != test);
                    st.running.push((test.to_string(), Instant::now()));
                    if !st.started.iter().any(|t| t == test) {
                        st.started.push(test.to_string());
                    }
                }
                "pause" => st.running.retain(|(t, _)| t != test),
                "pass" | "fail" | "skip" => {
                    st.running.retain(|(t, _)| t != test);
                    st.started.retain(|t| t != test);
                }
                _ => {}
            }
        }
        false
    }

    /// Stops watching; returns the hung test and how long it had run, and
    /// the top-level tests that started and never finished.
    #[allow(clippy::type_complexity)]
    fn stop(mut self) -> (Option<(String, Duration)>, Vec<String>, Option<String>) {
        {
            let mut st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
            st.stop = true;
            self.shared.1.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        let hung = st.hung.take();
        let started = std::mem::take(&mut st.started);
        (hung, started, st.proven_dump.take())
    }
}

fn watch(
    pid: u32,
    timeout: Option<Duration>,
    prober: Option<Prober>,
    shared: &(std::sync::Mutex<WatchState>, std::sync::Condvar),
) {
    let (lock, cvar) = shared;
    let mut probe_interval = PROBE_AFTER;
    let mut next_probe: Option<Instant> = None;
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if st.stop {
            return;
        }
        if interrupted() {
            drop(st);
            signal(pid, libc::SIGKILL);
            return;
        }
        let now = Instant::now();
        let overdue = timeout.and_then(|timeout| {
            st.running
                .iter()
                .find(|(_, since)| now.duration_since(*since) >= timeout)
                .cloned()
        });
        if let Some((test, since)) = overdue {
            st.hung = Some((test, now.duration_since(since)));
            drop(st);
            signal(pid, libc::SIGQUIT);
            // The runtime prints every goroutine and exits; make sure it
            // does not linger.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !st.stop && Instant::now() < deadline {
                st = cvar
                    .wait_timeout(st, Duration::from_millis(100))
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            if !st.stop {
                signal(pid, libc::SIGKILL);
            }
            return;
        }
        // Long-running tests: ask the GC whether a test's own goroutine is
        // proven deadlocked, rather than waiting for the timeout.
        let long: Vec<(String, Instant)> = st
            .running
            .iter()
            .filter(|(_, since)| now.duration_since(*since) >= PROBE_AFTER)
            .cloned()
            .collect();
        if let Some(p) = prober.as_ref().filter(|p| p.available()) {
            if !long.is_empty() && next_probe.is_none_or(|n| now >= n) {
                drop(st);
                let dump = p.probe(Duration::from_secs(5));
                next_probe = Some(Instant::now() + probe_interval);
                probe_interval = (probe_interval * 2).min(PROBE_MAX);
                let names: Vec<String> = long.iter().map(|(t, _)| t.clone()).collect();
                let proven = dump.as_deref().and_then(|d| p.proven_deadlocked(&names, d));
                st = lock.lock().unwrap_or_else(|e| e.into_inner());
                if let (Some(test), false) = (proven, st.stop) {
                    if let Some((_, since)) = long.iter().find(|(t, _)| *t == test) {
                        st.hung = Some((test, since.elapsed()));
                        st.proven_dump = dump;
                        drop(st);
                        signal(pid, libc::SIGKILL);
                        return;
                    }
                }
                continue;
            }
        }
        st = cvar
            .wait_timeout(st, Duration::from_millis(50))
            .map(|(s, _)| s)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
    // own child's, which has not been reaped yet (we wait for it only
    // after the watchdog stops).
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// The panic or fatal error at the end of a crashed binary's output.
struct CrashOutput {
    /// Where the panic message starts in the output.
    start: usize,
    /// The crashing goroutine (the first one after the message).
    goroutine: Option<u64>,
}

impl CrashOutput {
    fn find(output: &str) -> Option<CrashOutput> {
        let start = [
            "\npanic: ",
            "\nfatal error: ",
            "\nSIGSEGV",
            "\nunexpected fault",
        ]
        .iter()
        .filter_map(|m| output.find(m).map(|i| i + 1))
        .min()
        .or_else(|| {
            ["panic: ", "fatal error: "]
                .iter()
                .find(|m| output.starts_with(**m))
                .map(|_| 0)
        })?;
        let snapshot = Snapshot::parse(&output[start..]);
        Some(CrashOutput {
            start,
            goroutine: snapshot.goroutines.first().map(|g| g.id),
        })
    }

    /// The message and the crashing goroutine's stack first, then a count
    /// of the others.
    fn summary(&self, output: &str) -> String {
        let text = &output[self.start..];
        let snapshot = Snapshot::parse(text);
        let message_end = text.find("\ngoroutine ").unwrap_or(text.len());
        let mut out = text[..message_end].trim_end().to_string();
        if let Some(first) = snapshot.goroutines.first() {
            out.push_str("\n\n");
            out.push_str(first.text);
        }
        let others = snapshot.goroutines.len().saturating_sub(1);
        if others > 0 {
            out.push_str(&format!(
                "\n\n... and {others} other goroutines (the full output is in the test's output)"
            ));
        }
        out
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
    runs: u32,
    leaked_runs: u32,
    deadlock: Option<bool>,
    details: Option<String>,
    /// The creation sites already shown in a `--- LEAK` block.
    shown_sites: Vec<String>,
    /// Goroutines exempted, by rule.
    ignored: Vec<crate::report::IgnoredCount>,
    has_final: bool,
}

/// Joins the converter's events with the comparator's verdicts, across
/// the processes of one package.
struct EventJoiner<'a> {
    pkg: &'a str,
    base: &'a Path,
    verbose: bool,
    attempt: usize,
    events: Vec<TestEvent>,
    tests: HashMap<String, TestState>,
    order: Vec<String>,
    package_final: Option<TestEvent>,
    any_leak: bool,
    failed_to_run: Option<String>,
    /// Known leaks, and the module root their paths are relative to.
    baseline: Option<(&'a crate::baseline::Baseline, &'a Path)>,
}

impl<'a> EventJoiner<'a> {
    fn new(pkg: &'a str, base: &'a Path, verbose: bool) -> Self {
        EventJoiner {
            pkg,
            base,
            verbose,
            attempt: 0,
            events: Vec::new(),
            tests: HashMap::new(),
            order: Vec::new(),
            package_final: None,
            any_leak: false,
            failed_to_run: None,
            baseline: None,
        }
    }

    fn state(&mut self, test: &str) -> &mut TestState {
        if !self.tests.contains_key(test) {
            self.order.push(test.to_string());
        }
        self.tests.entry(test.to_string()).or_default()
    }

    fn has_final(&self, test: &str) -> bool {
        self.tests.get(test).is_some_and(|s| s.has_final)
    }

    /// Top-level tests that are done (ended, hung or crashed).
    fn finished_tests(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|t| {
                let s = &self.tests[*t];
                s.has_final || matches!(s.outcome, Some(TestOutcome::Hang | TestOutcome::Crash))
            })
            .cloned()
            .collect()
    }

    fn raw_output(&mut self, text: String) {
        self.events.push(output_event(self.pkg, None, text));
    }

    /// Takes the verdict of `test`'s current run, if not taken yet.
    fn take_verdict(&mut self, test: &str, listener: &HelperListener) {
        if self.tests.get(test).is_some_and(|s| s.pending.is_some()) {
            return;
        }
        if let Some(mut v) = listener.take_verdict(test) {
            if let Some((baseline, root)) = self.baseline {
                for l in &mut v.leaks {
                    l.known = baseline
                        .contains(&crate::baseline::BaselineEntry::of(self.pkg, test, l, root));
                }
            }
            let verbose = self.verbose;
            let mut lines = Vec::new();
            let state = self.state(test);
            for (rule, n) in &v.ignored {
                let rule = rule.describe();
                if verbose {
                    lines.push(format!(
                        "    leakcheck: {n} goroutine(s) of {test} ignored by {rule}\n"
                    ));
                }
                match state.ignored.iter_mut().find(|i| i.rule == rule) {
                    Some(i) => i.count += n,
                    None => state
                        .ignored
                        .push(crate::report::IgnoredCount { rule, count: *n }),
                }
            }
            state.pending = Some(v);
            for l in lines {
                self.events.push(output_event(self.pkg, Some(test), l));
            }
        }
    }

    /// Leak lines for `test`'s current leaks: the full block the first
    /// time a creation site shows up, one line when it repeats.
    fn leak_lines(&mut self, test: &str, leaks: &[crate::compare::Leak]) -> Vec<String> {
        let sites: Vec<String> = leaks
            .iter()
            .map(|l| {
                l.created_by.as_ref().map_or_else(
                    || format!("{}:{}", l.file, l.line),
                    |c| format!("{}:{}", c.file, c.line),
                )
            })
            .collect();
        let (base, verbose) = (self.base, self.verbose);
        let state = self.state(test);
        if sites.iter().all(|s| state.shown_sites.contains(s)) {
            let total: usize = leaks.iter().map(|l| l.count).sum();
            return vec![format!(
                "--- LEAK: {test} ({total} goroutine{}, created where an earlier run's were)\n",
                if total == 1 { "" } else { "s" }
            )];
        }
        state.shown_sites.extend(sites);
        leak_report_lines(test, leaks, base, verbose)
    }

    fn event(&mut self, mut event: TestEvent, listener: &HelperListener) {
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
                    self.take_verdict(test, listener);
                    let leaks = self.tests[test]
                        .pending
                        .as_ref()
                        .map(|v| v.leaks.clone())
                        .unwrap_or_default();
                    let (known, new): (Vec<_>, Vec<_>) = leaks.into_iter().partition(|l| l.known);
                    if !new.is_empty() {
                        event.output = Some(out.replacen("--- PASS: ", "--- FAIL: ", 1).replacen(
                            "--- SKIP: ",
                            "--- FAIL: ",
                            1,
                        ));
                    }
                    self.events.push(event);
                    if !known.is_empty() {
                        let n: usize = known.iter().map(|l| l.count).sum();
                        let s = if n == 1 { "" } else { "s" };
                        let line = format!(
                            "--- LEAK (known, in the baseline): {test} ({n} goroutine{s})\n"
                        );
                        self.events.push(output_event(self.pkg, Some(test), line));
                    }
                    if !new.is_empty() {
                        for l in self.leak_lines(test, &new) {
                            self.events.push(output_event(self.pkg, Some(test), l));
                        }
                    }
                    return;
                }
            }
            (Some(test), "pass" | "fail" | "skip") => {
                self.take_verdict(test, listener);
                let verdict = self.state(test).pending.take();
                if verdict
                    .as_ref()
                    .is_some_and(|v| v.status == RunStatus::NotRun)
                {
                    // --until-leak: this run was not made.
                    self.state(test).has_final = true;
                    self.events.push(event);
                    return;
                }
                let leaks = verdict.map(|v| v.leaks).unwrap_or_default();
                let mut outcome = match event.action.as_str() {
                    "pass" => TestOutcome::Pass,
                    "skip" => TestOutcome::Skip,
                    _ => TestOutcome::Fail,
                };
                if leaks.iter().any(|l| !l.known) {
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
                state.runs += 1;
                state.has_final = true;
                if leaks.iter().any(|l| !l.known) {
                    state.leaked_runs += 1;
                }
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

    /// Verdicts left when a process ended (a crash right after a check).
    fn take_remaining_verdicts(
        &mut self,
        mut verdicts: HashMap<String, std::collections::VecDeque<RunVerdict>>,
    ) {
        for (test, runs) in verdicts.drain() {
            for v in runs {
                if v.status == RunStatus::NotRun {
                    continue;
                }
                let state = self.state(&test);
                if !v.leaks.is_empty() {
                    state.leaked_runs += 1;
                }
                state.leaks = group_leaks_merge(std::mem::take(&mut state.leaks), v.leaks);
            }
        }
    }

    /// `test` hung: report its goroutines, and end it as failed.
    fn hang(
        &mut self,
        test: &str,
        groups: Vec<crate::compare::Leak>,
        deadlock: bool,
        after: Duration,
        proven: bool,
    ) {
        let pkg = self.pkg;
        let secs = after.as_secs_f64();
        let what = if proven {
            "deadlocked, proven by the garbage collector (goroutine leak profile): its own goroutine can never run again"
        } else if deadlock {
            "deadlocked: every goroutine involved is blocked on a channel, select, mutex, condition or wait group"
        } else {
            "still running after --test-timeout"
        };
        let mut lines = vec![
            format!("--- HANG: {test} ({secs:.2}s)\n"),
            format!("    {what}\n"),
        ];
        let total: usize = groups.iter().map(|g| g.count).sum();
        if !groups.is_empty() {
            for l in leak_report_lines(test, &groups, self.base, self.verbose)
                .into_iter()
                .skip(1)
            {
                lines.push(l);
            }
        }
        for l in &lines {
            self.events.push(output_event(pkg, Some(test), l.clone()));
        }
        let mut fin = final_event(pkg, "fail", secs);
        fin.test = Some(test.to_string());
        self.events.push(fin);
        let state = self.state(test);
        state.outcome = Some(TestOutcome::Hang);
        state.elapsed += secs * 1000.0;
        state.runs += 1;
        state.deadlock = Some(deadlock);
        let how = if proven { "leak profile" } else { "SIGQUIT" };
        state.details = Some(format!(
            "{test} {what} ({total} goroutine{} involved; dumped with {how} after {secs:.1}s and killed)",
            if total == 1 { "" } else { "s" }
        ));
        state.leaks = groups;
        state.has_final = true;
    }

    /// `test` was running when the binary died.
    fn crash(&mut self, test: &str, details: &str) {
        let pkg = self.pkg;
        self.events.push(output_event(
            pkg,
            Some(test),
            format!("--- CRASH: {test} (the test binary died)\n"),
        ));
        for l in details.lines() {
            self.events
                .push(output_event(pkg, Some(test), format!("    {l}\n")));
        }
        let mut fin = final_event(pkg, "fail", 0.0);
        fin.test = Some(test.to_string());
        self.events.push(fin);
        let state = self.state(test);
        state.outcome = Some(TestOutcome::Crash);
        state.runs += 1;
        state.details = Some(details.to_string());
        state.has_final = true;
    }

    fn finish(
        mut self,
        exit_code: Option<i32>,
        errors: Vec<String>,
        elapsed: Duration,
    ) -> (PackageReport, Vec<TestEvent>) {
        let pkg = self.pkg;
        let tests: Vec<TestReport> = self
            .order
            .iter()
            .filter_map(|name| {
                let s = &self.tests[name];
                let mut outcome = s.outcome?;
                if outcome <= TestOutcome::Skip && s.leaks.iter().any(|l| !l.known) {
                    outcome = TestOutcome::Leak;
                }
                Some(TestReport {
                    name: name.clone(),
                    outcome,
                    elapsed_ms: s.elapsed,
                    leaks: s.leaks.clone(),
                    runs: s.runs.max(1),
                    leaked_runs: s.leaked_runs,
                    deadlock: s.deadlock,
                    details: s.details.clone(),
                    ignored: s.ignored.clone(),
                })
            })
            .collect();
        for t in &tests {
            if t.runs > 1 && t.leaked_runs > 0 {
                self.events.push(output_event(
                    pkg,
                    None,
                    format!(
                        "leakcheck: {} leaked in {} of {} runs\n",
                        t.name, t.leaked_runs, t.runs
                    ),
                ));
            }
        }
        let crashed = tests.iter().any(|t| t.outcome == TestOutcome::Crash);
        let failed_tests = tests.iter().any(|t| t.outcome.is_failure());
        let mut error = self.failed_to_run.clone();
        let outcome = if crashed {
            PackageOutcome::Crash
        } else if error.is_some() {
            PackageOutcome::Fail
        } else if exit_code != Some(0) && !tests.iter().any(|t| t.outcome == TestOutcome::Hang) {
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
        if let (Some(e), None) = (&error, &self.failed_to_run) {
            self.events
                .push(output_event(pkg, None, format!("leakcheck: {e}\n")));
        }
        let secs = elapsed.as_secs_f64();
        let (word, action) = match outcome {
            PackageOutcome::Pass => ("ok  ", "pass"),
            _ => ("FAIL", "fail"),
        };
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
