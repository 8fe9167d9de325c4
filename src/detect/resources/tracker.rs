//! Judging one test binary process's runs for resources, from the hook's
//! `res` messages: at a run's start, what the process has (descriptors,
//! processes, live heap and heap profile); at its end, what is new, still
//! there after the grace period, and whose it is.
//!
//! A descriptor or process new at a run's end is the run's own when no
//! other test ran meanwhile. A test paused in `t.Parallel` at the run's
//! start and still paused at its end did not run. Otherwise each other
//! test that ran meanwhile is a candidate unless the item was already
//! there at its start, or (for a test that ended) gone at its end. While
//! a candidate still runs, the item waits for that test's end, which
//! judges it again (so a parallel test's file, closed at its end, is
//! nobody's leak); when none runs, it is reported on this run with the
//! candidates in `ambiguous_with`. Heap growth is judged for a run
//! during which no other test ran from the run's start; runs that
//! overlapped are judged together when the last of them ends and none
//! runs any more (tests paused in `t.Parallel` aside), from the live heap
//! before them, on that last run with the others as candidates. What
//! leakcheck itself has open, and
//! the runtime's poller, were open before any test: never new.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fds::{self, FdSet, SocketInfo};
use super::heap::{self, Profile};
use super::procs::{self, ProcId};
use super::{human_bytes, Checks, Resource, ResourceKind};
use crate::detect::ignore::{pattern_matches, IgnoreRule, IgnoreRules, RuleKind};

/// What the tracker reads of the process (the real one reads `/proc`).
pub trait System {
    fn fds(&self, pid: u32) -> FdSet;
    fn processes(&self, pid: u32) -> BTreeMap<ProcId, String>;
    fn sockets(&self, pid: u32) -> HashMap<u64, SocketInfo>;
    fn cmdline(&self, pid: u32, comm: &str) -> String;
}

/// The system, through `/proc`.
pub struct Proc;

impl System for Proc {
    fn fds(&self, pid: u32) -> FdSet {
        fds::read_fds(pid).unwrap_or_default()
    }
    fn processes(&self, pid: u32) -> BTreeMap<ProcId, String> {
        procs::belonging_to(&procs::scan(), pid)
    }
    fn sockets(&self, pid: u32) -> HashMap<u64, SocketInfo> {
        fds::read_sockets(pid)
    }
    fn cmdline(&self, pid: u32, comm: &str) -> String {
        procs::cmdline(pid, comm)
    }
}

/// One `res` message.
#[derive(Debug, Clone, Default)]
pub struct Message<'a> {
    pub run: &'a str,
    /// The run's end (else its start).
    pub end: bool,
    pub pid: u32,
    /// The live heap after a GC, when asked for.
    pub heap: Option<u64>,
    /// Runs of tests paused in `t.Parallel`.
    pub paused: Vec<String>,
    /// The heap profile, when asked for.
    pub profile: Option<&'a str>,
}

/// The answer to a `res` message.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Send it again after this long.
    Again(Duration),
    /// Send it again with the live heap.
    Heap,
    /// ... and the heap profile.
    HeapProfile,
    /// Done; at a run's end, what it left behind.
    Done(Option<Judged>),
}

/// What a run left behind, and what ignore rules exempted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judged {
    pub resources: Vec<Resource>,
    pub ignored: Vec<(IgnoreRule, usize)>,
    /// How long the run's end waited for what was still there (the
    /// grace period, when something was).
    pub waited: Duration,
}

/// A process found leaked and still running, for leakcheck to kill when
/// the binary has exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub id: ProcId,
    pub command: String,
    pub test: String,
}

type Fd = (u32, String);

struct Run {
    start_seq: u64,
    end_seq: Option<u64>,
    paused_at_start: HashSet<String>,
    fds: FdSet,
    procs: BTreeMap<ProcId, String>,
    end_fds: Option<FdSet>,
    end_procs: Option<BTreeMap<ProcId, String>>,
    heap_start: Option<u64>,
    profile_start: Option<Arc<Profile>>,
    /// No other test ran when it started (others were ended or paused in
    /// `t.Parallel`): its start is a quiet point.
    started_quiet: bool,
    ending: Option<Ending>,
}

struct Ending {
    since: Instant,
    wait: Duration,
    /// What was found is judged (the grace period is over, or nothing
    /// was awaited); `waited` is how long that took.
    settled: bool,
    waited: Option<Duration>,
    /// Other runs that ran during this one.
    others: Vec<String>,
    fds: Vec<(Fd, Vec<String>)>,
    procs: Vec<(ProcId, String, Vec<String>)>,
    /// A garbage collection was asked for (see `end`), and whether the
    /// look after it is still to come.
    collected: bool,
    after_collection: bool,
    /// The live heap was asked for once the run was settled.
    heap_asked: bool,
}

