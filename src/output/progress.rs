//! The progress display on a terminal: this module owns what it counts
//! (packages built and finished of the total, tests run, leaking tests,
//! elapsed time) and drawing it with indicatif on stderr. The CLI shows it
//! only when stdout and stderr are terminals and not with `--json`; output
//! printed while it is up goes through [`Progress::suspend`], and it is
//! cleared before the final summary.

use std::collections::HashSet;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::report::TestOutcome;
use crate::runner::RunEvent;

/// What the display counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub packages: usize,
    /// Packages whose test binary is built (or that needed none).
    pub built: usize,
    pub finished: usize,
    pub tests: usize,
    pub leaked: usize,
    pub failed: usize,
}

impl Counts {
    /// The display's message.
    pub fn message(&self) -> String {
        let mut msg = format!(
            "{}/{} packages built, {} done; {} tests run, {} leaked",
            self.built, self.packages, self.finished, self.tests, self.leaked
        );
        if self.failed > 0 {
            msg.push_str(&format!(", {} failed", self.failed));
        }
        msg
    }
}

/// Follows the run's events and keeps the counts.
#[derive(Debug, Default)]
pub struct Tracker {
    pub counts: Counts,
    built: HashSet<String>,
}

impl Tracker {
    pub fn observe(&mut self, event: &RunEvent<'_>) {
        match event {
            RunEvent::Started { packages, .. } => self.counts.packages = *packages,
            RunEvent::PackageBuilt { import_path } => {
                self.built.insert(import_path.to_string());
            }
            RunEvent::PackageFinished { report, .. } => {
                self.built.insert(report.import_path.clone());
                self.counts.finished += 1;
                for t in &report.tests {
                    self.counts.tests += t.runs.max(1) as usize;
                    match t.outcome {
                        TestOutcome::Leak => self.counts.leaked += 1,
                        TestOutcome::Fail if !t.leaks.is_empty() => {
                            self.counts.leaked += 1;
                            self.counts.failed += 1;
                        }
                        TestOutcome::Fail | TestOutcome::Hang | TestOutcome::Crash => {
                            self.counts.failed += 1
                        }
                        TestOutcome::Pass | TestOutcome::Skip => {}
                    }
                }
            }
            RunEvent::PackageEvents { .. } | RunEvent::Finished { .. } => {}
        }
        self.counts.built = self.built.len();
    }
}

/// The display (hidden when off).
pub struct Progress {
    bar: ProgressBar,
    tracker: Tracker,
}

impl Progress {
    pub fn new(on: bool) -> Progress {
        let bar = if on {
            // Length 1 until the package count is known: an empty bar.
            let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr())
                .with_message("listing packages");
            let style =
                ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:12}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            tracker: Tracker::default(),
        }
    }

    /// Counts `event`; the final event clears the display.
    pub fn observe(&mut self, event: &RunEvent<'_>) {
        self.tracker.observe(event);
        let c = &self.tracker.counts;
        self.bar.set_length(c.packages as u64);
        self.bar.set_position(c.finished as u64);
        self.bar.set_message(c.message());
        if matches!(event, RunEvent::Finished { .. }) {
            self.clear();
        }
    }

    /// Runs `f` (which prints) with the display out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Shows `status()` as the display's message every quarter of a
    /// second, whenever it has one, until the returned guard is dropped.
    pub fn follow(&self, status: fn() -> Option<String>) -> Follow {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (bar, flag) = (self.bar.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && !bar.is_finished() {
                if let Some(s) = status() {
                    bar.set_message(s);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        Follow(stop)
    }

    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// Stops [`Progress::follow`] when dropped.
pub struct Follow(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Follow {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::Leak;
    use crate::output::report::{PackageOutcome, PackageReport, TestReport};

    fn test(outcome: TestOutcome, leaks: usize, runs: u32) -> TestReport {
        TestReport {
            runs,
            ..TestReport::new("T", outcome, vec![Leak::example(); leaks])
        }
    }

    #[test]
    fn counts_packages_tests_and_leaks() {
        let mut t = Tracker::default();
        let go = crate::go::cmd::GoEnv {
            version: "go1.26.0".into(),
            release: (1, 26),
            goroot: String::new(),
            gotooldir: String::new(),
            gomod: "/m/go.mod".into(),
            gomodcache: String::new(),
            vars: Vec::new(),
        };
        t.observe(&RunEvent::Started {
            go: &go,
            packages: 3,
            notes: &[],
        });
        t.observe(&RunEvent::PackageBuilt {
            import_path: "example.com/b",
        });
        t.observe(&RunEvent::PackageBuilt {
            import_path: "example.com/a",
        });
        assert_eq!(
            t.counts.message(),
            "2/3 packages built, 0 done; 0 tests run, 0 leaked"
        );
        let report = PackageReport {
            import_path: "example.com/a".into(),
            outcome: PackageOutcome::Fail,
            error: None,
            elapsed_ms: 1.0,
            tests: vec![
                test(TestOutcome::Pass, 0, 1),
                test(TestOutcome::Leak, 1, 3),
                test(TestOutcome::Fail, 1, 1),
                test(TestOutcome::Hang, 1, 1),
            ],
        };
        t.observe(&RunEvent::PackageFinished {
            report: &report,
            events: &[],
        });
        assert_eq!(
            t.counts,
            Counts {
                packages: 3,
                built: 2,
                finished: 1,
                tests: 6,
                leaked: 2,
                failed: 2,
            }
        );
        assert_eq!(
            t.counts.message(),
            "2/3 packages built, 1 done; 6 tests run, 2 leaked, 2 failed"
        );
    }
}
