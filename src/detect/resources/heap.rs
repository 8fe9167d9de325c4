//! The heap profile as the hook sends it (`pprof.Lookup("heap").WriteTo(w,
//! 1)`, after a GC): live bytes by allocation stack, and where a run's
//! growth was allocated (the end's profile against the start's). Pure.
//!
//! The text format: a header `heap profile: N: B [N: B] @ heap/2*RATE`,
//! then per stack `INUSE_OBJECTS: INUSE_BYTES [ALLOC_OBJECTS:
//! ALLOC_BYTES] @ 0xPC...` followed by its frames, `#\t0xPC\tFUNC+0xOFF\tFILE:LINE`.
//! Counts are samples (one per RATE bytes allocated on average), scaled
//! here as pprof scales them.

use std::collections::HashMap;

use crate::detect::compare::Location;

/// Live bytes by allocation stack (its PCs, as printed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub stacks: HashMap<String, Stack>,
}

/// One allocation stack's live bytes (scaled) and where it allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub bytes: f64,
    /// The innermost frame outside the standard library (the user's line:
    /// not `bytes.growSlice` nor `time.NewTimer`), else the innermost
    /// outside the runtime, if any.
    pub site: Option<Location>,
    /// Every frame's function, innermost first.
    pub functions: Vec<String>,
}

/// A record being read: its stack's key (the PCs), its scaled bytes, and
/// its frames (function, `file:line`).
type Record = (String, f64, Vec<(String, String)>);

/// Parses a heap profile's text (debug=1) of a binary built with the Go
/// at `goroot` ("" if not known); what does not parse is left out.
pub fn parse(text: &str, goroot: &str) -> Profile {
    let mut lines = text.lines();
    let rate = lines
        .next()
        .and_then(|h| h.rsplit_once("@ heap/"))
        .and_then(|(_, r)| r.trim().parse::<f64>().ok())
        .map_or(512.0 * 1024.0, |twice| twice / 2.0);
    let mut stacks: HashMap<String, Stack> = HashMap::new();
    let mut current: Option<Record> = None;
    let mut finish = |cur: Option<Record>| {
        if let Some((key, bytes, frames)) = cur {
            let site = frames
                .iter()
                .find(|(f, at)| {
                    let file = at.rsplit_once(':').map_or(at.as_str(), |(file, _)| file);
                    !crate::detect::compare::is_std(f, file, goroot)
                })
                .or_else(|| frames.iter().find(|(f, _)| !f.starts_with("runtime.")))
                .and_then(|(f, at)| {
                    let (file, line) = at.rsplit_once(':')?;
                    Some(Location {
                        function: f.clone(),
                        file: file.to_string(),
                        line: line.parse().ok()?,
                    })
                });
            let functions = frames.into_iter().map(|(f, _)| f).collect();
            let entry = stacks.entry(key).or_insert(Stack {
                bytes: 0.0,
                site,
                functions,
            });
            entry.bytes += bytes;
        }
    };
    for line in lines {
        if let Some(frame) = line.strip_prefix("#\t0x") {
            if let Some((_, _, fs)) = current.as_mut() {
                let mut parts = frame.split('\t').filter(|p| !p.is_empty());
                let (_pc, func, at) = (parts.next(), parts.next(), parts.next());
                if let (Some(func), Some(at)) = (func, at) {
                    let func = func.rsplit_once("+0x").map_or(func, |(f, _)| f);
                    fs.push((func.to_string(), at.trim().to_string()));
                }
            }
            continue;
        }
        if line.starts_with('#') {
            // The MemStats trailer.
            finish(current.take());
            continue;
        }
        let Some((counts, pcs)) = line.split_once(" @ ") else {
            continue;
        };
        finish(current.take());
        let inuse = counts.split(" [").next().unwrap_or("");
        let Some((objects, bytes)) = inuse.split_once(": ") else {
            continue;
        };
        let (Ok(objects), Ok(bytes)) = (objects.trim().parse::<f64>(), bytes.trim().parse::<f64>())
        else {
            continue;
        };
        current = Some((
            pcs.trim().to_string(),
            scale(objects, bytes, rate),
            Vec::new(),
        ));
    }
    finish(current.take());
    Profile { stacks }
}

/// Scales a sampled byte count as pprof does: a sample stands for
/// 1/(1-e^(-size/rate)) allocations of its size.
fn scale(objects: f64, bytes: f64, rate: f64) -> f64 {
    if objects <= 0.0 || bytes <= 0.0 {
        return 0.0;
    }
    if rate <= 1.0 {
        return bytes;
    }
    let avg = bytes / objects;
    bytes / (1.0 - (-avg / rate).exp())
}

