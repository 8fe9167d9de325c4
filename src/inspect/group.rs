//! Deciding which goroutines of a dump are the same: grouping by state,
//! blocking frame, creation site and origin; comparing two dumps' groups
//! ([`diff`]); and finding the groups that rise across a watch's samples
//! ([`rising`]).
//!
//! Pure logic on parsed [`Dump`]s. The blocking frame is chosen as the
//! test runner chooses it ([`crate::detect::compare::blocking_frame`]: the
//! innermost frame in the user's code); the standard library is told apart
//! by the GOROOT the dump's own frames show ([`goroot_of`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::detect::compare::{blocking_frame, is_std_frame, package_of, Location};
use crate::detect::stack::{Frame, Goroutine};

use super::parse::{Dump, Record};

/// What makes goroutines one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// `None` where the format has no states (`?debug=1`, `?debug=0`).
    pub state: Option<String>,
    /// Proven leaked (goroutineleak profile).
    pub leaked: bool,
    /// The blocking frame: the innermost frame in the user's code, else
    /// the innermost one of the standard library outside the runtime.
    pub function: String,
    pub file: String,
    pub line: u32,
    /// The `go` statement, where the format shows it.
    pub created_by: Option<Location>,
    /// Where a goroutine created inside the standard library came from:
    /// the innermost user-code frame of its creation chain, when the dump
    /// has one (`GODEBUG=tracebackancestors=N`).
    pub origin: Option<Location>,
}

/// Goroutines that are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub key: GroupKey,
    pub count: usize,
    /// The longest any of them has been blocked, in whole minutes, when
    /// the runtime said (it does from one minute on).
    pub blocked_minutes: Option<u64>,
    /// How many are known to have been blocked at least `--older-than`
    /// (whole minutes count: a goroutine the runtime shows no minutes for
    /// has been blocked less than one). 0 without `--older-than`.
    pub older: usize,
}

/// Groups a dump's goroutines, largest group first (then by key, so the
/// order does not depend on the dump's). With `older_than`, counts in each
/// group the goroutines blocked at least that long.
pub fn group(dump: &Dump, older_than: Option<Duration>) -> Vec<Group> {
    group_records(dump, |_| true, older_than)
}

/// [`group`] of the records `keep` accepts (the GOROOT read from all).
fn group_records(
    dump: &Dump,
    keep: impl Fn(&Record) -> bool,
    older_than: Option<Duration>,
) -> Vec<Group> {
    let goroot = goroot_of(&dump.records);
    let mut groups: HashMap<GroupKey, Group> = HashMap::new();
    for r in dump.records.iter().filter(|r| keep(r)) {
        let key = key_of(r, &goroot);
        let g = groups.entry(key.clone()).or_insert_with(|| Group {
            key,
            count: 0,
            blocked_minutes: None,
            older: 0,
        });
        g.count += r.count;
        g.blocked_minutes = g.blocked_minutes.max(r.wait_minutes);
        if let (Some(limit), Some(m)) = (older_than, r.wait_minutes) {
            if Duration::from_secs(m.saturating_mul(60)) >= limit {
                g.older += r.count;
            }
        }
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    groups
}

/// The GOROOT the dump's standard-library frames were built from: the
/// directory before `/src/PKG/` in the file of a frame of a standard
/// package (the most common one when several disagree); empty when no
/// frame shows it (every absolute path then counts as the user's).
pub fn goroot_of(records: &[Record]) -> String {
    const STD_ROOTS: &[&str] = &[
        "runtime", "sync", "internal", "net", "time", "os", "syscall", "io", "bufio", "context",
        "testing", "reflect", "fmt", "crypto", "encoding", "database", "log", "vendor", "strings",
        "bytes", "sort",
    ];
    let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        for l in r.frames.iter().chain(&r.created_by) {
            let pkg = package_of(&l.function);
            if !STD_ROOTS.contains(&pkg.split('/').next().unwrap_or("")) {
                continue;
            }
            let needle = format!("/src/{pkg}/");
            if let Some(i) = l.file.find(&needle) {
                *votes.entry(&l.file[..i]).or_default() += r.count;
            }
        }
    }
    votes
        .into_iter()
        .max_by_key(|&(root, n)| (n, std::cmp::Reverse(root)))
        .map(|(root, _)| root.to_string())
        .unwrap_or_default()
}

