//! The `go` subprocesses leakcheck runs, each described by a small builder
//! that returns a `duct::Expression`, and their failures turned into typed
//! errors that carry the full command line.
//!
//! This module owns talking to the Go toolchain: `go env`, `go list`,
//! `go test -c`, and the command line of a test binary.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;

/// The oldest Go leakcheck supports, as (major, minor).
pub const MIN_GO: (u32, u32) = (1, 21);

/// Renders a command line for messages, quoting where needed.
pub fn command_line(program: &str, args: &[OsString]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&shell_quote(&a.to_string_lossy()));
    }
    s
}

/// Quotes `arg` for a POSIX shell when it needs it.
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Runs `expr` capturing stdout and stderr, in a process group of its own
/// (see [`crate::signals`]); a spawn failure of `go` means Go is not
/// installed. A stopped run (a signal) kills it and its children at once:
/// its output is then what it printed until then, with a failed status.
pub(crate) fn run_captured(
    expr: duct::Expression,
    line: &str,
) -> Result<std::process::Output, Error> {
    let err = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NoGo
        } else {
            Error::Command {
                command: line.to_string(),
                message: e.to_string(),
            }
        }
    };
    let handle = expr
        .before_spawn(|cmd| {
            crate::signals::own_group(cmd);
            Ok(())
        })
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .start()
        .map_err(err)?;
    let pids = handle.pids();
    for &pid in &pids {
        crate::signals::started(pid);
    }
    let result = handle.into_output().map_err(err);
    for &pid in &pids {
        crate::signals::ended(pid);
    }
    result
}

/// What `go env` says about the toolchain and the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoEnv {
    /// `go1.26.8`.
    pub version: String,
    /// (major, minor), e.g. (1, 26).
    pub release: (u32, u32),
    pub goroot: String,
    pub gotooldir: String,
    /// The go.mod file of the main module.
    pub gomod: PathBuf,
    /// The module cache (empty without `$HOME` and `GOPATH`).
    pub gomodcache: String,
    /// Environment for every `go` command leakcheck runs after this one
    /// (see [`GoEnv::detect`]); empty but for a toolchain that the go
    /// command downloaded into the module cache.
    pub vars: Vec<(String, String)>,
}

