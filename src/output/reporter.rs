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
//! Events come as tests end (`RunEvent::PackageEvents`): `--json` and `-v`
//! print them at once. Without `-v`, what go test would show of a package
//! is kept ([`PackageOutput`]: failed tests' output, lines outside tests)
//! and printed when the package ends; a passing test's output is dropped
//! at its end.
//!
//! Both write to any `io::Write`, so tests print to a `Vec<u8>`.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::detect::compare::Leak;
use crate::go::testjson::TestEvent;
use crate::output::report::{PackageOutcome, Report, TestOutcome};
use crate::runner::RunEvent;

/// How many leak groups a test's block shows without `-v`.
pub const GROUPS_SHOWN: usize = 10;

/// A printer of run events.
pub enum Reporter<W: Write> {
    Human {
        out: W,
        verbose: bool,
        /// Paths under it are shown relative to it.
        base: PathBuf,
        /// Without `-v`: what the package being reported may still print.
        package: PackageOutput,
    },
    Json {
        out: W,
    },
}

impl<W: Write> Reporter<W> {
    /// The `go test`-like printer; `base`: paths under it are shown
    /// relative to it.
    pub fn human(out: W, verbose: bool, base: PathBuf) -> Self {
        Reporter::Human {
            out,
            verbose,
            base,
            package: PackageOutput::default(),
        }
    }

    /// The `go test -json` printer.
    pub fn json(out: W) -> Self {
        Reporter::Json { out }
    }

    pub fn event(&mut self, event: RunEvent<'_>) -> io::Result<()> {
        match self {
            Reporter::Json { out } => {
                if let RunEvent::PackageEvents { events, .. }
                | RunEvent::PackageFinished { events, .. } = event
                {
                    for e in events {
                        serde_json::to_writer(&mut *out, e)?;
                        out.write_all(b"\n")?;
                    }
                    out.flush()?;
                }
                Ok(())
            }
            Reporter::Human {
                out,
                verbose,
                base,
                package,
            } => match event {
                RunEvent::Started { go, notes, .. } => {
                    for note in notes {
                        writeln!(out, "leakcheck: {note}")?;
                    }
                    if *verbose && go.release < (1, 26) {
                        writeln!(
                            out,
                            "leakcheck: {} has no goroutine leak profile (Go 1.26+): leaks are judged by the grace period alone, and deadlocked tests by --test-timeout",
                            go.version
                        )?;
                    }
                    out.flush()
                }
                RunEvent::PackageBuilt { .. } => Ok(()),
                RunEvent::PackageEvents { events, .. } if *verbose => {
                    verbose_lines(out, events)?;
                    out.flush()
                }
                RunEvent::PackageEvents { events, .. } => {
                    events.iter().for_each(|e| package.add(e));
                    Ok(())
                }
                RunEvent::PackageFinished { events, .. } if *verbose => {
                    verbose_lines(out, events)?;
                    out.flush()
                }
                RunEvent::PackageFinished { report, events } => {
                    events.iter().for_each(|e| package.add(e));
                    std::mem::take(package).print(out, report.outcome)?;
                    out.flush()
                }
                RunEvent::Finished { report } => {
                    human_summary(out, report, base)?;
                    out.flush()
                }
            },
        }
    }

    pub fn into_inner(self) -> W {
        match self {
            Reporter::Human { out, .. } | Reporter::Json { out } => out,
        }
    }
}

