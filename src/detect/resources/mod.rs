//! Leaks beyond goroutines (`--check fds,processes,heap`): descriptors a
//! test left open, processes it started that outlive it, and live heap it
//! keeps.
//!
//! This module owns which checks run ([`Checks`]), what a found resource
//! is in the report ([`Resource`]), and judging them: [`tracker`] follows
//! one test binary process's runs through the hook's `res` messages (see
//! `harness/resources.go` and the protocol table in `listener.rs`) and
//! decides, as the comparator does for goroutines, what each run left
//! behind. The hook only waits, at each run's start and end, while
//! leakcheck looks at the process from outside ([`fds`], [`procs`]: Linux
//! `/proc`), and sends its live heap and heap profile when asked
//! ([`heap`]). Parsing and diffing are pure and unit-tested from captured
//! samples; reading `/proc` is kept to the few `read_*`/`scan` functions.

pub mod fds;
pub mod heap;
pub mod keepalive;
pub mod kept;
pub mod procs;
pub mod tracker;

use serde::{Deserialize, Serialize};

use crate::detect::compare::Location;

/// The default heap growth a test may keep before it is reported.
pub const DEFAULT_HEAP_THRESHOLD: u64 = 1 << 20;

/// `runtime.MemProfileRate` under `--check heap`: one sample per 64 KiB
/// allocated on average, instead of the runtime's 512 KiB, so that the
/// sites of a few MiB of growth show up in the profile.
pub const HEAP_PROFILE_RATE: u64 = 64 << 10;

/// What `LEAKCHECK_HELPER` gets for `checks` (after the hook's other
/// settings): `res=1` makes each run's start and end wait for leakcheck,
/// `memrate` raises the heap profile's sampling.
pub fn hook_settings(checks: &Checks) -> String {
    match (checks.any(), checks.heap) {
        (false, _) => String::new(),
        (true, false) => " res=1".to_string(),
        (true, true) => format!(" res=1 memrate={HEAP_PROFILE_RATE}"),
    }
}

/// Which resource checks run (goroutines are always checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub fds: bool,
    pub processes: bool,
    pub heap: bool,
    /// Heap growth over this many bytes is reported.
    pub heap_threshold: u64,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            fds: false,
            processes: false,
            heap: false,
            heap_threshold: DEFAULT_HEAP_THRESHOLD,
        }
    }
}

/// The names `--check` takes.
pub const CHECK_NAMES: &[&str] = &["fds", "processes", "heap", "goroutines", "all"];

impl Checks {
    /// Any check beyond goroutines.
    pub fn any(&self) -> bool {
        self.fds || self.processes || self.heap
    }

    /// Turns on the checks named in `values` (each comma-separated:
    /// `fds,heap`, `all`; `goroutines` is accepted and always on). An
    /// unknown name is an error naming it and the known ones.
    pub fn enable(&mut self, values: &[String]) -> Result<(), String> {
        for name in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            match name {
                "fds" => self.fds = true,
                "processes" => self.processes = true,
                "heap" => self.heap = true,
                "all" => (self.fds, self.processes, self.heap) = (true, true, true),
                "goroutines" => {}
                _ => {
                    return Err(format!(
                        "unknown check {name:?} (known: {})",
                        CHECK_NAMES.join(", ")
                    ))
                }
            }
        }
        // Descriptors and processes are read from Linux's /proc: elsewhere
        // they would read as none, a pass that judged nothing.
        if !cfg!(target_os = "linux") && (self.fds || self.processes) {
            return Err(format!(
                "fds and processes are checked through Linux's /proc, which {} does not have \
                 (heap does not need it)",
                std::env::consts::OS
            ));
        }
        Ok(())
    }

    /// The checks on, as `--check` would name them (`goroutines` first).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["goroutines"];
        for (on, name) in [
            (self.fds, "fds"),
            (self.processes, "processes"),
            (self.heap, "heap"),
        ] {
            if on {
                names.push(name);
            }
        }
        names
    }
}

/// What kind of resource a test left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    File,
    Socket,
    Pipe,
    /// A descriptor of another kind (an anonymous inode, a device).
    Other,
    Process,
    Heap,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::File => "file",
            ResourceKind::Socket => "socket",
            ResourceKind::Pipe => "pipe",
            ResourceKind::Other => "other",
            ResourceKind::Process => "process",
            ResourceKind::Heap => "heap",
        }
    }
}

