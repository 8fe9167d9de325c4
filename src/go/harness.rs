//! What leakcheck adds to every test build: its hook in the standard
//! library's `testing` package (`harness/*.go`, embedded here), put in
//! through `go test -overlay` (the user's tree, and GOROOT, are never
//! written).
//!
//! The hook's files are added to `$GOROOT/src/testing` as
//! `zz_leakcheck_*.go`, and copies of three files of the package replace
//! them, each with one call added on the line of an anchor, so that every
//! file:line stays true:
//!
//! | file | anchor (in) | becomes |
//! | --- | --- | --- |
//! | `testing.go` | `fn(t)` (`tRunner`) | `leakcheckRun(&t.common); fn(t)` |
//! | `fuzz.go` | `fn(f)` (`fRunner`) | `leakcheckRun(&f.common); fn(f)` |
//! | `run_example.go` | `eg.F()` (`runExample`) | `leakcheckExampleStart(eg.Name); eg.F()` |
//! | `run_example.go` | `timeSpent := time.Since(start)` (`runExample`) | `...; leakcheckExampleEnd(finished)` |
//!
//! The calls return before the test function runs: a test's stack is the
//! one `go test` gives it. Every anchor is there in Go 1.21 to 1.27. When a
//! Go release lacks `tRunner`'s, tests are wrapped instead, at the start of
//! `T.Run` ([`HookMode::Wrapped`]): their stacks then show one frame of
//! leakcheck's, which [`Hook::notes`] says. A missing example or fuzz
//! anchor leaves those unchecked, and says so too.
//!
//! This module owns that plan and the overlay file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The hook's source, embedded in the leakcheck binary: (name, text).
pub const HOOK_FILES: &[(&str, &str)] = &[
    ("hook", include_str!("../../harness/hook.go")),
    ("conn", include_str!("../../harness/conn.go")),
    ("dump", include_str!("../../harness/dump.go")),
    ("probe", include_str!("../../harness/probe.go")),
    ("resources", include_str!("../../harness/resources.go")),
];

/// All of the hook's source, for cache keys.
pub const HARNESS_GO: &str = concat!(
    include_str!("../../harness/hook.go"),
    include_str!("../../harness/conn.go"),
    include_str!("../../harness/dump.go"),
    include_str!("../../harness/probe.go"),
    include_str!("../../harness/resources.go"),
);

/// The name a hook file `name` gets in `$GOROOT/src/testing`.
pub fn hook_file_name(name: &str) -> String {
    format!("zz_leakcheck_{name}.go")
}

/// Set to `wrap` to hook tests as if `tRunner`'s anchor were missing (to
/// check that fallback on Go releases that have the anchor).
pub const HOOK_MODE_ENV: &str = "LEAKCHECK_HOOK";

/// How tests are hooked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookMode {
    /// In `tRunner`, before the test function: no trace on its stack.
    Exact,
    /// By wrapping the test function at the start of `T.Run`: one frame
    /// of leakcheck's on every test's stack, and no round of tests ends
    /// with a check (so checks are never deferred).
    Wrapped,
}

/// The hook for one GOROOT.
#[derive(Debug, PartialEq, Eq)]
pub struct Hook {
    pub mode: HookMode,
    /// GOROOT paths and their new text: the hook's files, and the patched
    /// copies of the testing package's.
    pub files: Vec<(PathBuf, String)>,
    /// What is not as it should be, one line each (a fallback, kinds of
    /// tests left unchecked).
    pub notes: Vec<String>,
}

/// One anchor: in `file`, the first line after `func_start` that is
/// exactly `line` gets `call` put before its text.
struct Anchor {
    func_start: &'static str,
    line: &'static str,
    call: &'static str,
    /// Put `call` after the text instead.
    after: bool,
}

const T_RUNNER: Anchor = Anchor {
    func_start: "func tRunner(t *T, fn func(t *T)) {",
    line: "\tfn(t)",
    call: "leakcheckRun(&t.common); ",
    after: false,
};

