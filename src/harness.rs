//! What leakcheck adds to a package's test build: the helper from
//! `harness/*.go` as extra `_test.go` files (`zz_leakcheck_*_test.go`), and, when the package
//! has its own `TestMain`, a copy of the file declaring it with the
//! function renamed (on the same line, so file:line positions stay true).
//! Both go in through `go test -overlay`; the user's tree is never written.
//!
//! This module owns that plan and the overlay file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::error::Error;
use crate::gocmd::GoPackage;

/// The helper's source, embedded in the leakcheck binary.
pub const HARNESS_FILES: &[(&str, &str)] = &[
    ("main", include_str!("../harness/main.go")),
    ("run", include_str!("../harness/run.go")),
    ("dump", include_str!("../harness/dump.go")),
    ("probe", include_str!("../harness/probe.go")),
    ("crowded", include_str!("../harness/crowded.go")),
];

/// All of the helper's source, for cache keys.
pub const HARNESS_GO: &str = concat!(
    include_str!("../harness/main.go"),
    include_str!("../harness/run.go"),
    include_str!("../harness/dump.go"),
    include_str!("../harness/probe.go"),
    include_str!("../harness/crowded.go"),
);

/// The name of the file added to each package.
pub const INJECTED_FILE: &str = "zz_leakcheck_main_test.go";

/// The name a helper file `name` is injected as.
pub fn injected_file_name(name: &str) -> String {
    format!("zz_leakcheck_{name}_test.go")
}

/// Whether `file_name` is one of the helper's injected files.
pub fn is_injected_file(file_name: &str) -> bool {
    HARNESS_FILES
        .iter()
        .any(|(name, _)| injected_file_name(name) == file_name)
}

/// What the user's TestMain is renamed to.
pub const USER_TEST_MAIN: &str = "leakcheckUserTestMain";

static TEST_MAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^func\s+(TestMain)\s*\(").expect("valid regex"));
static PACKAGE_CLAUSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^package\s+([A-Za-z_][A-Za-z0-9_]*)").expect("valid regex"));

static HARNESS_CLAUSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^package harness$").expect("valid regex"));

/// The overlay of one run: disk path → replacement path.
#[derive(Debug, Default)]
pub struct Overlay {
    pub replace: BTreeMap<PathBuf, PathBuf>,
}

impl Overlay {
    /// Starts from the user's own `-overlay` file, if any.
    pub fn from_user(path: Option<&Path>) -> Result<Overlay, Error> {
        let mut overlay = Overlay::default();
        if let Some(p) = path {
            let text = fs::read_to_string(p)
                .map_err(|e| Error::io(format!("reading -overlay file {}", p.display()), e))?;
            #[derive(serde::Deserialize)]
            struct File {
                #[serde(rename = "Replace", default)]
                replace: BTreeMap<PathBuf, PathBuf>,
            }
            let f: File = serde_json::from_str(&text).map_err(|e| {
                Error::Usage(format!("-overlay file {} is not valid: {e}", p.display()))
            })?;
            overlay.replace = f.replace;
        }
        Ok(overlay)
    }

    /// Reads a source file as the build will see it.
    fn read(&self, path: &Path) -> std::io::Result<String> {
        fs::read_to_string(self.replace.get(path).map_or(path, |p| p.as_path()))
    }

    /// Adds the helper to `pkg`. Generated files go into `files`, named
    /// after their content, so packages that get the same text share one
    /// file, and a kept `files` directory is written only once.
    pub fn inject(&mut self, pkg: &GoPackage, files: &Path) -> Result<(), Error> {
        let plan = plan(pkg, |p| self.read(p))?;
        fs::create_dir_all(files)
            .map_err(|e| Error::io(format!("creating {}", files.display()), e))?;
        if let Some((original, renamed)) = &plan.renamed_test_main {
            let copy = write_content_addressed(files, "user_testmain_test.go", renamed)?;
            self.replace.insert(original.clone(), copy);
        }
        for (name, text) in &plan.injected {
            let written = write_content_addressed(files, name, text)?;
            self.replace.insert(pkg.dir.join(name), written);
        }
        Ok(())
    }

    /// Writes the overlay JSON for `go test -overlay`.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::json!({ "Replace": self.replace });
        fs::write(path, json.to_string())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }
}

/// Writes `text` to `dir/HASH-name` unless that file is there already
/// (written to a temporary name and renamed, so a reader never sees part
/// of one); returns its path.
fn write_content_addressed(dir: &Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    let hex = &crate::cache::sha256_hex(text.as_bytes())[..16];
    let path = dir.join(format!("{hex}-{name}"));
    if path.is_file() {
        return Ok(path);
    }
    let tmp = dir.join(format!(".{hex}-{name}.{}", std::process::id()));
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(format!("writing {}", path.display()), e)
        })?;
    Ok(path)
}

/// What to add to one package.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// The helper file's text.
    /// The helper's files: (file name, text).
    pub injected: Vec<(String, String)>,
    /// The file declaring the user's TestMain, and its renamed text.
    pub renamed_test_main: Option<(PathBuf, String)>,
}