/// Follows one process's runs; see the module doc.
pub struct Tracker {
    checks: Checks,
    grace: Duration,
    rules: IgnoreRules,
    system: Box<dyn System + Send>,
    seq: u64,
    runs: HashMap<String, Run>,
    reported_fds: HashSet<Fd>,
    reported_procs: HashSet<ProcId>,
    /// The latest heap profile, and the live heap when it was taken: the
    /// baseline of a run that starts with about as much live heap.
    baseline: Option<(u64, Arc<Profile>)>,
    /// The live heap and profile at the latest quiet point (a run's start
    /// or end with no other test running): where heap growth over runs
    /// that overlapped is measured from.
    quiet: Option<(u64, Arc<Profile>)>,
    /// The tests whose runs overlapped another's since `quiet`.
    overlapped: BTreeSet<String>,
    /// The processes the latest run's end found: the next run's start,
    /// when no run is going on (a scan of /proc costs about as much as
    /// the processes on the machine).
    last_procs: Option<BTreeMap<ProcId, String>>,
    /// Processes reported leaked, to kill at the end.
    pub leftovers: Vec<Leftover>,
    /// The test binary's GOROOT: heap sites are the user's frames, not the
    /// standard library's.
    goroot: String,
}

/// The first wait of a run's grace period, doubled each time after, up
/// to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(10);
const LONGEST_WAIT: Duration = Duration::from_millis(200);

fn test_of(run: &str) -> String {
    crate::detect::compare::Comparator::test_of_run(run).to_string()
}

impl Tracker {
    pub fn new(
        checks: Checks,
        grace: Duration,
        rules: IgnoreRules,
        system: Box<dyn System + Send>,
    ) -> Tracker {
        Tracker {
            checks,
            grace,
            rules,
            system,
            seq: 0,
            runs: HashMap::new(),
            reported_fds: HashSet::new(),
            reported_procs: HashSet::new(),
            baseline: None,
            quiet: None,
            overlapped: BTreeSet::new(),
            last_procs: None,
            leftovers: Vec::new(),
            goroot: String::new(),
        }
    }

    /// The GOROOT of the Go that built the test binary.
    pub fn with_goroot(mut self, goroot: &str) -> Tracker {
        self.goroot = goroot.to_string();
        self
    }

    /// Whether `run` has started here (a `res` end for a run never
    /// started is a protocol error).
    pub fn knows(&self, run: &str) -> bool {
        self.runs.contains_key(run)
    }

    /// Handles one message; `now` is when it came.
    pub fn message(&mut self, msg: &Message<'_>, now: Instant) -> Answer {
        if msg.end {
            return self.end(msg, now);
        }
        if let Some(run) = self.runs.get_mut(msg.run) {
            // The heap, asked for at the start (after one GC), then the
            // profile (after two) unless the latest one is still good: the
            // live heap has not moved by a tenth of the threshold since
            // (less than any site a report names).
            let start = match (msg.heap, msg.profile) {
                (Some(heap), None) => {
                    run.heap_start = Some(heap);
                    let near = self.checks.heap_threshold / 10;
                    match &self.baseline {
                        Some((at, p)) if at.abs_diff(heap) <= near => Some((heap, p.clone())),
                        _ => return Answer::HeapProfile,
                    }
                }
                (Some(heap), Some(profile)) => {
                    let p = Arc::new(heap::parse(profile, &self.goroot));
                    self.baseline = Some((heap, p.clone()));
                    Some((heap, p))
                }
                _ => None,
            };
            if let Some((heap, p)) = start {
                run.profile_start = Some(p.clone());
                if run.started_quiet {
                    self.quiet = Some((heap, p));
                    self.overlapped.clear();
                }
            }
            return Answer::Done(None);
        }
        self.seq += 1;
        let quiet = self.runs.values().all(|r| r.end_seq.is_some());
        let procs = match &self.last_procs {
            Some(p) if quiet => p.clone(),
            _ => self.procs(msg.pid),
        };
        let started_quiet = self
            .runs
            .iter()
            .all(|(name, r)| r.end_seq.is_some() || msg.paused.contains(name));
        let run = Run {
            started_quiet,
            start_seq: self.seq,
            end_seq: None,
            paused_at_start: msg.paused.iter().cloned().collect(),
            fds: self.fds(msg.pid),
            procs,
            end_fds: None,
            end_procs: None,
            heap_start: None,
            profile_start: None,
            ending: None,
        };
        self.runs.insert(msg.run.to_string(), run);
        if self.checks.heap {
            Answer::Heap
        } else {
            Answer::Done(None)
        }
    }

    fn fds(&self, pid: u32) -> FdSet {
        if self.checks.fds {
            self.system.fds(pid)
        } else {
            FdSet::new()
        }
    }

    fn procs(&self, pid: u32) -> BTreeMap<ProcId, String> {
        if self.checks.processes {
            self.system.processes(pid)
        } else {
            BTreeMap::new()
        }
    }

