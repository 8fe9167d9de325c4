//! The leakcheck end of the helper protocol: a Unix socket that one test
//! binary's helper connects to.
//!
//! Protocol (all from the helper). A connection carries one test run at a
//! time, and the helper keeps it for later runs once the run is judged, so
//! a connection carries any number of runs one after the other:
//! - `start RUN SEQ LEN\n` + LEN bytes of dump, taken before the test;
//! - `start= RUN GID SEQ 0\n` instead, when the runtime's count of created
//!   goroutines proves that none was created since the previous snapshot
//!   but the run's own goroutine GID (if even that): snapshot SEQ is the
//!   previous one plus GID. ("Snapshot" is a dump, or a message that
//!   stands for one: `start=`; profiles are not snapshots.)
//! - `end RUN STATUS SEQ LEN\n` + dump, after the test (STATUS is
//!   `pass`, `fail` or `skip`); leakcheck answers `again\n` (send another
//!   dump) or `done\n`;
//! - `end= RUN STATUS SEQ 0\n` instead, when no goroutine was created since
//!   the run's start snapshot: a dump would list none that the start did
//!   not, so the run is clean. Not answered: the helper goes on at once
//!   (most tests start no goroutine, and a round trip per test was most of
//!   leakcheck's cost on small tests). The runner still needs the verdict
//!   at the test's `--- PASS` line, which the helper prints after sending
//!   `end=`: [`HelperListener::wait_verdict`] waits for it;
//! - `again RUN SEQ LEN\n` + dump, answered the same way; leakcheck may
//!   also answer `leakprofile\n`: send the goroutine leak profile next;
//! - `control - 0 0\n` once per process, on a connection that then
//!   carries probes: leakcheck writes `leakprofile\n`, the helper answers
//!   `probe - SEQ LEN\n` + the goroutine leak profile (to find tests whose
//!   own goroutine is proven deadlocked while they run, and to judge
//!   deferred runs, below); or `dump\n`, answered `dumped - SEQ LEN\n` +
//!   a plain dump (to judge deferred runs); or `exact\n`, not answered:
//!   stop deferring checks in this process (see
//!   [`Comparator::wants_exact`]);
//! - with `LEAKCHECK_DEFER=1` (the default; not with `--no-defer-checks`),
//!   in a crowded process (1,000 goroutines or more, with labels in dumps
//!   and probes: Go 1.26+), where a dump per run would cost tens of
//!   milliseconds: `start~ RUN GID SEQ 0\n` instead of a start dump (the
//!   previous snapshot is stale: goroutines created since it are judged
//!   by their labels, or by the window between the full dumps around
//!   them), and, for a parallel test or one whose live goroutine count
//!   shows that nothing it created outlived it, `end~ RUN STATUS COUNTS
//!   SEQ 0\n` instead of an end dump, not answered: the run is judged
//!   with every later full dump. COUNTS is `clean` for the latter: none
//!   outlived it, unless an older goroutine ended meanwhile and hid one
//!   in the count, which the comparator rules out with the full dumps
//!   around the run (see [`Comparator::end_deferred`]); `-` for a
//!   parallel test (the count mixes other tests' goroutines). Any other
//!   run ends with a dump (`end`), as in any process. [`HelperListener::wait_verdict`] asks for dumps
//!   through the probe connection, at most a third of the time; after the
//!   last test of a round the helper sends `check - SEQ 0\n`, answered
//!   `done\n` when no deferred run is left, else `again\n` or
//!   `leakprofile\n`, whichever the runs need: then `check - SEQ LEN\n` +
//!   that dump, answered like `end` until no deferred run is left;
//! - `ask RUN 0 0\n` before a run, when the helper runs with
//!   `LEAKCHECK_ASK=1`: leakcheck answers `run\n` or `skip\n` (a test
//!   that already leaked is not repeated under `--until-leak`).
//!
//! SEQ numbers the helper's dumps (and the short messages) in the order
//! they were taken; messages reach the comparator in that order whatever
//! connection they came on. The helper sends the short messages only when
//! the runtime counts created goroutines (`/sched/goroutines-created`,
//! Go 1.26+); older runtimes always get full dumps. [`PROTOCOL_LOG_ENV`]
//! logs every header.
//! This module owns the socket, the threads that serve it, and handing
//! verdicts to the runner; all decisions are the comparator's.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::compare::{Comparator, Decision, RunStatus, RunVerdict};
use crate::error::Error;

