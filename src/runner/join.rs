//! Joining one package's `go test -json` events (from test2json, across
//! the processes of a resumed run) with the comparator's verdicts: leak
//! blocks after a leaking test's result line, known (baseline) leaks,
//! ignored counts, hangs and crashes as test results, and the package's
//! [`PackageReport`] at the end. Events go to a sink as soon as they are
//! final; only what leakcheck may still rewrite when the process ends (an
//! unjudged run's result line and final event, the binary's `PASS` line,
//! and what follows them) is held.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::detect::compare::{group_leaks_merge, RunVerdict};
use crate::detect::listener::HelperListener;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, PackageReport, TestOutcome, TestReport};
use crate::output::reporter::leak_report_lines;

use super::{final_event, output_event};

/// Per-test state while joining events and verdicts.
#[derive(Default)]
struct TestState {
    outcome: Option<TestOutcome>,
    elapsed: f64,
    leaks: Vec<crate::detect::compare::Leak>,
    /// Descriptors, processes and heap it left (`--check`), all runs.
    resources: Vec<crate::detect::resources::Resource>,
    /// The current run's verdict, taken at its `--- PASS` line.
    pending: Option<RunVerdict>,
    /// The current run's verdict was waited for (once is enough).
    awaited: bool,
    runs: u32,
    leaked_runs: u32,
    deadlock: Option<bool>,
    details: Option<String>,
    /// The creation sites already shown in a `--- LEAK` block.
    shown_sites: Vec<String>,
    /// Goroutines exempted, by rule.
    ignored: Vec<crate::output::report::IgnoredCount>,
    has_final: bool,
    /// A run of it was never judged (see [`EventJoiner::unjudged`]).
    unjudged: bool,
    /// How many of its result lines `cannot_judge` turned to FAIL: the
    /// next one turns the one before them (runs not judged are the last
    /// ones a process ran).
    rewritten: usize,
    /// Time its checks took, all runs.
    check: Duration,
    /// Its first run that leaked, failed, hung or crashed (1-based).
    first_bad_run: Option<u32>,
    /// The current run's result line came without a verdict (its run was
    /// never judged, or leakcheck's connection was lost): its result line
    /// and final event are held until its process ends, when leakcheck may
    /// have to fail it (see [`EventJoiner::cannot_judge`]).
    unsettled: bool,
    /// Runs whose result line came without a verdict and that no verdict
    /// has joined since: a verdict left when the process ends is theirs
    /// (the oldest's) before it is a run whose result line never came.
    awaiting_verdict: u32,
}

/// Joins the converter's events with the comparator's verdicts, across
/// the processes of one package.
pub(super) struct EventJoiner<'a> {
    pkg: &'a str,
    base: &'a Path,
    verbose: bool,
    pub(super) attempt: usize,
    /// Events final as they are, for the sink.
    ready: Vec<TestEvent>,
    /// Events that may still change before their process ends (an
    /// unsettled test's result line and final event, the package's `PASS`
    /// line), and every event after the first of them, so that the order
    /// is kept.
    held: Vec<TestEvent>,
    /// Receives events as they become final, in order.
    sink: &'a dyn Fn(Vec<TestEvent>),
    tests: HashMap<String, TestState>,
    order: Vec<String>,
    package_final: Option<TestEvent>,
    any_leak: bool,
    /// What the binary said of coverage (`coverage: 66.7% of
    /// statements`), for the package's `ok` line, as `go test` shows it.
    coverage: Option<String>,
    /// The binary found no test to run.
    no_tests_to_run: bool,
    pub(super) failed_to_run: Option<String>,
    /// Known leaks, and the module root their paths are relative to.
    pub(super) baseline: Option<(&'a crate::detect::baseline::Baseline, &'a Path)>,
}

impl<'a> EventJoiner<'a> {
    pub(super) fn new(
        pkg: &'a str,
        base: &'a Path,
        verbose: bool,
        sink: &'a dyn Fn(Vec<TestEvent>),
    ) -> Self {
        EventJoiner {
            pkg,
            base,
            verbose,
            attempt: 0,
            ready: Vec::new(),
            held: Vec::new(),
            sink,
            tests: HashMap::new(),
            order: Vec::new(),
            package_final: None,
            any_leak: false,
            coverage: None,
            no_tests_to_run: false,
            failed_to_run: None,
            baseline: None,
        }
    }

