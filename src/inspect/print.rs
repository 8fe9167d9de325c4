//! Printing what `inspect`, `diff` and `watch` found: for people, and as
//! the JSON documented in [`crate::inspect`]. Every printer writes to a
//! generic writer; nothing here decides anything.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use crate::detect::compare::Location;
use crate::duration::format_go_duration;

use super::group::{Change, Group, GroupKey, Trend};
use super::parse::Dump;

/// `inspect --json`.
#[derive(Debug, Serialize)]
pub struct InspectJson<'a> {
    pub format: &'static str,
    pub profile: Option<&'a str>,
    pub total: usize,
    pub groups: Vec<GroupJson<'a>>,
}

/// A group in `inspect --json`.
#[derive(Debug, Serialize)]
pub struct GroupJson<'a> {
    pub count: usize,
    pub state: Option<&'a str>,
    pub leaked: bool,
    pub blocked_minutes: Option<u64>,
    /// With `--older-than` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub older: Option<usize>,
    pub function: &'a str,
    pub file: &'a str,
    pub line: u32,
    pub created_by: Option<&'a Location>,
    pub origin: Option<&'a Location>,
}

/// `diff --json`.
#[derive(Debug, Serialize)]
pub struct DiffJson<'a> {
    pub before_total: usize,
    pub after_total: usize,
    pub threshold: usize,
    pub groups: Vec<ChangeJson<'a>>,
}

/// A group in `diff --json`.
#[derive(Debug, Serialize)]
pub struct ChangeJson<'a> {
    pub before: usize,
    pub after: usize,
    pub delta: i64,
    pub state: Option<&'a str>,
    pub function: &'a str,
    pub file: &'a str,
    pub line: u32,
    pub created_by: Option<&'a Location>,
    pub origin: Option<&'a Location>,
}

/// `watch --json`.
#[derive(Debug, Serialize)]
pub struct WatchJson<'a> {
    pub url: &'a str,
    pub samples: Vec<SampleJson>,
    pub rising: Vec<TrendJson<'a>>,
}

/// One sample in `watch --json`: when it was taken (milliseconds after
/// the first) and how many goroutines it had.
#[derive(Debug, Serialize)]
pub struct SampleJson {
    pub at_ms: u64,
    pub total: usize,
}

/// A rising group in `watch --json`.
#[derive(Debug, Serialize)]
pub struct TrendJson<'a> {
    pub counts: &'a [usize],
    pub first: usize,
    pub last: usize,
    pub delta: usize,
    pub state: Option<&'a str>,
    pub function: &'a str,
    pub file: &'a str,
    pub line: u32,
    pub created_by: Option<&'a Location>,
    pub origin: Option<&'a Location>,
}

pub fn inspect_json<'a>(
    dump: &'a Dump,
    groups: &'a [Group],
    older_than: Option<Duration>,
) -> InspectJson<'a> {
    InspectJson {
        format: dump.format.name(),
        profile: dump.profile.as_deref(),
        total: dump.total(),
        groups: groups
            .iter()
            .map(|g| GroupJson {
                count: g.count,
                state: g.key.state.as_deref(),
                leaked: g.key.leaked,
                blocked_minutes: g.blocked_minutes,
                older: older_than.map(|_| g.older),
                function: &g.key.function,
                file: &g.key.file,
                line: g.key.line,
                created_by: g.key.created_by.as_ref(),
                origin: g.key.origin.as_ref(),
            })
            .collect(),
    }
}

pub fn diff_json<'a>(
    before: &Dump,
    after: &Dump,
    changes: &'a [Change],
    threshold: usize,
) -> DiffJson<'a> {
    DiffJson {
        before_total: before.total(),
        after_total: after.total(),
        threshold,
        groups: changes
            .iter()
            .map(|c| ChangeJson {
                before: c.before,
                after: c.after,
                delta: c.delta(),
                state: c.key.state.as_deref(),
                function: &c.key.function,
                file: &c.key.file,
                line: c.key.line,
                created_by: c.key.created_by.as_ref(),
                origin: c.key.origin.as_ref(),
            })
            .collect(),
    }
}