/// With `-v`, every line as it comes.
fn verbose_lines(out: &mut impl Write, events: &[TestEvent]) -> io::Result<()> {
    for e in events {
        if let (Some(text), "output" | "build-output") = (&e.output, e.action.as_str()) {
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// What `go test` without `-v` may print of one package, kept until the
/// package ends: what tests printed themselves and lines outside tests
/// (both shown when the package fails), a failed test's output (under its
/// `--- FAIL` line) and known leaks. A test's output is kept compactly
/// while it runs; when it passes, only what it printed itself stays (its
/// logs and framing go), as go test holds a package's output until its
/// binary exits.
#[derive(Default)]
pub struct PackageOutput {
    /// In the order they ended.
    kept: Vec<Kept>,
    /// The output of top-level tests that have not ended.
    running: HashMap<String, TestLines>,
}

enum Kept {
    /// A line outside any test.
    Package(String),
    /// A known leak's line (`--baseline`), shown even when its test passed.
    Known(String),
    /// A failed run of a top-level test: its output, subtests' included.
    Failed { test: String, lines: TestLines },
    /// What a test that passed or was skipped printed itself (`fmt`,
    /// `os.Stdout`): go test without `-v` shows it when the package fails.
    Printed(String),
}

/// Output lines of one top-level test and its subtests, in one string.
#[derive(Default)]
struct TestLines {
    /// The test and subtest names that printed, indexed by `ends`.
    names: Vec<String>,
    text: String,
    /// Each line's end in `text`, and its name's index in `names`.
    ends: Vec<(usize, usize)>,
}

impl TestLines {
    fn push(&mut self, name: &str, text: &str) {
        let index = match self.names.iter().rposition(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        self.text.push_str(text);
        self.ends.push((self.text.len(), index));
    }

    /// (test or subtest name, line), in order.
    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(end, name)| {
            let line = &self.text[start..end];
            start = end;
            (self.names[name].as_str(), line)
        })
    }
}

impl PackageOutput {
    fn add(&mut self, e: &TestEvent) {
        let Some(test) = e.top_level_test() else {
            // `output`, and a failed build's `build-output`.
            if let Some(text) = &e.output {
                self.kept.push(Kept::Package(text.clone()));
            }
            return;
        };
        let own_end = e.test.as_deref() == Some(test) && e.is_final();
        match (e.action.as_str(), &e.output, &e.test) {
            ("output", Some(text), Some(name)) => self
                .running
                .entry(test.to_string())
                .or_default()
                .push(name, text),
            ("fail", _, _) if own_end => {
                let lines = self.running.remove(test).unwrap_or_default();
                self.kept.push(Kept::Failed {
                    test: test.to_string(),
                    lines,
                });
            }
            (_, _, _) if own_end => {
                let lines = self.running.remove(test).unwrap_or_default();
                let (printed, _) = split_printed(test, lines.iter());
                if !printed.is_empty() {
                    self.kept.push(Kept::Printed(printed.concat()));
                }
                for (_, text) in lines.iter() {
                    if text.starts_with("--- LEAK (known") {
                        self.kept.push(Kept::Known(text.to_string()));
                    }
                }
            }
            _ => {}
        }
    }

    /// Prints what `go test` shows of the package: without `-v`, only the
    /// `ok` line of a package that passed; for one that failed, what its
    /// tests printed themselves, its failed tests' blocks and its lines
    /// outside tests. (A test that never ended shows nothing: leakcheck
    /// gave every test it ran an end.)
    fn print(self, out: &mut impl Write, outcome: PackageOutcome) -> io::Result<()> {
        let passed = matches!(outcome, PackageOutcome::Pass | PackageOutcome::Skip);
        let last_line = self
            .kept
            .iter()
            .rposition(|k| matches!(k, Kept::Package(_)));
        for (i, kept) in self.kept.iter().enumerate() {
            match kept {
                Kept::Package(text) => {
                    // go test shows only the `ok` line; --stress's
                    // summary of the package's runs too.
                    if passed && Some(i) != last_line && !text.starts_with(STRESS_LINE) {
                        continue;
                    }
                    if !is_framing(text) {
                        out.write_all(text.as_bytes())?;
                    }
                }
                Kept::Known(text) => out.write_all(text.as_bytes())?,
                Kept::Printed(text) => {
                    if !passed {
                        out.write_all(text.as_bytes())?;
                    }
                }
                // Each failed run, as go test prints each: what the test
                // printed as it ran, then its result and logs.
                Kept::Failed { test, lines } => {
                    let (printed, rest) = split_printed(test, lines.iter());
                    match failed_test_block(test, rest.into_iter()) {
                        Some(block) => {
                            for line in printed {
                                out.write_all(line.as_bytes())?;
                            }
                            for line in block {
                                out.write_all(line.as_bytes())?;
                            }
                        }
                        None => {
                            for (_, line) in lines.iter() {
                                if !is_framing(line) {
                                    out.write_all(line.as_bytes())?;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// How `--stress`'s lines outside tests start (see `runner/stress.rs`):
/// shown for a package that passed too.
pub const STRESS_LINE: &str = "leakcheck: stress: ";

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

/// Splits a top-level test's `-v` lines into what the test printed itself
/// (`fmt`, `os.Stdout`: go test without `-v` passes it through as it
/// comes) and the rest (framing, results and `t.Log` lines, which `-v`
/// indents by four spaces, and what leakcheck added after the test's
/// result). A line the test printed with leading spaces reads as a log
/// line: it stays in the test's block.
fn split_printed<'a>(
    test: &str,
    lines: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<&'a str>, Vec<(&'a str, &'a str)>) {
    let (mut printed, mut rest) = (Vec::new(), Vec::new());
    let mut ended = false;
    for (name, text) in lines {
        ended |= name == test && result_header(text, name).is_some();
        let own = !ended
            && !text.starts_with(' ')
            && !text.starts_with("=== ")
            && !text.starts_with("--- ");
        if own {
            printed.push(text);
        } else {
            rest.push((name, text));
        }
    }
    (printed, rest)
}

/// The `--- FAIL: NAME (` line of test `name`, if `text` is one (or PASS,
/// SKIP): the status.
fn result_header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let rest = text.trim_start().strip_prefix("--- ")?;
    let (status, rest) = rest.split_once(": ")?;
    let ended = rest.strip_prefix(name)?.starts_with(" (");
    (ended && matches!(status, "FAIL" | "PASS" | "SKIP")).then_some(status)
}

/// The output of failed top-level test `test`, laid out as `go test`
/// prints it without `-v`: its `--- FAIL` line first, then its own lines
/// and its failed subtests' blocks in the order they came, each level
/// indented four more spaces (subtests that passed or were skipped, and
/// their output, left out); then what leakcheck added after its result
/// (its leak block). From the `-v` stream, where a test's lines come
/// before its result line and nothing is indented by depth. `None` when
/// the test has no `--- FAIL` line.
fn failed_test_block<'a>(
    test: &str,
    lines: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Vec<String>> {
    enum Item<'a> {
        Line(&'a str),
        Child(&'a str),
    }
    #[derive(Default)]
    struct Node<'a> {
        header: Option<(&'a str, bool)>,
        items: Vec<Item<'a>>,
    }
    let mut nodes: HashMap<&str, Node> = HashMap::new();
    let mut after: Vec<&str> = Vec::new();
    for (name, text) in lines {
        if is_framing(text) {
            continue;
        }
        if let Some(status) = result_header(text, name) {
            if nodes.get(name).is_none_or(|n| n.header.is_none()) {
                nodes.entry(name).or_default().header = Some((text.trim_start(), status == "FAIL"));
                if let Some((parent, _)) = name.rsplit_once('/') {
                    nodes
                        .entry(parent)
                        .or_default()
                        .items
                        .push(Item::Child(name));
                }
                continue;
            }
        }
        if name == test && nodes.get(test).is_some_and(|n| n.header.is_some()) {
            after.push(text); // leakcheck's block, after the result line
        } else {
            nodes.entry(name).or_default().items.push(Item::Line(text));
        }
    }
    let Some((_, true)) = nodes.get(test)?.header else {
        return None;
    };
    fn render(nodes: &HashMap<&str, Node>, name: &str, depth: usize, out: &mut Vec<String>) {
        let Some(node) = nodes.get(name) else { return };
        let indent = "    ".repeat(depth);
        if let Some((header, _)) = node.header {
            out.push(format!("{indent}{header}"));
        }
        for item in &node.items {
            match item {
                Item::Line(text) => out.push(format!("{indent}{text}")),
                Item::Child(child) => {
                    if nodes
                        .get(child)
                        .and_then(|n| n.header)
                        .is_some_and(|(_, failed)| failed)
                    {
                        render(nodes, child, depth + 1, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    render(&nodes, test, 0, &mut out);
    out.extend(after.into_iter().map(str::to_string));
    Some(out)
}

/// How many of the slowest packages the summary names.
pub const SLOWEST_SHOWN: usize = 3;

fn human_summary(out: &mut impl Write, report: &Report, base: &Path) -> io::Result<()> {
    let s = &report.summary;
    let tests = || {
        report
            .packages
            .iter()
            .flat_map(|p| p.tests.iter().map(move |t| (p.import_path.as_str(), t)))
    };
    let leaking: Vec<_> = tests()
        .filter(|(_, t)| matches!(t.outcome, TestOutcome::Leak | TestOutcome::Fail))
        .filter(|(_, t)| !t.leaks.is_empty() || !t.resources.is_empty())
        .collect();
    if !leaking.is_empty() {
        writeln!(out, "\nLeaking tests:")?;
        for (pkg, t) in &leaking {
            let Some(first) = t.leaks.first() else {
                // Only resources (--check): what they are.
                let failed = if t.outcome == TestOutcome::Fail {
                    " (failed, and leaked)"
                } else {
                    ""
                };
                let what = crate::detect::resources::summary(&t.resources);
                writeln!(out, "    {pkg}.{}{failed}: {what}", t.name)?;
                continue;
            };
            let site = creation_site(first, base);
            let failed = if t.outcome == TestOutcome::Fail {
                " (failed, and leaked)"
            } else {
                ""
            };
            let origin = origin_and_via_lines(&t.leaks[0])
                .into_iter()
                .map(|(word, at)| format!(", {word} {}:{}", display_path(&at.file, base), at.line))
                .collect::<String>();
            // The first group stands for the test; the others are counted,
            // and what else it left is named.
            let mut more = String::new();
            if t.leaks.len() > 1 {
                let n = t.leaks.len() - 1;
                more.push_str(&format!(
                    " (and {n} more leak group{})",
                    if n == 1 { "" } else { "s" }
                ));
            }
            if !t.resources.is_empty() {
                more.push_str(&format!(
                    "; also {}",
                    crate::detect::resources::summary(&t.resources)
                ));
            }
            writeln!(
                out,
                "    {pkg}.{}{failed}: created at {site}{origin}{more}",
                t.name
            )?;
        }
    }
    let hung: Vec<_> = tests()
        .filter(|(_, t)| t.outcome == TestOutcome::Hang)
        .collect();
    if !hung.is_empty() {
        writeln!(out, "\nHung tests:")?;
        for (pkg, t) in &hung {
            match t.leaks.first() {
                Some(l) => writeln!(
                    out,
                    "    {pkg}.{}: {} {}:{}",
                    t.name,
                    where_word(&l.state),
                    display_path(&l.file, base),
                    l.line
                )?,
                None => writeln!(out, "    {pkg}.{}", t.name)?,
            }
        }
    }
    let crashed: Vec<_> = tests()
        .filter(|(_, t)| t.outcome == TestOutcome::Crash)
        .collect();
    if !crashed.is_empty() {
        writeln!(out, "\nCrashed tests:")?;
        for (pkg, t) in &crashed {
            let why = t
                .details
                .as_deref()
                .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("the test binary died");
            writeln!(out, "    {pkg}.{}: {why}", t.name)?;
        }
    }
    let outside: Vec<_> = report
        .packages
        .iter()
        .filter(|p| p.failed_outside_tests())
        .collect();
    if !outside.is_empty() {
        writeln!(out, "\nPackages that failed outside their tests:")?;
        for p in &outside {
            writeln!(out, "    {}: {}", p.import_path, p.failure_reason())?;
        }
    }
    let slowest = slowest_packages(report, SLOWEST_SHOWN);
    if report.packages.len() > 1 && !slowest.is_empty() {
        writeln!(out, "\nSlowest packages:")?;
        for (pkg, ms) in slowest {
            writeln!(out, "    {:>8.3}s  {pkg}", ms / 1000.0)?;
        }
    }
    writeln!(out, "\nleakcheck: {}", summary_line(s))
}

/// `6 tests, 1 passed, 1 failed, ...`: every test counted once, by its
/// outcome; a failed test that also leaked counts as failed, and says so;
/// packages that failed outside their tests are counted apart.
pub fn summary_line(s: &crate::output::report::Summary) -> String {
    let failed = match s.failed_and_leaked {
        0 => format!("{} failed", s.failed),
        n => format!("{} failed ({n} also leaked)", s.failed),
    };
    let mut line = format!(
        "{}, {} passed, {failed}, {} leaked, {} hung, {} crashed, {} skipped",
        plural(s.tests, "test"),
        s.passed,
        s.leaked,
        s.hung,
        s.crashed,
        s.skipped
    );
    match s.packages_failed {
        0 => {}
        1 => line.push_str("; 1 package failed outside its tests"),
        n => line.push_str(&format!("; {n} packages failed outside their tests")),
    }
    line
}

/// The `n` packages that took longest (and took any time), slowest first.
pub fn slowest_packages(report: &Report, n: usize) -> Vec<(&str, f64)> {
    let mut all: Vec<(&str, f64)> = report
        .packages
        .iter()
        .filter(|p| p.elapsed_ms > 0.0)
        .map(|p| (p.import_path.as_str(), p.elapsed_ms))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    all.truncate(n);
    all
}

/// Where a leak group's goroutines were created (`file:line`, relative to
/// `base`), or where they are blocked when the creation site is unknown.
/// A leak group's `origin` and `via` lines where they say more than its
/// creation site (and via more than origin).
pub fn origin_and_via_lines(l: &Leak) -> Vec<(&'static str, &crate::detect::compare::Location)> {
    let same = |a: &crate::detect::compare::Location,
                b: Option<&crate::detect::compare::Location>| {
        b.is_some_and(|b| a.file == b.file && a.line == b.line)
    };
    let mut out = Vec::new();
    if let Some(o) = &l.origin {
        if !same(o, l.created_by.as_ref()) {
            out.push(("origin", o));
        }
    }
    if let Some(v) = &l.via {
        if !same(v, l.created_by.as_ref()) && !same(v, l.origin.as_ref()) {
            out.push(("via", v));
        }
    }
    out
}

pub fn creation_site(leak: &Leak, base: &Path) -> String {
    match &leak.created_by {
        Some(c) => format!("{}:{}", display_path(&c.file, base), c.line),
        None => format!("{}:{}", display_path(&leak.file, base), leak.line),
    }
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

/// `running at` for a goroutine that runs or waits for a CPU (it is not
/// blocked: a spinning loop), `blocked at` for the rest.
pub fn where_word(state: &str) -> &'static str {
    match state.split(',').next().unwrap_or("").trim() {
        "running" | "runnable" => "running at",
        _ => "blocked at",
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
        if !l.subtest.is_empty() && l.subtest != test {
            lines.push(format!("        subtest     {}\n", l.subtest));
        }
        lines.push(format!(
            "        {}  {} ({}:{})\n",
            where_word(&l.state),
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
        for (word, at) in origin_and_via_lines(l) {
            lines.push(format!(
                "        {word:<11} {}:{} in {}\n",
                display_path(&at.file, base),
                at.line,
                at.function
            ));
        }
        for k in &l.keeps_alive {
            lines.push(format!(
                "        keeps alive {} allocated at {}:{} in {}\n",
                crate::detect::resources::human_bytes(k.bytes),
                display_path(&k.site.file, base),
                k.site.line,
                k.site.function
            ));
        }
        if let Some(hint) = &l.hint {
            lines.push(format!("        hint        {hint}\n"));
        }
        if !l.ambiguous_with.is_empty() {
            lines.push(format!(
                "        owner ambiguous: may belong to {} instead (it cannot be pinned on one test for sure)\n",
                l.ambiguous_with.join(", ")
            ));
        } else if l
            .created_by
            .as_ref()
            .is_some_and(|c| c.function == "time.goFunc")
        {
            // Blamed by when the timer fired: its stack names no test.
            lines.push(
                "        owner uncertain: a timer's callback (time.AfterFunc); an earlier test may have set the timer\n"
                    .to_string(),
            );
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

    fn leak(count: usize) -> Leak {
        Leak {
            count,
            ..Leak::example()
        }
    }

    fn printed(events: &[TestEvent], outcome: PackageOutcome) -> (String, PackageOutput) {
        let mut package = PackageOutput::default();
        let mut kept = PackageOutput::default();
        for e in events {
            package.add(e);
            kept.add(e);
        }
        let mut out = Vec::new();
        package.print(&mut out, outcome).unwrap();
        (String::from_utf8(out).unwrap(), kept)
    }

    #[test]
    fn a_passing_packages_stress_summary_is_shown_with_its_ok_line() {
        let events = vec![
            TestEvent::output("p", None, "PASS\n".into()),
            TestEvent::output("p", None, format!("{STRESS_LINE}900 runs of 3 tests\n")),
            TestEvent::output("p", None, "ok  \tp\t3.0s\n".into()),
        ];
        let (text, _) = printed(&events, PackageOutcome::Pass);
        assert_eq!(
            text,
            format!("{STRESS_LINE}900 runs of 3 tests\nok  \tp\t3.0s\n")
        );
    }

    #[test]
    fn without_v_failed_tests_and_what_tests_printed_are_shown() {
        let pkg = "example.com/p";
        let line = |test: Option<&str>, text: &str| TestEvent::output(pkg, test, text.into());
        let end = |test: &str, action: &str| TestEvent {
            test: Some(test.into()),
            action: action.into(),
            ..crate::runner::final_event(pkg, action, 0.0)
        };
        let mut events = vec![line(None, "setting up\n")];
        for n in 0..3 {
            events.push(line(Some("TestOK"), "=== RUN   TestOK\n"));
            events.push(line(
                Some("TestOK"),
                &format!("    ok_test.go:3: run {n}\n"),
            ));
            // Printed by the test itself (fmt): go test passes it through.
            events.push(line(Some("TestOK"), &format!("printed {n}\n")));
            events.push(line(Some("TestOK"), "--- PASS: TestOK (0.00s)\n"));
            events.push(end("TestOK", "pass"));
        }
        events.extend([
            line(Some("TestBad"), "=== RUN   TestBad\n"),
            line(Some("TestBad/sub"), "=== RUN   TestBad/sub\n"),
            line(Some("TestBad/sub"), "    bad_test.go:9: want 2\n"),
            line(Some("TestBad/sub"), "--- FAIL: TestBad/sub (0.00s)\n"),
            end("TestBad/sub", "fail"),
            line(Some("TestBad"), "--- FAIL: TestBad (0.00s)\n"),
            end("TestBad", "fail"),
            line(Some("TestKnown"), "--- PASS: TestKnown (0.00s)\n"),
            line(
                Some("TestKnown"),
                "--- LEAK (known, in the baseline): TestKnown (1 goroutine)\n",
            ),
            end("TestKnown", "pass"),
            line(None, "FAIL\n"),
            line(None, "FAIL\texample.com/p\t0.1s\n"),
        ]);
        let (text, kept) = printed(&events, PackageOutcome::Fail);
        assert_eq!(
            text,
            "setting up\nprinted 0\nprinted 1\nprinted 2\n--- FAIL: TestBad (0.00s)\n    --- FAIL: TestBad/sub (0.00s)\n        bad_test.go:9: want 2\n\
             --- LEAK (known, in the baseline): TestKnown (1 goroutine)\nFAIL\nFAIL\texample.com/p\t0.1s\n"
        );
        // Of the passing runs, only what they printed is held.
        assert!(kept.running.is_empty());
        assert_eq!(kept.kept.len(), 8);
        // A package that passed shows its `ok` line only.
        let ok = [
            line(None, "setting up\n"),
            line(Some("TestOK"), "printed\n"),
            line(Some("TestOK"), "--- PASS: TestOK (0.00s)\n"),
            end("TestOK", "pass"),
            line(None, "PASS\n"),
            line(None, "ok  \texample.com/p\t0.1s\n"),
            crate::runner::final_event(pkg, "pass", 0.1),
        ];
        assert_eq!(
            printed(&ok, PackageOutcome::Pass).0,
            "ok  \texample.com/p\t0.1s\n"
        );
    }

    #[test]
    fn leak_block_names_the_subtest_that_started_the_goroutines() {
        let mut sub = leak(1);
        sub.subtest = "TestA/before_wait".into();
        let lines = leak_report_lines("TestA", &[leak(2), sub], Path::new("/m"), false).concat();
        assert_eq!(
            lines,
            "--- LEAK: TestA (3 goroutines)\n    2 goroutines [chan send]\n        blocked at  example.com/p.F.func1 (p/p.go:10)\n        created at  p/p.go:9 by example.com/p.F\n    1 goroutine [chan send]\n        subtest     TestA/before_wait\n        blocked at  example.com/p.F.func1 (p/p.go:10)\n        created at  p/p.go:9 by example.com/p.F\n"
        );
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

    #[test]
    fn a_thousand_identical_goroutines_are_one_line() {
        let mut dump = String::new();
        for id in 100..1100 {
            dump.push_str(&format!(
                "goroutine {id} [chan send]:\nexample.com/p.F.func1()\n\t/m/p/p.go:10 +0x1d\ncreated by example.com/p.F in goroutine 7\n\t/m/p/p.go:9 +0x4f\n\n"
            ));
        }
        let snapshot = crate::detect::stack::Snapshot::parse(&dump);
        let goroutines: Vec<_> = snapshot
            .goroutines
            .into_iter()
            .map(|g| (g, Vec::new()))
            .collect();
        assert_eq!(goroutines.len(), 1000);
        let leaks = crate::detect::compare::group_leaks(
            &goroutines,
            crate::detect::compare::CodeRoots {
                goroot: "/usr/local/go",
                module: "/m",
                calls: None,
            },
        );
        let lines = leak_report_lines("TestMany", &leaks, Path::new("/m"), false);
        assert_eq!(
            lines.concat(),
            "--- LEAK: TestMany (1000 goroutines)\n    1000 goroutines [chan send]\n        blocked at  example.com/p.F.func1 (p/p.go:10)\n        created at  p/p.go:9 by example.com/p.F\n"
        );
    }

    fn summary_of(report: &Report) -> String {
        let mut out = Vec::new();
        human_summary(&mut out, report, Path::new("/m")).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_spinning_goroutine_is_running_at_not_blocked_at() {
        let spinning = Leak {
            state: "runnable".into(),
            ..Leak::example()
        };
        let lines = leak_report_lines("TestSpin", &[spinning], Path::new("/m"), false).concat();
        assert!(
            lines.contains("        running at  example.com/p.F.func1 (p/p.go:10)"),
            "{lines}"
        );
        assert!(!lines.contains("blocked at"), "{lines}");
        assert_eq!(where_word("running"), "running at");
        assert_eq!(where_word("chan receive, 2 minutes"), "blocked at");
    }

    #[test]
    fn summary_counts_lists_and_slowest_packages() {
        use crate::output::report::{PackageReport, TestReport};
        let test = |name: &str, outcome, leaks: Vec<Leak>, details: Option<&str>| TestReport {
            elapsed_ms: 1.0,
            details: details.map(str::to_string),
            ..TestReport::new(name, outcome, leaks)
        };
        let package = |path: &str, ms: f64, tests: Vec<TestReport>| PackageReport {
            import_path: path.into(),
            outcome: if tests.iter().any(|t| t.outcome.is_failure()) {
                PackageOutcome::Fail
            } else {
                PackageOutcome::Pass
            },
            error: None,
            elapsed_ms: ms,
            tests,
        };
        let mut outside = package(
            "example.com/t",
            1.0,
            vec![test("TestFine", TestOutcome::Pass, vec![], None)],
        );
        outside.outcome = PackageOutcome::Fail;
        outside.error = Some("\ngoleak: found unexpected goroutines:\n[...]".into());
        let mut own = leak(1);
        own.file = "/m/p/p_test.go".into();
        own.line = 22;
        let report = Report::new(
            "go1.26.0".into(),
            vec![
                package(
                    "example.com/p",
                    1500.0,
                    vec![
                        test("TestA", TestOutcome::Pass, vec![], None),
                        test("TestLeak", TestOutcome::Leak, vec![leak(2), leak(1)], None),
                        test(
                            "TestHang",
                            TestOutcome::Hang,
                            vec![own],
                            Some("TestHang deadlocked"),
                        ),
                    ],
                ),
                package(
                    "example.com/q",
                    20.0,
                    vec![test("TestB", TestOutcome::Skip, vec![], None)],
                ),
                package(
                    "example.com/r",
                    3000.0,
                    vec![
                        test("TestC", TestOutcome::Fail, vec![leak(1)], None),
                        test(
                            "TestBoom",
                            TestOutcome::Crash,
                            vec![],
                            Some("\npanic: boom\n\ngoroutine 1"),
                        ),
                    ],
                ),
                package("example.com/s", 5.0, vec![]),
                package("example.com/empty", 0.0, vec![]),
                outside,
            ],
        );
        assert_eq!(
            summary_of(&report),
            "\nLeaking tests:\n    example.com/p.TestLeak: created at p/p.go:9 (and 1 more leak group)\n    \
             example.com/r.TestC (failed, and leaked): created at p/p.go:9\n\
             \nHung tests:\n    example.com/p.TestHang: blocked at p/p_test.go:22\n\
             \nCrashed tests:\n    example.com/r.TestBoom: panic: boom\n\
             \nPackages that failed outside their tests:\n    example.com/t: goleak: found unexpected goroutines:\n\
             \nSlowest packages:\n       3.000s  example.com/r\n       1.500s  example.com/p\n       0.020s  example.com/q\n\
             \nleakcheck: 7 tests, 2 passed, 1 failed (1 also leaked), 1 leaked, 1 hung, 1 crashed, 1 skipped; \
             1 package failed outside its tests\n"
        );
    }

    #[test]
    fn the_summary_line_counts_in_words() {
        let one = crate::output::report::Summary {
            tests: 1,
            passed: 1,
            ..Default::default()
        };
        assert_eq!(
            summary_line(&one),
            "1 test, 1 passed, 0 failed, 0 leaked, 0 hung, 0 crashed, 0 skipped"
        );
    }

    #[test]
    fn summary_of_a_clean_single_package_is_one_line() {
        use crate::output::report::PackageReport;
        let report = Report::new(
            "go1.26.0".into(),
            vec![PackageReport {
                import_path: "example.com/p".into(),
                outcome: PackageOutcome::Pass,
                error: None,
                elapsed_ms: 12.0,
                tests: vec![],
            }],
        );
        assert_eq!(
            summary_of(&report),
            "\nleakcheck: 0 tests, 0 passed, 0 failed, 0 leaked, 0 hung, 0 crashed, 0 skipped\n"
        );
    }
}
