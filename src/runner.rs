//! The runner: list → build → run.
//!
//! It lists packages with `go list`, builds each package's test binary with
//! the helper injected through `-overlay` (never writing the user's tree),
//! runs the binaries with a [`HelperListener`] serving their helper, turns
//! their output into `go test -json` events ([`crate::go::test2json`]),
//! joins the comparator's verdicts to it, and emits [`RunEvent`]s for a
//! reporter to print. Packages are built and run `jobs` at a time; events
//! come out in `go list` order.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::detect::compare::{CallLines, Comparator, CompareConfig};
use crate::detect::ignore::IgnoreRules;
use crate::detect::listener::HelperListener;
use crate::error::Error;
use crate::go::args::GoTestArgs;
use crate::go::cmd::{command_line, GoEnv, GoList, GoPackage, GoTestBuild};
use crate::go::harness::{HookMode, Overlay};
use crate::go::pclntab::LineTable;
use crate::go::test2json::Converter;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, PackageReport, Report};

mod batch;
mod builddir;
mod crash;
mod join;
mod spool;
mod stress;
mod watchdog;

use builddir::BuildDir;
use crash::CrashOutput;
use join::EventJoiner;
use watchdog::Watchdog;

/// Extra environment for `go test -c`: the goroutine leak profile is an
/// experiment in Go 1.26 (always there from 1.27). Everything that builds
/// test binaries uses this, so cached binaries are shared.
///
/// Without `$HOME` (and `GOPATH`), the module cache is unset, and the go
/// command refuses any overlay ("Files beneath GOMODCACHE () must not be
/// replaced"): it gets one that does not exist, and no module proxy, so
/// that a module that needs the cache fails as under `go test`.
pub fn build_env(env: &GoEnv) -> Vec<(String, String)> {
    let mut vars = env.vars.clone();
    if env.gomodcache.is_empty() {
        vars.push((
            "GOMODCACHE".to_string(),
            "/nonexistent/leakcheck: no module cache without $HOME or GOPATH".to_string(),
        ));
        vars.push(("GOPROXY".to_string(), "off".to_string()));
    }
    if env.release == (1, 26) {
        let user = std::env::var("GOEXPERIMENT").unwrap_or_default();
        let value = if user.trim().is_empty() {
            "goroutineleakprofile".to_string()
        } else {
            format!("{user},goroutineleakprofile")
        };
        vars.push(("GOEXPERIMENT".to_string(), value));
    }
    vars
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
    pub baseline: Option<crate::detect::baseline::Baseline>,
    /// Run only this shard of the packages (`--partition`).
    pub partition: Option<crate::partition::Partition>,
    /// In a crowded process (1,000 goroutines or more, Go 1.26+), judge
    /// runs with later dumps instead of dumping at each run's start and
    /// end, until a goroutine without a test's label needs exact windows
    /// (on by default; `--no-defer-checks` turns it off; see the README
    /// for what it costs).
    pub defer_checks: bool,
    /// Keep the batched builds under this directory between runs, so
    /// binaries of unchanged packages are not linked again (`None`: build
    /// into a temporary directory). See `runner/builddir.rs`.
    pub keep_builds: Option<PathBuf>,
    /// Run test binaries with creation chains
    /// (`GODEBUG=tracebackancestors=`[`CHAIN_DEPTH`]), so that leak groups
    /// name their origin and via lines (`--chains`).
    pub chains: bool,
    /// `--stress`: run each test again and again, varying the settings,
    /// until it misbehaves or the package's budget runs out (see
    /// [`crate::stress`] and `runner/stress.rs`).
    pub stress: Option<crate::stress::StressOptions>,
    /// Resource checks beyond goroutines (`--check`).
    pub resources: crate::detect::resources::Checks,
}

/// How many generations of creators `--chains` records.
pub const CHAIN_DEPTH: u32 = 5;

/// `GODEBUG` for a test binary with creation chains: the user's settings,
/// and `tracebackancestors` unless they set it.
pub fn godebug_with_chains(user: Option<&str>) -> String {
    let user = user.unwrap_or("").trim_matches(',');
    let set = user
        .split(',')
        .any(|kv| kv.trim().starts_with("tracebackancestors="));
    match (user.is_empty(), set) {
        (_, true) => user.to_string(),
        (true, false) => format!("tracebackancestors={CHAIN_DEPTH}"),
        (false, false) => format!("{user},tracebackancestors={CHAIN_DEPTH}"),
    }
}

/// The exact lines of creators' calls, read from the test binary at
/// `binary` the first time a creation chain needs one (a binary whose line
/// table cannot be read keeps the lines the dump printed).
fn call_lines(binary: &Path) -> CallLines {
    let binary = binary.to_path_buf();
    let table: OnceLock<Option<LineTable>> = OnceLock::new();
    CallLines(Arc::new(move |function, file, line, offset, near| {
        table
            .get_or_init(|| LineTable::read(&binary).ok())
            .as_ref()?
            .call_line_near(function, file, line, offset, near)
    }))
}

impl RunOptions {
    /// Options for `dir` with leakcheck's defaults: grace 1s, test timeout
    /// 60s, one job per CPU, the built-in ignore rules, checks deferred in
    /// crowded processes.
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
            keep_builds: None,
            defer_checks: true,
            chains: false,
            stress: None,
            resources: crate::detect::resources::Checks::default(),
        }
    }
}

