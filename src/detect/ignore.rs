//! Rules that exempt goroutines from leak checks.
//!
//! This module owns matching a goroutine against ignore rules: the built-in
//! defaults (goroutines that are never the user's leak: the testing
//! package's own, signal handling, the runtime's), rules given on the
//! command line or in `leakcheck.toml` (optionally for some packages only),
//! and `//leakcheck:ignore` directives in Go code. Pure logic, no I/O.

use crate::detect::stack::Goroutine;

/// Where in a goroutine's stack a rule looks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// The innermost (blocking) frame.
    Top,
    /// Any frame.
    Any,
    /// The `created by` function.
    CreatedBy,
    /// Created by the `go` statement at this file and line (a
    /// `//leakcheck:ignore` directive).
    CreatedAt { file: String, line: u32 },
    /// Every goroutine of this top-level test (a directive on the test).
    Test { name: String },
}

/// Where a rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOrigin {
    Builtin,
    CommandLine,
    /// A config file.
    Config(String),
    /// A `//leakcheck:ignore reason` directive at file:line.
    Directive {
        file: String,
        line: u32,
        reason: String,
    },
}

/// One ignore rule: a function pattern, where to look for it, and
/// optionally the state the goroutine must be in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoreRule {
    pub kind: RuleKind,
    /// A full Go function name, or a prefix followed by `*` (empty for
    /// directives).
    pub pattern: String,
    pub state: Option<String>,
    /// Built in, rather than given by the user.
    pub builtin: bool,
    /// Only for packages matching this pattern (`example.com/m/...`).
    pub packages: Option<String>,
    pub origin: RuleOrigin,
}

impl IgnoreRule {
    pub fn new(kind: RuleKind, pattern: impl Into<String>) -> Self {
        IgnoreRule {
            kind,
            pattern: pattern.into(),
            state: None,
            builtin: false,
            packages: None,
            origin: RuleOrigin::CommandLine,
        }
    }

    fn builtin(kind: RuleKind, pattern: &str) -> Self {
        IgnoreRule {
            builtin: true,
            origin: RuleOrigin::Builtin,
            ..IgnoreRule::new(kind, pattern)
        }
    }

    fn builtin_in_state(kind: RuleKind, pattern: &str, state: &str) -> Self {
        IgnoreRule {
            state: Some(state.to_string()),
            ..IgnoreRule::builtin(kind, pattern)
        }
    }

    /// Whether this rule exempts `g`.
    pub fn matches(&self, g: &Goroutine<'_>) -> bool {
        if let Some(state) = &self.state {
            if g.state != state {
                return false;
            }
        }
        match &self.kind {
            RuleKind::Top => g
                .frames
                .first()
                .is_some_and(|f| pattern_matches(&self.pattern, f.function)),
            RuleKind::Any => g
                .frames
                .iter()
                .any(|f| pattern_matches(&self.pattern, f.function)),
            RuleKind::CreatedBy => g
                .created_by
                .as_ref()
                .is_some_and(|c| pattern_matches(&self.pattern, c.function)),
            RuleKind::CreatedAt { file, line } => g
                .created_by
                .as_ref()
                .is_some_and(|c| c.line == *line && c.file == file),
            // Matched by test, not by goroutine: see `IgnoreRules::for_test`.
            RuleKind::Test { .. } => false,
        }
    }

    /// How the rule reads on the command line, or where it was written.
    pub fn describe(&self) -> String {
        let flag = match &self.kind {
            RuleKind::Top => "--ignore-top",
            RuleKind::Any => "--ignore-any",
            RuleKind::CreatedBy => "--ignore-created-by",
            RuleKind::CreatedAt { .. } | RuleKind::Test { .. } => {
                return match &self.origin {
                    RuleOrigin::Directive { file, line, reason } => {
                        format!("//leakcheck:ignore at {file}:{line} ({reason})")
                    }
                    _ => "//leakcheck:ignore".to_string(),
                };
            }
        };
        let mut s = format!("{flag} {}", self.pattern);
        if let Some(state) = &self.state {
            s.push_str(&format!(" --ignore-state '{state}'"));
        }
        if let Some(p) = &self.packages {
            s.push_str(&format!(" (packages {p})"));
        }
        if let RuleOrigin::Config(file) = &self.origin {
            s.push_str(&format!(" (from {file})"));
        }
        s
    }
}

