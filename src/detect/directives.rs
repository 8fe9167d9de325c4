//! `//leakcheck:ignore reason` directives in Go source.
//!
//! - On the line of a `go` statement, or alone on the line above it: the
//!   goroutines created at that line are ignored.
//! - On the line of a `func TestXxx(`, or alone on the line above it: all
//!   of that test's leaks are ignored.
//!
//! The reason is required; a directive without one, or one that is on
//! neither kind of line, is an error naming its file:line. This module
//! owns finding directives in source text ([`parse`], pure) and reading a
//! package's files for them ([`read_package`]).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::detect::ignore::{IgnoreRule, RuleKind, RuleOrigin};
use crate::error::Error;
use crate::go::cmd::GoPackage;

static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"//leakcheck:ignore\b(.*)$").expect("valid regex"));
static GO_STMT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s;{(])go\s+[A-Za-z_(]").expect("valid regex"));
static TEST_FUNC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*func\s+(Test[A-Za-z0-9_]*)\s*\(").expect("valid regex"));

/// The code of a line before any `//` comment (good enough for Go source:
/// a `//` inside a string literal only makes a directive unrecognised).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// The ignore rules the directives in `text` (the file at `path`) make.
pub fn parse(path: &Path, text: &str) -> Result<Vec<IgnoreRule>, Error> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(c) = DIRECTIVE.captures(line) else {
            continue;
        };
        // Only a comment of its own: not text inside another comment.
        if line[..c.get(0).map_or(0, |m| m.start())].contains("//") {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let reason = c[1].trim();
        if reason.is_empty() {
            return Err(Error::Usage(format!(
                "{at}: //leakcheck:ignore needs a reason, e.g. `//leakcheck:ignore the pool lives for the whole process`"
            )));
        }
        let code = code_of(line);
        // The directive's own line, or the line below when it stands alone.
        let (target, target_no) = if code.trim().is_empty() {
            match lines.get(i + 1) {
                Some(next) => (code_of(next), i + 2),
                None => ("", i + 2),
            }
        } else {
            (code, i + 1)
        };
        let origin = RuleOrigin::Directive {
            file: path.display().to_string(),
            line: i as u32 + 1,
            reason: reason.to_string(),
        };
        let kind = if let Some(t) = TEST_FUNC.captures(target) {
            RuleKind::Test {
                name: t[1].to_string(),
            }
        } else if GO_STMT.is_match(target) {
            RuleKind::CreatedAt {
                file: path.display().to_string(),
                line: target_no as u32,
            }
        } else {
            return Err(Error::Usage(format!(
                "{at}: //leakcheck:ignore must be on (or just above) a `go` statement or a `func TestXxx` line"
            )));
        };
        rules.push(IgnoreRule {
            origin,
            ..IgnoreRule::new(kind, "")
        });
    }
    Ok(rules)
}

/// The directives in all of `pkg`'s Go files.
pub fn read_package(pkg: &GoPackage) -> Result<Vec<IgnoreRule>, Error> {
    let mut rules = Vec::new();
    let files: Vec<PathBuf> = pkg
        .go_files
        .iter()
        .chain(&pkg.test_go_files)
        .chain(&pkg.x_test_go_files)
        .map(|f| pkg.dir.join(f))
        .collect();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if text.contains("//leakcheck:ignore") {
            rules.extend(parse(&path, &text)?);
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "package p

func start() {
\tgo pool.run() //leakcheck:ignore the pool lives for the process
\t//leakcheck:ignore flusher is stopped by TestMain
\tgo func() {
\t\tflush()
\t}()
}

//leakcheck:ignore known leak in vendored client, see #12
func TestClient(t *testing.T) {}

func TestOther(t *testing.T) { //leakcheck:ignore waits for upstream fix
}
";

    #[test]
    fn finds_go_statement_and_test_directives() {
        let rules = parse(Path::new("/m/p/p.go"), SRC).unwrap();
        let kinds: Vec<&RuleKind> = rules.iter().map(|r| &r.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &RuleKind::CreatedAt {
                    file: "/m/p/p.go".into(),
                    line: 4
                },
                &RuleKind::CreatedAt {
                    file: "/m/p/p.go".into(),
                    line: 6
                },
                &RuleKind::Test {
                    name: "TestClient".into()
                },
                &RuleKind::Test {
                    name: "TestOther".into()
                },
            ]
        );
        assert_eq!(
            rules[0].origin,
            RuleOrigin::Directive {
                file: "/m/p/p.go".into(),
                line: 4,
                reason: "the pool lives for the process".into()
            }
        );
        assert_eq!(
            rules[2].describe(),
            "//leakcheck:ignore at /m/p/p.go:11 (known leak in vendored client, see #12)"
        );
    }

    #[test]
    fn mentions_inside_other_comments_are_not_directives() {
        let src = "// Package p documents //leakcheck:ignore: on a go statement.\npackage p\n";
        assert!(parse(Path::new("/m/p/p.go"), src).unwrap().is_empty());
    }

    #[test]
    fn a_reason_is_required() {
        let err = parse(
            Path::new("/m/p/p.go"),
            "package p\n\nfunc f() {\n\tgo g() //leakcheck:ignore\n}\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/m/p/p.go:4: //leakcheck:ignore needs a reason, e.g. `//leakcheck:ignore the pool lives for the whole process`"
        );
    }

    #[test]
    fn a_directive_must_be_at_a_go_statement_or_test() {
        let err = parse(
            Path::new("/m/p/p.go"),
            "package p\n\nvar x = 1 //leakcheck:ignore why\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/m/p/p.go:3: //leakcheck:ignore must be on"),
            "{err}"
        );
        // `gopher` is not a go statement.
        assert!(parse(
            Path::new("/m/p/p.go"),
            "x := gopher(1) //leakcheck:ignore why\n"
        )
        .is_err());
    }
}
