//! The leakcheck end of the hook's protocol: one connection per test
//! binary process, a Unix socket pair whose other end the process gets as
//! a file descriptor (see [`HelperListener::new`]).
//!
//! Protocol. leakcheck first writes `key KEY\n` on the connection, before
//! the process starts: KEY is 32 random hex digits, new for each process.
//! The hook reads it in its `init` and then sends messages, each a header
//! line `KEY KIND ARGS... LEN\n` and LEN bytes of body (a goroutine dump,
//! or none). A test can find the connection (it is fd 3 in its own
//! process) and write to it, but it cannot read what leakcheck never
//! sends back: a header without the key is tampering, and fails the
//! package. So does a header that does not parse, a body over
//! [`MAX_BODY`] bytes, or a message that contradicts the runs known (a
//! run started twice, or ended before it started).
//! Messages come in the order the hook took their snapshots, one exchange
//! at a time; each is numbered here as it comes (its SEQ for the
//! [`Comparator`]). RUN is a run's ID, `TestName#N`.
//!
//! | message | body | meaning | answered |
//! | --- | --- | --- | --- |
//! | `start RUN GID LEN` | dump | a run starts on goroutine GID | no |
//! | `start= RUN GID 0` | | the same, and no goroutine but GID was created since the last dump: that dump plus GID is the snapshot | no |
//! | `start~ RUN GID 0` | | the same in a crowded process: goroutines created since the last dump may be there too | no |
//! | `sub ID GID 0` | | a subtest starts on goroutine GID; ID is its run's ID and the rest of its name (`TestX#3/a/b`); only where dumps show no labels (before Go 1.26), which name the subtest otherwise | no |
//! | `end RUN STATUS LEN` | dump | the run's test function returned (after its cleanups and subtests); STATUS is `pass`, `fail` or `skip` | yes |
//! | `end= RUN STATUS 0` | | the same, and no goroutine was created since its start: it is clean | no |
//! | `end~ RUN STATUS COUNT 0` | | the same in a crowded process: judged with a later dump; COUNT `clean` says no more goroutines were alive than in the last dump, tests' own aside (see [`Comparator::end_deferred`]), else `-` | no |
//! | `dump RUN LEN` | dump or leak profile | asked for by the answer to the run's last message; RUN `-`: for the runs judged later (LEN 0 at the end of a round: what do they need?) | yes |
//! | `probe - LEN` | leak profile | sent by a timer while runs go on, to find a test whose own goroutine is proven deadlocked | no |
//! | `res RUN start\|end PID HEAP PAUSED LEN` | heap profile or none | with `--check` (resources), after a run's start and after its end was judged: the process waits while leakcheck looks at it (see [`crate::detect::resources::tracker`]); HEAP is the live heap after a GC or `-`, PAUSED the runs paused in `t.Parallel` (`,`-separated) or `-` | yes: `again MS`, `heap` (the live heap), `heap profile` (and the profile), `done` |
//!
//! Answers are one line: `again MS` (send a dump after MS milliseconds),
//! `profile MS` (the goroutine leak profile after MS milliseconds), or
//! `done`; `done exact` also asks for a dump at every run's start and end
//! from then on (see [`Comparator::wants_exact`]).
//!
//! [`PROTOCOL_LOG_ENV`] logs every header. This module owns the
//! connection, the thread that serves it, and handing verdicts to the
//! runner; all decisions are the comparator's.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::detect::compare::{Comparator, Decision, RunStatus, RunVerdict};
use crate::detect::resources::tracker::{self, Judged, Tracker};
use crate::error::Error;

/// Names a file that gets every message header from every hook, one line
/// each, appended: for seeing what the protocol did (how many dumps a run
/// took, which runs were judged later).
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

/// How long a test's verdict is waited for when no run of it is known to
/// be waiting for one (its last message may still be on its way).
const VERDICT_WAIT: Duration = Duration::from_secs(5);

/// How long the connection may stay open after the test binary exited (a
/// process it started kept it) before it is shut down.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

struct State {
    next_seq: u64,
    comparator: Comparator,
    /// Verdicts by test name, oldest first.
    verdicts: HashMap<String, VecDeque<RunVerdict>>,
    /// Protocol problems, reported by the runner.
    errors: Vec<String>,
    /// The connection is at its end.
    closed: bool,
    /// The hook was told to dump every run again.
    exact_told: bool,
    /// The time the process's runs waited for their checks, in all: the
    /// hook postpones the binary's -timeout alarm by as much.
    checking: Duration,
    /// How many probes have come, and the latest that proved tests
    /// deadlocked: those tests, and its leak profile (for their hang
    /// reports). Other probes are not kept.
    probes: u64,
    proven: Option<(u64, Vec<String>, Arc<String>)>,
    /// With resource checks: the tracker, verdicts waiting for their
    /// run's resources, and resources waiting for their run's verdict.
    tracker: Option<Tracker>,
    held: HashMap<String, RunVerdict>,
    judged: HashMap<String, Judged>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Keeps a decision's verdict, if it is one; returns the hook's
    /// answer to it.
    fn answer(&mut self, decision: Decision) -> String {
        let answer = match decision {
            Decision::Done(v) => {
                self.push_verdict(v);
                return self.done();
            }
            Decision::LeakProfile(wait) => format!("profile {}\n", millis(wait)),
            Decision::Again(wait) => format!("again {}\n", millis(wait)),
        };
        answer
    }

