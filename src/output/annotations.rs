//! GitHub Actions annotations (`--annotations github`, or automatically
//! when `GITHUB_ACTIONS=true`): this module owns choosing what to annotate
//! and the workflow-command text, escaping included. Pure logic; the CLI
//! prints the lines.
//!
//! - Every leak group of a leaking (or failed) test is one
//!   `::error file=F,line=L,title=T::MESSAGE` at the group's origin (the
//!   module's own line that led to it, see [`Leak::origin`]), or else its
//!   creation site, so the pull request's diff shows it where the fix
//!   goes; the message names the creation site and the test's `via` line.
//! - A hung test is one annotation at the blocking line of its own
//!   goroutine (the first group of its hang report).
//! - A crashed test is one annotation at the innermost frame in the
//!   repository of the crashing goroutine (none when there is no such
//!   frame).
//! - A package that failed to build, or whose binary failed outside any
//!   test, is one annotation without a location.
//!
//! Files are relative to the repository root; a site outside it (the
//! standard library, the module cache) falls back to the group's blocking
//! frame, and to no location when that is outside too.

use std::path::Path;

use crate::detect::compare::Leak;
use crate::detect::stack::Snapshot;
use crate::output::report::{PackageOutcome, Report, TestOutcome};

/// One `::error` workflow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Relative to the repository root.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub title: String,
    pub message: String,
}

impl Annotation {
    /// The workflow command, one line, without its newline.
    pub fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(f) = &self.file {
            props.push(format!("file={}", escape_property(f)));
            if let Some(l) = self.line {
                props.push(format!("line={l}"));
            }
        }
        props.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::error {}::{}",
            props.join(","),
            escape_data(&self.message)
        )
    }
}

/// Escapes a workflow command's message: `%`, `\r`, `\n`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as [`escape_data`], and
/// `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `file` relative to the first of `roots` it is under, if any (a
/// relative `file` is taken as it is).
fn relative(file: &str, roots: &[impl AsRef<Path>]) -> Option<String> {
    let path = Path::new(file);
    if file.is_empty() {
        return None;
    }
    if path.is_relative() {
        return Some(file.to_string());
    }
    roots
        .iter()
        .find_map(|root| path.strip_prefix(root.as_ref()).ok())
        .map(|rel| rel.display().to_string())
}

/// Where to annotate a leak group: its origin (the module's own line that
/// led to it) or else its creation site, when in the repository; else its
/// blocking frame.
fn leak_site(l: &Leak, root: &[impl AsRef<Path>]) -> (Option<String>, Option<u32>) {
    if let Some(o) = &l.origin {
        if let Some(f) = relative(&o.file, root) {
            return (Some(f), Some(o.line));
        }
    }
    if let Some(c) = &l.created_by {
        if let Some(f) = relative(&c.file, root) {
            return (Some(f), Some(c.line));
        }
    }
    match relative(&l.file, root) {
        Some(f) => (Some(f), Some(l.line)),
        None => (None, None),
    }
}

/// Where a crash happened: the innermost frame in the repository of the
/// first goroutine in `details` (the crashing one).
fn crash_site(details: &str, root: &[impl AsRef<Path>]) -> Option<(String, u32)> {
    let snapshot = Snapshot::parse(details);
    let g = snapshot.goroutines.first()?;
    g.frames.iter().find_map(|f| {
        relative(f.file, root)
            .filter(|_| Path::new(f.file).is_absolute())
            .map(|rel| (rel, f.line))
    })
}