/// Names a file that gets every message header from every helper, one
/// line each (`KIND RUN ... SEQ LEN`), and a line `exact` when leakcheck
/// asks a helper for exact windows, appended: for seeing what the
/// protocol did (how many dumps a run took, which runs were judged later).
pub const PROTOCOL_LOG_ENV: &str = "LEAKCHECK_PROTOCOL_LOG";

/// Appends `line` to the protocol log, if one is asked for.
fn log_message(line: &str) {
    use std::sync::OnceLock;
    static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let path = std::env::var_os(PROTOCOL_LOG_ENV).filter(|p| !p.is_empty())?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(file) = log {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(line.as_bytes());
    }
}

/// How long a message may wait for an earlier-numbered one before it is
/// processed anyway (only a helper that died mid-write leaves a gap).
const ORDER_WAIT: Duration = Duration::from_secs(5);

struct State {
    next_seq: u64,
    comparator: Comparator,
    /// Verdicts by test name, oldest first.
    verdicts: HashMap<String, VecDeque<RunVerdict>>,
    /// Protocol problems, reported by the runner.
    errors: Vec<String>,
    /// Tests that leaked in an earlier run.
    leaked: std::collections::HashSet<String>,
    /// Connections accepted, and those still open.
    accepted: usize,
    open: usize,
    /// Dumps asked for to judge deferred runs (see `wait_verdict`): one
    /// on its way, and when the last one was asked for and came.
    check_asked: Option<Instant>,
    check_came: Option<Instant>,
    /// How long the last one took.
    check_cost: Duration,
    /// The helper was told to dump every run again
    /// ([`Comparator::wants_exact`]).
    exact_asked: bool,
}

struct Shared {
    state: Mutex<State>,
    order: Condvar,
    /// The helper's probe connection, when it has the leak profile.
    control: Mutex<Option<UnixStream>>,
    /// The latest probe answer, and a signal for it.
    probe: Mutex<Option<String>>,
    probed: Condvar,
}

impl State {
    /// Keeps a decision's verdict, if it is one; returns the helper's
    /// answer to it and how long to wait before giving it.
    fn settle(&mut self, decision: Decision) -> (&'static str, Duration) {
        match decision {
            Decision::Done(v) => {
                self.push_verdict(v);
                ("done\n", Duration::ZERO)
            }
            Decision::LeakProfile(wait) => ("leakprofile\n", wait),
            Decision::Again(wait) => ("again\n", wait),
        }
    }

