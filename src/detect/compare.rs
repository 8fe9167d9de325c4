//! The comparator: decides, from the dumps one test binary sends, which
//! goroutines each test run left behind.
//!
//! It owns all leak policy: which goroutines belong to which test run,
//! how long to wait for them (the grace period, with backoff), and how
//! leaks are grouped for reporting. It does no I/O: dumps come in as text
//! with the sequence number the helper gave them, time comes in as an
//! [`Instant`], and decisions go out as values, so every rule is unit-tested
//! from captured dumps.
//!
//! # Attribution
//! A goroutine belongs to a test run when, in this order:
//! 1. it carries the run's pprof label (Go 1.26+, exact under `t.Parallel`);
//! 2. it was created by the run's own goroutine, or by a live goroutine
//!    that belongs to the run, or (with creation chains) one of its
//!    creators up the chain was the run's goroutine;
//! 3. a timer's callback (created by `time.goFunc`, so without a label or
//!    a creator) whose stack runs a test's function or function literal
//!    is the last run of that test started before it was first seen,
//!    while that run is not judged; once it is, the callback is a late
//!    one (`Comparator::late_timer`), reported by the next run judged
//!    while it is alive, naming that test;
//! 4. otherwise, by its creation window: the helper numbers dumps in the
//!    order it takes them, and every dump lists all goroutines, so a
//!    goroutine first seen in dump `k` was created after dump `k-1`. The
//!    runs active in that window are its candidates, but for runs that
//!    ended without a dump (a crowded process) whose live-goroutine count
//!    proves that nothing they created outlived them (see
//!    [`Comparator::end_deferred`]), and but for runs that had ended
//!    before the window opened when it is a timer's callback (no run's
//!    goroutine created it). One candidate owns it; several make
//!    it ambiguous: it is reported once, naming the others, when all of
//!    them have finished their test function (so a goroutine of a test
//!    still running is never blamed on another): by the run whose end
//!    dump showed it first, else by the first candidate checked then.
//!    When such a window names runs started without a dump, the helper is
//!    asked to dump every later run ([`Comparator::wants_exact`]).
//!
//! Goroutines that existed before a run started are never its own: those
//! first seen in a snapshot no later than the run's start (IDs are never
//! reused, so a goroutine seen then and alive later was alive at the start).
//!
//! Snapshots are full dumps, or stand for one (see [`Comparator::start_same`]
//! and [`Comparator::end_same`]) when the helper knows no goroutine was
//! created since the last full dump, or only the run's own.
//!
//! Within its run, a goroutine is the leak of the innermost test or
//! subtest whose goroutine started it, directly or not: named by its label
//! (`TestX#3/a/b` for subtest `TestX/a/b`), or by the subtest goroutine
//! that created it, or that created its creator ([`Comparator::subtest`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::detect::ignore::{IgnoreRule, IgnoreRules};
use crate::detect::stack::{goroutine_ids, DumpIndex, Frame, Goroutine, Goroutines, Snapshot};
pub use crate::go::pclntab::CallLine;

/// The pprof label key the helper sets on each test's goroutine; its value
/// is the run ID, `TestName#N`, and for a subtest the rest of its name
/// (`TestName#N/sub/inner`).
pub const LABEL_KEY: &str = "leakcheck_test";

/// A source location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// A group of identical leaked goroutines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    pub count: usize,
    /// The innermost test or subtest whose goroutine started them, by its
    /// full name (the top-level test's name when no subtest did).
    #[serde(default)]
    pub subtest: String,
    pub state: String,
    /// The runtime proved them unreachable (goroutine leak profile).
    pub proven: bool,
    /// Other tests that may have started them (attribution was ambiguous).
    pub ambiguous_with: Vec<String>,
    /// The blocking frame: the innermost frame in the user's code.
    pub function: String,
    pub file: String,
    pub line: u32,
    pub created_by: Option<Location>,
    pub goroutine_ids: Vec<u64>,
    /// The first goroutine's full stack.
    pub stack: String,
    /// Recorded in the baseline (`--baseline`): shown, not failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
    /// The innermost frame of the creation chain in the user's module
    /// (outside the standard library and other modules): where the fix
    /// usually goes. The creation site when the `go` statement is the
    /// module's own; for a goroutine a library started, the module's line
    /// that called into the library (known with creation chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Location>,
    /// The innermost frame of the creation chain in a `_test.go` file:
    /// the test's own line that led to the goroutines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Location>,
    /// The creation chain, innermost first: the `go` statement, then each
    /// creator's stack at its own `go` statement, as far as the dump
    /// shows (`GODEBUG=tracebackancestors`, `--chains`). A creator's
    /// frames are at their calls' lines where the binary's line table
    /// confirms them (see [`CallLines`]); else as printed, at the return
    /// address, which can be the line after the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainFrame>,
    /// A one-line fix, when the goroutines' shape says for certain what
    /// was left open (see [`crate::detect::hints`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Live heap the goroutines keep, by allocation site (`--check heap`;
    /// see [`crate::detect::resources::kept`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keeps_alive: Vec<crate::detect::resources::kept::KeptAlive>,
}

/// One frame of a creation chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainFrame {
    pub function: String,
    pub file: String,
    pub line: u32,
    /// The goroutine whose stack it is (0 when the dump does not say).
    pub goroutine: u64,
}

impl ChainFrame {
    pub fn location(&self) -> Location {
        Location {
            function: self.function.clone(),
            file: self.file.clone(),
            line: self.line,
        }
    }
}

/// Where the code of a dump lives: GOROOT, and the user's module root.
#[derive(Debug, Clone, Copy)]
pub struct CodeRoots<'a> {
    pub goroot: &'a str,
    /// Empty when not known: then any file outside GOROOT, the module
    /// cache and `vendor/` counts as the user's.
    pub module: &'a str,
    /// The exact lines of creators' calls, when the binary can tell.
    pub calls: Option<&'a CallLines>,
}

/// Finds the line of a call from the frame a traceback printed at its
/// return address: (function, file, printed line, offset from the
/// function's entry) → the call's line, when sure (see
/// [`crate::go::pclntab::LineTable::call_line`]). The runner reads it from
/// the test binary; tests give a function.
#[derive(Clone)]
pub struct CallLines(pub Arc<CallLineFn>);

/// What [`CallLines`] calls.
/// (function, file, line, offset as printed, the function printed for the
/// frame before in the same block if any) to the call's line; see
/// [`crate::go::pclntab::LineTable::call_line_near`].
pub type CallLineFn = dyn Fn(&str, &str, u32, u64, Option<&str>) -> Option<CallLine> + Send + Sync;

impl std::fmt::Debug for CallLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallLines")
    }
}

impl CodeRoots<'_> {
    /// Whether `file` is the user's module's own code.
    pub fn is_users(&self, file: &str) -> bool {
        let under = |root: &str| {
            !root.is_empty() && file.starts_with(root) && file[root.len()..].starts_with('/')
        };
        if file.is_empty() || under(self.goroot) || file.contains("/vendor/") {
            return false;
        }
        if self.module.is_empty() {
            !file.contains("/pkg/mod/")
        } else {
            under(self.module)
        }
    }
}

