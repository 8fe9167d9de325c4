//! The watchdog of one test-binary process: follows top-level tests
//! through their events, declares a test hung when it runs past
//! `--test-timeout` (dumps the process with SIGQUIT, then makes sure it
//! dies), reads the goroutine leak profiles the hook sends while tests go
//! on to catch proven deadlocks at once, kills the process on Ctrl-C, and
//! when it runs past `go test`'s own limit (`-timeout` plus a minute), as
//! `go test` does: a binary that runs no test can still hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detect::listener::HelperListener;
use crate::go::testjson::TestEvent;

use super::interrupted;

/// Watches a test binary for a test that runs longer than the test
/// timeout without progress; dumps it with SIGQUIT and kills it. It
/// follows top-level tests through their `run`, `pause`, `cont` and final
/// events, so a parallel test waiting for its turn is not counted as
/// running; and their subtests': each subtest's start or end is its test's
/// progress (its clock starts again), and a test whose subtests all wait
/// for their turn (none runs, one at least is paused) is not counted
/// either: once its function returns, it only waits for them to get a
/// `-parallel` slot. (While its function still runs beside its paused
/// subtests it is not timed: a hang there is left to the leak profile's
/// proof, which still applies, and to the process's limit.)
pub(super) struct Watchdog {
    shared: std::sync::Arc<(std::sync::Mutex<WatchState>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A test running this long gets its process probed with the goroutine
/// leak profile: the hook sends one, then more at doubling intervals.
pub(super) const PROBE_AFTER: Duration = Duration::from_secs(1);

#[derive(Default)]
struct WatchState {
    running: Vec<(String, Instant)>,
    /// Top-level tests whose subtests all wait for their turn, since when.
    waiting: Vec<(String, Instant)>,
    /// Subtests started and not finished, and whether each is paused.
    subtests: std::collections::HashMap<String, bool>,
    /// All top-level tests started and not finished, paused or not.
    started: Vec<String>,
    hung: Option<(String, Duration)>,
    /// The leak profile that proved the hung test deadlocked.
    proven_dump: Option<String>,
    /// The process ran past its limit, this one, and was killed.
    too_long: Option<Duration>,
    stop: bool,
}

impl WatchState {
    fn observe(&mut self, event: &TestEvent) {
        let Some(test) = event.test.as_deref() else {
            return;
        };
        let top = test.split('/').next().unwrap_or(test);
        let was_waiting = self.waits_for_subtests(top);
        if test.contains('/') {
            match event.action.as_str() {
                "run" | "cont" => {
                    self.subtests.insert(test.to_string(), false);
                }
                "pause" => {
                    self.subtests.insert(test.to_string(), true);
                }
                "pass" | "fail" | "skip" => {
                    self.subtests.remove(test);
                }
                _ => {}
            }
        } else {
            match event.action.as_str() {
                "run" | "cont" => {
                    self.running.retain(|(t, _)| t != test);
                    self.running.push((test.to_string(), Instant::now()));
                    if !self.started.iter().any(|t| t == test) {
                        self.started.push(test.to_string());
                    }
                }
                "pause" => self.running.retain(|(t, _)| t != test),
                "pass" | "fail" | "skip" => {
                    self.running.retain(|(t, _)| t != test);
                    self.waiting.retain(|(t, _)| t != test);
                    self.started.retain(|t| t != test);
                    let prefix = format!("{test}/");
                    self.subtests.retain(|s, _| !s.starts_with(&prefix));
                }
                _ => {}
            }
            return;
        }
        // A subtest's event is the top-level test's progress: its clock
        // starts again. It also starts or stops waiting for its subtests'
        // turn.
        if let Some((_, since)) = self.running.iter_mut().find(|(t, _)| t == top) {
            *since = Instant::now();
        }
        match (was_waiting, self.waits_for_subtests(top)) {
            (false, true) => {
                if let Some(i) = self.running.iter().position(|(t, _)| t == top) {
                    let (t, _) = self.running.remove(i);
                    self.waiting.push((t, Instant::now()));
                }
            }
            (true, false) => {
                if let Some(i) = self.waiting.iter().position(|(t, _)| t == top) {
                    let (t, _) = self.waiting.remove(i);
                    self.running.push((t, Instant::now()));
                }
            }
            _ => {}
        }
    }

    /// Whether top-level test `top` has a subtest paused and none running.
    fn waits_for_subtests(&self, top: &str) -> bool {
        let prefix = format!("{top}/");
        let mut paused = false;
        for (sub, &is_paused) in &self.subtests {
            if sub.starts_with(&prefix) {
                if !is_paused {
                    return false;
                }
                paused = true;
            }
        }
        paused
    }
}

impl Watchdog {
    /// Watches process `pid`: tests running past `timeout` hang; the
    /// whole process is killed after `limit`.
    pub(super) fn start(
        pid: Option<u32>,
        timeout: Option<Duration>,
        limit: Option<Duration>,
        listener: Option<Arc<HelperListener>>,
    ) -> Watchdog {
        let shared = std::sync::Arc::new((
            std::sync::Mutex::new(WatchState::default()),
            std::sync::Condvar::new(),
        ));
        let thread = pid.map(|pid| {
            let shared = shared.clone();
            std::thread::spawn(move || watch(pid, timeout, limit, listener, &shared))
        });
        Watchdog { shared, thread }
    }

    /// Follows `event`; true once the binary is being dumped for a hang
    /// (its output from then on is the dump).
    pub(super) fn observe(&self, event: &TestEvent) -> bool {
        let mut st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        if st.hung.is_some() {
            return true;
        }
        st.observe(event);
        false
    }

    /// The limit the process ran past, if it was killed for that; call
    /// before [`Watchdog::stop`].
    pub(super) fn too_long(&self) -> Option<Duration> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .too_long
    }

    /// Stops watching; returns the hung test and how long it had run, and
    /// the top-level tests that started and never finished.
    #[allow(clippy::type_complexity)]
    pub(super) fn stop(mut self) -> (Option<(String, Duration)>, Vec<String>, Option<String>) {
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
    limit: Option<Duration>,
    listener: Option<Arc<HelperListener>>,
    shared: &(std::sync::Mutex<WatchState>, std::sync::Condvar),
) {
    let (lock, cvar) = shared;
    let mut probes_seen = 0;
    let began = Instant::now();
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if st.stop {
            return;
        }
        if interrupted() {
            drop(st);
            crate::signals::kill_group(pid);
            return;
        }
        let now = Instant::now();
        let overdue = timeout.and_then(|timeout| {
            st.running
                .iter()
                .find(|(_, since)| now.duration_since(*since) >= timeout)
                .cloned()
        });
        // The time the runs waited for their checks is not the tests':
        // the hook postponed the binary's own alarm by as much.
        let checking = listener.as_ref().map_or(Duration::ZERO, |l| l.checking());
        let past_limit = limit
            .map(|l| l + checking)
            .filter(|l| now.duration_since(began) >= *l);
        if overdue.is_some() || past_limit.is_some() {
            match overdue {
                Some((test, since)) => st.hung = Some((test, now.duration_since(since))),
                None => st.too_long = past_limit,
            }
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
        // Long-running tests: whether the GC proved a test's own goroutine
        // deadlocked, in the latest leak profile the hook sent.
        let long: Vec<(String, Instant)> = st
            .running
            .iter()
            .chain(&st.waiting)
            .filter(|(_, since)| now.duration_since(*since) >= PROBE_AFTER)
            .cloned()
            .collect();
        let names: Vec<String> = long.iter().map(|(t, _)| t.clone()).collect();
        let proven = listener
            .as_ref()
            .filter(|_| !names.is_empty())
            .and_then(|l| l.proven_after(probes_seen, &names));
        if let Some((n, test, dump)) = proven {
            probes_seen = n;
            if let Some((_, since)) = long.iter().find(|(t, _)| *t == test) {
                st.hung = Some((test, since.elapsed()));
                st.proven_dump = Some(dump.to_string());
                drop(st);
                signal(pid, libc::SIGKILL);
                return;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, test: &str) -> TestEvent {
        TestEvent {
            action: action.to_string(),
            test: Some(test.to_string()),
            ..TestEvent::default()
        }
    }

    fn names(v: &[(String, Instant)]) -> Vec<&str> {
        v.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn a_test_whose_subtests_all_wait_for_their_turn_is_not_timed() {
        let mut st = WatchState::default();
        st.observe(&event("run", "TestP"));
        st.observe(&event("run", "TestP/a"));
        st.observe(&event("pause", "TestP/a"));
        st.observe(&event("run", "TestP/b"));
        // b runs (not parallel): the test runs.
        assert_eq!(names(&st.running), ["TestP"]);
        st.observe(&event("pause", "TestP/b"));
        // Both wait for a -parallel slot: so does the test.
        assert!(st.running.is_empty());
        assert_eq!(names(&st.waiting), ["TestP"]);
        st.observe(&event("cont", "TestP/a"));
        assert_eq!(names(&st.running), ["TestP"]);
        assert!(st.waiting.is_empty());
        st.observe(&event("pass", "TestP/a"));
        assert_eq!(names(&st.waiting), ["TestP"]);
        st.observe(&event("cont", "TestP/b"));
        st.observe(&event("pass", "TestP/b"));
        // No subtest left: its function and cleanups run.
        assert_eq!(names(&st.running), ["TestP"]);
        st.observe(&event("pass", "TestP"));
        assert!(st.running.is_empty() && st.waiting.is_empty() && st.subtests.is_empty());
        assert!(st.started.is_empty());
    }

    #[test]
    fn each_subtest_start_or_end_restarts_its_tests_clock() {
        let mut st = WatchState::default();
        st.observe(&event("run", "TestSeq"));
        st.observe(&event("run", "TestOther"));
        let start = |st: &WatchState, t: &str| st.running.iter().find(|(n, _)| n == t).unwrap().1;
        let (seq, other) = (start(&st, "TestSeq"), start(&st, "TestOther"));
        std::thread::sleep(Duration::from_millis(5));
        st.observe(&event("run", "TestSeq/one"));
        let after_run = start(&st, "TestSeq");
        assert!(after_run > seq);
        std::thread::sleep(Duration::from_millis(5));
        st.observe(&event("pass", "TestSeq/one"));
        assert!(start(&st, "TestSeq") > after_run);
        // Another test's subtests are not its progress; nested ones are.
        assert_eq!(start(&st, "TestOther"), other);
        st.observe(&event("run", "TestOther/a/b"));
        assert!(start(&st, "TestOther") > other);
    }
}
