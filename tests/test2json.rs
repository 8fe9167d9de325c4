//! leakcheck's in-process test2json (`src/go/test2json.rs`) against the Go
//! toolchain's own `go tool test2json -t`, on the real output of a test
//! binary that prints what tests can print (`go-fixtures/output`): the
//! events must be the same, field for field, but for the times.

mod common;

use leakcheck::go::test2json::Converter;
use leakcheck::go::testjson::TestEvent;

const PACKAGE: &str = "leakcheck.test/output";

/// The test binary's combined output for `args`.
fn raw_output(binary: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = duct::cmd(binary, args)
        .dir(common::fixtures().join("output"))
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .expect("the test binary runs");
    assert!(!out.stdout.is_empty());
    out.stdout
}

/// What the toolchain's test2json makes of `raw`.
fn toolchain_events(raw: &[u8]) -> Vec<TestEvent> {
    let out = duct::cmd("go", ["tool", "test2json", "-t", "-p", PACKAGE])
        .env("PATH", common::go_path())
        .stdin_bytes(raw)
        .stdout_capture()
        .run()
        .expect("go tool test2json runs");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("test2json writes JSON"))
        .collect()
}

/// What leakcheck's converter makes of `raw`, fed `chunk` bytes at a time.
fn our_events(raw: &[u8], chunk: usize) -> Vec<TestEvent> {
    let release = leakcheck::go::cmd::parse_go_release(&common::go_version()).unwrap();
    let mut c = Converter::new(PACKAGE, release);
    let mut events = Vec::new();
    for piece in raw.chunks(chunk) {
        c.write(piece);
        events.extend(c.events());
    }
    c.close();
    events.extend(c.events());
    events
}

/// Drops what depends on the clock: times, and the package's elapsed.
fn timeless(events: Vec<TestEvent>) -> Vec<TestEvent> {
    events
        .into_iter()
        .map(|mut e| {
            e.time = None;
            if e.test.is_none() && e.is_final() {
                e.elapsed = None;
            }
            e
        })
        .collect()
}

#[test]
fn converts_like_the_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("output.test");
    let built = duct::cmd("go", ["test", "-c", "-o"])
        .before_spawn({
            let binary = binary.clone();
            move |cmd| {
                cmd.arg(&binary);
                Ok(())
            }
        })
        .dir(common::fixtures().join("output"))
        .env("PATH", common::go_path())
        .env("GOFLAGS", "")
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stdout)
    );
    let runs: [&[&str]; 2] = [
        &["-test.v=test2json"],
        &[
            "-test.v=test2json",
            "-test.run=^$",
            "-test.bench=.",
            "-test.benchtime=2x",
        ],
    ];
    for args in runs {
        let raw = raw_output(&binary, args);
        let want = timeless(toolchain_events(&raw));
        // What this run is for: failures, skips and pauses, or benchmarks.
        let expected = if args.len() == 1 {
            [
                ("fail", "TestFailing"),
                ("skip", "TestSkipped"),
                ("pause", "TestParallelTop2"),
                ("cont", "TestParallelTop2"),
            ]
        } else {
            [("run", "BenchmarkSmall"); 4]
        };
        for (action, test) in expected {
            assert!(
                want.iter()
                    .any(|e| e.action == action && e.test.as_deref() == Some(test)),
                "no {action} event for {test} in the fixture's output: {want:?}"
            );
        }
        let release = leakcheck::go::cmd::parse_go_release(&common::go_version()).unwrap();
        if release >= (1, 27) && args.len() == 1 {
            // Go 1.27 marks error output, and test2json types it.
            assert!(
                want.iter()
                    .any(|e| e.other.get("OutputType").is_some_and(|t| t == "error")),
                "no error output in {want:?}"
            );
        }
        // Read whole (as test2json reads a finished stream): the same events.
        let got = timeless(our_events(&raw, raw.len()));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "event {i} differs (args {args:?})");
        }
        assert_eq!(got.len(), want.len(), "args {args:?}");
        // Read as it comes: an output line may come in more pieces (a
        // benchmark's name shows before its result, as with test2json on a
        // live stream), but the other events, and each test's output, are
        // the same.
        for chunk in [1, 7, 4096] {
            let got = timeless(our_events(&raw, chunk));
            assert_eq!(framing(&got), framing(&want), "chunks of {chunk}");
            assert_eq!(outputs(&got), outputs(&want), "chunks of {chunk}");
        }
    }
}

/// The events other than output.
fn framing(events: &[TestEvent]) -> Vec<&TestEvent> {
    events.iter().filter(|e| e.action != "output").collect()
}

/// Each test's output, in order.
fn outputs(events: &[TestEvent]) -> std::collections::BTreeMap<Option<&str>, String> {
    let mut by_test = std::collections::BTreeMap::new();
    for e in events {
        if let Some(o) = &e.output {
            by_test
                .entry(e.test.as_deref())
                .or_insert_with(String::new)
                .push_str(o);
        }
    }
    by_test
}