/// `pattern` is a full function name or a prefix ending in `*`.
pub fn pattern_matches(pattern: &str, function: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => function.starts_with(prefix),
        None => pattern == function,
    }
}

/// The rules in force for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRules {
    pub rules: Vec<IgnoreRule>,
}

impl Default for IgnoreRules {
    fn default() -> Self {
        IgnoreRules {
            rules: Self::builtin(),
        }
    }
}

impl IgnoreRules {
    /// Goroutines that are never the user's leak.
    pub fn builtin() -> Vec<IgnoreRule> {
        vec![
            // Test runners, the timeout alarm, and other machinery of the
            // testing package itself.
            IgnoreRule::builtin(RuleKind::CreatedBy, "testing.*"),
            // signal.Notify's dispatch loop and the runtime's signal thread.
            IgnoreRule::builtin(RuleKind::CreatedBy, "os/signal.*"),
            IgnoreRule::builtin(RuleKind::Top, "os/signal.signal_recv"),
            // Goroutines the runtime starts for itself (signal M, tracer).
            IgnoreRule::builtin(RuleKind::CreatedBy, "runtime.*"),
            IgnoreRule::builtin(RuleKind::CreatedBy, "runtime/trace.*"),
            // An idle HTTP/1 keep-alive connection: the client transport's
            // reader waiting for the next response and its writer for the
            // next request, and the server's reader waiting for the next
            // request. A pool keeps them for reuse (http.DefaultTransport
            // for 90 s), whichever test dialled them; go test passes such
            // tests. A response body never closed keeps the reader in a
            // `select` instead: still reported (with a hint).
            IgnoreRule::builtin_in_state(
                RuleKind::Any,
                "net/http.(*persistConn).readLoop",
                "IO wait",
            ),
            IgnoreRule::builtin_in_state(
                RuleKind::Top,
                "net/http.(*persistConn).writeLoop",
                "select",
            ),
            IgnoreRule::builtin_in_state(RuleKind::Any, "net/http.(*conn).serve", "IO wait"),
        ]
    }

    /// No rules at all (`--no-default-ignores` with no user rules).
    pub fn none() -> Self {
        IgnoreRules { rules: Vec::new() }
    }

    /// The first rule that exempts `g`.
    pub fn matching(&self, g: &Goroutine<'_>) -> Option<&IgnoreRule> {
        self.rules.iter().find(|r| r.matches(g))
    }

    /// The rule that exempts every goroutine of top-level test `test`.
    pub fn for_test(&self, test: &str) -> Option<&IgnoreRule> {
        self.rules
            .iter()
            .find(|r| matches!(&r.kind, RuleKind::Test { name } if name == test))
    }

    /// The rules that apply to package `import_path`.
    pub fn for_package(&self, import_path: &str, directives: &[IgnoreRule]) -> IgnoreRules {
        let mut rules: Vec<IgnoreRule> = self
            .rules
            .iter()
            .filter(|r| {
                r.packages
                    .as_deref()
                    .is_none_or(|p| package_pattern_matches(p, import_path))
            })
            .cloned()
            .collect();
        rules.extend(directives.iter().cloned());
        IgnoreRules { rules }
    }
}