fn frame_of(l: &Location) -> Frame<'_> {
    Frame {
        function: &l.function,
        file: &l.file,
        line: l.line,
        inlined: false,
    }
}

/// The group `r` belongs to, given the dump's GOROOT.
pub fn key_of(r: &Record, goroot: &str) -> GroupKey {
    let view = Goroutine {
        id: 0,
        state: r.state.as_deref().unwrap_or(""),
        leaked: r.leaked,
        wait_minutes: r.wait_minutes,
        locked_to_thread: false,
        labels: Vec::new(),
        frames: r.frames.iter().map(frame_of).collect(),
        elided_frames: 0,
        created_by: None,
        text: "",
    };
    let blocking = blocking_frame(&view, goroot)
        .and_then(|f| view.frames.iter().position(|x| std::ptr::eq(x, f)))
        .map(|i| &r.frames[i]);
    let created_in_std = r
        .created_by
        .as_ref()
        .is_none_or(|c| is_std_frame(&frame_of(c), goroot));
    let origin = if created_in_std {
        r.ancestors
            .iter()
            .flatten()
            .find(|l| !is_std_frame(&frame_of(l), goroot))
            .cloned()
    } else {
        None
    };
    GroupKey {
        state: r.state.clone(),
        leaked: r.leaked,
        function: blocking.map_or_else(String::new, |l| l.function.clone()),
        file: blocking.map_or_else(String::new, |l| l.file.clone()),
        line: blocking.map_or(0, |l| l.line),
        created_by: r.created_by.clone(),
        origin,
    }
}

/// Whether `r` is the goroutine writing the dump: a pprof handler (or any
/// code) in `runtime/pprof`'s profile writers.
fn is_dumper(r: &Record) -> bool {
    r.frames.iter().any(|f| {
        f.function.starts_with("runtime/pprof.write")
            || f.function == "runtime/pprof.(*Profile).WriteTo"
    })
}

/// The function net/http starts a background reader with, for each
/// request it serves (the dump's own included).
const BACKGROUND_READ: &str = "net/http.(*connReader).startBackgroundRead";

/// Whether `r` is a goroutine that has not started running: no frame but
/// `runtime.goexit` (as `?debug=1` and `?debug=0` show one), or only the
/// `go` statement's wrapper of net/http's background reader.
fn not_started(r: &Record) -> bool {
    r.frames.iter().all(|f| {
        f.function == "runtime.goexit"
            || f.function
                .strip_prefix(BACKGROUND_READ)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Whether a goroutine of `dump` exists because the dump was taken, or is
/// caught between its creation and its first run: the one writing the
/// dump; where the dump links goroutines to their creators (stack text),
/// the background reader net/http started for the dump's own request
/// (running, or not yet parked, it is in another group in each dump); and
/// goroutines that have not started (`not_started`). [`diff`] and
/// [`rising`] leave them out ([`compared_groups`]), so that each dump's
/// own request does not show as a change. Goroutines the dumping
/// connection's earlier requests started (a leak of a handler) are kept.
pub fn made_by_dump(dump: &Dump) -> impl Fn(&Record) -> bool + '_ {
    let dumpers: Vec<u64> = dump
        .records
        .iter()
        .filter(|r| is_dumper(r))
        .filter_map(|r| r.id)
        .collect();
    move |r: &Record| {
        let own_reader = r.parent.is_some_and(|p| dumpers.contains(&p))
            && r.created_by
                .as_ref()
                .is_some_and(|c| c.function == BACKGROUND_READ);
        is_dumper(r) || own_reader || not_started(r)
    }
}

/// The groups a comparison uses: [`group`] without the goroutines
/// [`made_by_dump`].
pub fn compared_groups(dump: &Dump) -> Vec<Group> {
    let made = made_by_dump(dump);
    group_records(dump, |r| !made(r), None)
}

/// Where goroutines are: what comparisons match groups on. Not their
/// state, which a live goroutine changes from one moment to the next (a
/// listener in IO wait, then in its accept system call, then runnable), nor
/// the leaked marker (a proof of one moment); creation sites and origins
/// only when every dump compared shows them.
fn place(mut key: GroupKey, states: bool) -> GroupKey {
    key.leaked = false;
    key.state = None;
    if !states {
        key.created_by = None;
        key.origin = None;
    }
    key
}

/// The state most goroutines of `tally` are in (by name when tied).
fn main_state(tally: &BTreeMap<String, usize>) -> Option<String> {
    tally
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(s, _)| s.clone())
}

/// Counts and states of one place across dumps.
struct Tally {
    counts: Vec<usize>,
    /// The states of its goroutines in each dump.
    states: Vec<BTreeMap<String, usize>>,
}

/// Each place of `dumps` (their [`compared_groups`]), with its count in
/// each, and the key to show: the place with, when every dump shows
/// states, the state most of its goroutines are in, in the last dump that
/// has any.
fn tally(dumps: &[Vec<Group>], states: bool) -> Vec<(GroupKey, Vec<usize>)> {
    let mut places: HashMap<GroupKey, Tally> = HashMap::new();
    for (i, groups) in dumps.iter().enumerate() {
        for g in groups {
            let t = places
                .entry(place(g.key.clone(), states))
                .or_insert_with(|| Tally {
                    counts: vec![0; dumps.len()],
                    states: vec![BTreeMap::new(); dumps.len()],
                });
            t.counts[i] += g.count;
            if let Some(state) = &g.key.state {
                *t.states[i].entry(state.clone()).or_default() += g.count;
            }
        }
    }
    places
        .into_iter()
        .map(|(mut key, t)| {
            if states {
                key.state = t.states.iter().rev().find_map(main_state);
            }
            (key, t.counts)
        })
        .collect()
}

/// One group in two dumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The place compared (see `place`), with the state most of its
    /// goroutines are in (in `after`, else in `before`).
    pub key: GroupKey,
    pub before: usize,
    pub after: usize,
}

