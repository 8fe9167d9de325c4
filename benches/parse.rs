//! Parser throughput on goroutine dumps of 1, 1,000 and 100,000
//! goroutines (`cargo bench --bench parse`; `bench/run` runs it too).
//!
//! The dumps are captured at bench time by `bench/dumpgen` (a Go program
//! that parks N goroutines and prints `runtime.Stack(all)`), into
//! `$LEAKCHECK_BENCH_DUMPS` or, by default, `target/bench-dumps/`; dumps
//! already there are reused.
//!
//! Benchmarks, each with its throughput in bytes of dump:
//! - `snapshot/N`: the full parse ([`Snapshot::parse`]);
//! - `ids/N`: the IDs alone ([`goroutine_ids`]), the comparator's cheap pass;
//! - `compare/N`: what the comparator does for one clean test run in a
//!   process of N goroutines: its start dump and its end dump.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leakcheck::detect::compare::{Comparator, CompareConfig, Decision};
use leakcheck::detect::stack::{goroutine_ids, Snapshot};

const SIZES: [usize; 3] = [1, 1_000, 100_000];

fn dumps_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LEAKCHECK_BENCH_DUMPS") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-dumps")
}

/// The dump of `n` goroutines, captured with bench/dumpgen if missing.
fn dump(n: usize) -> String {
    let dir = dumps_dir();
    let path = dir.join(format!("dump-{n}.txt"));
    if !path.exists() {
        std::fs::create_dir_all(&dir).expect("creating the dumps directory");
        let exe = dir.join("dumpgen");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/dumpgen");
        let ok = Command::new("go")
            .arg("build")
            .arg("-o")
            .arg(&exe)
            .arg(".")
            .current_dir(&src)
            .status()
            .expect("running go build (Go is needed to capture dumps)")
            .success();
        assert!(ok, "building bench/dumpgen failed");
        let godebug = match std::env::var("GODEBUG") {
            Ok(v) if !v.is_empty() => format!("{v},tracebacklabels=1"),
            _ => "tracebacklabels=1".to_string(),
        };
        let out = Command::new(&exe)
            .arg(n.to_string())
            .env("GODEBUG", godebug)
            .output()
            .expect("running dumpgen");
        assert!(out.status.success(), "dumpgen {n} failed");
        std::fs::write(&path, out.stdout).expect("writing the dump");
    }
    std::fs::read_to_string(&path).expect("reading the dump")
}

fn comparator() -> Comparator {
    Comparator::new(CompareConfig {
        grace: Duration::from_secs(1),
        ignore: Default::default(),
        goroot: String::new(),
        module: String::new(),
        leak_profile: false,
        calls: None,
    })
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for n in SIZES {
        let text = dump(n);
        let parsed = Snapshot::parse(&text).goroutines.len();
        assert_eq!(parsed, n, "dump-{n}.txt has {parsed} goroutines");
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        if n >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(8));
        } else {
            group.sample_size(50);
            group.measurement_time(Duration::from_secs(3));
        }
        group.bench_with_input(BenchmarkId::new("snapshot", n), &text, |b, t| {
            b.iter(|| Snapshot::parse(t))
        });
        group.bench_with_input(BenchmarkId::new("ids", n), &text, |b, t| {
            b.iter(|| goroutine_ids(t))
        });
        group.bench_with_input(BenchmarkId::new("compare", n), &text, |b, t| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let mut cmp = comparator();
                    let run = format!("TestBench#{i}");
                    let now = Instant::now();
                    let started = Instant::now();
                    cmp.start(&run, 1, goroutine_ids(t)[0], t);
                    let d = cmp.end(&run, leakcheck::detect::compare::RunStatus::Pass, 2, t, now);
                    total += started.elapsed();
                    assert!(matches!(d, Decision::Done(_)));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
