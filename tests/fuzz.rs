//! Property-based fuzzing (proptest) of leakcheck's three input-facing
//! parsers: whatever they are fed, they must not panic, hang or allocate
//! out of proportion to their input; and what they promise of any input
//! must hold.
//!
//! What is fuzzed:
//! - the goroutine dump parser, [`Snapshot::parse`] (with [`Goroutines`],
//!   [`DumpIndex`] and [`goroutine_ids`], which must agree with it), on
//!   arbitrary text, soups of dump tokens and dump lines, and the real
//!   dumps of `tests/dumps/` mutated: cut at a random character boundary,
//!   lines deleted, duplicated or swapped, text inserted, numbers made
//!   huge (`99999999999999999999`, `+0xffffffffffffffffff`, line numbers
//!   past u32, ...). Checked: goroutines come from `goroutine ` lines in
//!   `goroutine_ids` order, their text, frames and creator lie in the dump,
//!   two lines a frame, allocation linear in the input. Also well-formed
//!   synthetic dumps of every format the module doc lists (Go 1.21 to
//!   1.27: labels in and after the brackets, quoted or bare, `gp=`
//!   headers, inlined and elided frames, ancestors, CRLF), which must
//!   parse back to exactly what was written;
//! - the test2json converter, [`Converter`], on arbitrary bytes, a soup of
//!   framing tokens and markers, and real `-test.v=test2json` streams
//!   (captured below from `go-fixtures/output` with Go 1.26 and 1.27)
//!   mutated, for each release's format, fed whole and in random chunks.
//!   Checked: the first event is `start`, output events hold at most 1 KiB,
//!   a bounded number of events and bytes per input byte; and, where the
//!   format makes it so (see `cut_independent`), the same events however
//!   the stream is cut;
//! - the hook protocol reader, [`HelperListener`]: a fake hook reads the
//!   key, sends valid messages guided by a model of the runs (starts,
//!   subtests, ends, dumps of runs being checked, rounds, probes, with real
//!   and synthetic dumps as bodies), waiting for each answer as the hook
//!   does, then hostile ones (runs that do not fit, bad GIDs and statuses,
//!   wrong and huge lengths, bodies shorter or longer than announced, lines
//!   without the key, garbage, raw bytes) without waiting, while another
//!   thread reads the answers. Checked: `finish` returns, the listener's
//!   thread does not panic, valid messages make no error and get their
//!   answer, answers are lines of the protocol's table and no more than the
//!   messages answered, at most one error, and bytes that are not a keyed
//!   header are reported as tampering.
//!
//! Every case runs on a thread of its own under a watchdog (a case that
//! does not finish in time is a hang, and fails), and a counting global
//! allocator measures what the parsers allocate.
//!
//! CI runs it with the rest of `cargo test` (`.ci/run`), alone as
//! `cargo test --test fuzz`: 128 to 256 cases per target, a few seconds in
//! a debug build. A longer campaign sets the number of cases per target;
//! keep overflow checks on, as a release build drops them:
//!
//! ```text
//! PROPTEST_CASES=20000 CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
//!     cargo test --release --test fuzz
//! ```
//!
//! Failures are not persisted to `proptest-regressions/`: a failing case
//! prints its minimal input, which belongs in a `#[test]` at the end of
//! this file.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, LazyLock, Once};
use std::time::Duration;

use leakcheck::detect::compare::{Comparator, CompareConfig};
use leakcheck::detect::listener::HelperListener;
use leakcheck::detect::stack::{goroutine_ids, DumpIndex, Goroutine, Goroutines, Snapshot};
use leakcheck::go::test2json::Converter;
use leakcheck::go::testjson::TestEvent;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------
// Harness: configuration, watchdog, allocation counting.

/// The configuration of a target: `PROPTEST_CASES` if set, else
/// `default_cases`; no failure files (a failure prints its input).
fn config(default_cases: u32) -> ProptestConfig {
    // ProptestConfig::default() reads PROPTEST_CASES too, but setting
    // `cases` here would override it: read it first.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // Shrinking a hang takes a watchdog period per step: bound it.
        max_shrink_time: 120_000,
        ..ProptestConfig::default()
    }
}