impl Change {
    pub fn delta(&self) -> i64 {
        self.after as i64 - self.before as i64
    }
}

/// Every group of `before` and `after` with its count in each, the
/// groups that grew most first, then the unchanged, then the shrunk.
/// Groups are matched on where their goroutines are: blocking frame, and
/// creation site and origin when both dumps show them, not state; the
/// goroutines serving each dump take no part (see [`made_by_dump`]).
pub fn diff(before: &Dump, after: &Dump) -> Vec<Change> {
    let states = before.format.has_states() && after.format.has_states();
    let dumps = [compared_groups(before), compared_groups(after)];
    let mut changes: Vec<Change> = tally(&dumps, states)
        .into_iter()
        .map(|(key, counts)| Change {
            key,
            before: counts[0],
            after: counts[1],
        })
        .collect();
    changes.sort_by(|a, b| {
        b.delta()
            .cmp(&a.delta())
            .then_with(|| b.after.cmp(&a.after))
            .then_with(|| a.key.cmp(&b.key))
    });
    changes
}

/// One group across a watch's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    pub key: GroupKey,
    /// Its count in each sample (0 where it had none).
    pub counts: Vec<usize>,
}

impl Trend {
    pub fn first(&self) -> usize {
        self.counts.first().copied().unwrap_or(0)
    }
    pub fn last(&self) -> usize {
        self.counts.last().copied().unwrap_or(0)
    }
}