/// Where the live heap grew from `start` to `end`: bytes by allocation
/// site, biggest first, growth only. Stacks through leakcheck's hook or
/// the profiler (`testing.leakcheck*`, `runtime/pprof.*`) are left out,
/// as are those `ignored` says to (an ignore rule matching a frame).
pub fn growth_sites(
    start: &Profile,
    end: &Profile,
    ignored: &dyn Fn(&[String]) -> bool,
) -> Vec<(Location, u64)> {
    let mut by_site: HashMap<(String, String, u32), f64> = HashMap::new();
    for (s, growth) in tests_growth(start, end) {
        if ignored(&s.functions) {
            continue;
        }
        let Some(site) = &s.site else { continue };
        *by_site
            .entry((site.function.clone(), site.file.clone(), site.line))
            .or_default() += growth;
    }
    let mut out: Vec<(Location, u64)> = by_site
        .into_iter()
        .filter(|(_, b)| *b >= 1.0)
        .map(|((function, file, line), b)| {
            (
                Location {
                    function,
                    file,
                    line,
                },
                b as u64,
            )
        })
        .collect();
    out.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| (&a.0.file, a.0.line).cmp(&(&b.0.file, b.0.line)))
    });
    out
}

/// Each allocation stack of `end` that is the test's (see
/// `not_the_tests`), with its live bytes' change since `start` (below
/// zero when it shrank).
pub fn tests_growth<'p>(
    start: &'p Profile,
    end: &'p Profile,
) -> impl Iterator<Item = (&'p Stack, f64)> {
    end.stacks
        .iter()
        .filter(|(_, s)| !not_the_tests(s))
        .map(|(key, s)| {
            let before = start.stacks.get(key).map_or(0.0, |b| b.bytes);
            (s, s.bytes - before)
        })
}

/// Whether a stack's allocations are not the test's: leakcheck's own
/// (its hook's dump buffer, which grows with the goroutines a test has;
/// the profiler), or the runtime's for itself, every frame in package
/// runtime (goroutine descriptors, kept for reuse after a burst of
/// goroutines).
fn not_the_tests(s: &Stack) -> bool {
    s.site.is_none()
        || s.functions
            .iter()
            .any(|f| f.starts_with("testing.leakcheck") || f.starts_with("runtime/pprof."))
}