/// The creation chain of `g`, innermost first: its `created by` site,
/// then each ancestor block's frames (at their calls' lines where `calls`
/// can tell), consecutive repeats left out.
pub fn creation_chain(g: &Goroutine<'_>, calls: Option<&CallLines>) -> Vec<ChainFrame> {
    let mut chain: Vec<ChainFrame> = Vec::new();
    let mut push = |function: &str, file: &str, line: u32, goroutine: u64| {
        let same = chain
            .last()
            .is_some_and(|c| c.function == function && c.file == file && c.line == line);
        if !same && !file.is_empty() {
            chain.push(ChainFrame {
                function: function.to_string(),
                file: file.to_string(),
                line,
                goroutine,
            });
        }
    };
    if let Some(c) = &g.created_by {
        push(c.function, c.file, c.line, c.parent.unwrap_or(0));
    }
    if g.text.contains("\n[originating from goroutine ") {
        for a in g.ancestors() {
            let mut before: Option<&str> = None;
            for (f, offset) in a.frames.iter().zip(&a.offsets) {
                let found = calls.zip(*offset).and_then(|(calls, offset)| {
                    (calls.0)(f.function, f.file, f.line, offset, before)
                });
                before = Some(f.function);
                match found {
                    Some(CallLine::At(line)) => push(f.function, f.file, line, a.id),
                    // A misnamed frame of inlined code: its caller's own
                    // frame follows.
                    Some(CallLine::InInlinedCode) => {}
                    // Printed with the name and line of code inlined after
                    // the call: the caller's own frame, at its call.
                    Some(CallLine::Misnamed {
                        function,
                        file,
                        line,
                    }) => push(&function, &file, line, a.id),
                    None => push(f.function, f.file, f.line, a.id),
                }
            }
        }
    }
    chain
}

/// A chain's origin (its innermost frame in the user's module) and via
/// (its innermost frame in a test function's own body, or a closure of
/// it; failing that, its innermost frame in a `_test.go` file: a helper
/// of the tests').
pub fn origin_and_via(
    chain: &[ChainFrame],
    roots: CodeRoots<'_>,
) -> (Option<Location>, Option<Location>) {
    let origin = chain.iter().find(|c| roots.is_users(&c.file));
    let in_tests = |c: &&ChainFrame| c.file.ends_with("_test.go");
    let via = chain
        .iter()
        .filter(in_tests)
        .find(|c| is_test_function(&c.function))
        .or_else(|| chain.iter().find(in_tests));
    (
        origin.map(ChainFrame::location),
        via.map(ChainFrame::location),
    )
}

/// How the test function itself ended, as the helper saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Pass,
    Fail,
    Skip,
}

/// The comparator's final word on one test run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunVerdict {
    pub run: String,
    pub test: String,
    pub status: RunStatus,
    pub leaks: Vec<Leak>,
    /// Goroutines of the run that an ignore rule exempted, by rule.
    pub ignored: Vec<(IgnoreRule, usize)>,
    /// How long the check took: from the run's end to its verdict (the
    /// grace period, when goroutines were waited for).
    pub check: Duration,
    /// What else it left behind (`--check`; see [`crate::detect::resources`]).
    pub resources: Vec<crate::detect::resources::Resource>,
}

/// What the helper should do next for a run being checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Wait this long, then send another dump.
    Again(Duration),
    /// Wait this long (the first time, not at all), then send the
    /// goroutine leak profile.
    LeakProfile(Duration),
    /// The run is judged.
    Done(RunVerdict),
}

/// Settings the comparator needs.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// How long a run's goroutines may outlive it.
    pub grace: Duration,
    pub ignore: IgnoreRules,
    /// GOROOT, to tell the standard library's frames from the user's.
    pub goroot: String,
    /// The user's module root, for leak groups' origins (empty: unknown).
    pub module: String,
    /// The test binary has the goroutine leak profile (Go 1.27, or 1.26
    /// built with GOEXPERIMENT=goroutineleakprofile).
    pub leak_profile: bool,
    /// The exact lines of creators' calls in creation chains.
    pub calls: Option<CallLines>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The test function is running.
    Running,
    /// The test function returned; its goroutines are being waited for.
    Checking,
    /// Judged.
    Closed,
}

#[derive(Debug)]
struct Run {
    test: String,
    gid: u64,
    start_seq: u64,
    end_seq: Option<u64>,
    phase: Phase,
    status: RunStatus,
    check_started: Option<Instant>,
    attempts: u32,
    /// How many times the leak profile was asked for during this run's
    /// check.
    profile_asks: u32,
    /// Goroutines the leak profile proved leaked.
    proven: HashSet<u64>,
    /// Ended without a dump (a crowded process): judged with the dumps
    /// that come later ([`Comparator::check_deferred`]).
    deferred: bool,
    /// A deferred run's next check asks for the leak profile.
    wants_profile: bool,
    /// Started without a dump (a crowded process, `start~`): goroutines
    /// created since the last full dump may be its.
    stale_start: bool,
    /// A deferred run's last check passed over a goroutine that may be
    /// another candidate's, one still running: no dump can judge it
    /// before some run ends.
    waits_for_run: bool,
    /// Ended without a dump when no more goroutines were alive than in
    /// the last full dump, tests' own aside (the helper's `end~ ...
    /// clean`; see [`Comparator::end_deferred`]).
    count_clean: bool,
    /// The sequence number of the run's end message (or of the dump sent
    /// with it): goroutines first seen in a dump taken after a later full
    /// dump were created after the run's test function returned.
    ended_at: Option<u64>,
    /// The snapshot sent with the run's end, if one was.
    end_dump: Option<u64>,
    /// Judged, and nothing of it was alive: no leak, nothing ignored.
    left_nothing: bool,
}

impl Run {
    /// Ended without a dump and not judged yet.
    fn waiting_for_dump(&self) -> bool {
        self.deferred && self.phase == Phase::Checking
    }

    /// The wait before this run's next check: doubling from
    /// [`MIN_BACKOFF`] up to [`MAX_BACKOFF`].
    fn next_backoff(&mut self) -> Duration {
        let backoff = MIN_BACKOFF
            .saturating_mul(1u32 << self.attempts.min(16))
            .min(MAX_BACKOFF);
        self.attempts += 1;
        backoff
    }
}

/// Who a goroutine belongs to (run IDs borrowed from the comparator).
#[derive(Debug, Clone, PartialEq)]
enum Owner<'r> {
    Run(&'r str),
    Candidates(Vec<&'r str>),
    Nobody,
}

/// Where [`Comparator::owner`] finds a goroutine's creator by ID.
enum Source<'s, 'a> {
    /// A parsed snapshot, with an index built at the first lookup.
    Snapshot(&'s Snapshot<'a>, Option<HashMap<u64, usize>>),
    /// A dump's text, whose goroutines are parsed when asked for.
    Text(&'a str, Option<DumpIndex<'a>>),
}

impl<'s, 'a> Source<'s, 'a> {
    /// The goroutine with `id`, as [`Snapshot::get`] finds it.
    fn get(&mut self, id: u64) -> Option<Cow<'s, Goroutine<'a>>> {
        match self {
            Source::Snapshot(snapshot, index) => {
                let snapshot: &'s Snapshot<'a> = snapshot;
                let index = index.get_or_insert_with(|| {
                    let mut index = HashMap::with_capacity(snapshot.goroutines.len());
                    for (i, g) in snapshot.goroutines.iter().enumerate() {
                        index.entry(g.id).or_insert(i);
                    }
                    index
                });
                index
                    .get(&id)
                    .map(|&i| Cow::Borrowed(&snapshot.goroutines[i]))
            }
            Source::Text(text, index) => index
                .get_or_insert_with(|| DumpIndex::new(text))
                .get(id)
                .map(Cow::Owned),
        }
    }
}

/// What one check found: the run's goroutines, grouped.
#[derive(Default)]
struct Found {
    leaks: Vec<Leak>,
    ignored: Vec<(IgnoreRule, usize)>,
    /// Goroutines this dump marks `(leaked)`.
    proven: Vec<u64>,
    /// Every goroutine found is proven leaked, now or earlier.
    all_proven: bool,
    /// A goroutine that may be this run's was passed over because
    /// another candidate test is still running.
    waiting: bool,
}

/// The state of one test binary's process.
#[derive(Debug)]
pub struct Comparator {
    config: CompareConfig,
    first_seen: HashMap<u64, u64>,
    runs: HashMap<String, Run>,
    run_of_gid: HashMap<u64, String>,
    /// Subtests' goroutines: their ID, `TestName#N/sub`.
    subtest_of_gid: HashMap<u64, String>,
    claimed: HashSet<u64>,
    /// Some run started without a dump (`start~`).
    any_stale_start: bool,
    /// A goroutine without a run's label was placed by a creation window
    /// that runs without dumps widened to several runs (see
    /// [`Comparator::wants_exact`]).
    widened: bool,
    /// The last full snapshot's sequence number and goroutine IDs
    /// (sorted), and the window each full snapshot closed, by its
    /// sequence number.
    last_full: Option<(u64, Vec<u64>)>,
    windows: HashMap<u64, Window>,
    /// Runs judged and forgotten (see [`Comparator::forget_the_past`]), by
    /// a hash of their ID: 8 bytes each, to tell a run started twice.
    forgotten: HashSet<u64>,
    /// Live timer callbacks (created by `time.goFunc`) whose stack names
    /// a test's function, by goroutine ID: the test that most likely set
    /// the timer (see [`Comparator::late_timer`]).
    timers: HashMap<u64, String>,
    /// The tests that have had a run in this process.
    tests: HashSet<String>,
}

/// The time between two full snapshots.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The earlier snapshot's sequence number.
    start: u64,
    /// Every goroutine of the earlier snapshot but tests' and subtests'
    /// own is in the later one: none ended in between.
    verified: bool,
}