/// Plans the injection for `pkg`, reading its test files through `read`.
pub fn plan(
    pkg: &GoPackage,
    read: impl Fn(&Path) -> std::io::Result<String>,
) -> Result<Plan, Error> {
    if let Some((name, _)) = HARNESS_FILES
        .iter()
        .find(|(name, _)| pkg.dir.join(injected_file_name(name)).exists())
    {
        let file = pkg.dir.join(injected_file_name(name));
        return Err(Error::Usage(format!(
            "{} already exists; leakcheck needs that name for its helper",
            file.display()
        )));
    }
    let mut renamed = None;
    let mut clause = None;
    let files = pkg
        .test_go_files
        .iter()
        .map(|f| (f, false))
        .chain(pkg.x_test_go_files.iter().map(|f| (f, true)));
    let mut xtest_name = None;
    for (file, external) in files {
        let path = pkg.dir.join(file);
        let text = read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let name = PACKAGE_CLAUSE
            .captures(&text)
            .map(|c| c[1].to_string())
            .unwrap_or_else(|| pkg.name.clone());
        if external && xtest_name.is_none() {
            xtest_name = Some(name.clone());
        }
        if let Some(m) = TEST_MAIN.captures(&text).and_then(|c| c.get(1)) {
            let mut new = String::with_capacity(text.len() + USER_TEST_MAIN.len());
            new.push_str(&text[..m.start()]);
            new.push_str(USER_TEST_MAIN);
            new.push_str(&text[m.end()..]);
            renamed = Some((path, new));
            clause = Some(name);
        }
    }
    let clause = clause.unwrap_or_else(|| {
        if !pkg.test_go_files.is_empty() || !pkg.go_files.is_empty() {
            pkg.name.clone()
        } else {
            xtest_name.unwrap_or_else(|| format!("{}_test", pkg.name))
        }
    });
    let user = if renamed.is_some() {
        USER_TEST_MAIN
    } else {
        "nil"
    };
    let injected = HARNESS_FILES
        .iter()
        .map(|(name, text)| {
            let mut text = HARNESS_CLAUSE
                .replacen(text, 1, format!("package {clause}").as_str())
                .into_owned();
            if *name == "main" {
                text.push_str(&format!(
                    "\n// TestMain is added by leakcheck; see leakcheckMain.\nfunc TestMain(m *testing.M) {{ leakcheckMain(m, {user}) }}\n"
                ));
            }
            (injected_file_name(name), text)
        })
        .collect();
    Ok(Plan {
        injected,
        renamed_test_main: renamed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(tests: &[&str], xtests: &[&str]) -> GoPackage {
        GoPackage {
            import_path: "example.com/p".into(),
            name: "p".into(),
            dir: PathBuf::from("/nonexistent/p"),
            go_files: vec!["p.go".into()],
            test_go_files: tests.iter().map(|s| s.to_string()).collect(),
            x_test_go_files: xtests.iter().map(|s| s.to_string()).collect(),
            error: None,
        }
    }

    /// All of the injected text, for looking things up in it.
    fn all(p: &Plan) -> String {
        p.injected.iter().map(|(_, t)| t.as_str()).collect()
    }

    fn files(path: &Path) -> std::io::Result<String> {
        Ok(match path.file_name().unwrap().to_str().unwrap() {
            "a_test.go" => "package p\n\nfunc TestA(t *testing.T) {}\n".into(),
            "main_test.go" => {
                "package p\n\nimport \"testing\"\n\nfunc TestMain(m *testing.M) {\n\tm.Run()\n}\n"
                    .into()
            }
            "x_test.go" => "// doc\npackage p_test\n\nfunc TestX(t *testing.T) {}\n".into(),
            "xmain_test.go" => "package p_test\n\nfunc  TestMain (m *testing.M) {}\n".into(),
            other => panic!("unexpected read of {other}"),
        })
    }

    #[test]
    fn injects_into_the_internal_package_by_default() {
        let p = plan(&pkg(&["a_test.go"], &["x_test.go"]), files).unwrap();
        assert!(all(&p).contains("\npackage p\n"));
        assert!(all(&p).contains("leakcheckMain(m, nil)"));
        assert!(p.renamed_test_main.is_none());
    }

    #[test]
    fn renames_the_users_testmain_on_the_same_line() {
        let p = plan(&pkg(&["a_test.go", "main_test.go"], &[]), files).unwrap();
        let (path, text) = p.renamed_test_main.clone().unwrap();
        assert!(path.ends_with("main_test.go"));
        assert!(text.contains("func leakcheckUserTestMain(m *testing.M) {"));
        assert_eq!(text.lines().count(), files(&path).unwrap().lines().count());
        assert!(all(&p).contains("leakcheckMain(m, leakcheckUserTestMain)"));
        let names: Vec<&str> = p.injected.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "zz_leakcheck_main_test.go",
                "zz_leakcheck_run_test.go",
                "zz_leakcheck_dump_test.go",
                "zz_leakcheck_probe_test.go",
                "zz_leakcheck_crowded_test.go"
            ]
        );
        assert!(p.injected.iter().all(|(_, t)| t.contains("\npackage p\n")));
    }

    #[test]
    fn follows_a_testmain_in_the_external_package() {
        let p = plan(&pkg(&["a_test.go"], &["x_test.go", "xmain_test.go"]), files).unwrap();
        assert!(all(&p).contains("\npackage p_test\n"));
        assert!(p
            .renamed_test_main
            .unwrap()
            .1
            .contains("func  leakcheckUserTestMain (m"));
    }

    #[test]
    fn external_only_package_without_go_files() {
        let mut p = pkg(&[], &["x_test.go"]);
        p.go_files.clear();
        let plan = plan(&p, files).unwrap();
        assert!(all(&plan).contains("\npackage p_test\n"));
    }
}