/// Every annotation for `report`, paths relative to the repository root
/// (`roots`: the spellings it may have in the report's paths).
pub fn annotations(report: &Report, root: &[impl AsRef<Path>]) -> Vec<Annotation> {
    let mut out = Vec::new();
    for p in &report.packages {
        let pkg = &p.import_path;
        let test_failed = p.tests.iter().any(|t| t.outcome.is_failure());
        match (p.outcome, &p.error) {
            (PackageOutcome::BuildError, error) => out.push(Annotation {
                file: None,
                line: None,
                title: format!("{pkg}: build failed"),
                message: error.as_deref().unwrap_or("build failed").trim_end().into(),
            }),
            (PackageOutcome::Fail | PackageOutcome::Crash, Some(error)) if !test_failed => out
                .push(Annotation {
                    file: None,
                    line: None,
                    title: format!("{pkg}: failed"),
                    message: error.trim_end().into(),
                }),
            _ => {}
        }
        for t in &p.tests {
            let name = &t.name;
            match t.outcome {
                TestOutcome::Hang => {
                    let (file, line) = t
                        .leaks
                        .first()
                        .and_then(|l| relative(&l.file, root).map(|f| (f, l.line)))
                        .map_or((None, None), |(f, l)| (Some(f), Some(l)));
                    let mut message = t.details.clone().unwrap_or_else(|| format!("{name} hung"));
                    if let Some(l) = t.leaks.first() {
                        message
                            .push_str(&format!("\nblocked here [{}] in {}", l.state, l.function));
                    }
                    out.push(Annotation {
                        file,
                        line,
                        title: format!("{name} hung ({pkg})"),
                        message,
                    });
                }
                TestOutcome::Crash => {
                    let details = t
                        .details
                        .as_deref()
                        .unwrap_or("the test binary died while this test ran")
                        .trim_end();
                    let (file, line) =
                        crash_site(details, root).map_or((None, None), |(f, l)| (Some(f), Some(l)));
                    out.push(Annotation {
                        file,
                        line,
                        title: format!("{name} crashed ({pkg})"),
                        message: details.into(),
                    })
                }
                TestOutcome::Leak | TestOutcome::Fail => {
                    for l in &t.leaks {
                        let (file, line) = leak_site(l, root);
                        // The subtest that started them, if one did.
                        let who = if l.subtest.is_empty() {
                            name
                        } else {
                            &l.subtest
                        };
                        let mut message = format!(
                            "{} [{}] started here outlived {who} ({pkg})",
                            plural(l.count, "goroutine"),
                            l.state,
                        );
                        message.push_str(&format!(
                            "\n{} {} ({}:{})",
                            crate::output::reporter::where_word(&l.state),
                            l.function,
                            relative(&l.file, root).unwrap_or_else(|| l.file.clone()),
                            l.line
                        ));
                        if let Some(c) = &l.created_by {
                            message.push_str(&format!("\ncreated by {}", c.function));
                        }
                        for (word, at) in crate::output::reporter::origin_and_via_lines(l) {
                            message.push_str(&format!(
                                "\n{word} {} ({}:{})",
                                at.function,
                                relative(&at.file, root).unwrap_or_else(|| at.file.clone()),
                                at.line
                            ));
                        }
                        for k in &l.keeps_alive {
                            message.push_str(&format!(
                                "\nkeeps alive {} allocated at {} ({}:{})",
                                crate::detect::resources::human_bytes(k.bytes),
                                k.site.function,
                                relative(&k.site.file, root).unwrap_or_else(|| k.site.file.clone()),
                                k.site.line
                            ));
                        }
                        if !l.ambiguous_with.is_empty() {
                            message.push_str(&format!(
                                "\nowner ambiguous: may belong to {} instead",
                                l.ambiguous_with.join(", ")
                            ));
                        }
                        out.push(Annotation {
                            file,
                            line,
                            title: format!("{who} leaked {}", plural(l.count, "goroutine")),
                            message,
                        });
                    }
                    // Resources (--check): at the allocation site, if
                    // known (heap), else on the test.
                    for r in &t.resources {
                        let at = r
                            .site
                            .as_ref()
                            .and_then(|s| Some((relative(&s.file, root)?, s.line)));
                        let mut message = format!(
                            "{} {} outlived {name} ({pkg})",
                            r.kind.as_str(),
                            r.description
                        );
                        if let Some(s) = &r.site {
                            message.push_str(&format!("\nallocated in {}", s.function));
                        }
                        if !r.ambiguous_with.is_empty() {
                            message.push_str(&format!(
                                "\nowner ambiguous: may belong to {} instead",
                                r.ambiguous_with.join(", ")
                            ));
                        }
                        out.push(Annotation {
                            file: at.as_ref().map(|a| a.0.clone()),
                            line: at.map(|a| a.1),
                            title: match (r.kind, r.bytes) {
                                (crate::detect::resources::ResourceKind::Heap, Some(b)) => format!(
                                    "{name} kept {} of heap",
                                    crate::detect::resources::human_bytes(b)
                                ),
                                (kind, _) => format!("{name} leaked a {}", kind.as_str()),
                            },
                            message,
                        });
                    }
                }
                TestOutcome::Pass | TestOutcome::Skip => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::Location;
    use crate::output::report::{PackageReport, TestReport};

    fn leak(created: &str, line: u32) -> Leak {
        Leak {
            count: 2,
            function: "example.com/m/p.F.func1".into(),
            file: "/repo/m/p/p.go".into(),
            line: 31,
            created_by: Some(Location {
                function: "example.com/m/p.F".into(),
                file: created.into(),
                line,
            }),
            goroutine_ids: vec![7, 8],
            stack: String::new(),
            ..Leak::example()
        }
    }

    fn test(name: &str, outcome: TestOutcome, leaks: Vec<Leak>) -> TestReport {
        TestReport {
            elapsed_ms: 1.0,
            ..TestReport::new(name, outcome, leaks)
        }
    }

    fn report(tests: Vec<TestReport>) -> Report {
        Report::new(
            "go1.26.0".into(),
            vec![PackageReport {
                import_path: "example.com/m/p".into(),
                outcome: PackageOutcome::Fail,
                error: None,
                elapsed_ms: 5.0,
                tests,
            }],
        )
    }

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            escape_property("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext%3A a%2Cb"
        );
        // `%` first, so escapes are not escaped twice.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn command_format() {
        let a = Annotation {
            file: Some("dir/a,b.go".into()),
            line: Some(12),
            title: "TestX: leaked, twice".into(),
            message: "line one\nline two: 100%".into(),
        };
        assert_eq!(
            a.command(),
            "::error file=dir/a%2Cb.go,line=12,title=TestX%3A leaked%2C twice::line one%0Aline two: 100%25"
        );
        let no_file = Annotation {
            file: None,
            line: Some(3),
            title: "t".into(),
            message: "m".into(),
        };
        assert_eq!(no_file.command(), "::error title=t::m");
    }

    #[test]
    fn one_annotation_per_leak_group_at_its_creation_site() {
        let mut other = leak("/repo/m/p/q.go", 40);
        other.count = 1;
        other.ambiguous_with = vec!["TestY".into()];
        let r = report(vec![
            test("TestPass", TestOutcome::Pass, vec![]),
            test(
                "TestLeak",
                TestOutcome::Leak,
                vec![leak("/repo/m/p/p.go", 30), other],
            ),
        ]);
        let a = annotations(&r, &["/repo"]);
        assert_eq!(a.len(), 2, "{a:#?}");
        assert_eq!(a[0].file.as_deref(), Some("m/p/p.go"));
        assert_eq!(a[0].line, Some(30));
        assert_eq!(a[0].title, "TestLeak leaked 2 goroutines");
        assert_eq!(
            a[0].message,
            "2 goroutines [chan send] started here outlived TestLeak (example.com/m/p)\n\
             blocked at example.com/m/p.F.func1 (m/p/p.go:31)\ncreated by example.com/m/p.F"
        );
        assert!(a[0]
            .command()
            .starts_with("::error file=m/p/p.go,line=30,title=TestLeak leaked 2 goroutines::2 goroutines [chan send] started here"));
        assert_eq!(a[1].file.as_deref(), Some("m/p/q.go"));
        assert_eq!(a[1].line, Some(40));
        assert!(a[1].message.contains("may belong to TestY instead"));
    }

    #[test]
    fn resources_are_annotated_at_their_allocation_site_or_on_the_test() {
        use crate::detect::resources::{Resource, ResourceKind};
        let mut t = test("TestKeep", TestOutcome::Leak, vec![]);
        t.resources = vec![
            Resource {
                kind: ResourceKind::Heap,
                description: "10.0 MiB more live heap allocated here".into(),
                count: 1,
                bytes: Some(10 << 20),
                site: Some(Location {
                    function: "example.com/m/p.hold".into(),
                    file: "/repo/m/p/p.go".into(),
                    line: 14,
                }),
                ambiguous_with: vec![],
                known: false,
            },
            Resource {
                kind: ResourceKind::Process,
                description: "pid 42: sleep 30".into(),
                count: 1,
                bytes: None,
                site: None,
                ambiguous_with: vec!["TestOther".into()],
                known: false,
            },
        ];
        let a = annotations(&report(vec![t]), &["/repo"]);
        assert_eq!(a.len(), 2, "{a:#?}");
        assert_eq!(
            (a[0].file.as_deref(), a[0].line),
            (Some("m/p/p.go"), Some(14))
        );
        assert_eq!(a[0].title, "TestKeep kept 10.0 MiB of heap");
        assert!(a[0].message.contains("allocated in example.com/m/p.hold"));
        assert_eq!((a[1].file.as_deref(), a[1].line), (None, None));
        assert_eq!(a[1].title, "TestKeep leaked a process");
        assert!(a[1]
            .message
            .starts_with("process pid 42: sleep 30 outlived TestKeep"));
        assert!(a[1].message.contains("may belong to TestOther instead"));
    }

    #[test]
    fn creation_outside_the_repository_falls_back_to_the_blocking_frame() {
        let outside = leak("/usr/lib/go/src/net/http/server.go", 3000);
        let r = report(vec![test("TestServe", TestOutcome::Fail, vec![outside])]);
        let a = annotations(&r, &["/repo"]);
        assert_eq!(a[0].file.as_deref(), Some("m/p/p.go"));
        assert_eq!(a[0].line, Some(31));
        // Nothing in the repository at all: no location.
        let r = report(vec![test(
            "TestServe",
            TestOutcome::Fail,
            vec![leak("/x/y.go", 1)],
        )]);
        let a = annotations(&r, &["/elsewhere"]);
        assert_eq!((a[0].file.clone(), a[0].line), (None, None));
        assert!(a[0].command().starts_with("::error title=TestServe leaked"));
    }

    #[test]
    fn hung_test_annotates_its_own_blocking_line() {
        let mut own = leak("/usr/lib/go/src/testing/testing.go", 1700);
        own.count = 1;
        own.state = "chan receive".into();
        own.file = "/repo/m/p/p_test.go".into();
        own.line = 14;
        let mut t = test(
            "TestHang",
            TestOutcome::Hang,
            vec![own, leak("/repo/m/p/p.go", 30)],
        );
        t.details = Some("TestHang still running after --test-timeout".into());
        let a = annotations(&report(vec![t]), &["/repo"]);
        assert_eq!(a.len(), 1, "{a:#?}");
        assert_eq!(a[0].file.as_deref(), Some("m/p/p_test.go"));
        assert_eq!(a[0].line, Some(14));
        assert_eq!(a[0].title, "TestHang hung (example.com/m/p)");
        assert!(a[0]
            .command()
            .ends_with("::TestHang still running after --test-timeout%0Ablocked here [chan receive] in example.com/m/p.F.func1"));
    }

    #[test]
    fn crashes_and_build_errors() {
        let mut t = test("TestBoom", TestOutcome::Crash, vec![]);
        t.details = Some("panic: boom\n\ngoroutine 7 [running]:".into());
        let mut located = test("TestPanic", TestOutcome::Crash, vec![]);
        located.details = Some(
            "panic: boom [recovered]\n\ngoroutine 6 [running]:\n\
             testing.tRunner.func1.2({0x5961c0, 0x5ebcb0})\n\t/usr/local/go/src/testing/testing.go:1974 +0x232\n\
             panic({0x5961c0?, 0x5ebcb0?})\n\t/usr/local/go/src/runtime/panic.go:860 +0x13a\n\
             example.com/m/p.TestPanic(0xc000007a0?)\n\t/repo/m/p/p_test.go:17 +0x25\n\
             example.com/m/p.leakcheckRunTest(0xc0000)\n\t/repo/m/p/zz_leakcheck_run_test.go:160 +0x40e\n\
             testing.tRunner(0xc0000, 0xc0001)\n\t/usr/local/go/src/testing/testing.go:2036 +0xea\n\
             created by testing.(*T).Run in goroutine 1\n\t/usr/local/go/src/testing/testing.go:2101 +0x4c5\n"
                .into(),
        );
        let a = annotations(&report(vec![located]), &["/repo"]);
        assert_eq!(
            (a[0].file.as_deref(), a[0].line),
            (Some("m/p/p_test.go"), Some(17))
        );
        assert!(a[0].message.starts_with("panic: boom [recovered]\n"));
        let mut r = report(vec![t]);
        r.packages.push(PackageReport {
            import_path: "example.com/m/bad".into(),
            outcome: PackageOutcome::BuildError,
            error: Some("bad/bad.go:3:1: syntax error\n".into()),
            elapsed_ms: 0.0,
            tests: vec![],
        });
        let cmds: Vec<String> = annotations(&r, &["/repo"])
            .iter()
            .map(Annotation::command)
            .collect();
        assert_eq!(
            cmds,
            [
                "::error title=TestBoom crashed (example.com/m/p)::panic: boom%0A%0Agoroutine 7 [running]:",
                "::error title=example.com/m/bad%3A build failed::bad/bad.go:3:1: syntax error",
            ]
        );
    }
}
