//! Printing a run: a reporter consumes the runner's [`RunEvent`]s.
//!
//! - [`Reporter::Human`] reads like `go test`: `ok`/`FAIL` per package,
//!   `--- FAIL:` per test, and a `--- LEAK: TestName` block per leaking
//!   test; with `-v`, every line of test output and full leak stacks.
//! - [`Reporter::Json`] prints JSON Lines in the `go test -json` format,
//!   one event per line, so tools such as gotestsum can consume it. A
//!   leaking test's `--- PASS` line reads `--- FAIL`, its `--- LEAK` block
//!   follows as `output` events of that test, and its final action is
//!   `fail`; the package's final action is `fail` too.
//!
//! Both write to any `io::Write`, so tests print to a `Vec<u8>`.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::compare::Leak;
use crate::report::{PackageOutcome, Report, TestOutcome};
use crate::runner::RunEvent;
use crate::testjson::TestEvent;

/// How many leak groups a test's block shows without `-v`.
pub const GROUPS_SHOWN: usize = 10;

/// A printer of run events.
pub enum Reporter<W: Write> {
    Human {
        out: W,
        verbose: bool,
        /// Paths under it are shown relative to it.
        base: PathBuf,
    },
    Json {
        out: W,
    },
}

impl<W: Write> Reporter<W> {
    pub fn event(&mut self, event: RunEvent<'_>) -> io::Result<()> {
        match self {
            Reporter::Json { out } => {
                if let RunEvent::PackageFinished { events, .. } = event {
                    for e in events {
                        serde_json::to_writer(&mut *out, e)?;
                        out.write_all(b"\n")?;
                    }
                    out.flush()?;
                }
                Ok(())
            }
            Reporter::Human { out, verbose, base } => match event {
                RunEvent::Started { .. } => Ok(()),
                RunEvent::PackageFinished { report, events } => {
                    human_package(out, *verbose, report.outcome, events)?;
                    out.flush()
                }
                RunEvent::Finished { report } => human_summary(out, report, base),
            },
        }
    }

    pub fn into_inner(self) -> W {
        match self {
            Reporter::Human { out, .. } | Reporter::Json { out } => out,
        }
    }
}

/// Lines that only `-v` shows: framing, and subtests that passed or were
/// skipped.
fn is_framing(line: &str) -> bool {
    let line = line.trim_start();
    ["=== RUN", "=== PAUSE", "=== CONT", "=== NAME"]
        .iter()
        .any(|p| line.starts_with(p))
        || ["--- PASS: ", "--- SKIP: "].iter().any(|p| {
            line.strip_prefix(p)
                .is_some_and(|rest| rest.split(' ').next().unwrap_or("").contains('/'))
        })
}