/// How much of the growth from `start` to `end` is not the test's (see
/// `not_the_tests`). Net, never below zero.
pub fn others_growth(start: &Profile, end: &Profile) -> u64 {
    let net: f64 = end
        .stacks
        .iter()
        .filter(|(_, s)| not_the_tests(s))
        .map(|(key, s)| s.bytes - start.stacks.get(key).map_or(0.0, |b| b.bytes))
        .sum();
    net.max(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured (Go 1.26, MemProfileRate 64 KiB): before and after a
    // function that keeps a 10 MiB buffer, trimmed to its records.
    const BEFORE: &str = "heap profile: 0: 0 [1: 112] @ heap/131072
0: 0 [1: 112] @ 0x47c32c 0x414406 0x4292cd 0x4271ef 0x426b5b 0x4d96a5 0x44cd15 0x484081
#\t0x4d96a4\tmain.main+0x24\t\t/tmp/heapsample/main.go:15
#\t0x44cd14\truntime.main+0x2d4\t/usr/local/go/src/runtime/proc.go:290


# runtime.MemStats
# Alloc = 72960
";
    const AFTER: &str = "heap profile: 1: 10485760 [2: 10485872] @ heap/131072
0: 0 [0: 0] @ 0x47c30c 0x47f249 0x4c5d11 0x4c5bc5 0x4c3e89 0x4d97ee 0x44cd15 0x484081
#\t0x4c5d10\truntime/pprof.writeHeapInternal+0xb0\t/usr/local/go/src/runtime/pprof/pprof.go:653
#\t0x4d97ed\tmain.main+0x16d\t\t\t\t/tmp/heapsample/main.go:20

0: 0 [1: 112] @ 0x47c32c 0x414406 0x4292cd 0x4271ef 0x426b5b 0x4d96a5 0x44cd15 0x484081
#\t0x4d96a4\tmain.main+0x24\t\t/tmp/heapsample/main.go:15
#\t0x44cd14\truntime.main+0x2d4\t/usr/local/go/src/runtime/proc.go:290

1: 10485760 [1: 10485760] @ 0x47c333 0x47f249 0x4d9719 0x4d977a 0x44cd15 0x484081
#\t0x4d9718\tmain.grow+0x98\t\t/tmp/heapsample/main.go:11
#\t0x4d9779\tmain.main+0xf9\t\t/tmp/heapsample/main.go:18
#\t0x44cd14\truntime.main+0x2d4\t/usr/local/go/src/runtime/proc.go:290


# runtime.MemStats
# Alloc = 10558720
";

    #[test]
    fn a_kept_buffer_is_found_at_its_allocation_line() {
        let (before, after) = (parse(BEFORE, ""), parse(AFTER, ""));
        assert_eq!(after.stacks.len(), 3);
        let sites = growth_sites(&before, &after, &|_| false);
        assert_eq!(sites.len(), 1, "{sites:?}");
        let (site, bytes) = &sites[0];
        assert_eq!(
            (site.function.as_str(), site.file.as_str(), site.line),
            ("main.grow", "/tmp/heapsample/main.go", 11)
        );
        // One 10 MiB sample at a 64 KiB rate stands for itself.
        assert!((10 << 20..(10 << 20) + 4096).contains(bytes), "{bytes}");
        // Ignored by a rule matching one of its frames: gone.
        let none = growth_sites(&before, &after, &|fs| fs.iter().any(|f| f == "main.grow"));
        assert!(none.is_empty());
        // No growth from a profile to itself.
        assert!(growth_sites(&after, &after, &|_| false).is_empty());
        assert_eq!(others_growth(&before, &after), 0);
    }

    #[test]
    fn small_samples_are_scaled_as_pprof_scales_them() {
        // 10 samples of 1 KiB each at a 512 KiB rate stand for ~5 MiB.
        let p = parse(
            "heap profile: 10: 10240 [10: 10240] @ heap/1048576\n10: 10240 [10: 10240] @ 0x1\n#\t0x1\tm.f+0x1\t/m/f.go:3\n",
            "/go",
        );
        let s = &p.stacks["0x1"];
        assert!((5.0e6..5.5e6).contains(&s.bytes), "{}", s.bytes);
        assert_eq!(s.site.as_ref().unwrap().line, 3);
        assert_eq!(parse("garbage\nmore", "/go").stacks.len(), 0);
        // Goroutine descriptors the runtime keeps after a burst (a stack
        // all in package runtime): the runtime's growth.
        let burst = parse(
            "heap profile: 1: 4194304 [1: 4194304] @ heap/131072\n1: 4194304 [1: 4194304] @ 0x2 0x3\n#\t0x2\truntime.malg+0x1\t/go/src/runtime/proc.go:4900\n#\t0x3\truntime.newproc1+0x1\t/go/src/runtime/proc.go:5000\n",
            "/go",
        );
        assert_eq!(others_growth(&Profile::default(), &burst), 4 << 20);
        assert!(growth_sites(&Profile::default(), &burst, &|_| false).is_empty());
        // The hook's dump buffer, grown for a test with many goroutines:
        // leakcheck's.
        let dump = parse(
            "heap profile: 1: 10248192 [1: 10248192] @ heap/131072\n1: 10248192 [1: 10248192] @ 0x4 0x5\n#\t0x4\ttesting.leakcheckDump+0x1\t/go/src/testing/zz_leakcheck_dump.go:158\n#\t0x5\ttesting.leakcheckProbe+0x1\t/go/src/testing/zz_leakcheck_probe.go:70\n",
            "/go",
        );
        assert_eq!(others_growth(&Profile::default(), &dump), 10248192);
    }

    #[test]
    fn the_site_is_the_users_line_not_the_standard_librarys() {
        // A buffer grown by bytes.Buffer, a timer made by time.After: the
        // line to fix is the caller's, in the user's module.
        let text = "heap profile: 2: 2097152 [2: 2097152] @ heap/1048576\n\
            1: 1048576 [1: 1048576] @ 0x1 0x2 0x3\n\
            #\t0x1\tbytes.growSlice+0x1\t/go/src/bytes/buffer.go:249\n\
            #\t0x2\tbytes.(*Buffer).Write+0x1\t/go/src/bytes/buffer.go:182\n\
            #\t0x3\tm.fill+0x1\t/m/f.go:9\n\
            1: 1048576 [1: 1048576] @ 0x4 0x5 0x6\n\
            #\t0x4\ttime.newTimer+0x1\t/go/src/time/sleep.go:96\n\
            #\t0x5\ttime.After+0x1\t/go/src/time/sleep.go:211\n\
            #\t0x6\tm.TestWait+0x1\t/m/f_test.go:21\n";
        let p = parse(text, "/go");
        let site = |k: &str| {
            let s = p.stacks[k].site.as_ref().unwrap();
            (s.function.as_str(), s.file.as_str(), s.line)
        };
        assert_eq!(site("0x1 0x2 0x3"), ("m.fill", "/m/f.go", 9));
        assert_eq!(site("0x4 0x5 0x6"), ("m.TestWait", "/m/f_test.go", 21));
        // With -trimpath (no GOROOT prefix): by import path.
        let trimmed = text
            .replace("/go/src/", "")
            .replace("/m/", "example.com/m/")
            .replace("\tm.", "\texample.com/m.");
        let s = parse(&trimmed, "/go").stacks["0x1 0x2 0x3"]
            .site
            .clone()
            .unwrap();
        assert_eq!((s.function.as_str(), s.line), ("example.com/m.fill", 9));
    }
}
