//! Rules that exempt goroutines from leak checks.
//!
//! This module owns matching a goroutine against ignore rules: the built-in
//! defaults (goroutines that are never the user's leak: the testing
//! package's own, signal handling, the runtime's) and rules given by the
//! user. Pure logic, no I/O.

use crate::stack::Goroutine;

/// Where in a goroutine's stack a rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// The innermost (blocking) frame.
    Top,
    /// Any frame.
    Any,
    /// The `created by` function.
    CreatedBy,
}

/// One ignore rule: a function pattern, where to look for it, and
/// optionally the state the goroutine must be in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoreRule {
    pub kind: RuleKind,
    /// A full Go function name, or a prefix followed by `*`.
    pub pattern: String,
    pub state: Option<String>,
    /// Built in, rather than given by the user.
    pub builtin: bool,
}

impl IgnoreRule {
    pub fn new(kind: RuleKind, pattern: impl Into<String>) -> Self {
        IgnoreRule {
            kind,
            pattern: pattern.into(),
            state: None,
            builtin: false,
        }
    }

    fn builtin(kind: RuleKind, pattern: &str) -> Self {
        IgnoreRule {
            builtin: true,
            ..IgnoreRule::new(kind, pattern)
        }
    }

    /// Whether this rule exempts `g`.
    pub fn matches(&self, g: &Goroutine<'_>) -> bool {
        if let Some(state) = &self.state {
            if g.state != state {
                return false;
            }
        }
        match self.kind {
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
        }
    }

    /// How the rule is written on the command line.
    pub fn describe(&self) -> String {
        let flag = match self.kind {
            RuleKind::Top => "--ignore-top",
            RuleKind::Any => "--ignore-any",
            RuleKind::CreatedBy => "--ignore-created-by",
        };
        match &self.state {
            Some(state) => format!("{flag} {} --ignore-state '{state}'", self.pattern),
            None => format!("{flag} {}", self.pattern),
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Snapshot;

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
    fn builtins_ignore_testing_machinery_only() {
        let s = Snapshot::parse(DUMP);
        let rules = IgnoreRules::default();
        assert!(rules.matching(&s.goroutines[0]).is_some());
        assert!(rules.matching(&s.goroutines[1]).is_none());
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
