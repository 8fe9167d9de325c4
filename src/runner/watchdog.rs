//! The watchdog of one test-binary process: follows top-level tests
//! through their events, declares a test hung when it runs past
//! `--test-timeout` (dumps the process with SIGQUIT, then makes sure it
//! dies), probes long-running tests with the goroutine leak profile to
//! catch proven deadlocks at once, and kills the process on Ctrl-C.

use std::time::{Duration, Instant};

use crate::listener::Prober;
use crate::testjson::TestEvent;

use super::interrupted;

/// Watches a test binary for a test that runs longer than the test
/// timeout; dumps it with SIGQUIT and kills it. It follows top-level tests
/// through their `run`, `pause`, `cont` and final events, so a parallel
/// test waiting for its turn is not counted as running.
pub(super) struct Watchdog {
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
    pub(super) fn start(
        pid: Option<u32>,
        timeout: Option<Duration>,
        prober: Option<Prober>,
    ) -> Watchdog {
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
    pub(super) fn observe(&self, event: &TestEvent) -> bool {
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
