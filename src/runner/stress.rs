//! Stress mode's driver (`--stress DURATION`): one package's test binary,
//! built once, run again and again until each test misbehaves or the
//! package's budget runs out. This module owns the loop and the merge of
//! what it found into the package's report and events; what varies from
//! one process to the next, the report's fields and the reproduction
//! command are [`crate::stress`]'s.
//!
//! - Run 1 is the plain run (`-test.count=1`, default GOMAXPROCS), whose
//!   events stream as usual: a test that misbehaves in it is found at run
//!   1, and the tests it passed are the ones in play.
//! - Then `--jobs` workers each start a process of the binary at a time,
//!   as golang.org/x/tools/cmd/stress does, with `-test.run` narrowed to
//!   the tests still in play, a `-test.count` sized to about half a second
//!   of work ([`crate::stress::next_count`]) and the next GOMAXPROCS of the
//!   [`Schedule`]. Each process is judged by the same comparator, through
//!   [`PackageContext::run_binary`] (hangs and crashes resume as usual).
//! - A test that leaked, failed, hung or crashed leaves play; its verdict,
//!   events and `--- LEAK`/`HANG`/`CRASH` block are the finding process's.
//!   A process that fails outside its tests (a `TestMain` that fails)
//!   stops the package's stress: that failure is reported, never dropped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::go::args::GoTestArgs;
use crate::go::cmd::GoPackage;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, PackageReport, TestOutcome, TestReport};
use crate::stress::{
    count_within_budget, next_count, repro_command, Repro, Schedule, StressSettings, StressStats,
};

use super::{final_event, interrupted, output_event, PackageContext, RunOptions};

/// A test's problem, found by a stress process.
struct Found {
    at_run: u64,
    seconds: f64,
    settings: StressSettings,
    report: TestReport,
    events: Vec<TestEvent>,
}

/// What the workers share.
struct Shared {
    in_play: Vec<String>,
    runs: HashMap<String, u64>,
    found: Vec<(String, Found)>,
    schedule: Schedule,
    /// Seconds a run takes (a moving average), of the plain build and of
    /// the `-race` build.
    secs_per_run: f64,
    secs_per_race_run: f64,
    /// The `-race` build of the test binary, once built.
    race_binary: Option<std::path::PathBuf>,
    /// Why there is no `-race` build (it failed, or the user's build is
    /// one already).
    race_missing: Option<String>,
    /// A process that failed outside its tests: its report and events.
    package_failure: Option<(PackageReport, Vec<TestEvent>)>,
}

/// The part of a `-run` pattern after its first level, as `go test`
/// splits it (at a `/` outside brackets and parentheses): `"A/b/c"` →
/// `Some("b/c")`.
fn subtest_levels(run: &str) -> Option<&str> {
    let (mut depth, mut escaped) = (0i32, false);
    for (i, c) in run.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            '/' if depth <= 0 => return Some(&run[i + 1..]),
            _ => {}
        }
    }
    None
}

/// The test flags of a stress process: the user's, with `-test.run`
/// narrowed to `tests` (at the top level; the user's subtest levels
/// kept), `-test.count` set to `count`, and no benchmarks.
fn stress_flags(args: &GoTestArgs, tests: &[String], count: u32) -> GoTestArgs {
    let mut a = args.clone();
    let levels = a
        .test_flags
        .iter()
        .rev()
        .find_map(|f| f.strip_prefix("-test.run="))
        .and_then(subtest_levels)
        .map(|l| format!("/{l}"))
        .unwrap_or_default();
    a.test_flags.retain(|f| {
        !f.starts_with("-test.run=")
            && !f.starts_with("-test.count=")
            && !f.starts_with("-test.bench=")
    });
    let names: Vec<String> = tests.iter().map(|t| regex::escape(t)).collect();
    a.test_flags
        .push(format!("-test.run=^({})${levels}", names.join("|")));
    a.test_flags.push(format!("-test.count={count}"));
    a.count = Some(count);
    a
}

