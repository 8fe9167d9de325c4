//! The `inspect`, `diff` and `watch` command lines: parsing them (clap),
//! and running each stage in turn (read, group, print) with the exit
//! codes documented in [`crate::inspect`]. `crate::cli` hands over the
//! arguments when the first one names a subcommand here.

use std::ffi::OsString;
use std::io::Write;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::duration::parse_go_duration;
use crate::error::{Error, EXIT_OK, EXIT_TESTS_FAILED};

use super::group::{compared_groups, diff, group, rising};
use super::print;
use super::source::{load, Http, Source};

/// The subcommands this module runs.
pub const SUBCOMMANDS: [&str; 3] = ["inspect", "diff", "watch"];

const SOURCE_HELP: &str = "\
SOURCE is a file, `-` for standard input, or the http(s) URL of a pprof
endpoint (`http://host:6060` means /debug/pprof/goroutine there; debug=2 is
fetched, debug=1 when that fails; a URL that sets debug= is used as is).
Files and standard input may hold debug=2 text, debug=1 text, a panic or
SIGQUIT dump, the goroutineleak profile, or a gzipped protobuf (debug=0).
Input that is none of these (empty, HTML, truncated, corrupt), an endpoint
that answers an error or nothing: one line on stderr, exit 2.";

/// Group a goroutine dump's goroutines by state, blocking frame and
/// creation site.
#[derive(Debug, Parser)]
#[command(
    name = "inspect",
    bin_name = "leakcheck inspect",
    version,
    after_help = format!("{SOURCE_HELP}\n\nExit codes: 0 shown; 1 a group has goroutines blocked at least --older-than; 2 bad input.")
)]
pub struct InspectCli {
    /// A dump file, `-`, or a pprof URL.
    #[arg(value_name = "SOURCE")]
    pub source: String,

    /// Print JSON (see the README).
    #[arg(long)]
    pub json: bool,

    /// Flag goroutines blocked at least DURATION (Go duration: 10m, 1h);
    /// the runtime counts whole minutes.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,

    /// Give up on an endpoint after DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
}

/// Compare two goroutine dumps: the groups that grew, by how many.
#[derive(Debug, Parser)]
#[command(
    name = "diff",
    bin_name = "leakcheck diff",
    version,
    after_help = format!("{SOURCE_HELP}\n\nExit codes: 0 no group grew by more than --threshold; 1 one did; 2 bad input.")
)]
pub struct DiffCli {
    /// The earlier dump: a file, `-`, or a pprof URL.
    #[arg(value_name = "BEFORE")]
    pub before: String,

    /// The later dump: a file, `-`, or a pprof URL.
    #[arg(value_name = "AFTER")]
    pub after: String,

    /// Print JSON (see the README).
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 1) when a group grew by more than N goroutines.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threshold: usize,

    /// Give up on an endpoint after DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
}

/// Sample a pprof endpoint and report the goroutine groups that rise and
/// never fall.
#[derive(Debug, Parser)]
#[command(
    name = "watch",
    bin_name = "leakcheck watch",
    version,
    after_help = "One line per sample goes to stderr as it is taken; the groups that rose \
(never lower than in the sample before, higher in the last than in the first) to stdout \
at the end.\n\nExit codes: 0 none rose; 1 a group rose; 2 bad input or an endpoint that \
failed (a failed sample ends the watch)."
)]
pub struct WatchCli {
    /// The pprof endpoint (see `leakcheck inspect --help`).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Time between samples.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub every: String,

    /// How long to watch: samples are taken at 0, --every, 2×--every, ...
    /// up to this.
    #[arg(long = "for", value_name = "DURATION", default_value = "5m")]
    pub span: String,

    /// Print the result as JSON (see the README).
    #[arg(long)]
    pub json: bool,

    /// Give up on one sample after DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
}

/// A parsed subcommand.
#[derive(Debug)]
pub enum Command {
    Inspect(InspectCli),
    Diff(DiffCli),
    Watch(WatchCli),
}

/// Parses the arguments after the subcommand's name.
pub fn parse_args(
    name: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Command, clap::Error> {
    let argv = std::iter::once(OsString::from(format!("leakcheck {name}"))).chain(args);
    match name {
        "inspect" => InspectCli::try_parse_from(argv).map(Command::Inspect),
        "diff" => DiffCli::try_parse_from(argv).map(Command::Diff),
        _ => WatchCli::try_parse_from(argv).map(Command::Watch),
    }
}

fn duration(flag: &str, value: &str) -> Result<Duration, Error> {
    parse_go_duration(value).map_err(|e| Error::Usage(format!("--{flag}: {e}")))
}

fn positive(flag: &str, value: &str) -> Result<Duration, Error> {
    let d = duration(flag, value)?;
    if d.is_zero() {
        return Err(Error::Usage(format!("--{flag} must be more than 0")));
    }
    Ok(d)
}

/// A write's result: a reader that stopped reading (`| head`) is not an
/// error, as for any command whose output is cut short.
fn written(r: std::io::Result<()>) -> Result<(), Error> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| Error::io("writing output", e)),
    }
}