    fn end(&mut self, msg: &Message<'_>, now: Instant) -> Answer {
        let Some(run) = self.runs.get(msg.run) else {
            return Answer::Done(None);
        };
        // Looked at again only while something found is awaited.
        let (scan_fds, scan_procs) = match &run.ending {
            None => (true, true),
            Some(e) => (
                !e.settled && !e.fds.is_empty(),
                !e.settled && !e.procs.is_empty(),
            ),
        };
        let fds_now = if scan_fds {
            self.fds(msg.pid)
        } else {
            FdSet::new()
        };
        let procs_now = if scan_procs {
            self.procs(msg.pid)
        } else {
            BTreeMap::new()
        };
        if run.ending.is_none() {
            self.seq += 1;
            let ending = self.begin_ending(msg, &fds_now, &procs_now, now);
            if self.checks.processes {
                self.last_procs = Some(procs_now.clone());
            }
            let run = self.runs.get_mut(msg.run).expect("known run");
            run.end_seq = Some(self.seq);
            run.end_fds = Some(fds_now.clone());
            run.end_procs = Some(procs_now.clone());
            run.ending = Some(ending);
        }
        let grace = self.grace;
        let others_running = self
            .runs
            .iter()
            .any(|(name, r)| name != msg.run && r.end_seq.is_none() && !msg.paused.contains(name));
        let run = self.runs.get_mut(msg.run).expect("known run");
        let ending = run.ending.as_mut().expect("ending");
        // Still there, the same (a descriptor number reused for something
        // else is not the one found).
        if scan_fds {
            ending
                .fds
                .retain(|((fd, target), _)| fds_now.get(fd) == Some(target));
        }
        if scan_procs {
            ending.procs.retain(|(id, _, _)| procs_now.contains_key(id));
        }
        let waiting = !ending.fds.is_empty() || !ending.procs.is_empty();
        let waited = now.saturating_duration_since(ending.since);
        // New descriptors: a garbage collection first (the hook runs one
        // for `heap`). What nothing reaches any more (an os.File, a
        // net.Conn dropped unclosed) is closed by its finalizer, so only
        // what is still open after it and the grace period is reported,
        // whether or not a collection happened to run during the test.
        if !ending.settled && !ending.collected && !ending.fds.is_empty() {
            ending.collected = true;
            ending.after_collection = true;
            return Answer::Heap;
        }
        // Finalizers run on a goroutine of their own: one wait after the
        // collection, even when the grace period is over.
        if !ending.settled && waiting && std::mem::take(&mut ending.after_collection) {
            return Answer::Again(FIRST_WAIT);
        }
        if !ending.settled && waiting && waited < grace {
            let wait = ending.wait.min(grace - waited);
            ending.wait = ending.wait.saturating_mul(2).min(LONGEST_WAIT);
            return Answer::Again(wait);
        }
        ending.settled = true;
        let waited = ending.waited.get_or_insert(waited);
        let waited = *waited;
        // The heap: for a run during which no other test ran, from its
        // start; for runs that overlapped, once none runs any more, from
        // the quiet point before them, with the candidates named.
        let mut heap_resources = Vec::new();
        let mut heap_exempted: Vec<(IgnoreRule, usize)> = Vec::new();
        if self.checks.heap {
            let alone = ending.others.is_empty();
            if !alone {
                self.overlapped.insert(test_of(msg.run));
                self.overlapped
                    .extend(ending.others.iter().map(|o| test_of(o)));
            }
            let from = if alone {
                run.heap_start.zip(run.profile_start.clone())
            } else if !others_running {
                self.quiet.clone()
            } else {
                None
            };
            if let Some((heap_start, profile_start)) = from {
                // The live heap after the wait: the one sent with the
                // collection asked for descriptors came before it.
                let heap_now = match msg.heap {
                    Some(heap) if !ending.collected || ending.heap_asked => heap,
                    _ => {
                        ending.heap_asked = true;
                        return Answer::Heap;
                    }
                };
                // After one GC; over the threshold, again after two (a
                // sync.Pool's buffers outlive one) with the profile.
                let growth = heap_now.saturating_sub(heap_start);
                let mut end_profile = None;
                if growth > self.checks.heap_threshold {
                    let Some(profile) = msg.profile else {
                        return Answer::HeapProfile;
                    };
                    let end = Arc::new(heap::parse(profile, &self.goroot));
                    self.baseline = Some((heap_now, end.clone()));
                    end_profile = Some(end.clone());
                    // What the runtime keeps for itself (goroutine
                    // descriptors after a burst of goroutines), and
                    // leakcheck's hook, is not the test's.
                    let growth = growth.saturating_sub(heap::others_growth(&profile_start, &end));
                    // What an ignore rule exempts is counted, not reported.
                    let rules = &self.rules;
                    let mut exempt_bytes = 0.0;
                    for (stack, grew) in heap::tests_growth(&profile_start, &end) {
                        if let Some(rule) =
                            heap_ignored(rules, &stack.functions).filter(|_| grew >= 1.0)
                        {
                            exempt_bytes += grew;
                            match heap_exempted.iter_mut().find(|(r, _)| r == rule) {
                                Some((_, n)) => *n += 1,
                                None => heap_exempted.push((rule.clone(), 1)),
                            }
                        }
                    }
                    let growth = growth.saturating_sub(exempt_bytes as u64);
                    if growth > self.checks.heap_threshold {
                        let ignored =
                            |functions: &[String]| heap_ignored(rules, functions).is_some();
                        heap_resources = heap_report(growth, Some(&profile_start), &end, &ignored);
                    }
                }
                if !alone {
                    let me = test_of(msg.run);
                    let candidates: Vec<String> = std::mem::take(&mut self.overlapped)
                        .into_iter()
                        .filter(|t| *t != me)
                        .collect();
                    for r in &mut heap_resources {
                        r.ambiguous_with = candidates.clone();
                    }
                }
                if !others_running {
                    // A quiet point: what was judged is not measured again.
                    self.quiet = Some((heap_now, end_profile.unwrap_or(profile_start)));
                }
            }
        }
        let ending = run.ending.take().expect("ending");
        let mut judged = self.judged(msg.run, msg.pid, ending, heap_resources);
        judged.ignored.extend(heap_exempted);
        judged.waited = waited;
        self.prune();
        Answer::Done(Some(judged))
    }