impl GoEnv {
    /// `go env` in `dir`.
    pub fn detect(dir: &Path) -> Result<GoEnv, Error> {
        let args: Vec<OsString> = [
            "env",
            "-json",
            "GOVERSION",
            "GOROOT",
            "GOTOOLDIR",
            "GOMOD",
            "GOMODCACHE",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let line = command_line("go", &args);
        let out = run_captured(duct::cmd("go", &args).dir(dir), &line)?;
        if !out.status.success() {
            return Err(Error::Command {
                command: line,
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let vars: BTreeMap<String, String> =
            serde_json::from_slice(&out.stdout).map_err(|e| Error::Command {
                command: line.clone(),
                message: format!("unexpected output: {e}"),
            })?;
        let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
        let version = get("GOVERSION");
        let release = parse_go_release(&version)
            .ok_or_else(|| Error::UnsupportedGo(format!("Go version {version:?}")))?;
        if release < MIN_GO {
            return Err(Error::UnsupportedGo(version));
        }
        let gomod = get("GOMOD");
        if gomod.is_empty() || gomod == "/dev/null" || gomod == "NUL" {
            return Err(Error::NotInModule {
                dir: dir.to_path_buf(),
            });
        }
        let mut env = GoEnv {
            version,
            release,
            goroot: get("GOROOT"),
            gotooldir: get("GOTOOLDIR"),
            gomod: PathBuf::from(gomod),
            gomodcache: get("GOMODCACHE"),
            vars: Vec::new(),
        };
        env.outside_module_cache()?;
        Ok(env)
    }

    /// A toolchain the go command downloaded for the module (its go.mod
    /// asks for a newer Go, `GOTOOLCHAIN`) lives in the module cache,
    /// where the go command refuses to overlay any file: leakcheck then
    /// runs it through a symbolic link outside the cache
    /// (`leakcheck/goroot/VERSION` in the user's cache directory), as
    /// `GOROOT`, with `GOTOOLCHAIN=local` and its `bin` first on `PATH`.
    /// The same toolchain builds, under another path.
    fn outside_module_cache(&mut self) -> Result<(), Error> {
        if self.gomodcache.is_empty()
            || !Path::new(&self.goroot).starts_with(Path::new(&self.gomodcache))
        {
            return Ok(());
        }
        let dir = crate::cache::user_dir().join("goroot");
        let link = dir.join(&self.version);
        let points_here = std::fs::read_link(&link).is_ok_and(|t| t == Path::new(&self.goroot));
        if !points_here {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            // Made aside and renamed over, so concurrent runs agree.
            let tmp = dir.join(format!(".{}.{}", self.version, std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&self.goroot, &tmp)
                .and_then(|()| std::fs::rename(&tmp, &link))
                .map_err(|e| {
                    Error::io(format!("linking {} to {}", link.display(), self.goroot), e)
                })?;
        }
        let root = link.to_string_lossy().into_owned();
        let mut path = std::ffi::OsString::from(link.join("bin"));
        if let Some(p) = std::env::var_os("PATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(p);
        }
        self.vars = vec![
            ("GOROOT".to_string(), root.clone()),
            ("GOTOOLCHAIN".to_string(), "local".to_string()),
            ("PATH".to_string(), path.to_string_lossy().into_owned()),
        ];
        self.gotooldir = self.gotooldir.replacen(&self.goroot, &root, 1);
        self.goroot = root;
        Ok(())
    }

    /// `go ARGS` with [`GoEnv::vars`].
    pub fn command(&self, args: &[OsString]) -> duct::Expression {
        let mut e = duct::cmd("go", args);
        for (k, v) in &self.vars {
            e = e.env(k, v);
        }
        e
    }

    /// Whether `runtime.Stack` can print pprof labels
    /// (`GODEBUG=tracebacklabels=1`, Go 1.26+).
    pub fn has_traceback_labels(&self) -> bool {
        self.release >= (1, 26)
    }
}

/// Parses `go1.26.8`, `go1.21rc2`, `devel go1.27-abc...` into (1, minor).
pub fn parse_go_release(version: &str) -> Option<(u32, u32)> {
    let at = version.find("go1.")?;
    let rest = &version[at + 2..];
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// One package as `go list -json` describes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct GoPackage {
    pub import_path: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub dir: PathBuf,
    #[serde(default)]
    pub go_files: Vec<String>,
    #[serde(default)]
    pub test_go_files: Vec<String>,
    #[serde(default)]
    pub x_test_go_files: Vec<String>,
    #[serde(default)]
    pub error: Option<GoListError>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct GoListError {
    #[serde(default)]
    pub err: String,
}

impl GoPackage {
    pub fn has_tests(&self) -> bool {
        !self.test_go_files.is_empty() || !self.x_test_go_files.is_empty()
    }
}

/// `go list -e -json=... [build flags] PATTERNS`.
pub struct GoList<'a> {
    pub env: &'a GoEnv,
    pub dir: &'a Path,
    pub build_flags: &'a [String],
    pub patterns: &'a [String],
}

impl GoList<'_> {
    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "list".into(),
            "-e".into(),
            "-json=ImportPath,Name,Dir,GoFiles,TestGoFiles,XTestGoFiles,Error".into(),
        ];
        args.extend(
            self.build_flags
                .iter()
                .filter(|f| !f.starts_with("-vet"))
                .map(OsString::from),
        );
        args.extend(self.patterns.iter().map(OsString::from));
        args
    }

    pub fn expression(&self) -> duct::Expression {
        self.env.command(&self.args()).dir(self.dir)
    }

    /// The packages matched, in `go list` order.
    pub fn run(&self) -> Result<Vec<GoPackage>, Error> {
        let line = command_line("go", &self.args());
        let out = run_captured(self.expression(), &line)?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !out.status.success() {
            return Err(Error::Command {
                command: line,
                message: stderr,
            });
        }
        let mut packages = Vec::new();
        for p in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<GoPackage>() {
            packages.push(p.map_err(|e| Error::Command {
                command: line.clone(),
                message: format!("unexpected output: {e}"),
            })?);
        }
        // A package go cannot list (a directory that does not exist, a
        // name that is no import path) fails alone, as under `go test`;
        // a pattern that matches nothing stops it (Go 1.21 lists it so).
        if let Some(e) = packages
            .iter()
            .filter_map(|p| p.error.as_ref())
            .find(|e| e.err.starts_with("pattern "))
        {
            return Err(Error::NoPackages(
                e.err.lines().next().unwrap_or("").to_string(),
            ));
        }
        if packages.is_empty() {
            let why = stderr
                .lines()
                .find(|l| l.contains("matched no packages"))
                .map(|l| l.trim_start_matches("go: warning: ").to_string())
                .unwrap_or_else(|| format!("{} matched no packages", self.patterns.join(" ")));
            return Err(Error::NoPackages(why));
        }
        Ok(packages)
    }
}

/// `go test -c -o OUT -overlay OVERLAY [build flags] PACKAGE`.
pub struct GoTestBuild<'a> {
    pub dir: &'a Path,
    pub import_path: &'a str,
    pub output: &'a Path,
    pub overlay: &'a Path,
    pub build_flags: &'a [String],
    pub env: Vec<(String, String)>,
}

impl GoTestBuild<'_> {
    fn args(&self) -> Vec<OsString> {
        test_build_args(
            self.output.as_os_str().to_owned(),
            self.overlay,
            self.build_flags,
            [OsString::from(self.import_path)],
        )
    }

