//! The test-binary cache: test binaries built with the helper, kept on
//! disk and reused while nothing that affects their build has changed.
//!
//! This module owns the cache's key, its layout and its locking. The key is
//! a SHA-256 over a plain-text list of the build's inputs:
//! - leakcheck's version and the helper's source ([`HARNESS_GO`]);
//! - the Go version and GOROOT, and the `go env` settings that change what
//!   is built (GOOS, GOARCH, CGO_ENABLED, CC, CGO_*FLAGS, GOFLAGS,
//!   GOEXPERIMENT, GOWORK, ...), plus the build's own environment;
//! - the build flags (`-race`, `-tags`, `-ldflags`, ...);
//! - the package and every dependency `go list -deps -test` reports for its
//!   test binary, as `go test -overlay` sees them: for the standard library,
//!   its import path (the Go version covers its contents); for a module in
//!   the module cache, `path@version` (those files never change); for
//!   everything else (the main module or workspace, local `replace`
//!   directories, vendored code) the content hash of each file that goes
//!   into the build (Go, cgo, assembly, syso and embedded files, and the
//!   package's own test files), which covers the injected helper and a
//!   renamed `TestMain` too;
//! - the `go.mod` and `go.sum` of each main module, `go.work` and
//!   `go.work.sum`, and a `default.pgo` next to the package.
//!
//! Layout of the cache directory:
//! - `NAME-KEY.test`: a test binary (NAME is the import path, escaped);
//! - `NAME-KEY.inputs`: the list the key was computed from, to explain a
//!   rebuild;
//! - `NAME.lock`: taken while a binary of that package is looked up and
//!   built, so concurrent processes (nextest runs every test in its own)
//!   build it once;
//! - `builds.log`: one line per binary built (`SECONDS IMPORT_PATH KEY`).
//!
//! A binary is built into a temporary directory inside the cache directory
//! and renamed into place, so a reader sees a complete binary or none. The
//! three newest binaries of each package are kept; older ones are removed.
//! Not covered by the key: C headers and libraries outside the module, and
//! the C compiler's own version.
//!
//! ```no_run
//! use leakcheck::cache::BinaryCache;
//! let cache = BinaryCache::new(leakcheck::cache::default_dir());
//! println!("test binaries are kept in {}", cache.dir().display());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::go::cmd::{command_line, GoEnv, GoTestBuild};
use crate::go::harness::{Overlay, HARNESS_GO};

/// Overrides where [`default_dir`] puts the cache.
pub const CACHE_DIR_ENV: &str = "LEAKCHECK_CACHE_DIR";

/// The file that gets one line per binary built.
pub const BUILD_LOG: &str = "builds.log";

/// How many binaries of one package are kept.
const KEEP_PER_PACKAGE: usize = 3;

/// Hex digits of the key in file names (128 bits).
const KEY_LEN: usize = 32;

/// `go env` settings that change the binary `go test -c` builds.
const GO_ENV_VARS: &[&str] = &[
    "GOOS",
    "GOARCH",
    "GO386",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
    "CGO_ENABLED",
    "CC",
    "CXX",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_FFLAGS",
    "CGO_LDFLAGS",
    "GOFLAGS",
    "GOEXPERIMENT",
    "GOFIPS140",
    "GOWORK",
    "GOROOT",
];

/// The CLI's cache directory (its kept builds): `$LEAKCHECK_CACHE_DIR` if
/// set, else `leakcheck` in the user's cache directory (as Go's own
/// `GOCACHE`: `$XDG_CACHE_HOME` or `~/.cache` on Linux,
/// `~/Library/Caches` on macOS), else in the system's temporary directory.
pub fn user_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("leakcheck")
}

/// The cache directory to use when none is given: `$LEAKCHECK_CACHE_DIR`
/// if set; else `leakcheck-cache` in the cargo target directory of the
/// running executable (found by walking up from it to the directory that
/// holds cargo's `CACHEDIR.TAG`), else in `$CARGO_TARGET_DIR`, else in
/// `$CARGO_MANIFEST_DIR/target`; else in the system's temporary directory.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    target_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("leakcheck-cache")
}

