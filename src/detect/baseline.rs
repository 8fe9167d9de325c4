//! The leak baseline, for adopting leakcheck in a codebase that already
//! leaks: `--write-baseline FILE` records every leak of a run;
//! `--baseline FILE` then reports those leaks as known (shown, not
//! failing), fails only on new ones, and lists entries not seen any more as
//! fixed, so the file can shrink.
//!
//! An entry is (package, test, creation function, creation file relative
//! to the module root, blocking function): no line numbers or goroutine
//! IDs, so edits elsewhere in a file do not invalidate it. The file is
//! sorted, deduplicated, pretty-printed JSON, one entry per leak group:
//! stable and diff-friendly. This module owns that format and matching.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::detect::compare::Leak;
use crate::error::Error;
use crate::output::report::Report;

/// One known leak.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub package: String,
    pub test: String,
    /// The `created by` function (empty when the dump had none).
    pub created_by: String,
    /// The creating `go` statement's file, relative to the module root.
    pub file: String,
    /// The function the goroutine is blocked in.
    pub blocked_in: String,
}

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub leaks: BTreeSet<BaselineEntry>,
}

impl BaselineEntry {
    /// The entry for `leak` of `test` in `package`; paths under
    /// `module_root` are made relative to it.
    pub fn of(package: &str, test: &str, leak: &Leak, module_root: &Path) -> BaselineEntry {
        let (created_by, file) = match &leak.created_by {
            Some(c) => (c.function.clone(), c.file.clone()),
            None => (String::new(), leak.file.clone()),
        };
        let file = Path::new(&file)
            .strip_prefix(module_root)
            .map(|p| p.display().to_string())
            .unwrap_or(file);
        BaselineEntry {
            package: package.to_string(),
            test: test.to_string(),
            created_by,
            file,
            blocked_in: leak.function.clone(),
        }
    }
}

impl Baseline {
    /// Every leak of `report` (hangs and crashes are not leaks).
    pub fn from_report(report: &Report, module_root: &Path) -> Baseline {
        let mut leaks = BTreeSet::new();
        for p in &report.packages {
            for t in &p.tests {
                if matches!(
                    t.outcome,
                    crate::output::report::TestOutcome::Hang
                        | crate::output::report::TestOutcome::Crash
                ) {
                    continue;
                }
                for l in &t.leaks {
                    leaks.insert(BaselineEntry::of(&p.import_path, &t.name, l, module_root));
                }
            }
        }
        Baseline { leaks }
    }

    pub fn contains(&self, entry: &BaselineEntry) -> bool {
        self.leaks.contains(entry)
    }

    /// Entries for packages that ran in `report` whose leak was not seen:
    /// fixed, and can be removed from the file.
    pub fn fixed(&self, report: &Report, module_root: &Path) -> Vec<BaselineEntry> {
        let seen = Baseline::from_report(report, module_root);
        let ran: BTreeSet<(&str, &str)> = report
            .packages
            .iter()
            .flat_map(|p| {
                p.tests
                    .iter()
                    .map(move |t| (p.import_path.as_str(), t.name.as_str()))
            })
            .collect();
        self.leaks
            .iter()
            .filter(|e| ran.contains(&(e.package.as_str(), e.test.as_str())) && !seen.contains(e))
            .cloned()
            .collect()
    }

    pub fn read(path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading baseline {}", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("baseline {} is not valid: {e}", path.display())))
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).expect("baseline serializes") + "\n";
        crate::output::outfile::write_atomic("baseline", path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::Location;
    use crate::output::report::{PackageOutcome, PackageReport, TestOutcome, TestReport};

    fn leak(line: u32) -> Leak {
        Leak {
            function: "example.com/m/p.F.func1".into(),
            line,
            created_by: Some(Location {
                function: "example.com/m/p.F".into(),
                file: "/m/p/p.go".into(),
                line: line - 1,
            }),
            ..Leak::example()
        }
    }

    fn report(tests: Vec<(&str, Vec<Leak>)>) -> Report {
        Report::new(
            "go1.26.8".into(),
            vec![PackageReport {
                import_path: "example.com/m/p".into(),
                outcome: PackageOutcome::Fail,
                error: None,
                elapsed_ms: 0.0,
                tests: tests
                    .into_iter()
                    .map(|(name, leaks)| {
                        let outcome = if leaks.is_empty() {
                            TestOutcome::Pass
                        } else {
                            TestOutcome::Leak
                        };
                        TestReport::new(name, outcome, leaks)
                    })
                    .collect(),
            }],
        )
    }

    #[test]
    fn entries_ignore_line_numbers_and_are_relative_to_the_module() {
        let root = Path::new("/m");
        let a = BaselineEntry::of("example.com/m/p", "TestA", &leak(10), root);
        let b = BaselineEntry::of("example.com/m/p", "TestA", &leak(42), root);
        assert_eq!(a, b);
        assert_eq!(a.file, "p/p.go");
    }

    #[test]
    fn fixed_entries_are_those_of_tests_that_ran_without_them() {
        let root = Path::new("/m");
        let base = Baseline::from_report(
            &report(vec![("TestA", vec![leak(10)]), ("TestB", vec![leak(20)])]),
            root,
        );
        assert_eq!(base.leaks.len(), 2);
        let now = report(vec![("TestA", vec![leak(11)]), ("TestB", vec![])]);
        let fixed = base.fixed(&now, root);
        assert_eq!(fixed.len(), 1);
        assert_eq!(fixed[0].test, "TestB");
        // A test that did not run is not fixed.
        let partial = report(vec![("TestA", vec![leak(11)])]);
        assert!(base.fixed(&partial, root).is_empty());
    }

    #[test]
    fn the_file_is_sorted_and_stable() {
        let root = Path::new("/m");
        let one = Baseline::from_report(
            &report(vec![("TestB", vec![leak(20)]), ("TestA", vec![leak(10)])]),
            root,
        );
        let two = Baseline::from_report(
            &report(vec![("TestA", vec![leak(10)]), ("TestB", vec![leak(20)])]),
            root,
        );
        let (a, b) = (
            serde_json::to_string_pretty(&one).unwrap(),
            serde_json::to_string_pretty(&two).unwrap(),
        );
        assert_eq!(a, b);
        assert!(a.find("TestA").unwrap() < a.find("TestB").unwrap());
        let back: Baseline = serde_json::from_str(&a).unwrap();
        assert_eq!(back, one);
    }
}
