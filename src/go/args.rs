//! Splitting `go test` arguments the way `go test` does: packages, build
//! flags (for `go test -c`), and test flags (for the test binary, as
//! `-test.NAME`).
//!
//! This module owns the table of `go test` flags. Pure logic, no I/O: an
//! unknown or malformed flag is an error before anything is built.

use crate::error::Error;

/// Where a flag goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    Build,
    Test,
    /// `-json`: leakcheck's own `--json`.
    Json,
    /// Meaningless for leakcheck (`-c`, `-o`, `-exec`...): refused.
    Refused,
}

struct FlagSpec {
    name: &'static str,
    takes_value: bool,
    dest: Dest,
}

const fn flag(name: &'static str, takes_value: bool, dest: Dest) -> FlagSpec {
    FlagSpec {
        name,
        takes_value,
        dest,
    }
}

/// `go help build` and `go help testflag`.
const FLAGS: &[FlagSpec] = &[
    // Build flags.
    flag("a", false, Dest::Build),
    flag("asan", false, Dest::Build),
    flag("asmflags", true, Dest::Build),
    flag("buildmode", true, Dest::Build),
    flag("buildvcs", true, Dest::Build),
    flag("compiler", true, Dest::Build),
    flag("cover", false, Dest::Build),
    flag("covermode", true, Dest::Build),
    flag("coverpkg", true, Dest::Build),
    flag("gccgoflags", true, Dest::Build),
    flag("gcflags", true, Dest::Build),
    flag("installsuffix", true, Dest::Build),
    flag("ldflags", true, Dest::Build),
    flag("linkshared", false, Dest::Build),
    flag("mod", true, Dest::Build),
    flag("modcacherw", false, Dest::Build),
    flag("modfile", true, Dest::Build),
    flag("msan", false, Dest::Build),
    flag("n", false, Dest::Refused),
    flag("overlay", true, Dest::Build),
    flag("p", true, Dest::Build),
    flag("pgo", true, Dest::Build),
    flag("pkgdir", true, Dest::Build),
    flag("race", false, Dest::Build),
    flag("tags", true, Dest::Build),
    flag("toolexec", true, Dest::Build),
    flag("trimpath", false, Dest::Build),
    flag("work", false, Dest::Build),
    flag("x", false, Dest::Build),
    flag("vet", true, Dest::Build),
    // go test's own flags that make no sense under leakcheck.
    flag("c", false, Dest::Refused),
    flag("o", true, Dest::Refused),
    flag("exec", true, Dest::Refused),
    flag("i", false, Dest::Refused),
    flag("json", false, Dest::Json),
    // Test flags.
    flag("bench", true, Dest::Test),
    flag("benchmem", false, Dest::Test),
    flag("benchtime", true, Dest::Test),
    flag("blockprofile", true, Dest::Test),
    flag("blockprofilerate", true, Dest::Test),
    flag("count", true, Dest::Test),
    flag("coverprofile", true, Dest::Test),
    flag("cpu", true, Dest::Test),
    flag("cpuprofile", true, Dest::Test),
    flag("failfast", false, Dest::Test),
    flag("fullpath", false, Dest::Test),
    flag("fuzz", true, Dest::Test),
    flag("fuzzminimizetime", true, Dest::Test),
    flag("fuzztime", true, Dest::Test),
    flag("list", true, Dest::Test),
    flag("memprofile", true, Dest::Test),
    flag("memprofilerate", true, Dest::Test),
    flag("mutexprofile", true, Dest::Test),
    flag("mutexprofilefraction", true, Dest::Test),
    flag("outputdir", true, Dest::Test),
    flag("parallel", true, Dest::Test),
    flag("run", true, Dest::Test),
    flag("short", false, Dest::Test),
    flag("shuffle", true, Dest::Test),
    flag("skip", true, Dest::Test),
    flag("timeout", true, Dest::Test),
    flag("trace", true, Dest::Test),
    flag("v", false, Dest::Test),
    flag("artifacts", false, Dest::Test),
];

/// `go test` arguments, split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoTestArgs {
    pub packages: Vec<String>,
    /// Flags for `go list` and `go test -c`, as written (`-tags=x`).
    pub build_flags: Vec<String>,
    /// Flags for the test binary, renamed (`-test.run=X`).
    pub test_flags: Vec<String>,
    /// `-json` was given.
    pub json: bool,
    /// `-v` was given.
    pub verbose: bool,
    /// The value of `-timeout`, if given.
    pub timeout: Option<String>,
    /// The value of `-count`, if given.
    pub count: Option<u32>,
    /// The value of `-overlay`, if given (merged with leakcheck's).
    pub overlay: Option<String>,
    /// Coverage is on (`-cover`, `-coverpkg`, `-covermode` or
    /// `-coverprofile`).
    pub cover: bool,
    /// The value of `-coverprofile`, if given: leakcheck merges the
    /// packages' profiles into it, as `go test` does.
    pub cover_profile: Option<String>,
    /// The value of `-covermode`, if given.
    pub cover_mode: Option<String>,
    /// Arguments after the packages, for the test binary as they are
    /// (`go test pkg -args ...`).
    pub args: Vec<String>,
}