/// The smallest wait between two checks of the same run; it doubles up to
/// [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(1);
pub const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// How many of a run's checks ask for the goroutine leak profile (a GC
/// each) before the rest are plain dumps. More than one: a goroutine on
/// its way to block for good (still runnable when the first profile was
/// taken) is proven by the next, not after the whole grace period.
pub const MAX_PROFILE_ASKS: u32 = 4;

impl Comparator {
    pub fn new(config: CompareConfig) -> Self {
        Comparator {
            config,
            first_seen: HashMap::new(),
            runs: HashMap::new(),
            run_of_gid: HashMap::new(),
            subtest_of_gid: HashMap::new(),
            claimed: HashSet::new(),
            any_stale_start: false,
            widened: false,
            last_full: None,
            windows: HashMap::new(),
            forgotten: HashSet::new(),
            timers: HashMap::new(),
            tests: HashSet::new(),
        }
    }

    /// Where the code is: GOROOT and the user's module.
    fn roots(&self) -> CodeRoots<'_> {
        CodeRoots {
            goroot: &self.config.goroot,
            module: &self.config.module,
            calls: self.config.calls.as_ref(),
        }
    }

    /// The test name of run ID `TestName#N`.
    pub fn test_of_run(run: &str) -> &str {
        run.rsplit_once('#').map_or(run, |(t, _)| t)
    }

    fn observe(&mut self, seq: u64, ids: &[u64]) {
        for &id in ids {
            self.first_seen
                .entry(id)
                .and_modify(|s| *s = (*s).min(seq))
                .or_insert(seq);
        }
    }

    /// A full snapshot: besides what [`Comparator::observe`] notes, the
    /// window it closes (since the previous full snapshot), and whether
    /// every goroutine of that one is still alive but tests' and
    /// subtests' own goroutines (which end with them): then the counts
    /// runs ended with (`end~ ... clean`) account for every goroutine in
    /// between. Then whether the goroutines it shows first ask for exact
    /// windows ([`Comparator::note_widened`]).
    fn observe_full(&mut self, seq: u64, dump: &str, ids: &[u64]) {
        if self.last_full.as_ref().is_some_and(|(s, _)| *s == seq) {
            return; // the same snapshot, judging other runs
        }
        if dump.contains("\ncreated by time.goFunc") {
            let first_seen = &self.first_seen;
            for g in Goroutines::new(dump, |id| !first_seen.contains_key(&id)) {
                if let Some(test) = timer_scheduled_by(&g).filter(|t| self.tests.contains(*t)) {
                    self.timers.insert(g.id, test.to_string());
                }
            }
        }
        self.observe(seq, ids);
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        if let Some((start, previous)) = self.last_full.take() {
            let verified = previous.iter().all(|id| {
                sorted.binary_search(id).is_ok()
                    || self.run_of_gid.contains_key(id)
                    || self.subtest_of_gid.contains_key(id)
            });
            self.windows.insert(seq, Window { start, verified });
        }
        self.last_full = Some((seq, sorted));
        self.note_widened(seq, dump);
        self.forget_the_past();
    }

    /// Forgets, at a new full snapshot, what no later dump can need, so
    /// that a process running a test 50,000 times keeps only what its
    /// live goroutines may need, and each run costs the same:
    /// - goroutines that ended (IDs are never reused): when they were
    ///   first seen, and whether a run claimed them;
    /// - runs judged with nothing of theirs left alive (no leak, nothing
    ///   ignored), whose own goroutine has ended, and that are no live
    ///   goroutine's candidate by its creation window. No later goroutine
    ///   can carry such a run's label or have its goroutines as creators
    ///   (they all ended), nor be first seen in its window (it is over);
    /// - the creation windows no live goroutine was first seen at.
    fn forget_the_past(&mut self) {
        let Some((latest, alive)) = &self.last_full else {
            return;
        };
        let is_alive = |id: &u64| alive.binary_search(id).is_ok();
        self.first_seen.retain(|id, _| is_alive(id));
        self.claimed.retain(is_alive);
        self.timers.retain(|id, _| is_alive(id));
        let mut firsts: Vec<u64> = self.first_seen.values().copied().collect();
        firsts.sort_unstable();
        firsts.dedup();
        // Whether some live goroutine was first seen after the run
        // started and no later than its verdict.
        let in_window = |r: &Run| {
            let next = firsts.partition_point(|&f| f <= r.start_seq);
            firsts
                .get(next)
                .is_some_and(|&f| r.end_seq.is_none_or(|e| f <= e))
        };
        let before = self.runs.len();
        let forgotten = &mut self.forgotten;
        self.runs.retain(|id, r| {
            let keep =
                r.phase != Phase::Closed || !r.left_nothing || is_alive(&r.gid) || in_window(r);
            if !keep {
                forgotten.insert(run_hash(id));
            }
            keep
        });
        if self.runs.len() != before {
            let runs = &self.runs;
            self.run_of_gid
                .retain(|gid, run| is_alive(gid) || runs.contains_key(run));
            self.subtest_of_gid
                .retain(|gid, id| is_alive(gid) || runs.contains_key(run_of_id(id)));
        }
        let latest = *latest;
        self.windows
            .retain(|s, _| *s == latest || firsts.binary_search(s).is_ok());
    }

    /// A dump taken for another purpose (a probe): only what it tells
    /// about which goroutines exist.
    pub fn observe_dump(&mut self, seq: u64, dump: &str) {
        let ids = goroutine_ids(dump);
        self.observe_full(seq, dump, &ids);
    }

    /// Whether run `run` is known and its test function still runs
    /// (`Some(true)`), or it has ended (`Some(false)`).
    pub fn run_is_running(&self, run: &str) -> Option<bool> {
        match self.runs.get(run) {
            Some(r) => Some(r.phase == Phase::Running),
            None => self.forgotten.contains(&run_hash(run)).then_some(false),
        }
    }

    /// Whether run `run` has ended and is not judged yet.
    pub fn run_is_checked(&self, run: &str) -> bool {
        self.runs
            .get(run)
            .is_some_and(|r| r.phase == Phase::Checking)
    }

    /// The goroutine ID of a run's own goroutine.
    pub fn gid_of_run(&self, run: &str) -> Option<u64> {
        self.runs.get(run).map(|r| r.gid)
    }

    /// A run started on goroutine `gid`: `dump` was taken by it before
    /// the test.
    pub fn start(&mut self, run: &str, seq: u64, gid: u64, dump: &str) {
        let ids = goroutine_ids(dump);
        self.observe_full(seq, dump, &ids);
        self.start_run(run, seq, gid);
    }

    /// A subtest started on goroutine `gid`; `id` is its run's ID and the
    /// rest of its name (`TestX#3/a/b` for `TestX/a/b`). Goroutines it
    /// creates are its run's, and name it as their subtest.
    pub fn subtest(&mut self, id: &str, gid: u64) {
        self.subtest_of_gid.insert(gid, id.to_string());
    }

    /// A run started, and its goroutine `gid` is the only one created
    /// since the previous snapshot, if any was: snapshot `seq` is the
    /// previous one with `gid` added (the helper's `start=`).
    pub fn start_same(&mut self, run: &str, seq: u64, gid: u64) {
        self.observe(seq, &[gid]);
        self.start_run(run, seq, gid);
    }

    fn start_run(&mut self, run: &str, seq: u64, gid: u64) {
        self.run_of_gid.insert(gid, run.to_string());
        self.tests.insert(Self::test_of_run(run).to_string());
        self.runs.insert(
            run.to_string(),
            Run {
                test: Self::test_of_run(run).to_string(),
                gid,
                start_seq: seq,
                end_seq: None,
                phase: Phase::Running,
                status: RunStatus::Pass,
                check_started: None,
                attempts: 0,
                profile_asks: 0,
                proven: HashSet::new(),
                deferred: false,
                wants_profile: false,
                stale_start: false,
                waits_for_run: false,
                count_clean: false,
                ended_at: None,
                end_dump: None,
                left_nothing: false,
            },
        );
    }

    /// A run started in a crowded process, where the helper sent no dump
    /// (`start~`): snapshot `seq` is not the previous one, since
    /// goroutines may have been created since that one; they are judged by
    /// their labels, or by the window between the full dumps around their
    /// creation, which may name more runs.
    pub fn start_stale(&mut self, run: &str, seq: u64, gid: u64) {
        self.start_same(run, seq, gid);
        if let Some(r) = self.runs.get_mut(run) {
            r.stale_start = true;
            self.any_stale_start = true;
        }
    }

    /// Whether the helper should stop judging runs without their own dumps
    /// (`start~`, `end~`) and dump every run again: a dump has shown a
    /// goroutine without a run's label, created since the previous full
    /// dump, whose window names several runs, one of which started
    /// without a dump. Such goroutines (started for a test by an older
    /// goroutine, or by a timer) are attributed exactly only by a dump at
    /// each run's start and end. Once true, stays true.
    pub fn wants_exact(&self) -> bool {
        self.widened
    }

    /// Notes, in snapshot `seq` (`dump`), goroutines first seen there that
    /// make [`Comparator::wants_exact`] true.
    fn note_widened(&mut self, seq: u64, dump: &str) {
        if self.widened || !self.any_stale_start {
            return;
        }
        let mut memo = HashMap::new();
        let mut source = Source::Text(dump, None);
        let first_here = |id: u64| self.first_seen.get(&id) == Some(&seq);
        let widened = Goroutines::new(dump, first_here).any(|g| {
            !is_hook_goroutine(&g)
                && self.config.ignore.matching(&g).is_none()
                && match self.owner(&g, &mut source, &mut memo, 0) {
                    Owner::Candidates(c) => c.iter().any(|r| self.runs[*r].stale_start),
                    _ => false,
                }
        });
        self.widened = widened;
    }

    /// A run's test function returned, in a crowded process where the
    /// helper sent no dump (`end~`): the run is judged by
    /// [`Comparator::check_deferred`] with the dumps that come later. Its
    /// goroutines carry its label, so a later dump still tells them
    /// apart; goroutines without a label get the creation window between
    /// the full dumps around their creation, which may name more runs.
    ///
    /// `count_clean`, when the helper said `clean`: no more goroutines
    /// were alive at the run's end than in the last full dump, tests' own
    /// aside. Then no goroutine it created outlived it, unless one alive
    /// at that dump ended meanwhile and hid it in the count: so the run
    /// is no candidate for a goroutine without a label first seen in the
    /// next full dump when every goroutine of the last one is still in it.
    pub fn end_deferred(
        &mut self,
        run: &str,
        status: RunStatus,
        seq: u64,
        count_clean: bool,
        now: Instant,
    ) {
        self.end_run(run, status, seq, now);
        if let Some(r) = self.runs.get_mut(run) {
            r.deferred = true;
            r.count_clean = count_clean;
        }
    }

    /// The IDs of the runs that `keep` selects, in start order.
    fn runs_in_start_order(&self, keep: impl Fn(&Run) -> bool) -> Vec<String> {
        let mut v: Vec<(u64, String)> = self
            .runs
            .iter()
            .filter(|(_, r)| keep(r))
            .map(|(k, r)| (r.start_seq, k.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, k)| k).collect()
    }

    /// Runs that ended without a dump and were never judged, in start
    /// order (their process exited first).
    pub fn unjudged_runs(&self) -> Vec<String> {
        self.runs_in_start_order(Run::waiting_for_dump)
    }

    /// Whether some run waits for a dump to be judged.
    pub fn has_deferred(&self) -> bool {
        self.pending_check().is_some()
    }

    /// Whether a run that `keep` selects waits for a dump to be judged,
    /// and if so whether one of them wants the leak profile.
    fn dump_wanted(&self, keep: impl Fn(&Run) -> bool) -> Option<bool> {
        self.runs
            .values()
            .filter(|r| r.waiting_for_dump() && keep(r))
            .map(|r| r.wants_profile)
            .reduce(|a, b| a || b)
    }

    /// Whether some run waits for a dump to be judged, and if so whether
    /// one of them wants the leak profile.
    pub fn pending_check(&self) -> Option<bool> {
        self.dump_wanted(|_| true)
    }

    /// Whether a run of `test` waits for a dump to be judged, and if so
    /// whether that dump should be the leak profile.
    pub fn deferred_of(&self, test: &str) -> Option<bool> {
        self.dump_wanted(|r| r.test == test)
    }

    /// Judges the deferred runs with snapshot `seq` (a full dump, or the
    /// leak profile, which lists every goroutine too). Returns the
    /// verdicts made, and what the runs still waiting need next (`None`:
    /// none is left).
    pub fn check_deferred(
        &mut self,
        seq: u64,
        dump: &str,
        now: Instant,
    ) -> (Vec<RunVerdict>, Option<Decision>) {
        let ids = goroutine_ids(dump);
        self.observe_full(seq, dump, &ids);
        let mut verdicts = Vec::new();
        // The soonest next check any waiting run needs, and whether one
        // wants the leak profile.
        let mut wait: Option<Duration> = None;
        let mut profile = false;
        for run in self.runs_in_start_order(Run::waiting_for_dump) {
            let (w, wants) = match self.judge(&run, seq, Some(dump), &ids, now) {
                Decision::Done(v) => {
                    verdicts.push(v);
                    continue;
                }
                Decision::Again(w) => (w, false),
                Decision::LeakProfile(w) => (w, true),
            };
            if let Some(r) = self.runs.get_mut(&run) {
                r.wants_profile = wants;
            }
            wait = Some(wait.map_or(w, |soonest| soonest.min(w)));
            profile |= wants;
        }
        let next = wait.map(|w| {
            if profile {
                Decision::LeakProfile(w)
            } else {
                Decision::Again(w)
            }
        });
        (verdicts, next)
    }

    /// A run's test function returned (after its cleanups and subtests).
    pub fn end(
        &mut self,
        run: &str,
        status: RunStatus,
        seq: u64,
        dump: &str,
        now: Instant,
    ) -> Decision {
        self.end_run(run, status, seq, now);
        if let Some(r) = self.runs.get_mut(run) {
            r.end_dump = Some(seq);
        }
        self.check(run, seq, Some(dump), now)
    }

    /// A run's test function returned, and no goroutine was created since
    /// its start snapshot, so snapshot `seq` lists no goroutine that the
    /// start did not (the helper's `end=`).
    pub fn end_same(&mut self, run: &str, status: RunStatus, seq: u64, now: Instant) -> Decision {
        self.end_run(run, status, seq, now);
        let decision = self.check(run, seq, None, now);
        if matches!(decision, Decision::Done(_)) {
            self.forget_run(run);
        }
        decision
    }

    /// Forgets a run judged at an `end=`: the helper sends one only when
    /// the runtime created no goroutine at all between the run's start and
    /// its end, so no goroutine can be the run's, by label, creator or
    /// window (see [`Comparator::forget_the_past`] for runs judged with
    /// dumps). Its own goroutine is kept while a full snapshot lists it.
    fn forget_run(&mut self, run: &str) {
        let Some(r) = self.runs.remove(run) else {
            return;
        };
        self.forgotten.insert(run_hash(run));
        let listed = self
            .last_full
            .as_ref()
            .is_some_and(|(_, ids)| ids.binary_search(&r.gid).is_ok());
        if !listed {
            self.run_of_gid.remove(&r.gid);
            self.first_seen.remove(&r.gid);
        }
        self.subtest_of_gid.retain(|_, id| run_of_id(id) != run);
    }

    fn end_run(&mut self, run: &str, status: RunStatus, seq: u64, now: Instant) {
        for r in self.runs.values_mut() {
            r.waits_for_run = false;
        }
        if let Some(r) = self.runs.get_mut(run) {
            r.ended_at = Some(seq);
            r.phase = Phase::Checking;
            r.status = status;
            r.check_started = Some(now);
        }
    }

    /// Another dump for a run being checked.
    pub fn again(&mut self, run: &str, seq: u64, dump: &str, now: Instant) -> Decision {
        self.check(run, seq, Some(dump), now)
    }

    /// Whether goroutine `id` existed when run `r` started.
    fn existed_at_start(&self, r: &Run, id: u64) -> bool {
        self.first_seen.get(&id).is_some_and(|&s| s <= r.start_seq)
    }

    /// Runs whose test function returned and that are not judged yet, in
    /// start order.
    pub fn checking_runs(&self) -> Vec<String> {
        self.runs_in_start_order(|r| r.phase == Phase::Checking)
    }

    /// Runs that started and were never judged (their process died).
    pub fn unfinished_runs(&self) -> Vec<String> {
        self.runs_in_start_order(|r| r.phase != Phase::Closed)
    }

    /// Judges a run from snapshot `seq`: `dump`, or, when `None`, one that
    /// lists no goroutine the run's start snapshot did not.
    fn check(&mut self, run: &str, seq: u64, dump: Option<&str>, now: Instant) -> Decision {
        let ids = dump.map(goroutine_ids).unwrap_or_default();
        if let Some(dump) = dump {
            self.observe_full(seq, dump, &ids);
        }
        self.judge(run, seq, dump, &ids, now)
    }

    /// [`Comparator::check`] once the snapshot's IDs are observed.
    fn judge(
        &mut self,
        run: &str,
        seq: u64,
        dump: Option<&str>,
        ids: &[u64],
        now: Instant,
    ) -> Decision {
        let Some(r) = self.runs.get(run) else {
            // A run the comparator never saw start: nothing to judge.
            return Decision::Done(RunVerdict {
                resources: Vec::new(),
                run: run.to_string(),
                test: Self::test_of_run(run).to_string(),
                status: RunStatus::Pass,
                leaks: Vec::new(),
                ignored: Vec::new(),
                check: Duration::ZERO,
            });
        };
        // The cheap pass: with no goroutine new to this run, it is clean.
        let any_new = ids.iter().any(|&id| {
            (id != r.gid && !self.existed_at_start(r, id) && !self.claimed.contains(&id))
                || (!self.timers.is_empty() && self.late_timer(id).is_some())
        });
        let found = match dump {
            Some(text) if any_new => self.owned(run, text),
            _ => Found {
                all_proven: true,
                ..Found::default()
            },
        };
        let r = self.runs.get_mut(run).expect("checked above");
        r.proven.extend(found.proven);
        let started = r.check_started.unwrap_or(now);
        let deadline = started + self.config.grace;
        if r.deferred && found.waiting {
            // Judged with a later dump, its window is wide: a goroutine
            // passed over now may be this run's, so it waits for the other
            // candidates to end rather than passing; the earliest
            // candidate then reports it.
            r.waits_for_run = true;
            return Decision::Again(r.next_backoff());
        }
        r.waits_for_run = false;
        if !found.leaks.is_empty() && !found.all_proven && now < deadline {
            // Still alive after the first check: let the GC prove what it
            // can (at once, then after each backoff for a few checks)
            // before waiting out the grace period.
            if self.config.leak_profile && r.profile_asks == 0 {
                r.profile_asks = 1;
                return Decision::LeakProfile(Duration::ZERO);
            }
            let backoff = r.next_backoff().min(deadline - now);
            if self.config.leak_profile && r.profile_asks < MAX_PROFILE_ASKS {
                r.profile_asks += 1;
                return Decision::LeakProfile(backoff);
            }
            return Decision::Again(backoff);
        }
        r.phase = Phase::Closed;
        r.end_seq = Some(seq);
        r.left_nothing = found.leaks.is_empty() && found.ignored.is_empty();
        for other in self.runs.values_mut() {
            // A run that waited for this one to report a goroutine for
            // both can be judged again.
            other.waits_for_run = false;
        }
        let r = &self.runs[run];
        for l in &found.leaks {
            self.claimed.extend(l.goroutine_ids.iter().copied());
        }
        Decision::Done(RunVerdict {
            resources: Vec::new(),
            run: run.to_string(),
            test: r.test.clone(),
            status: r.status,
            leaks: found.leaks,
            ignored: found.ignored,
            check: r
                .check_started
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t)),
        })
    }

    /// The runs of `test` whose test function has not returned.
    pub fn running_runs_of(&self, test: &str) -> Vec<String> {
        self.runs_in_start_order(|r| r.test == test && r.phase == Phase::Running)
    }

    /// The tests whose run is running and whose own goroutine `dump` (the
    /// goroutine leak profile) marks as proven leaked: deadlocks nothing
    /// can undo. Only those goroutines are parsed.
    pub fn proven_deadlocked(&self, dump: &str) -> Vec<String> {
        let running: HashMap<u64, &str> = self
            .runs
            .values()
            .filter(|r| r.phase == Phase::Running)
            .map(|r| (r.gid, r.test.as_str()))
            .collect();
        let mut tests: Vec<String> = Goroutines::new(dump, |id| running.contains_key(&id))
            .filter(|g| g.leaked)
            .map(|g| running[&g.id].to_string())
            .collect();
        tests.sort();
        tests.dedup();
        tests
    }

    /// The run a goroutine of `snapshot` belongs to, when it is known
    /// exactly (the run's own goroutine, its label, or creator links).
    pub fn run_of(&self, snapshot: &Snapshot<'_>, gid: u64) -> Option<String> {
        if let Some(run) = self.run_of_gid.get(&gid) {
            return Some(run.clone());
        }
        let g = snapshot.get(gid)?;
        let mut source = Source::Snapshot(snapshot, None);
        match self.owner(g, &mut source, &mut HashMap::new(), 0) {
            Owner::Run(r) => Some(r.to_string()),
            _ => None,
        }
    }

    /// A hung run's goroutines, from a dump of the live process: its own
    /// goroutine first, then every goroutine it started (exactly or
    /// possibly), grouped; and whether they are deadlocked: all blocked on
    /// channels, selects, mutexes, conditions or wait groups, none
    /// runnable. Goroutines the dump marks `(leaked)` count as deadlocked.
    pub fn hang_report(&self, run: &str, snapshot: &Snapshot<'_>) -> (Vec<Leak>, bool) {
        let Some(me) = self.runs.get(run) else {
            return (Vec::new(), false);
        };
        let mut groups = LeakGroups::default();
        let mut deadlock = true;
        if let Some(own) = snapshot.get(me.gid) {
            // The test's own goroutine: created by the testing package,
            // which says nothing useful.
            let mut own = own.clone();
            own.created_by = None;
            deadlock &= own.leaked || is_blocking_primitive(own.state);
            groups.add(&own, own.leaked, &[], &me.test, self.roots());
        }
        let mut memo = HashMap::new();
        let mut source = Source::Snapshot(snapshot, None);
        for g in &snapshot.goroutines {
            if g.id == me.gid
                || self.existed_at_start(me, g.id)
                || self.config.ignore.matching(g).is_some()
                || is_hook_goroutine(g)
            {
                continue;
            }
            let others: Vec<String> = match self.owner(g, &mut source, &mut memo, 0) {
                Owner::Run(r) if r == run => Vec::new(),
                Owner::Candidates(c) if c.contains(&run) => c
                    .iter()
                    .filter(|x| **x != run)
                    .map(|x| Self::test_of_run(x).to_string())
                    .collect(),
                _ => continue,
            };
            let subtest = self
                .subtest_of(g, &mut source, 0)
                .unwrap_or_else(|| me.test.clone());
            deadlock &= g.leaked || is_blocking_primitive(g.state);
            groups.add(g, g.leaked, &others, &subtest, self.roots());
        }
        let deadlock = deadlock && !groups.leaks.is_empty();
        // Its own goroutine's group stays first; the rest in the usual
        // order.
        let own = if snapshot.get(me.gid).is_some() && !groups.leaks.is_empty() {
            Some(groups.leaks.remove(0))
        } else {
            None
        };
        let mut leaks: Vec<Leak> = own.into_iter().collect();
        leaks.extend(groups.into_sorted());
        (leaks, deadlock)
    }

    /// The subtest that goroutine `g` of a run is the leak of, by its full
    /// name (`TestX/a/b`): its label's, or that of the subtest goroutine
    /// that created it or one of its creators; `None` when it is the
    /// top-level test's own.
    fn subtest_of<'a>(
        &self,
        g: &Goroutine<'a>,
        source: &mut Source<'_, 'a>,
        depth: usize,
    ) -> Option<String> {
        if let Some(label) = g.label(LABEL_KEY) {
            return subtest_name(label);
        }
        let parent = g.created_by.as_ref()?.parent?;
        if let Some(id) = self.subtest_of_gid.get(&parent) {
            return subtest_name(id);
        }
        if self.run_of_gid.contains_key(&parent) || depth >= 64 || parent == g.id {
            return None;
        }
        let p = source.get(parent)?;
        self.subtest_of(&p, source, depth + 1)
    }

    /// The goroutines of `dump` that belong to `run`, grouped as leaks
    /// (with the other candidate runs when ownership is ambiguous), and
    /// the counts of the run's goroutines that ignore rules exempted. The
    /// dump is parsed one goroutine at a time: only those new to the run
    /// are parsed whole, and creators when they are looked up.
    fn owned(&self, run: &str, dump: &str) -> Found {
        let me = &self.runs[run];
        let mut memo: HashMap<u64, Owner<'_>> = HashMap::new();
        let mut source = Source::Text(dump, None);
        let mut found = Found {
            all_proven: true,
            ..Found::default()
        };
        let mut groups = LeakGroups::default();
        // A `//leakcheck:ignore` directive on the test itself.
        let test_rule = self.config.ignore.for_test(&me.test);
        let new = |id: u64| {
            (id != me.gid && !self.existed_at_start(me, id) && !self.claimed.contains(&id))
                || (!self.timers.is_empty() && self.late_timer(id).is_some())
        };
        for g in Goroutines::new(dump, new) {
            if is_hook_goroutine(&g) {
                continue;
            }
            let late = self.late_timer(g.id);
            let ambiguous_with = match late.map_or_else(
                || self.owner(&g, &mut source, &mut memo, 0),
                |_| Owner::Run(run),
            ) {
                Owner::Run(r) if r == run => Vec::new(),
                Owner::Candidates(c) if c.contains(&run) => {
                    let others: Vec<&str> = c.into_iter().filter(|x| *x != run).collect();
                    // Never blame a goroutine that may belong to a test
                    // still running: wait until all candidates have ended.
                    if others
                        .iter()
                        .any(|o| self.runs.get(*o).is_some_and(|r| r.phase == Phase::Running))
                    {
                        found.waiting = true;
                        continue;
                    }
                    // The candidate whose end dump showed it first (it
                    // outlived that run) reports it, when it can still.
                    let first = self.first_seen.get(&g.id).copied();
                    // (Not one whose test a directive exempts: it would
                    // count the goroutine as ignored.) Meanwhile this run
                    // waits, if it can, in case that one never does.
                    let reporter = others.iter().find(|o| {
                        self.runs.get(**o).is_some_and(|r| {
                            r.end_dump.is_some()
                                && r.end_dump == first
                                && self.config.ignore.for_test(&r.test).is_none()
                        })
                    });
                    if reporter.is_some_and(|o| self.runs[*o].phase != Phase::Closed) {
                        found.waiting = true;
                        continue;
                    }
                    let mut tests: Vec<String> = others
                        .iter()
                        .map(|o| Self::test_of_run(o).to_string())
                        .filter(|t| *t != me.test)
                        .collect();
                    tests.sort();
                    tests.dedup();
                    tests
                }
                _ => continue,
            };
            let mut ambiguous_with = ambiguous_with;
            if let Some(other) = timer_scheduled_by(&g).filter(|t| *t != me.test) {
                // A timer's callback (time.AfterFunc) that runs a function
                // literal of another test: that test scheduled it, most
                // likely, and may have ended long ago.
                if !ambiguous_with.iter().any(|t| t == other) {
                    ambiguous_with.push(other.to_string());
                    ambiguous_with.sort();
                }
            }
            // (A late timer's callback is not this test's: the directive
            // of the test that set the timer applies.)
            let directive = match late {
                Some(test) => self.config.ignore.for_test(test),
                None => test_rule,
            };
            if let Some(rule) = directive.or_else(|| self.config.ignore.matching(&g)) {
                match found.ignored.iter_mut().find(|(r, _)| r == rule) {
                    Some((_, n)) => *n += 1,
                    None => found.ignored.push((rule.clone(), 1)),
                }
                continue;
            }
            if g.leaked {
                found.proven.push(g.id);
            }
            let proven = g.leaked || me.proven.contains(&g.id);
            found.all_proven &= proven;
            let subtest = self
                .subtest_of(&g, &mut source, 0)
                .unwrap_or_else(|| me.test.clone());
            groups.add(&g, proven, &ambiguous_with, &subtest, self.roots());
        }
        found.leaks = groups.into_sorted();
        found
    }

    fn owner<'r, 'a>(
        &'r self,
        g: &Goroutine<'a>,
        source: &mut Source<'_, 'a>,
        memo: &mut HashMap<u64, Owner<'r>>,
        depth: usize,
    ) -> Owner<'r> {
        if let Some(o) = memo.get(&g.id) {
            return o.clone();
        }
        // Found by its label or its creator: the same at any depth, so
        // worth no memo entry.
        if let Some((run, _)) = g
            .label(LABEL_KEY)
            .and_then(|l| self.runs.get_key_value(run_of_id(l)))
        {
            return Owner::Run(run);
        }
        let parent = g.created_by.as_ref().and_then(|c| c.parent);
        let id = parent.and_then(|p| {
            self.run_of_gid
                .get(&p)
                .or_else(|| self.subtest_of_gid.get(&p))
        });
        if let Some((run, _)) = id.and_then(|id| self.runs.get_key_value(run_of_id(id))) {
            return Owner::Run(run);
        }
        let owner = self.owner_uncached(g, source, memo, depth);
        memo.insert(g.id, owner.clone());
        owner
    }

    /// The owner of a goroutine that has no label of a known run and was
    /// not created by a run's own goroutine.
    fn owner_uncached<'r, 'a>(
        &'r self,
        g: &Goroutine<'a>,
        source: &mut Source<'_, 'a>,
        memo: &mut HashMap<u64, Owner<'r>>,
        depth: usize,
    ) -> Owner<'r> {
        if let Some(parent) = g.created_by.as_ref().and_then(|c| c.parent) {
            if depth < 64 && parent != g.id {
                if let Some(p) = source.get(parent) {
                    if let Owner::Run(run) = self.owner(&p, source, memo, depth + 1) {
                        return Owner::Run(run);
                    }
                }
            }
        }
        // With creation chains (`--chains`), each creator's ID up the
        // chain: one that is a test's or subtest's goroutine owns it,
        // though the creators between them have exited (before Go 1.26,
        // where dumps carry no labels).
        if g.text.contains("\n[originating from goroutine ") {
            for a in g.ancestors() {
                let id = self
                    .run_of_gid
                    .get(&a.id)
                    .or_else(|| self.subtest_of_gid.get(&a.id));
                if let Some((run, _)) = id.and_then(|id| self.runs.get_key_value(run_of_id(id))) {
                    return Owner::Run(run);
                }
            }
        }
        let Some(&first) = self.first_seen.get(&g.id) else {
            return Owner::Nobody;
        };
        if let Some(test) = timer_scheduled_by(g).filter(|t| self.tests.contains(*t)) {
            // A timer's callback: the run that set the timer, or, when
            // that one is judged already, the next run judged reports it
            // (see late_timer).
            return self
                .scheduling_run(test, first)
                .map_or(Owner::Nobody, Owner::Run);
        }
        if g.created_by
            .as_ref()
            .is_some_and(|c| c.function == "testing.(*T).Run")
        {
            // A top-level test's goroutine caught by a dump before its
            // run started (a check taken at any time): the run claims it
            // when it starts; it is no other run's.
            return Owner::Nobody;
        }
        // The full dump before the one that showed it first.
        let window = self.windows.get(&first);
        // A timer's callback that no run's goroutine created: not one of a
        // run whose test function had returned and been dumped before the
        // window opened. (A periodic timer another test left fires while
        // a run is checked: its callbacks, each short-lived, are not that
        // run's.)
        let timer = is_timer_callback(g);
        let mut candidates: Vec<(u64, &str)> = self
            .runs
            .iter()
            .filter(|(_, r)| {
                r.start_seq < first
                    && r.end_seq.is_none_or(|e| e >= first)
                    // (nor one judged later whose test function returned
                    // before the full dump that opens the window: with a
                    // dump per run it would have been closed by then, its
                    // end dump showing nothing new)
                    && (!(r.deferred || timer)
                        || window.is_none_or(|w| r.ended_at.is_none_or(|e| e > w.start)))
            })
            .map(|(k, r)| (r.start_seq, k.as_str()))
            .collect();
        if window.is_some_and(|w| w.verified) {
            // Runs that ended in the window (after its first dump, the
            // filter above says) when their counts showed nothing new
            // alive (see end_deferred).
            let counted_out = |&(_, run): &(u64, &str)| {
                let r = &self.runs[run];
                r.count_clean && r.ended_at.is_some_and(|e| e < first)
            };
            if candidates.iter().any(|c| !counted_out(c)) {
                candidates.retain(|c| !counted_out(c));
            }
        }
        match candidates.len() {
            0 => Owner::Nobody,
            1 => Owner::Run(candidates.pop().expect("one").1),
            _ => {
                candidates.sort();
                Owner::Candidates(candidates.into_iter().map(|(_, k)| k).collect())
            }
        }
    }
}