/// What the runner tells its reporter, in order.
#[derive(Debug)]
pub enum RunEvent<'a> {
    Started {
        go: &'a GoEnv,
        packages: usize,
        /// What is not as it should be with this Go release's hook, one
        /// line each (see [`crate::go::harness::Hook::notes`]).
        notes: &'a [String],
    },
    /// A package's test binary is built (or failed to build): comes as
    /// soon as it happens, in any order, before that package's
    /// `PackageFinished`. Packages with nothing to build have none.
    PackageBuilt {
        import_path: &'a str,
    },
    /// Events of a package's `go test -json` stream (leak-annotated), as
    /// they become final: a test's own, once its verdict is known. Only
    /// one package's come at a time, in package order; the others wait.
    PackageEvents {
        import_path: &'a str,
        events: &'a [TestEvent],
    },
    /// One package is done: its report and its last events (all of them
    /// for a package that did not run, its `ok`/`FAIL` line and final
    /// event otherwise).
    PackageFinished {
        report: &'a PackageReport,
        events: &'a [TestEvent],
    },
    Finished {
        report: &'a Report,
    },
}

/// What a package's thread tells the run's.
enum PackageMessage {
    /// Its test binary is built.
    Built,
    Events(Vec<TestEvent>),
    Finished(PackageReport, Vec<TestEvent>),
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
        env: &env,
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
            crate::detect::directives::read_package(p)?
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
    let work = tempfile::Builder::new()
        .prefix("leakcheck-")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", e))?;
    let _work_guard = crate::signals::temp_dir(work.path());
    let build_env = build_env(&env);
    let mut build_flags = crate::go::cmd::test_build_flags(env.release, &opts.go_args.build_flags);
    if opts.go_args.cover_profile.is_some()
        && !build_flags
            .iter()
            .any(|f| f.starts_with("-cover") && f != "-cover=false")
    {
        // As in `go test`, -coverprofile builds with coverage.
        build_flags.push("-cover".to_string());
    }
    one_package_profiles(opts, &packages)?;
    let build_dir = {
        let mut key = vec![
            module_root.to_string_lossy().into_owned(),
            env.version.clone(),
            env.goroot.clone(),
            env!("CARGO_PKG_VERSION").to_string(),
            // Two builds of leakcheck with different helpers (the same
            // version number during development, or a benchmark against
            // an older build) keep a directory each, rather than each
            // relinking the other's binaries.
            crate::go::harness::HARNESS_GO.to_string(),
        ];
        key.extend(build_flags.iter().cloned());
        key.extend(build_env.iter().map(|(k, v)| format!("{k}={v}")));
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        BuildDir::open(opts.keep_builds.as_deref(), &key)
            .map_err(|e| Error::io("creating a temporary directory", e))?
    };
    let mut overlay = Overlay::from_user(opts.go_args.overlay.as_deref().map(Path::new))?;
    let hook = overlay.hook_testing(Path::new(&env.goroot), &env.version, &build_dir.files())?;
    let overlay_path = work.path().join("overlay.json");
    overlay.write(&overlay_path)?;
    let print = |e: std::io::Result<()>| e.map_err(|e| Error::io("writing output", e));
    print(on_event(RunEvent::Started {
        go: &env,
        packages: packages.len(),
        notes: &hook.notes,
    }))?;