/// One resource a test left behind, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// What it is: `/abs/path (fd 7)`, `tcp 127.0.0.1:41234 listening
    /// (fd 8)`, `pid 4242: sleep 60`, `10.0 MiB more live heap`.
    pub description: String,
    /// Descriptors or processes alike in one entry (1 for heap).
    pub count: usize,
    /// Heap: the bytes kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Heap: where the bytes kept were allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Location>,
    /// Other tests that ran meanwhile and may have left it instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambiguous_with: Vec<String>,
    /// Recorded in the baseline: shown, not failing (never set yet:
    /// baselines record goroutine leaks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
}

/// Parses a size: `1048576`, `512KiB`, `2MiB`, `1GiB` (also `KB`/`MB`/`GB`
/// as powers of 1000, and a `B` suffix).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("invalid size {text:?} (want e.g. 1MiB, 512KiB, 1048576)"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!(
                "invalid size {text:?} (want e.g. 1MiB, 512KiB, 1048576)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// A size in bytes for people: `10.0 MiB`, `512 KiB`, `100 B`.
pub fn human_bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB * KIB {
        format!("{:.1} GiB", f / (KIB * KIB * KIB))
    } else if f >= KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB))
    } else if f >= KIB {
        format!("{:.0} KiB", f / KIB)
    } else {
        format!("{n} B")
    }
}

/// The lines a `--- LEAK` block gets for `resources` (each with `\n`),
/// paths relative to `base`.
pub fn report_lines(resources: &[Resource], base: &std::path::Path) -> Vec<String> {
    let mut lines = Vec::new();
    for r in resources {
        // Descriptors list their numbers already.
        let count = if r.count > 1 && !r.description.contains("(fds ") {
            format!(" ({}x)", r.count)
        } else {
            String::new()
        };
        lines.push(format!(
            "    {:<8} {}{count}\n",
            r.kind.as_str(),
            r.description
        ));
        if let Some(site) = &r.site {
            lines.push(format!(
                "        allocated at  {}:{} in {}\n",
                crate::output::reporter::display_path(&site.file, base),
                site.line,
                site.function
            ));
        }
        if !r.ambiguous_with.is_empty() {
            lines.push(format!(
                "        owner ambiguous: may belong to {} instead (they ran meanwhile)\n",
                r.ambiguous_with.join(", ")
            ));
        }
    }
    lines
}

/// `3 file descriptors, 1 process`: what `resources` count, for a
/// `--- LEAK` line.
pub fn summary(resources: &[Resource]) -> String {
    let mut fds = 0;
    let mut processes = 0;
    let mut heap = 0u64;
    for r in resources {
        match r.kind {
            ResourceKind::Process => processes += r.count,
            ResourceKind::Heap => heap += r.bytes.unwrap_or(0),
            _ => fds += r.count,
        }
    }
    let mut parts = Vec::new();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if fds > 0 {
        parts.push(plural(fds, "descriptor"));
    }
    if processes > 0 {
        parts.push(plural(processes, "process"));
    }
    if heap > 0 {
        parts.push(format!("{} of heap", human_bytes(heap)));
    }
    parts.join(", ").replace("processs", "processes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_parse_comma_separated_and_repeated() {
        let mut c = Checks::default();
        c.enable(&["fds,heap".into()]).unwrap();
        assert!(c.fds && c.heap && !c.processes);
        c.enable(&["processes".into()]).unwrap();
        assert!(c.processes);
        let mut all = Checks::default();
        all.enable(&["all".into()]).unwrap();
        assert_eq!(all.names(), ["goroutines", "fds", "processes", "heap"]);
        let err = Checks::default().enable(&["fds,files".into()]).unwrap_err();
        assert!(err.contains("\"files\""), "{err}");
        let mut none = Checks::default();
        none.enable(&["goroutines".into()]).unwrap();
        assert!(!none.any());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2000"), Ok(2000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1 parsec").is_err());
    }

    #[test]
    fn summaries_and_sizes_read_well() {
        assert_eq!(human_bytes(10 << 20), "10.0 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(12), "12 B");
        let r = |kind, count, bytes| Resource {
            kind,
            description: String::new(),
            count,
            bytes,
            site: None,
            ambiguous_with: vec![],
            known: false,
        };
        let s = summary(&[
            r(ResourceKind::File, 2, None),
            r(ResourceKind::Socket, 1, None),
            r(ResourceKind::Process, 1, None),
            r(ResourceKind::Heap, 1, Some(3 << 20)),
        ]);
        assert_eq!(s, "3 descriptors, 1 process, 3.0 MiB of heap");
        assert_eq!(summary(&[r(ResourceKind::Process, 2, None)]), "2 processes");
    }
}