    /// `done`, and `exact` the first time the comparator wants it.
    fn done(&mut self) -> String {
        if self.comparator.wants_exact() && !self.exact_told {
            self.exact_told = true;
            log_message("exact\n");
            return "done exact\n".to_string();
        }
        "done\n".to_string()
    }

    /// Keeps a verdict for the runner; with resource checks, once its
    /// run's resources are judged too.
    fn push_verdict(&mut self, mut v: RunVerdict) {
        if self.tracker.is_some() {
            match self.judged.remove(&v.run) {
                Some(j) => attach(&mut v, j),
                None => {
                    self.held.insert(v.run.clone(), v);
                    return;
                }
            }
        }
        self.push_ready(v);
    }

    /// A run's resources are judged: to its verdict.
    fn resources_judged(&mut self, run: &str, j: Judged) {
        match self.held.remove(run) {
            Some(mut v) => {
                attach(&mut v, j);
                self.push_ready(v);
            }
            None => {
                self.judged.insert(run.to_string(), j);
            }
        }
    }

    fn push_ready(&mut self, v: RunVerdict) {
        self.checking += v.check;
        self.verdicts
            .entry(v.test.clone())
            .or_default()
            .push_back(v);
    }
}

fn attach(v: &mut RunVerdict, j: Judged) {
    v.resources = j.resources;
    crate::detect::resources::kept::link_heap(&mut v.leaks, &mut v.resources);
    crate::detect::resources::keepalive::exempt_idle_sockets(&v.ignored, &mut v.resources);
    v.ignored.extend(j.ignored);
    v.check += j.waited;
}

/// A wait in whole milliseconds, rounded up.
fn millis(d: Duration) -> u128 {
    d.as_nanos().div_ceil(1_000_000)
}

/// Serves one test binary process's hook.
pub struct HelperListener {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Our end of the connection, to shut it down.
    stream: UnixStream,
}

impl HelperListener {
    /// A connection for one process: the listener, and the other end, for
    /// the process to inherit (see [`HelperListener::hook_env`]).
    pub fn new(comparator: Comparator) -> Result<(HelperListener, UnixStream), Error> {
        Self::with_resources(comparator, None)
    }

