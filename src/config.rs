//! `leakcheck.toml`: settings kept with the module.
//!
//! ```toml
//! grace = "2s"                 # --grace
//! test-timeout = "90s"         # --test-timeout
//! go-test-args = ["-race"]     # default `go test` arguments, before the command line's
//! default-ignores = true       # false is --no-default-ignores
//! chains = true                # --chains (false, the default, is --no-chains)
//! checks = ["fds", "processes"] # --check (goroutines are always checked)
//! heap-threshold = "1MiB"      # --heap-threshold
//!
//! [[ignore]]                   # one of top / any / created-by
//! created-by = "github.com/acme/metrics.*"
//! state = "select"             # optional: only in this state
//! packages = "example.com/m/server/..."   # optional: only these packages
//! ```
//!
//! The file is read from the module root (the directory of go.mod) or
//! from `--config FILE`; command-line options override it. Unknown keys and
//! invalid values are errors that name the file, line and key. This module
//! owns the file format and merging it with the command line into
//! [`Settings`], each value with where it came from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::detect::ignore::{IgnoreRule, IgnoreRules, RuleKind, RuleOrigin};
use crate::duration::{format_go_duration, parse_go_duration};
use crate::error::Error;

/// The file name looked for at the module root.
pub const CONFIG_FILE: &str = "leakcheck.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    grace: Option<Spanned<String>>,
    test_timeout: Option<Spanned<String>>,
    go_test_args: Option<Vec<String>>,
    default_ignores: Option<bool>,
    chains: Option<bool>,
    checks: Option<Spanned<Vec<String>>>,
    heap_threshold: Option<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<IgnoreEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct IgnoreEntry {
    top: Option<String>,
    any: Option<String>,
    created_by: Option<String>,
    state: Option<String>,
    packages: Option<String>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    CommandLine,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::CommandLine => write!(f, "command line"),
        }
    }
}

/// What the command line says; `None` where it says nothing.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub grace: Option<Duration>,
    pub test_timeout: Option<Option<Duration>>,
    pub go_test_args: Vec<String>,
    pub no_default_ignores: bool,
    /// `--chains` (true) or `--no-chains` (false).
    pub chains: Option<bool>,
    pub ignore: Vec<IgnoreRule>,
    /// `--check` values, as given.
    pub checks: Vec<String>,
    pub heap_threshold: Option<u64>,
}

/// The effective settings, each with its source.
#[derive(Debug, Clone)]
pub struct Settings {
    pub grace: (Duration, Source),
    pub test_timeout: (Option<Duration>, Source),
    /// The file's arguments first, then the command line's.
    pub go_test_args: (Vec<String>, Source),
    pub default_ignores: (bool, Source),
    /// Creation chains (`--chains`).
    pub chains: (bool, Source),
    /// User rules (built-ins are added by [`Settings::ignore_rules`]).
    pub ignore: Vec<IgnoreRule>,
    /// Resource checks, and the heap growth reported.
    pub checks: (crate::detect::resources::Checks, Source),
    /// The config file read, if any.
    pub file: Option<PathBuf>,
}

