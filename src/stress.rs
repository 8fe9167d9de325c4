//! Stress mode (`--stress DURATION`, issue #16), the pure part: this
//! module owns what a stress run varies from one process to the next (the
//! [`Schedule`] of GOMAXPROCS values), how many runs a process gets
//! ([`next_count`]), what the report says of each test ([`StressStats`],
//! [`StressSettings`]), the one command that reproduces a find
//! ([`repro_command`]), the budget's limits ([`parse_budget`]) and the
//! live status a terminal shows ([`status_line`]). No I/O: the driver that
//! builds nothing new and runs the processes is `runner/stress.rs`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::go::args::GoTestArgs;
use crate::go::cmd::shell_quote;

/// The longest budget `--stress` takes: a week.
pub const MAX_BUDGET: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long one process of a stress run should take, about: long enough
/// that starting it costs little, short enough that the settings change
/// often and a budget's end is not overrun by much.
pub const PROCESS_SECS: f64 = 0.5;

/// At most how many runs of each test one process gets (`-test.count`).
pub const MAX_COUNT: u32 = 500;

/// What `--stress` was given.
#[derive(Debug, Clone, PartialEq)]
pub struct StressOptions {
    /// Each package's budget.
    pub budget: Duration,
    /// GOMAXPROCS from leakcheck's environment: every process keeps it
    /// (no rotation), so that a reproduction command pins it.
    pub pinned_gomaxprocs: Option<u32>,
}

/// Parses `--stress DURATION`: more than zero, at most [`MAX_BUDGET`].
pub fn parse_budget(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse_go_duration(text).map_err(|e| format!("--stress: {e}"))?;
    if d.is_zero() {
        return Err(format!(
            "--stress: the budget must be more than 0s (got {text:?})"
        ));
    }
    if d > MAX_BUDGET {
        return Err(format!(
            "--stress: the budget is at most 168h (a week), got {text:?}"
        ));
    }
    Ok(d)
}

/// `GOMAXPROCS` from the environment, when it is a positive number (the
/// runtime ignores anything else).
pub fn gomaxprocs_from_env(value: Option<&str>) -> Option<u32> {
    value?.trim().parse::<u32>().ok().filter(|&n| n > 0)
}

/// The settings of one process of a stress run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StressSettings {
    /// `GOMAXPROCS` it ran with (`None`: the runtime's default, the CPU
    /// count).
    pub gomaxprocs: Option<u32>,
    /// How many processes of the package's test binary ran at once.
    pub processes: u32,
    /// Its `-test.count`: runs of each test in the process.
    pub count: u32,
    /// It ran the `-race` build of the test binary.
    #[serde(default)]
    pub race: bool,
}

impl StressSettings {
    /// The plain first run: one process, default GOMAXPROCS, once.
    pub fn plain() -> StressSettings {
        StressSettings {
            gomaxprocs: None,
            processes: 1,
            count: 1,
            race: false,
        }
    }

    /// In words: `GOMAXPROCS=2, 2 processes at once, -count=50`.
    pub fn describe(&self) -> String {
        let procs = match self.gomaxprocs {
            Some(n) => format!("GOMAXPROCS={n}"),
            None => "default GOMAXPROCS".to_string(),
        };
        let at_once = if self.processes == 1 {
            "1 process".to_string()
        } else {
            format!("{} processes at once", self.processes)
        };
        let race = if self.race { ", -race" } else { "" };
        format!("{procs}, {at_once}, -count={}{race}", self.count)
    }
}

/// What the report says of one test under `--stress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressStats {
    /// Runs of the test, all processes.
    pub runs: u64,
    /// Seconds from the package's start until it was found (or until the
    /// budget ran out).
    pub seconds: f64,
    /// The run that found its problem: run 1 (the plain run), the runs
    /// of every process that ended before the finding one, and the
    /// finding process's runs of it up to the one that misbehaved
    /// (`None`: never found). Processes run at once: a run counted
    /// before may have ended after.
    pub found_at_run: Option<u64>,
    /// The finding process's settings.
    pub settings: Option<StressSettings>,
    /// One command that runs it again the same way, until it misbehaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
}