    fn push_verdict(&mut self, v: RunVerdict) {
        if !v.leaks.is_empty() {
            self.leaked.insert(v.test.clone());
        }
        self.verdicts
            .entry(v.test.clone())
            .or_default()
            .push_back(v);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the helper for a dump (or the leak profile) that judges the
    /// deferred runs, unless one is on its way or the last one came less
    /// than twice its cost ago; then returns when to ask again.
    fn ask_for_check(&self, state: &mut State, profile: bool, now: Instant) -> Option<Instant> {
        if state.check_asked.is_some() {
            return None;
        }
        let allowed = state
            .check_came
            .map_or(now, |came| came + state.check_cost * 2);
        if now < allowed {
            return Some(allowed);
        }
        let request: &[u8] = if profile { b"leakprofile\n" } else { b"dump\n" };
        let mut control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = control.as_mut() {
            if c.write_all(request).is_ok() {
                state.check_asked = Some(now);
            }
        }
        None
    }
}

/// Serves one test binary's helper.
pub struct HelperListener {
    path: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<Connection>>>,
}

/// A connection's thread, and a handle to shut the connection down.
type Connection = (JoinHandle<()>, Option<UnixStream>);

impl HelperListener {
    /// Listens on a new socket at `path`.
    pub fn bind(path: &Path, comparator: Comparator) -> Result<HelperListener, Error> {
        let listener = UnixListener::bind(path)
            .map_err(|e| Error::io(format!("listening on {}", path.display()), e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_seq: 1,
                comparator,
                verdicts: HashMap::new(),
                errors: Vec::new(),
                leaked: Default::default(),
                accepted: 0,
                open: 0,
                check_asked: None,
                check_came: None,
                check_cost: Duration::ZERO,
                exact_asked: false,
            }),
            order: Condvar::new(),
            control: Mutex::new(None),
            probe: Mutex::new(None),
            probed: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (shared, stop, connections) = (shared.clone(), stop.clone(), connections.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shutdown = stream.try_clone().ok();
                    let shared = shared.clone();
                    {
                        let mut state = shared.lock();
                        state.accepted += 1;
                        state.open += 1;
                    }
                    let handle = std::thread::spawn(move || {
                        serve(stream, &shared);
                        shared.lock().open -= 1;
                        shared.order.notify_all();
                    });
                    connections
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((handle, shutdown));
                }
            })
        };
        Ok(HelperListener {
            path: path.to_path_buf(),
            shared,
            stop,
            accept: Mutex::new(Some(accept)),
            connections,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hang report of `test` from a dump of the live process (see
    /// [`Comparator::hang_report`]), for its oldest run still running.
    pub fn hang_report(&self, test: &str, dump: &str) -> Option<(Vec<crate::compare::Leak>, bool)> {
        let state = self.shared.lock();
        let run = state.comparator.running_runs_of(test).into_iter().next()?;
        Some(
            state
                .comparator
                .hang_report(&run, &crate::stack::Snapshot::parse(dump)),
        )
    }

    /// The test that goroutine `gid` of `dump` belongs to, if known.
    pub fn test_of_goroutine(&self, dump: &str, gid: u64) -> Option<String> {
        let state = self.shared.lock();
        let run = state
            .comparator
            .run_of(&crate::stack::Snapshot::parse(dump), gid)?;
        Some(Comparator::test_of_run(&run).to_string())
    }

    /// A handle that can ask the live process for its goroutine leak
    /// profile.
    pub fn prober(&self) -> Prober {
        Prober {
            shared: self.shared.clone(),
        }
    }

    /// The oldest verdict not yet taken for `test`.
    pub fn take_verdict(&self, test: &str) -> Option<RunVerdict> {
        self.shared.lock().verdicts.get_mut(test)?.pop_front()
    }

    /// The oldest verdict not yet taken for `test`, waiting for it: for a
    /// test whose run the helper has ended (its result line is out), so
    /// that its last message is sent and on its way (`end=` is not
    /// answered, so the helper does not wait for it to be judged). Gives
    /// up when every connection the helper made is closed (it exited), or
    /// after five seconds; a verdict that comes later is still returned
    /// by [`HelperListener::finish`].
    ///
    /// A run the helper ended without a dump (`end~`, a crowded process)
    /// is judged by the next dump: this asks for one through the probe
    /// connection, but not before twice the last one's cost has passed
    /// since it came, so that checks take at most a third of the time and
    /// the runs ended meanwhile are judged together.
    pub fn wait_verdict(&self, test: &str) -> Option<RunVerdict> {
        let start = Instant::now();
        let mut deadline = start + ORDER_WAIT;
        let mut state = self.shared.lock();
        loop {
            if let Some(v) = state.verdicts.get_mut(test).and_then(VecDeque::pop_front) {
                return Some(v);
            }
            let now = Instant::now();
            if (state.accepted > 0 && state.open == 0) || now >= deadline {
                return None;
            }
            let mut wake = deadline;
            if state.comparator.deferred_of(test).is_some() {
                // Judged within its grace period, with dumps asked for
                // (when one could judge some run, this one or one it
                // waits for: none while all wait for runs still running).
                deadline = deadline.max(start + ORDER_WAIT + state.comparator.grace());
                if let Some(profile) = state.comparator.dump_would_judge() {
                    if let Some(allowed) = self.shared.ask_for_check(&mut state, profile, now) {
                        wake = wake.min(allowed);
                    }
                }
            }
            state = wait_until(&self.shared.order, state, wake);
        }
    }

    /// Stops listening and waits for the connection threads (the test
    /// binary has exited, so they are at end of stream). A connection
    /// still open after five seconds (a process the binary started kept
    /// it) is shut down. Returns the runs that started and were never
    /// judged, verdicts never taken, and protocol errors.
    pub fn finish(&self) -> Finished {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.path); // wake the accept loop
        let accept = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = accept {
            let _ = h.join();
        }
        {
            let deadline = Instant::now() + ORDER_WAIT;
            let mut state = self.shared.lock();
            while state.open > 0 && Instant::now() < deadline {
                state = wait_until(&self.shared.order, state, deadline);
            }
        }
        let connections =
            std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner()));
        for (thread, stream) in connections {
            if !thread.is_finished() {
                if let Some(s) = stream {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }
            }
            let _ = thread.join();
        }
        let mut state = self.shared.lock();
        let _ = std::fs::remove_file(&self.path);
        let unjudged = state.comparator.unjudged_runs();
        Finished {
            unjudged,
            unfinished: state.comparator.unfinished_runs(),
            verdicts: std::mem::take(&mut state.verdicts),
            errors: std::mem::take(&mut state.errors),
        }
    }
}

