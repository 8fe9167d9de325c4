//! The command line: parsing it into [`RunOptions`] and the output
//! settings, running, and writing what was asked for (the report, JUnit,
//! GitHub annotations). Also the `merge-reports` subcommand, recognised as
//! the first argument before the run command is parsed, so packages stay
//! positional; `inspect`, `diff` and `watch` are recognised the same way
//! and handed to [`crate::inspect::command`]. `main` stays a thin shell
//! around [`main_with`].

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::config::{CommandLine, Settings};
use crate::detect::baseline::Baseline;
use crate::detect::ignore::{IgnoreRule, RuleKind};
use crate::duration::parse_go_duration;
use crate::error::{Error, EXIT_ERROR};
use crate::go::args::GoTestArgs;
use crate::output::annotations::annotations;
use crate::output::color::{should_color, ColorChoice, ColorWriter};
use crate::output::junit::{write_junit, OutputCollector, TestOutputs};
use crate::output::progress::Progress;
use crate::output::report::Report;
use crate::output::reporter::Reporter;
use crate::partition::Partition;
use crate::runner::{run, RunEvent, RunOptions};

const AFTER_HELP: &str = "\
Arguments after `--` are what you would give `go test`: packages, build
flags (-race, -tags, -ldflags, ...) for the build, test flags (-run,
-count, -v, -short, -timeout, ...) for the test binaries. Packages may
also come before `--`. No packages means ./...

Exit codes:
  0  all tests passed and nothing leaked
  1  a test failed or leaked
  2  leakcheck could not do its job (usage error, no Go toolchain,
     no Go module, a package failed to build)
When several apply, the highest wins. Stopped by a signal: 128 + it
(Ctrl-C 130, SIGTERM 143), after writing the reports of what finished.

Merging the reports of shards (--partition):
  leakcheck merge-reports -o OUT.json [--junit OUT.xml] IN.json...

Settings can also live in leakcheck.toml at the module root (or --config
FILE); command-line options override it. The effective configuration,
with where each value came from:
  leakcheck config [OPTIONS]

Goroutine dumps of running services (files, or pprof URLs):
  leakcheck inspect SOURCE [--json] [--older-than D]
  leakcheck diff BEFORE AFTER [--json] [--threshold N]
  leakcheck watch URL [--every 10s] [--for 5m] [--json]";

const SHORT_AFTER_HELP: &str = "\
Examples:
  leakcheck                              every package of the module (./...)
  leakcheck ./pkg -- -run TestX -count 5 go test's flags after --
  leakcheck --report r.json --junit j.xml -- -race ./...

Exit codes: 0 clean, 1 a test failed or leaked, 2 leakcheck could not do
its job, 128+N stopped by signal N. More, with every option: --help
Running services' goroutine dumps: leakcheck inspect|diff|watch --help";

/// Find goroutines that outlive the Go test that started them.
#[derive(Debug, Parser)]
#[command(
    name = "leakcheck",
    version,
    about,
    after_help = SHORT_AFTER_HELP,
    after_long_help = AFTER_HELP,
    override_usage = "leakcheck [OPTIONS] [PACKAGES]... [-- GO_TEST_ARGS...]"
)]
pub struct Cli {
    /// Also check for leaked fds, processes, heap (or all)
    ///
    /// Also check each test for what it leaves besides goroutines:
    /// `fds` (descriptors still open), `processes` (processes it started
    /// still running), `heap` (live heap grown by more than
    /// --heap-threshold), or `all`. Comma-separated or repeated;
    /// goroutines are always checked.
    #[arg(long, value_name = "CHECKS")]
    pub check: Vec<String>,

    /// Heap growth a test may keep under --check heap [default: 1MiB]
    ///
    /// The live heap growth (after a GC, from a test's start to its end)
    /// over which --check heap reports a test: 512KiB, 1MiB, 1048576
    /// [default: 1MiB].
    #[arg(long, value_name = "SIZE", hide_short_help = true)]
    pub heap_threshold: Option<String>,