    pub fn command_line(&self) -> String {
        command_line("go", &self.args())
    }

    pub fn expression(&self) -> duct::Expression {
        let mut e = duct::cmd("go", self.args()).dir(self.dir);
        for (k, v) in &self.env {
            e = e.env(k, v);
        }
        crate::signals::with_build_tmpdir(e)
    }

    /// Builds; `Ok(Err(output))` when the package does not compile.
    pub fn run(&self) -> Result<Result<(), String>, Error> {
        let out = run_captured(self.expression(), &self.command_line())?;
        if out.status.success() {
            return Ok(Ok(()));
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(Err(text))
    }
}

/// `go test -c -o OUTPUT -overlay=OVERLAY [flags] PACKAGES...`: OUTPUT is
/// a file, or a directory ending in `/` for many packages. `go test -c`
/// runs `go vet` as `go test` does (its default checks, or the user's
/// `-vet`): a package vet fails does not build.
pub fn test_build_args(
    output: OsString,
    overlay: &Path,
    build_flags: &[String],
    packages: impl IntoIterator<Item = OsString>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["test".into(), "-c".into(), "-o".into(), output];
    let mut o = OsString::from("-overlay=");
    o.push(overlay);
    args.push(o);
    args.extend(linker_flags(build_flags).into_iter().map(OsString::from));
    args.extend(packages);
    args
}

/// The build flags for a test binary: the user's, and linking without
/// DWARF (`-s -w`, as `go test` links the binaries it runs), which makes
/// linking much faster; goroutine dumps keep their file:line, which come from the
/// binary's line tables, not from DWARF. A user `-ldflags` keeps its
/// flags (a per-package `-ldflags=PATTERN=FLAGS` is left as it is).
pub fn linker_flags(build_flags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = build_flags.to_vec();
    match out.iter_mut().rev().find(|f| f.starts_with("-ldflags=")) {
        Some(f) => {
            let value = &f["-ldflags=".len()..];
            let per_package = value
                .split_whitespace()
                .next()
                .is_some_and(|w| w.contains('='));
            if !per_package {
                *f = format!("-ldflags={} -s -w", value.trim()).replace("= -s", "=-s");
            }
        }
        None => out.push("-ldflags=-s -w".to_string()),
    }
    out
}

/// The analyzers `go test` runs by default (its `defaultVetFlags`, the
/// same in Go 1.21 to 1.23, the releases that vet apart; see
/// [`test_build_flags`]).
const GO_TEST_VET_CHECKS: &[&str] = &[
    "-atomic",
    "-bool",
    "-buildtags",
    "-directive",
    "-errorsas",
    "-ifaceassert",
    "-nilfunc",
    "-printf",
    "-slog",
    "-stringintconv",
];

/// What `-vet` in `build_flags` asks of `go test`, as `go vet` flags:
/// `None` for `-vet=off`, no flags for `-vet=all` (every analyzer), else
/// the named analyzers or `go test`'s default ones.
pub fn vet_checks(build_flags: &[String]) -> Option<Vec<String>> {
    let value = build_flags
        .iter()
        .rev()
        .find_map(|f| f.strip_prefix("-vet="));
    match value {
        Some("off") => None,
        Some("all") => Some(Vec::new()),
        Some(list) if !list.is_empty() => Some(
            list.split(',')
                .filter(|c| !c.is_empty())
                .map(|c| format!("-{c}"))
                .collect(),
        ),
        _ => Some(GO_TEST_VET_CHECKS.iter().map(|c| c.to_string()).collect()),
    }
}

/// Whether `go test -c` can vet the package under test while the
/// standard library's testing package comes from an overlay: from Go
/// 1.24. Before, vet reads the overlaid files from disk and fails, so
/// leakcheck builds with `-vet=off` and runs [`GoVet`] apart.
pub fn vets_in_build(release: (u32, u32)) -> bool {
    release >= (1, 24)
}

/// The build flags for `go test -c` on Go `release`: the user's, with
/// `-vet=off` where vet runs apart (see [`vets_in_build`]).
pub fn test_build_flags(release: (u32, u32), build_flags: &[String]) -> Vec<String> {
    if vets_in_build(release) {
        return build_flags.to_vec();
    }
    let mut flags: Vec<String> = build_flags
        .iter()
        .filter(|f| !f.starts_with("-vet="))
        .cloned()
        .collect();
    flags.push("-vet=off".to_string());
    flags
}

/// `go vet CHECKS [build flags] PACKAGES...` without leakcheck's overlay:
/// what `go test` would vet, for releases that cannot vet in the build.
pub struct GoVet<'a> {
    pub env: &'a GoEnv,
    pub dir: &'a Path,
    pub build_flags: &'a [String],
    pub checks: &'a [String],
    pub packages: Vec<&'a str>,
}