    /// Adds an event after the others: ready, unless something before it
    /// is held.
    fn push(&mut self, event: TestEvent) {
        if self.held.is_empty() {
            self.ready.push(event);
        } else {
            self.held.push(event);
        }
    }

    /// Passes the events that are final to the sink.
    pub(super) fn flush(&mut self) {
        if !self.ready.is_empty() {
            (self.sink)(std::mem::take(&mut self.ready));
        }
    }

    /// A process ended, and what leakcheck had to add about it is added:
    /// nothing held can change any more.
    pub(super) fn process_ended(&mut self) {
        self.ready.append(&mut self.held);
        self.flush();
    }

    fn state(&mut self, test: &str) -> &mut TestState {
        if !self.tests.contains_key(test) {
            self.order.push(test.to_string());
        }
        self.tests.entry(test.to_string()).or_default()
    }

    pub(super) fn has_final(&self, test: &str) -> bool {
        self.tests.get(test).is_some_and(|s| s.has_final)
    }

    /// A new round of `--until-leak`: tests are done when they end again.
    pub(super) fn new_round(&mut self) {
        for s in self.tests.values_mut() {
            s.has_final = false;
        }
    }

    /// Top-level tests that leaked in some run.
    pub(super) fn leaked_tests(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|t| self.tests[*t].leaked_runs > 0)
            .cloned()
            .collect()
    }

    /// Top-level tests that are done in this round (ended, hung or
    /// crashed).
    pub(super) fn finished_tests(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|t| {
                let s = &self.tests[*t];
                s.has_final
            })
            .cloned()
            .collect()
    }

    pub(super) fn raw_output(&mut self, text: String) {
        self.push(output_event(self.pkg, None, text));
    }

    /// Takes the verdict of `test`'s current run, if not taken yet; called
    /// once its result is out. The helper wraps every `TestXxx` function
    /// (not examples or fuzz targets), so their verdict is waited for.
    fn take_verdict(&mut self, test: &str, listener: &HelperListener) {
        if self.tests.get(test).is_some_and(|s| s.pending.is_some()) {
            return;
        }
        let wait = Self::is_hooked(test) && !self.tests.get(test).is_some_and(|s| s.awaited);
        let verdict = if wait {
            self.state(test).awaited = true;
            listener.wait_verdict(test)
        } else {
            listener.take_verdict(test)
        };
        if let Some(mut v) = verdict {
            crate::detect::hints::add_from_source(
                &mut v.leaks,
                |f| std::fs::read_to_string(f).ok(),
                |dir| {
                    std::fs::read_dir(dir)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| Some(e.ok()?.path().to_str()?.to_string()))
                        .collect()
                },
            );
            if let Some((baseline, root)) = self.baseline {
                for l in &mut v.leaks {
                    l.known = baseline.contains(&crate::detect::baseline::BaselineEntry::of(
                        self.pkg, test, l, root,
                    ));
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
                        .push(crate::output::report::IgnoredCount { rule, count: *n }),
                }
            }
            state.check += v.check;
            state.pending = Some(v);
            for l in lines {
                self.push(output_event(self.pkg, Some(test), l));
            }
        }
    }

    /// Whether leakcheck's hook wraps `test` (every test, example and
    /// fuzz target), so that each of its runs gets a verdict.
    fn is_hooked(test: &str) -> bool {
        super::is_test_function_name(test)
    }

    /// Leak lines for `test`'s current leaks: the full block the first
    /// time a creation site shows up, one line when it repeats.
    fn leak_lines(&mut self, test: &str, leaks: &[crate::detect::compare::Leak]) -> Vec<String> {
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

    /// The `--- LEAK` block of a run: its goroutines' (see
    /// [`Self::leak_lines`]), then what else it left behind.
    fn leak_and_resource_lines(
        &mut self,
        test: &str,
        leaks: &[crate::detect::compare::Leak],
        resources: &[crate::detect::resources::Resource],
    ) -> Vec<String> {
        if resources.is_empty() {
            return self.leak_lines(test, leaks);
        }
        let summary = crate::detect::resources::summary(resources);
        let mut lines = if leaks.is_empty() {
            vec![format!("--- LEAK: {test} ({summary})\n")]
        } else {
            let mut lines = self.leak_lines(test, leaks);
            if let Some(head) = lines.first_mut().and_then(|h| h.strip_suffix(")\n")) {
                let head = format!("{head}, {summary})\n");
                lines[0] = head;
            }
            lines
        };
        lines.extend(crate::detect::resources::report_lines(resources, self.base));
        lines
    }

    pub(super) fn event(&mut self, mut event: TestEvent, listener: &HelperListener) {
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
                    let unsettled = Self::is_hooked(test) && self.tests[test].pending.is_none();
                    self.state(test).unsettled = unsettled;
                    let (leaks, resources) = self.tests[test]
                        .pending
                        .as_ref()
                        .map(|v| (v.leaks.clone(), v.resources.clone()))
                        .unwrap_or_default();
                    let (known, new): (Vec<_>, Vec<_>) = leaks.into_iter().partition(|l| l.known);
                    if !new.is_empty() || !resources.is_empty() {
                        event.output = Some(out.replacen("--- PASS: ", "--- FAIL: ", 1).replacen(
                            "--- SKIP: ",
                            "--- FAIL: ",
                            1,
                        ));
                    }
                    if unsettled {
                        self.held.push(event);
                    } else {
                        self.push(event);
                    }
                    if !known.is_empty() {
                        let n: usize = known.iter().map(|l| l.count).sum();
                        let s = if n == 1 { "" } else { "s" };
                        let line = format!(
                            "--- LEAK (known, in the baseline): {test} ({n} goroutine{s})\n"
                        );
                        self.push(output_event(self.pkg, Some(test), line));
                    }
                    if !new.is_empty() || !resources.is_empty() {
                        let check = self.tests[test].pending.as_ref().map(|v| v.check);
                        let mut lines = self.leak_and_resource_lines(test, &new, &resources);
                        // The wait is not the test's time: shown apart.
                        if let (Some(first), Some(check)) = (lines.first_mut(), check) {
                            if let Some(head) = first.strip_suffix(")\n") {
                                *first =
                                    format!("{head}; checked in {:.2}s)\n", check.as_secs_f64());
                            }
                        }
                        for l in lines {
                            self.push(output_event(self.pkg, Some(test), l));
                        }
                    }
                    return;
                }
            }
            (Some(test), "pass" | "fail" | "skip") => {
                self.take_verdict(test, listener);
                self.state(test).awaited = false;
                let verdict = self.state(test).pending.take();
                let (leaks, resources) =
                    verdict.map(|v| (v.leaks, v.resources)).unwrap_or_default();
                let mut outcome = match event.action.as_str() {
                    "pass" => TestOutcome::Pass,
                    "skip" => TestOutcome::Skip,
                    _ => TestOutcome::Fail,
                };
                if leaks.iter().any(|l| !l.known) || !resources.is_empty() {
                    self.any_leak = true;
                    if outcome != TestOutcome::Fail {
                        outcome = TestOutcome::Leak;
                    }
                    event.action = "fail".into();
                }
                let elapsed = event.elapsed.unwrap_or(0.0) * 1000.0;
                self.record_run(test, outcome, elapsed, leaks, resources);
                if std::mem::take(&mut self.state(test).unsettled) {
                    self.state(test).awaiting_verdict += 1;
                    self.held.push(event);
                    return;
                }
            }
            (None, "pass" | "fail" | "skip") if event.test.is_none() => {
                self.package_final = Some(event);
                return;
            }
            (None, "output")
                if event.test.is_none()
                    && self.coverage.is_none()
                    && event
                        .output
                        .as_deref()
                        .is_some_and(|o| o.starts_with("coverage: ")) =>
            {
                let text = event.output.as_deref().unwrap_or("");
                self.coverage = Some(text["coverage: ".len()..].trim_end().to_string());
            }
            (None, "output")
                if event.test.is_none()
                    && event.output.as_deref() == Some("testing: warning: no tests to run\n") =>
            {
                self.no_tests_to_run = true;
            }
            (None, "output")
                if event.test.is_none()
                    && self.any_leak
                    && event.output.as_deref() == Some("PASS\n") =>
            {
                event.output = Some("FAIL\n".into());
            }
            // The binary's own PASS line, after its tests: it says FAIL if
            // a run turns out not judged. (One printed before any test
            // ended, by a TestMain say, is passed on: holding it would hold
            // everything after it.)
            (None, "output")
                if event.test.is_none()
                    && event.output.as_deref() == Some("PASS\n")
                    && self.tests.values().any(|s| s.has_final) =>
            {
                self.held.push(event);
                return;
            }
            _ => {}
        }
        self.push(event);
    }

    /// Verdicts left when a process ended: each joins the oldest run of its
    /// test whose result line came without one, else it is the result of a
    /// run whose result line never came (an earlier run of the same test,
    /// under -count, had one). Returns the tests whose results were the
    /// hook's.
    pub(super) fn take_remaining_verdicts(
        &mut self,
        mut verdicts: HashMap<String, std::collections::VecDeque<RunVerdict>>,
    ) -> HashSet<String> {
        let mut from_hook = HashSet::new();
        let mut tests: Vec<String> = verdicts.keys().cloned().collect();
        tests.sort();
        for test in tests {
            for v in verdicts.remove(&test).unwrap_or_default() {
                if self
                    .tests
                    .get(&test)
                    .is_some_and(|s| s.awaiting_verdict > 0)
                {
                    // The verdict of a run whose result line came first (a
                    // run judged later, or a crash right after a check):
                    // its leaks still count.
                    let state = self.state(&test);
                    state.awaiting_verdict -= 1;
                    state.check += v.check;
                    if !v.leaks.is_empty() || !v.resources.is_empty() {
                        state.leaked_runs += 1;
                        state.first_bad_run.get_or_insert(state.runs);
                    }
                    state.resources.extend(v.resources);
                    state.leaks = group_leaks_merge(std::mem::take(&mut state.leaks), v.leaks);
                } else {
                    self.result_from_hook(&test, v);
                    from_hook.insert(test.clone());
                }
            }
        }
        from_hook
    }

    /// A run the hook ended and leakcheck judged, whose result line never
    /// came (the test closed or replaced stdout, or printed something
    /// that hid the line): its result is the hook's, said so, with its
    /// leaks, and the events `go test -json` would have had.
    fn result_from_hook(&mut self, test: &str, v: RunVerdict) {
        let pkg = self.pkg;
        let leaked = v.leaks.iter().any(|l| !l.known) || !v.resources.is_empty();
        if test.contains('/') && !leaked {
            // A run no test binary prints at the top level: a test that
            // calls testing.RunTests itself with a name of its own
            // (testify's suite tests do, with stdout captured). go test
            // shows nothing of it, and nothing of it is left: its result
            // is the test's business.
            return;
        }
        self.state(test).check += v.check;
        let (word, action, mut outcome) = match v.status {
            crate::detect::compare::RunStatus::Pass => ("PASS", "pass", TestOutcome::Pass),
            crate::detect::compare::RunStatus::Skip => ("SKIP", "skip", TestOutcome::Skip),
            crate::detect::compare::RunStatus::Fail => ("FAIL", "fail", TestOutcome::Fail),
        };
        let action = if leaked { "fail" } else { action };
        if leaked && outcome != TestOutcome::Fail {
            outcome = TestOutcome::Leak;
        }
        let note = "its result line never reached leakcheck (the test binary's output was \
                    closed, replaced or cut); this result is the one leakcheck's hook sent";
        let word = if leaked { "FAIL" } else { word };
        self.push(output_event(
            pkg,
            Some(test),
            format!("--- {word}: {test} (0.00s)\n"),
        ));
        self.push(output_event(
            pkg,
            Some(test),
            format!("    leakcheck: {note}\n"),
        ));
        if leaked {
            self.any_leak = true;
            let new: Vec<_> = v.leaks.iter().filter(|l| !l.known).cloned().collect();
            for l in self.leak_and_resource_lines(test, &new, &v.resources) {
                self.push(output_event(pkg, Some(test), l));
            }
        }
        let mut end = final_event(pkg, action, 0.0);
        end.test = Some(test.to_string());
        self.push(end);
        self.state(test)
            .details
            .get_or_insert_with(|| note.to_string());
        self.record_run(test, outcome, 0.0, v.leaks, v.resources);
    }

    /// Counts one finished run of `test`: its outcome (the worst of its
    /// runs'), time and leaks.
    fn record_run(
        &mut self,
        test: &str,
        outcome: TestOutcome,
        elapsed_ms: f64,
        leaks: Vec<crate::detect::compare::Leak>,
        resources: Vec<crate::detect::resources::Resource>,
    ) {
        let state = self.state(test);
        state.outcome = Some(state.outcome.map_or(outcome, |o| o.max(outcome)));
        state.elapsed += elapsed_ms;
        state.runs += 1;
        state.has_final = true;
        if leaks.iter().any(|l| !l.known) || !resources.is_empty() {
            state.leaked_runs += 1;
        }
        if leaks.iter().any(|l| !l.known) || !resources.is_empty() || outcome >= TestOutcome::Fail {
            state.first_bad_run.get_or_insert(state.runs);
        }
        state.resources.extend(resources);
        state.leaks = group_leaks_merge(std::mem::take(&mut state.leaks), leaks);
    }

    /// `test` hung: report its goroutines, and end it as failed.
    pub(super) fn hang(
        &mut self,
        test: &str,
        groups: Vec<crate::detect::compare::Leak>,
        deadlock: bool,
        after: Duration,
        proven: bool,
    ) {
        let pkg = self.pkg;
        let secs = after.as_secs_f64();
        let what = if proven {
            "deadlocked, proven by the garbage collector (goroutine leak profile): its own goroutine can never run again"
        } else if deadlock {
            // Not proven: a timer or I/O may still wake one (a goroutine
            // reading a live ticker's channel shows as `chan receive`).
            "blocked: every goroutine involved waits on a channel, select, mutex, condition or wait group (a deadlock unless a timer or I/O wakes one; not proven)"
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
            self.push(output_event(pkg, Some(test), l.clone()));
        }
        let mut fin = final_event(pkg, "fail", secs);
        fin.test = Some(test.to_string());
        self.push(fin);
        let state = self.state(test);
        state.outcome = Some(TestOutcome::Hang);
        state.elapsed += secs * 1000.0;
        state.runs += 1;
        state.first_bad_run.get_or_insert(state.runs);
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
    pub(super) fn crash(&mut self, test: &str, details: &str) {
        let pkg = self.pkg;
        self.push(output_event(
            pkg,
            Some(test),
            format!("--- CRASH: {test} (the test binary died)\n"),
        ));
        for l in details.lines() {
            self.push(output_event(pkg, Some(test), format!("    {l}\n")));
        }
        let mut fin = final_event(pkg, "fail", 0.0);
        fin.test = Some(test.to_string());
        self.push(fin);
        let state = self.state(test);
        state.outcome = Some(TestOutcome::Crash);
        state.runs += 1;
        state.first_bad_run.get_or_insert(state.runs);
        state.details = Some(details.to_string());
        state.has_final = true;
    }

    /// A run of `test` ended without a dump (a crowded process, checks
    /// deferred) and the binary exited before one judged it: whether it
    /// leaked is not known, so it does not pass.
    pub(super) fn unjudged(&mut self, test: &str) {
        self.cannot_judge(
            test,
            "leakcheck could not judge this run: the test binary exited before a \
             dump was taken after it (checks are deferred in a crowded process; \
             --no-defer-checks dumps at every test's end)",
        );
    }

    /// A test whose function had returned when the binary crashed, while
    /// leakcheck checked its goroutines: it did not crash it, and whether
    /// it leaked is not known.
    pub(super) fn check_cut(&mut self, test: &str) {
        self.cannot_judge(
            test,
            "leakcheck could not judge this run: the test had returned, and the test binary \
             died (another test crashed it) while leakcheck checked its goroutines",
        );
    }

    /// A run that started and whose end never reached leakcheck, in a
    /// process that exited 0: the test closed or replaced leakcheck's
    /// connection (file descriptor 3), or the process ended before the
    /// test did.
    pub(super) fn end_lost(&mut self, test: &str) {
        self.cannot_judge(
            test,
            "leakcheck could not judge this run: its end never reached leakcheck, \
             although the test binary exited 0 (did the test close or replace \
             leakcheck's connection, file descriptor 3?)",
        );
    }

    /// Fails `test`, saying why leakcheck cannot judge it: its result line
    /// and final event, if out already, say FAIL, so that every output
    /// agrees with the report.
    fn cannot_judge(&mut self, test: &str, details: &str) {
        let pkg = self.pkg;
        let header = |e: &TestEvent| {
            e.test.as_deref() == Some(test)
                && e.output.as_deref().is_some_and(|o| {
                    ["--- PASS: ", "--- SKIP: ", "--- FAIL: "]
                        .iter()
                        .any(|p| o.starts_with(&format!("{p}{test} (")))
                })
        };
        // Its result line says FAIL, followed by why, before its final
        // event (which a reporter takes for the end of the run's lines).
        let is_final = |e: &TestEvent| {
            e.test.as_deref() == Some(test) && matches!(e.action.as_str(), "pass" | "skip" | "fail")
        };
        let why = output_event(pkg, Some(test), format!("    {details}\n"));
        let skip = self.tests.get(test).map_or(0, |s| s.rewritten);
        let headers: Vec<usize> = (0..self.held.len())
            .filter(|&i| header(&self.held[i]))
            .collect();
        let rewrite = headers.len().checked_sub(skip + 1).map(|k| headers[k]);
        match rewrite {
            Some(i) => {
                let e = &mut self.held[i];
                let text = e.output.take().unwrap_or_default();
                e.output = Some(format!("--- FAIL: {}", &text["--- PASS: ".len()..]));
                self.held.insert(i + 1, why);
                // That run's final event.
                if let Some(e) = self.held[i + 2..].iter_mut().find(|e| is_final(e)) {
                    e.action = "fail".into();
                }
                self.state(test).rewritten += 1;
            }
            None => {
                let head = output_event(pkg, Some(test), format!("--- FAIL: {test} (0.00s)\n"));
                match self.held.iter().rposition(is_final) {
                    Some(i) => {
                        self.held.insert(i, why);
                        self.held.insert(i, head);
                    }
                    None => {
                        self.push(head);
                        self.push(why);
                    }
                }
            }
        }
        if rewrite.is_none() {
            match self.held.iter_mut().rev().find(|e| is_final(e)) {
                Some(e) => e.action = "fail".into(),
                None => {
                    let mut end = final_event(pkg, "fail", 0.0);
                    end.test = Some(test.to_string());
                    self.push(end);
                }
            }
        }
        // The package's own PASS line, if out already.
        self.any_leak = true;
        for e in self.ready.iter_mut().chain(&mut self.held) {
            if e.test.is_none() && e.action == "output" && e.output.as_deref() == Some("PASS\n") {
                e.output = Some("FAIL\n".into());
            }
        }
        let state = self.state(test);
        state.outcome = Some(
            state
                .outcome
                .map_or(TestOutcome::Fail, |o| o.max(TestOutcome::Fail)),
        );
        state.unjudged = true;
        state.has_final = true;
        state.details.get_or_insert_with(|| details.to_string());
    }

    pub(super) fn finish(
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
                if outcome <= TestOutcome::Skip
                    && (s.leaks.iter().any(|l| !l.known) || !s.resources.is_empty())
                {
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
                    check_ms: s.check.as_secs_f64() * 1000.0,
                    stress: None,
                    first_bad_run: s.first_bad_run,
                    resources: s.resources.clone(),
                })
            })
            .collect();
        for t in &tests {
            if t.runs > 1 && t.leaked_runs > 0 {
                self.push(output_event(
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
        // What fails the package beyond the binary's exit status: leaks,
        // hangs, runs leakcheck could not judge, protocol problems. (A
        // test reported failed by a binary that exits 0, such as one that
        // runs testing.RunTests itself, leaves the package passing, as
        // `go test` does.)
        let leakcheck_failed = !errors.is_empty()
            || tests.iter().any(|t| {
                matches!(t.outcome, TestOutcome::Leak | TestOutcome::Hang)
                    || t.leaks.iter().any(|l| !l.known)
                    || !t.resources.is_empty()
            })
            || self.tests.values().any(|s| s.unjudged);
        let mut error = self.failed_to_run.clone();
        let outcome = if crashed {
            PackageOutcome::Crash
        } else if error.is_some() {
            PackageOutcome::Fail
        } else if exit_code != Some(0) && !tests.iter().any(|t| t.outcome == TestOutcome::Hang) {
            if !failed_tests {
                error = Some(match exit_code {
                    Some(super::HOOK_LOST_EXIT) => {
                        "leakcheck's hook in this test binary could not reach leakcheck (see its output): the tests could not be judged"
                            .to_string()
                    }
                    Some(c) => format!("test binary exited with status {c}"),
                    None => "test binary was killed by a signal".to_string(),
                });
            }
            PackageOutcome::Fail
        } else if leakcheck_failed {
            PackageOutcome::Fail
        } else {
            PackageOutcome::Pass
        };
        for e in errors {
            self.push(output_event(pkg, None, format!("leakcheck: {e}\n")));
        }
        if let (Some(e), None) = (&error, &self.failed_to_run) {
            self.push(output_event(pkg, None, format!("leakcheck: {e}\n")));
        }
        let secs = elapsed.as_secs_f64();
        let line = match outcome {
            // As `go test` prints it: coverage and an empty run on `ok`
            // lines only.
            PackageOutcome::Pass => format!(
                "ok  \t{pkg}\t{secs:.3}s{}{}\n",
                self.coverage
                    .as_ref()
                    .map_or(String::new(), |c| format!("\tcoverage: {c}")),
                if self.no_tests_to_run {
                    " [no tests to run]"
                } else {
                    ""
                }
            ),
            _ => format!("FAIL\t{pkg}\t{secs:.3}s\n"),
        };
        let action = if outcome == PackageOutcome::Pass {
            "pass"
        } else {
            "fail"
        };
        self.push(output_event(pkg, None, line));
        let mut last = self
            .package_final
            .take()
            .unwrap_or_else(|| final_event(pkg, action, secs));
        last.action = action.into();
        last.elapsed = Some(secs);
        self.push(last);
        let report = PackageReport {
            import_path: pkg.to_string(),
            outcome,
            error,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            tests,
        };
        self.ready.append(&mut self.held);
        (report, self.ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_that_cannot_be_judged_fails_its_own_result_line() {
        let sink = |_: Vec<TestEvent>| {};
        let base = Path::new("/m");
        let mut join = EventJoiner::new("example.com/p", base, false, &sink);
        let test = "TestX";
        let result = |word: &str| {
            output_event(
                "example.com/p",
                Some(test),
                format!("--- {word}: {test} (0.00s)\n"),
            )
        };
        let end = |action: &str| {
            let mut e = final_event("example.com/p", action, 0.0);
            e.test = Some(test.to_string());
            e
        };
        // Three runs (-count=3) held until the process ends; the last two
        // were never judged.
        join.held = vec![
            result("PASS"),
            end("pass"),
            result("PASS"),
            end("pass"),
            result("PASS"),
            end("pass"),
        ];
        join.unjudged(test);
        join.unjudged(test);
        let lines: Vec<String> = join
            .held
            .iter()
            .map(|e| match &e.output {
                Some(o) => o.trim_end().split(':').next().unwrap().to_string(),
                None => e.action.clone(),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "--- PASS",
                "pass",
                "--- FAIL",
                "    leakcheck could not judge this run",
                "fail",
                "--- FAIL",
                "    leakcheck could not judge this run",
                "fail",
            ]
        );
    }
}