    /// How long goroutines may outlive their test [default: 1s]
    ///
    /// How long a test's goroutines may outlive it before they count as
    /// leaked (Go duration: 500ms, 1s, 2m) [default: 1s].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub grace: Option<String>,

    /// Declare a test hung after DURATION; 0: never [default: 60s]
    ///
    /// A test still running after DURATION without progress (no subtest
    /// started or ended; waiting for a -parallel slot is not running) is
    /// declared hung: its goroutines are dumped, the binary killed, and the
    /// package's remaining tests resumed in a fresh process. `0` turns it
    /// off. `go test`'s own -timeout keeps its meaning for the whole
    /// binary, the time its tests wait for leakcheck's checks aside
    /// [default: 60s].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub test_timeout: Option<String>,

    /// Ignore goroutines blocked in FUNC (`pkg.Prefix*` too)
    ///
    /// Ignore goroutines whose top (blocking) frame is FUNC: a full Go
    /// function name, or a prefix ending in `*`. Repeatable.
    #[arg(long, value_name = "FUNC")]
    pub ignore_top: Vec<String>,

    /// Ignore goroutines with FUNC anywhere in their stack
    ///
    /// Ignore goroutines with FUNC anywhere in their stack. Repeatable.
    #[arg(long, value_name = "FUNC")]
    pub ignore_any: Vec<String>,

    /// Ignore goroutines created by FUNC
    ///
    /// Ignore goroutines created by FUNC. Repeatable.
    #[arg(long, value_name = "FUNC")]
    pub ignore_created_by: Vec<String>,

    /// Limit the --ignore-* rule before it to goroutines in STATE
    ///
    /// Limit the --ignore-* rule just before it to goroutines in STATE
    /// (e.g. 'IO wait', 'select').
    #[arg(long, value_name = "STATE")]
    pub ignore_state: Vec<String>,

    /// Turn off the built-in ignore rules (for debugging)
    ///
    /// Turn off the built-in ignore rules (the testing package's, signal
    /// handling's and the runtime's own goroutines), for debugging.
    #[arg(long)]
    pub no_default_ignores: bool,

    /// Settings file [default: leakcheck.toml at the module root]
    ///
    /// Read settings from FILE instead of leakcheck.toml at the module root.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Leaks recorded in FILE are known and do not fail
    ///
    /// Leaks recorded in FILE (by --write-baseline) are reported as known
    /// and do not fail; only new leaks do. Baseline entries not seen any
    /// more are listed as fixed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record every leak of this run in FILE, for --baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Repeat each test up to N times, until its first leak
    ///
    /// Repeat each test up to N times, stopping at its first leak (for
    /// hunting leaks that happen only under some interleavings).
    #[arg(long, value_name = "N")]
    pub until_leak: Option<u32>,

    /// Run each test again and again for DURATION, until it misbehaves
    ///
    /// Stress mode: each package's tests run again and again for up to
    /// DURATION (the package's budget), in --jobs processes at once and
    /// with varying GOMAXPROCS (kept as set when GOMAXPROCS is in the
    /// environment), until each test leaks, fails, hangs or crashes. Each
    /// find is reported with the runs and seconds it took, the settings
    /// of the run that found it, and a command that reproduces it.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub stress: Option<String>,

    /// Print `go test -json`-compatible events on stdout.
    #[arg(long)]
    pub json: bool,

    /// Write the structured JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write a JUnit XML report to FILE
    ///
    /// Write a JUnit XML report to FILE (one testsuite per package, one
    /// testcase per top-level test; leaks, hangs and crashes are failures).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// GitHub Actions annotations at each leak's creation line
    ///
    /// GitHub Actions error annotations at each leak's creation line:
    /// `auto` prints them when GITHUB_ACTIONS=true.
    #[arg(long, value_enum, default_value_t = AnnotationsChoice::Auto, value_name = "KIND")]
    pub annotations: AnnotationsChoice,