impl GoTestArgs {
    /// Whether `go test` would show all test output, passing packages'
    /// too: with `-v`, and with `-list` and `-bench`, whose output is the
    /// point.
    pub fn shows_all_output(&self) -> bool {
        self.verbose
            || self
                .test_flags
                .iter()
                .any(|f| f.starts_with("-test.list=") || f.starts_with("-test.bench="))
    }

    /// Splits `args` as `go test` would, after the flags that `GOFLAGS`
    /// holds (`goflags`): those `go test` knows apply unless the command
    /// line sets them again; others are ignored, as the go command ignores
    /// them.
    pub fn parse_with_goflags<S: AsRef<str>>(
        args: &[S],
        goflags: Option<&str>,
    ) -> Result<GoTestArgs, Error> {
        let mut all: Vec<String> = goflags
            .unwrap_or("")
            .split_whitespace()
            .filter(|entry| {
                let body = entry.trim_start_matches('-');
                let name = body.split('=').next().unwrap_or(body);
                let name = name.strip_prefix("test.").unwrap_or(name);
                entry.starts_with('-')
                    && FLAGS
                        .iter()
                        .any(|f| f.name == name && f.dest != Dest::Refused)
            })
            .map(str::to_string)
            .collect();
        all.extend(args.iter().map(|a| a.as_ref().to_string()));
        Self::parse(&all).map_err(|e| match e {
            Error::Usage(m) if goflags.is_some_and(|g| !g.trim().is_empty()) => {
                Error::Usage(format!("{m} (GOFLAGS={})", goflags.unwrap_or("")))
            }
            e => e,
        })
    }