/// Which GOMAXPROCS each next process gets, and whether it runs the
/// `-race` build: a fixed cycle of GOMAXPROCS values, so that every value
/// comes back often, weighted by what the rare fixtures showed (see
/// bench/RESULTS.md): values of 2 and more expose races between
/// goroutines running at once; above the CPU count, the runtime's threads
/// are preempted by the OS in the middle of a window; 1 serializes
/// goroutines, which is what a few bugs need (a goroutine that does not
/// run until another yields) and costs one slot in the cycle. Once the
/// `-race` build is there, every other process runs it (the race runtime
/// perturbs scheduling: on the rare fixtures it made a lost Signal 20
/// times as likely), with the cycle of GOMAXPROCS values of its own.
#[derive(Debug, Clone)]
pub struct Schedule {
    cycle: Vec<Option<u32>>,
    next: usize,
    next_race: usize,
    processes: usize,
}

/// What the next process runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub gomaxprocs: Option<u32>,
    pub race: bool,
}

impl Schedule {
    /// The cycle for `cpus` CPUs; with `pinned`, every process gets it.
    pub fn new(cpus: usize, pinned: Option<u32>) -> Schedule {
        let cycle = match pinned {
            Some(n) => vec![Some(n)],
            None => {
                let cpus = cpus.max(1) as u32;
                let mut c = vec![
                    Some(cpus.max(2)),
                    Some(cpus * 2),
                    Some(2),
                    Some(cpus * 4),
                    Some(cpus.max(2)),
                    Some(1),
                ];
                if cpus > 2 {
                    c.push(Some(cpus * 2));
                }
                c
            }
        };
        Schedule {
            cycle,
            next: 0,
            next_race: 0,
            processes: 0,
        }
    }

    /// The next process's variant; `race_ready`: the `-race` build is
    /// there.
    pub fn next(&mut self, race_ready: bool) -> Variant {
        self.processes += 1;
        let race = race_ready && self.processes % 2 == 0;
        let at = if race {
            &mut self.next_race
        } else {
            &mut self.next
        };
        let g = self.cycle[*at % self.cycle.len()];
        *at += 1;
        Variant {
            gomaxprocs: g,
            race,
        }
    }

    /// Every value the cycle holds, once each, in order.
    pub fn values(&self) -> Vec<Option<u32>> {
        let mut v: Vec<Option<u32>> = Vec::new();
        for g in &self.cycle {
            if !v.contains(g) {
                v.push(*g);
            }
        }
        v
    }
}

/// `-test.count` for the next process: about [`PROCESS_SECS`] of work at
/// `secs_per_run` seconds a run (process start included) for `tests`
/// tests, no more than half of what is left of the budget, between 1 and
/// [`MAX_COUNT`].
pub fn next_count(secs_per_run: f64, tests: usize, remaining: Duration) -> u32 {
    if !secs_per_run.is_finite() {
        return 1;
    }
    let target = PROCESS_SECS.min(remaining.as_secs_f64() / 2.0);
    let per = secs_per_run.max(1e-6) * tests.max(1) as f64;
    let n = (target / per).floor();
    if n.is_nan() || n < 1.0 {
        1
    } else {
        (n as u32).clamp(1, MAX_COUNT)
    }
}

/// The most runs a process may do so that it ends within `remaining`
/// even if every run leaks: a leaking run waits up to the grace period
/// for its goroutines (unless the runtime proves them leaked sooner). A
/// test that leaks from its second run on would otherwise keep a process
/// of hundreds of runs going for minutes after the budget.
pub fn count_within_budget(remaining: Duration, grace: Duration) -> u32 {
    if grace.is_zero() {
        return MAX_COUNT;
    }
    let n = (remaining.as_secs_f64() / grace.as_secs_f64()).floor();
    if n.is_nan() || n < 1.0 {
        1
    } else {
        n.min(f64::from(MAX_COUNT)) as u32
    }
}