    /// Colour the output: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Run shard M of N of the packages (count:M/N or hash:M/N)
    ///
    /// Run one shard of the packages: `count:M/N` deals the sorted package
    /// list round-robin to N shards, `hash:M/N` shards by a stable hash of
    /// the import path. M is 1-based.
    #[arg(long, value_name = "KIND:M/N")]
    pub partition: Option<String>,

    /// Packages built and run at once [default: number of CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// In crowded processes, judge tests with later dumps (the default)
    ///
    /// In a crowded test process (1,000 goroutines or more, Go 1.26+), do
    /// not dump every goroutine at each test's start and end: judge the
    /// tests with a few later dumps, telling their goroutines apart by
    /// their labels, until a goroutine without a label needs exact
    /// creation windows. The default.
    #[arg(long, overrides_with = "no_defer_checks", hide_short_help = true)]
    pub defer_checks: bool,

    /// Dump at every test's start and end, even in crowded processes
    ///
    /// Dump every goroutine at each test's start and end even in a crowded
    /// process: exact creation windows for goroutines without a test's
    /// label from the first one on, and a verdict for every test that
    /// ended before a crash; tens of milliseconds a test there.
    #[arg(long, overrides_with = "defer_checks")]
    pub no_defer_checks: bool,

    /// Trace creation chains: name each leak's origin in your module
    ///
    /// Run test binaries with GODEBUG=tracebackancestors=5 (added to your
    /// GODEBUG unless it sets tracebackancestors): each goroutine in a
    /// dump then carries its creators' stacks at their `go` statements,
    /// and each leak group names its origin (the innermost line of the
    /// chain in your module: where a Close or Wait is usually missing) and
    /// via (the test's own line that led to it). Costs: every `go`
    /// statement copies its creator's stack (10-25% slower tests,
    /// measured in bench/RESULTS.md), so it is off by default; `chains =
    /// true` in leakcheck.toml turns it on.
    #[arg(long, overrides_with = "no_chains")]
    pub chains: bool,

    /// No creation chains (the default; overrides `chains = true` in
    /// leakcheck.toml)
    #[arg(long, overrides_with = "chains", hide_short_help = true)]
    pub no_chains: bool,

    /// Build into a temporary directory, not the kept build directory
    ///
    /// Build test binaries into a temporary directory instead of the
    /// kept build directory (under $LEAKCHECK_CACHE_DIR, else the user's
    /// cache directory), where binaries of unchanged packages are reused
    /// instead of linked again.
    #[arg(long)]
    pub no_build_cache: bool,

    /// Run as if started in DIR.
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Verbose: all test output, and every leaked goroutine's full stack.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Packages to test (as `go test` takes them).
    #[arg(value_name = "PACKAGES")]
    pub packages: Vec<String>,

    /// Arguments for `go test`, after `--`.
    #[arg(last = true, value_name = "GO_TEST_ARGS")]
    pub go_test_args: Vec<String>,
}

/// `--annotations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnnotationsChoice {
    /// GitHub annotations when the GITHUB_ACTIONS environment variable is
    /// `true`.
    Auto,
    /// GitHub Actions workflow commands (`::error file=...,line=...::`).
    Github,
    /// No annotations.
    None,
}

impl AnnotationsChoice {
    /// Whether to print GitHub annotations, given `GITHUB_ACTIONS`.
    pub fn github(self, github_actions: Option<&str>) -> bool {
        match self {
            AnnotationsChoice::Auto => github_actions == Some("true"),
            AnnotationsChoice::Github => true,
            AnnotationsChoice::None => false,
        }
    }
}

/// `leakcheck merge-reports`: merges the `--report` files of shards.
#[derive(Debug, Parser)]
#[command(
    name = "merge-reports",
    bin_name = "leakcheck merge-reports",
    version,
    about = "Merge the --report files of shards (--partition) into one report",
    after_help = "Fails (exit 2) when an input cannot be read or is not a leakcheck report, \
when two inputs hold the same package, or when they come from different Go versions. \
Otherwise exits as the merged run would have: 0 if everything passed, 1 if a test \
failed or leaked, 2 if a package failed to build."
)]
pub struct MergeCli {
    /// Also write the merged run as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// The merged report to write (never one of the inputs).
    #[arg(short = 'o', long = "output", value_name = "OUT.json", required = true)]
    pub out: PathBuf,