    /// The same, with resource checks judged by `tracker`.
    pub fn with_resources(
        comparator: Comparator,
        tracker: Option<Tracker>,
    ) -> Result<(HelperListener, UnixStream), Error> {
        let (mut ours, theirs) =
            UnixStream::pair().map_err(|e| Error::io("creating a socket pair", e))?;
        let key = new_key()?;
        // Waits in the socket's buffer for the hook's init.
        ours.write_all(format!("key {key}\n").as_bytes())
            .map_err(|e| Error::io("writing to a socket pair", e))?;
        let shutdown = ours
            .try_clone()
            .map_err(|e| Error::io("creating a socket pair", e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_seq: 1,
                comparator,
                verdicts: HashMap::new(),
                errors: Vec::new(),
                closed: false,
                exact_told: false,
                checking: Duration::ZERO,
                probes: 0,
                proven: None,
                tracker,
                held: HashMap::new(),
                judged: HashMap::new(),
            }),
            changed: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                if let Err(e) = serve(ours, &key, &shared) {
                    shared.lock().errors.push(e);
                }
                shared.lock().closed = true;
                shared.changed.notify_all();
            })
        };
        Ok((
            HelperListener {
                shared,
                thread: Mutex::new(Some(thread)),
                stream: shutdown,
            },
            theirs,
        ))
    }

    /// The value of `LEAKCHECK_HELPER` for a process that has the other end
    /// as file descriptor `fd`: `labels`, dumps can show pprof labels (Go
    /// 1.26+); `probe`, the process has the goroutine leak profile;
    /// `defer_checks`, runs may be judged later in a crowded process.
    pub fn hook_env(fd: i32, labels: bool, probe: Option<Duration>, defer_checks: bool) -> String {
        format!(
            "fd={fd} labels={} probe={} defer={}",
            u8::from(labels),
            probe.map_or(0, |d| d.as_millis()),
            u8::from(defer_checks)
        )
    }

    /// The hang report of `test` from a dump of the live process (see
    /// [`Comparator::hang_report`]), for its oldest run still running.
    pub fn hang_report(
        &self,
        test: &str,
        dump: &str,
    ) -> Option<(Vec<crate::detect::compare::Leak>, bool)> {
        let state = self.shared.lock();
        let run = state.comparator.running_runs_of(test).into_iter().next()?;
        Some(
            state
                .comparator
                .hang_report(&run, &crate::detect::stack::Snapshot::parse(dump)),
        )
    }

    /// The test that goroutine `gid` of `dump` belongs to, if known.
    pub fn test_of_goroutine(&self, dump: &str, gid: u64) -> Option<String> {
        let state = self.shared.lock();
        let run = state
            .comparator
            .run_of(&crate::detect::stack::Snapshot::parse(dump), gid)?;
        Some(Comparator::test_of_run(&run).to_string())
    }

    /// The latest probe that proved some of `tests` deadlocked, if it came
    /// after the `seen`-th probe: its number, the first of `tests` it
    /// proved (their own goroutine can never run again), and its leak
    /// profile.
    /// The time the process's runs have waited for their checks so far.
    pub fn checking(&self) -> Duration {
        self.shared.lock().checking
    }

    pub fn proven_after(&self, seen: u64, tests: &[String]) -> Option<(u64, String, Arc<String>)> {
        let state = self.shared.lock();
        let (n, proven, dump) = state.proven.as_ref().filter(|(n, _, _)| *n > seen)?;
        let test = tests.iter().find(|t| proven.contains(t))?;
        Some((*n, test.clone(), dump.clone()))
    }

    /// The oldest verdict not yet taken for `test`, waiting for it: for a
    /// test whose result line is out, so that its run's last message was
    /// sent before. A run judged later (a crowded process) is waited for
    /// as long as the connection is open; otherwise the wait ends after
    /// `VERDICT_WAIT`, or when the connection closes.
    pub fn wait_verdict(&self, test: &str) -> Option<RunVerdict> {
        let deadline = Instant::now() + VERDICT_WAIT;
        let mut state = self.shared.lock();
        loop {
            if let Some(v) = state.verdicts.get_mut(test).and_then(VecDeque::pop_front) {
                return Some(v);
            }
            if state.closed {
                return None;
            }
            let judged_later = state.comparator.deferred_of(test).is_some();
            if !judged_later && Instant::now() >= deadline {
                return None;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// The oldest verdict not yet taken for `test`, if there is one.
    pub fn take_verdict(&self, test: &str) -> Option<RunVerdict> {
        self.shared.lock().verdicts.get_mut(test)?.pop_front()
    }

    /// Waits for the connection's end (the test binary has exited); if a
    /// process it started keeps it open, shuts it down after
    /// `CLOSE_WAIT`. Returns the runs that started and were never
    /// judged, verdicts never taken, and protocol errors.
    pub fn finish(&self) -> Finished {
        {
            let deadline = Instant::now() + CLOSE_WAIT;
            let mut state = self.shared.lock();
            while !state.closed && Instant::now() < deadline {
                state = self
                    .shared
                    .changed
                    .wait_timeout(state, deadline.saturating_duration_since(Instant::now()))
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
        let mut state = self.shared.lock();
        // Verdicts whose resources never came (the process died first):
        // their leaks still count.
        let held: Vec<RunVerdict> = state.held.drain().map(|(_, v)| v).collect();
        for v in held {
            state.push_ready(v);
        }
        Finished {
            leftovers: state
                .tracker
                .as_mut()
                .map(|t| std::mem::take(&mut t.leftovers))
                .unwrap_or_default(),
            checking: state.comparator.checking_runs(),
            unjudged: state.comparator.unjudged_runs(),
            unfinished: state.comparator.unfinished_runs(),
            verdicts: std::mem::take(&mut state.verdicts),
            errors: std::mem::take(&mut state.errors),
        }
    }
}

/// A new connection's key: 128 random bits, in hex.
fn new_key() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "getting random bytes for the hook's key",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What a listener leaves when its binary has exited.
pub struct Finished {
    /// Runs that started and were never judged, in start order.
    pub unfinished: Vec<String>,
    /// Of those, the runs whose test function had returned: their check
    /// was cut short.
    pub checking: Vec<String>,
    /// Of those, the runs that ended without a dump (`end~`): their test
    /// finished, but whether it leaked is not known.
    pub unjudged: Vec<String>,
    pub verdicts: HashMap<String, VecDeque<RunVerdict>>,
    pub errors: Vec<String>,
    /// Processes found leaked (resource checks), to kill now.
    pub leftovers: Vec<tracker::Leftover>,
}

/// One message header from the hook.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    kind: Kind,
    /// A run's ID (a subtest's for `sub`), or `-`.
    run: String,
    gid: u64,
    status: RunStatus,
    /// `end~ ... clean`.
    count_clean: bool,
    len: usize,
    /// `res`: its fields.
    res: Option<Res>,
}

/// A `res` message's fields.
#[derive(Debug, PartialEq, Eq)]
struct Res {
    end: bool,
    pid: u32,
    heap: Option<u64>,
    paused: Vec<String>,
}

/// What a message says; see the table in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Start,
    StartSame,
    StartStale,
    Subtest,
    End,
    EndSame,
    EndLater,
    Dump,
    Probe,
    Res,
}

fn parse_header(line: &str) -> Option<Message> {
    let fields: Vec<&str> = line.strip_suffix('\n')?.split(' ').collect();
    let (&len, fields) = fields.split_last()?;
    let len = len.parse().ok()?;
    let status = |s: &str| match s {
        "pass" => Some(RunStatus::Pass),
        "fail" => Some(RunStatus::Fail),
        "skip" => Some(RunStatus::Skip),
        _ => None,
    };
    let none = len == 0;
    let (kind, run, gid, st) = match *fields {
        ["start", run, gid] => (Kind::Start, run, gid.parse().ok()?, RunStatus::Pass),
        ["start=", run, gid] if none => (Kind::StartSame, run, gid.parse().ok()?, RunStatus::Pass),
        ["start~", run, gid] if none => (Kind::StartStale, run, gid.parse().ok()?, RunStatus::Pass),
        ["sub", id, gid] if none => (Kind::Subtest, id, gid.parse().ok()?, RunStatus::Pass),
        ["end", run, s] => (Kind::End, run, 0, status(s)?),
        ["end=", run, s] if none => (Kind::EndSame, run, 0, status(s)?),
        ["end~", run, s, "clean" | "-"] if none => (Kind::EndLater, run, 0, status(s)?),
        ["dump", run] => (Kind::Dump, run, 0, RunStatus::Pass),
        ["probe", "-"] => (Kind::Probe, "-", 0, RunStatus::Pass),
        ["res", run, when @ ("start" | "end"), pid, heap, paused] => {
            let res = Res {
                end: when == "end",
                pid: pid.parse().ok()?,
                heap: match heap {
                    "-" => None,
                    h => Some(h.parse().ok()?),
                },
                paused: match paused {
                    "-" => Vec::new(),
                    p => p.split(',').map(str::to_string).collect(),
                },
            };
            return Some(Message {
                kind: Kind::Res,
                run: run.to_string(),
                gid: 0,
                status: RunStatus::Pass,
                count_clean: false,
                len,
                res: Some(res),
            });
        }
        _ => return None,
    };
    Some(Message {
        kind,
        run: run.to_string(),
        gid,
        status: st,
        count_clean: fields.get(3) == Some(&"clean"),
        len,
        res: None,
    })
}

/// The most memory a message's header alone may have reserved for its
/// body.
const MAX_RESERVE: usize = 256 << 20;

/// The largest body accepted: a goroutine dump of 4 million goroutines or
/// so. A header that announces more fails the package.
pub const MAX_BODY: usize = 2 << 30;

/// The longest header line accepted: a test name can be long, not this.
const MAX_HEADER: u64 = 1 << 20;

/// Serves the connection until its end; an error is a protocol problem.
fn serve(stream: UnixStream, key: &str, shared: &Shared) -> Result<(), String> {
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("the connection to the hook: {e}"))?;
    let result = serve_messages(BufReader::new(stream), &mut writer, key, shared);
    // After a protocol problem the hook finds its connection gone, and
    // its process ends (exit status 86) instead of waiting for answers.
    let _ = writer.shutdown(std::net::Shutdown::Both);
    result
}

fn serve_messages(
    mut reader: BufReader<UnixStream>,
    writer: &mut UnixStream,
    key: &str,
    shared: &Shared,
) -> Result<(), String> {
    let mut raw = Vec::new();
    let mut body = Vec::new();
    loop {
        raw.clear();
        match (&mut reader).take(MAX_HEADER).read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        // Not UTF-8 (the hook's headers are): shown as such, and refused.
        let line = String::from_utf8_lossy(&raw);
        let shown = || format!("{:?}", line.chars().take(200).collect::<String>());
        let Some(header) = line
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(' '))
        else {
            return Err(format!(
                "tampering: a message on the hook's connection that the hook did not send: {}",
                shown()
            ));
        };
        log_message(header);
        let msg = parse_header(header)
            .ok_or_else(|| format!("unexpected message from the hook: {}", shown()))?;
        if msg.len > MAX_BODY {
            return Err(format!(
                "the hook's message {:?} announces {} bytes, over the limit of {MAX_BODY}",
                header.trim_end(),
                msg.len
            ));
        }
        if let Some(wrong) = contradiction(&shared.lock().comparator, &msg) {
            return Err(format!(
                "the hook's message {:?} {wrong}",
                header.trim_end()
            ));
        }
        // Room for it at once, up to a bound (a bogus header is not
        // trusted with memory): the rest, if any, is read as it comes.
        body.clear();
        body.reserve(msg.len.min(MAX_RESERVE));
        let read = (&mut reader)
            .take(msg.len as u64)
            .read_to_end(&mut body)
            .unwrap_or(0);
        if read < msg.len {
            return Err(format!(
                "the hook's message {:?} ended after {read} of {} bytes",
                line.strip_prefix(key).unwrap_or("").trim(),
                msg.len
            ));
        }
        let answer = handle(&msg, body_text(&body), shared);
        if let Some(answer) = answer {
            if writer.write_all(answer.as_bytes()).is_err() {
                return Ok(());
            }
        }
        // The buffer is kept for the next dump, of about the same size: a
        // new one each time left the old one's pages to the process
        // (about one more dump at its peak).
    }
}