/// The groups whose count rose and never fell across a watch's samples
/// (each sample's [`compared_groups`], in the order taken): never lower
/// than in the sample before, higher in the last than in the first.
/// Groups are matched as [`diff`] matches them; `states`: whether every
/// sample showed states and creation sites. Largest rise first.
pub fn rising(samples: &[Vec<Group>], states: bool) -> Vec<Trend> {
    let mut trends: Vec<Trend> = tally(samples, states)
        .into_iter()
        .filter(|(_, c)| c.windows(2).all(|w| w[0] <= w[1]) && c.last() > c.first())
        .map(|(key, counts)| Trend { key, counts })
        .collect();
    trends.sort_by(|a, b| {
        (b.last() - b.first())
            .cmp(&(a.last() - a.first()))
            .then_with(|| a.key.cmp(&b.key))
    });
    trends
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::parse::Format;

    fn record(count: usize, state: &str, frames: &[(&str, &str, u32)]) -> Record {
        Record {
            count,
            state: Some(state.to_string()),
            leaked: false,
            wait_minutes: None,
            frames: frames
                .iter()
                .map(|&(function, file, line)| Location {
                    function: function.into(),
                    file: file.into(),
                    line,
                })
                .collect(),
            created_by: None,
            ancestors: Vec::new(),
            id: None,
            parent: None,
        }
    }

    fn dump(records: Vec<Record>) -> Dump {
        Dump {
            format: Format::Stacks,
            profile: None,
            records,
        }
    }

    #[test]
    fn goroot_from_standard_frames() {
        let d = dump(vec![record(
            1,
            "chan send",
            &[
                ("runtime.gopark", "/opt/go/src/runtime/proc.go", 1),
                ("main.f", "/opt/go/src/main/x.go", 3),
                (
                    "net/http.(*conn).serve",
                    "/opt/go/src/net/http/server.go",
                    2,
                ),
            ],
        )]);
        assert_eq!(goroot_of(&d.records), "/opt/go");
        // The blocking frame skips the runtime's frames.
        let k = key_of(&d.records[0], "/opt/go");
        assert_eq!((k.function.as_str(), k.line), ("main.f", 3));
        // A dump with no standard frame: the innermost frame.
        let d = dump(vec![record(
            1,
            "select",
            &[("main.g", "/home/u/src/main/a.go", 9)],
        )]);
        assert_eq!(goroot_of(&d.records), "");
        assert_eq!(key_of(&d.records[0], "").function, "main.g");
    }

    #[test]
    fn rising_means_never_falling() {
        let f = |n: usize, func: &str| record(n, "chan send", &[(func, "/a/m.go", 1)]);
        let samples = [
            dump(vec![
                f(1, "main.up"),
                f(3, "main.wobbly"),
                f(2, "main.flat"),
            ]),
            dump(vec![
                f(2, "main.up"),
                f(2, "main.wobbly"),
                f(2, "main.flat"),
                f(1, "main.new"),
            ]),
            dump(vec![
                f(2, "main.up"),
                f(5, "main.wobbly"),
                f(2, "main.flat"),
                f(1, "main.new"),
            ]),
            dump(vec![
                f(7, "main.up"),
                f(6, "main.wobbly"),
                f(2, "main.flat"),
                f(3, "main.new"),
            ]),
        ];
        let samples: Vec<Vec<Group>> = samples.iter().map(|d| group(d, None)).collect();
        let r = rising(&samples, true);
        let got: Vec<(&str, Vec<usize>)> = r
            .iter()
            .map(|t| (t.key.function.as_str(), t.counts.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("main.up", vec![1, 2, 2, 7]),
                ("main.new", vec![0, 1, 1, 3])
            ]
        );
        assert!(
            rising(&samples[..1], true).is_empty(),
            "one sample shows no rise"
        );
    }

    #[test]
    fn a_state_that_changes_is_no_rise() {
        let at = |state: &str| {
            dump(vec![record(
                1,
                state,
                &[("main.serve", "/a/m.go", 7), ("main.main", "/a/m.go", 3)],
            )])
        };
        let samples: Vec<Vec<Group>> =
            [at("runnable"), at("IO wait"), at("syscall"), at("IO wait")]
                .iter()
                .map(|d| group(d, None))
                .collect();
        assert!(rising(&samples, true).is_empty());
        let changes = diff(&at("runnable"), &at("IO wait"));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].delta(), 0);
        assert_eq!(
            changes[0].key.state.as_deref(),
            Some("IO wait"),
            "the later state"
        );
    }

    #[test]
    fn diff_compares_on_what_both_formats_show() {
        let mut with_state = record(3, "chan send", &[("main.f", "/a/m.go", 4)]);
        with_state.created_by = Some(Location {
            function: "main.g".into(),
            file: "/a/m.go".into(),
            line: 2,
        });
        let before = dump(vec![with_state]);
        let mut after = dump(vec![Record {
            state: None,
            ..record(8, "", &[("main.f", "/a/m.go", 4)])
        }]);
        after.format = Format::Grouped;
        let d = diff(&before, &after);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].before, d[0].after, d[0].delta()), (3, 8, 5));
        assert_eq!(d[0].key.state, None);
        assert_eq!(d[0].key.created_by, None);
    }
}