    // One `go` process builds many packages (when binaries are not
    // cached per package for the Rust API).
    let prebuilt = if opts.cache_dir.is_none() && !interrupted() {
        let with_tests: Vec<(usize, &GoPackage)> = packages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.has_tests() && p.error.is_none())
            .collect();
        batch::build_all(
            &env,
            &opts.dir,
            &overlay_path,
            &build_flags,
            &with_tests,
            &build_dir.binaries(),
        )
    } else {
        std::collections::HashMap::new()
    };
    // Before Go 1.24, vet runs apart, as `go test` would run it.
    let vet_failed = match crate::go::cmd::vet_checks(&opts.go_args.build_flags) {
        Some(checks) if !crate::go::cmd::vets_in_build(env.release) && !interrupted() => {
            crate::go::cmd::GoVet {
                env: &env,
                dir: &opts.dir,
                build_flags: &opts.go_args.build_flags,
                checks: &checks,
                packages: packages
                    .iter()
                    .filter(|p| p.has_tests() && p.error.is_none())
                    .map(|p| p.import_path.as_str())
                    .collect(),
            }
            .run()?
        }
        _ => BTreeMap::new(),
    };
    let no_test_files = if opts.go_args.cover && !interrupted() {
        no_test_files_with_cover(&env, opts, &packages, work.path())?
    } else {
        std::collections::HashMap::new()
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, PackageMessage)>();
    let ctx = PackageContext {
        env: &env,
        opts,
        overlay: &overlay_path,
        work: work.path(),
        rules: &rules,
        module_root: &module_root,
        prebuilt: &prebuilt,
        hook_mode: hook.mode,
        build_flags: &build_flags,
        vet_failed: &vet_failed,
        no_test_files: &no_test_files,
        process_env: &[],
    };
    let mut reports: Vec<Option<PackageReport>> = vec![None; packages.len()];
    let result = std::thread::scope(|scope| -> Result<(), Error> {
        // Under --stress, a package's processes use the jobs: one
        // package at a time.
        let workers = if opts.stress.is_some() { 1 } else { opts.jobs };
        for _ in 0..workers.max(1).min(packages.len().max(1)) {
            let tx = tx.clone();
            let (next, packages, ctx) = (&next, &packages, &ctx);
            scope.spawn(move || loop {
                if interrupted() {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(pkg) = packages.get(i) else { return };
                let built = || {
                    let _ = tx.send((i, PackageMessage::Built));
                };
                let events = |events| {
                    let _ = tx.send((i, PackageMessage::Events(events)));
                };
                let (report, events) = ctx.test_package(i, pkg, &built, &events);
                if tx
                    .send((i, PackageMessage::Finished(report, events)))
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(tx);
        // Packages are reported in order: the first one not finished has
        // its events passed on as they come; the others' wait (see spool).
        let mut waiting: BTreeMap<usize, (spool::Spool, Option<PackageReport>)> = BTreeMap::new();
        let mut budget = spool::MEMORY_BUDGET;
        let mut current = 0;
        // A waiting package's turn: what it printed meanwhile, and its end
        // if it is done (then true).
        let take_turn = |on_event: &mut dyn FnMut(RunEvent<'_>) -> std::io::Result<()>,
                         reports: &mut Vec<Option<PackageReport>>,
                         budget: &mut usize,
                         i: usize,
                         spool: spool::Spool,
                         report: Option<PackageReport>|
         -> Result<bool, Error> {
            let import_path = &packages[i].import_path;
            let mut emit = |events: &[TestEvent]| {
                on_event(RunEvent::PackageEvents {
                    import_path,
                    events,
                })
            };
            let last = spool
                .drain(import_path, budget, &mut emit)
                .map_err(|e| Error::io("writing output", e))?;
            match report {
                Some(report) => {
                    let r = on_event(RunEvent::PackageFinished {
                        report: &report,
                        events: &last,
                    });
                    reports[i] = Some(report);
                    print(r)?;
                    Ok(true)
                }
                None => {
                    if !last.is_empty() {
                        print(emit(&last))?;
                    }
                    Ok(false)
                }
            }
        };
        for (i, message) in rx {
            match message {
                PackageMessage::Built => print(on_event(RunEvent::PackageBuilt {
                    import_path: &packages[i].import_path,
                }))?,
                PackageMessage::Events(events) if i == current => {
                    print(on_event(RunEvent::PackageEvents {
                        import_path: &packages[i].import_path,
                        events: &events,
                    }))?
                }
                PackageMessage::Events(events) => {
                    waiting.entry(i).or_default().0.push(events, &mut budget);
                }
                PackageMessage::Finished(report, events) => {
                    let w = waiting.entry(i).or_default();
                    w.0.push(events, &mut budget);
                    w.1 = Some(report);
                    // The next packages, up to one still running.
                    while let Some((spool, report)) = waiting.remove(&current) {
                        let done = report.is_some();
                        take_turn(on_event, &mut reports, &mut budget, current, spool, report)?;
                        if !done {
                            break;
                        }
                        current += 1;
                    }
                }
            }
        }
        // Interrupted: packages that never started leave gaps; the ones
        // that finished after a gap are still reported.
        for (i, (spool, report)) in waiting {
            if report.is_some() {
                take_turn(on_event, &mut reports, &mut budget, i, spool, report)?;
            }
        }
        Ok(())
    });
    let mut report = Report::new(env.version.clone(), reports.into_iter().flatten().collect());
    if let Some(baseline) = &opts.baseline {
        report.baseline_fixed = baseline.fixed(&report, &module_root);
    }
    // An interrupted run did not give every rule its chance.
    if !interrupted() {
        let user_rules = rules.iter().flat_map(|r| &r.rules).filter(|r| !r.builtin);
        report.stale_rules = report.unused_rules(user_rules.map(|r| r.describe()));
    }
    report.interrupted = interrupted();
    let merged = match &opts.go_args.cover_profile {
        Some(profile) => merge_cover_profiles(
            &output_dir(opts).join(profile),
            cover_mode(&opts.go_args),
            &cover_profiles(work.path()),
        ),
        None => Ok(()),
    };
    result?;
    merged?;
    print(on_event(RunEvent::Finished { report: &report }))?;
    Ok(report)
}

/// As `go test`, refuses a profile that each package would write to the
/// same file (-cpuprofile, -memprofile, -blockprofile, -mutexprofile,
/// -trace) when more than one package is tested.
fn one_package_profiles(opts: &RunOptions, packages: &[GoPackage]) -> Result<(), Error> {
    if packages.len() < 2 {
        return Ok(());
    }
    for name in [
        "blockprofile",
        "cpuprofile",
        "memprofile",
        "mutexprofile",
        "trace",
    ] {
        let prefix = format!("-test.{name}=");
        if opts
            .go_args
            .test_flags
            .iter()
            .any(|f| f.starts_with(&prefix))
        {
            return Err(Error::Usage(format!(
                "cannot use -{name} flag with multiple packages"
            )));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct PackageContext<'a> {
    env: &'a GoEnv,
    opts: &'a RunOptions,
    overlay: &'a Path,
    work: &'a Path,
    /// Ignore rules per package, in `packages` order.
    rules: &'a [IgnoreRules],
    module_root: &'a Path,
    /// Binaries (or build errors) from the batched build.
    prebuilt: &'a std::collections::HashMap<usize, batch::Built>,
    hook_mode: HookMode,
    /// The build flags of `go test -c` (see [`crate::go::cmd::test_build_flags`]).
    build_flags: &'a [String],
    /// What `go vet` found, by package, where it runs apart from the build.
    vet_failed: &'a BTreeMap<String, String>,
    /// The events `go test` gave packages without test files, with
    /// coverage on (see [`no_test_files_with_cover`]).
    no_test_files: &'a std::collections::HashMap<String, Vec<TestEvent>>,
    /// Environment variables added to each test process (`--stress`
    /// sets GOMAXPROCS).
    process_env: &'a [(String, String)],
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

/// The events of a package that did not build (`what`: "build failed",
/// or "setup failed" when go could not list it), as `go test -json`
/// gives them: from Go 1.24, the go command's output as `build-output`
/// events of the build `id`, `build-fail`, and a package failure naming
/// it (`FailedBuild`); before, that output as the package's.
fn failed_build_events(
    env: &GoEnv,
    pkg: &str,
    id: &str,
    output: &str,
    what: &str,
) -> Vec<TestEvent> {
    let mut events = Vec::new();
    let mut fin = final_event(pkg, "fail", 0.0);
    if env.release >= (1, 24) {
        let build_event = |action: &str, output: Option<String>| {
            let mut e = TestEvent {
                action: action.into(),
                output,
                ..TestEvent::default()
            };
            e.other.insert("ImportPath".into(), id.into());
            e
        };
        for line in output.split_inclusive('\n') {
            events.push(build_event("build-output", Some(line.to_string())));
        }
        events.push(build_event("build-fail", None));
        events.push(TestEvent {
            time: Some(crate::go::testjson::now_rfc3339()),
            action: "start".into(),
            package: Some(pkg.into()),
            ..TestEvent::default()
        });
        fin.other.insert("FailedBuild".into(), id.into());
    } else {
        events.push(output_event(pkg, None, output.to_string()));
    }
    events.push(output_event(pkg, None, format!("FAIL\t{pkg} [{what}]\n")));
    events.push(fin);
    events
}

pub(super) fn output_event(pkg: &str, test: Option<&str>, text: String) -> TestEvent {
    TestEvent::output(pkg, test, text)
}

pub(crate) fn final_event(pkg: &str, action: &str, elapsed: f64) -> TestEvent {
    TestEvent {
        time: Some(crate::go::testjson::now_rfc3339()),
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
        sink: &dyn Fn(Vec<TestEvent>),
    ) -> (PackageReport, Vec<TestEvent>) {
        let path = &pkg.import_path;
        if let Some(err) = &pkg.error {
            let text = format!("# {path}\n{}\n", err.err.trim_end());
            let events = failed_build_events(self.env, path, path, &text, "setup failed");
            return (
                package_report(pkg, PackageOutcome::BuildError, Some(text)),
                events,
            );
        }
        if let (false, Some(events)) = (pkg.has_tests(), self.no_test_files.get(path)) {
            let outcome = match events.last().map(|e| e.action.as_str()) {
                Some("pass") => PackageOutcome::Pass,
                Some("skip") => PackageOutcome::Skip,
                _ => PackageOutcome::Fail,
            };
            return (package_report(pkg, outcome, None), events.clone());
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
            build_flags: self.build_flags,
            env: build_env(self.env),
        };
        // With a cache directory, the binary comes from (or goes into) the
        // cache: see crate::cache.
        let binary = match (self.prebuilt.get(&index), &self.opts.cache_dir) {
            (Some(batch::Built::Binary(b)), _) => Ok(Ok(b.clone())),
            (Some(batch::Built::Failed(out)), _) => Ok(Err(out.clone())),
            (None, Some(dir)) => crate::cache::BinaryCache::new(dir)
                .get_or_build(&build, self.env)
                .map(|r| r.map(|cached| cached.path)),
            (None, None) => build.run().map(|r| r.map(|()| output.clone())),
        };
        let (binary, failure) = match binary {
            _ if self.vet_failed.contains_key(path) => {
                (PathBuf::new(), self.vet_failed.get(path).cloned())
            }
            Ok(Ok(binary)) => (binary, None),
            Ok(Err(output)) => (PathBuf::new(), Some(output)),
            Err(e) => (PathBuf::new(), Some(format!("{e}\n"))),
        };
        if let Some(output) = failure {
            let id = format!("{path} [{path}.test]");
            let events = failed_build_events(self.env, path, &id, &output, "build failed");
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
        if self.opts.stress.is_some() {
            return stress::stress_package(self, index, pkg, &binary, sink);
        }
        self.run_binary(index, pkg, &binary, sink)
    }

    /// Whether the test binaries have the goroutine leak profile.
    /// How long a test binary may run in all, as `go test` allows it: its
    /// `-timeout` (10m by default; 0 is none) and a minute.
    fn process_limit(&self) -> Option<Duration> {
        let timeout = self.opts.go_args.timeout.as_deref().unwrap_or("10m0s");
        match crate::duration::parse_go_duration(timeout) {
            Ok(t) if !t.is_zero() => t.checked_add(Duration::from_secs(60)),
            _ => None,
        }
    }

    fn has_leak_profile(&self) -> bool {
        self.env.release >= (1, 26)
    }

    /// The test binary's arguments; `skip` names top-level tests that
    /// already ran in an earlier process of this package, or leaked in an
    /// earlier round of `--until-leak`.
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

    /// Whether no test is left to run once the tests in `done` are
    /// skipped: every test, fuzz target and example the package's test
    /// files may declare is in `done` or does not match `-run`. `false`
    /// when that cannot be told (a file not read, a user's overlay, a
    /// `-run` with subtest parts or that the regex crate does not take).
    fn nothing_left(&self, pkg: &GoPackage, done: &[String]) -> bool {
        let a = &self.opts.go_args;
        // Benchmarks run after the tests, and are not declared tests.
        let benchmarks = a
            .test_flags
            .iter()
            .any(|f| f.starts_with("-test.bench=") && f != "-test.bench=");
        if a.overlay.is_some() || benchmarks {
            return false;
        }
        let run = self
            .opts
            .go_args
            .test_flags
            .iter()
            .rev()
            .find_map(|f| f.strip_prefix("-test.run="));
        // Go's \w, \d, \s and \b are ASCII, the regex crate's Unicode.
        let classes = [
            "\\w", "\\W", "\\d", "\\D", "\\s", "\\S", "\\b", "\\B", "\\p", "\\P", "[[:",
        ];
        let run = match run {
            Some(r) if r.contains('/') || classes.iter().any(|c| r.contains(c)) => return false,
            Some(r) => match regex::Regex::new(r) {
                Ok(re) => Some(re),
                Err(_) => return false,
            },
            None => None,
        };
        let files = pkg.test_go_files.iter().chain(&pkg.x_test_go_files);
        let mut declared = Vec::new();
        for file in files {
            match std::fs::read_to_string(pkg.dir.join(file)) {
                Ok(text) => declared.extend(declared_tests(&text)),
                Err(_) => return false,
            }
        }
        declared
            .iter()
            .all(|t| done.iter().any(|d| d == t) || run.as_ref().is_some_and(|re| !re.is_match(t)))
    }

    /// Runs one package's test binary, in as many processes as it takes:
    /// after a hang or a crash, the tests that did not run yet are resumed
    /// in a fresh process; with `--until-leak N`, up to N rounds, each
    /// without the tests that leaked in an earlier one.
    fn run_binary(
        &self,
        index: usize,
        pkg: &GoPackage,
        binary: &Path,
        sink: &dyn Fn(Vec<TestEvent>),
    ) -> (PackageReport, Vec<TestEvent>) {
        let started = Instant::now();
        let mut join = EventJoiner::new(&pkg.import_path, &self.opts.dir, self.opts.verbose, sink);
        join.baseline = self.opts.baseline.as_ref().map(|b| (b, self.module_root));
        let mut last = ProcessEnd::default();
        // Protocol errors of every process, not only the last one's.
        let mut errors = Vec::new();
        let rounds = self.opts.until_leak.unwrap_or(1);
        let mut attempt = 0;
        'rounds: for round in 0..rounds {
            join.new_round();
            let leaked = join.leaked_tests();
            let mut skip = leaked.clone();
            loop {
                join.attempt = attempt;
                let end = self.run_process(index, attempt, pkg, binary, &skip, &mut join);
                join.process_ended();
                let mut end = match end {
                    Ok(end) => end,
                    Err(message) => {
                        join.raw_output(format!("leakcheck: {message}\n"));
                        join.failed_to_run = Some(message);
                        break 'rounds;
                    }
                };
                attempt += 1;
                errors.append(&mut end.errors);
                let stopped_early = end.hung.is_some() || !end.crashed.is_empty();
                let before = skip.len();
                skip = leaked.clone();
                skip.extend(join.finished_tests());
                last = end;
                if interrupted() {
                    break 'rounds;
                }
                if !stopped_early
                    || !self.can_resume()
                    || skip.len() == before
                    || self.nothing_left(pkg, &skip)
                {
                    break;
                }
                join.raw_output(format!(
                    "leakcheck: resuming the remaining tests of {} in a fresh process\n",
                    pkg.import_path
                ));
            }
            // --until-leak: a round in which no test ran leaves none to
            // repeat.
            if round + 1 < rounds && join.finished_tests().is_empty() {
                break;
            }
        }
        join.finish(last.exit_code, errors, started.elapsed())
    }

    /// Runs one process of a test binary: its output is read and turned
    /// into events on one thread (which the watchdog follows), and joined
    /// with the verdicts on this one, which waits for them.
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
            module: self.module_root.to_string_lossy().into_owned(),
            leak_profile: self.has_leak_profile(),
            calls: self.opts.chains.then(|| call_lines(binary)),
        });
        let checks = self.opts.resources;
        let tracker = checks.any().then(|| {
            crate::detect::resources::tracker::Tracker::new(
                checks,
                self.opts.grace,
                self.rules[index].clone(),
                Box::new(crate::detect::resources::tracker::Proc),
            )
            .with_goroot(&self.env.goroot)
        });
        let (listener, theirs) =
            HelperListener::with_resources(comparator, tracker).map_err(|e| e.to_string())?;
        let listener = std::sync::Arc::new(listener);
        let mut args = self.test_binary_args(skip);
        if self.opts.go_args.cover {
            // As `go test` runs it: counters into a directory of the run's
            // own, and the profile into a file leakcheck merges.
            let (dir, profile) = cover_files(self.work, index, attempt);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            args.push(format!("-test.gocoverdir={}", dir.display()));
            if self.opts.go_args.cover_profile.is_some() {
                args.push(format!("-test.coverprofile={}", profile.display()));
            }
        }
        let hook = HelperListener::hook_env(
            HOOK_FD,
            self.env.has_traceback_labels(),
            self.has_leak_profile().then_some(watchdog::PROBE_AFTER),
            self.opts.defer_checks && self.hook_mode == HookMode::Exact,
        ) + &crate::detect::resources::hook_settings(&checks);
        let mut cmd = duct::cmd(binary, &args).dir(&pkg.dir);
        if self.opts.chains {
            let user = std::env::var("GODEBUG").ok();
            cmd = cmd.env("GODEBUG", godebug_with_chains(user.as_deref()));
        }
        for (k, v) in self.process_env {
            cmd = cmd.env(k, v);
        }
        let cmd = cmd
            .env("LEAKCHECK_HELPER", hook)
            .before_spawn(inherit_as(theirs.as_raw_fd(), HOOK_FD))
            .before_spawn(move |cmd| {
                crate::signals::own_group(cmd);
                if checks.processes {
                    crate::detect::resources::procs::adopt_orphans(cmd);
                }
                Ok(())
            });
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
        // `cmd` is consumed: our ends of the write side are closed now, and
        // the process has its end of the connection.
        drop(theirs);
        for &pid in &child.pids() {
            crate::signals::started(pid);
        }
        let watch = Watchdog::start(
            child.pids().first().copied(),
            self.opts.test_timeout,
            self.process_limit(),
            Some(listener.clone()),
        );
        let (tx, rx) = mpsc::channel::<TestEvent>();
        let release = self.env.release;
        let all_output = std::thread::scope(|scope| {
            let reading = scope.spawn(|| read_events(reader, path, release, &watch, tx));
            // Events are passed on in batches: what came while the last
            // batch was joined, up to EVENT_BATCH.
            while let Ok(first) = rx.recv() {
                for event in std::iter::once(first).chain(rx.try_iter().take(EVENT_BATCH)) {
                    if attempt > 0
                        && (event.action == "start"
                            || event.output.as_deref()
                                == Some("testing: warning: no tests to run\n"))
                    {
                        continue; // a resumed process continues the package's stream
                    }
                    join.event(event, &listener);
                }
                join.flush();
            }
            reading.join().unwrap_or_default()
        });
        let status = child.wait().map(|o| o.status);
        let too_long = watch.too_long();
        for &pid in &child.pids() {
            crate::signals::ended(pid);
        }
        let (hung, running, proven_dump) = watch.stop();
        let finished = listener.finish();
        let exit_code = status.ok().and_then(|s| s.code());
        for l in &finished.leftovers {
            if crate::detect::resources::procs::kill(l.id) {
                join.raw_output(format!(
                    "leakcheck: killed pid {} ({}), left running by {}\n",
                    l.id.0, l.command, l.test
                ));
            }
        }
        let ended_by_hook = join.take_remaining_verdicts(finished.verdicts);
        for run in &finished.unjudged {
            join.unjudged(Comparator::test_of_run(run));
        }
        // A run that started and never ended, in a process that exited 0
        // (not a crash, a hang or an interruption, handled below): its end
        // was lost, so it cannot pass.
        if exit_code == Some(0) && !interrupted() {
            for run in &finished.unfinished {
                if !finished.unjudged.contains(run) {
                    join.end_lost(Comparator::test_of_run(run));
                }
            }
        }
        let mut end = ProcessEnd {
            exit_code,
            errors: finished.errors,
            ..ProcessEnd::default()
        };
        // Tests still running when the process ended. One whose result
        // line never came (it closed stdout) but whose runs the hook
        // ended was not running: its result is the hook's.
        let hook_running: Vec<String> = finished
            .unfinished
            .iter()
            .map(|r| Comparator::test_of_run(r).to_string())
            .collect();
        let mut unfinished: Vec<String> = running
            .into_iter()
            .filter(|t| !ended_by_hook.contains(t) || hook_running.contains(t))
            .collect();
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
        } else if let Some(limit) = too_long {
            // As go test says it.
            let limit = crate::duration::format_go_duration(limit);
            join.raw_output(format!(
                "*** Test killed with quit: ran too long ({limit}).\n"
            ));
            join.failed_to_run = Some(format!(
                "the test binary ran too long ({limit}: -timeout and a minute, as go test allows)"
            ));
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
            // A test whose function had returned (its goroutines were
            // being checked) did not crash the binary, unless no other
            // test was running.
            let returned: Vec<String> = finished
                .checking
                .iter()
                .map(|r| Comparator::test_of_run(r).to_string())
                .filter(|t| unfinished.contains(t))
                .collect();
            let running: Vec<String> = unfinished
                .iter()
                .filter(|t| !returned.contains(t))
                .cloned()
                .collect();
            let culprits = match culprit {
                Some(t) => vec![t],
                None if !running.is_empty() => running,
                None => unfinished.clone(),
            };
            for t in returned.iter().filter(|t| !culprits.contains(t)) {
                join.check_cut(t);
            }
            let details = match (&crash, end.errors.first()) {
                // The listener found a protocol problem (a test tampering
                // with the connection, say) and shut the connection: the
                // hook ended the process.
                (_, Some(problem)) if exit_code == Some(HOOK_LOST_EXIT) => format!(
                    "{problem}; leakcheck stopped listening to this test's process, which \
                     then exited with status {HOOK_LOST_EXIT}"
                ),
                (Some(c), _) => c.summary(&all_output),
                (None, _) => format!(
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

/// The names that `go test` may run as tests, fuzz targets or examples in
/// a Go file: the identifier after every `func` token (whitespace, line
/// breaks and block comments between them skipped) that starts with
/// `Test`, `Fuzz` or `Example`, wherever it is: after a comment or a `;`
/// on the same line, inside a comment or a string too. A superset of what
/// go test runs (it also checks signatures, and runs only examples with an
/// output comment), so it never misses one. `TestMain` is left out only
/// when its declaration takes a `*testing.M`.
fn declared_tests(text: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut names = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("func") {
        let at = from + i;
        from = at + "func".len();
        let before_ok = text[..at].chars().next_back().is_none_or(|c| !is_ident(c));
        let mut rest = &text[from..];
        if !before_ok || rest.chars().next().is_some_and(is_ident) {
            continue;
        }
        loop {
            let trimmed = rest.trim_start();
            match trimmed.strip_prefix("/*").and_then(|r| r.split_once("*/")) {
                Some((_, after)) => rest = after,
                None => {
                    rest = trimmed;
                    break;
                }
            }
        }
        if !is_test_function_name(rest) {
            continue;
        }
        let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        let signature = rest[name.len()..].split(')').next().unwrap_or("");
        if name == "TestMain" && signature.contains("testing.M") {
            continue;
        }
        names.push(name);
    }
    names
}

/// Whether `name` starts like a function `go test` runs and leakcheck's
/// hook wraps: a test, fuzz target or example (not a benchmark).
pub(crate) fn is_test_function_name(name: &str) -> bool {
    ["Test", "Fuzz", "Example"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The exit status of a test binary whose hook lost its connection to
/// leakcheck (harness/conn.go).
pub const HOOK_LOST_EXIT: i32 = 86;

/// With coverage on, `go test` reports packages without test files too
/// (their statements count as not covered, from Go 1.22): there is nothing
/// to check for leaks in them, so `go test -json` itself runs them, once
/// for all, its profile one of the run's. Returns their events by package.
fn no_test_files_with_cover(
    env: &GoEnv,
    opts: &RunOptions,
    packages: &[GoPackage],
    work: &Path,
) -> Result<std::collections::HashMap<String, Vec<TestEvent>>, Error> {
    let paths: Vec<&str> = packages
        .iter()
        .filter(|p| !p.has_tests() && p.error.is_none())
        .map(|p| p.import_path.as_str())
        .collect();
    let mut by_package: std::collections::HashMap<String, Vec<TestEvent>> =
        std::collections::HashMap::new();
    if paths.is_empty() {
        return Ok(by_package);
    }
    let mut args: Vec<std::ffi::OsString> = vec!["test".into(), "-json".into()];
    args.extend(opts.go_args.build_flags.iter().map(Into::into));
    if opts.go_args.cover_profile.is_some() {
        std::fs::create_dir_all(work.join("cover"))
            .map_err(|e| Error::io("creating a temporary directory", e))?;
        // Named to come after every package's profile when merged.
        let (_, profile) = cover_files(work, packages.len(), 0);
        let mut flag = std::ffi::OsString::from("-coverprofile=");
        flag.push(profile);
        args.push(flag);
    } else {
        args.push("-cover".into());
    }
    args.extend(paths.iter().map(Into::into));
    let line = command_line("go", &args);
    let out = crate::go::cmd::run_captured(env.command(&args).dir(&opts.dir), &line)?;
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        if let Ok(e) = serde_json::from_str::<TestEvent>(l) {
            if let Some(p) = e.package.clone() {
                by_package.entry(p).or_default().push(e);
            }
        }
    }
    Ok(by_package)
}

/// Where `go test` puts the files that test flags name: `-outputdir`, or
/// the directory it runs in.
fn output_dir(opts: &RunOptions) -> PathBuf {
    let dir = opts
        .go_args
        .test_flags
        .iter()
        .rev()
        .find_map(|f| f.strip_prefix("-test.outputdir="));
    match dir {
        Some(d) => opts.dir.join(d),
        None => opts.dir.clone(),
    }
}

/// The coverage mode of a run, as `go test` chooses it.
fn cover_mode(args: &GoTestArgs) -> &str {
    match &args.cover_mode {
        Some(m) => m,
        None if args.build_flags.iter().any(|f| f == "-race") => "atomic",
        None => "set",
    }
}

/// Every coverage profile the processes of a run wrote, in package order.
fn cover_profiles(work: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(work.join("cover")) else {
        return Vec::new();
    };
    let mut found: Vec<((usize, usize), PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (i, a) = name
                .strip_prefix("pkg")?
                .strip_suffix(".out")?
                .split_once('-')?;
            Some(((i.parse().ok()?, a.parse().ok()?), e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Where one process of package `index` keeps its coverage counters, and
/// its coverage profile.
fn cover_files(work: &Path, index: usize, attempt: usize) -> (PathBuf, PathBuf) {
    let base = work.join("cover").join(format!("pkg{index}-{attempt}"));
    (base.with_extension("d"), base.with_extension("out"))
}

/// Writes the profile `-coverprofile` asks for, as `go test` does: one
/// `mode:` line, then the blocks of every package's profile (`profiles`,
/// in package order); with none, the mode line alone.
fn merge_cover_profiles(path: &Path, mode: &str, profiles: &[PathBuf]) -> Result<(), Error> {
    let mut merged = String::new();
    for p in profiles {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        if merged.is_empty() {
            merged.push_str(first);
            merged.push('\n');
        }
        for l in lines {
            merged.push_str(l);
            merged.push('\n');
        }
    }
    if merged.is_empty() {
        merged = format!("mode: {mode}\n");
    }
    std::fs::write(path, merged).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The file descriptor the test binary gets its end of the connection
/// to leakcheck as.
const HOOK_FD: i32 = 3;

/// A `before_spawn` hook that gives the child `fd` as `target`, open
/// across `exec` (every other descriptor leakcheck holds is close-on-exec).
fn inherit_as(
    fd: std::os::fd::RawFd,
    target: i32,
) -> impl Fn(&mut std::process::Command) -> std::io::Result<()> + Send + Sync + 'static {
    move |cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork
        // and exec; `fd` stays open in the parent until the child has
        // started.
        unsafe {
            cmd.pre_exec(move || {
                if fd == target {
                    if libc::fcntl(target, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, target) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(())
    }
}

/// Lines that start what [`CrashOutput`] and the hang report read: a
/// panic, a fatal error, a fault, a SIGQUIT dump.
const DYING: [&str; 5] = [
    "panic: ",
    "fatal error: ",
    "SIGSEGV",
    "unexpected fault",
    "SIGQUIT: quit",
];

/// Reads a test binary's output to its end, turning it into `go test
/// -json` events for the watchdog to follow and for `tx`; returns its
/// tail as text, for crash and hang dumps: from the last top-level test's
/// end before anything that may start one (at most [`OUTPUT_TAIL`]).
fn read_events(
    mut output: os_pipe::PipeReader,
    path: &str,
    release: (u32, u32),
    watch: &Watchdog,
    tx: mpsc::Sender<TestEvent>,
) -> String {
    let mut converter = Converter::new(path, release);
    let mut all_output = String::new();
    let mut dying = false;
    let mut buf = vec![0u8; 64 << 10];
    let mut at_end = false;
    while !at_end {
        match output.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => {
                converter.close();
                at_end = true;
            }
            Ok(n) => converter.write(&buf[..n]),
        }
        for event in converter.events() {
            if let Some(text) = &event.output {
                dying |= DYING.iter().any(|m| text.starts_with(m));
                all_output.push_str(text);
                keep_tail(&mut all_output, OUTPUT_TAIL);
            }
            // A top-level test ended, and nothing so far starts a crash
            // or a dump: what is kept can start here.
            if !dying && event.is_final() && event.test.as_deref().is_some_and(|t| !t.contains('/'))
            {
                all_output.clear();
            }
            if watch.observe(&event) {
                continue; // the hang dump: summarized instead
            }
            let _ = tx.send(event);
        }
    }
    all_output
}

/// At most how many events the joiner passes on at once.
const EVENT_BATCH: usize = 4096;

/// How much of a binary's raw output is kept for reading a crash or a
/// hang dump from its end: a panic's message and stacks, or a SIGQUIT
/// dump (about 500 bytes a goroutine).
const OUTPUT_TAIL: usize = 64 << 20;

/// Keeps about the last `max` bytes of `text`, whole lines, once it has
/// grown a quarter beyond that (so that the cost is spread).
fn keep_tail(text: &mut String, max: usize) {
    if text.len() < max + max / 4 {
        return;
    }
    let cut = text.len() - max;
    let cut = (cut..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    let cut = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
    text.drain(..cut);
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

#[cfg(test)]
mod tests {
    #[test]
    fn chains_are_added_to_the_users_godebug() {
        use super::godebug_with_chains as g;
        assert_eq!(g(None), "tracebackancestors=5");
        assert_eq!(g(Some("")), "tracebackancestors=5");
        assert_eq!(g(Some("http2debug=1")), "http2debug=1,tracebackancestors=5");
        assert_eq!(
            g(Some("tracebackancestors=2,x=1")),
            "tracebackancestors=2,x=1"
        );
    }

    #[test]
    fn declared_tests_are_every_func_that_may_be_a_test() {
        let text = "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n\
                    func  /* odd */ TestB(t *testing.T) {}\n\
                    \tfunc Testing() {}\n\
                    func FuzzC(f *testing.F) {}\nfunc ExampleD() {}\n\
                    func helper() {}\nfunc (s *suite) TestMethod() {}\n\
                    func TestMain(m *testing.M) {}\n\
                    // func TestInComment(t *testing.T) {}\n\
                    /* c */ func TestZ(t *testing.T) {}; func TestY(t *testing.T) {}\n\
                    func\nTestNextLine(t *testing.T) {}\n\
                    var x = funcTestNot\n";
        assert_eq!(
            super::declared_tests(text),
            [
                "TestA",
                "TestB",
                "Testing",
                "FuzzC",
                "ExampleD",
                "TestInComment",
                "TestZ",
                "TestY",
                "TestNextLine"
            ]
        );
        // TestMain with a *testing.T is an ordinary test.
        assert_eq!(
            super::declared_tests("func TestMain(t *testing.T) {}\n"),
            ["TestMain"]
        );
    }

    #[test]
    fn only_the_tail_of_a_binarys_output_is_kept() {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("line {i} é\n"));
            super::keep_tail(&mut text, 100);
        }
        assert!(text.len() <= 125 + 12, "{}", text.len());
        assert!(
            text.starts_with("line ") && text.ends_with("line 99 é\n"),
            "{text}"
        );
    }
}