pub fn watch_json<'a>(
    url: &'a str,
    samples: &[(Duration, usize)],
    trends: &'a [Trend],
) -> WatchJson<'a> {
    WatchJson {
        url,
        samples: samples
            .iter()
            .map(|&(at, total)| SampleJson {
                at_ms: at.as_millis() as u64,
                total,
            })
            .collect(),
        rising: trends
            .iter()
            .map(|t| TrendJson {
                counts: &t.counts,
                first: t.first(),
                last: t.last(),
                delta: t.last() - t.first(),
                state: t.key.state.as_deref(),
                function: &t.key.function,
                file: &t.key.file,
                line: t.key.line,
                created_by: t.key.created_by.as_ref(),
                origin: t.key.origin.as_ref(),
            })
            .collect(),
    }
}

/// Writes `value` as one line of JSON.
pub fn write_json<W: Write, T: Serialize>(w: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    writeln!(w)
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `[chan send, 12 minutes, proven leaked]`, or nothing when the format
/// has no states.
fn bracket(key: &GroupKey, minutes: Option<u64>) -> String {
    let Some(state) = &key.state else {
        return if key.leaked {
            " [proven leaked]".into()
        } else {
            String::new()
        };
    };
    let mut parts = vec![state.clone()];
    if let Some(m) = minutes {
        parts.push(plural(m as usize, "minute"));
    }
    if key.leaked {
        parts.push("proven leaked".into());
    }
    format!(" [{}]", parts.join(", "))
}

/// The lines under a group's count: where they are blocked, where they
/// were created, and where that came from.
fn write_sites<W: Write>(w: &mut W, key: &GroupKey) -> io::Result<()> {
    // As the test report says it: a goroutine that runs is not blocked.
    let at = match key.state.as_deref() {
        Some("running" | "runnable") => "running at",
        _ => "blocked at",
    };
    if key.function.is_empty() {
        writeln!(w, "    (no frames in the dump)")?;
    } else {
        writeln!(w, "    {at}  {} ({}:{})", key.function, key.file, key.line)?;
    }
    if let Some(c) = &key.created_by {
        writeln!(w, "    created at  {}:{} by {}", c.file, c.line, c.function)?;
    }
    if let Some(o) = &key.origin {
        writeln!(w, "    origin      {} ({}:{})", o.function, o.file, o.line)?;
    }
    Ok(())
}

/// `inspect` for people: the groups, largest first.
pub fn write_inspect<W: Write>(
    w: &mut W,
    source: &str,
    dump: &Dump,
    groups: &[Group],
    older_than: Option<Duration>,
) -> io::Result<()> {
    let what = match &dump.profile {
        Some(p) => format!("{p} profile, {}", dump.format.name()),
        None => dump.format.name().to_string(),
    };
    writeln!(
        w,
        "{}: {} in {} ({what})",
        source,
        plural(dump.total(), "goroutine"),
        plural(groups.len(), "group")
    )?;
    if !dump.format.has_states() {
        writeln!(
            w,
            "({} shows no states, wait times or creation sites: fetch debug=2 for them)",
            dump.format.name()
        )?;
    }
    for g in groups {
        write!(
            w,
            "\n{}{}",
            plural(g.count, "goroutine"),
            bracket(&g.key, g.blocked_minutes)
        )?;
        if let (Some(limit), true) = (older_than, g.older > 0) {
            write!(
                w,
                "  ({} blocked {} or longer)",
                g.older,
                format_go_duration(limit)
            )?;
        }
        writeln!(w)?;
        write_sites(w, &g.key)?;
    }
    if let Some(limit) = older_than {
        let old: Vec<&Group> = groups.iter().filter(|g| g.older > 0).collect();
        let n: usize = old.iter().map(|g| g.older).sum();
        writeln!(
            w,
            "\n{} blocked {} or longer, in {}",
            plural(n, "goroutine"),
            format_go_duration(limit),
            plural(old.len(), "group")
        )?;
    }
    Ok(())
}

/// `diff` for people: the groups that changed, grown first.
pub fn write_diff<W: Write>(
    w: &mut W,
    before: &Dump,
    after: &Dump,
    changes: &[Change],
    threshold: usize,
) -> io::Result<()> {
    let (b, a) = (before.total(), after.total());
    writeln!(
        w,
        "{} before, {} after ({:+})",
        plural(b, "goroutine"),
        a,
        a as i64 - b as i64
    )?;
    for c in changes.iter().filter(|c| c.delta() != 0) {
        writeln!(
            w,
            "\n{:+} ({} -> {}){}",
            c.delta(),
            c.before,
            c.after,
            bracket(&c.key, None)
        )?;
        write_sites(w, &c.key)?;
    }
    let grown = changes
        .iter()
        .filter(|c| c.delta() > threshold as i64)
        .count();
    if grown == 0 {
        writeln!(w, "\nno group grew by more than {threshold}")
    } else {
        writeln!(
            w,
            "\n{} grew by more than {threshold}",
            plural(grown, "group")
        )
    }
}

/// One line for a sample a watch took (the `k`th of `n`, at `at`).
/// `rising` is what has risen so far (the largest rise first): the line
/// names the first of them, and how many more there are.
pub fn write_sample<W: Write>(
    w: &mut W,
    k: usize,
    n: usize,
    at: Duration,
    total: usize,
    first_total: usize,
    rising: &[Trend],
) -> io::Result<()> {
    let at = Duration::from_millis(at.as_millis() as u64);
    write!(
        w,
        "sample {k}/{n} at +{}: {}",
        format_go_duration(at),
        plural(total, "goroutine")
    )?;
    if k > 1 {
        write!(
            w,
            " ({:+} since the first)",
            total as i64 - first_total as i64
        )?;
    }
    if let Some(t) = rising.first() {
        write!(
            w,
            "; rising: +{} {} ({}:{})",
            t.last() - t.first(),
            t.key.function,
            t.key.file,
            t.key.line
        )?;
        if rising.len() > 1 {
            write!(w, " and {} more", rising.len() - 1)?;
        }
    }
    writeln!(w)
}

/// `watch` for people: the groups that rose and never fell.
pub fn write_watch<W: Write>(
    w: &mut W,
    samples: usize,
    span: Duration,
    trends: &[Trend],
) -> io::Result<()> {
    if trends.is_empty() {
        return writeln!(
            w,
            "no group rose across {} over {}",
            plural(samples, "sample"),
            format_go_duration(span)
        );
    }
    writeln!(
        w,
        "{} rose and never fell across {} over {}:",
        plural(trends.len(), "group"),
        plural(samples, "sample"),
        format_go_duration(span)
    )?;
    for t in trends {
        let counts: Vec<String> = t.counts.iter().map(usize::to_string).collect();
        writeln!(
            w,
            "\n+{} ({} -> {}){}\n    counts      {}",
            t.last() - t.first(),
            t.first(),
            t.last(),
            bracket(&t.key, None),
            counts.join(" ")
        )?;
        write_sites(w, &t.key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::group::{compared_groups, diff, group, rising};
    use crate::inspect::parse::parse;

    fn captured(name: &str) -> Dump {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/dumps/inspect")
            .join(name);
        parse(&std::fs::read(path).unwrap()).unwrap()
    }

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn inspect_for_people() {
        let d = captured("go1.27-leak-debug2.txt");
        let groups = group(&d, None);
        let out = text(|w| write_inspect(w, "dump.txt", &d, &groups, None));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "dump.txt: 11 goroutines in 7 groups (debug=2)");
        assert_eq!(lines[2], "5 goroutines [chan send, proven leaked]");
        assert!(
            lines[3].starts_with("    blocked at  main.query.func1 ("),
            "{out}"
        );
        assert!(
            lines[3].ends_with("go-fixtures/service/main.go:44)"),
            "{out}"
        );
        assert!(lines[4].starts_with("    created at  "), "{out}");
        assert!(
            lines[4].ends_with("go-fixtures/service/main.go:43 by main.query"),
            "{out}"
        );
        // The goroutine writing the dump runs.
        assert!(
            out.contains(
                "1 goroutine [running]\n    running at  runtime/pprof.writeGoroutineStacks ("
            ),
            "{out}"
        );
        let d = captured("go1.21-debug1.txt");
        let out = text(|w| write_inspect(w, "-", &d, &group(&d, None), None));
        assert!(out.contains("\n(debug=1 shows no states, wait times or creation sites: fetch debug=2 for them)\n"), "{out}");
        assert!(
            out.contains("\n5 goroutines\n    blocked at  main.query.func1 ("),
            "{out}"
        );
    }

    #[test]
    fn diff_and_watch_for_people() {
        let before = captured("go1.27-leak-debug1.txt");
        let after = captured("go1.27-debug1.txt");
        let changes = diff(&before, &after);
        let out = text(|w| write_diff(w, &before, &after, &changes, 0));
        assert!(
            out.starts_with("5 goroutines before, 11 after (+6)\n"),
            "{out}"
        );
        assert!(
            !out.contains("main.query.func1"),
            "unchanged groups are not listed: {out}"
        );
        assert!(out.ends_with(" grew by more than 0\n"), "{out}");
        let out = text(|w| write_diff(w, &after, &after, &diff(&after, &after), 0));
        assert_eq!(
            out,
            "11 goroutines before, 11 after (+0)\n\nno group grew by more than 0\n"
        );

        let samples: Vec<Vec<Group>> = [&before, &after]
            .iter()
            .map(|d| compared_groups(d))
            .collect();
        let trends = rising(&samples, false);
        let out = text(|w| write_watch(w, 2, Duration::from_secs(10), &trends));
        assert!(
            out.starts_with(&format!(
                "{} rose and never fell across 2 samples over 10s:\n",
                plural(trends.len(), "group")
            )),
            "{out}"
        );
        assert!(
            out.contains("\n+1 (0 -> 1)\n    counts      0 1\n"),
            "{out}"
        );
        let out = text(|w| write_watch(w, 3, Duration::from_secs(20), &[]));
        assert_eq!(out, "no group rose across 3 samples over 20s\n");
        let out = text(|w| write_sample(w, 2, 3, Duration::from_micros(10_000_123), 12, 11, &[]));
        assert_eq!(
            out,
            "sample 2/3 at +10s: 12 goroutines (+1 since the first)\n"
        );
        let out = text(|w| write_sample(w, 2, 2, Duration::from_secs(1), 11, 5, &trends));
        let first = &trends[0];
        assert_eq!(
            out,
            format!(
                "sample 2/2 at +1s: 11 goroutines (+6 since the first); rising: +1 {} ({}:{}) and {} more\n",
                first.key.function,
                first.key.file,
                first.key.line,
                trends.len() - 1
            )
        );
        assert!(trends.len() > 1);
    }

    #[test]
    fn json_shapes() {
        let d = captured("go1.26-ancestors-debug2.txt");
        let groups = group(&d, Some(Duration::from_secs(60)));
        let v =
            serde_json::to_value(inspect_json(&d, &groups, Some(Duration::from_secs(60)))).unwrap();
        assert_eq!(v["format"], "debug=2");
        assert_eq!(v["profile"], serde_json::Value::Null);
        assert_eq!(v["total"], d.total());
        let g = &v["groups"][0];
        // (serde_json's maps list keys sorted.)
        let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "blocked_minutes",
                "count",
                "created_by",
                "file",
                "function",
                "leaked",
                "line",
                "older",
                "origin",
                "state"
            ]
        );
        assert_eq!(g["created_by"]["function"], "main.query");
        assert!(v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["origin"]["function"] == "main.main.func1"));
        let changes = diff(&d, &d);
        let v = serde_json::to_value(diff_json(&d, &d, &changes, 3)).unwrap();
        let keys: Vec<&str> = v["groups"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "after",
                "before",
                "created_by",
                "delta",
                "file",
                "function",
                "line",
                "origin",
                "state"
            ]
        );
        assert_eq!(v["threshold"], 3);
    }
}