/// What is wrong with message `msg` given the runs known, if anything.
fn contradiction(c: &Comparator, msg: &Message) -> Option<&'static str> {
    let run = msg.run.as_str();
    match msg.kind {
        Kind::Start | Kind::StartSame | Kind::StartStale => c
            .run_is_running(run)
            .map(|_| "starts a run that had started before"),
        Kind::Subtest => {
            let parent = run.split_once('/').map_or(run, |(p, _)| p);
            (c.run_is_running(parent) != Some(true))
                .then_some("starts a subtest of a run that is not running")
        }
        Kind::End | Kind::EndSame | Kind::EndLater => match c.run_is_running(run) {
            None => Some("ends a run that never started"),
            Some(false) => Some("ends a run that had ended before"),
            Some(true) => None,
        },
        Kind::Dump if run != "-" => {
            (!c.run_is_checked(run)).then_some("sends a dump for a run that is not being checked")
        }
        Kind::Dump | Kind::Probe => None,
        Kind::Res => match (
            msg.res.as_ref().is_some_and(|r| r.end),
            c.run_is_running(run),
        ) {
            (_, None) => Some("is about a run that never started"),
            (false, Some(false)) => Some("starts a run that had ended"),
            (true, Some(true)) => Some("ends a run that has not ended"),
            _ => None,
        },
    }
}