/// Asks a running test binary for its goroutine leak profile.
#[derive(Clone)]
pub struct Prober {
    shared: Arc<Shared>,
}

impl Prober {
    /// Whether the helper offered probes (the binary has the profile).
    pub fn available(&self) -> bool {
        self.shared
            .control
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Takes the leak profile of the live process, waiting up to `timeout`.
    pub fn probe(&self, timeout: Duration) -> Option<String> {
        *self.shared.probe.lock().unwrap_or_else(|e| e.into_inner()) = None;
        {
            let mut control = self
                .shared
                .control
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            control.as_mut()?.write_all(b"leakprofile\n").ok()?;
        }
        let deadline = Instant::now() + timeout;
        let mut answer = self.shared.probe.lock().unwrap_or_else(|e| e.into_inner());
        while answer.is_none() && Instant::now() < deadline {
            answer = wait_until(&self.shared.probed, answer, deadline);
        }
        answer.take()
    }

    /// The first of `tests` whose own goroutine `dump` marks as proven
    /// leaked: a deadlock nothing can undo.
    pub fn proven_deadlocked(&self, tests: &[String], dump: &str) -> Option<String> {
        let state = self.shared.lock();
        let gids: Vec<Vec<u64>> = tests
            .iter()
            .map(|t| {
                let runs = state.comparator.running_runs_of(t);
                runs.iter()
                    .filter_map(|run| state.comparator.gid_of_run(run))
                    .collect()
            })
            .collect();
        drop(state);
        // Only the tests' own goroutines are parsed, the first of each ID
        // (as Snapshot::get finds them).
        let mut leaked: HashMap<u64, bool> = HashMap::new();
        let wanted = |id: u64| gids.iter().flatten().any(|g| *g == id);
        for g in crate::stack::Goroutines::new(dump, wanted) {
            leaked.entry(g.id).or_insert(g.leaked);
        }
        tests
            .iter()
            .zip(&gids)
            .find(|(_, gids)| gids.iter().any(|g| leaked.get(g) == Some(&true)))
            .map(|(t, _)| t.clone())
    }
}

/// What a listener leaves when its binary has exited.
pub struct Finished {
    /// Runs that started and were never judged, in start order.
    pub unfinished: Vec<String>,
    /// Of those, the runs that ended without a dump (`end~`): their test
    /// finished, but whether it leaked is not known.
    pub unjudged: Vec<String>,
    pub verdicts: HashMap<String, VecDeque<RunVerdict>>,
    pub errors: Vec<String>,
}

/// One message from the helper.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    kind: String,
    run: String,
    status: Option<RunStatus>,
    /// The run's goroutine (`start=`).
    gid: Option<u64>,
    /// `end~` said `clean`: see [`Comparator::end_deferred`].
    count_clean: bool,
    seq: u64,
    len: usize,
}