impl GoVet<'_> {
    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["vet".into()];
        args.extend(self.checks.iter().map(OsString::from));
        args.extend(
            self.build_flags
                .iter()
                .filter(|f| !f.starts_with("-vet"))
                .map(OsString::from),
        );
        args.extend(self.packages.iter().map(OsString::from));
        args
    }

    /// The packages vet found fault with, and its output for each (`#
    /// PATH` sections, as `go test` prints them).
    pub fn run(&self) -> Result<BTreeMap<String, String>, Error> {
        if self.packages.is_empty() {
            return Ok(BTreeMap::new());
        }
        let line = command_line("go", &self.args());
        let out = run_captured(self.env.command(&self.args()).dir(self.dir), &line)?;
        if out.status.success() {
            return Ok(BTreeMap::new());
        }
        let text = String::from_utf8_lossy(&out.stderr);
        let mut found = BTreeMap::new();
        let mut current: Option<String> = None;
        for l in text.lines() {
            if let Some(header) = l.strip_prefix("# ").filter(|h| !h.starts_with('[')) {
                // `# p`, `# p [p.test]`, or `# p_test` for p's external
                // test package.
                let path = header.split(" [").next().unwrap_or(header);
                let path = path
                    .strip_suffix("_test")
                    .filter(|p| self.packages.contains(p))
                    .unwrap_or(path);
                current = Some(path.to_string());
            }
            if let Some(path) = &current {
                let section: &mut String = found.entry(path.clone()).or_default();
                section.push_str(l);
                section.push('\n');
            }
        }
        if found.is_empty() {
            // No section: vet itself failed; every package says so.
            for p in &self.packages {
                found.insert(p.to_string(), format!("{line}: {}\n", text.trim_end()));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_releases() {
        assert_eq!(parse_go_release("go1.26.8"), Some((1, 26)));
        assert_eq!(parse_go_release("go1.21rc2"), Some((1, 21)));
        assert_eq!(parse_go_release("devel go1.27-abc123 Tue"), Some((1, 27)));
        assert_eq!(parse_go_release("go1.9"), Some((1, 9)));
        assert_eq!(parse_go_release("weird"), None);
    }

    #[test]
    fn vet_is_what_go_test_would_run() {
        let v =
            |flags: &[&str]| vet_checks(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&[]).unwrap().len(), GO_TEST_VET_CHECKS.len());
        assert_eq!(v(&["-vet=off"]), None);
        assert_eq!(v(&["-vet=all"]), Some(vec![]));
        assert_eq!(
            v(&["-vet=off", "-vet=printf,atomic"]),
            Some(vec!["-printf".to_string(), "-atomic".to_string()])
        );
        let b = |release, flags: &[&str]| {
            test_build_flags(
                release,
                &flags.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            b((1, 26), &["-vet=all", "-race"]),
            vec!["-vet=all", "-race"]
        );
        assert_eq!(
            b((1, 21), &["-vet=all", "-race"]),
            vec!["-race", "-vet=off"]
        );
    }

    #[test]
    fn quotes_command_lines() {
        let args: Vec<OsString> = vec!["test".into(), "-ldflags=-s -w".into(), "".into()];
        assert_eq!(command_line("go", &args), "go test '-ldflags=-s -w' ''");
        let args: Vec<OsString> = vec!["-run".into(), "^TestX$".into(), "it's".into()];
        assert_eq!(command_line("go", &args), "go -run '^TestX$' 'it'\\''s'");
    }

    #[test]
    fn test_binaries_link_without_dwarf_keeping_user_flags() {
        let v =
            |flags: &[&str]| linker_flags(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["-race"]), vec!["-race", "-ldflags=-s -w"]);
        assert_eq!(
            v(&["-ldflags=-X main.v=1"]),
            vec!["-ldflags=-X main.v=1 -s -w"]
        );
        assert_eq!(v(&["-ldflags="]), vec!["-ldflags=-s -w"]);
        assert_eq!(
            v(&["-ldflags=example.com/m/...=-X a=b"]),
            vec!["-ldflags=example.com/m/...=-X a=b"]
        );
        assert_eq!(
            v(&["-vet=all", "-tags=x"]),
            vec!["-vet=all", "-tags=x", "-ldflags=-s -w"]
        );
    }
}