/// The cargo target directory this process runs from, if any.
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok();
    if let Some(found) = exe
        .iter()
        .flat_map(|e| e.ancestors().skip(1))
        .find(|d| d.join("CACHEDIR.TAG").is_file())
    {
        return Some(found.to_path_buf());
    }
    let cwd = std::env::current_dir().ok()?;
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Some(cwd.join(t));
    }
    std::env::var_os("CARGO_MANIFEST_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| cwd.join(d).join("target"))
}

/// A directory of cached test binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryCache {
    dir: PathBuf,
}

/// A test binary found in, or just added to, the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedBinary {
    pub path: PathBuf,
    /// The key's hex digits used in the file name.
    pub key: String,
    /// Built by this call (rather than found).
    pub built: bool,
}

/// One package as `go list -deps -test -json` describes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DepPackage {
    import_path: String,
    dir: PathBuf,
    standard: bool,
    module: Option<Module>,
    go_files: Vec<String>,
    cgo_files: Vec<String>,
    c_files: Vec<String>,
    #[serde(rename = "CXXFiles")]
    cxx_files: Vec<String>,
    m_files: Vec<String>,
    h_files: Vec<String>,
    f_files: Vec<String>,
    s_files: Vec<String>,
    swig_files: Vec<String>,
    #[serde(rename = "SwigCXXFiles")]
    swig_cxx_files: Vec<String>,
    syso_files: Vec<String>,
    embed_files: Vec<String>,
    test_go_files: Vec<String>,
    x_test_go_files: Vec<String>,
    test_embed_files: Vec<String>,
    x_test_embed_files: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Module {
    path: String,
    version: String,
    main: bool,
    dir: PathBuf,
    go_mod: PathBuf,
    replace: Option<Box<Module>>,
}

const DEP_FIELDS: &str = "ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,\
HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,TestGoFiles,XTestGoFiles,\
TestEmbedFiles,XTestEmbedFiles";

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Lowercase hex of the SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// An import path as a file name: letters, digits, `.` and `-` are kept,
/// every other byte becomes `_XX` (so distinct paths stay distinct).
fn escape(import_path: &str) -> String {
    let mut s = String::with_capacity(import_path.len());
    for b in import_path.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            s.push(b as char);
        } else {
            let _ = write!(s, "_{b:02X}");
        }
    }
    s
}