impl Comparator {
    /// The run of `test` that most likely set the timer whose callback
    /// goroutine was first seen in snapshot `first`: the last one started
    /// before it, while it is not judged yet.
    fn scheduling_run(&self, test: &str, first: u64) -> Option<&str> {
        let (id, r) = self
            .runs
            .iter()
            .filter(|(_, r)| r.test == test && r.start_seq < first)
            .max_by_key(|(_, r)| r.start_seq)?;
        (r.phase != Phase::Closed).then_some(id.as_str())
    }

    /// For a timer's callback goroutine `id` that started after the run
    /// that most likely set the timer was judged (or forgotten), that
    /// run's test. No run can own it any more, by label, creator or
    /// window, so the next run judged while it is alive reports it,
    /// naming that test: it is never dropped without a word.
    fn late_timer(&self, id: u64) -> Option<&str> {
        if self.claimed.contains(&id) {
            return None;
        }
        let test = self.timers.get(&id)?;
        let first = *self.first_seen.get(&id)?;
        self.scheduling_run(test, first)
            .is_none()
            .then_some(test.as_str())
    }
}

/// Whether `g` is a timer's callback (`time.AfterFunc`): created by
/// `time.goFunc`, not by any goroutine.
fn is_timer_callback(g: &Goroutine<'_>) -> bool {
    g.created_by
        .as_ref()
        .is_some_and(|c| c.function == "time.goFunc")
}