/// Whether `event` belongs to top-level test `test` (or its subtests).
fn of_test(event: &TestEvent, test: &str) -> bool {
    event
        .test
        .as_deref()
        .is_some_and(|t| t == test || t.strip_prefix(test).is_some_and(|r| r.starts_with('/')))
}

/// The leakcheck options that change verdicts, for reproduction commands.
fn verdict_options(opts: &RunOptions) -> Vec<String> {
    let mut o = Vec::new();
    if opts.grace != Duration::from_secs(1) {
        o.push("--grace".to_string());
        o.push(crate::duration::format_go_duration(opts.grace));
    }
    match opts.test_timeout {
        Some(t) if t != Duration::from_secs(60) => {
            o.push("--test-timeout".to_string());
            o.push(crate::duration::format_go_duration(t));
        }
        None => {
            o.push("--test-timeout".to_string());
            o.push("0".to_string());
        }
        Some(_) => {}
    }
    o
}

/// Seconds a run took in a process of `wall` seconds that ran `report`'s
/// tests, its start included: sizing `-count` with it makes a process
/// take about [`crate::stress::PROCESS_SECS`] in all, start included.
/// (The tests' own times are no measure: `go test` gives them to 10 ms.)
fn seconds_per_run(report: &PackageReport, wall: f64) -> Option<f64> {
    let runs: u64 = report.tests.iter().map(|t| t.runs as u64).sum();
    (runs > 0).then(|| wall / runs as f64)
}

/// What a find is, in a word.
fn what(outcome: TestOutcome) -> &'static str {
    match outcome {
        TestOutcome::Leak => "leaked",
        TestOutcome::Hang => "hung",
        TestOutcome::Crash => "crashed",
        _ => "failed",
    }
}

