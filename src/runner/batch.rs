//! Building many packages' test binaries in one `go test -c -o DIR/`
//! call: one `go` process loads the package graph once, instead of one
//! process per package. Binaries are named after the package path's last
//! element, so packages are grouped into batches with distinct names.
//!
//! A package that does not compile does not stop the others: its section
//! of the output (`# import/path [import/path.test]`, or
//! `# import/path.test` for a link error) is its build error. Anything
//! this module cannot account for (no binary and no error section, or a
//! failed `go` whose output names no section for the package: a binary
//! left from an earlier run in a kept directory is not trusted then) is
//! left for a per-package build, so a surprise costs time, never a
//! result.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::go::cmd::{command_line, run_captured, test_build_args, GoEnv, GoPackage};

/// What a batch says about one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Built {
    Binary(PathBuf),
    /// The compiler's output for this package.
    Failed(String),
}

/// The name `go test -c -o DIR/` gives a package's test binary, without
/// `.test`: the import path's last element, or the one before a major
/// version suffix (`example.com/m/v2` → `m`).
pub(super) fn binary_name(import_path: &str) -> &str {
    let mut elems = import_path.rsplit('/');
    let last = elems.next().unwrap_or(import_path);
    let is_version =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match (is_version, elems.next()) {
        (true, Some(prev)) => prev,
        _ => last,
    }
}

/// Groups package indices into batches whose binary names are distinct.
pub(super) fn batches(import_paths: &[(usize, &str)]) -> Vec<Vec<usize>> {
    let mut out: Vec<(Vec<usize>, Vec<&str>)> = Vec::new();
    for &(i, path) in import_paths {
        let name = binary_name(path);
        match out.iter_mut().find(|(_, names)| !names.contains(&name)) {
            Some((idx, names)) => {
                idx.push(i);
                names.push(name);
            }
            None => out.push((vec![i], vec![name])),
        }
    }
    out.into_iter().map(|(idx, _)| idx).collect()
}

/// The `# PATH [PATH.test]` sections of a build's output, by the import
/// path under test.
pub(super) fn error_sections(output: &str) -> HashMap<String, String> {
    let mut sections: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if let Some(header) = line.strip_prefix("# ").filter(|h| !h.starts_with('[')) {
            // `# example.com/m/p_test [example.com/m/p.test]`: the package
            // under test is in the brackets; `# example.com/m/p.test`: the
            // link of p's test binary; `# example.com/m/p` then
            // `# [example.com/m/p]`: what vet found in p.
            let path = match (header.find(" ["), header.strip_suffix(".test]")) {
                (Some(at), Some(inner)) => &inner[at + 2..],
                _ => header.strip_suffix(".test").unwrap_or(header),
            };
            current = Some(path.to_string());
        }
        if let Some(path) = &current {
            let s = sections.entry(path.clone()).or_default();
            s.push_str(line);
            s.push('\n');
        }
    }
    sections
}

/// Builds the test binaries of `packages` (index, package) into `dir`,
/// one `go test -c` per batch; returns what could be accounted for.
pub(super) fn build_all(
    env: &GoEnv,
    run_dir: &Path,
    overlay: &Path,
    build_flags: &[String],
    packages: &[(usize, &GoPackage)],
    dir: &Path,
) -> HashMap<usize, Built> {
    let mut result = HashMap::new();
    let paths: Vec<(usize, &str)> = packages
        .iter()
        .map(|(i, p)| (*i, p.import_path.as_str()))
        .collect();
    let by_index: HashMap<usize, &GoPackage> = packages.iter().copied().collect();
    for (n, batch) in batches(&paths).into_iter().enumerate() {
        let out_dir = dir.join(format!("batch{n}"));
        if std::fs::create_dir_all(&out_dir).is_err() {
            continue;
        }
        let mut out = out_dir.clone().into_os_string();
        out.push("/");
        let packages = batch
            .iter()
            .map(|i| OsString::from(&by_index[i].import_path));
        let args = test_build_args(out, overlay, build_flags, packages);
        let line = command_line("go", &args);
        let mut expr = duct::cmd("go", &args).dir(run_dir);
        for (k, v) in super::build_env(env) {
            expr = expr.env(k, v);
        }
        let expr = crate::signals::with_build_tmpdir(expr);
        let Ok(out) = run_captured(expr, &line) else {
            continue; // every package of the batch falls back
        };
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let sections = error_sections(&text);
        for i in batch {
            let p = by_index[&i];
            let binary = out_dir.join(format!("{}.test", binary_name(&p.import_path)));
            if let Some(section) = sections.get(&p.import_path) {
                result.insert(i, Built::Failed(section.clone()));
            } else if out.status.success() && binary.is_file() {
                result.insert(i, Built::Binary(binary));
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_names_follow_go_test() {
        assert_eq!(binary_name("example.com/m/util"), "util");
        assert_eq!(binary_name("example.com/m/v2"), "m");
        assert_eq!(binary_name("example.com/m/vx"), "vx");
        assert_eq!(binary_name("fmt"), "fmt");
    }

    #[test]
    fn batches_keep_binary_names_distinct() {
        let b = batches(&[
            (0, "m/a/util"),
            (1, "m/b"),
            (2, "m/c/util"),
            (3, "m/d/util"),
            (4, "m/e"),
        ]);
        assert_eq!(b, vec![vec![0, 1, 4], vec![2], vec![3]]);
    }

    #[test]
    fn error_sections_by_package_under_test() {
        let out = "# example.com/m/b [example.com/m/b.test]\nb/b_test.go:3:39: cannot use \"s\"\n# example.com/m/c_test [example.com/m/c.test]\nc/x_test.go:1: bad\n";
        let s = error_sections(out);
        assert_eq!(
            s["example.com/m/b"],
            "# example.com/m/b [example.com/m/b.test]\nb/b_test.go:3:39: cannot use \"s\"\n"
        );
        assert!(s["example.com/m/c"].contains("c/x_test.go:1: bad"));
        assert_eq!(s.len(), 2);
        let link = "# example.com/m/d.test\nmain.f: relocation target g not defined\n";
        assert!(error_sections(link)["example.com/m/d"].contains("relocation target"));
        let vet = "# example.com/m/e\n# [example.com/m/e]\ne/e_test.go:9:14: fmt.Printf format %d has arg \"x\" of wrong type string\n";
        assert_eq!(error_sections(vet)["example.com/m/e"], vet);
    }
}