    /// Splits `args` as `go test` would. Packages and flags may be mixed;
    /// `-args` passes everything after it to the test binary.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<GoTestArgs, Error> {
        let mut out = GoTestArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            if arg == "-args" || arg == "--args" {
                out.args = args[i..].iter().map(|a| a.as_ref().to_string()).collect();
                break;
            }
            if !arg.starts_with('-') || arg == "-" {
                out.packages.push(arg.to_string());
                continue;
            }
            let body = arg.trim_start_matches('-');
            if arg.starts_with("---") || body.is_empty() {
                return Err(Error::Usage(format!("bad flag syntax: {arg}")));
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let name = name.strip_prefix("test.").unwrap_or(name);
            let Some(spec) = FLAGS.iter().find(|f| f.name == name) else {
                return Err(Error::Usage(format!(
                    "flag provided but not defined: -{name} (see `go help testflag` and `go help build`)"
                )));
            };
            let value = if spec.takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let Some(v) = args.get(i) else {
                            return Err(Error::Usage(format!("flag needs an argument: -{name}")));
                        };
                        i += 1;
                        Some(v.as_ref().to_string())
                    }
                }
            } else {
                if let Some(v) = &inline {
                    if !matches!(
                        v.as_str(),
                        "true"
                            | "false"
                            | "1"
                            | "0"
                            | "t"
                            | "f"
                            | "T"
                            | "F"
                            | "TRUE"
                            | "FALSE"
                            | "True"
                            | "False"
                            | "test2json"
                    ) {
                        return Err(Error::Usage(format!(
                            "invalid boolean value {v:?} for -{name}"
                        )));
                    }
                }
                inline
            };
            let on = value
                .as_deref()
                .is_none_or(|v| v.starts_with(['t', 'T', '1']));
            match spec.dest {
                Dest::Refused => {
                    return Err(Error::Usage(format!(
                        "-{name} is not supported by leakcheck (it builds and runs the test binaries itself)"
                    )));
                }
                Dest::Json => out.json = on,
                Dest::Build => {
                    if name == "overlay" {
                        out.overlay = value;
                        continue;
                    }
                    match name {
                        "cover" => out.cover = on,
                        "coverpkg" => out.cover = true,
                        "covermode" => {
                            out.cover = true;
                            out.cover_mode = value.clone();
                        }
                        _ => {}
                    }
                    out.build_flags.push(match value {
                        Some(v) => format!("-{name}={v}"),
                        None => format!("-{name}"),
                    });
                }
                Dest::Test => {
                    validate_test_value(name, value.as_deref())?;
                    match name {
                        "v" => out.verbose = on,
                        "timeout" => out.timeout = value.clone(),
                        "count" => out.count = value.as_deref().and_then(|v| v.parse().ok()),
                        "fuzz" if value.as_deref().is_some_and(|v| !v.is_empty()) => {
                            return Err(Error::Usage(
                                "-fuzz is not supported by leakcheck: the fuzzing engine runs inputs in worker processes it does not follow (without -fuzz, a fuzz target's seed corpus runs and is checked like tests)".to_string(),
                            ));
                        }
                        "coverprofile" => {
                            out.cover = true;
                            out.cover_profile = value.clone();
                        }
                        _ => {}
                    }
                    if matches!(name, "v" | "timeout" | "coverprofile") {
                        continue; // leakcheck passes these itself
                    }
                    out.test_flags.push(match value {
                        Some(v) => format!("-test.{name}={v}"),
                        None => format!("-test.{name}"),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Checks values that `go test` would reject before building.
fn validate_test_value(name: &str, value: Option<&str>) -> Result<(), Error> {
    let Some(v) = value else { return Ok(()) };
    let bad = |what: &str| Error::Usage(format!("invalid value {v:?} for flag -{name}: {what}"));
    match name {
        "count" | "parallel" | "memprofilerate" | "blockprofilerate" | "mutexprofilefraction" => {
            v.parse::<i64>().map_err(|_| bad("not an integer"))?;
        }
        "timeout" | "fuzzminimizetime" => {
            crate::duration::parse_go_duration(v).map_err(|e| bad(&e))?;
        }
        "run" | "skip" | "bench" | "list" => {
            for part in v.split('/') {
                regex::Regex::new(part).map_err(|e| bad(&format!("bad regexp: {e}")))?;
            }
        }
        "cpu" => {
            for n in v.split(',') {
                n.trim()
                    .parse::<u32>()
                    .map_err(|_| bad("not a list of integers"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_packages_build_and_test_flags() {
        let a = GoTestArgs::parse(&[
            "-race",
            "-tags",
            "a,b",
            "./x/...",
            "-run=TestA",
            "-count",
            "3",
            "-v",
            "-short",
            "pkg/y",
            "-timeout=30s",
            "-ldflags=-s -w",
        ])
        .unwrap();
        assert_eq!(a.packages, vec!["./x/...", "pkg/y"]);
        assert_eq!(a.build_flags, vec!["-race", "-tags=a,b", "-ldflags=-s -w"]);
        assert_eq!(
            a.test_flags,
            vec!["-test.run=TestA", "-test.count=3", "-test.short"]
        );
        assert!(a.verbose);
        assert_eq!(a.count, Some(3));
        assert_eq!(a.timeout.as_deref(), Some("30s"));
    }

    #[test]
    fn accepts_double_dash_and_test_prefix_and_args() {
        let a = GoTestArgs::parse(&["--test.run", "X", "--json", ".", "-args", "-custom", "1"])
            .unwrap();
        assert_eq!(a.test_flags, vec!["-test.run=X"]);
        assert!(a.json);
        assert_eq!(a.packages, vec!["."]);
        assert_eq!(a.args, vec!["-custom", "1"]);
    }

    #[test]
    fn goflags_apply_before_the_command_line_and_unknown_ones_are_ignored() {
        let a = GoTestArgs::parse_with_goflags(
            &["-count=1", "./..."],
            Some("-count=3 -tags=x -modcacherw -nosuch=1 -v"),
        )
        .unwrap();
        assert_eq!(a.count, Some(1));
        assert_eq!(a.test_flags, vec!["-test.count=3", "-test.count=1"]);
        assert_eq!(a.build_flags, vec!["-tags=x", "-modcacherw"]);
        assert!(a.verbose);
        assert_eq!(a.packages, vec!["./..."]);
        let bad = GoTestArgs::parse_with_goflags(&["."], Some("-count=x")).unwrap_err();
        assert!(bad.to_string().contains("GOFLAGS=-count=x"), "{bad}");
    }

    #[test]
    fn coverage_flags_turn_coverage_on_and_the_profile_is_leakchecks() {
        let a = GoTestArgs::parse(&["-coverprofile=c.out", "-covermode=atomic", "."]).unwrap();
        assert!(a.cover);
        assert_eq!(a.cover_profile.as_deref(), Some("c.out"));
        assert_eq!(a.cover_mode.as_deref(), Some("atomic"));
        assert!(a.test_flags.is_empty(), "{:?}", a.test_flags);
        assert_eq!(a.build_flags, vec!["-covermode=atomic"]);
        assert!(GoTestArgs::parse(&["-coverpkg=./...", "."]).unwrap().cover);
        assert!(!GoTestArgs::parse(&["-cover=false", "."]).unwrap().cover);
        // Fuzz seeds run as tests; the fuzzing engine does not.
        assert!(GoTestArgs::parse(&["-fuzz=", "."]).is_ok());
        let fuzz = GoTestArgs::parse(&["-fuzz=FuzzX", "."]).unwrap_err();
        assert!(
            fuzz.to_string().starts_with("-fuzz is not supported"),
            "{fuzz}"
        );
    }

    #[test]
    fn rejects_unknown_malformed_and_refused_flags() {
        for bad in [
            vec!["-nosuch"],
            vec!["-count"],
            vec!["-count=x"],
            vec!["-timeout=10 parsecs"],
            vec!["-run=("],
            vec!["-race=maybe"],
            vec!["-c"],
            vec!["-o", "x"],
            vec!["---v"],
        ] {
            let err = GoTestArgs::parse(&bad).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{bad:?}: {err:?}");
        }
    }
}