fn parse_header(line: &str) -> Option<Message> {
    let mut parts: Vec<&str> = line.trim_end().split(' ').collect();
    let len = parts.pop()?.parse().ok()?;
    let seq = parts.pop()?.parse().ok()?;
    let status = |s: &str| match s {
        "fail" => RunStatus::Fail,
        "skip" => RunStatus::Skip,
        _ => RunStatus::Pass,
    };
    let mut count_clean = false;
    let (kind, run, status, gid) = match parts.as_slice() {
        ["start", run]
        | ["again", run]
        | ["ask", run]
        | ["control", run]
        | ["probe", run]
        | ["dumped", run]
        | ["check", run] => (parts[0], *run, None, None),
        ["end", run, s] | ["end=", run, s] => (parts[0], *run, Some(status(s)), None),
        ["end~", run, s, counts] => {
            count_clean = *counts == "clean";
            (parts[0], *run, Some(status(s)), None)
        }
        ["start=", run, gid] | ["start~", run, gid] => {
            (parts[0], *run, None, Some(gid.parse().ok()?))
        }
        _ => return None,
    };
    Some(Message {
        kind: kind.to_string(),
        run: run.to_string(),
        status,
        gid,
        count_clean,
        seq,
        len,
    })
}

/// Waits on `signal` once, until `deadline` at the latest (a lock poisoned
/// by a panicking thread is used all the same).
fn wait_until<'a, T>(
    signal: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Instant,
) -> MutexGuard<'a, T> {
    signal
        .wait_timeout(guard, deadline.saturating_duration_since(Instant::now()))
        .map(|(g, _)| g)
        .unwrap_or_else(|e| e.into_inner().0)
}

/// The largest message buffer a connection keeps between messages.
const KEEP_BUFFER: usize = 1 << 20;