/// Runs `go ARGS` in `dir` with `env`, returning stdout.
fn go_output(dir: &Path, env: &[(String, String)], args: Vec<OsString>) -> Result<Vec<u8>, Error> {
    let line = command_line("go", &args);
    let mut expr = duct::cmd("go", &args).dir(dir);
    for (k, v) in env {
        expr = expr.env(k, v);
    }
    let out = crate::go::cmd::run_captured(expr, &line)?;
    if !out.status.success() {
        return Err(Error::Command {
            command: line,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

impl BinaryCache {
    /// A cache in `dir` (created when the first binary is added).
    pub fn new(dir: impl Into<PathBuf>) -> BinaryCache {
        BinaryCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The build log: one line per binary built, oldest first.
    pub fn build_log(&self) -> PathBuf {
        self.dir.join(BUILD_LOG)
    }

    /// The inputs of `build` as the text the key is the hash of, one
    /// input per line. Runs `go env` and `go list -deps -test`.
    pub fn inputs(&self, build: &GoTestBuild<'_>, env: &GoEnv) -> Result<String, Error> {
        let mut text = String::new();
        let mut line = |l: String| {
            text.push_str(&l);
            text.push('\n');
        };
        line(format!("leakcheck {}", env!("CARGO_PKG_VERSION")));
        line(format!("helper {}", sha256_hex(HARNESS_GO.as_bytes())));
        line(format!("go {} {}", env.version, env.goroot));

        let mut args: Vec<OsString> = vec!["env".into(), "-json".into()];
        args.extend(GO_ENV_VARS.iter().map(OsString::from));
        let out = go_output(build.dir, &build.env, args)?;
        let vars: BTreeMap<String, String> =
            serde_json::from_slice(&out).map_err(|e| Error::Command {
                command: "go env -json".into(),
                message: format!("unexpected output: {e}"),
            })?;
        for (k, v) in &vars {
            line(format!("goenv {k}={v}"));
        }
        let mut build_env = build.env.clone();
        build_env.sort();
        for (k, v) in &build_env {
            line(format!("env {k}={v}"));
        }
        let flags: Vec<&String> = build
            .build_flags
            .iter()
            .filter(|f| !f.starts_with("-vet"))
            .collect();
        for f in &flags {
            line(format!("flag {f}"));
        }
        line(format!("package {}", build.import_path));

        // The files the build reads, through the overlay.
        let overlay = Overlay::from_user(Some(build.overlay))?;
        let read = |path: &Path| -> String {
            let real = overlay.replace.get(path).map_or(path, |p| p.as_path());
            match fs::read(real) {
                Ok(bytes) => sha256_hex(&bytes),
                Err(_) => "missing".to_string(),
            }
        };
        let mut args: Vec<OsString> = vec![
            "list".into(),
            "-e".into(),
            "-deps".into(),
            "-test".into(),
            format!("-json={DEP_FIELDS}").into(),
        ];
        let mut overlay_flag = OsString::from("-overlay=");
        overlay_flag.push(build.overlay);
        args.push(overlay_flag);
        args.extend(flags.iter().map(OsString::from));
        args.push(build.import_path.into());
        let line_text = command_line("go", &args);
        let out = go_output(build.dir, &build.env, args)?;
        let mut packages = Vec::new();
        for p in serde_json::Deserializer::from_slice(&out).into_iter::<DepPackage>() {
            packages.push(p.map_err(|e| Error::Command {
                command: line_text.clone(),
                message: format!("unexpected output: {e}"),
            })?);
        }
        packages.sort_by(|a, b| a.import_path.cmp(&b.import_path));
        let mut mod_files: BTreeSet<PathBuf> = BTreeSet::new();
        let mut main_dirs: Vec<PathBuf> = Vec::new();
        for p in &packages {
            if let Some(m) = p.module.as_ref().filter(|m| m.main) {
                if !m.go_mod.as_os_str().is_empty() {
                    mod_files.insert(m.go_mod.clone());
                    mod_files.insert(m.go_mod.with_extension("sum"));
                }
                if !main_dirs.contains(&m.dir) {
                    main_dirs.push(m.dir.clone());
                }
            }
        }
        // The standard library's files that the overlay replaces (the
        // hook in package testing).
        for path in overlay.replace.keys() {
            if path.starts_with(&env.goroot) {
                line(format!("std-file {} {}", path.display(), read(path)));
            }
        }
        for p in &packages {
            if p.standard {
                line(format!("std {}", p.import_path));
                continue;
            }
            let module = p.module.as_ref();
            let versioned = module.and_then(|m| {
                let (path, version) = match &m.replace {
                    Some(r) if r.version.is_empty() => return None, // local directory
                    Some(r) => (&r.path, &r.version),
                    None => (&m.path, &m.version),
                };
                (!m.main && !version.is_empty()).then(|| format!("{} => {path}@{version}", m.path))
            });
            let vendored = main_dirs.iter().any(|d| p.dir.starts_with(d));
            match versioned {
                Some(v) if !vendored => {
                    line(format!("dep {} {v}", p.import_path));
                    continue;
                }
                _ => {}
            }
            line(format!("pkg {}", p.import_path));
            if let Some(m) = module.filter(|m| !m.main) {
                if let Some(r) = m.replace.as_ref().filter(|r| r.version.is_empty()) {
                    mod_files.insert(r.dir.join("go.mod"));
                }
            }
            let mut lists = vec![
                &p.go_files,
                &p.cgo_files,
                &p.c_files,
                &p.cxx_files,
                &p.m_files,
                &p.h_files,
                &p.f_files,
                &p.s_files,
                &p.swig_files,
                &p.swig_cxx_files,
                &p.syso_files,
                &p.embed_files,
            ];
            if p.import_path == build.import_path {
                lists.extend([
                    &p.test_go_files,
                    &p.x_test_go_files,
                    &p.test_embed_files,
                    &p.x_test_embed_files,
                ]);
                let pgo = p.dir.join("default.pgo");
                if pgo.is_file() {
                    line(format!("pgo {}", read(&pgo)));
                }
            }
            let files: BTreeSet<&String> = lists.into_iter().flatten().collect();
            for f in files {
                let path = p.dir.join(f);
                // Generated files (the test main) live in Go's build
                // cache: name them by their base name only.
                let shown = if Path::new(f).is_absolute() {
                    Path::new(f)
                        .file_name()
                        .map_or(f.clone(), |n| n.to_string_lossy().into_owned())
                } else {
                    f.clone()
                };
                line(format!("file {shown} {}", read(&path)));
            }
        }
        if let Some(work) = vars
            .get("GOWORK")
            .filter(|w| !w.is_empty() && w.as_str() != "off")
        {
            mod_files.insert(PathBuf::from(work));
            mod_files.insert(PathBuf::from(work).with_extension("work.sum"));
        }
        for f in &mod_files {
            line(format!("modfile {} {}", f.display(), read(f)));
        }
        Ok(text)
    }

    /// The binary for `build`: from the cache when its key is there,
    /// otherwise built (with `build`'s settings, into the cache; its
    /// `output` is not used). `Ok(Err(output))` when the package does not
    /// compile; failures are not cached.
    pub fn get_or_build(
        &self,
        build: &GoTestBuild<'_>,
        env: &GoEnv,
    ) -> Result<Result<CachedBinary, String>, Error> {
        let inputs = self.inputs(build, env)?;
        let key = sha256_hex(inputs.as_bytes())[..KEY_LEN].to_string();
        let name = escape(build.import_path);
        let stem = format!("{name}-{key}");
        let path = self.dir.join(format!("{stem}.test"));
        let found = |path: PathBuf| {
            Ok(Ok(CachedBinary {
                path,
                key: key.clone(),
                built: false,
            }))
        };
        if path.is_file() {
            return found(path);
        }
        let ctx = |what: &str, p: &Path| format!("{what} {}", p.display());
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(ctx("creating", &self.dir), e))?;
        let lock_path = self.dir.join(format!("{name}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(ctx("opening", &lock_path), e))?;
        fs4::FileExt::lock(&lock).map_err(|e| Error::io(ctx("locking", &lock_path), e))?;
        if path.is_file() {
            return found(path); // built by another process meanwhile
        }
        let tmp = tempfile::Builder::new()
            .prefix(".build-")
            .tempdir_in(&self.dir)
            .map_err(|e| Error::io(ctx("creating a directory in", &self.dir), e))?;
        let out = tmp.path().join(format!("{stem}.test"));
        let tmp_build = GoTestBuild {
            dir: build.dir,
            import_path: build.import_path,
            output: &out,
            overlay: build.overlay,
            build_flags: build.build_flags,
            env: build.env.clone(),
        };
        if let Err(output) = tmp_build.run()? {
            return Ok(Err(output));
        }
        if !out.is_file() {
            return Ok(Err(format!(
                "`{}` wrote no test binary\n",
                tmp_build.command_line()
            )));
        }
        let inputs_tmp = tmp.path().join(format!("{stem}.inputs"));
        let inputs_path = self.dir.join(format!("{stem}.inputs"));
        fs::write(&inputs_tmp, &inputs).map_err(|e| Error::io(ctx("writing", &inputs_tmp), e))?;
        fs::rename(&inputs_tmp, &inputs_path)
            .map_err(|e| Error::io(ctx("writing", &inputs_path), e))?;
        fs::rename(&out, &path).map_err(|e| Error::io(ctx("writing", &path), e))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let log = self.build_log();
        // One write of the whole line: concurrent processes (nextest)
        // append to the same log, and O_APPEND keeps whole writes apart.
        let line = format!("{now} {} {key}\n", build.import_path);
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| Error::io(ctx("writing", &log), e))?;
        self.prune(&name, &path);
        Ok(Ok(CachedBinary {
            path,
            key,
            built: true,
        }))
    }

    /// Removes all but the newest binaries of the package named `name`
    /// (never `keep`). Best effort: errors are ignored.
    fn prune(&self, name: &str, keep: &Path) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{name}-");
        let mut old: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p != keep)
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix(&prefix))
                    .and_then(|rest| rest.strip_suffix(".test"))
                    .is_some_and(|k| k.len() == KEY_LEN && k.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        old.sort();
        let excess = old.len().saturating_sub(KEEP_PER_PACKAGE - 1);
        for (_, p) in old.into_iter().take(excess) {
            let _ = fs::remove_file(p.with_extension("inputs"));
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go::cmd::{GoList, GoPackage};

    #[test]
    fn escapes_import_paths_injectively() {
        assert_eq!(escape("example.com/a-b/c_d"), "example.com_2Fa-b_2Fc_5Fd");
        assert_ne!(escape("a/b"), escape("a_b"));
    }

    /// A copy of go-fixtures/clean as its own module, with a dependency
    /// package in the module.
    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("go.mod"), "module example.com/m\n\ngo 1.21\n").unwrap();
        fs::create_dir_all(root.join("dep")).unwrap();
        fs::write(
            root.join("dep/dep.go"),
            "package dep\n\nfunc Two() int { return 2 }\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("p")).unwrap();
        fs::write(
            root.join("p/p.go"),
            "package p\n\nimport \"example.com/m/dep\"\n\nfunc Four() int { return dep.Two() * 2 }\n",
        )
        .unwrap();
        fs::write(
            root.join("p/p_test.go"),
            "package p\n\nimport \"testing\"\n\nfunc TestFour(t *testing.T) {\n\tif Four() != 4 {\n\t\tt.Fatal(Four())\n\t}\n}\n",
        )
        .unwrap();
        dir
    }

    struct Setup {
        env: GoEnv,
        pkg: GoPackage,
        overlay: PathBuf,
        _work: tempfile::TempDir,
    }

    fn setup(root: &Path) -> Setup {
        let env = GoEnv::detect(root).unwrap();
        let pkg = GoList {
            env: &env,
            dir: root,
            build_flags: &[],
            patterns: &["./p".to_string()],
        }
        .run()
        .unwrap()
        .remove(0);
        let work = tempfile::tempdir().unwrap();
        let mut overlay = Overlay::default();
        overlay
            .hook_testing(
                Path::new(&env.goroot),
                &env.version,
                &work.path().join("hook"),
            )
            .unwrap();
        let path = work.path().join("overlay.json");
        overlay.write(&path).unwrap();
        Setup {
            env,
            pkg,
            overlay: path,
            _work: work,
        }
    }

    fn build<'a>(s: &'a Setup, root: &'a Path, flags: &'a [String]) -> GoTestBuild<'a> {
        GoTestBuild {
            dir: root,
            import_path: &s.pkg.import_path,
            output: Path::new("/nonexistent/unused"),
            overlay: &s.overlay,
            build_flags: flags,
            env: Vec::new(),
        }
    }

    #[test]
    fn key_follows_sources_dependencies_and_flags() {
        let m = module();
        let root = m.path();
        let s = setup(root);
        let cache = BinaryCache::new(root.join("cache"));
        let inputs = |flags: &[String]| cache.inputs(&build(&s, root, flags), &s.env).unwrap();
        let base = inputs(&[]);
        assert!(base.contains("pkg example.com/m/dep\n"), "{base}");
        assert!(
            base.contains("/src/testing/zz_leakcheck_hook.go "),
            "{base}"
        );
        assert!(base.contains("std testing\n"), "{base}");
        assert_eq!(inputs(&[]), base, "the key is stable");
        assert_ne!(inputs(&["-race".to_string()]), base);
        assert_ne!(inputs(&["-tags=x".to_string()]), base);
        // vet settings do not change the binary.
        assert_eq!(inputs(&["-vet=off".to_string()]), base);

        fs::write(
            root.join("dep/dep.go"),
            "package dep\n\nfunc Two() int { return 1 + 1 }\n",
        )
        .unwrap();
        let dep_changed = inputs(&[]);
        assert_ne!(dep_changed, base);
        fs::write(root.join("p/extra_test.go"), "package p\n").unwrap();
        assert_ne!(inputs(&[]), dep_changed);
        // A file the build does not use (another package's) changes nothing.
        let before = inputs(&[]);
        fs::write(root.join("README"), "not Go").unwrap();
        assert_eq!(inputs(&[]), before);
    }

    #[test]
    fn builds_once_then_reuses_and_rebuilds_on_change() {
        let m = module();
        let root = m.path();
        let s = setup(root);
        let cache = BinaryCache::new(root.join("cache"));
        let first = cache
            .get_or_build(&build(&s, root, &[]), &s.env)
            .unwrap()
            .unwrap();
        assert!(first.built);
        assert!(first.path.is_file());
        assert!(first.path.starts_with(cache.dir()));
        let second = cache
            .get_or_build(&build(&s, root, &[]), &s.env)
            .unwrap()
            .unwrap();
        assert!(!second.built);
        assert_eq!(second.path, first.path);
        let log = fs::read_to_string(cache.build_log()).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains(" example.com/m/p "), "{log}");
        let inputs = fs::read_to_string(first.path.with_extension("inputs")).unwrap();
        assert!(inputs.contains("package example.com/m/p\n"));
        // No temporary build directories are left behind.
        let leftovers: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".build-"))
            .collect();
        assert!(leftovers.is_empty());

        fs::write(
            root.join("p/p.go"),
            "package p\n\nimport \"example.com/m/dep\"\n\nfunc Four() int { return dep.Two() + 2 }\n",
        )
        .unwrap();
        let third = cache
            .get_or_build(&build(&s, root, &[]), &s.env)
            .unwrap()
            .unwrap();
        assert!(third.built);
        assert_ne!(third.key, first.key);
        assert!(first.path.is_file(), "older binaries are kept for a while");
    }

    #[test]
    fn compile_errors_are_reported_and_not_cached() {
        let m = module();
        let root = m.path();
        fs::write(
            root.join("p/broken_test.go"),
            "package p\n\nfunc broken( {\n",
        )
        .unwrap();
        let s = setup(root);
        let cache = BinaryCache::new(root.join("cache"));
        let out = cache.get_or_build(&build(&s, root, &[]), &s.env).unwrap();
        let output = out.unwrap_err();
        assert!(output.contains("broken_test.go"), "{output}");
        assert!(!cache.build_log().exists());
    }

    #[test]
    fn concurrent_lookups_build_once() {
        let m = module();
        let root = m.path();
        let s = setup(root);
        let cache = BinaryCache::new(root.join("cache"));
        let results: Vec<CachedBinary> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    scope.spawn(|| {
                        cache
                            .get_or_build(&build(&s, root, &[]), &s.env)
                            .unwrap()
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|r| r.built).count(), 1);
        assert!(results.iter().all(|r| r.path == results[0].path));
        let log = fs::read_to_string(cache.build_log()).unwrap();
        assert_eq!(log.lines().count(), 1);
    }

    #[test]
    fn prunes_old_binaries_of_a_package() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BinaryCache::new(dir.path());
        let mut paths = Vec::new();
        for i in 0..5u8 {
            let p = dir.path().join(format!("a-{}.test", hex(&[i; 16])));
            fs::write(&p, "x").unwrap();
            fs::write(p.with_extension("inputs"), "x").unwrap();
            let t =
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
            paths.push(p);
        }
        let other = dir.path().join(format!("a-b-{}.test", hex(&[9; 16])));
        fs::write(&other, "x").unwrap();
        cache.prune("a", &paths[0]);
        let left: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
        // The one being kept, and the two newest others.
        assert_eq!(left, vec![true, false, false, true, true]);
        assert!(!paths[1].with_extension("inputs").exists());
        assert!(other.exists(), "another package's binary is not touched");
    }
}