    /// The shards' reports.
    #[arg(value_name = "IN.json", required = true)]
    pub inputs: Vec<PathBuf>,
}

/// The `--ignore-*` rules in command-line order, each `--ignore-state`
/// applying to the rule just before it.
fn ignore_rules_from(matches: &clap::ArgMatches) -> Result<Vec<IgnoreRule>, Error> {
    let mut items: Vec<(usize, Option<RuleKind>, String)> = Vec::new();
    for (id, kind) in [
        ("ignore_top", Some(RuleKind::Top)),
        ("ignore_any", Some(RuleKind::Any)),
        ("ignore_created_by", Some(RuleKind::CreatedBy)),
        ("ignore_state", None),
    ] {
        if let (Some(idx), Some(vals)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            for (i, v) in idx.zip(vals) {
                items.push((i, kind.clone(), v.clone()));
            }
        }
    }
    items.sort_by_key(|(i, _, _)| *i);
    let mut rules: Vec<IgnoreRule> = Vec::new();
    let mut last_had_state = true;
    for (_, kind, value) in items {
        match kind {
            Some(kind) => {
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(Error::Usage(format!("{value:?} is not a Go function name")));
                }
                rules.push(IgnoreRule::new(kind, value));
                last_had_state = false;
            }
            None => {
                if last_had_state {
                    return Err(Error::Usage(format!(
                        "--ignore-state {value:?} must follow an --ignore-top, --ignore-any or --ignore-created-by rule"
                    )));
                }
                if let Some(r) = rules.last_mut() {
                    r.state = Some(value);
                }
                last_had_state = true;
            }
        }
    }
    Ok(rules)
}

impl Cli {
    /// Turns the parsed command line (and the config file) into run
    /// options, checking every value before anything is built.
    pub fn options(&self) -> Result<RunOptions, Error> {
        self.options_with_rules(Vec::new()).map(|(o, _)| o)
    }

    /// The effective settings: leakcheck.toml (or --config) under the
    /// command line.
    pub fn settings(&self, dir: &Path, rules: Vec<IgnoreRule>) -> Result<Settings, Error> {
        let duration = |flag: &str,
                        v: &Option<String>|
         -> Result<Option<std::time::Duration>, Error> {
            v.as_deref()
                .map(|v| parse_go_duration(v).map_err(|e| Error::Usage(format!("--{flag}: {e}"))))
                .transpose()
        };
        let mut go_test_args: Vec<String> = self.packages.clone();
        go_test_args.extend(self.go_test_args.iter().cloned());
        let cli = CommandLine {
            grace: duration("grace", &self.grace)?,
            test_timeout: duration("test-timeout", &self.test_timeout)?
                .map(|d| (!d.is_zero()).then_some(d)),
            go_test_args,
            no_default_ignores: self.no_default_ignores,
            chains: if self.chains {
                Some(true)
            } else if self.no_chains {
                Some(false)
            } else {
                None
            },
            ignore: rules,
            checks: self.check.clone(),
            heap_threshold: self
                .heap_threshold
                .as_deref()
                .map(crate::detect::resources::parse_size)
                .transpose()
                .map_err(|e| Error::Usage(format!("--heap-threshold: {e}")))?,
        };
        let config = self.config.as_ref().map(|c| dir.join(c));
        Settings::load(dir, config.as_deref(), &cli)
    }

