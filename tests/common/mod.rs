//! Helpers shared by the integration tests: running the leakcheck binary
//! with the Go toolchain under test, and reading the fixture markers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use leakcheck::output::report::Report;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("go-fixtures")
}

/// PATH with the Go toolchain under test first: `LEAKCHECK_TEST_GO` names
/// a `go` binary (CI sets it for the Go 1.21 leg); otherwise the machine's.
pub fn go_path() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    match std::env::var_os("LEAKCHECK_TEST_GO") {
        Some(go) => {
            let dir = Path::new(&go)
                .parent()
                .expect("LEAKCHECK_TEST_GO is a file")
                .to_path_buf();
            let mut dirs = vec![dir];
            dirs.extend(std::env::split_paths(&path));
            std::env::join_paths(dirs).expect("valid PATH")
        }
        None => path,
    }
}

/// `go version`'s word for the toolchain under test, e.g. `go1.21.13`.
pub fn go_version() -> String {
    let out = std::process::Command::new("go")
        .args(["env", "GOVERSION"])
        .env("PATH", go_path())
        .output()
        .expect("go runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Minor version of the toolchain under test.
pub fn go_minor() -> u32 {
    leakcheck::go::cmd::parse_go_release(&go_version())
        .expect("a Go version")
        .1
}

/// The leakcheck binary, with the Go under test on PATH.
pub fn leakcheck() -> Command {
    let mut c = Command::cargo_bin("leakcheck").expect("binary built");
    c.env("PATH", go_path());
    c.env_remove("GOFLAGS");
    // Kept builds go under the target directory, not the user's cache.
    c.env("LEAKCHECK_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"));
    c
}

/// Runs leakcheck with `args` in `dir`, writing a report; returns the
/// process output and the report.
pub fn run_with_report(dir: &Path, args: &[&str]) -> (Output, Report) {
    run_command_with_report(leakcheck().current_dir(dir), args)
}

/// [`run_with_report`] for a leakcheck command set up by the caller
/// (directory, environment).
pub fn run_command_with_report(cmd: &mut Command, args: &[&str]) -> (Output, Report) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = cmd
        .arg("--report")
        .arg(report.path())
        .args(args)
        .output()
        .expect("leakcheck runs");
    let text = std::fs::read_to_string(report.path()).unwrap();
    let parsed: Report = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report is not valid ({e}): {text}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, parsed)
}

/// One `// want-leak:` marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub package: String,
    pub tests: Vec<String>,
    pub file: PathBuf,
    pub line: u32,
    pub count: usize,
    /// Expected `created by` function when the standard library creates
    /// the goroutine.
    pub via: Option<String>,
    /// Other tests the leak is ambiguous with when dumps carry no labels.
    pub fallback_ambiguous: Vec<String>,
    /// The subtest whose goroutine started it (`subtest=`), when not the
    /// top-level test.
    pub subtest: Option<String>,
}

/// Reads every marker of the module at `module` (import path prefix
/// `module_path`).
pub fn markers(module: &Path, module_path: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut stack = vec![module.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // A nested module (go-fixtures/hard, go-fixtures/adopt) is
                // not part of this one.
                if !path.join("go.mod").is_file() {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("go") {
                continue;
            }
            let rel_dir = path.parent().unwrap().strip_prefix(module).unwrap();
            let package = if rel_dir.as_os_str().is_empty() {
                module_path.to_string()
            } else {
                format!("{module_path}/{}", rel_dir.display())
            };
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                let Some((_, spec)) = line.split_once("// want-leak: ") else {
                    continue;
                };
                let mut tests = Vec::new();
                let mut count = 1;
                let mut via = None;
                let mut fallback_ambiguous = Vec::new();
                let mut subtest = None;
                for word in spec.split_whitespace() {
                    if let Some(n) = word.strip_prefix('x').and_then(|n| n.parse().ok()) {
                        count = n;
                    } else if let Some(f) = word.strip_prefix("via=") {
                        via = Some(f.to_string());
                    } else if let Some(t) = word.strip_prefix("subtest=") {
                        subtest = Some(t.to_string());
                    } else if let Some(t) = word.strip_prefix("fallback-ambiguous=") {
                        fallback_ambiguous = t.split(',').map(str::to_string).collect();
                    } else {
                        tests.extend(
                            word.split(',')
                                .filter(|t| !t.is_empty())
                                .map(str::to_string),
                        );
                    }
                }
                out.push(Expected {
                    package: package.clone(),
                    tests,
                    file: path.clone(),
                    line: i as u32 + 1,
                    count,
                    via,
                    fallback_ambiguous,
                    subtest,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out
}

/// Every file under `dir` with its length and modification time.
pub fn tree_state(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// The report of test `name`, in whichever package; it must be there.
pub fn test_report<'r>(
    report: &'r Report,
    name: &str,
) -> &'r leakcheck::output::report::TestReport {
    report
        .packages
        .iter()
        .flat_map(|p| &p.tests)
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not in the report: {report:#?}"))
}

/// A temporary Go module `example.com/m` (go 1.21) holding `files`:
/// (path from the module root, text).
pub fn go_module(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", "module example.com/m\n\ngo 1.21\n");
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    dir
}

/// Writes `text` to `name` under `dir`, creating directories.
pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs leakcheck with `args` (and `-j 1`) in a temporary module whose
/// package `a` passes at once and whose package `b` sleeps for a minute,
/// and sends it Ctrl-C (SIGINT) once `a` is done. Returns the exit code,
/// and the module's directory (the run's working directory).
pub fn interrupted_run(args: &[&str]) -> (Option<i32>, tempfile::TempDir) {
    interrupted_run_by(args, libc::SIGINT)
}

/// [`interrupted_run`] with signal `sig` (SIGTERM: what `timeout`, `docker
/// stop` and CI cancellation send).
pub fn interrupted_run_by(args: &[&str], sig: libc::c_int) -> (Option<i32>, tempfile::TempDir) {
    use std::io::{BufRead, BufReader};
    let dir = go_module(&[
        ("a/a_test.go", "package a\n\nimport \"testing\"\n\nfunc TestQuick(t *testing.T) {}\n"),
        ("b/b_test.go", "package b\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestSlow(t *testing.T) { time.Sleep(time.Minute) }\n"),
    ]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakcheck"))
        .current_dir(dir.path())
        .env("PATH", go_path())
        .env_remove("GITHUB_ACTIONS")
        .arg("-j")
        .arg("1")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Package a has finished; b is sleeping (or building).
    for line in lines.by_ref() {
        if line.unwrap().starts_with("ok  \texample.com/m/a") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill(2) on our own child, not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let _rest: Vec<String> = lines.map_while(Result::ok).collect();
    (child.wait().unwrap().code(), dir)
}