/// The fallback: wrap the test function as `T.Run` starts.
const T_RUN: Anchor = Anchor {
    func_start: "",
    line: "func (t *T) Run(name string, f func(t *T)) bool {",
    call: " f = leakcheckWrap(f);",
    after: true,
};

const F_RUNNER: Anchor = Anchor {
    func_start: "func fRunner(f *F, fn func(*F)) {",
    line: "\tfn(f)",
    call: "leakcheckRun(&f.common); ",
    after: false,
};

const EXAMPLE_START: Anchor = Anchor {
    func_start: "func runExample(eg InternalExample) (ok bool) {",
    line: "\teg.F()",
    call: "leakcheckExampleStart(eg.Name); ",
    after: false,
};

const EXAMPLE_END: Anchor = Anchor {
    func_start: "func runExample(eg InternalExample) (ok bool) {",
    line: "\t\ttimeSpent := time.Since(start)",
    call: "; leakcheckExampleEnd(finished)",
    after: true,
};

/// The binary's `-timeout` alarm, as it is set: the hook postpones it by
/// the time its runs wait for their checks.
const ALARM: Anchor = Anchor {
    func_start: "func (m *M) startAlarm() time.Time {",
    line: "\treturn deadline",
    call: "leakcheckSetAlarm(m.timer, deadline); ",
    after: false,
};

/// `text` with `anchor`'s call added, or `None` when the anchor is not
/// found.
fn patch(text: &str, anchor: &Anchor) -> Option<String> {
    let mut in_func = anchor.func_start.is_empty();
    let mut out = String::with_capacity(text.len() + anchor.call.len());
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let bare = line.strip_suffix('\n').unwrap_or(line);
        let bare = bare.strip_suffix('\r').unwrap_or(bare);
        if !in_func && bare == anchor.func_start {
            in_func = true;
        } else if in_func && !done && bare == anchor.line {
            done = true;
            let rest = &line[bare.len()..];
            if anchor.after {
                out.push_str(bare);
                out.push_str(anchor.call);
            } else {
                let indent = bare.len() - bare.trim_start_matches('\t').len();
                out.push_str(&bare[..indent]);
                out.push_str(anchor.call);
                out.push_str(&bare[indent..]);
            }
            out.push_str(rest);
            continue;
        } else if in_func && bare == "}" {
            // The end of the function: the anchor is not in it.
            in_func = anchor.func_start.is_empty();
        }
        out.push_str(line);
    }
    done.then_some(out)
}