    fn options_with_rules(&self, rules: Vec<IgnoreRule>) -> Result<(RunOptions, Settings), Error> {
        let cwd0 =
            std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
        let dir0 = self.dir.as_ref().map_or(cwd0.clone(), |d| cwd0.join(d));
        check_dir(&dir0)?;
        let settings = self.settings(&dir0, rules)?;
        let grace = settings.grace.0;
        let goflags = std::env::var("GOFLAGS").ok();
        let go_args = GoTestArgs::parse_with_goflags(&settings.go_test_args.0, goflags.as_deref())?;
        let cwd =
            std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
        let dir = match &self.dir {
            Some(d) => {
                let d = cwd.join(d);
                check_dir(&d)?;
                d
            }
            None => cwd,
        };
        if self.jobs == Some(0) {
            return Err(Error::Usage("--jobs must be at least 1".into()));
        }
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let test_timeout = settings.test_timeout.0;
        if self.until_leak == Some(0) {
            return Err(Error::Usage("--until-leak must be at least 1".into()));
        }
        let stress = match &self.stress {
            Some(text) => {
                let budget = crate::stress::parse_budget(text).map_err(Error::Usage)?;
                if self.until_leak.is_some() {
                    return Err(Error::Usage(
                        "--stress and --until-leak cannot be used together: --stress repeats each test until it misbehaves".into(),
                    ));
                }
                if go_args.cover {
                    return Err(Error::Usage(
                        "--stress does not take coverage flags: its processes run at once and would share a profile".into(),
                    ));
                }
                Some(crate::stress::StressOptions {
                    budget,
                    pinned_gomaxprocs: crate::stress::gomaxprocs_from_env(
                        std::env::var("GOMAXPROCS").ok().as_deref(),
                    ),
                })
            }
            None => None,
        };
        let partition = match &self.partition {
            Some(spec) => Some(
                spec.parse::<Partition>()
                    .map_err(|e| Error::Usage(format!("--partition: {e}")))?,
            ),
            None => None,
        };
        let baseline = match &self.baseline {
            Some(p) => Some(Baseline::read(&dir.join(p))?),
            None => None,
        };
        let opts = RunOptions {
            dir,
            verbose: self.verbose || go_args.shows_all_output(),
            go_args,
            grace,
            jobs,
            ignore: settings.ignore_rules(),
            test_timeout,
            until_leak: self.until_leak,
            cache_dir: None,
            partition,
            baseline,
            keep_builds: (!self.no_build_cache).then(crate::cache::user_dir),
            defer_checks: !self.no_defer_checks,
            chains: settings.chains.0,
            stress,
            resources: settings.checks.0,
        };
        Ok((opts, settings))
    }
}

/// Runs leakcheck with `args` (program name first), printing to stdout and
/// stderr, and returns the exit code.
pub fn main_with(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    let inspect = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| crate::inspect::command::SUBCOMMANDS.contains(a));
    if let Some(name) = inspect {
        let name = name.to_string();
        return match crate::inspect::command::parse_args(&name, args.into_iter().skip(2)) {
            Ok(command) => finish(crate::inspect::command::run(&command)),
            Err(e) => clap_exit(e),
        };
    }
    if args.get(1).is_some_and(|a| a == "merge-reports") {
        let rest = std::iter::once(OsString::from("leakcheck merge-reports"))
            .chain(args.into_iter().skip(2));
        return match MergeCli::try_parse_from(rest) {
            Ok(cli) => finish(run_merge(&cli)),
            Err(e) => clap_exit(e),
        };
    }
    let config_only = args.get(1).is_some_and(|a| a == "config");
    let args: Vec<OsString> = if config_only {
        std::iter::once(OsString::from("leakcheck config"))
            .chain(args.into_iter().skip(2))
            .collect()
    } else {
        args
    };
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| (c, m)));
    match parsed {
        Ok((cli, matches)) => finish(ignore_rules_from(&matches).and_then(|rules| {
            if config_only {
                run_config(&cli, rules)
            } else {
                let code = run_cli(&cli, rules);
                crate::signals::remove_temp_dirs();
                code
            }
        })),
        Err(e) => clap_exit(e),
    }
}

/// `leakcheck config`: prints the effective configuration.
fn run_config(cli: &Cli, rules: Vec<IgnoreRule>) -> Result<i32, Error> {
    let (_, settings) = cli.options_with_rules(rules)?;
    print!("{}", settings.describe());
    Ok(0)
}

