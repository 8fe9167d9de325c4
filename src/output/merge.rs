//! `leakcheck merge-reports -o OUT.json IN1.json IN2.json...`: this module
//! owns combining the `--report` files of shards (`--partition`) into the
//! report of the whole run, and the checks that make that safe: every
//! input must be a leakcheck report, all from the same Go version, and no
//! package may appear in two inputs. The merged packages are sorted by
//! import path and the summary is recomputed; fixed baseline entries are
//! the union of the shards', stale ignore rules those no shard used.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::output::report::Report;

/// Merges reports; `names` label them in errors.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, Error> {
    let Some((first_name, first)) = reports.first() else {
        return Err(Error::Usage("merge-reports: no input reports".into()));
    };
    let go_version = first.go_version.clone();
    let first_name = first_name.clone();
    let mut packages: Vec<(String, crate::output::report::PackageReport)> = Vec::new();
    let mut fixed = Vec::new();
    let mut stale = Vec::new();
    for (name, report) in reports {
        fixed.extend(report.baseline_fixed);
        stale.extend(report.stale_rules);
        if report.go_version != go_version {
            return Err(Error::Usage(format!(
                "merge-reports: {name} was made with {} but {first_name} with {go_version}: \
                 shards must use the same Go version",
                report.go_version
            )));
        }
        for p in report.packages {
            if let Some((other, _)) = packages
                .iter()
                .find(|(_, q)| q.import_path == p.import_path)
            {
                return Err(Error::Usage(format!(
                    "merge-reports: package {} is in both {other} and {name}: \
                     the inputs overlap (shards of different partitions, or one file twice?)",
                    p.import_path
                )));
            }
            packages.push((name.clone(), p));
        }
    }
    let mut packages: Vec<_> = packages.into_iter().map(|(_, p)| p).collect();
    packages.sort_by(|a, b| a.import_path.cmp(&b.import_path));
    let mut merged = Report::new(go_version, packages);
    // Each test ran in one shard, so a fixed baseline entry is in that
    // shard's list alone.
    fixed.sort();
    fixed.dedup();
    merged.baseline_fixed = fixed;
    // A rule is stale when no test of any shard used it.
    merged.stale_rules = merged.unused_rules(stale);
    Ok(merged)
}

/// Reads one `--report` file.
pub fn read_report(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("merge-reports: reading {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "merge-reports: {} is not a leakcheck report: {e}",
            path.display()
        ))
    })
}

/// Reads `inputs`, merges them, writes `out` (and a JUnit report of the
/// merged run to `junit`, paths relative to `base`); returns the merged
/// report.
pub fn merge_files(
    out: &Path,
    inputs: &[PathBuf],
    junit: Option<&Path>,
    base: &Path,
) -> Result<Report, Error> {
    let mut reports = Vec::new();
    for path in inputs {
        reports.push((path.display().to_string(), read_report(path)?));
    }
    let merged = merge(reports)?;
    let text = serde_json::to_string_pretty(&merged)
        .map_err(|e| Error::io("serializing the merged report", std::io::Error::other(e)))?;
    crate::output::outfile::write_atomic("report", out, (text + "\n").as_bytes())?;
    if let Some(path) = junit {
        crate::output::junit::write_junit(path, &merged, base, &Default::default())?;
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::report::{PackageOutcome, PackageReport, TestOutcome, TestReport};

    fn package(path: &str, outcome: TestOutcome) -> PackageReport {
        PackageReport {
            import_path: path.into(),
            outcome: PackageOutcome::Pass,
            error: None,
            elapsed_ms: 3.0,
            tests: vec![TestReport {
                elapsed_ms: 1.0,
                ..TestReport::new("TestX", outcome, vec![])
            }],
        }
    }

    fn report(go: &str, packages: Vec<PackageReport>) -> Report {
        Report::new(go.into(), packages)
    }

    #[test]
    fn merges_sorts_and_recounts() {
        let a = report(
            "go1.26.1",
            vec![
                package("m/z", TestOutcome::Pass),
                package("m/b", TestOutcome::Skip),
            ],
        );
        let b = report("go1.26.1", vec![package("m/a", TestOutcome::Leak)]);
        let empty = report("go1.26.1", vec![]);
        let merged = merge(vec![
            ("a.json".into(), a),
            ("b.json".into(), b),
            ("c.json".into(), empty),
        ])
        .unwrap();
        let paths: Vec<&str> = merged
            .packages
            .iter()
            .map(|p| p.import_path.as_str())
            .collect();
        assert_eq!(paths, ["m/a", "m/b", "m/z"]);
        assert_eq!(merged.summary.tests, 3);
        assert_eq!(
            (
                merged.summary.passed,
                merged.summary.skipped,
                merged.summary.leaked
            ),
            (1, 1, 1)
        );
        assert_eq!(merged.exit_code(), 1);
    }

    #[test]
    fn stale_rules_are_those_no_shard_used_and_fixed_entries_add_up() {
        use crate::detect::baseline::BaselineEntry;
        use crate::output::report::IgnoredCount;
        let entry = |pkg: &str| BaselineEntry {
            package: pkg.into(),
            test: "TestX".into(),
            created_by: "m.F".into(),
            file: "f.go".into(),
            blocked_in: "m.F.func1".into(),
        };
        let mut a = report("go1.26.1", vec![package("m/a", TestOutcome::Pass)]);
        a.stale_rules = vec!["rule F".into(), "rule G".into()];
        a.baseline_fixed = vec![entry("m/z")];
        let mut used = package("m/b", TestOutcome::Pass);
        used.tests[0].ignored = vec![IgnoredCount {
            rule: "rule G".into(),
            count: 2,
        }];
        let mut b = report("go1.26.1", vec![used]);
        b.stale_rules = vec!["rule F".into()];
        b.baseline_fixed = vec![entry("m/b")];
        let merged = merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(merged.stale_rules, ["rule F"]);
        assert_eq!(merged.baseline_fixed, [entry("m/b"), entry("m/z")]);
    }

    #[test]
    fn refuses_overlap_and_mixed_go_versions() {
        let a = || report("go1.26.1", vec![package("m/a", TestOutcome::Pass)]);
        let err = merge(vec![("one.json".into(), a()), ("two.json".into(), a())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("package m/a is in both one.json and two.json"),
            "{err}"
        );
        let b = report("go1.25.0", vec![package("m/b", TestOutcome::Pass)]);
        let err = merge(vec![("one.json".into(), a()), ("old.json".into(), b)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("old.json was made with go1.25.0 but one.json with go1.26.1"),
            "{err}"
        );
        assert!(merge(vec![]).is_err());
    }

    #[test]
    fn unreadable_and_invalid_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = read_report(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.json"), "{err}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"go_version\": 1}").unwrap();
        let err = read_report(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.json is not a leakcheck report"), "{err}");
    }
}