/// For a timer's callback goroutine (created by `time.goFunc`), the test
/// whose function, or a function literal in it (`pkg.TestX.func1`), is one
/// of its frames: the test that most likely scheduled it.
fn timer_scheduled_by<'a>(g: &Goroutine<'a>) -> Option<&'a str> {
    if !is_timer_callback(g) {
        return None;
    }
    g.frames.iter().find_map(|f| {
        let name = f.function.rsplit('/').next()?;
        let (_, rest) = name.split_once('.')?;
        let test = rest.split('.').next()?;
        test.starts_with("Test").then_some(test)
    })
}

/// Whether a goroutine in `state` waits on a synchronization primitive
/// (which only another goroutine can release), rather than on time, I/O,
/// a system call, or being runnable.
pub fn is_blocking_primitive(state: &str) -> bool {
    state.starts_with("chan ")
        || state.starts_with("select")
        || state.starts_with("sync.")
        || state.starts_with("semacquire")
        || state == "sync.Cond.Wait"
}

/// Whether `function` (fully qualified) is a test, fuzz target, example
/// or benchmark function, a method of that name (a suite's), or a closure
/// inside one.
pub fn is_test_function(function: &str) -> bool {
    let symbol = &function[package_of(function).len()..];
    let symbol = symbol.strip_prefix('.').unwrap_or(symbol);
    // A method: "(*Suite).TestX".
    let symbol = match symbol.strip_prefix('(') {
        Some(rest) => rest.split_once(").").map_or(rest, |(_, m)| m),
        None => symbol,
    };
    let name = symbol.split('.').next().unwrap_or("");
    ["Test", "Fuzz", "Example", "Benchmark"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether `frame` is in the standard library (or the runtime).
pub fn is_std_frame(frame: &Frame<'_>, goroot: &str) -> bool {
    is_std(frame.function, frame.file, goroot)
}

/// Whether `function`, in `file`, is in the standard library (or the
/// runtime).
pub fn is_std(function: &str, file: &str, goroot: &str) -> bool {
    if !goroot.is_empty() {
        if let Some(rest) = file.strip_prefix(goroot) {
            return rest.starts_with("/src/");
        }
    }
    if file.starts_with('/') {
        return false;
    }
    // -trimpath: files are shown by import path; the standard library's
    // paths have no dot in their first element.
    let pkg = package_of(function);
    !pkg.split('/').next().unwrap_or("").contains('.')
}

/// The import path of a fully qualified function name.
pub fn package_of(function: &str) -> &str {
    let slash = function.rfind('/').map_or(0, |i| i + 1);
    match function[slash..].find('.') {
        Some(dot) => &function[..slash + dot],
        None => function,
    }
}

/// The frame to show as where a goroutine is blocked: the innermost frame
/// in the user's code; failing that, the innermost standard-library frame
/// outside the runtime and internal packages.
pub fn blocking_frame<'f, 'a>(g: &'f Goroutine<'a>, goroot: &str) -> Option<&'f Frame<'a>> {
    g.frames
        .iter()
        .find(|f| !is_std_frame(f, goroot))
        .or_else(|| {
            g.frames.iter().find(|f| {
                let pkg = package_of(f.function);
                pkg != "runtime" && !pkg.starts_with("internal/") && !pkg.contains("/internal/")
            })
        })
        .or(g.frames.first())
}

/// Groups goroutines that are the same leak: same state, blocking frame,
/// creation site and ambiguity. Groups keep the order of first appearance.
pub fn group_leaks(goroutines: &[(Goroutine<'_>, Vec<String>)], roots: CodeRoots<'_>) -> Vec<Leak> {
    let mut groups = LeakGroups::default();
    for (g, ambiguous_with) in goroutines {
        groups.add(g, g.leaked, ambiguous_with, "", roots);
    }
    groups.into_sorted()
}

/// The run ID in a label or subtest ID: `TestX#3` of `TestX#3/a/b`.
/// A hash of run ID `run`, for [`Comparator::forgotten`].
fn run_hash(run: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(run)
}

pub fn run_of_id(id: &str) -> &str {
    id.split_once('/').map_or(id, |(run, _)| run)
}

/// The full name of the subtest a subtest ID stands for (`TestX/a/b` for
/// `TestX#3/a/b`); `None` for a run ID.
fn subtest_name(id: &str) -> Option<String> {
    let (run, rest) = id.split_once('/')?;
    Some(format!("{}/{rest}", Comparator::test_of_run(run)))
}

/// Whether `g` is the hook's own (a probe's, while it sends): never a leak.
fn is_hook_goroutine(g: &Goroutine<'_>) -> bool {
    g.frames.iter().any(|f| {
        f.function.starts_with("testing.leakcheck") || f.function.starts_with("testing.(*leakcheck")
    })
}

/// Leak groups built one goroutine at a time (see [`group_leaks`]).
#[derive(Default)]
struct LeakGroups {
    leaks: Vec<Leak>,
}

impl LeakGroups {
    /// The groups in their reporting order (see [`sort_leaks`]).
    fn into_sorted(mut self) -> Vec<Leak> {
        sort_leaks(&mut self.leaks);
        self.leaks
    }

    /// Adds `g`, proven leaked or not, the leak of `subtest`, to its group.
    fn add(
        &mut self,
        g: &Goroutine<'_>,
        proven: bool,
        ambiguous_with: &[String],
        subtest: &str,
        roots: CodeRoots<'_>,
    ) {
        let frame = blocking_frame(g, roots.goroot);
        let chain = creation_chain(g, roots.calls);
        let (origin, via) = origin_and_via(&chain, roots);
        let (function, file, line) = frame.map_or(("", "", 0), |f| (f.function, f.file, f.line));
        let same_creator = |l: &Leak| match (&l.created_by, &g.created_by) {
            (None, None) => true,
            (Some(a), Some(b)) => a.function == b.function && a.file == b.file && a.line == b.line,
            _ => false,
        };
        if let Some(l) = self.leaks.iter_mut().find(|l| {
            l.state == g.state
                && l.proven == proven
                && l.function == function
                && l.file == file
                && l.line == line
                && same_creator(l)
                && l.ambiguous_with == ambiguous_with
                && l.subtest == subtest
                && l.origin == origin
                && l.via == via
        }) {
            l.count += 1;
            l.goroutine_ids.push(g.id);
            return;
        }
        let hint = crate::detect::hints::hint_in_chain(g, &chain, |f| {
            let frame = Frame {
                function: &f.function,
                file: &f.file,
                line: f.line,
                inlined: false,
            };
            is_std_frame(&frame, roots.goroot)
        })
        .map(str::to_string);
        self.leaks.push(Leak {
            count: 1,
            subtest: subtest.to_string(),
            state: g.state.to_string(),
            proven,
            ambiguous_with: ambiguous_with.to_vec(),
            function: function.to_string(),
            file: file.to_string(),
            line,
            created_by: g.created_by.as_ref().map(|c| Location {
                function: c.function.to_string(),
                file: c.file.to_string(),
                line: c.line,
            }),
            goroutine_ids: vec![g.id],
            stack: g.text.to_string(),
            known: false,
            origin,
            via,
            chain,
            hint,
            keeps_alive: Vec::new(),
        });
    }
}

#[cfg(test)]
impl Leak {
    /// A leak for tests: one goroutine blocked sending in
    /// `example.com/p.F.func1` at /m/p/p.go:10, created at line 9.
    pub(crate) fn example() -> Leak {
        Leak {
            count: 1,
            subtest: String::new(),
            state: "chan send".into(),
            proven: false,
            ambiguous_with: vec![],
            function: "example.com/p.F.func1".into(),
            file: "/m/p/p.go".into(),
            line: 10,
            created_by: Some(Location {
                function: "example.com/p.F".into(),
                file: "/m/p/p.go".into(),
                line: 9,
            }),
            goroutine_ids: vec![7],
            stack: "goroutine 7 [chan send]:\nexample.com/p.F.func1()\n\t/m/p/p.go:10 +0x1d".into(),
            known: false,
            origin: None,
            via: None,
            chain: Vec::new(),
            hint: None,
            keeps_alive: Vec::new(),
        }
    }
}

/// Puts leak groups in the order they are reported in, which does not
/// depend on the order of goroutines in a dump: the biggest first, then by
/// creation site, blocking frame, state and subtest; goroutine IDs
/// ascending within a group.
pub fn sort_leaks(leaks: &mut [Leak]) {
    for l in leaks.iter_mut() {
        l.goroutine_ids.sort_unstable();
    }
    let created = |l: &Leak| {
        l.created_by
            .as_ref()
            .map(|c| (c.file.clone(), c.line, c.function.clone()))
    };
    leaks.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| match (created(a), created(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (x, y) => x.is_none().cmp(&y.is_none()),
            })
            .then_with(|| (&a.file, a.line, &a.function).cmp(&(&b.file, b.line, &b.function)))
            .then_with(|| a.state.cmp(&b.state))
            .then_with(|| a.subtest.cmp(&b.subtest))
            .then_with(|| a.ambiguous_with.cmp(&b.ambiguous_with))
    });
}

/// Merges `more` into `leaks`, adding up groups that are the same leak
/// (same state, blocking frame, creation site): used to combine the runs
/// of one test (`-count`).
pub fn group_leaks_merge(mut leaks: Vec<Leak>, more: Vec<Leak>) -> Vec<Leak> {
    for m in more {
        match leaks.iter_mut().find(|l| {
            l.state == m.state
                && l.function == m.function
                && l.file == m.file
                && l.line == m.line
                && l.created_by == m.created_by
                && l.ambiguous_with == m.ambiguous_with
                && l.subtest == m.subtest
                && l.origin == m.origin
                && l.via == m.via
        }) {
            Some(l) => {
                l.count += m.count;
                l.proven |= m.proven;
                l.goroutine_ids.extend(m.goroutine_ids);
                for k in m.keeps_alive {
                    match l.keeps_alive.iter_mut().find(|x| x.site == k.site) {
                        Some(x) => x.bytes += k.bytes,
                        None => l.keeps_alive.push(k),
                    }
                }
            }
            None => leaks.push(m),
        }
    }
    sort_leaks(&mut leaks);
    leaks
}

#[cfg(test)]
mod tests;