fn clap_exit(e: clap::Error) -> i32 {
    let _ = e.print();
    if e.use_stderr() {
        EXIT_ERROR
    } else {
        0
    }
}

fn finish(result: Result<i32, Error>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakcheck: {e}");
            e.exit_code()
        }
    }
}

fn run_merge(cli: &MergeCli) -> Result<i32, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    let outputs = [("-o", Some(&cli.out)), ("--junit", cli.junit.as_ref())];
    for (flag, path) in outputs {
        let Some(path) = path else { continue };
        if let Some(input) = cli.inputs.iter().find(|i| same_file(i, path)) {
            return Err(Error::Usage(format!(
                "merge-reports: {flag} {} is also an input ({}): it would be overwritten",
                path.display(),
                input.display()
            )));
        }
        crate::output::outfile::check_writable(&format!("merge-reports: {flag}"), path)?;
    }
    let merged =
        crate::output::merge::merge_files(&cli.out, &cli.inputs, cli.junit.as_deref(), &cwd)?;
    Ok(merged.exit_code())
}

/// Checks `-C DIR`'s directory.
fn check_dir(dir: &Path) -> Result<(), Error> {
    let why = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => "not a directory".to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such directory".to_string(),
        Err(e) => e.to_string(),
    };
    Err(Error::Usage(format!("-C {}: {why}", dir.display())))
}

/// Whether `a` and `b` name the same file (the same spelling, or the same
/// file once links are resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The repository root for annotations, as every spelling the report's
/// paths may use: `git rev-parse --show-toplevel` from `dir` (else `dir`),
/// its canonical form, and the same directory reached through `dir`'s own
/// spelling (`dir` may be under a symlink).
pub fn repository_roots(dir: &Path) -> Vec<PathBuf> {
    let top = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim_end_matches(['\n', '\r'])))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| dir.to_path_buf());
    let mut roots = vec![top.clone()];
    if let (Ok(ctop), Ok(cdir)) = (top.canonicalize(), dir.canonicalize()) {
        if let Ok(rel) = cdir.strip_prefix(&ctop) {
            let mut spelled = dir.to_path_buf();
            for _ in rel.components() {
                spelled.pop();
            }
            roots.push(spelled);
        }
        roots.push(ctop);
    }
    roots.dedup();
    roots
}