/// `go list`-style package patterns: an import path, where `...` matches
/// any string (`example.com/m/...` matches the module's every package).
pub fn package_pattern_matches(pattern: &str, import_path: &str) -> bool {
    let mut re = String::from("^");
    for (i, part) in pattern.split("...").enumerate() {
        if i > 0 {
            re.push_str(".*");
        }
        re.push_str(&regex::escape(part));
    }
    re.push('$');
    // `x/...` also matches `x` itself, as in go list.
    let re = re.replace("/.*$", "(/.*)?$");
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(import_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::stack::Snapshot;

    const DUMP: &str = "goroutine 7 [chan receive]:
testing.(*T).Run(0xc0000a0000, {0x5b2f0e, 0x5}, 0x5c3b40)
\t/go/src/testing/testing.go:1750 +0x3ab
created by testing.runTests.func1 in goroutine 1
\t/go/src/testing/testing.go:2161 +0x37

goroutine 9 [IO wait]:
internal/poll.runtime_pollWait(0x7f, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
net/http.(*persistConn).readLoop(0xc000)
\t/go/src/net/http/transport.go:2205 +0x1
created by github.com/acme/metrics.Start in goroutine 6
\t/src/metrics.go:10 +0x1
";

    #[test]
    fn builtins_ignore_machinery_and_idle_connections_only() {
        let s = Snapshot::parse(DUMP);
        let rules = IgnoreRules::default();
        assert!(rules.matching(&s.goroutines[0]).is_some());
        // An idle keep-alive connection's reader.
        assert!(rules.matching(&s.goroutines[1]).is_some());
        // A reader waiting for a body nobody closes is a leak.
        let waiting = DUMP
            .split("\n\n")
            .nth(1)
            .unwrap()
            .replace("[IO wait]", "[select]");
        let s = Snapshot::parse(&waiting);
        assert!(rules.matching(&s.goroutines[0]).is_none());
        let none = IgnoreRules::none();
        assert!(none.matching(&s.goroutines[0]).is_none());
    }

    #[test]
    fn package_patterns_like_go_list() {
        assert!(package_pattern_matches(
            "example.com/m/...",
            "example.com/m"
        ));
        assert!(package_pattern_matches(
            "example.com/m/...",
            "example.com/m/a/b"
        ));
        assert!(!package_pattern_matches(
            "example.com/m/...",
            "example.com/mx"
        ));
        assert!(package_pattern_matches(
            "example.com/m/a",
            "example.com/m/a"
        ));
        assert!(!package_pattern_matches(
            "example.com/m/a",
            "example.com/m/a/b"
        ));
        assert!(package_pattern_matches(
            "example.com/.../internal",
            "example.com/x/internal"
        ));
    }

    #[test]
    fn directives_match_creation_sites_and_tests() {
        let s = Snapshot::parse(DUMP);
        let g = &s.goroutines[1];
        let at = |file: &str, line| {
            IgnoreRule::new(
                RuleKind::CreatedAt {
                    file: file.into(),
                    line,
                },
                "",
            )
        };
        assert!(at("/src/metrics.go", 10).matches(g));
        assert!(!at("/src/metrics.go", 11).matches(g));
        let rules = IgnoreRules {
            rules: vec![IgnoreRule::new(
                RuleKind::Test {
                    name: "TestA".into(),
                },
                "",
            )],
        };
        assert!(rules.for_test("TestA").is_some());
        assert!(rules.for_test("TestB").is_none());
        assert!(rules.matching(g).is_none());
    }

    #[test]
    fn kinds_prefixes_and_states() {
        let s = Snapshot::parse(DUMP);
        let g = &s.goroutines[1];
        assert!(IgnoreRule::new(RuleKind::Top, "internal/poll.runtime_pollWait").matches(g));
        assert!(!IgnoreRule::new(RuleKind::Top, "net/http.(*persistConn).readLoop").matches(g));
        assert!(IgnoreRule::new(RuleKind::Any, "net/http.(*persistConn).readLoop").matches(g));
        assert!(IgnoreRule::new(RuleKind::CreatedBy, "github.com/acme/metrics.*").matches(g));
        assert!(!IgnoreRule::new(RuleKind::CreatedBy, "github.com/acme/metric").matches(g));
        let mut r = IgnoreRule::new(RuleKind::Any, "net/http.*");
        r.state = Some("IO wait".into());
        assert!(r.matches(g));
        r.state = Some("select".into());
        assert!(!r.matches(g));
    }
}