/// Plans the hook for the Go release whose source is at `goroot`, reading
/// its files through `read` (the user's own overlay may replace them).
/// `release` names it in notes; `force_wrap` hooks tests by wrapping
/// them even where the exact anchor is there.
pub fn plan(
    goroot: &Path,
    release: &str,
    force_wrap: bool,
    read: impl Fn(&Path) -> std::io::Result<String>,
) -> Result<Hook, Error> {
    let dir = goroot.join("src").join("testing");
    let load = |name: &str| {
        let path = dir.join(name);
        read(&path)
            .map(|text| (path.clone(), text))
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))
    };
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let (testing_go, text) = load("testing.go")?;
    let exact = if force_wrap {
        None
    } else {
        patch(&text, &T_RUNNER)
    };
    let with_alarm = |text: String| {
        match patch(&text, &ALARM) {
        Some(patched) => (patched, None),
        None => (text, Some(format!(
            "{release}'s testing.startAlarm has no `return deadline` line: the time leakcheck's checks take counts against -timeout"
        ))),
    }
    };
    let mode = match exact {
        Some(patched) => {
            let (patched, note) = with_alarm(patched);
            notes.extend(note);
            files.push((testing_go, patched));
            HookMode::Exact
        }
        None => {
            let Some(patched) = patch(&text, &T_RUN) else {
                return Err(Error::Usage(format!(
                    "cannot hook the testing package of {release}: neither `fn(t)` in tRunner nor the start of T.Run is in {}",
                    testing_go.display()
                )));
            };
            if !force_wrap {
                notes.push(format!(
                    "{release}'s testing.tRunner has no `fn(t)` line: tests are wrapped instead, so their stacks show one frame of leakcheck's (testing.leakcheckWrap.func1)"
                ));
            }
            let (patched, note) = with_alarm(patched);
            notes.extend(note);
            files.push((testing_go, patched));
            HookMode::Wrapped
        }
    };
    let (fuzz_go, text) = load("fuzz.go")?;
    match patch(&text, &F_RUNNER) {
        Some(patched) => files.push((fuzz_go, patched)),
        None => notes.push(format!(
            "{release}'s testing.fRunner has no `fn(f)` line: fuzz targets' seed inputs are not checked for leaks"
        )),
    }
    let (example_go, text) = load("run_example.go")?;
    match patch(&text, &EXAMPLE_START).and_then(|t| patch(&t, &EXAMPLE_END)) {
        Some(patched) => files.push((example_go, patched)),
        None => notes.push(format!(
            "{release}'s testing.runExample lacks `eg.F()` or `timeSpent := time.Since(start)`: examples are not checked for leaks"
        )),
    }
    for (name, text) in HOOK_FILES {
        files.push((dir.join(hook_file_name(name)), text.to_string()));
    }
    Ok(Hook { mode, files, notes })
}

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
    pub fn read(&self, path: &Path) -> std::io::Result<String> {
        fs::read_to_string(self.replace.get(path).map_or(path, |p| p.as_path()))
    }

    /// Adds the hook for the Go release at `goroot` (see [`plan`]).
    /// Generated files go into `files`, named after their content, so a
    /// kept `files` directory is written only once.
    pub fn hook_testing(
        &mut self,
        goroot: &Path,
        release: &str,
        files: &Path,
    ) -> Result<Hook, Error> {
        let force_wrap = std::env::var(HOOK_MODE_ENV).is_ok_and(|v| v == "wrap");
        let hook = plan(goroot, release, force_wrap, |p| self.read(p))?;
        fs::create_dir_all(files)
            .map_err(|e| Error::io(format!("creating {}", files.display()), e))?;
        for (path, text) in &hook.files {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let written = write_content_addressed(files, &name, text)?;
            self.replace.insert(path.clone(), written);
        }
        Ok(hook)
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

#[cfg(test)]
mod tests {
    use super::*;

    const TESTING_GO: &str = "package testing\n\nfunc tRunner(t *T, fn func(t *T)) {\n\tdefer func() {\n\t\tfn(t)\n\t}()\n\tt.start = highPrecisionTimeNow()\n\tfn(t)\n\n\tt.mu.Lock()\n}\n\nfunc (t *T) Run(name string, f func(t *T)) bool {\n\treturn true\n}\n\nfunc (m *M) startAlarm() time.Time {\n\tif *timeout <= 0 {\n\t\treturn time.Time{}\n\t}\n\tdeadline := time.Now().Add(*timeout)\n\treturn deadline\n}\n";
    const FUZZ_GO: &str = "package testing\n\nfunc fRunner(f *F, fn func(*F)) {\n\tf.start = time.Now()\n\tfn(f)\n}\n";
    const EXAMPLE_GO: &str = "package testing\n\nfunc runExample(eg InternalExample) (ok bool) {\n\tdefer func() {\n\t\ttimeSpent := time.Since(start)\n\t\tw.Close()\n\t}()\n\n\t// Run example.\n\teg.F()\n\tfinished = true\n\treturn\n}\n";

    fn goroot(testing: &'static str) -> impl Fn(&Path) -> std::io::Result<String> {
        move |p: &Path| {
            Ok(match p.file_name().unwrap().to_str().unwrap() {
                "testing.go" => testing.to_string(),
                "fuzz.go" => FUZZ_GO.to_string(),
                "run_example.go" => EXAMPLE_GO.to_string(),
                other => panic!("unexpected read of {other}"),
            })
        }
    }

    fn text<'h>(hook: &'h Hook, name: &str) -> &'h str {
        &hook
            .files
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .unwrap_or_else(|| panic!("no {name}"))
            .1
    }

    #[test]
    fn adds_one_call_on_each_anchor_line_and_keeps_line_numbers() {
        let hook = plan(Path::new("/go"), "go1.26.8", false, goroot(TESTING_GO)).unwrap();
        assert_eq!(hook.mode, HookMode::Exact);
        assert!(hook.notes.is_empty());
        let testing = text(&hook, "testing/testing.go");
        // The `fn(t)` in the deferred function is indented deeper: not it.
        assert!(testing.contains("\t\tfn(t)\n"));
        assert!(testing.contains("\n\tleakcheckRun(&t.common); fn(t)\n"));
        assert!(testing.contains("\n\tleakcheckSetAlarm(m.timer, deadline); return deadline\n"));
        assert_eq!(testing.lines().count(), TESTING_GO.lines().count());
        assert!(!testing.contains("leakcheckWrap"));
        assert!(text(&hook, "testing/fuzz.go").contains("\tleakcheckRun(&f.common); fn(f)\n"));
        let example = text(&hook, "testing/run_example.go");
        assert!(example.contains("\tleakcheckExampleStart(eg.Name); eg.F()\n"));
        assert!(
            example.contains("\t\ttimeSpent := time.Since(start); leakcheckExampleEnd(finished)\n")
        );
        assert_eq!(example.lines().count(), EXAMPLE_GO.lines().count());
        let hooks: Vec<_> = hook
            .files
            .iter()
            .filter(|(p, _)| p.to_string_lossy().contains("zz_leakcheck_"))
            .map(|(p, _)| p.clone())
            .collect();
        assert_eq!(hooks.len(), HOOK_FILES.len());
        assert!(hooks
            .iter()
            .all(|p| p.starts_with("/go/src/testing") && p.extension().unwrap() == "go"));
    }

    #[test]
    fn without_the_trunner_anchor_tests_are_wrapped_and_that_is_said() {
        let no_anchor = "package testing\n\nfunc tRunner(t *T, fn func(t *T)) {\n\tfn(t, 1)\n}\n\nfunc (t *T) Run(name string, f func(t *T)) bool {\n\treturn true\n}\n";
        let hook = plan(Path::new("/go"), "go1.99.0", false, goroot(no_anchor)).unwrap();
        assert_eq!(hook.mode, HookMode::Wrapped);
        assert!(text(&hook, "testing/testing.go")
            .contains("func (t *T) Run(name string, f func(t *T)) bool { f = leakcheckWrap(f);\n"));
        assert_eq!(hook.notes.len(), 2, "{:?}", hook.notes);
        assert!(hook.notes[0].starts_with("go1.99.0's testing.tRunner has no `fn(t)` line"));
        // Nor the alarm's line: the checks' time counts, and that is said.
        assert!(hook.notes[1]
            .starts_with("go1.99.0's testing.startAlarm has no `return deadline` line"));
        // Forced (to test the fallback), it says nothing.
        let forced = plan(Path::new("/go"), "go1.26.8", true, goroot(TESTING_GO)).unwrap();
        assert_eq!(forced.mode, HookMode::Wrapped);
        assert!(forced.notes.is_empty());
    }

    #[test]
    fn without_any_anchor_it_is_an_error() {
        let nothing = "package testing\n\nfunc other() {\n\tfn(t)\n}\n";
        let err = plan(Path::new("/go"), "go1.99.0", false, goroot(nothing)).unwrap_err();
        assert!(err
            .to_string()
            .contains("cannot hook the testing package of go1.99.0"));
    }

    #[test]
    fn a_missing_example_anchor_leaves_examples_unchecked_and_says_so() {
        let read = |p: &Path| {
            if p.ends_with("run_example.go") {
                Ok("package testing\n\nfunc runExample(eg InternalExample) (ok bool) {\n\teg.Run()\n}\n".to_string())
            } else {
                goroot(TESTING_GO)(p)
            }
        };
        let hook = plan(Path::new("/go"), "go1.99.0", false, read).unwrap();
        assert_eq!(hook.mode, HookMode::Exact);
        assert!(!hook
            .files
            .iter()
            .any(|(p, _)| p.ends_with("run_example.go")));
        assert_eq!(hook.notes.len(), 1);
        assert!(hook.notes[0].contains("examples are not checked"));
    }

    /// The Go under test (`LEAKCHECK_TEST_GO`, else the one on PATH) has
    /// every anchor, and its testing package builds with the hook: CI runs
    /// this with every Go release from 1.21 to 1.27.
    #[test]
    fn the_go_under_test_has_every_anchor_and_builds_with_the_hook() {
        let go = std::env::var_os("LEAKCHECK_TEST_GO").unwrap_or_else(|| "go".into());
        let out = std::process::Command::new(&go)
            .args(["env", "GOROOT", "GOVERSION"])
            .output()
            .expect("go runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (goroot, version) = (lines.next().unwrap(), lines.next().unwrap());
        let mut overlay = Overlay::default();
        let dir = tempfile::tempdir().unwrap();
        let hook = overlay
            .hook_testing(Path::new(goroot), version, dir.path())
            .unwrap();
        assert_eq!(hook.mode, HookMode::Exact, "{version}");
        assert!(hook.notes.is_empty(), "{version}: {:?}", hook.notes);
        let json = dir.path().join("overlay.json");
        overlay.write(&json).unwrap();
        // A test binary links (the hook's go:linkname is allowed), runs
        // as under `go test` without leakcheck, and vet finds nothing in
        // the hook (vet reads overlays of the standard library from 1.24).
        let module = dir.path().join("m");
        fs::create_dir_all(&module).unwrap();
        fs::write(module.join("go.mod"), "module example.com/m\n\ngo 1.21\n").unwrap();
        fs::write(
            module.join("m_test.go"),
            "package m\n\nimport \"testing\"\n\nfunc TestM(t *testing.T) { t.Run(\"sub\", func(t *testing.T) {}) }\n",
        )
        .unwrap();
        let go_cmd = |args: &[&str]| {
            let out = std::process::Command::new(&go)
                .args(args)
                .current_dir(&module)
                .output()
                .expect("go runs");
            assert!(
                out.status.success(),
                "{version}: go {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let overlay_flag = format!("-overlay={}", json.display());
        go_cmd(&["test", "-c", "-vet=off", "-o", "m.test", &overlay_flag, "."]);
        // It builds for macOS too (leakcheck runs there; nothing here can
        // run the binary).
        let darwin = std::process::Command::new(&go)
            .args([
                "test",
                "-c",
                "-vet=off",
                "-o",
                "m-darwin.test",
                &overlay_flag,
                ".",
            ])
            .env("GOOS", "darwin")
            .env("GOARCH", "arm64")
            .env("CGO_ENABLED", "0")
            .current_dir(&module)
            .output()
            .expect("go runs");
        assert!(
            darwin.status.success(),
            "{version}: GOOS=darwin go test -c: {}",
            String::from_utf8_lossy(&darwin.stderr)
        );
        let run = std::process::Command::new(module.join("m.test"))
            .arg("-test.v")
            .env_remove("LEAKCHECK_HELPER")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{version}: {stdout}");
        assert!(
            stdout.contains("--- PASS: TestM/sub"),
            "{version}: {stdout}"
        );
        if crate::go::cmd::vets_in_build(crate::go::cmd::parse_go_release(version).unwrap()) {
            go_cmd(&["vet", &overlay_flag, "testing"]);
        }
    }
}
