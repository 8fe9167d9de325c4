//! The command line: parsing it into [`RunOptions`] and the output
//! settings, and running. `main` stays a thin shell around [`main_with`].

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

use crate::duration::parse_go_duration;
use crate::error::{Error, EXIT_ERROR};
use crate::goargs::GoTestArgs;
use crate::ignore::IgnoreRules;
use crate::reporter::Reporter;
use crate::runner::{run, RunOptions};

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
When several apply, the highest wins.";

/// Find goroutines that outlive the Go test that started them.
#[derive(Debug, Parser)]
#[command(
    name = "leakcheck",
    version,
    about,
    after_help = AFTER_HELP,
    override_usage = "leakcheck [OPTIONS] [PACKAGES]... [-- GO_TEST_ARGS...]"
)]
pub struct Cli {
    /// How long a test's goroutines may outlive it before they count as
    /// leaked (Go duration: 500ms, 1s, 2m).
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub grace: String,

    /// A test still running after DURATION is declared hung: its goroutines
    /// are dumped, the binary killed, and the package's remaining tests
    /// resumed in a fresh process. `0` turns it off. `go test`'s own
    /// -timeout keeps its meaning for the whole binary.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub test_timeout: String,

    /// Repeat each test up to N times, stopping at its first leak (for
    /// hunting leaks that happen only under some interleavings).
    #[arg(long, value_name = "N")]
    pub until_leak: Option<u32>,

    /// Print `go test -json`-compatible events on stdout.
    #[arg(long)]
    pub json: bool,

    /// Write the structured JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Packages built and run at once [default: number of CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

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

impl Cli {
    /// Turns the parsed command line into run options, checking every
    /// value before anything is built.
    pub fn options(&self) -> Result<RunOptions, Error> {
        let grace =
            parse_go_duration(&self.grace).map_err(|e| Error::Usage(format!("--grace: {e}")))?;
        let mut all: Vec<String> = self.packages.clone();
        all.extend(self.go_test_args.iter().cloned());
        let go_args = GoTestArgs::parse(&all)?;
        let cwd =
            std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
        let dir = match &self.dir {
            Some(d) => {
                let d = cwd.join(d);
                if !d.is_dir() {
                    return Err(Error::Usage(format!(
                        "-C {}: no such directory",
                        d.display()
                    )));
                }
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
        let test_timeout = parse_go_duration(&self.test_timeout)
            .map_err(|e| Error::Usage(format!("--test-timeout: {e}")))?;
        if self.until_leak == Some(0) {
            return Err(Error::Usage("--until-leak must be at least 1".into()));
        }
        Ok(RunOptions {
            dir,
            verbose: self.verbose || go_args.verbose,
            go_args,
            grace,
            jobs,
            ignore: IgnoreRules::default(),
            test_timeout: (!test_timeout.is_zero()).then_some(test_timeout),
            until_leak: self.until_leak,
            cache_dir: None,
        })
    }
}

/// Runs leakcheck with `args` (program name first), printing to stdout and
/// stderr, and returns the exit code.
pub fn main_with(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { 0 };
        }
    };
    match run_cli(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakcheck: {e}");
            e.exit_code()
        }
    }
}

fn run_cli(cli: &Cli) -> Result<i32, Error> {
    let opts = cli.options()?;
    let json = cli.json || opts.go_args.json;
    let stdout = std::io::stdout().lock();
    let mut reporter = if json {
        Reporter::Json { out: stdout }
    } else {
        Reporter::Human {
            out: stdout,
            verbose: opts.verbose,
            base: opts.dir.clone(),
        }
    };
    let report = run(&opts, &mut |event| reporter.event(event))?;
    let mut code = report.exit_code();
    if let Some(path) = &cli.report {
        let text = serde_json::to_string_pretty(&report).expect("report serializes");
        if let Err(e) = fs::write(path, text + "\n") {
            eprintln!("leakcheck: writing report {}: {e}", path.display());
            code = code.max(EXIT_ERROR);
        }
    }
    let _ = reporter.into_inner().flush();
    Ok(code)
}