    /// The first look at a run's end: what is new, and whose.
    fn begin_ending(
        &self,
        msg: &Message<'_>,
        fds_now: &FdSet,
        procs_now: &BTreeMap<ProcId, String>,
        now: Instant,
    ) -> Ending {
        let run = &self.runs[msg.run];
        let paused_now: HashSet<&str> = msg.paused.iter().map(String::as_str).collect();
        let mut others: Vec<&str> = self
            .runs
            .iter()
            .filter(|(name, s)| {
                name.as_str() != msg.run
                    && s.end_seq.is_none_or(|e| e > run.start_seq)
                    && !(s.end_seq.is_none()
                        && run.paused_at_start.contains(name.as_str())
                        && paused_now.contains(name.as_str()))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        others.sort();
        // Candidates among them for an item: not there at their start,
        // and there at their end if they ended. None when one of them
        // still runs: its own end judges the item.
        let candidates = |at_start: &dyn Fn(&Run) -> bool, at_end: &dyn Fn(&Run) -> bool| {
            let mut names = Vec::new();
            for &o in &others {
                let s = &self.runs[o];
                if at_start(s) || (s.end_seq.is_some() && !at_end(s)) {
                    continue;
                }
                // Still running: its end judges the item.
                s.end_seq?;
                names.push(test_of(o));
            }
            names.dedup();
            Some(names)
        };
        let mut fds_new = Vec::new();
        for (fd, target) in fds_now {
            let item = (*fd, target.clone());
            if run.fds.get(fd) == Some(target)
                || fds::is_runtimes(target)
                || self.reported_fds.contains(&item)
            {
                continue;
            }
            let has = |set: Option<&FdSet>| set.is_some_and(|s| s.get(fd) == Some(target));
            if let Some(c) = candidates(&|s| has(Some(&s.fds)), &|s| has(s.end_fds.as_ref())) {
                fds_new.push((item, c));
            }
        }
        let mut procs_new = Vec::new();
        for (id, comm) in procs_now {
            if run.procs.contains_key(id) || self.reported_procs.contains(id) {
                continue;
            }
            if let Some(c) = candidates(&|s| s.procs.contains_key(id), &|s| {
                s.end_procs.as_ref().is_some_and(|p| p.contains_key(id))
            }) {
                procs_new.push((*id, comm.clone(), c));
            }
        }
        Ending {
            since: now,
            wait: FIRST_WAIT,
            settled: false,
            waited: None,
            others: others.iter().map(|o| o.to_string()).collect(),
            fds: fds_new,
            procs: procs_new,
            collected: false,
            after_collection: false,
            heap_asked: false,
        }
    }

    /// The report of what `run` left behind.
    fn judged(&mut self, run: &str, pid: u32, ending: Ending, heap: Vec<Resource>) -> Judged {
        let test = test_of(run);
        let mut resources = Vec::new();
        if !ending.fds.is_empty() {
            let sockets = if ending
                .fds
                .iter()
                .any(|((_, t), _)| fds::kind_of(t) == ResourceKind::Socket)
            {
                self.system.sockets(pid)
            } else {
                HashMap::new()
            };
            // Alike descriptors in one entry (see fds::group_key), with
            // the same candidates.
            type Group = Vec<(u32, String)>;
            let mut groups: BTreeMap<(ResourceKind, String, Vec<String>), Group> = BTreeMap::new();
            for ((fd, target), candidates) in &ending.fds {
                self.reported_fds.insert((*fd, target.clone()));
                let description = fds::describe(target, &sockets);
                groups
                    .entry((
                        fds::kind_of(target),
                        fds::group_key(&description),
                        candidates.clone(),
                    ))
                    .or_default()
                    .push((*fd, description));
            }
            for ((kind, key, ambiguous_with), members) in groups {
                let numbers: Vec<u32> = members.iter().map(|m| m.0).collect();
                let description = match members.as_slice() {
                    [(_, one)] => one.clone(),
                    _ => key,
                };
                // The first few numbers: a pool's hundred connections need
                // not fill a screen.
                let mut list: Vec<String> = numbers
                    .iter()
                    .take(FDS_LISTED)
                    .map(u32::to_string)
                    .collect();
                if numbers.len() > FDS_LISTED {
                    list.push(format!("and {} more", numbers.len() - FDS_LISTED));
                }
                let which = if numbers.len() == 1 { "fd" } else { "fds" };
                resources.push(Resource {
                    kind,
                    description: format!("{description} ({which} {})", list.join(", ")),
                    count: numbers.len(),
                    bytes: None,
                    site: None,
                    ambiguous_with,
                    known: false,
                });
            }
        }
        for (id, comm, ambiguous_with) in ending.procs {
            self.reported_procs.insert(id);
            let command = self.system.cmdline(id.0, &comm);
            resources.push(Resource {
                kind: ResourceKind::Process,
                description: format!("pid {}: {command}", id.0),
                count: 1,
                bytes: None,
                site: None,
                ambiguous_with,
                known: false,
            });
            self.leftovers.push(Leftover {
                id,
                command,
                test: test.clone(),
            });
        }
        resources.extend(heap);
        let mut ignored = Vec::new();
        if let Some(rule) = self.rules.for_test(&test) {
            if !resources.is_empty() {
                let n = resources.iter().map(|r| r.count).sum();
                ignored.push((rule.clone(), n));
                resources.clear();
            }
        }
        Judged {
            resources,
            ignored,
            waited: Duration::ZERO,
        }
    }

    /// Forgets ended runs that no running run overlaps.
    fn prune(&mut self) {
        let oldest_running = self
            .runs
            .values()
            .filter(|r| r.end_seq.is_none() || r.ending.is_some())
            .map(|r| r.start_seq)
            .min();
        self.runs.retain(|_, r| match (r.end_seq, oldest_running) {
            (None, _) => true,
            (Some(_), _) if r.ending.is_some() => true,
            (Some(end), Some(oldest)) => end > oldest,
            (Some(_), None) => false,
        });
    }
}

/// The ignore rule of the user's that exempts an allocation stack
/// (innermost function first), if any: `--ignore-top` its allocating
/// function, `--ignore-any` any of its functions.
fn heap_ignored<'r>(rules: &'r IgnoreRules, functions: &[String]) -> Option<&'r IgnoreRule> {
    rules.rules.iter().find(|r| {
        !r.builtin
            && match &r.kind {
                RuleKind::Top => functions
                    .iter()
                    .find(|f| !f.starts_with("runtime."))
                    .is_some_and(|f| pattern_matches(&r.pattern, f)),
                RuleKind::Any => functions.iter().any(|f| pattern_matches(&r.pattern, f)),
                _ => false,
            }
    })
}