/// The directory of the nearest go.mod at or above `dir`.
pub fn module_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join("go.mod").is_file())
        .map(Path::to_path_buf)
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl Settings {
    /// Reads the config file (`explicit`, else `leakcheck.toml` at the
    /// module root of `dir`, if there is one) and applies `cli` over it.
    pub fn load(dir: &Path, explicit: Option<&Path>, cli: &CommandLine) -> Result<Settings, Error> {
        let path = match explicit {
            Some(p) => {
                if !p.is_file() {
                    return Err(Error::Usage(format!(
                        "--config {}: no such file",
                        p.display()
                    )));
                }
                Some(p.to_path_buf())
            }
            None => module_root(dir)
                .map(|r| r.join(CONFIG_FILE))
                .filter(|p| p.is_file()),
        };
        let mut s = Settings {
            grace: (Duration::from_secs(1), Source::Default),
            test_timeout: (Some(Duration::from_secs(60)), Source::Default),
            go_test_args: (Vec::new(), Source::Default),
            default_ignores: (true, Source::Default),
            chains: (false, Source::Default),
            ignore: Vec::new(),
            checks: (crate::detect::resources::Checks::default(), Source::Default),
            file: path.clone(),
        };
        if let Some(path) = &path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            s.apply_file(path, &text)?;
        }
        if let Some(g) = cli.grace {
            s.grace = (g, Source::CommandLine);
        }
        if let Some(t) = cli.test_timeout {
            s.test_timeout = (t, Source::CommandLine);
        }
        if !cli.go_test_args.is_empty() {
            s.go_test_args.0.extend(cli.go_test_args.iter().cloned());
            s.go_test_args.1 = Source::CommandLine;
        }
        if cli.no_default_ignores {
            s.default_ignores = (false, Source::CommandLine);
        }
        if let Some(c) = cli.chains {
            s.chains = (c, Source::CommandLine);
        }
        s.ignore.extend(cli.ignore.iter().cloned());
        if !cli.checks.is_empty() {
            let mut checks = crate::detect::resources::Checks {
                heap_threshold: s.checks.0.heap_threshold,
                ..Default::default()
            };
            checks
                .enable(&cli.checks)
                .map_err(|e| Error::Usage(format!("--check: {e}")))?;
            s.checks = (checks, Source::CommandLine);
        }
        if let Some(t) = cli.heap_threshold {
            s.checks.0.heap_threshold = t;
            s.checks.1 = Source::CommandLine;
        }
        Ok(s)
    }

    /// Applies the text of config file `path`.
    fn apply_file(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let name = path.display().to_string();
        let at = |offset: usize, message: &str| {
            Error::Usage(format!("{name}:{}: {message}", line_of(text, offset)))
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim())
        })?;
        let src = Source::File(path.to_path_buf());
        let duration = |v: &Spanned<String>, key: &str| {
            parse_go_duration(v.get_ref()).map_err(|e| at(v.span().start, &format!("{key}: {e}")))
        };
        if let Some(g) = &file.grace {
            self.grace = (duration(g, "grace")?, src.clone());
        }
        if let Some(t) = &file.test_timeout {
            let d = duration(t, "test-timeout")?;
            self.test_timeout = ((!d.is_zero()).then_some(d), src.clone());
        }
        if let Some(args) = file.go_test_args {
            crate::go::args::GoTestArgs::parse(&args)
                .map_err(|e| Error::Usage(format!("{name}: go-test-args: {e}")))?;
            self.go_test_args = (args, src.clone());
        }
        if let Some(d) = file.default_ignores {
            self.default_ignores = (d, src.clone());
        }
        if let Some(c) = file.chains {
            self.chains = (c, src.clone());
        }
        if let Some(c) = &file.checks {
            let mut checks = crate::detect::resources::Checks {
                heap_threshold: self.checks.0.heap_threshold,
                ..Default::default()
            };
            checks
                .enable(c.get_ref())
                .map_err(|e| at(c.span().start, &format!("checks: {e}")))?;
            self.checks = (checks, src.clone());
        }
        if let Some(t) = &file.heap_threshold {
            self.checks.0.heap_threshold = crate::detect::resources::parse_size(t.get_ref())
                .map_err(|e| at(t.span().start, &format!("heap-threshold: {e}")))?;
            self.checks.1 = src.clone();
        }
        for entry in &file.ignore {
            let e = entry.get_ref();
            let line = entry.span().start;
            let kinds: Vec<(RuleKind, &String)> = [
                (RuleKind::Top, &e.top),
                (RuleKind::Any, &e.any),
                (RuleKind::CreatedBy, &e.created_by),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
            let [(kind, pattern)] = kinds.as_slice() else {
                return Err(at(
                    line,
                    "ignore: give exactly one of `top`, `any`, `created-by`",
                ));
            };
            if pattern.is_empty() || pattern.contains(char::is_whitespace) {
                return Err(at(
                    line,
                    &format!("ignore: {pattern:?} is not a Go function name"),
                ));
            }
            self.ignore.push(IgnoreRule {
                state: e.state.clone(),
                packages: e.packages.clone(),
                origin: RuleOrigin::Config(name.clone()),
                ..IgnoreRule::new(kind.clone(), pattern.as_str())
            });
        }
        Ok(())
    }

    /// The rules in force: the built-ins (unless turned off), then the
    /// user's.
    pub fn ignore_rules(&self) -> IgnoreRules {
        let mut rules = if self.default_ignores.0 {
            IgnoreRules::builtin()
        } else {
            Vec::new()
        };
        rules.extend(self.ignore.iter().cloned());
        IgnoreRules { rules }
    }

    /// The effective configuration as TOML, each value with its source.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        match &self.file {
            Some(f) => {
                let _ = writeln!(out, "# config file: {}", f.display());
            }
            None => out.push_str("# config file: none\n"),
        }
        let _ = writeln!(
            out,
            "grace = {:?}  # {}",
            format_go_duration(self.grace.0),
            self.grace.1
        );
        let timeout = self
            .test_timeout
            .0
            .map_or("0".to_string(), format_go_duration);
        let _ = writeln!(out, "test-timeout = {timeout:?}  # {}", self.test_timeout.1);
        let _ = writeln!(
            out,
            "go-test-args = {:?}  # {}",
            self.go_test_args.0, self.go_test_args.1
        );
        let _ = writeln!(
            out,
            "checks = {:?}  # {}",
            self.checks.0.names(),
            self.checks.1
        );
        let _ = writeln!(
            out,
            "heap-threshold = \"{}B\"  # {}",
            self.checks.0.heap_threshold, self.checks.1
        );
        let _ = writeln!(
            out,
            "default-ignores = {}  # {}",
            self.default_ignores.0, self.default_ignores.1
        );
        let _ = writeln!(out, "chains = {}  # {}", self.chains.0, self.chains.1);
        for r in &self.ignore {
            let key = match &r.kind {
                RuleKind::Top => "top",
                RuleKind::Any => "any",
                RuleKind::CreatedBy => "created-by",
                _ => continue,
            };
            let source = match &r.origin {
                RuleOrigin::Config(f) => f.clone(),
                _ => "command line".to_string(),
            };
            let _ = write!(out, "\n[[ignore]]  # {source}\n{key} = {:?}\n", r.pattern);
            if let Some(s) = &r.state {
                let _ = writeln!(out, "state = {s:?}");
            }
            if let Some(p) = &r.packages {
                let _ = writeln!(out, "packages = {p:?}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, cli: &CommandLine) -> Result<Settings, Error> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module example.com/m\n").unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        Settings::load(&sub, None, cli).map(|mut s| {
            s.file = None; // the temp path differs per test
            s
        })
    }

    #[test]
    fn reads_the_file_at_the_module_root_and_the_command_line_wins() {
        let text = "grace = \"2s\"\ntest-timeout = \"0\"\ngo-test-args = [\"-race\"]\n\n[[ignore]]\ncreated-by = \"github.com/acme/metrics.*\"\nstate = \"select\"\npackages = \"example.com/m/server/...\"\n";
        let s = load(text, &CommandLine::default()).unwrap();
        assert_eq!(s.grace.0, Duration::from_secs(2));
        assert!(matches!(s.grace.1, Source::File(_)));
        assert_eq!(s.test_timeout.0, None);
        assert_eq!(s.go_test_args.0, vec!["-race"]);
        assert_eq!(s.ignore.len(), 1);
        assert_eq!(s.ignore[0].kind, RuleKind::CreatedBy);
        assert_eq!(s.ignore[0].state.as_deref(), Some("select"));
        assert_eq!(
            s.ignore[0].packages.as_deref(),
            Some("example.com/m/server/...")
        );
        assert_eq!(
            s.ignore_rules().rules.len(),
            IgnoreRules::builtin().len() + 1
        );

        let cli = CommandLine {
            grace: Some(Duration::from_millis(500)),
            go_test_args: vec!["-count=2".into()],
            no_default_ignores: true,
            ..CommandLine::default()
        };
        let s = load(text, &cli).unwrap();
        assert_eq!(s.grace, (Duration::from_millis(500), Source::CommandLine));
        assert_eq!(s.go_test_args.0, vec!["-race", "-count=2"]);
        assert_eq!(s.ignore_rules().rules.len(), 1);
        let described = s.describe();
        assert!(
            described.contains("grace = \"500ms\"  # command line"),
            "{described}"
        );
        assert!(
            described.contains("created-by = \"github.com/acme/metrics.*\""),
            "{described}"
        );
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let err = load("grace = \"1s\"\ngrase = \"2s\"\n", &CommandLine::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("leakcheck.toml:2: unknown field `grase`"),
            "{msg}"
        );
        let err = load("\n\ngrace = \"soon\"\n", &CommandLine::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("leakcheck.toml:3: grace: invalid duration"),
            "{err}"
        );
        let err = load(
            "[[ignore]]\ntop = \"a\"\nany = \"b\"\n",
            &CommandLine::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("leakcheck.toml:1: ignore: give exactly one of"),
            "{err}"
        );
        let err = load(
            "[[ignore]]\ntop = \"a\"\nstat = \"x\"\n",
            &CommandLine::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `stat`"), "{err}");
        let err = load("go-test-args = [\"-nosuch\"]\n", &CommandLine::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("go-test-args: flag provided but not defined: -nosuch"),
            "{err}"
        );
    }

    #[test]
    fn no_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load(dir.path(), None, &CommandLine::default()).unwrap();
        assert_eq!(s.grace, (Duration::from_secs(1), Source::Default));
        assert!(s.file.is_none());
        assert!(Settings::load(
            dir.path(),
            Some(&dir.path().join("nope.toml")),
            &CommandLine::default()
        )
        .is_err());
    }

    #[test]
    fn chains_from_the_file_and_the_command_line() {
        let s = load("chains = true\n", &CommandLine::default()).unwrap();
        assert!(s.chains.0);
        assert!(matches!(s.chains.1, Source::File(_)));
        assert!(s.describe().contains("chains = true  # "));
        let off = CommandLine {
            chains: Some(false),
            ..CommandLine::default()
        };
        let s = load("chains = true\n", &off).unwrap();
        assert_eq!(s.chains, (false, Source::CommandLine));
        let s = load("", &CommandLine::default()).unwrap();
        assert_eq!(s.chains, (false, Source::Default));
        let err = load("chains = \"yes\"\n", &CommandLine::default()).unwrap_err();
        assert!(err.to_string().contains("leakcheck.toml:1"), "{err}");
    }
}