/// How long one case of the dump parser or the converter may take (debug
/// build, loaded machine; they take milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// How long one case of the hook protocol may take: `finish` waits up to
/// 5 s for a connection left open, and must return.
const LISTENER_CASE_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` on a thread of its own and returns what it returns; a panic in
/// it is resumed here, and `f` not returning within `limit` is a hang,
/// which fails the case (its thread is left behind).
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("fuzz-case".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawning a case's thread");
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the case did not finish within {limit:?}: a hang")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the case's thread ended without a result"),
        },
    }
}

/// Counts the bytes each thread allocates (growth only for a realloc), so
/// that a case can bound what the code under test allocates.
struct CountingAllocator;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(bytes as u64)));
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation(new_size.saturating_sub(layout.size()));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What `f` returns, and how many bytes this thread allocated in it.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATED.with(Cell::get);
    let value = f();
    (value, ALLOCATED.with(Cell::get) - before)
}

/// Panics on threads without a name: in this binary, only the listener's
/// (every thread of the fuzz targets is named). The listener joins its
/// thread and ignores a panic there, so a panic is only seen here.
static UNNAMED_THREAD_PANICS: AtomicUsize = AtomicUsize::new(0);

fn watch_unnamed_thread_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_none() {
                UNNAMED_THREAD_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

// ---------------------------------------------------------------------------
// Seeds.

/// The captured dumps of `tests/dumps/`, by file name.
static DUMPS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dumps");
    let mut dumps: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/dumps")
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "txt" {
                return None;
            }
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    dumps.sort();
    assert!(dumps.len() >= 10, "the dumps of {}", dir.display());
    dumps
});

fn real_dump(i: &Index) -> &'static str {
    &DUMPS[i.index(DUMPS.len())].1
}

/// The captured streams of `tests/streams/` (see its README).
const STREAMS: &[&[u8]] = &[
    include_bytes!("streams/go1.26-output.txt"),
    include_bytes!("streams/go1.27-output.txt"),
    include_bytes!("streams/go1.26-bench.txt"),
];

fn real_stream(i: &Index) -> Vec<u8> {
    STREAMS[i.index(STREAMS.len())].to_vec()
}

// ---------------------------------------------------------------------------
// Mutations, on bytes (for dumps, they keep UTF-8: text is inserted and
// cuts are made at character boundaries).

/// Numbers that overflow what they are parsed into, or are not numbers.
const HUGE: &[&str] = &[
    "99999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "340282366920938463463374607431768211456",
    "000000000000000000000000000000000000000007",
    "0",
    "-1",
    "+1",
    "",
    "1e309",
    "NaN",
    "inf",
];

/// Hex digits after `0x` (PCs, offsets, gp=): longer than any integer.
const HUGE_HEX: &[&str] = &[
    "ffffffffffffffffff",
    "ffffffffffffffff",
    "10000000000000000",
    "fffffffffffffffffffffffffffffffffffffffff",
    "0",
    "",
    "g",
];

#[derive(Debug, Clone, Copy)]
enum LineOp {
    Delete,
    Duplicate,
    Swap,
}

#[derive(Debug, Clone)]
struct Mutation {
    /// (which number, what to put instead).
    numbers: Vec<(Index, Index)>,
    lines: Vec<(LineOp, Index, Index)>,
    /// (where, what).
    inserts: Vec<(Index, Vec<u8>)>,
    /// Keep only what comes before.
    cut: Option<Index>,
}

fn mutation(insert: BoxedStrategy<Vec<u8>>) -> impl Strategy<Value = Mutation> {
    let op = prop_oneof![
        Just(LineOp::Delete),
        Just(LineOp::Duplicate),
        Just(LineOp::Swap)
    ];
    (
        prop::collection::vec((any::<Index>(), any::<Index>()), 0..4),
        prop::collection::vec((op, any::<Index>(), any::<Index>()), 0..4),
        prop::collection::vec((any::<Index>(), insert), 0..4),
        prop::option::weighted(0.3, any::<Index>()),
    )
        .prop_map(|(numbers, lines, inserts, cut)| Mutation {
            numbers,
            lines,
            inserts,
            cut,
        })
}

/// The decimal runs and the hex runs after `0x` of `text`: (start, end,
/// hex).
fn number_spans(text: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let hex =
            text[i..].starts_with(b"0x") && text.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if hex || text[i].is_ascii_digit() {
            let start = if hex { i + 2 } else { i };
            let mut end = start;
            while end < text.len()
                && (text[end].is_ascii_digit() || (hex && text[end].is_ascii_hexdigit()))
            {
                end += 1;
            }
            spans.push((start, end, hex));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// `at` moved back to a character boundary of `text` when `utf8`.
fn boundary(text: &[u8], mut at: usize, utf8: bool) -> usize {
    while utf8 && at > 0 && at < text.len() && text[at] & 0xc0 == 0x80 {
        at -= 1;
    }
    at
}

fn apply(m: &Mutation, mut text: Vec<u8>, utf8: bool) -> Vec<u8> {
    let spans = number_spans(&text);
    if !spans.is_empty() {
        let mut chosen: Vec<(usize, &str)> = m
            .numbers
            .iter()
            .map(|(which, with)| {
                let span = which.index(spans.len());
                let list = if spans[span].2 { HUGE_HEX } else { HUGE };
                (span, list[with.index(list.len())])
            })
            .collect();
        chosen.sort_by_key(|&(span, _)| std::cmp::Reverse(span));
        chosen.dedup_by_key(|&mut (span, _)| span);
        for (span, with) in chosen {
            let (start, end, _) = spans[span];
            text.splice(start..end, with.bytes());
        }
    }
    if !m.lines.is_empty() {
        let mut lines: Vec<Vec<u8>> = text
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        for (op, a, b) in &m.lines {
            if lines.is_empty() {
                break;
            }
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            match op {
                LineOp::Delete => {
                    lines.remove(a);
                }
                LineOp::Duplicate => {
                    let line = lines[a].clone();
                    lines.insert(b, line);
                }
                LineOp::Swap => lines.swap(a, b),
            }
        }
        text = lines.concat();
    }
    for (at, bytes) in &m.inserts {
        let at = boundary(&text, at.index(text.len() + 1), utf8);
        text.splice(at..at, bytes.iter().copied());
    }
    if let Some(cut) = &m.cut {
        let at = boundary(&text, cut.index(text.len() + 1), utf8);
        text.truncate(at);
    }
    text
}

/// A sequence of `tokens`, sometimes with a long run of one byte.
fn token_soup(
    tokens: &'static [&'static [u8]],
    count: std::ops::Range<usize>,
    runs: bool,
) -> impl Strategy<Value = Vec<u8>> {
    let token = if runs {
        prop_oneof![
            30 => prop::sample::select(tokens).prop_map(<[u8]>::to_vec),
            1 => (any::<u8>(), 1000usize..5000).prop_map(|(b, n)| vec![b; n]),
        ]
        .boxed()
    } else {
        prop::sample::select(tokens)
            .prop_map(<[u8]>::to_vec)
            .boxed()
    };
    prop::collection::vec(token, count).prop_map(|tokens| tokens.concat())
}

// ---------------------------------------------------------------------------
// Target 1: the goroutine dump parser.

const DUMP_TOKENS: &[&[u8]] = &[
    b"goroutine ",
    b"1",
    b"18",
    b"99999999999999999999",
    b"18446744073709551615",
    b" [",
    b"]",
    b":",
    b"]:\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\t",
    b" ",
    b", ",
    b"chan send",
    b"select (no cases)",
    b" (leaked)",
    b" (scan)",
    b" (durable)",
    b" minutes",
    b"locked to thread",
    b" labels:{",
    b" {",
    b"{",
    b"}",
    b"\"",
    b"\\",
    b"\\x",
    b"\\u",
    b"\\U",
    b"\\377",
    b"ff",
    b"0001F600",
    b"k",
    b": ",
    b",",
    b"leakcheck_test",
    b"TestX#1",
    b"main.f",
    b"(",
    b")",
    b"(...)",
    b"(0xc000012345, 0x10)",
    b"/a/b.go",
    b":12",
    b" +0x1d",
    b" +0xffffffffffffffffff",
    b" fp=0x1 sp=0x2 pc=0x3",
    b"created by ",
    b" in goroutine ",
    b"...",
    b" frames elided...",
    b"...18446744073709551615 frames elided...\n",
    b"...additional frames elided...",
    b"[originating from goroutine ",
    b" gp=0xc000001234 m=nil",
    b"\xc3\xa9",
    b"\xef\xbf\xbd",
    b"\0",
];

/// Whole dump lines, normal and with numbers out of range: a soup of them
/// reaches deeper into a goroutine's body than one of tokens.
const DUMP_LINES: &[&[u8]] = &[
    b"goroutine 1 [running]:\n",
    b"goroutine 18446744073709551615 [chan send (leaked), 99999999999999999999 minutes, locked to thread]:\n",
    b"goroutine 7 gp=0xc000001234 m=nil [select labels:{\"leakcheck_test\": \"TestX#1\"}]:\n",
    b"goroutine 8 [select] {leakcheck_test: TestX#1, k: \"a\\\"b\"}:\n",
    b"goroutine 99999999999999999999 [running]:\n",
    b"goroutine 9 [chan receive labels:{\"k\": \"\\xff\\U0010ffff\\377\"}]:\n",
    b"main.f(...)\n",
    b"example.com/p.(*T).M(0xc000012345, 0x10)\n",
    b"\t/a/b.go:12 +0x1d\n",
    b"\t/a/b.go:12\n",
    b"\t/a/b.go:4294967296 +0xffffffffffffffffff\n",
    b"\t/a/b.go:18446744073709551616 fp=0x1 sp=0x2 pc=0x3\n",
    b"...7 frames elided...\n",
    b"...18446744073709551615 frames elided...\n",
    b"...99999999999999999999 frames elided...\n",
    b"...additional frames elided...\n",
    b"created by main.g in goroutine 1\n",
    b"created by main.g in goroutine 99999999999999999999\n",
    b"[originating from goroutine 1]:\n",
    b"\n",
    b"\r\n",
    b"panic: boom\n",
];

/// Text to insert into a dump: tokens, arbitrary text, bytes made UTF-8.
fn dump_insert() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::sample::select(DUMP_TOKENS).prop_map(<[u8]>::to_vec),
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..16)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned().into_bytes()),
    ]
    .boxed()
}

/// Any text, or (mostly) a real or synthetic dump mutated.
fn dump_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<char>(), 0..2000).prop_map(String::from_iter),
        2 => token_soup(DUMP_TOKENS, 0..400, false)
            .prop_map(|b| String::from_utf8(b).expect("tokens are UTF-8")),
        2 => token_soup(DUMP_LINES, 0..100, false)
            .prop_map(|b| String::from_utf8(b).expect("lines are UTF-8")),
        1 => any::<Index>().prop_map(|i| real_dump(&i).to_string()),
        5 => (any::<Index>(), mutation(dump_insert())).prop_map(|(i, m)| {
            let text = apply(&m, real_dump(&i).as_bytes().to_vec(), true);
            String::from_utf8(text).expect("mutations keep UTF-8")
        }),
        2 => (synth_dump(any_labels()), mutation(dump_insert())).prop_map(|(d, m)| {
            let text = apply(&m, d.render().into_bytes(), true);
            String::from_utf8(text).expect("mutations keep UTF-8")
        }),
    ]
}

/// Whether `inner` is a part of `outer` (the same memory).
fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

/// Parses `text` and checks what the parser promises of any input.
fn check_dump(text: &str) -> Result<(), TestCaseError> {
    let (snapshot, allocated) = allocated_by(|| Snapshot::parse(text));
    // "Parsing a snapshot allocates little more than one frame vector per
    // goroutine": linear in the text. 64 bytes per byte is several times
    // the worst case (a goroutine, frame or label per few bytes).
    let allowed = 64 * text.len() as u64 + (64 << 10);
    prop_assert!(
        allocated <= allowed,
        "parsing {} bytes allocated {allocated}",
        text.len()
    );

    // Every goroutine starts at a line `goroutine ` ...
    let header_lines = text
        .split('\n')
        .filter(|l| l.starts_with("goroutine "))
        .count();
    prop_assert!(snapshot.goroutines.len() <= header_lines);
    // ... whose ID the cheap pass finds, in the same order.
    let ids = goroutine_ids(text);
    let mut rest = ids.iter();
    for g in &snapshot.goroutines {
        prop_assert!(
            rest.any(|&id| id == g.id),
            "goroutine {} is not in goroutine_ids order {ids:?}",
            g.id
        );
    }
    for g in &snapshot.goroutines {
        // Its text is a part of the dump, header first, without the line
        // end; its frames, state and creator are parts of its text.
        prop_assert!(within(text, g.text));
        prop_assert!(g.text.starts_with("goroutine "), "{:?}", g.text);
        prop_assert!(!g.text.ends_with(['\n', '\r']), "{:?}", g.text);
        let parts = g
            .frames
            .iter()
            .flat_map(|f| [f.function, f.file])
            .chain(g.created_by.iter().flat_map(|c| [c.function, c.file]))
            .chain([g.state]);
        for part in parts {
            prop_assert!(
                part.is_empty() || within(g.text, part),
                "{part:?} is not in the text of goroutine {}",
                g.id
            );
        }
        // A frame is two lines (function, location), the creator one or
        // two, the header one.
        let lines = g.text.split('\n').count();
        let needed = 1 + 2 * g.frames.len() + usize::from(g.created_by.is_some());
        prop_assert!(needed <= lines, "{needed} lines needed of {lines}");
    }

    // One at a time, and by ID, as the full parse.
    let odd: Vec<Goroutine<'_>> = Goroutines::new(text, |id| id % 2 == 1).collect();
    let want: Vec<Goroutine<'_>> = snapshot
        .goroutines
        .iter()
        .filter(|g| g.id % 2 == 1)
        .cloned()
        .collect();
    prop_assert_eq!(odd, want);
    prop_assert_eq!(Goroutines::new(text, |_| false).count(), 0);
    let mut first: HashMap<u64, &Goroutine<'_>> = HashMap::new();
    for g in &snapshot.goroutines {
        first.entry(g.id).or_insert(g);
    }
    let index = DumpIndex::new(text);
    let mut asked = ids.clone();
    asked.extend([0, 4, u64::MAX]);
    asked.sort_unstable();
    asked.dedup();
    for id in asked {
        let by_index = index.get(id);
        prop_assert_eq!(by_index.as_ref(), first.get(&id).copied(), "id {}", id);
    }
    Ok(())
}

// Synthetic dumps: every format the parser says it understands, with
// random contents, rendered as the Go runtime prints them.

const STATES: &[&str] = &[
    "running",
    "runnable",
    "chan send",
    "chan receive",
    "chan send (nil chan)",
    "chan receive (nil chan)",
    "select",
    "select (no cases)",
    "sleep",
    "IO wait",
    "syscall",
    "semacquire",
    "sync.Mutex.Lock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "sync.Cond.Wait",
    "GC worker (idle)",
    "force gc (idle)",
    "finalizer wait",
    "idle",
];
const PACKAGES: &[&str] = &[
    "main",
    "example.com/p",
    "net/http",
    "leakcheck.test/capturedumps/internal/dump",
    "a.b/c-d/e_f.v2",
];
const FUNCTIONS: &[&str] = &[
    "main",
    "F",
    "(*T).M",
    "(*Server).loop.func1",
    "parkGeneric[...]",
    "F.func1.2",
    "glob..func1",
    "TestX",
];
const ARGS: &[&str] = &[
    "",
    "...",
    "0xc000012345, 0x10",
    "{0x369320504080?, 0x0?, 0x3693204c0738?}",
    "0x1, {0x2, 0x3}, ...",
];
const FILES: &[&str] = &[
    "/tmp/x/main.go",
    "/usr/local/go/src/runtime/proc.go",
    "/home/u/go/src/has space/b.go",
    "C:/odd:path/c.go",
    "/a/b_test.go",
];
const PREAMBLES: &[&str] = &[
    "",
    "panic: boom\n\n",
    "SIGQUIT: quit\nPC=0x47a1c1 m=0 sigcode=0\n\n",
    "fatal error: all goroutines are asleep - deadlock!\n\n",
    "=== RUN   TestX\n",
];
const TRAILERS: &[&str] = &[
    "",
    "\nrax    0x0\nrbx    0x1\nrip    0x47a1c1\n",
    "\nexit status 2\n",
    "FAIL\tleakcheck.test/p\t0.01s\n",
];

#[derive(Debug, Clone)]
struct SynthFrame {
    function: String,
    args: &'static str,
    file: &'static str,
    line: u32,
    offset: Option<u64>,
}

#[derive(Debug, Clone)]
struct SynthCreator {
    function: String,
    parent: Option<u64>,
    file: &'static str,
    line: u32,
    offset: u64,
}

#[derive(Debug, Clone)]
struct SynthGoroutine {
    id: u64,
    gp: bool,
    state: &'static str,
    leaked: bool,
    scan: bool,
    minutes: Option<u64>,
    locked: bool,
    labels: Vec<(String, String)>,
    frames: Vec<SynthFrame>,
    /// `...N frames elided...` before frame (index mod frames + 1).
    elided: Vec<(Index, u32)>,
    created_by: Option<SynthCreator>,
    /// An `[originating from goroutine N]:` block after the rest.
    ancestor: Option<(u64, Vec<SynthFrame>, u32)>,
}

#[derive(Debug, Clone)]
struct SynthDump {
    /// Go 1.27 label format (after the brackets, quoted only when needed)
    /// rather than 1.26's.
    go127: bool,
    /// Quote non-ASCII as `\u` escapes.
    ascii_quotes: bool,
    crlf: bool,
    preamble: &'static str,
    trailer: &'static str,
    goroutines: Vec<SynthGoroutine>,
}

fn function_name() -> impl Strategy<Value = String> {
    (
        prop::sample::select(PACKAGES),
        prop::sample::select(FUNCTIONS),
    )
        .prop_map(|(p, f)| format!("{p}.{f}"))
}

fn synth_frame() -> impl Strategy<Value = SynthFrame> {
    (
        function_name(),
        prop::sample::select(ARGS),
        prop::sample::select(FILES),
        any::<u32>(),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(function, args, file, line, offset)| SynthFrame {
            function,
            args,
            file,
            line,
            offset,
        })
}

/// Label keys and values of any text.
fn any_labels() -> BoxedStrategy<Vec<(String, String)>> {
    let text = prop_oneof![
        "[A-Za-z0-9_./#-]{1,12}",
        "[ -~]{0,12}",
        "[\\x00-\\x1f\"\\\\,:{}\\] a-zé€😀]{0,12}",
        any::<String>(),
    ];
    let key = text
        .clone()
        .prop_filter("Go label keys are not empty", |k| !k.is_empty());
    prop::collection::vec((key, text), 0..4).boxed()
}

fn synth_goroutine(
    ids: BoxedStrategy<u64>,
    labels: BoxedStrategy<Vec<(String, String)>>,
) -> impl Strategy<Value = SynthGoroutine> {
    let creator = (
        function_name(),
        prop::option::of(any::<u64>()),
        prop::sample::select(FILES),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(|(function, parent, file, line, offset)| SynthCreator {
            function,
            parent,
            file,
            line,
            offset,
        });
    (
        (
            ids,
            prop::bool::weighted(0.2),
            prop::sample::select(STATES),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.1),
            prop::option::weighted(0.2, any::<u64>()),
            prop::bool::weighted(0.1),
        ),
        labels,
        prop::collection::vec(synth_frame(), 0..6),
        prop::collection::vec((any::<Index>(), any::<u32>()), 0..2),
        prop::option::weighted(0.7, creator),
        prop::option::weighted(
            0.15,
            (
                any::<u64>(),
                prop::collection::vec(synth_frame(), 0..3),
                any::<u32>(),
            ),
        ),
    )
        .prop_map(
            |(
                (id, gp, state, leaked, scan, minutes, locked),
                labels,
                frames,
                elided,
                created_by,
                ancestor,
            )| SynthGoroutine {
                id,
                gp,
                state,
                leaked,
                scan,
                minutes,
                locked,
                labels,
                frames,
                elided,
                created_by,
                ancestor,
            },
        )
}

fn synth_dump(labels: BoxedStrategy<Vec<(String, String)>>) -> impl Strategy<Value = SynthDump> {
    let ids = prop_oneof![1 => any::<u64>(), 3 => 0u64..64].boxed();
    (
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.2, Just(())),
        prop::sample::select(PREAMBLES),
        prop::sample::select(TRAILERS),
        prop::collection::vec(synth_goroutine(ids, labels), 0..8),
    )
        .prop_map(
            |(go127, ascii_quotes, crlf, preamble, trailer, goroutines)| SynthDump {
                go127,
                ascii_quotes,
                crlf: crlf.is_some(),
                preamble,
                trailer,
                goroutines,
            },
        )
}

/// `s` as Go's strconv.Quote (or QuoteToASCII) writes it.
fn go_quote(s: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => out.push(c),
            c if ascii && (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Go 1.27 label key or value: bare when it needs no quotes.
fn go127_label_text(s: &str, ascii: bool) -> String {
    let bare = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_./#-".contains(&b));
    if bare {
        s.to_string()
    } else {
        go_quote(s, ascii)
    }
}

impl SynthFrame {
    fn render(&self, out: &mut String) {
        out.push_str(&format!(
            "{}({})\n\t{}:{}",
            self.function, self.args, self.file, self.line
        ));
        if let Some(offset) = self.offset {
            out.push_str(&format!(" +0x{offset:x}"));
        }
        out.push('\n');
    }
}

impl SynthDump {
    fn render(&self) -> String {
        let mut out = String::from(self.preamble);
        for (n, g) in self.goroutines.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            out.push_str(&format!("goroutine {}", g.id));
            if g.gp {
                out.push_str(" gp=0xc000001234 m=nil");
            }
            out.push_str(" [");
            out.push_str(g.state);
            if g.scan {
                out.push_str(" (scan)");
            }
            if g.leaked {
                out.push_str(" (leaked)");
            }
            if let Some(m) = g.minutes {
                out.push_str(&format!(", {m} minutes"));
            }
            if g.locked {
                out.push_str(", locked to thread");
            }
            let q = self.ascii_quotes;
            if !g.labels.is_empty() && !self.go127 {
                let labels: Vec<String> = g
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{}: {}", go_quote(k, q), go_quote(v, q)))
                    .collect();
                out.push_str(&format!(" labels:{{{}}}", labels.join(", ")));
            }
            out.push(']');
            if !g.labels.is_empty() && self.go127 {
                let labels: Vec<String> = g
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{}: {}", go127_label_text(k, q), go127_label_text(v, q)))
                    .collect();
                out.push_str(&format!(" {{{}}}", labels.join(", ")));
            }
            out.push_str(":\n");
            let elided_at: Vec<(usize, u32)> = g
                .elided
                .iter()
                .map(|(at, n)| (at.index(g.frames.len() + 1), *n))
                .collect();
            for i in 0..=g.frames.len() {
                for &(_, n) in elided_at.iter().filter(|(at, _)| *at == i) {
                    out.push_str(&format!("...{n} frames elided...\n"));
                }
                if let Some(f) = g.frames.get(i) {
                    f.render(&mut out);
                }
            }
            if let Some(c) = &g.created_by {
                out.push_str(&format!("created by {}", c.function));
                if let Some(p) = c.parent {
                    out.push_str(&format!(" in goroutine {p}"));
                }
                out.push_str(&format!("\n\t{}:{} +0x{:x}\n", c.file, c.line, c.offset));
            }
            if let Some((from, frames, elided)) = &g.ancestor {
                out.push_str(&format!("[originating from goroutine {from}]:\n"));
                for f in frames {
                    f.render(&mut out);
                }
                out.push_str(&format!("...{elided} frames elided...\n"));
                out.push_str(
                    "...additional frames elided...\ncreated by main.main\n\t/m.go:1 +0x1\n",
                );
            }
        }
        out.push_str(self.trailer);
        if self.crlf {
            out = out.replace('\n', "\r\n");
        }
        out
    }
}

/// A goroutine as owned values, to compare what was written with what was
/// parsed.
#[derive(Debug, PartialEq)]
struct Parsed {
    id: u64,
    state: String,
    leaked: bool,
    wait_minutes: Option<u64>,
    locked_to_thread: bool,
    labels: Vec<(String, String)>,
    /// (function, file, line, inlined).
    frames: Vec<(String, String, u32, bool)>,
    elided_frames: u64,
    /// (function, parent, file, line).
    created_by: Option<(String, Option<u64>, String, u32)>,
}

impl From<&Goroutine<'_>> for Parsed {
    fn from(g: &Goroutine<'_>) -> Parsed {
        Parsed {
            id: g.id,
            state: g.state.to_string(),
            leaked: g.leaked,
            wait_minutes: g.wait_minutes,
            locked_to_thread: g.locked_to_thread,
            labels: g
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            frames: g
                .frames
                .iter()
                .map(|f| (f.function.into(), f.file.into(), f.line, f.inlined))
                .collect(),
            elided_frames: g.elided_frames,
            created_by: g
                .created_by
                .as_ref()
                .map(|c| (c.function.into(), c.parent, c.file.into(), c.line)),
        }
    }
}

impl SynthGoroutine {
    fn expected(&self) -> Parsed {
        Parsed {
            id: self.id,
            state: self.state.to_string(),
            leaked: self.leaked,
            wait_minutes: self.minutes,
            locked_to_thread: self.locked,
            labels: self.labels.clone(),
            frames: self
                .frames
                .iter()
                .map(|f| {
                    let inlined = f.args == "..." && f.offset.is_none();
                    (f.function.clone(), f.file.to_string(), f.line, inlined)
                })
                .collect(),
            elided_frames: self.elided.iter().map(|&(_, n)| u64::from(n)).sum(),
            created_by: self
                .created_by
                .as_ref()
                .map(|c| (c.function.clone(), c.parent, c.file.to_string(), c.line)),
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any text: no panic, no hang, linear allocation, and the parser's
    /// promises (see `check_dump`).
    #[test]
    fn dump_parser_survives_hostile_text(text in dump_text()) {
        bounded(CASE_LIMIT, move || check_dump(&text))?;
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Well-formed dumps of every format understood parse back to what was
    /// written.
    #[test]
    fn synthetic_dumps_parse_back(dump in synth_dump(any_labels())) {
        bounded(CASE_LIMIT, move || {
            let text = dump.render();
            check_dump(&text)?;
            let parsed: Vec<Parsed> =
                Snapshot::parse(&text).goroutines.iter().map(Parsed::from).collect();
            let want: Vec<Parsed> = dump.goroutines.iter().map(SynthGoroutine::expected).collect();
            prop_assert_eq!(parsed, want, "dump:\n{}", text);
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// Target 2: the test2json converter.

const T2J_TOKENS: &[&[u8]] = &[
    b"\x16",
    b"=== RUN   ",
    b"=== PAUSE ",
    b"=== CONT  ",
    b"=== NAME  ",
    b"=== NAME",
    b"=== PASS  ",
    b"=== FAIL  ",
    b"=== SKIP  ",
    b"=== ATTR  ",
    b"=== ARTIFACTS ",
    b"--- PASS: ",
    b"--- FAIL: ",
    b"--- SKIP: ",
    b"--- BENCH: ",
    b"    ",
    b"PASS",
    b"FAIL",
    b"FAIL\t",
    b"?   \t",
    b"\t[no test files]",
    b"\n",
    b"\r\n",
    b"\r",
    b"\x0f",
    b"\x0e",
    b"\x1b",
    b"Benchmark",
    b"BenchmarkX-2",
    b"Benchmarkx",
    b"\t",
    b" (0.00s)",
    b" (NaNs)",
    b" (1e309s)",
    b" (",
    b"s)",
    b"TestA",
    b"TestA/b",
    b"/",
    b" ",
    b"key value",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\xff",
    b"ok  \tpkg\t0.1s",
];

fn t2j_insert() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(T2J_TOKENS).prop_map(<[u8]>::to_vec),
        2 => prop::collection::vec(any::<u8>(), 1..16),
        1 => (any::<u8>(), 1000usize..5000).prop_map(|(b, n)| vec![b; n]),
    ]
    .boxed()
}

/// Any bytes, or (mostly) a real stream mutated.
fn t2j_stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..3000),
        2 => token_soup(T2J_TOKENS, 0..200, true),
        1 => any::<Index>().prop_map(|i| real_stream(&i)),
        5 => (any::<Index>(), mutation(t2j_insert()))
            .prop_map(|(i, m)| apply(&m, real_stream(&i), false)),
    ]
}

/// Where a stream is cut into the pieces given to `write`.
#[derive(Debug, Clone)]
enum Chunking {
    /// At these points (sorted; empty pieces included).
    At(Vec<Index>),
    /// Every N bytes.
    Every(usize),
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        3 => prop::collection::vec(any::<Index>(), 0..24).prop_map(Chunking::At),
        1 => (1usize..8).prop_map(Chunking::Every),
        1 => prop::sample::select(&[1023usize, 1024, 1025, 4095, 4096, 4097][..])
            .prop_map(Chunking::Every),
    ]
}

impl Chunking {
    /// Where `len` bytes are cut.
    fn cuts(&self, len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = match self {
            Chunking::At(at) => at.iter().map(|i| i.index(len + 1)).collect(),
            Chunking::Every(n) => (1..=len / n).map(|k| k * n).collect(),
        };
        cuts.sort_unstable();
        cuts
    }
}

const PACKAGE: &str = "leakcheck.test/fuzz";

/// The events `input` makes, written in pieces cut at `cuts`; and where
/// the events of `close` begin.
fn convert(input: &[u8], cuts: &[usize], release: (u32, u32)) -> (Vec<TestEvent>, usize) {
    let mut c = Converter::new(PACKAGE, release);
    let mut events = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain([&input.len()]) {
        c.write(&input[at..cut]);
        events.extend(c.events());
        at = cut;
    }
    let closed_at = events.len();
    c.close();
    events.extend(c.events());
    (events, closed_at)
}

/// The events as JSON lines, without what depends on the clock: times,
/// and the elapsed of the package's final event (the last one `close`
/// makes; it names the current test, if any, as test2json's does). JSON,
/// as NaN is not equal to itself.
fn timeless((events, closed_at): (Vec<TestEvent>, usize)) -> Vec<String> {
    let last = events.len().wrapping_sub(1);
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.time = None;
            if i == last && i >= closed_at && e.is_final() {
                e.elapsed = None;
            }
            serde_json::to_string(&e).expect("events serialize")
        })
        .collect()
}

/// What the converter promises of any input's events.
fn check_events(input: &[u8], events: &[TestEvent]) -> Result<(), TestCaseError> {
    prop_assert_eq!(events.first().map(|e| e.action.as_str()), Some("start"));
    // Each event is made by a byte of input, but for the first and last;
    // Go 1.27's error markers may make an empty output event each.
    prop_assert!(
        events.len() <= 2 + 3 * input.len(),
        "{} events from {} bytes",
        events.len(),
        input.len()
    );
    for e in events {
        prop_assert_eq!(e.package.as_deref(), Some(PACKAGE));
        if let Some(output) = &e.output {
            // "Output is cut into events ... in pieces of at most 1 KiB"
            // (a byte that is not UTF-8 is one U+FFFD).
            prop_assert!(
                output.chars().count() <= 1024,
                "an output event of {} characters",
                output.chars().count()
            );
        }
    }
    Ok(())
}

/// `input` without what makes its events depend on where it is cut, as in
/// Go's test2json: a benchmark name, which shows before its line is
/// complete; and, for Go 1.27+, ^[ escapes, whose state carries over to
/// the bytes of an incomplete line when they are looked at again.
fn cut_independent(input: &[u8], typed: bool) -> Vec<u8> {
    let mut out: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&b| !typed || b != 0x1b)
        .collect();
    while let Some(at) = out.windows(9).position(|w| w == b"Benchmark") {
        out[at + 5] = b'_';
    }
    out
}

proptest! {
    #![proptest_config(config(256))]

    /// Any stream, cut anywhere: no panic, no hang, linear allocation; and,
    /// where the format promises it, the same events however it is cut.
    #[test]
    fn test2json_survives_hostile_streams(
        input in t2j_stream(),
        chunks in chunking(),
        release in prop::sample::select(&[(1u32, 21u32), (1, 26), (1, 27), (1, 28)][..]),
    ) {
        bounded(CASE_LIMIT, move || {
            let cuts = chunks.cuts(input.len());
            let ((whole, _), allocated) = allocated_by(|| convert(&input, &[], release));
            // An event per byte at most, each at most a line's test name
            // (4 KiB) and 1 KiB of output, plus its fields.
            let allowed = (input.len() as u64 + 2) * (16 << 10) + (1 << 20);
            prop_assert!(
                allocated <= allowed,
                "converting {} bytes allocated {allocated}",
                input.len()
            );
            check_events(&input, &whole)?;
            let (pieces, _) = convert(&input, &cuts, release);
            check_events(&input, &pieces)?;

            let typed = release >= (1, 27);
            let input = cut_independent(&input, typed);
            let whole = timeless(convert(&input, &[], release));
            let pieces = timeless(convert(&input, &chunks.cuts(input.len()), release));
            prop_assert_eq!(whole, pieces, "cut at {:?}", chunks.cuts(input.len()));
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// Target 3: the hook protocol reader.

/// Run IDs as the unguided messages name them: valid ones, and not.
const RUN_POOL: &[&str] = &[
    "TestA#1",
    "TestA#2",
    "TestA#3",
    "TestB#1",
    "TestB#2",
    "TestC#1",
    "TestA#1/sub",
    "TestA#1/a/b",
    "-",
    "TestA",
    "TestA#",
    "#1",
    "TestA#99999999999999999999",
    "",
];

/// Tests of the runs guided messages start.
const TEST_NAMES: &[&str] = &["TestA", "TestB", "TestC"];

/// Announced lengths that are not the body's.
const ODD_LENGTHS: &[&str] = &[
    "0",
    "1073741824",
    "2147483648",
    "2147483649",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "-1",
    "+5",
    "0x10",
    "",
    "1 2",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum MsgKind {
    Start,
    StartSame,
    StartStale,
    Sub,
    End,
    EndSame,
    EndLater,
    Dump,
    DumpRound,
    Probe,
}

#[derive(Debug, Clone)]
enum Body {
    Empty,
    Real(Index),
    RealCut(Index, Index),
    Synth(String),
    Random(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Len {
    Exact,
    /// Announces more than the body: the next message is read as its body.
    Longer(usize),
    /// Announces less: the rest of the body is read as a header.
    Shorter(usize),
    Odd(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum KeyMangle {
    Missing,
    Upper,
    Short,
    Long,
    NoSpace,
    Zeros,
}

#[derive(Debug, Clone)]
enum Step {
    Message {
        kind: MsgKind,
        /// Names a run the model says fits (a new one for a start, a
        /// running one for an end, ...), rather than one of `RUN_POOL`.
        guided: bool,
        pick: Index,
        gid: String,
        status: &'static str,
        count: &'static str,
        body: Body,
        len: Len,
    },
    /// A header with a mangled key (or none).
    Unkeyed(KeyMangle, String),
    /// The key, then text that is no header.
    KeyedGarbage(String),
    /// Bytes as they are.
    Raw(Vec<u8>),
}

/// The labels the helper sets: run IDs (some of them not).
fn run_labels() -> BoxedStrategy<Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                8 => Just("leakcheck_test".to_string()),
                1 => "[a-z]{1,4}"
            ],
            prop::sample::select(RUN_POOL).prop_map(str::to_string),
        ),
        0..2,
    )
    .boxed()
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => Just(Body::Empty),
        2 => any::<Index>().prop_map(Body::Real),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(d, c)| Body::RealCut(d, c)),
        4 => synth_dump(run_labels()).prop_map(|d| Body::Synth(d.render())),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Random),
    ]
}

const KINDS: &[MsgKind] = &[
    MsgKind::Start,
    MsgKind::StartSame,
    MsgKind::StartStale,
    MsgKind::Sub,
    MsgKind::End,
    MsgKind::EndSame,
    MsgKind::EndLater,
    MsgKind::Dump,
    MsgKind::DumpRound,
    MsgKind::Probe,
];

/// A message a real hook could send: a run the model says fits, a valid
/// GID and status, a dump (real or synthetic) or none, the right length.
fn valid_step() -> impl Strategy<Value = Step> {
    (
        prop::sample::select(KINDS),
        any::<Index>(),
        (0u64..48).prop_map(|g| g.to_string()),
        prop::sample::select(&["pass", "fail", "skip"][..]),
        prop::sample::select(&["clean", "-"][..]),
        prop_oneof![
            1 => Just(Body::Empty),
            2 => any::<Index>().prop_map(Body::Real),
            4 => synth_dump(run_labels()).prop_map(|d| Body::Synth(d.render())),
        ],
    )
        .prop_map(|(kind, pick, gid, status, count, body)| Step::Message {
            kind,
            guided: true,
            pick,
            gid,
            status,
            count,
            body,
            len: Len::Exact,
        })
}

/// Any step: messages that may name runs that do not fit, carry wrong
/// GIDs, statuses, lengths or bodies; text without the key; garbage.
fn hostile_step() -> impl Strategy<Value = Step> {
    let gid = prop_oneof![
        4 => (0u64..48).prop_map(|g| g.to_string()),
        1 => any::<u64>().prop_map(|g| g.to_string()),
        1 => prop::sample::select(&["18446744073709551616", "-1", "x", "", "0x1"][..])
            .prop_map(str::to_string),
    ];
    let status = prop_oneof![
        4 => prop::sample::select(&["pass", "fail", "skip"][..]),
        1 => prop::sample::select(&["maybe", "", "PASS"][..]),
    ];
    let len = prop_oneof![
        4 => Just(Len::Exact),
        1 => (1usize..64).prop_map(Len::Longer),
        1 => (1usize..64).prop_map(Len::Shorter),
        1 => prop::sample::select(ODD_LENGTHS).prop_map(Len::Odd),
    ];
    let message = (
        prop::sample::select(KINDS),
        prop::bool::weighted(0.5),
        any::<Index>(),
        gid,
        status,
        prop::sample::select(&["clean", "-", "dirty"][..]),
        body(),
        len,
    )
        .prop_map(
            |(kind, guided, pick, gid, status, count, body, len)| Step::Message {
                kind,
                guided,
                pick,
                gid,
                status,
                count,
                body,
                len,
            },
        );
    let mangle = prop::sample::select(
        &[
            KeyMangle::Missing,
            KeyMangle::Upper,
            KeyMangle::Short,
            KeyMangle::Long,
            KeyMangle::NoSpace,
            KeyMangle::Zeros,
        ][..],
    );
    let forged =
        prop::sample::select(&["end= TestA#1 pass 0", "dump - 0", "start TestA#1 1 0", ""][..]);
    prop_oneof![
        8 => message,
        1 => (mangle, forged).prop_map(|(m, h)| Step::Unkeyed(m, h.to_string())),
        1 => "[ -~]{0,40}".prop_map(Step::KeyedGarbage),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Step::Raw),
    ]
}

/// What a fake hook knows of the runs, to name ones that fit.
#[derive(Default)]
struct RunModel {
    running: Vec<String>,
    /// Runs whose `end` or `dump` was answered `again` or `profile`.
    checking: Vec<String>,
    /// Runs ended otherwise.
    ended: Vec<String>,
    started: HashMap<&'static str, u32>,
}

impl RunModel {
    fn pick(list: &[String], pick: &Index) -> Option<String> {
        (!list.is_empty()).then(|| list[pick.index(list.len())].clone())
    }

    /// The kind and run of a message (a guided one that fits no run known
    /// becomes the start of a new run, or a round's dump); the model
    /// follows.
    fn message(&mut self, kind: MsgKind, guided: bool, pick: &Index) -> (MsgKind, String) {
        let pooled = RUN_POOL[pick.index(RUN_POOL.len())].to_string();
        let (kind, run) = if !guided {
            (kind, pooled)
        } else {
            let fresh = |model: &mut RunModel| {
                let test = TEST_NAMES[pick.index(TEST_NAMES.len())];
                let n = model.started.entry(test).or_insert(0);
                *n += 1;
                format!("{test}#{n}")
            };
            match kind {
                MsgKind::Start | MsgKind::StartSame | MsgKind::StartStale => (kind, fresh(self)),
                MsgKind::Sub | MsgKind::End | MsgKind::EndSame | MsgKind::EndLater => {
                    match RunModel::pick(&self.running, pick) {
                        Some(run) if kind == MsgKind::Sub => {
                            (kind, format!("{run}/s{}", pick.index(3)))
                        }
                        Some(run) => (kind, run),
                        None => (MsgKind::Start, fresh(self)),
                    }
                }
                MsgKind::Dump => match RunModel::pick(&self.checking, pick) {
                    Some(run) => (kind, run),
                    None => (MsgKind::DumpRound, "-".into()),
                },
                MsgKind::DumpRound | MsgKind::Probe => (kind, "-".into()),
            }
        };
        match kind {
            MsgKind::Start | MsgKind::StartSame | MsgKind::StartStale => {
                let known = [&self.running, &self.checking, &self.ended]
                    .iter()
                    .any(|l| l.contains(&run));
                if !known {
                    self.running.push(run.clone());
                }
            }
            MsgKind::End | MsgKind::EndSame | MsgKind::EndLater => {
                if let Some(i) = self.running.iter().position(|r| *r == run) {
                    let run = self.running.remove(i);
                    if kind == MsgKind::End {
                        self.checking.push(run); // until answered `done`
                    } else {
                        self.ended.push(run);
                    }
                }
            }
            _ => {}
        }
        (kind, run)
    }

    /// The listener answered a message about `run`.
    fn answered(&mut self, run: &str, answer: &str) {
        if answer.starts_with("done") {
            if let Some(i) = self.checking.iter().position(|r| r == run) {
                self.ended.push(self.checking.remove(i));
            }
        }
    }
}

/// The bytes of `step` as a hook would write them with `key`, and the run
/// of the message whose answer is due, if it is one that is answered
/// (`end`, `dump`) or could be (keyed garbage).
fn render_step(step: &Step, key: &str, model: &mut RunModel) -> (Vec<u8>, Option<String>) {
    match step {
        Step::Message {
            kind,
            guided,
            pick,
            gid,
            status,
            count,
            body,
            len,
        } => {
            let (kind, run) = model.message(*kind, *guided, pick);
            let header = match kind {
                MsgKind::Start => format!("start {run} {gid}"),
                MsgKind::StartSame => format!("start= {run} {gid}"),
                MsgKind::StartStale => format!("start~ {run} {gid}"),
                MsgKind::Sub => format!("sub {run} {gid}"),
                MsgKind::End => format!("end {run} {status}"),
                MsgKind::EndSame => format!("end= {run} {status}"),
                MsgKind::EndLater => format!("end~ {run} {status} {count}"),
                MsgKind::Dump | MsgKind::DumpRound => format!("dump {run}"),
                MsgKind::Probe => format!("probe {run}"),
            };
            let answered = matches!(kind, MsgKind::End | MsgKind::Dump | MsgKind::DumpRound);
            // `=`, `~` and `sub` messages carry no dump.
            let no_body = matches!(
                kind,
                MsgKind::StartSame
                    | MsgKind::StartStale
                    | MsgKind::Sub
                    | MsgKind::EndSame
                    | MsgKind::EndLater
            );
            let body: Vec<u8> = match body {
                _ if no_body && *guided => Vec::new(),
                Body::Empty => Vec::new(),
                Body::Real(i) => real_dump(i).as_bytes().to_vec(),
                Body::RealCut(i, cut) => {
                    let d = real_dump(i).as_bytes();
                    d[..cut.index(d.len() + 1)].to_vec()
                }
                Body::Synth(text) => text.clone().into_bytes(),
                Body::Random(bytes) => bytes.clone(),
            };
            let len = match len {
                Len::Exact => body.len().to_string(),
                Len::Longer(n) => (body.len() + n).to_string(),
                Len::Shorter(n) => body.len().saturating_sub(*n).to_string(),
                Len::Odd(s) => s.to_string(),
            };
            let mut bytes = format!("{key} {header} {len}\n").into_bytes();
            bytes.extend(body);
            (bytes, answered.then_some(run))
        }
        Step::Unkeyed(mangle, header) => {
            let key = match mangle {
                KeyMangle::Missing => String::new(),
                KeyMangle::Upper => format!("{} ", key.to_uppercase()),
                KeyMangle::Short => format!("{} ", &key[..key.len() - 1]),
                KeyMangle::Long => format!("{key}0 "),
                KeyMangle::NoSpace => key.to_string(),
                KeyMangle::Zeros => format!("{} ", "0".repeat(key.len())),
            };
            (format!("{key}{header}\n").into_bytes(), None)
        }
        Step::KeyedGarbage(text) => (format!("{key} {text}\n").into_bytes(), Some("?".into())),
        Step::Raw(bytes) => (bytes.clone(), None),
    }
}

/// Whether the listener, reading a header at the start of `bytes`, must
/// call it tampering: it does not start with the key and a space.
fn tampers(bytes: &[u8], key: &str) -> bool {
    !bytes.is_empty() && !bytes.starts_with(format!("{key} ").as_bytes())
}

/// How long a valid `end` or `dump` may wait for its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// One fake hook's session: `valid` messages, each answered one waited
/// for as the hook does, then `hostile` ones written without waiting.
fn hook_session(
    valid: Vec<Step>,
    hostile: Vec<Step>,
    grace: Duration,
    leak_profile: bool,
) -> Result<(), TestCaseError> {
    let comparator = Comparator::new(CompareConfig {
        grace,
        ignore: Default::default(),
        goroot: "/usr/local/go".into(),
        module: String::new(),
        leak_profile,
        calls: None,
    });
    let (listener, theirs) = HelperListener::new(comparator).expect("a listener");
    theirs
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    // The listener may stop reading (after a protocol error it shuts the
    // connection down): a write that blocks this long ends the session.
    theirs
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("a write timeout");
    let mut reader = BufReader::new(theirs.try_clone().expect("a clone"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("the key line");
    let key = first
        .strip_prefix("key ")
        .and_then(|k| k.strip_suffix('\n'))
        .unwrap_or_default()
        .to_string();
    prop_assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "the first line {first:?}"
    );
    // Answers, as they come, until the listener closes the connection.
    let (tx, answers) = mpsc::channel::<String>();
    let reader = std::thread::Builder::new()
        .name("fuzz-hook-answers".into())
        .spawn(move || loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        })
        .expect("spawning the answers' reader");

    let mut model = RunModel::default();
    let mut writer = theirs;
    let mut got = Vec::new();
    let mut answerable = 0;
    let mut open = true;
    for step in &valid {
        let (bytes, due) = render_step(step, &key, &mut model);
        if writer.write_all(&bytes).is_err() {
            open = false;
            break;
        }
        let Some(run) = due else { continue };
        answerable += 1;
        match answers.recv_timeout(ANSWER_WAIT) {
            Ok(answer) => {
                model.answered(&run, &answer);
                got.push(answer);
            }
            // Closed: the listener found the message wrong, which the
            // errors show.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                open = false;
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                prop_assert!(false, "no answer to a valid message in {ANSWER_WAIT:?}");
            }
        }
    }
    // Whether the first bytes after the valid messages are not a header.
    let mut tampered = None;
    for step in hostile.iter().filter(|_| open) {
        let (bytes, due) = render_step(step, &key, &mut model);
        answerable += usize::from(due.is_some());
        if tampered.is_none() && !bytes.is_empty() {
            tampered = Some(tampers(&bytes, &key));
        }
        if writer.write_all(&bytes).is_err() {
            break; // the listener shut the connection down
        }
    }
    let _ = writer.shutdown(std::net::Shutdown::Write);
    let finished = listener.finish();
    reader.join().expect("the answers' reader");
    got.extend(answers.try_iter());
    drop(writer);

    // A session ends at its first protocol error; a hook that sends only
    // valid messages makes none.
    prop_assert!(finished.errors.len() <= 1, "{:?}", finished.errors);
    prop_assert!(
        !hostile.is_empty() || finished.errors.is_empty(),
        "valid messages made a protocol error: {:?}",
        finished.errors
    );
    // Text that is not a keyed header, where a header is due, is
    // tampering, and fails the package (whatever its bytes).
    if open && tampered == Some(true) {
        prop_assert!(
            finished.errors.len() == 1 && finished.errors[0].starts_with("tampering: "),
            "no tampering error for the first hostile step: {:?}",
            finished.errors
        );
    }
    // Only `end` and `dump` are answered, once each, with one line of the
    // table in the module doc.
    prop_assert!(
        got.len() <= answerable,
        "{} answers to {answerable} messages: {got:?}",
        got.len()
    );
    for answer in &got {
        let words: Vec<&str> = answer
            .strip_suffix('\n')
            .unwrap_or("?")
            .split(' ')
            .collect();
        let well_formed = match words[..] {
            ["done"] | ["done", "exact"] => true,
            ["again" | "profile", ms] => ms.parse::<u64>().is_ok(),
            _ => false,
        };
        prop_assert!(well_formed, "answer {answer:?}");
    }
    let exact = got.iter().filter(|a| *a == "done exact\n").count();
    prop_assert!(exact <= 1, "{got:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    /// Valid sessions, then anything: `finish` returns, nothing panics, a
    /// valid message is answered, and the answers are the protocol's.
    #[test]
    fn hook_protocol_survives_hostile_hooks(
        valid in prop::collection::vec(valid_step(), 0..24),
        hostile in prop::collection::vec(hostile_step(), 0..6),
        grace in prop::sample::select(&[0u64, 1, 100, 10_000][..]),
        leak_profile in any::<bool>(),
    ) {
        watch_unnamed_thread_panics();
        let before = UNNAMED_THREAD_PANICS.load(Ordering::SeqCst);
        bounded(LISTENER_CASE_LIMIT, move || {
            hook_session(valid, hostile, Duration::from_millis(grace), leak_profile)
        })?;
        let after = UNNAMED_THREAD_PANICS.load(Ordering::SeqCst);
        prop_assert_eq!(before, after, "the listener's thread panicked (see its message above)");
    }
}

// ---------------------------------------------------------------------------
// Regressions: inputs the targets found.

/// Found by `dump_parser_survives_hostile_text` (in a debug build, within
/// a few dozen cases of the soup of dump lines): two elided-frame counts
/// that add up past u64::MAX panicked `parse_body` ("attempt to add with
/// overflow", src/detect/stack.rs), and wrapped in a release build. Fixed in
/// f14c71d: the count saturates.
#[test]
fn elided_frame_counts_that_overflow_saturate() {
    let text =
        "goroutine 1 [x]:\n...18446744073709551615 frames elided...\n...1 frames elided...\n";
    let snapshot = Snapshot::parse(text);
    assert_eq!(snapshot.goroutines.len(), 1);
    assert_eq!(snapshot.goroutines[0].elided_frames, u64::MAX);
    check_dump(text).expect("the parser's promises");
}

/// Found by `hook_protocol_survives_hostile_hooks` (the tampering check,
/// minimal input: no valid message, then the one byte 0x80): a header line
/// that was not UTF-8 made the listener's `read_line` fail, which ended the
/// connection as if the hook had closed it, with no error. Fixed in
/// f14c71d: it is tampering.
#[test]
fn a_header_that_is_not_utf8_is_tampering() {
    hook_session(
        Vec::new(),
        vec![Step::Raw(vec![0x80])],
        Duration::ZERO,
        false,
    )
    .expect("a tampering error");
}

// ---------------------------------------------------------------------------
// The binary's line table (`.gopclntab`), read for creation chains' lines.

/// The `.gopclntab` of a real Go binary: the toolchain's own gofmt.
fn real_line_table() -> &'static [u8] {
    &real_binary().0
}

/// A real Go binary's (the toolchain's own gofmt) line table, its address,
/// and its sections (address, bytes) where the inline trees are found.
#[allow(clippy::type_complexity)]
fn real_binary() -> &'static (Vec<u8>, u64, Vec<(u64, Vec<u8>)>) {
    use object::{Object, ObjectSection};
    static BINARY: std::sync::OnceLock<(Vec<u8>, u64, Vec<(u64, Vec<u8>)>)> =
        std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let go = std::env::var_os("LEAKCHECK_TEST_GO").unwrap_or_else(|| "go".into());
        let out = std::process::Command::new(go)
            .args(["env", "GOROOT"])
            .output()
            .expect("go runs");
        let root = String::from_utf8(out.stdout).unwrap();
        let bytes = std::fs::read(std::path::Path::new(root.trim()).join("bin/gofmt")).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let section = file.section_by_name(".gopclntab").expect("a line table");
        let sections = [".noptrdata", ".rodata"]
            .iter()
            .filter_map(|name| {
                let s = file.section_by_name(name)?;
                Some((s.address(), s.data().ok()?.to_vec()))
            })
            .collect();
        (
            section.data().unwrap().to_vec(),
            section.address(),
            sections,
        )
    })
}

proptest! {
    #![proptest_config(config(64))]

    /// A line table with bytes changed or cut short: parsing and lookups
    /// return, without a panic.
    #[test]
    fn line_table_survives_corruption(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..64),
        header_edits in prop::collection::vec((0usize..96, any::<u8>()), 0..8),
        keep in any::<prop::sample::Index>(),
    ) {
        use leakcheck::go::pclntab::LineTable;
        let mut data = real_line_table().to_vec();
        for (at, b) in edits {
            let i = at.index(data.len());
            data[i] = b;
        }
        for (at, b) in header_edits {
            data[at] = b;
        }
        let len = data.len();
        if keep.index(4) == 0 {
            data.truncate(keep.index(len));
        }
        bounded(CASE_LIMIT, move || {
            if let Ok(table) = LineTable::parse(data) {
                for f in ["main.main", "go/printer.(*printer).print", "runtime.main"] {
                    let _ = table.call_line(f, "/x.go", 10, 0x40);
                    let _ = table.call_line(f, "/x.go", 10, u64::MAX);
                }
            }
        });
    }

    /// The binary's data (where its `moduledata` and inline trees are)
    /// with bytes changed or cut short, its line table too: reading the
    /// inline trees and lookups return, without a panic.
    #[test]
    fn inline_trees_survive_corruption(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..256),
        table_edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        at in prop_oneof![Just(0u64), any::<u64>()],
        cut in any::<prop::sample::Index>(),
    ) {
        use leakcheck::go::pclntab::LineTable;
        let (table, address, sections) = real_binary();
        let mut table = table.clone();
        for (i, b) in table_edits {
            let i = i.index(table.len());
            table[i] = b;
        }
        let mut sections = sections.clone();
        for (i, b) in edits {
            let s = i.index(sections.len() * 4096) % sections.len();
            let data = &mut sections[s].1;
            let i = i.index(data.len());
            data[i] = b;
        }
        if let Some((_, data)) = sections.last_mut() {
            let len = data.len();
            data.truncate(len - cut.index(len.min(4096)));
        }
        let address = if at == 0 { *address } else { at };
        bounded(CASE_LIMIT, move || {
            let Ok(table) = LineTable::parse(table) else { return };
            let sections: Vec<(u64, &[u8])> =
                sections.iter().map(|(a, d)| (*a, d.as_slice())).collect();
            let table = table.with_inline_trees(address, &sections);
            for f in ["main.main", "go/printer.(*printer).print", "strings.Index"] {
                for offset in [0x1c, 0x40, 0x400] {
                    let _ = table.call_line(f, "/x.go", 10, offset);
                }
            }
        });
    }
}