/// How many descriptor numbers an entry lists.
const FDS_LISTED: usize = 8;

/// How many allocation sites a heap report names at most.
const HEAP_SITES: usize = 3;

/// The heap entries for `growth` bytes kept: the top allocation sites that
/// grew (each at least a tenth of the growth), or one entry without a site
/// when the profile shows none.
fn heap_report(
    growth: u64,
    start: Option<&Profile>,
    end: &Profile,
    ignored: &dyn Fn(&[String]) -> bool,
) -> Vec<Resource> {
    let empty = Profile::default();
    let sites = heap::growth_sites(start.unwrap_or(&empty), end, ignored);
    let total = human_bytes(growth);
    let entries: Vec<Resource> = sites
        .into_iter()
        .filter(|(_, b)| *b >= growth / 10)
        .take(HEAP_SITES)
        .map(|(site, bytes)| Resource {
            kind: ResourceKind::Heap,
            description: format!(
                "{} more live heap allocated here (the heap grew by {total})",
                human_bytes(bytes)
            ),
            count: 1,
            bytes: Some(bytes),
            site: Some(site),
            ambiguous_with: Vec::new(),
            known: false,
        })
        .collect();
    if !entries.is_empty() {
        return entries;
    }
    vec![Resource {
        kind: ResourceKind::Heap,
        description: format!(
            "the heap grew by {total} (no allocation site stands out in the profile)"
        ),
        count: 1,
        bytes: Some(growth),
        site: None,
        ambiguous_with: Vec::new(),
        known: false,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A process whose descriptors and children the test sets.
    #[derive(Clone, Default)]
    struct Fake(Arc<Mutex<(FdSet, BTreeMap<ProcId, String>)>>);

    impl Fake {
        fn open(&self, fd: u32, target: &str) {
            self.0.lock().unwrap().0.insert(fd, target.into());
        }
        fn close(&self, fd: u32) {
            self.0.lock().unwrap().0.remove(&fd);
        }
        fn spawn(&self, pid: u32) {
            self.0.lock().unwrap().1.insert((pid, 7), "sleep".into());
        }
    }

    impl System for Fake {
        fn fds(&self, _: u32) -> FdSet {
            self.0.lock().unwrap().0.clone()
        }
        fn processes(&self, _: u32) -> BTreeMap<ProcId, String> {
            self.0.lock().unwrap().1.clone()
        }
        fn sockets(&self, _: u32) -> HashMap<u64, SocketInfo> {
            HashMap::new()
        }
        fn cmdline(&self, pid: u32, comm: &str) -> String {
            format!("{comm} 60 ({pid})")
        }
    }

    fn tracker(fake: &Fake, rules: IgnoreRules) -> Tracker {
        let checks = Checks {
            fds: true,
            processes: true,
            heap: false,
            heap_threshold: 1 << 20,
        };
        Tracker::new(
            checks,
            Duration::from_millis(50),
            rules,
            Box::new(fake.clone()),
        )
    }

    fn msg<'a>(run: &'a str, end: bool, paused: &[&str]) -> Message<'a> {
        Message {
            run,
            end,
            pid: 1,
            paused: paused.iter().map(|p| p.to_string()).collect(),
            ..Message::default()
        }
    }

    /// Ends `run`, answering "again" with the time passing and "heap"
    /// (a garbage collection) with the live heap, until done.
    fn end(t: &mut Tracker, run: &str, paused: &[&str]) -> Judged {
        let mut now = Instant::now();
        let mut heap = None;
        loop {
            let m = Message {
                heap,
                ..msg(run, true, paused)
            };
            match t.message(&m, now) {
                Answer::Done(Some(j)) => return j,
                Answer::Again(d) => now += d,
                Answer::Heap => heap = Some(1000),
                other => panic!("{other:?}"),
            }
        }
    }

    fn start(t: &mut Tracker, run: &str, paused: &[&str]) {
        assert_eq!(
            t.message(&msg(run, false, paused), Instant::now()),
            Answer::Done(None)
        );
    }

    #[test]
    fn a_sequential_tests_open_file_is_its_own_and_a_closed_one_is_not() {
        let fake = Fake::default();
        fake.open(1, "/dev/null");
        let mut t = tracker(&fake, IgnoreRules::default());
        start(&mut t, "TestA#1", &[]);
        fake.open(7, "/m/data.txt");
        fake.open(8, "/m/closed.txt");
        fake.close(8);
        let j = end(&mut t, "TestA#1", &[]);
        assert_eq!(j.resources.len(), 1, "{j:?}");
        assert_eq!(j.resources[0].kind, ResourceKind::File);
        assert_eq!(j.resources[0].description, "/m/data.txt (fd 7)");
        assert!(j.resources[0].ambiguous_with.is_empty());
        // Reported once: the next test does not get it again.
        start(&mut t, "TestB#2", &[]);
        assert!(end(&mut t, "TestB#2", &[]).resources.is_empty());
    }

    #[test]
    fn a_descriptor_closed_within_the_grace_period_is_no_leak() {
        let fake = Fake::default();
        let mut t = tracker(&fake, IgnoreRules::default());
        start(&mut t, "TestA#1", &[]);
        fake.open(9, "socket:[55]");
        let now = Instant::now();
        // New: a garbage collection first, then a wait for finalizers.
        assert_eq!(t.message(&msg("TestA#1", true, &[]), now), Answer::Heap);
        let collected = Message {
            heap: Some(1000),
            ..msg("TestA#1", true, &[])
        };
        assert_eq!(t.message(&collected, now), Answer::Again(FIRST_WAIT));
        // Still open after it: waited for, within the grace period.
        assert!(matches!(
            t.message(&collected, now + FIRST_WAIT),
            Answer::Again(_)
        ));
        fake.close(9);
        let answer = t.message(&collected, now + FIRST_WAIT * 3);
        let judged = Judged {
            waited: FIRST_WAIT * 3,
            ..Judged::default()
        };
        assert_eq!(answer, Answer::Done(Some(judged)));
    }

    #[test]
    fn a_descriptor_the_garbage_collector_closes_is_no_leak_even_past_the_grace_period() {
        let fake = Fake::default();
        let mut t = tracker(&fake, IgnoreRules::default());
        start(&mut t, "TestA#1", &[]);
        fake.open(9, "/m/dropped.txt");
        let late = Instant::now() + Duration::from_secs(60);
        assert_eq!(t.message(&msg("TestA#1", true, &[]), late), Answer::Heap);
        // Its finalizer closes it once collected.
        fake.close(9);
        let collected = Message {
            heap: Some(1000),
            ..msg("TestA#1", true, &[])
        };
        let Answer::Done(Some(j)) = t.message(&collected, late) else {
            panic!()
        };
        assert!(j.resources.is_empty(), "{j:?}");
    }

    #[test]
    fn parallel_tests_defer_to_a_running_candidate_and_name_the_others() {
        let fake = Fake::default();
        let mut t = tracker(&fake, IgnoreRules::default());
        start(&mut t, "TestP#1", &[]);
        start(&mut t, "TestQ#2", &[]);
        // Q opens a file it will close at its end; P ends first.
        fake.open(7, "/m/q.txt");
        assert!(end(&mut t, "TestP#1", &[]).resources.is_empty());
        fake.close(7);
        assert!(end(&mut t, "TestQ#2", &[]).resources.is_empty());
        // Both run; one leaves a process: found at the last end, with
        // the other named.
        start(&mut t, "TestP#3", &[]);
        start(&mut t, "TestQ#4", &[]);
        fake.spawn(4242);
        assert!(end(&mut t, "TestP#3", &[]).resources.is_empty());
        let j = end(&mut t, "TestQ#4", &[]);
        assert_eq!(j.resources.len(), 1, "{j:?}");
        assert_eq!(j.resources[0].description, "pid 4242: sleep 60 (4242)");
        assert_eq!(j.resources[0].ambiguous_with, ["TestP"]);
        assert_eq!(t.leftovers[0].test, "TestQ");
    }

    #[test]
    fn a_test_paused_in_t_parallel_throughout_is_no_candidate() {
        let fake = Fake::default();
        let mut t = tracker(&fake, IgnoreRules::default());
        start(&mut t, "TestPar#1", &[]);
        // TestPar paused; a sequential test runs and leaks.
        start(&mut t, "TestSeq#2", &["TestPar#1"]);
        fake.open(5, "pipe:[77]");
        let j = end(&mut t, "TestSeq#2", &["TestPar#1"]);
        assert_eq!(j.resources.len(), 1);
        assert!(j.resources[0].ambiguous_with.is_empty(), "{j:?}");
        assert_eq!(j.resources[0].kind, ResourceKind::Pipe);
        // What was there at TestPar's start is not its.
        assert!(end(&mut t, "TestPar#1", &[]).resources.is_empty());
    }

    #[test]
    fn a_directive_on_the_test_exempts_its_resources() {
        let fake = Fake::default();
        let rule = IgnoreRule {
            kind: RuleKind::Test {
                name: "TestA".into(),
            },
            pattern: String::new(),
            state: None,
            builtin: false,
            packages: None,
            origin: crate::detect::ignore::RuleOrigin::CommandLine,
        };
        let mut t = tracker(&fake, IgnoreRules { rules: vec![rule] });
        start(&mut t, "TestA#1", &[]);
        fake.open(7, "/m/a");
        fake.spawn(11);
        let j = end(&mut t, "TestA#1", &[]);
        assert!(j.resources.is_empty());
        assert_eq!(j.ignored[0].1, 2);
    }

    /// A heap profile with nothing in it, and one with 10 MiB kept by
    /// `m.keep` (big.go:11).
    const NO_PROFILE: &str = "heap profile: 0: 0 [0: 0] @ heap/131072\n";
    const KEEP_PROFILE: &str = "heap profile: 1: 10485760 [1: 10485760] @ heap/131072\n1: 10485760 [1: 10485760] @ 0x1 0x2\n#\t0x1\tm.keep+0x9\t/m/big.go:11\n#\t0x2\tm.TestBig+0x9\t/m/big_test.go:20\n";
    /// The live heap with `KEEP_PROFILE`'s 10 MiB, from 1000 bytes.
    const BIG: u64 = 1000 + (10 << 20);

    /// A tracker with the heap check only, and `rules`.
    fn heap_tracker(rules: IgnoreRules) -> Tracker {
        let checks = Checks {
            heap: true,
            ..Checks::default()
        };
        Tracker::new(
            checks,
            Duration::from_millis(50),
            rules,
            Box::new(Fake::default()),
        )
    }

    /// A `res` message of `run` with the live heap and profile given.
    fn heap_msg<'a>(
        run: &'a str,
        end: bool,
        heap: Option<u64>,
        profile: Option<&'a str>,
    ) -> Message<'a> {
        Message {
            run,
            end,
            pid: 1,
            heap,
            profile,
            paused: vec![],
        }
    }

    /// Starts `run` with no profile known yet (1000 bytes live), and ends
    /// it with `KEEP_PROFILE`'s 10 MiB kept: what it was judged.
    fn run_keeping_10_mib(t: &mut Tracker, run: &str) -> Judged {
        let now = Instant::now();
        let m = |end, heap, profile| heap_msg(run, end, heap, profile);
        assert_eq!(t.message(&m(false, None, None), now), Answer::Heap);
        // No profile yet: one is asked for.
        assert_eq!(
            t.message(&m(false, Some(1000), None), now),
            Answer::HeapProfile
        );
        assert_eq!(
            t.message(&m(false, Some(1000), Some(NO_PROFILE)), now),
            Answer::Done(None)
        );
        assert_eq!(t.message(&m(true, None, None), now), Answer::Heap);
        assert_eq!(
            t.message(&m(true, Some(BIG), None), now),
            Answer::HeapProfile
        );
        let Answer::Done(Some(j)) = t.message(&m(true, Some(BIG), Some(KEEP_PROFILE)), now) else {
            panic!()
        };
        j
    }

    #[test]
    fn heap_growth_over_the_threshold_is_asked_for_and_placed() {
        let mut t = heap_tracker(IgnoreRules::default());
        let now = Instant::now();
        let (big, after) = (BIG, KEEP_PROFILE);
        let j = run_keeping_10_mib(&mut t, "TestBig#1");
        assert_eq!(j.resources.len(), 1);
        let r = &j.resources[0];
        assert_eq!((r.kind, r.bytes), (ResourceKind::Heap, Some(10 << 20)));
        assert_eq!(r.site.as_ref().map(|s| s.line), Some(11));
        // The next run starts where that one ended: its profile serves
        // as the baseline, none is asked for. Under the threshold:
        // nothing, and no profile.
        let small = |end, heap| heap_msg("TestSmall#2", end, heap, None);
        assert_eq!(t.message(&small(false, None), now), Answer::Heap);
        assert_eq!(
            t.message(&small(false, Some(big + 5000)), now),
            Answer::Done(None)
        );
        assert_eq!(t.message(&small(true, None), now), Answer::Heap);
        assert_eq!(
            t.message(&small(true, Some(big + 6000)), now),
            Answer::Done(Some(Judged::default()))
        );
        // Over it after one GC, not after two (a sync.Pool's buffers):
        // nothing.
        let pool = |end, heap, profile| heap_msg("TestPool#3", end, heap, profile);
        assert_eq!(t.message(&pool(false, None, None), now), Answer::Heap);
        assert_eq!(
            t.message(&pool(false, Some(big), None), now),
            Answer::Done(None)
        );
        assert_eq!(t.message(&pool(true, None, None), now), Answer::Heap);
        let more = big + (2 << 20);
        assert_eq!(
            t.message(&pool(true, Some(more), None), now),
            Answer::HeapProfile
        );
        assert_eq!(
            t.message(&pool(true, Some(big + 100), Some(after)), now),
            Answer::Done(Some(Judged::default()))
        );
    }

    #[test]
    fn heap_kept_by_overlapping_runs_is_judged_when_the_last_ends_with_both_named() {
        let mut t = heap_tracker(IgnoreRules::default());
        let now = Instant::now();
        let m = heap_msg;
        let (before, after, big) = (NO_PROFILE, KEEP_PROFILE, BIG);
        // TestA starts alone (a quiet point: its heap and profile), then
        // TestB while A runs.
        assert_eq!(
            t.message(&m("TestA#1", false, None, None), now),
            Answer::Heap
        );
        assert_eq!(
            t.message(&m("TestA#1", false, Some(1000), None), now),
            Answer::HeapProfile
        );
        assert_eq!(
            t.message(&m("TestA#1", false, Some(1000), Some(before)), now),
            Answer::Done(None)
        );
        assert_eq!(
            t.message(&m("TestB#2", false, None, None), now),
            Answer::Heap
        );
        assert_eq!(
            t.message(&m("TestB#2", false, Some(1000), None), now),
            Answer::Done(None)
        );
        // A ends while B runs: not judged yet (B's working set is not a
        // leak of A's), and no heap asked for.
        assert_eq!(
            t.message(&m("TestA#1", true, None, None), now),
            Answer::Done(Some(Judged::default()))
        );
        // B ends, none runs: the growth since before A is judged on B,
        // A named.
        assert_eq!(
            t.message(&m("TestB#2", true, None, None), now),
            Answer::Heap
        );
        assert_eq!(
            t.message(&m("TestB#2", true, Some(big), None), now),
            Answer::HeapProfile
        );
        let Answer::Done(Some(j)) = t.message(&m("TestB#2", true, Some(big), Some(after)), now)
        else {
            panic!()
        };
        assert_eq!(j.resources.len(), 1, "{j:?}");
        let r = &j.resources[0];
        assert_eq!((r.kind, r.bytes), (ResourceKind::Heap, Some(10 << 20)));
        assert_eq!(r.site.as_ref().map(|s| s.line), Some(11));
        assert_eq!(r.ambiguous_with, ["TestA"]);

        // Two more overlap, allocate while they run and free it: nothing,
        // and what was judged before is not counted again.
        assert_eq!(
            t.message(&m("TestC#3", false, None, None), now),
            Answer::Heap
        );
        assert_eq!(
            t.message(&m("TestC#3", false, Some(big), None), now),
            Answer::Done(None)
        );
        assert_eq!(
            t.message(&m("TestD#4", false, None, None), now),
            Answer::Heap
        );
        let d_start = big + (8 << 20);
        assert_eq!(
            t.message(&m("TestD#4", false, Some(d_start), None), now),
            Answer::HeapProfile
        );
        assert_eq!(
            t.message(&m("TestD#4", false, Some(d_start), Some(after)), now),
            Answer::Done(None)
        );
        assert_eq!(
            t.message(&m("TestC#3", true, None, None), now),
            Answer::Done(Some(Judged::default()))
        );
        assert_eq!(
            t.message(&m("TestD#4", true, None, None), now),
            Answer::Heap
        );
        assert_eq!(
            t.message(&m("TestD#4", true, Some(big + 3000), None), now),
            Answer::Done(Some(Judged::default()))
        );
    }

    #[test]
    fn heap_an_ignore_rule_exempts_is_counted_not_reported() {
        let rule = IgnoreRule::new(RuleKind::Top, "m.keep");
        let mut t = heap_tracker(IgnoreRules {
            rules: vec![rule.clone()],
        });
        let j = run_keeping_10_mib(&mut t, "TestBig#1");
        // No entry without a site for the growth the rule exempted.
        assert!(j.resources.is_empty(), "{j:?}");
        assert_eq!(j.ignored, [(rule, 1)]);
    }

    #[test]
    fn the_heap_judged_is_the_one_after_the_wait_not_the_descriptors_collection() {
        let fake = Fake::default();
        let checks = Checks {
            fds: true,
            heap: true,
            ..Checks::default()
        };
        let mut t = Tracker::new(
            checks,
            Duration::from_millis(50),
            IgnoreRules::default(),
            Box::new(fake.clone()),
        );
        let now = Instant::now();
        let m = |end, heap, profile| heap_msg("TestA#1", end, heap, profile);
        assert_eq!(t.message(&m(false, None, None), now), Answer::Heap);
        assert_eq!(
            t.message(&m(false, Some(1000), None), now),
            Answer::HeapProfile
        );
        assert_eq!(
            t.message(&m(false, Some(1000), Some(NO_PROFILE)), now),
            Answer::Done(None)
        );
        fake.open(9, "/m/data.txt");
        // The collection for the new descriptor: the heap it sends is
        // from before the wait.
        assert_eq!(t.message(&m(true, None, None), now), Answer::Heap);
        assert_eq!(
            t.message(&m(true, Some(1000), None), now),
            Answer::Again(FIRST_WAIT)
        );
        fake.close(9);
        // Settled: the heap is asked for again, and that one is judged.
        assert_eq!(t.message(&m(true, Some(1000), None), now), Answer::Heap);
        assert_eq!(
            t.message(&m(true, Some(BIG), None), now),
            Answer::HeapProfile
        );
        let Answer::Done(Some(j)) = t.message(&m(true, Some(BIG), Some(KEEP_PROFILE)), now) else {
            panic!()
        };
        assert_eq!(j.resources.len(), 1, "{j:?}");
        assert_eq!(j.resources[0].kind, ResourceKind::Heap);
    }
}