/// Runs a parsed subcommand, printing to stdout (and, for `watch`, each
/// sample to stderr); returns the exit code.
pub fn run(command: &Command) -> Result<i32, Error> {
    match command {
        Command::Inspect(cli) => run_inspect(cli),
        Command::Diff(cli) => run_diff(cli),
        Command::Watch(cli) => run_watch(cli),
    }
}

fn run_inspect(cli: &InspectCli) -> Result<i32, Error> {
    let older_than = cli
        .older_than
        .as_deref()
        .map(|v| duration("older-than", v))
        .transpose()?;
    let http = Http::new(positive("timeout", &cli.timeout)?);
    let source = Source::from_arg(&cli.source);
    let dump = load(&source, &http)?;
    let groups = group(&dump, older_than);
    let mut out = std::io::stdout().lock();
    written(if cli.json {
        print::write_json(&mut out, &print::inspect_json(&dump, &groups, older_than))
    } else {
        print::write_inspect(&mut out, &source.name(), &dump, &groups, older_than)
    })?;
    written(out.flush())?;
    let old = older_than.is_some() && groups.iter().any(|g| g.older > 0);
    Ok(if old { EXIT_TESTS_FAILED } else { EXIT_OK })
}

fn run_diff(cli: &DiffCli) -> Result<i32, Error> {
    if cli.before == "-" && cli.after == "-" {
        return Err(Error::Usage(
            "diff: only one of BEFORE and AFTER can be standard input (-)".into(),
        ));
    }
    let http = Http::new(positive("timeout", &cli.timeout)?);
    let before = load(&Source::from_arg(&cli.before), &http)?;
    let after = load(&Source::from_arg(&cli.after), &http)?;
    let changes = diff(&before, &after);
    let mut out = std::io::stdout().lock();
    written(if cli.json {
        print::write_json(
            &mut out,
            &print::diff_json(&before, &after, &changes, cli.threshold),
        )
    } else {
        print::write_diff(&mut out, &before, &after, &changes, cli.threshold)
    })?;
    written(out.flush())?;
    let grew = changes.iter().any(|c| c.delta() > cli.threshold as i64);
    Ok(if grew { EXIT_TESTS_FAILED } else { EXIT_OK })
}

fn run_watch(cli: &WatchCli) -> Result<i32, Error> {
    let every = positive("every", &cli.every)?;
    let span = duration("for", &cli.span)?;
    if span < every {
        return Err(Error::Usage(format!(
            "--for {} is shorter than --every {}: no second sample",
            cli.span, cli.every
        )));
    }
    if !matches!(Source::from_arg(&cli.url), Source::Url(_)) {
        return Err(Error::Usage(format!(
            "watch: {:?} is not an http:// or https:// URL",
            cli.url
        )));
    }
    let http = Http::new(positive("timeout", &cli.timeout)?);
    let n = usize::try_from(span.as_nanos() / every.as_nanos()).unwrap_or(usize::MAX - 1) + 1;
    let start = Instant::now();
    let mut url: Option<String> = None;
    let mut samples = Vec::new();
    let mut totals = Vec::new();
    let mut states = true;
    let mut err = std::io::stderr().lock();
    for k in 0..n {
        let due = every.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let at = start.elapsed();
        let dump = match &url {
            None => {
                let (dump, used) = http.fetch(&cli.url)?;
                url = Some(used);
                dump
            }
            Some(u) => http.fetch_exact(u)?,
        };
        states &= dump.format.has_states();
        totals.push((at, dump.total()));
        samples.push(compared_groups(&dump));
        written(print::write_sample(
            &mut err,
            k + 1,
            n,
            at,
            dump.total(),
            totals[0].1,
            &rising(&samples, states),
        ))?;
    }
    let trends = rising(&samples, states);
    let mut out = std::io::stdout().lock();
    let used = url.as_deref().unwrap_or(&cli.url);
    written(if cli.json {
        print::write_json(&mut out, &print::watch_json(used, &totals, &trends))
    } else {
        print::write_watch(&mut out, n, span, &trends)
    })?;
    written(out.flush())?;
    Ok(if trends.is_empty() {
        EXIT_OK
    } else {
        EXIT_TESTS_FAILED
    })
}