fn run_cli(cli: &Cli, rules: Vec<IgnoreRule>) -> Result<i32, Error> {
    let (opts, _) = cli.options_with_rules(rules)?;
    // Files the run ends with must be writable before it starts.
    if let Some(path) = &cli.report {
        crate::output::outfile::check_writable("--report", path)?;
    }
    if let Some(path) = &cli.junit {
        crate::output::outfile::check_writable("--junit", path)?;
    }
    if let Some(path) = &cli.write_baseline {
        crate::output::outfile::check_writable("--write-baseline", &opts.dir.join(path))?;
    }
    // Ctrl-C, SIGTERM, SIGHUP: stop, kill the builds and test binaries,
    // and still write what finished. A second signal exits at once.
    crate::signals::install();
    let json = cli.json || opts.go_args.json;
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let env = |name: &str| std::env::var(name).ok();
    let color = !json
        && should_color(
            cli.color,
            terminal,
            env("NO_COLOR").as_deref(),
            env("TERM").as_deref(),
        );
    let progress_on = !json
        && terminal
        && std::io::stderr().is_terminal()
        && env("TERM").as_deref() != Some("dumb");
    let github = cli.annotations.github(env("GITHUB_ACTIONS").as_deref());
    // Written in blocks, flushed by the reporter at each batch of events.
    let out = ColorWriter::new(
        std::io::BufWriter::with_capacity(64 << 10, stdout.lock()),
        color,
    );
    let mut reporter = if json {
        Reporter::json(out)
    } else {
        Reporter::human(out, opts.verbose, opts.dir.clone())
    };
    let mut progress = Progress::new(progress_on);
    // Under --stress, the display shows runs per second and the finds.
    let _status =
        (progress_on && opts.stress.is_some()).then(|| progress.follow(crate::stress::status_line));
    let mut outputs = OutputCollector::default();
    let keep_outputs = cli.junit.is_some();
    // With files to write, a closed stdout (`| head`) does not stop the
    // run: the files still get every package.
    let files = cli.report.is_some() || cli.junit.is_some();
    let mut output_error: Option<std::io::Error> = None;
    let result = run(&opts, &mut |event| {
        progress.observe(&event);
        if let (
            true,
            RunEvent::PackageEvents { events, .. } | RunEvent::PackageFinished { events, .. },
        ) = (keep_outputs, &event)
        {
            outputs.add(events);
        }
        if output_error.is_some() {
            return Ok(());
        }
        match progress.suspend(|| reporter.event(event)) {
            Err(e) if files => {
                output_error = Some(e);
                Ok(())
            }
            other => other,
        }
    });
    progress.clear();
    let report = result?;
    let mut code = report.exit_code();
    if let Some(e) = &output_error {
        eprintln!("leakcheck: writing output: {e}");
        code = code.max(EXIT_ERROR);
    }
    if !write_files(cli, &opts, &report, &outputs.outputs) {
        code = code.max(EXIT_ERROR);
    }
    let mut out = reporter.into_inner();
    for rule in &report.stale_rules {
        eprintln!(
            "leakcheck: warning: {rule} ignored no goroutine in this run (stale or misspelt?)"
        );
    }
    if !report.baseline_fixed.is_empty() {
        let mut text = String::from("\nFixed since the baseline (remove them from it, or rewrite it with --write-baseline):\n");
        for e in &report.baseline_fixed {
            text.push_str(&format!(
                "    {}.{}: created by {} in {}\n",
                e.package, e.test, e.created_by, e.file
            ));
        }
        let written = if json {
            std::io::stderr().write_all(text.as_bytes())
        } else {
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        if written.is_err() {
            code = code.max(EXIT_ERROR);
        }
    }
    if let Some(path) = &cli.write_baseline {
        let root = crate::config::module_root(&opts.dir).unwrap_or_else(|| opts.dir.clone());
        if let Err(e) = Baseline::from_report(&report, &root).write(&opts.dir.join(path)) {
            eprintln!("leakcheck: {e}");
            code = code.max(EXIT_ERROR);
        }
    }
    if github {
        let roots = repository_roots(&opts.dir);
        let lines: String = annotations(&report, &roots)
            .iter()
            .map(|a| a.command() + "\n")
            .collect();
        // GitHub reads workflow commands from stdout and stderr alike;
        // with --json, stdout stays a pure event stream.
        let written = if json {
            std::io::stderr().write_all(lines.as_bytes())
        } else {
            out.write_all(lines.as_bytes()).and_then(|()| out.flush())
        };
        if let Err(e) = written {
            eprintln!("leakcheck: writing annotations: {e}");
            code = code.max(EXIT_ERROR);
        }
    }
    if let (Err(e), None) = (out.flush(), &output_error) {
        eprintln!("leakcheck: writing output: {e}");
        code = code.max(EXIT_ERROR);
    }
    Ok(code)
}

/// Writes `--report` and `--junit`; false if one could not be written
/// (said on stderr).
fn write_files(cli: &Cli, opts: &RunOptions, report: &Report, outputs: &TestOutputs) -> bool {
    let mut ok = true;
    if let Some(path) = &cli.report {
        let text = serde_json::to_string_pretty(report).expect("report serializes") + "\n";
        if let Err(e) = crate::output::outfile::write_atomic("report", path, text.as_bytes()) {
            eprintln!("leakcheck: {e}");
            ok = false;
        }
    }
    if let Some(path) = &cli.junit {
        if let Err(e) = write_junit(path, report, &opts.dir, outputs) {
            eprintln!("leakcheck: {e}");
            ok = false;
        }
    }
    ok
}
