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
/// timeout; dumps it with SIGQUIT and kills it. It follows top-level tests
/// through their `run`, `pause`, `cont` and final events, so a parallel
/// test waiting for its turn is not counted as running.
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
    /// All top-level tests started and not finished, paused or not.
    started: Vec<String>,
    hung: Option<(String, Duration)>,
    /// The leak profile that proved the hung test deadlocked.
    proven_dump: Option<String>,
    /// The process ran past its limit, this one, and was killed.
    too_long: Option<Duration>,
    stop: bool,
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
        let past_limit = limit.filter(|l| now.duration_since(began) >= *l);
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