/// Runs `pkg`'s tests under `--stress` (see the module doc).
pub(super) fn stress_package(
    ctx: &PackageContext<'_>,
    index: usize,
    pkg: &GoPackage,
    binary: &Path,
    sink: &dyn Fn(Vec<TestEvent>),
) -> (PackageReport, Vec<TestEvent>) {
    let Some(stress) = ctx.opts.stress.clone() else {
        return ctx.run_binary(index, pkg, binary, sink);
    };
    let started = Instant::now();
    let path = pkg.import_path.as_str();
    crate::stress::status_start(path);
    // Run 1: plain.
    let mut plain_opts = ctx.opts.clone();
    plain_opts.stress = None;
    plain_opts.until_leak = None;
    plain_opts
        .go_args
        .test_flags
        .retain(|f| !f.starts_with("-test.count="));
    plain_opts.go_args.count = None;
    let plain = PackageContext {
        opts: &plain_opts,
        ..*ctx
    };
    // The binary's PASS (or FAIL) line waits for the package's end: what
    // stress finds may make it FAIL, and it comes last, as under go test.
    let is_pass_line = |e: &TestEvent| {
        e.test.is_none()
            && e.action == "output"
            && matches!(e.output.as_deref(), Some("PASS\n" | "FAIL\n"))
    };
    let passed_line = std::sync::atomic::AtomicBool::new(false);
    let (mut report, mut first_events) = plain.run_binary(index, pkg, binary, &|events| {
        let before = events.len();
        let rest: Vec<TestEvent> = events.into_iter().filter(|e| !is_pass_line(e)).collect();
        if rest.len() != before {
            passed_line.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        sink(rest)
    });
    let first_seconds = started.elapsed().as_secs_f64();
    if passed_line.load(std::sync::atomic::Ordering::SeqCst) {
        let line = if report.outcome == PackageOutcome::Pass {
            "PASS\n"
        } else {
            "FAIL\n"
        };
        first_events.insert(0, output_event(path, None, line.to_string()));
    }
    if report.failed_outside_tests() || interrupted() {
        return (report, first_events);
    }
    let in_play: Vec<String> = report
        .tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Pass)
        .map(|t| t.name.clone())
        .collect();
    let first_found: Vec<String> = report
        .tests
        .iter()
        .filter(|t| t.outcome.is_failure())
        .map(|t| format!("{} ({} at run 1)", t.name, what(t.outcome)))
        .collect();
    crate::stress::status_add(report.tests.len() as u64, &first_found);
    let processes = ctx.opts.jobs.max(1);
    let shared = Mutex::new(Shared {
        in_play,
        runs: HashMap::new(),
        found: Vec::new(),
        schedule: Schedule::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            stress.pinned_gomaxprocs,
        ),
        secs_per_run: seconds_per_run(&report, first_seconds).unwrap_or(0.01),
        secs_per_race_run: 5.0 * seconds_per_run(&report, first_seconds).unwrap_or(0.01),
        race_binary: None,
        race_missing: ctx
            .build_flags
            .iter()
            .any(|f| f == "-race")
            .then(|| "the build is a -race build already".to_string()),
        package_failure: None,
    });
    let workers_done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        if shared
            .lock()
            .is_ok_and(|s| s.race_missing.is_none() && !s.in_play.is_empty())
        {
            scope.spawn(|| build_race(ctx, index, pkg, &shared, &workers_done));
        }
        let workers: Vec<_> = (0..processes)
            .map(|_| {
                scope.spawn(|| {
                    worker(
                        ctx, index, pkg, binary, &shared, started, &stress, processes,
                    )
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        workers_done.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let shared = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    let race_note = shared.race_missing.clone();
    if let Some((failed, events)) = shared.package_failure {
        // The stress process's failure is the package's: its report,
        // with what the plain run found.
        let mut failed = failed;
        for t in report.tests.iter().filter(|t| t.outcome.is_failure()) {
            if !failed.tests.iter().any(|f| f.name == t.name) {
                failed.tests.push(t.clone());
            }
        }
        return (failed, events);
    }
    let elapsed = started.elapsed();
    let options = verdict_options(ctx.opts);
    let repro = |test: &str, found: Option<(&StressSettings, f64)>| {
        repro_command(
            &Repro {
                dir: &ctx.opts.dir,
                package: path,
                test,
                go_args: &ctx.opts.go_args,
                options: &options,
            },
            found,
        )
    };
    // The merged report: each test's runs, and the finding process's
    // verdict for what stress found.
    let mut found = shared.found;
    let mut total_runs: u64 = 0;
    for t in report.tests.iter_mut() {
        let more = shared.runs.get(&t.name).copied().unwrap_or(0);
        let runs = 1 + more;
        total_runs += runs;
        if let Some(i) = found.iter().position(|(n, _)| n == &t.name) {
            let f = &found[i].1;
            let mut r = f.report.clone();
            r.runs = runs.min(u32::MAX as u64) as u32;
            r.stress = Some(StressStats {
                runs,
                seconds: f.seconds,
                found_at_run: Some(f.at_run),
                settings: Some(f.settings.clone()),
                reproduce: Some(repro(&t.name, Some((&f.settings, f.seconds)))),
            });
            *t = r;
        } else if t.outcome.is_failure() {
            t.stress = Some(StressStats {
                runs: 1,
                seconds: first_seconds,
                found_at_run: Some(1),
                settings: Some(StressSettings::plain()),
                reproduce: Some(repro(&t.name, None)),
            });
        } else if t.outcome == TestOutcome::Pass {
            t.runs = runs.min(u32::MAX as u64) as u32;
            t.stress = Some(StressStats {
                runs,
                seconds: elapsed.as_secs_f64(),
                found_at_run: None,
                settings: None,
                reproduce: None,
            });
        }
    }
    // The events: the plain run's, but its package line and final event;
    // then each find's, with what found it; then the package's end. Lines
    // of stress's own start with crate::output::reporter::STRESS_LINE, which the
    // human reporter shows for a passing package too.
    let is_end = |e: &TestEvent| {
        e.test.is_none()
            && (matches!(e.action.as_str(), "pass" | "fail" | "skip")
                || (e.action == "output"
                    && e.output.as_deref().is_some_and(|o| {
                        o.starts_with(&format!("ok  \t{path}\t"))
                            || o.starts_with(&format!("FAIL\t{path}\t"))
                    })))
    };
    let mut events: Vec<TestEvent> = Vec::new();
    let mut pass_line = None;
    for e in first_events.into_iter().filter(|e| !is_end(e)) {
        if is_pass_line(&e) {
            pass_line = Some(e);
        } else {
            events.push(e);
        }
    }
    for t in report.tests.iter().filter(|t| t.outcome.is_failure()) {
        let Some(s) = &t.stress else { continue };
        if s.found_at_run == Some(1) && s.settings == Some(StressSettings::plain()) {
            continue; // the plain run's own events said it
        }
        if let Some(i) = found.iter().position(|(n, _)| n == &t.name) {
            let (_, f) = found.swap_remove(i);
            events.extend(f.events);
        }
        let settings = s.settings.as_ref().map_or(String::new(), |s| s.describe());
        events.push(output_event(
            path,
            None,
            format!(
                "leakcheck: stress: {} {} at run {} after {:.1}s ({settings})\n    reproduce: {}\n",
                t.name,
                what(t.outcome),
                s.found_at_run.unwrap_or(0),
                s.seconds,
                s.reproduce.as_deref().unwrap_or("")
            ),
        ));
    }
    if let Some(why) = race_note.filter(|w| !w.contains("already")) {
        events.push(output_event(
            path,
            None,
            format!("leakcheck: stress: no -race variant: {why}\n"),
        ));
    }
    let found_count = report
        .tests
        .iter()
        .filter(|t| t.outcome.is_failure())
        .count();
    let secs = elapsed.as_secs_f64();
    events.push(output_event(
        path,
        None,
        format!(
            "leakcheck: stress: {total_runs} runs of {} in {secs:.1}s ({:.0} runs/s), {found_count} found misbehaving\n",
            match report.tests.len() {
                1 => "1 test".to_string(),
                n => format!("{n} tests"),
            },
            total_runs as f64 / secs.max(1e-3)
        ),
    ));
    if found_count > 0 && report.outcome == PackageOutcome::Pass {
        report.outcome = PackageOutcome::Fail;
    }
    if report.tests.iter().any(|t| t.outcome == TestOutcome::Crash) {
        report.outcome = PackageOutcome::Crash;
    }
    // As go test: the binary's PASS (or FAIL) just before the package
    // line.
    if let Some(mut e) = pass_line {
        if report.outcome != PackageOutcome::Pass {
            e.output = Some("FAIL\n".into());
        }
        events.push(e);
    }
    report.elapsed_ms = secs * 1000.0;
    let (line, action) = match report.outcome {
        PackageOutcome::Pass => (format!("ok  \t{path}\t{secs:.3}s\n"), "pass"),
        _ => (format!("FAIL\t{path}\t{secs:.3}s\n"), "fail"),
    };
    events.push(output_event(path, None, line));
    events.push(final_event(path, action, secs));
    (report, events)
}

/// Builds the `-race` variant of the package's test binary (the same
/// overlay and flags, and `-race`; vet already ran for the first build),
/// for the workers to take up once it is there. A build still going when
/// the workers are done (the budget ran out first) is killed.
fn build_race(
    ctx: &PackageContext<'_>,
    index: usize,
    pkg: &GoPackage,
    shared: &Mutex<Shared>,
    workers_done: &std::sync::atomic::AtomicBool,
) {
    let output = ctx.work.join(format!("pkg{index}-race.test"));
    let mut flags: Vec<String> = ctx
        .build_flags
        .iter()
        .filter(|f| !f.starts_with("-vet="))
        .cloned()
        .collect();
    flags.push("-race".to_string());
    flags.push("-vet=off".to_string());
    let build = crate::go::cmd::GoTestBuild {
        dir: &ctx.opts.dir,
        import_path: &pkg.import_path,
        output: &output,
        overlay: ctx.overlay,
        build_flags: &flags,
        env: super::build_env(ctx.env),
    };
    let started = build
        .expression()
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .before_spawn(|cmd| {
            crate::signals::own_group(cmd);
            Ok(())
        })
        .start();
    let handle = match started {
        Ok(h) => h,
        Err(e) => {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            s.race_missing = Some(format!("the -race build did not start: {e}"));
            return;
        }
    };
    for &pid in &handle.pids() {
        crate::signals::started(pid);
    }
    let outcome = loop {
        match handle.try_wait() {
            Ok(Some(out)) => break Some(out.clone()),
            Ok(None) => {}
            Err(_) => break None,
        }
        if workers_done.load(std::sync::atomic::Ordering::SeqCst) || interrupted() {
            for &pid in &handle.pids() {
                crate::signals::kill_group(pid);
            }
            let _ = handle.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for &pid in &handle.pids() {
        crate::signals::ended(pid);
    }
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    match outcome {
        Some(out) if out.status.success() => s.race_binary = Some(output),
        Some(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with('#'));
            s.race_missing = Some(format!(
                "the -race build failed: {}",
                first.unwrap_or("no output").trim()
            ));
        }
        None => {
            s.race_missing = Some("the -race build was not done when the stress run ended".into())
        }
    }
}

/// One worker: a process at a time, until nothing is in play, the budget
/// is spent, or the run is interrupted.
#[allow(clippy::too_many_arguments)]
fn worker(
    ctx: &PackageContext<'_>,
    index: usize,
    pkg: &GoPackage,
    binary: &Path,
    shared: &Mutex<Shared>,
    started: Instant,
    stress: &crate::stress::StressOptions,
    processes: usize,
) {
    loop {
        let (variant, race_binary, tests, count) = {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            let spent = started.elapsed();
            if interrupted()
                || spent >= stress.budget
                || s.in_play.is_empty()
                || s.package_failure.is_some()
            {
                return;
            }
            let race_binary = s.race_binary.clone();
            let v = s.schedule.next(race_binary.is_some());
            let per = if v.race {
                s.secs_per_race_run
            } else {
                s.secs_per_run
            };
            let remaining = stress.budget - spent;
            let mut count = next_count(per, s.in_play.len(), remaining);
            if !ctx.has_leak_profile() {
                // Without the leak profile (before Go 1.26) every leaking
                // run waits out the grace period: keep the process within
                // the budget. With it, most leaks are proven at once, and
                // long processes find more (measured: bench/RESULTS.md).
                count = count.min(count_within_budget(remaining, ctx.opts.grace));
            }
            (v, race_binary.filter(|_| v.race), s.in_play.clone(), count)
        };
        let gomaxprocs = variant.gomaxprocs;
        let mut opts = ctx.opts.clone();
        opts.stress = None;
        opts.until_leak = None;
        opts.go_args = stress_flags(&ctx.opts.go_args, &tests, count);
        let env: Vec<(String, String)> = gomaxprocs
            .map(|g| vec![("GOMAXPROCS".to_string(), g.to_string())])
            .unwrap_or_default();
        let vctx = PackageContext {
            opts: &opts,
            process_env: &env,
            ..*ctx
        };
        let collected: Mutex<Vec<TestEvent>> = Mutex::new(Vec::new());
        let process_started = Instant::now();
        let run = race_binary.as_deref().unwrap_or(binary);
        let (report, last) = vctx.run_binary(index, pkg, run, &|events| {
            collected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(events)
        });
        let mut events = collected.into_inner().unwrap_or_else(|e| e.into_inner());
        events.extend(last);
        let seconds = started.elapsed().as_secs_f64();
        let settings = StressSettings {
            gomaxprocs,
            processes: processes as u32,
            count,
            race: variant.race,
        };
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        let ran: u64 = report.tests.iter().map(|t| t.runs as u64).sum();
        // A hang's wait for the probe or the timeout is no measure of a
        // run.
        let hung = report.tests.iter().any(|t| t.outcome == TestOutcome::Hang);
        let per = seconds_per_run(&report, process_started.elapsed().as_secs_f64());
        if let (Some(per), false) = (per, hung) {
            let avg = if variant.race {
                &mut s.secs_per_race_run
            } else {
                &mut s.secs_per_run
            };
            *avg = 0.5 * *avg + 0.5 * per;
        }
        if interrupted() {
            return;
        }
        let mut new_finds = Vec::new();
        for t in &report.tests {
            let before = {
                let r = s.runs.entry(t.name.clone()).or_default();
                let before = *r;
                *r += t.runs as u64;
                before
            };
            if t.outcome.is_failure() && s.in_play.contains(&t.name) {
                s.in_play.retain(|n| n != &t.name);
                // Run 1 (plain), the runs of the processes that ended
                // before, and this process's runs up to the bad one.
                let at_run = 1 + before + u64::from(t.first_bad_run.unwrap_or(t.runs));
                new_finds.push(format!("{} ({} at run {at_run})", t.name, what(t.outcome)));
                s.found.push((
                    t.name.clone(),
                    Found {
                        at_run,
                        seconds,
                        settings: settings.clone(),
                        report: t.clone(),
                        events: events
                            .iter()
                            .filter(|e| of_test(e, &t.name))
                            .cloned()
                            .collect(),
                    },
                ));
            }
        }
        crate::stress::status_add(ran, &new_finds);
        if report.failed_outside_tests() && s.package_failure.is_none() {
            let mut failed = report;
            failed.error = Some(format!(
                "{} (a --stress process, {})",
                failed.failure_reason(),
                settings.describe()
            ));
            s.package_failure = Some((failed, events));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_processes_run_the_tests_in_play_count_times() {
        let args = GoTestArgs::parse(&["-run", "Rare", "-count", "3", "-short"]).unwrap();
        let a = stress_flags(&args, &["TestA".into(), "TestB.x".into()], 40);
        assert_eq!(
            a.test_flags,
            [
                "-test.short",
                "-test.run=^(TestA|TestB\\.x)$",
                "-test.count=40"
            ]
        );
    }

    #[test]
    fn the_users_subtest_levels_are_kept_and_benchmarks_left_out() {
        let args = GoTestArgs::parse(&["-run", "Test(A|B)/sub/deep", "-bench", "."]).unwrap();
        let a = stress_flags(&args, &["TestA".into()], 3);
        assert_eq!(
            a.test_flags,
            ["-test.run=^(TestA)$/sub/deep", "-test.count=3"]
        );
        assert_eq!(subtest_levels("TestA"), None);
        assert_eq!(subtest_levels("(a/b)"), None);
        assert_eq!(subtest_levels("x[/]y/z"), Some("z"));
        assert_eq!(subtest_levels("a\\/b/c"), Some("c"));
        assert_eq!(subtest_levels("a/"), Some(""));
    }

    #[test]
    fn a_tests_events_are_its_own_and_its_subtests() {
        let e = |t: Option<&str>| TestEvent {
            test: t.map(str::to_string),
            ..TestEvent::default()
        };
        assert!(of_test(&e(Some("TestA")), "TestA"));
        assert!(of_test(&e(Some("TestA/sub")), "TestA"));
        assert!(!of_test(&e(Some("TestAB")), "TestA"));
        assert!(!of_test(&e(None), "TestA"));
    }
}