/// A dump's text: UTF-8 but for label values or file names that are not
/// (checking is fast, replacing is rare).
fn body_text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(body) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(body),
    }
}

/// Hands one message to the comparator; returns the answer, if the
/// message gets one.
fn handle(msg: &Message, text: std::borrow::Cow<'_, str>, shared: &Shared) -> Option<String> {
    let mut state = shared.lock();
    let seq = state.next_seq;
    state.next_seq += 1;
    let now = Instant::now();
    let has_dump = msg.len > 0;
    // Every full dump also judges the runs that wait for one.
    let round_check = msg.kind == Kind::Dump && msg.run == "-";
    if has_dump && !round_check && state.comparator.has_deferred() {
        let (verdicts, _) = state.comparator.check_deferred(seq, &text, now);
        for v in verdicts {
            state.push_verdict(v);
        }
    }
    let c = &mut state.comparator;
    let answer = match msg.kind {
        Kind::Start => {
            c.start(&msg.run, seq, msg.gid, &text);
            None
        }
        Kind::StartSame => {
            c.start_same(&msg.run, seq, msg.gid);
            None
        }
        Kind::StartStale => {
            c.start_stale(&msg.run, seq, msg.gid);
            None
        }
        Kind::Subtest => {
            c.subtest(&msg.run, msg.gid);
            None
        }
        Kind::End => {
            let d = c.end(&msg.run, msg.status, seq, &text, now);
            Some(state.answer(d))
        }
        Kind::EndSame => {
            let d = c.end_same(&msg.run, msg.status, seq, now);
            state.answer(d); // clean: not answered
            None
        }
        Kind::EndLater => {
            c.end_deferred(&msg.run, msg.status, seq, msg.count_clean, now);
            None
        }
        Kind::Dump if msg.run == "-" && !has_dump => {
            // After a round's tests: what the runs judged later need.
            Some(match c.pending_check() {
                None => state.done(),
                Some(true) => "profile 0\n".to_string(),
                Some(false) => "again 0\n".to_string(),
            })
        }
        Kind::Dump if msg.run == "-" => {
            let (verdicts, next) = c.check_deferred(seq, &text, now);
            for v in verdicts {
                state.push_verdict(v);
            }
            Some(match next {
                Some(d) => state.answer(d),
                None => state.done(),
            })
        }
        Kind::Dump => {
            let d = c.again(&msg.run, seq, &text, now);
            Some(state.answer(d))
        }
        Kind::Res => {
            let res = msg.res.as_ref().expect("a res message has its fields");
            let message = tracker::Message {
                run: &msg.run,
                end: res.end,
                pid: res.pid,
                heap: res.heap,
                paused: res.paused.clone(),
                profile: has_dump.then_some(&*text),
            };
            let Some(t) = state.tracker.as_mut() else {
                return Some("done\n".to_string());
            };
            Some(match t.message(&message, now) {
                tracker::Answer::Again(wait) => format!("again {}\n", millis(wait)),
                tracker::Answer::Heap => "heap\n".to_string(),
                tracker::Answer::HeapProfile => "heap profile\n".to_string(),
                tracker::Answer::Done(None) => "done\n".to_string(),
                tracker::Answer::Done(Some(j)) => {
                    state.resources_judged(&msg.run, j);
                    "done\n".to_string()
                }
            })
        }
        Kind::Probe => {
            if !c.has_deferred() {
                c.observe_dump(seq, &text);
            }
            state.probes += 1;
            let proven = state.comparator.proven_deadlocked(&text);
            if !proven.is_empty() {
                state.proven = Some((state.probes, proven, Arc::new(text.into_owned())));
            }
            None
        }
    };
    drop(state);
    shared.changed.notify_all();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// The test's side of a connection, as the hook in a test binary.
    struct Hook {
        key: String,
        answers: BufReader<UnixStream>,
        w: UnixStream,
    }

    impl Hook {
        /// Sends a header (with the key first) and a body.
        fn send(&mut self, header: &str, body: &str) {
            let msg = format!("{} {header} {}\n{body}", self.key, body.len());
            self.w.write_all(msg.as_bytes()).unwrap();
        }

        /// Writes raw bytes, as a test that found the connection might.
        fn forge(&mut self, bytes: &[u8]) {
            self.w.write_all(bytes).unwrap();
        }

        fn answer(&mut self) -> String {
            let mut answer = String::new();
            self.answers.read_line(&mut answer).unwrap();
            answer
        }
    }

    fn listener() -> (HelperListener, Hook) {
        listener_with(None)
    }

    /// A listener with resource checks by `tracker`, and the hook's end.
    fn listener_with(tracker: Option<Tracker>) -> (HelperListener, Hook) {
        let comparator = Comparator::new(crate::detect::compare::CompareConfig {
            grace: Duration::from_millis(100),
            ignore: Default::default(),
            goroot: "/usr/local/go".into(),
            module: String::new(),
            leak_profile: false,
            calls: None,
        });
        let (listener, theirs) = HelperListener::with_resources(comparator, tracker).unwrap();
        let w = theirs.try_clone().unwrap();
        let mut answers = BufReader::new(theirs);
        let mut line = String::new();
        answers.read_line(&mut line).unwrap();
        let key = line.strip_prefix("key ").unwrap().trim_end().to_string();
        assert_eq!(key.len(), 32, "{line:?}");
        (listener, Hook { key, answers, w })
    }

    const DUMP: &str = "goroutine 7 [running]:\nmain.TestA(0xc000)\n\t/m/a_test.go:9 +0x1d\n";

    #[test]
    fn each_connection_gets_a_key_of_its_own() {
        let (a, b) = (listener(), listener());
        assert_ne!(a.1.key, b.1.key);
    }

    #[test]
    fn end_without_a_dump_is_judged_but_not_answered() {
        let (listener, mut hook) = listener();
        hook.send("start TestA#1 7", DUMP);
        hook.send("end= TestA#1 pass", "");
        // The result line comes after `end=` was sent: the verdict is
        // waited for, whatever the listener's lag.
        let v = listener.wait_verdict("TestA").expect("a verdict");
        assert_eq!((v.run.as_str(), v.status), ("TestA#1", RunStatus::Pass));
        assert!(v.leaks.is_empty());
        hook.answers
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut byte = [0u8; 1];
        let read = hook.answers.get_mut().read(&mut byte);
        assert!(
            matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "end= got an answer: {read:?}"
        );
        // A test that never reports: no wait once the hook is gone.
        drop(hook);
        let t0 = Instant::now();
        assert!(listener.wait_verdict("TestB").is_none());
        assert!(t0.elapsed() < VERDICT_WAIT);
        let finished = listener.finish();
        assert!(finished.errors.is_empty(), "{:?}", finished.errors);
    }

    #[test]
    fn an_end_dump_is_answered_until_the_run_is_judged() {
        let (listener, mut hook) = listener();
        hook.send("start TestA#1 7", DUMP);
        hook.send("sub TestA#1/inner 8", "");
        let leaked = format!(
            "{DUMP}\ngoroutine 9 [chan send]:\nmain.f()\n\t/m/a.go:3 +0x1\ncreated by main.TestA.func1 in goroutine 8\n\t/m/a_test.go:12 +0x2\n"
        );
        hook.send("end TestA#1 pass", &leaked);
        let mut answer = hook.answer();
        assert!(answer.starts_with("again "), "{answer:?}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            hook.send("dump TestA#1", &leaked);
            answer = hook.answer();
            if answer == "done\n" || Instant::now() > deadline {
                break;
            }
            assert!(answer.starts_with("again "), "{answer:?}");
        }
        assert_eq!(answer, "done\n");
        let v = listener.take_verdict("TestA").expect("a verdict");
        assert_eq!(v.leaks.len(), 1);
        assert_eq!(v.leaks[0].subtest, "TestA/inner");
        drop(hook);
        listener.finish();
    }

    /// Sends `messages` (headers and bodies, keyed), then `raw` as is;
    /// returns the protocol errors, and whether the hook found its
    /// connection shut down after them.
    fn errors_after(messages: &[(&str, &str)], raw: &[u8]) -> (Vec<String>, bool) {
        let (listener, mut hook) = listener();
        for (header, body) in messages {
            hook.send(header, body);
        }
        hook.forge(raw);
        hook.answers
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        let shut = hook.answers.read_to_end(&mut rest).is_ok();
        drop(hook);
        (listener.finish().errors, shut)
    }

    #[test]
    fn a_bad_message_or_a_short_body_is_a_protocol_error_not_a_crash() {
        for bad in [
            "hello\n".to_string(),
            format!("start TestA#1 7 {}\n", u64::MAX),
            "start TestA#1 7 68719476736\nshort".to_string(),
            "start TestA#1 7 100\nshort".to_string(),
            "end TestA#1 maybe 0\n".to_string(),
        ] {
            let (listener, mut hook) = listener();
            let keyed = format!("{} {bad}", hook.key);
            hook.forge(keyed.as_bytes());
            drop(hook);
            let finished = listener.finish();
            assert_eq!(finished.errors.len(), 1, "{bad:?}: {:?}", finished.errors);
        }
        let (listener, mut hook) = listener();
        let huge = format!("{} start TestA#1 7 {}\n", hook.key, 3u64 << 30);
        hook.forge(huge.as_bytes());
        drop(hook);
        let errors = listener.finish().errors;
        assert!(errors[0].contains("over the limit"), "{errors:?}");
    }

    #[test]
    fn a_message_without_the_key_is_tampering_and_shuts_the_connection() {
        // A test that found the connection writes what the hook would,
        // but for the key: its run's end, a round's end, garbage.
        for forged in [
            "end= TestA#1 pass 0\n".to_string(),
            "dump - 0\n".to_string(),
            "0123456789abcdef0123456789abcdef end= TestA#1 pass 0\n".to_string(),
            "\u{0}\u{1}garbage".to_string() + "\n",
        ] {
            let (errors, shut) = errors_after(&[("start TestA#1 7", DUMP)], forged.as_bytes());
            assert_eq!(errors.len(), 1, "{forged:?}: {errors:?}");
            assert!(errors[0].starts_with("tampering: "), "{errors:?}");
            assert!(shut, "{forged:?}: the connection stayed open");
        }
        // Bytes that are not UTF-8 get the same, not a silent end.
        let (errors, shut) = errors_after(&[("start TestA#1 7", DUMP)], b"\xff\xfe\x00 end\n");
        assert!(
            errors.len() == 1 && errors[0].starts_with("tampering: "),
            "{errors:?}"
        );
        assert!(shut);
    }

    #[test]
    fn a_message_that_contradicts_the_known_runs_is_a_protocol_error() {
        let start = ("start TestA#1 7", DUMP);
        for (messages, wrong) in [
            (vec![start, start], "had started before"),
            (vec![("start= TestA#1 7", "")], "never started"),
            (vec![("end= TestA#2 pass", "")], "never started"),
            (
                vec![start, ("end= TestA#1 pass", ""), ("end= TestA#1 fail", "")],
                "had ended before",
            ),
            (vec![start, ("dump TestA#1", DUMP)], "not being checked"),
            (vec![("sub TestB#1/x 9", "")], "not running"),
        ] {
            let (listener, mut hook) = listener();
            for (header, body) in &messages {
                hook.send(header, body);
            }
            drop(hook);
            let errors = listener.finish().errors;
            // `start= TestA#1 7` is fine on its own: no contradiction.
            if messages.len() == 1 && messages[0].0.starts_with("start=") {
                assert!(errors.is_empty(), "{errors:?}");
                continue;
            }
            assert_eq!(errors.len(), 1, "{messages:?}: {errors:?}");
            assert!(errors[0].contains(wrong), "{messages:?}: {errors:?}");
        }
    }

    #[test]
    fn with_resource_checks_a_verdict_waits_for_its_runs_resources() {
        let checks = crate::detect::resources::Checks {
            fds: true,
            ..Default::default()
        };
        let tracker = Tracker::new(
            checks,
            Duration::from_millis(100),
            Default::default(),
            Box::new(tracker::Proc),
        );
        let (listener, mut hook) = listener_with(Some(tracker));
        // This process plays the test binary: a file it opens during the
        // run is the run's.
        let pid = std::process::id();
        hook.send("start TestA#1 7", DUMP);
        hook.send(&format!("res TestA#1 start {pid} - -"), "");
        assert_eq!(hook.answer(), "done\n");
        let file = std::fs::File::open("Cargo.toml").unwrap();
        hook.send("end= TestA#1 pass", "");
        assert!(
            listener.take_verdict("TestA").is_none(),
            "held for its resources"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        // "heap": the garbage collection asked for before new descriptors
        // are judged; the message comes again with the live heap.
        let mut heap = "-";
        loop {
            hook.send(&format!("res TestA#1 end {pid} {heap} -"), "");
            let answer = hook.answer();
            if answer == "done\n" {
                break;
            }
            if answer == "heap\n" {
                heap = "1000";
                continue;
            }
            assert!(answer.starts_with("again "), "{answer:?}");
            assert!(Instant::now() < deadline);
        }
        let v = listener.wait_verdict("TestA").expect("a verdict");
        // (Other unit tests of this process may open descriptors meanwhile.)
        assert!(
            v.resources
                .iter()
                .any(|r| r.description.contains("/Cargo.toml (fd ")),
            "{:?}",
            v.resources
        );
        drop(file);
        // A res message for a run never started is a protocol error.
        hook.send(&format!("res TestB#2 end {pid} - -"), "");
        drop(hook);
        let errors = listener.finish().errors;
        assert!(errors[0].contains("never started"), "{errors:?}");
        assert_eq!(
            parse_header("res TestA#1 end 42 1024 TestB#2,TestC#3 0\n")
                .unwrap()
                .res,
            Some(Res {
                end: true,
                pid: 42,
                heap: Some(1024),
                paused: vec!["TestB#2".into(), "TestC#3".into()],
            })
        );
        assert_eq!(parse_header("res TestA#1 middle 42 - - 0\n"), None);
    }

    #[test]
    fn finish_does_not_wait_forever_for_a_connection_left_open() {
        // A process the test binary started inherited the connection and
        // outlives the binary.
        let (listener, held) = listener();
        let t0 = Instant::now();
        listener.finish();
        assert!(t0.elapsed() < CLOSE_WAIT * 2);
        drop(held);
    }

    #[test]
    fn parses_protocol_headers() {
        assert_eq!(
            parse_header("end TestA#3 fail 345\n"),
            Some(Message {
                kind: Kind::End,
                run: "TestA#3".into(),
                gid: 0,
                status: RunStatus::Fail,
                count_clean: false,
                len: 345,
                res: None,
            })
        );
        let same = parse_header("start= TestA#4 17 0\n").unwrap();
        assert_eq!((same.kind, same.gid), (Kind::StartSame, 17));
        assert_eq!(
            parse_header("end= TestA#4 skip 0\n").unwrap().status,
            RunStatus::Skip
        );
        let later = parse_header("end~ TestA#5 pass clean 0\n").unwrap();
        assert_eq!((later.kind, later.count_clean), (Kind::EndLater, true));
        assert!(!parse_header("end~ TestA#5 pass - 0\n").unwrap().count_clean);
        assert_eq!(
            parse_header("sub TestA#5/a/b 12 0\n").unwrap().run,
            "TestA#5/a/b"
        );
        assert_eq!(parse_header("dump - 0\n").unwrap().kind, Kind::Dump);
        assert_eq!(parse_header("probe - 10\n").unwrap().len, 10);
        for bad in [
            "start= TestA#1 x 0\n",
            "start= TestA#1 3 10\n",
            "end TestA#1 maybe 10\n",
            "end~ TestA#1 pass 0\n",
            "bogus\n",
            "start TestA#1 7 x\n",
            "start TestA#1 7 10",
        ] {
            assert_eq!(parse_header(bad), None, "{bad:?}");
        }
    }
}