fn human_package(
    out: &mut impl Write,
    verbose: bool,
    outcome: PackageOutcome,
    events: &[TestEvent],
) -> io::Result<()> {
    if verbose {
        for e in events {
            if let (Some(text), "output") = (&e.output, e.action.as_str()) {
                out.write_all(text.as_bytes())?;
            }
        }
        return Ok(());
    }
    let passed = matches!(outcome, PackageOutcome::Pass | PackageOutcome::Skip);
    // Output of each top-level test, and which tests failed.
    let mut by_test: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut failed: Vec<&str> = Vec::new();
    for e in events {
        let Some(test) = e.top_level_test() else {
            continue;
        };
        if e.action == "output" {
            by_test
                .entry(test)
                .or_default()
                .push(e.output.as_deref().unwrap_or(""));
        } else if e.action == "fail" && e.test.as_deref() == Some(test) && !failed.contains(&test) {
            failed.push(test);
        }
    }
    let mut printed: Vec<&str> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(text) = e.output.as_deref() else {
            continue;
        };
        match e.top_level_test() {
            None => {
                let last = i + 2 >= events.len();
                if passed && !last {
                    continue; // go test shows only the `ok` line
                }
                if !is_framing(text) {
                    out.write_all(text.as_bytes())?;
                }
            }
            Some(test) if failed.contains(&test) && !printed.contains(&test) => {
                // A failed test's output, in one piece, where it ended.
                if e.test.as_deref() == Some(test)
                    && text.starts_with("--- ")
                    && text.contains(&format!(": {test} ("))
                {
                    printed.push(test);
                    for line in &by_test[test] {
                        if !is_framing(line) {
                            out.write_all(line.as_bytes())?;
                        }
                    }
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn human_summary(out: &mut impl Write, report: &Report, base: &Path) -> io::Result<()> {
    let s = &report.summary;
    let leaking: Vec<(&str, &str, &Leak)> = report
        .packages
        .iter()
        .flat_map(|p| p.tests.iter().map(move |t| (p, t)))
        .filter(|(_, t)| !t.leaks.is_empty() && t.outcome != TestOutcome::Pass)
        .map(|(p, t)| (p.import_path.as_str(), t.name.as_str(), &t.leaks[0]))
        .collect();
    if !leaking.is_empty() {
        writeln!(out, "\nLeaking tests:")?;
        for (pkg, test, leak) in &leaking {
            let site = leak
                .created_by
                .as_ref()
                .map(|c| format!("{}:{}", display_path(&c.file, base), c.line))
                .unwrap_or_else(|| format!("{}:{}", display_path(&leak.file, base), leak.line));
            writeln!(out, "    {pkg}.{test}: created at {site}")?;
        }
    }
    writeln!(
        out,
        "\nleakcheck: {} tests, {} passed, {} failed, {} leaked, {} hung, {} crashed, {} skipped",
        s.tests, s.passed, s.failed, s.leaked, s.hung, s.crashed, s.skipped
    )
}

/// `path` relative to `base` when it is under it.
pub fn display_path(path: &str, base: &Path) -> String {
    Path::new(path)
        .strip_prefix(base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The `--- LEAK:` block for a test, one string per line (with `\n`),
/// paths relative to `base`.
pub fn leak_report_lines(test: &str, leaks: &[Leak], base: &Path, verbose: bool) -> Vec<String> {
    let total: usize = leaks.iter().map(|l| l.count).sum();
    let mut lines = vec![format!(
        "--- LEAK: {test} ({})\n",
        plural(total, "goroutine")
    )];
    let shown = if verbose {
        leaks.len()
    } else {
        leaks.len().min(GROUPS_SHOWN)
    };
    for l in &leaks[..shown] {
        let proven = if l.proven { ", proven leaked" } else { "" };
        lines.push(format!(
            "    {} [{}{proven}]\n",
            plural(l.count, "goroutine"),
            l.state
        ));
        lines.push(format!(
            "        blocked at  {} ({}:{})\n",
            l.function,
            display_path(&l.file, base),
            l.line
        ));
        if let Some(c) = &l.created_by {
            lines.push(format!(
                "        created at  {}:{} by {}\n",
                display_path(&c.file, base),
                c.line,
                c.function
            ));
        }
        if !l.ambiguous_with.is_empty() {
            lines.push(format!(
                "        owner ambiguous: may belong to {} instead (they ran in parallel)\n",
                l.ambiguous_with.join(", ")
            ));
        }
        if verbose {
            for s in l.stack.lines() {
                lines.push(format!("        | {s}\n"));
            }
        }
    }
    if shown < leaks.len() {
        let more = leaks.len() - shown;
        let word = if more == 1 { "group" } else { "groups" };
        lines.push(format!("    ... and {more} more {word} (-v shows all)\n"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Location;

    fn leak(count: usize) -> Leak {
        Leak {
            count,
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
            stack: "goroutine 7 [chan send]:\n...".into(),
        }
    }

    #[test]
    fn leak_block_names_state_blocking_frame_and_creation_site() {
        let lines = leak_report_lines("TestF", &[leak(3)], Path::new("/m"), false).concat();
        assert_eq!(
            lines,
            "--- LEAK: TestF (3 goroutines)\n    3 goroutines [chan send]\n        blocked at  example.com/p.F.func1 (p/p.go:10)\n        created at  p/p.go:9 by example.com/p.F\n"
        );
    }

    #[test]
    fn many_groups_are_condensed_unless_verbose() {
        let leaks: Vec<Leak> = (0..12).map(|_| leak(1)).collect();
        let short = leak_report_lines("T", &leaks, Path::new("/"), false);
        assert_eq!(
            short.last().unwrap(),
            "    ... and 2 more groups (-v shows all)\n"
        );
        let long = leak_report_lines("T", &leaks, Path::new("/"), true);
        assert!(long
            .iter()
            .any(|l| l.contains("| goroutine 7 [chan send]:")));
        assert!(!long.iter().any(|l| l.contains("more")));
    }
}