/// `bytes` as text, bytes that are not UTF-8 replaced.
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn serve(stream: UnixStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut dump = Vec::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => log_message(&line),
        }
        let Some(msg) = parse_header(&line) else {
            shared.lock().errors.push(format!(
                "unexpected message from the helper: {:?}",
                line.trim_end()
            ));
            return;
        };
        if msg.kind == "control" {
            if let Ok(w) = writer.try_clone() {
                *shared.control.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
            }
            continue;
        }
        if msg.kind == "ask" {
            let test = Comparator::test_of_run(&msg.run).to_string();
            let mut state = shared.lock();
            let reply = if state.leaked.contains(&test) {
                state
                    .verdicts
                    .entry(test.clone())
                    .or_default()
                    .push_back(RunVerdict {
                        run: msg.run.clone(),
                        test,
                        status: RunStatus::NotRun,
                        leaks: Vec::new(),
                        ignored: Vec::new(),
                    });
                "skip\n"
            } else {
                "run\n"
            };
            drop(state);
            if writer.write_all(reply.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        dump.resize(msg.len, 0);
        if reader.read_exact(&mut dump).is_err() {
            return;
        }
        // A probe's dump is handed over whole: it takes the buffer.
        let mut probe = (msg.kind == "probe").then(|| utf8(std::mem::take(&mut dump)));
        // Dumps are UTF-8 but for label values or file names that are
        // not: checking is fast, replacing is rare.
        let text = match std::str::from_utf8(&dump) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&dump),
        };
        let answer = {
            let mut state = shared.lock();
            let deadline = Instant::now() + ORDER_WAIT;
            while state.next_seq < msg.seq && Instant::now() < deadline {
                state = wait_until(&shared.order, state, deadline);
            }
            let now = Instant::now();
            // Every full dump also judges the runs that wait for one.
            let full = matches!(
                msg.kind.as_str(),
                "probe" | "dumped" | "start" | "end" | "again"
            );
            if full || msg.kind == "check" {
                // What a dump costs the binary: about 150 MB/s of dump
                // while the world is stopped, or what the last one asked
                // for took, if more.
                let estimate = Duration::from_secs_f64(msg.len as f64 / 150e6);
                let measured = match (msg.kind.as_str(), state.check_asked) {
                    ("probe" | "dumped", Some(asked)) => now.saturating_duration_since(asked),
                    _ => Duration::ZERO,
                };
                state.check_cost = estimate.max(measured);
                state.check_came = Some(now);
            }
            if full {
                let dump = probe.as_deref().unwrap_or(&text);
                if state.comparator.has_deferred() {
                    let (verdicts, _) = state.comparator.check_deferred(msg.seq, dump, now);
                    for v in verdicts {
                        state.push_verdict(v);
                    }
                } else if matches!(msg.kind.as_str(), "probe" | "dumped") {
                    // (start, end and again observe their dump themselves)
                    state.comparator.observe_dump(msg.seq, dump);
                }
            }
            // What to answer, and after how long (`None`: no answer).
            let answer = match msg.kind.as_str() {
                "probe" => {
                    state.check_asked = None;
                    *shared.probe.lock().unwrap_or_else(|e| e.into_inner()) = probe.take();
                    shared.probed.notify_all();
                    None
                }
                "dumped" => {
                    // Asked for by wait_verdict, judged above; the
                    // watchdog's probes are answered as "probe".
                    state.check_asked = None;
                    None
                }
                "check" if msg.len == 0 => {
                    // After the last test, before any dump: which one the
                    // deferred runs need, if any (one judged with a dump
                    // already may want the leak profile). A dump asked for
                    // and not come yet was taken after this message, if at
                    // all: it cannot be waited for here (messages are
                    // handled in order), so this one is asked regardless.
                    let pending = state.comparator.pending_check();
                    if pending.is_some() {
                        // That dump is the check on its way: none is asked
                        // for meanwhile (two would be in memory at once).
                        state.check_asked = Some(now);
                    }
                    Some(match pending {
                        None => ("done\n", Duration::ZERO),
                        Some(true) => ("leakprofile\n", Duration::ZERO),
                        Some(false) => ("again\n", Duration::ZERO),
                    })
                }
                "check" => {
                    state.check_asked = None;
                    // What the deferred runs still need.
                    let (verdicts, next) = state.comparator.check_deferred(msg.seq, &text, now);
                    for v in verdicts {
                        state.push_verdict(v);
                    }
                    Some(next.map_or(("done\n", Duration::ZERO), |d| state.settle(d)))
                }
                "end~" => {
                    let status = msg.status.unwrap_or(RunStatus::Pass);
                    state
                        .comparator
                        .end_deferred(&msg.run, status, msg.seq, msg.count_clean, now);
                    // Judged as soon as the cost allows, not only when the
                    // runner needs the verdict: the binary may end first.
                    shared.ask_for_check(&mut state, false, now);
                    None
                }
                "start" => {
                    state.comparator.start(&msg.run, msg.seq, &text);
                    None
                }
                "start=" | "start~" => {
                    let gid = msg.gid.unwrap_or(0);
                    if msg.kind == "start~" {
                        state.comparator.start_deferred(&msg.run, msg.seq, gid);
                    } else {
                        state.comparator.start_same(&msg.run, msg.seq, gid);
                    }
                    None
                }
                "end=" => {
                    let status = msg.status.unwrap_or(RunStatus::Pass);
                    let d = state.comparator.end_same(&msg.run, status, msg.seq, now);
                    state.settle(d);
                    None // not answered: judged at once (clean), see the protocol
                }
                "end" => {
                    let status = msg.status.unwrap_or(RunStatus::Pass);
                    let d = state.comparator.end(&msg.run, status, msg.seq, &text, now);
                    Some(state.settle(d))
                }
                _ => {
                    let d = state.comparator.again(&msg.run, msg.seq, &text, now);
                    Some(state.settle(d))
                }
            };
            if state.comparator.wants_exact() && !state.exact_asked {
                // From now on a dump at every run's start and end.
                let mut control = shared.control.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = control.as_mut() {
                    state.exact_asked = c.write_all(b"exact\n").is_ok();
                    log_message("exact\n");
                }
            }
            state.next_seq = state.next_seq.max(msg.seq + 1);
            shared.order.notify_all();
            answer
        };
        drop(text);
        if dump.capacity() > KEEP_BUFFER {
            // A big dump: give the memory back rather than keep it for the
            // connection's lifetime.
            dump = Vec::new();
        }
        let Some((reply, wait)) = answer else {
            continue;
        };
        std::thread::sleep(wait);
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(dir: &Path) -> HelperListener {
        let comparator = Comparator::new(crate::compare::CompareConfig {
            grace: Duration::from_millis(100),
            ignore: Default::default(),
            goroot: "/usr/local/go".into(),
            leak_profile: false,
        });
        HelperListener::bind(&dir.join("s.sock"), comparator).unwrap()
    }

    #[test]
    fn end_without_a_dump_is_judged_but_not_answered() {
        let dir = tempfile::tempdir().unwrap();
        let listener = listener(dir.path());
        let mut helper = UnixStream::connect(listener.path()).unwrap();
        let dump = "goroutine 7 [running]:\nmain.TestA(0xc000)\n\t/m/a_test.go:9 +0x1d\n";
        let start = format!("start TestA#1 1 {}\n{dump}", dump.len());
        helper.write_all(start.as_bytes()).unwrap();
        helper.write_all(b"end= TestA#1 pass 2 0\n").unwrap();
        // The result line comes after `end=` was sent: the verdict is
        // waited for, whatever the listener's lag.
        let v = listener.wait_verdict("TestA").expect("a verdict");
        assert_eq!((v.run.as_str(), v.status), ("TestA#1", RunStatus::Pass));
        assert!(v.leaks.is_empty());
        helper
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut byte = [0u8; 1];
        let read = helper.read(&mut byte);
        assert!(
            matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "end= got an answer: {read:?}"
        );
        // A test that never reports: no wait once the helper is gone.
        drop(helper);
        let t0 = Instant::now();
        assert!(listener.wait_verdict("TestB").is_none());
        assert!(t0.elapsed() < ORDER_WAIT);
        listener.finish();
    }

    #[test]
    fn finish_does_not_wait_forever_for_a_connection_left_open() {
        // A process the test binary started inherited the connection and
        // outlives the binary.
        let dir = tempfile::tempdir().unwrap();
        let listener = listener(dir.path());
        let held = UnixStream::connect(listener.path()).unwrap();
        while listener.shared.lock().open == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let t0 = Instant::now();
        listener.finish();
        assert!(t0.elapsed() < ORDER_WAIT * 2);
        drop(held);
    }

    #[test]
    fn parses_protocol_headers() {
        assert_eq!(
            parse_header("end TestA#3 fail 12 345\n"),
            Some(Message {
                kind: "end".into(),
                run: "TestA#3".into(),
                status: Some(RunStatus::Fail),
                gid: None,
                count_clean: false,
                seq: 12,
                len: 345
            })
        );
        let deferred = parse_header("end~ TestA#5 pass clean 15 0\n").unwrap();
        assert_eq!(
            (deferred.kind.as_str(), deferred.count_clean, deferred.seq),
            ("end~", true, 15)
        );
        assert!(
            !parse_header("end~ TestA#5 pass - 15 0\n")
                .unwrap()
                .count_clean
        );
        assert_eq!(parse_header("end~ TestA#5 pass 15 0\n"), None);
        let same = parse_header("start= TestA#4 17 13 0\n").unwrap();
        assert_eq!(
            (same.kind.as_str(), same.gid, same.seq),
            ("start=", Some(17), 13)
        );
        let same = parse_header("end= TestA#4 skip 14 0\n").unwrap();
        assert_eq!(
            (same.kind.as_str(), same.status),
            ("end=", Some(RunStatus::Skip))
        );
        assert_eq!(parse_header("start= TestA#1 x 3 0\n"), None);
        assert_eq!(parse_header("start TestA#1 1 10\n").unwrap().kind, "start");
        assert_eq!(parse_header("again TestA#1 2 10\n").unwrap().len, 10);
        assert_eq!(parse_header("bogus\n"), None);
        assert_eq!(parse_header("start TestA#1 x 10\n"), None);
    }
}