/// The user's `go test` arguments for a command that reruns one test: the
/// build flags, the test flags but `-run` and `-count` (spelt as `go test`
/// takes them), and `-args` with what followed it.
fn user_go_args(args: &GoTestArgs) -> Vec<String> {
    let mut out: Vec<String> = args.build_flags.clone();
    for f in &args.test_flags {
        let Some(flag) = f.strip_prefix("-test.") else {
            continue;
        };
        if ["run=", "count=", "v=test2json"]
            .iter()
            .any(|p| flag.starts_with(p))
        {
            continue;
        }
        out.push(format!("-{flag}"));
    }
    if !args.args.is_empty() {
        out.push("-args".to_string());
        out.extend(args.args.iter().cloned());
    }
    out
}

/// What a reproduction command needs to know.
pub struct Repro<'a> {
    /// The directory leakcheck ran in (`-C`).
    pub dir: &'a Path,
    pub package: &'a str,
    pub test: &'a str,
    pub go_args: &'a GoTestArgs,
    /// leakcheck options that change verdicts, as given (`--grace 2s`).
    pub options: &'a [String],
}

/// One shell command that runs the test again as it was found: a find of
/// the plain first run is one `leakcheck` of the test alone; a stress
/// find is `--stress` on the test alone with the finding process's
/// GOMAXPROCS pinned in the environment, as many processes at once, and a
/// budget of five times what finding it took (at least 30s); it stops at
/// the first find, so a generous budget costs nothing when it reproduces.
pub fn repro_command(r: &Repro<'_>, found: Option<(&StressSettings, f64)>) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some((s, _)) = found {
        if let Some(g) = s.gomaxprocs {
            words.push(format!("GOMAXPROCS={g}"));
        }
    }
    words.push("leakcheck".to_string());
    let mut go_args: Vec<String> = Vec::new();
    if let Some((s, seconds)) = found {
        if s.race && !r.go_args.build_flags.iter().any(|f| f == "-race") {
            go_args.push("-race".to_string());
        }
        let budget = (seconds * 5.0).ceil().max(30.0) as u64;
        words.push("--stress".to_string());
        words.push(crate::duration::format_go_duration(Duration::from_secs(
            budget,
        )));
        words.push("-j".to_string());
        words.push(s.processes.to_string());
    }
    words.extend(r.options.iter().cloned());
    words.push("-C".to_string());
    words.push(r.dir.display().to_string());
    words.push(r.package.to_string());
    words.push("--".to_string());
    words.push("-run".to_string());
    words.push(format!("^{}$", regex::escape(r.test)));
    words.extend(go_args);
    words.extend(user_go_args(r.go_args));
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            // The environment assignment stays unquoted.
            if i == 0 && w.starts_with("GOMAXPROCS=") {
                w.clone()
            } else {
                shell_quote(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a terminal shows of the stress run in progress.
#[derive(Debug)]
struct Status {
    package: String,
    started: Instant,
    runs: u64,
    found: Vec<String>,
}

static STATUS: Mutex<Option<Status>> = Mutex::new(None);

/// A package's stress run starts.
pub(crate) fn status_start(package: &str) {
    if let Ok(mut s) = STATUS.lock() {
        *s = Some(Status {
            package: package.to_string(),
            started: Instant::now(),
            runs: 0,
            found: Vec::new(),
        });
    }
}

/// `runs` more runs ended; `found` names what they found.
pub(crate) fn status_add(runs: u64, found: &[String]) {
    if let Ok(mut s) = STATUS.lock() {
        if let Some(s) = s.as_mut() {
            s.runs += runs;
            s.found.extend(found.iter().cloned());
        }
    }
}

/// The status line of the stress run in progress, if one is.
pub fn status_line() -> Option<String> {
    let s = STATUS.lock().ok()?;
    let s = s.as_ref()?;
    Some(format_status(
        &s.package,
        s.runs,
        s.started.elapsed(),
        &s.found,
    ))
}

/// `stress pkg: 1234 runs, 617/s; found: TestA (leak), TestB (hang)`.
pub fn format_status(package: &str, runs: u64, elapsed: Duration, found: &[String]) -> String {
    let rate = runs as f64 / elapsed.as_secs_f64().max(1e-3);
    let found = if found.is_empty() {
        "nothing found yet".to_string()
    } else {
        format!("found: {}", found.join(", "))
    };
    format!("stress {package}: {runs} runs, {rate:.0}/s; {found}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_positive_and_at_most_a_week() {
        assert_eq!(parse_budget("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_budget("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_budget("168h"), Ok(MAX_BUDGET));
        for bad in ["0", "0s", "169h", "99999h", "-1s", "abc", ""] {
            let e = parse_budget(bad).unwrap_err();
            assert!(e.starts_with("--stress: "), "{bad}: {e}");
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn gomaxprocs_from_the_environment_only_when_a_positive_number() {
        assert_eq!(gomaxprocs_from_env(Some("4")), Some(4));
        assert_eq!(gomaxprocs_from_env(Some(" 1 ")), Some(1));
        assert_eq!(gomaxprocs_from_env(Some("0")), None);
        assert_eq!(gomaxprocs_from_env(Some("x")), None);
        assert_eq!(gomaxprocs_from_env(None), None);
    }

    #[test]
    fn the_schedule_cycles_through_one_two_the_cpus_and_above() {
        let mut s = Schedule::new(2, None);
        let first: Vec<Option<u32>> = (0..6).map(|_| s.next(false).gomaxprocs).collect();
        assert_eq!(
            first,
            [Some(2), Some(4), Some(2), Some(8), Some(2), Some(1)]
        );
        // And again, in the same order.
        let again: Vec<Option<u32>> = (0..6).map(|_| s.next(false).gomaxprocs).collect();
        assert_eq!(first, again);
        assert_eq!(s.values(), [Some(2), Some(4), Some(8), Some(1)]);
        let s8 = Schedule::new(8, None);
        assert_eq!(s8.values(), [Some(8), Some(16), Some(2), Some(32), Some(1)]);
        // One CPU: still 2 and more, to run goroutines at once.
        assert!(Schedule::new(1, None).values().contains(&Some(2)));
    }

    #[test]
    fn a_pinned_gomaxprocs_is_all_the_schedule_gives() {
        let mut s = Schedule::new(8, Some(3));
        assert!((0..10).all(|_| s.next(false).gomaxprocs == Some(3)));
        assert!((0..10).all(|_| s.next(true).gomaxprocs == Some(3)));
    }

    #[test]
    fn once_the_race_build_is_there_every_other_process_runs_it_through_the_whole_cycle() {
        let mut s = Schedule::new(2, None);
        assert!(!s.next(false).race);
        let v: Vec<Variant> = (0..24).map(|_| s.next(true)).collect();
        let race: Vec<Option<u32>> = v.iter().filter(|v| v.race).map(|v| v.gomaxprocs).collect();
        let plain: Vec<Option<u32>> = v.iter().filter(|v| !v.race).map(|v| v.gomaxprocs).collect();
        assert_eq!(race.len(), 12);
        // Each kind goes through every value.
        for g in s.values() {
            assert!(race.contains(&g) && plain.contains(&g), "{g:?}");
        }
        assert!(v.windows(2).all(|w| w[0].race != w[1].race));
    }

    #[test]
    fn counts_aim_at_half_a_second_a_process_within_the_budget() {
        let long = Duration::from_secs(60);
        // 1 ms a run, 5 tests: 100 runs each.
        assert_eq!(next_count(0.001, 5, long), 100);
        // Very fast runs: capped.
        assert_eq!(next_count(1e-7, 1, long), MAX_COUNT);
        // Slow runs: at least one.
        assert_eq!(next_count(3.0, 2, long), 1);
        // Little budget left: half of it.
        assert_eq!(next_count(0.001, 1, Duration::from_millis(100)), 50);
        assert_eq!(next_count(0.001, 1, Duration::ZERO), 1);
        assert_eq!(next_count(f64::NAN, 1, long), 1);
        let s = Duration::from_secs;
        assert_eq!(count_within_budget(s(10), s(1)), 10);
        assert_eq!(count_within_budget(s(10), Duration::from_millis(300)), 33);
        assert_eq!(count_within_budget(Duration::ZERO, s(1)), 1);
        assert_eq!(count_within_budget(s(3600), s(1)), MAX_COUNT);
        assert_eq!(count_within_budget(s(10), Duration::ZERO), MAX_COUNT);
    }

    #[test]
    fn settings_in_words() {
        let mut s = StressSettings {
            gomaxprocs: Some(4),
            processes: 2,
            count: 50,
            race: false,
        };
        assert_eq!(s.describe(), "GOMAXPROCS=4, 2 processes at once, -count=50");
        s.race = true;
        assert_eq!(
            s.describe(),
            "GOMAXPROCS=4, 2 processes at once, -count=50, -race"
        );
        assert_eq!(
            StressSettings::plain().describe(),
            "default GOMAXPROCS, 1 process, -count=1"
        );
    }

    fn go_args(args: &[&str]) -> GoTestArgs {
        GoTestArgs::parse(args).unwrap()
    }

    #[test]
    fn a_stress_find_is_reproduced_by_stress_on_the_test_alone_with_its_settings() {
        let args = go_args(&["-tags", "rare", "-run", "Rare", "-count", "3", "-short"]);
        let r = Repro {
            dir: Path::new("/src/my mod"),
            package: "example.com/m/q",
            test: "TestRace",
            go_args: &args,
            options: &["--grace".to_string(), "2s".to_string()],
        };
        let mut s = StressSettings {
            gomaxprocs: Some(4),
            processes: 2,
            count: 80,
            race: false,
        };
        assert_eq!(
            repro_command(&r, Some((&s, 3.2))),
            "GOMAXPROCS=4 leakcheck --stress 30s -j 2 --grace 2s -C '/src/my mod' example.com/m/q -- -run '^TestRace$' -tags=rare -short"
        );
        // Found by a -race process: the command builds with -race.
        s.race = true;
        assert!(repro_command(&r, Some((&s, 3.2))).contains(" -- -run '^TestRace$' -race "));
        s.race = false;
        // A longer find: five times as long.
        assert!(repro_command(&r, Some((&s, 60.0))).contains("--stress 5m0s "));
        // Found by the plain first run: the test alone, once.
        let plain = repro_command(&r, None);
        assert!(plain.starts_with("leakcheck --grace 2s -C "), "{plain}");
        assert!(!plain.contains("GOMAXPROCS") && !plain.contains("--stress"));
        assert!(
            !plain.contains("-count") && !plain.contains("Rare'"),
            "{plain}"
        );
    }

    #[test]
    fn quoting_for_the_shell() {
        assert_eq!(shell_quote("abc-1.2/x=y"), "abc-1.2/x=y");
        assert_eq!(shell_quote("^TestX$"), "'^TestX$'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_status_line_counts_runs_per_second_and_names_the_finds() {
        let line = format_status("m/p", 1000, Duration::from_secs(4), &[]);
        assert_eq!(line, "stress m/p: 1000 runs, 250/s; nothing found yet");
        let line = format_status(
            "m/p",
            10,
            Duration::from_secs(10),
            &["TestA (leak at run 7)".to_string()],
        );
        assert_eq!(
            line,
            "stress m/p: 10 runs, 1/s; found: TestA (leak at run 7)"
        );
    }
}
