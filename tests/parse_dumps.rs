//! Parser tests against real goroutine dumps captured from Go 1.21, 1.26 and
//! 1.27 (see `tests/dumps/README.md`). Every expected value below is read
//! off the dump files themselves.

use leakcheck::detect::stack::{goroutine_ids, CreatedBy, Frame, Goroutine, Snapshot};

const GO121_BASIC: &str = include_str!("dumps/go1.21-basic.txt");
const GO121_LABELS_NONE: &str = include_str!("dumps/go1.21-labels-none.txt");
const GO126_ANCESTORS: &str = include_str!("dumps/go1.26-ancestors.txt");
const GO126_BASIC: &str = include_str!("dumps/go1.26-basic.txt");
const GO126_DEADLOCK: &str = include_str!("dumps/go1.26-deadlock.txt");
const GO126_ELIDED: &str = include_str!("dumps/go1.26-elided.txt");
const GO126_FATAL_MAP: &str = include_str!("dumps/go1.26-fatal-map.txt");
const GO126_LABELS: &str = include_str!("dumps/go1.26-labels.txt");
const GO126_LEAKED: &str = include_str!("dumps/go1.26-leaked.txt");
const GO126_LOCKED: &str = include_str!("dumps/go1.26-locked.txt");
const GO126_PANIC_ALL: &str = include_str!("dumps/go1.26-panic-all.txt");
const GO126_PANIC: &str = include_str!("dumps/go1.26-panic.txt");
const GO126_SIGQUIT: &str = include_str!("dumps/go1.26-sigquit.txt");
const GO127_BASIC: &str = include_str!("dumps/go1.27-basic.txt");
const GO127_LABELS: &str = include_str!("dumps/go1.27-labels.txt");
const GO127_LEAKED: &str = include_str!("dumps/go1.27-leaked.txt");

/// Every dump with the goroutine IDs it holds, in dump order.
const DUMPS: &[(&str, &str, &[u64])] = &[
    (
        "go1.21-basic",
        GO121_BASIC,
        &[
            1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 26, 25, 27,
        ],
    ),
    (
        "go1.21-labels-none",
        GO121_LABELS_NONE,
        &[1, 6, 9, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
    ),
    ("go1.26-ancestors", GO126_ANCESTORS, &[1, 8, 10, 9, 11]),
    (
        "go1.26-basic",
        GO126_BASIC,
        &[
            1, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 27, 26, 28,
        ],
    ),
    ("go1.26-deadlock", GO126_DEADLOCK, &[1, 18, 19]),
    ("go1.26-elided", GO126_ELIDED, &[1, 6]),
    ("go1.26-fatal-map", GO126_FATAL_MAP, &[19]),
    (
        "go1.26-labels",
        GO126_LABELS,
        &[1, 18, 21, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32],
    ),
    (
        "go1.26-leaked",
        GO126_LEAKED,
        &[1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    ),
    ("go1.26-locked", GO126_LOCKED, &[1, 18, 19]),
    ("go1.26-panic-all", GO126_PANIC_ALL, &[19, 1, 18]),
    ("go1.26-panic", GO126_PANIC, &[19]),
    (
        "go1.26-sigquit",
        GO126_SIGQUIT,
        &[0, 1, 2, 3, 4, 17, 18, 19],
    ),
    (
        "go1.27-basic",
        GO127_BASIC,
        &[
            1, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 38, 40,
        ],
    ),
    (
        "go1.27-labels",
        GO127_LABELS,
        &[1, 18, 21, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32],
    ),
    (
        "go1.27-leaked",
        GO127_LEAKED,
        &[1, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27],
    ),
];

const BASIC_GO: &str = "/work/main/tools/capture-dumps/basic/main.go";
const LABELS_GO: &str = "/work/main/tools/capture-dumps/labels/main.go";
const LEAKED_GO: &str = "/work/main/tools/capture-dumps/leaked/main.go";
const ANCESTORS_GO: &str = "/work/main/tools/capture-dumps/ancestors/main.go";
const ELIDED_GO: &str = "/work/main/tools/capture-dumps/elided/main.go";
const LOCKED_GO: &str = "/work/main/tools/capture-dumps/locked/main.go";
const HANG_TEST_GO: &str = "/work/main/tools/capture-dumps/sigquit/hang_test.go";
const PANIC_TEST_GO: &str = "/work/main/tools/capture-dumps/panicking/panic_test.go";
const FATALMAP_TEST_GO: &str = "/work/main/tools/capture-dumps/fatalmap/fatalmap_test.go";
const DUMP_GO: &str = "/work/main/tools/capture-dumps/internal/dump/dump.go";
const GOROOT_121: &str = "/root/.cache/leakcheck/go/1.21.13/go/src";
const GOROOT_126: &str = "/usr/local/go/src";
const GOROOT_127: &str = "/root/.cache/leakcheck/go/1.27.3/go/src";

/// The goroutine `id` of `s`, which must be there.
fn g<'s, 'a>(s: &'s Snapshot<'a>, id: u64) -> &'s Goroutine<'a> {
    s.get(id)
        .unwrap_or_else(|| panic!("goroutine {id} not parsed"))
}

/// A frame with the given fields.
fn frame<'a>(function: &'a str, file: &'a str, line: u32, inlined: bool) -> Frame<'a> {
    Frame {
        function,
        file,
        line,
        inlined,
    }
}

/// A `created by` with the given fields.
fn created<'a>(function: &'a str, parent: Option<u64>, file: &'a str, line: u32) -> CreatedBy<'a> {
    CreatedBy {
        function,
        parent,
        file,
        line,
    }
}

fn path(root: &str, rel: &str) -> String {
    format!("{root}/{rel}")
}

/// The goroutine's labels as owned (key, value) pairs, for comparisons.
fn labels_of(g: &Goroutine<'_>) -> Vec<(String, String)> {
    g.labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts the state and that nothing else is in the header.
#[track_caller]
fn assert_plain(g: &Goroutine<'_>, state: &str) {
    assert_eq!(g.state, state, "state of goroutine {}", g.id);
    assert!(!g.leaked, "goroutine {} marked leaked", g.id);
    assert!(!g.locked_to_thread, "goroutine {} locked", g.id);
    assert_eq!(g.wait_minutes, None, "goroutine {}", g.id);
}

// ---------------------------------------------------------------------------
// Every dump
// ---------------------------------------------------------------------------

#[test]
fn goroutine_count_and_ids_per_dump() {
    for &(name, text, ids) in DUMPS {
        let s = Snapshot::parse(text);
        let parsed: Vec<u64> = s.goroutines.iter().map(|g| g.id).collect();
        assert_eq!(parsed, ids, "{name}: ids of the full parse");
        assert_eq!(s.goroutines.len(), ids.len(), "{name}: goroutine count");
        assert_eq!(goroutine_ids(text), ids, "{name}: goroutine_ids");
    }
}

#[test]
fn goroutine_ids_agrees_with_parse_on_crlf_dumps() {
    for &(name, text, ids) in DUMPS {
        let crlf = text.replace('\n', "\r\n");
        let s = Snapshot::parse(&crlf);
        let parsed: Vec<u64> = s.goroutines.iter().map(|g| g.id).collect();
        assert_eq!(parsed, ids, "{name} with CRLF: parse");
        assert_eq!(goroutine_ids(&crlf), ids, "{name} with CRLF: goroutine_ids");
        let lf = Snapshot::parse(text);
        for (a, b) in lf.goroutines.iter().zip(&s.goroutines) {
            assert_eq!(a.frames, b.frames, "{name}: frames of {} with CRLF", a.id);
            assert_eq!(a.created_by, b.created_by, "{name}: {} with CRLF", a.id);
            assert_eq!(a.labels, b.labels, "{name}: labels of {} with CRLF", a.id);
            assert_eq!(a.state, b.state, "{name}: state of {} with CRLF", a.id);
        }
    }
}

#[test]
fn goroutine_text_is_its_own_block_of_the_dump() {
    for &(name, text, _) in DUMPS {
        let s = Snapshot::parse(text);
        for g in &s.goroutines {
            let header = format!("goroutine {} ", g.id);
            assert!(g.text.starts_with(&header), "{name}: {}", g.id);
            assert!(!g.text.ends_with('\n'), "{name}: {}", g.id);
            assert!(!g.text.contains("\n\n"), "{name}: {}", g.id);
            assert!(
                !g.text[1..].contains("\ngoroutine "),
                "{name}: {} runs into the next goroutine",
                g.id
            );
            // Borrowed from the dump, and a whole block: followed by a
            // blank line or the end.
            let start = g.text.as_ptr() as usize - text.as_ptr() as usize;
            assert!(start + g.text.len() <= text.len(), "{name}: {}", g.id);
            assert_eq!(&text[start..start + g.text.len()], g.text);
            let after = &text[start + g.text.len()..];
            assert!(
                after.is_empty() || after == "\n" || after.starts_with("\n\n"),
                "{name}: goroutine {} text ends mid-block: {:?}",
                g.id,
                &after[..after.len().min(40)]
            );
        }
    }
}

/// Each location line of a goroutine's own part (before any ancestor
/// block) is one frame, except the `created by` one.
#[test]
fn every_location_line_is_a_frame_or_the_creation() {
    for &(name, text, _) in DUMPS {
        let s = Snapshot::parse(text);
        for g in &s.goroutines {
            let own = g
                .text
                .split("\n[originating from goroutine ")
                .next()
                .unwrap();
            let locations = own.lines().filter(|l| l.starts_with('\t')).count();
            let creation = usize::from(g.created_by.is_some());
            assert_eq!(
                g.frames.len() + creation,
                locations,
                "{name}: goroutine {}",
                g.id
            );
            assert_eq!(
                g.created_by.is_some(),
                own.contains("\ncreated by "),
                "{name}: goroutine {}",
                g.id
            );
            for f in &g.frames {
                assert!(!f.function.is_empty(), "{name}: {}", g.id);
                assert!(!f.function.ends_with(')'), "{name}: {}", f.function);
                assert!(
                    f.file.ends_with(".go") || f.file.ends_with(".s"),
                    "{name}: {f:?}"
                );
                assert!(f.line > 0, "{name}: {f:?}");
            }
        }
    }
}

#[test]
fn inlined_flag_matches_the_missing_pc_offset() {
    for &(name, text, _) in DUMPS {
        let s = Snapshot::parse(text);
        for g in &s.goroutines {
            let own = g
                .text
                .split("\n[originating from goroutine ")
                .next()
                .unwrap();
            let lines: Vec<&str> = own.lines().collect();
            let mut frames = g.frames.iter();
            for pair in lines.windows(2) {
                if !pair[1].starts_with('\t') || pair[0].starts_with("created by ") {
                    continue;
                }
                let f = frames.next().expect("a frame for each location");
                assert!(pair[0].starts_with(f.function), "{name}: {f:?}");
                let inlined = pair[0].ends_with("(...)") && !pair[1].contains(" +0x");
                assert_eq!(f.inlined, inlined, "{name}: goroutine {}: {f:?}", g.id);
            }
            assert!(frames.next().is_none(), "{name}: goroutine {}", g.id);
        }
    }
}

#[test]
fn dumps_without_labels_parse_no_labels() {
    for (name, text) in [
        ("go1.21-basic", GO121_BASIC),
        ("go1.21-labels-none", GO121_LABELS_NONE),
        ("go1.26-basic", GO126_BASIC),
        ("go1.27-basic", GO127_BASIC),
        ("go1.26-leaked", GO126_LEAKED),
        ("go1.27-leaked", GO127_LEAKED),
        ("go1.26-elided", GO126_ELIDED),
        ("go1.26-locked", GO126_LOCKED),
        ("go1.26-ancestors", GO126_ANCESTORS),
        ("go1.26-fatal-map", GO126_FATAL_MAP),
    ] {
        for g in Snapshot::parse(text).goroutines {
            assert!(g.labels.is_empty(), "{name}: goroutine {}", g.id);
        }
    }
}

// ---------------------------------------------------------------------------
// Go 1.21 basic
// ---------------------------------------------------------------------------

#[test]
fn go121_basic_states() {
    let s = Snapshot::parse(GO121_BASIC);
    for (id, state) in [
        (1, "running"),
        (6, "chan send"),
        (7, "chan receive"),
        (8, "select"),
        (9, "select (no cases)"),
        (10, "chan receive (nil chan)"),
        (11, "chan send (nil chan)"),
        (12, "sync.Mutex.Lock"),
        (13, "sync.RWMutex.Lock"),
        (14, "semacquire"),
        (15, "sync.Cond.Wait"),
        (16, "sleep"),
        (18, "IO wait"),
        (19, "syscall"),
        (20, "chan receive"),
        (27, "select"),
    ] {
        assert_plain(g(&s, id), state);
    }
}

#[test]
fn go121_basic_frames_and_creation() {
    let s = Snapshot::parse(GO121_BASIC);

    let main = g(&s, 1);
    assert_eq!(main.frames.len(), 3);
    assert_eq!(
        main.frames[0],
        frame(
            "leakcheck.test/capturedumps/internal/dump.All",
            DUMP_GO,
            18,
            false
        )
    );
    assert_eq!(main.frames[2], frame("main.main", BASIC_GO, 156, false));
    assert_eq!(main.created_by, None);
    assert_eq!(main.elided_frames, 0);

    let send = g(&s, 6);
    assert_eq!(
        send.frames,
        vec![frame("main.blockSend", BASIC_GO, 21, false)]
    );
    assert_eq!(
        send.created_by,
        Some(created("main.main", Some(1), BASIC_GO, 105))
    );

    // WaitGroup.Wait shows as `semacquire` in 1.21.
    let wg = g(&s, 14);
    let sema = path(GOROOT_121, "runtime/sema.go");
    let waitgroup = path(GOROOT_121, "sync/waitgroup.go");
    assert_eq!(
        wg.frames,
        vec![
            frame("sync.runtime_Semacquire", &sema, 62, false),
            frame("sync.(*WaitGroup).Wait", &waitgroup, 116, false),
            frame("main.blockWaitGroup", BASIC_GO, 48, false),
        ]
    );

    // An inlined runtime frame in the middle of the stack.
    let mutex = g(&s, 12);
    let mutex_go = path(GOROOT_121, "sync/mutex.go");
    assert_eq!(mutex.frames.len(), 4);
    assert_eq!(
        mutex.frames[1],
        frame("sync.(*Mutex).lockSlow", &mutex_go, 171, false)
    );
    assert_eq!(
        mutex.frames[2],
        frame("sync.(*Mutex).Lock", &mutex_go, 90, true)
    );

    let io = g(&s, 18);
    assert_eq!(io.frames.len(), 8);
    assert_eq!(io.frames[0].function, "internal/poll.runtime_pollWait");
    assert_eq!(
        io.frames[2],
        frame(
            "internal/poll.(*pollDesc).waitRead",
            &path(GOROOT_121, "internal/poll/fd_poll_runtime.go"),
            89,
            true
        )
    );
    assert_eq!(io.frames[6].function, "net.(*TCPListener).Accept");
    assert_eq!(io.frames[7], frame("main.blockAccept", BASIC_GO, 59, false));

    let sys = g(&s, 19);
    assert_eq!(
        sys.frames[0],
        frame(
            "syscall.Syscall",
            &path(GOROOT_121, "syscall/syscall_linux.go"),
            69,
            false
        )
    );
    assert_eq!(sys.frames[2].function, "syscall.Read");
    assert!(sys.frames[2].inlined);
    assert_eq!(
        sys.created_by,
        Some(created("main.main", Some(1), BASIC_GO, 139))
    );

    // A method, a generic function, an inlined call and closures.
    assert_eq!(
        g(&s, 20).frames,
        vec![frame("main.(*T).M", BASIC_GO, 19, false)]
    );
    assert_eq!(
        g(&s, 21).frames,
        vec![frame("main.parkGeneric[...]", BASIC_GO, 72, false)]
    );
    assert_eq!(
        g(&s, 22).frames,
        vec![
            frame("main.inlinedRecv", BASIC_GO, 76, true),
            frame("main.main.func1", BASIC_GO, 146, false),
        ]
    );
    assert_eq!(
        g(&s, 23).created_by,
        Some(created("main.nested", Some(1), BASIC_GO, 81))
    );
    let c1 = g(&s, 26);
    assert_eq!(
        c1.frames,
        vec![frame("main.nested.func1.1", BASIC_GO, 82, false)]
    );
    assert_eq!(
        c1.created_by,
        Some(created("main.nested.func1", Some(23), BASIC_GO, 82))
    );
    let c2 = g(&s, 27);
    assert_eq!(
        c2.frames,
        vec![frame("main.nested.func1.2", BASIC_GO, 84, false)]
    );
    assert_eq!(
        c2.created_by,
        Some(created("main.nested.func1", Some(23), BASIC_GO, 83))
    );
    // Created by goroutine 24, which has exited.
    assert!(s.get(24).is_none());
    assert_eq!(
        g(&s, 25).created_by,
        Some(created("main.spawner", Some(24), BASIC_GO, 96))
    );
}

// ---------------------------------------------------------------------------
// Go 1.26 and 1.27 basic
// ---------------------------------------------------------------------------

/// The basic program's goroutines in 1.26 and 1.27, in the same order:
/// `(1.26 id, 1.27 id, state)`.
const BASIC_STATES: &[(u64, u64, &str)] = &[
    (1, 1, "running"),
    (7, 20, "chan send"),
    (8, 21, "chan receive"),
    (9, 22, "select"),
    (10, 23, "select (no cases)"),
    (11, 24, "chan receive (nil chan)"),
    (12, 25, "chan send (nil chan)"),
    (13, 26, "sync.Mutex.Lock"),
    (14, 27, "sync.RWMutex.Lock"),
    (15, 28, "sync.WaitGroup.Wait"),
    (16, 29, "sync.Cond.Wait"),
    (18, 30, "sleep"),
    (19, 31, "IO wait"),
    (20, 32, "syscall"),
    (21, 33, "chan receive"),
    (22, 34, "chan receive"),
    (23, 35, "chan receive"),
    (24, 36, "chan receive"),
    (27, 39, "chan receive"),
    (26, 38, "chan receive"),
    (28, 40, "select"),
];

#[test]
fn go126_and_go127_basic_states() {
    let s126 = Snapshot::parse(GO126_BASIC);
    let s127 = Snapshot::parse(GO127_BASIC);
    for &(id126, id127, state) in BASIC_STATES {
        assert_plain(g(&s126, id126), state);
        assert_plain(g(&s127, id127), state);
    }
}

#[test]
fn go126_basic_frames_and_creation() {
    let s = Snapshot::parse(GO126_BASIC);

    // `go f(x)` goroutines often show only the inlined `f(...)` frame.
    for (id, function, line, created_at) in [
        (7, "main.blockSend", 21, 105),
        (8, "main.blockRecv", 23, 106),
        (9, "main.blockSelect", 26, 107),
        (21, "main.(*T).M", 19, 142),
        (22, "main.parkGeneric[...]", 72, 144),
    ] {
        let g = g(&s, id);
        assert_eq!(g.frames, vec![frame(function, BASIC_GO, line, true)]);
        assert_eq!(
            g.created_by,
            Some(created("main.main", Some(1), BASIC_GO, created_at))
        );
    }
    assert_eq!(
        g(&s, 10).frames,
        vec![frame("main.blockSelectNoCases", BASIC_GO, 32, false)]
    );
    assert_eq!(
        g(&s, 11).frames,
        vec![frame("main.blockNilRecv", BASIC_GO, 36, false)]
    );

    let mutex = g(&s, 13);
    assert_eq!(
        mutex.frames,
        vec![
            frame(
                "internal/sync.runtime_SemacquireMutex",
                &path(GOROOT_126, "runtime/sema.go"),
                95,
                false
            ),
            frame(
                "internal/sync.(*Mutex).lockSlow",
                &path(GOROOT_126, "internal/sync/mutex.go"),
                149,
                false
            ),
            frame(
                "internal/sync.(*Mutex).Lock",
                &path(GOROOT_126, "internal/sync/mutex.go"),
                70,
                true
            ),
            frame(
                "sync.(*Mutex).Lock",
                &path(GOROOT_126, "sync/mutex.go"),
                46,
                true
            ),
            frame("main.blockMutex", BASIC_GO, 44, true),
        ]
    );

    let wg = g(&s, 15);
    assert_eq!(wg.frames[0].function, "sync.runtime_SemacquireWaitGroup");
    assert_eq!(
        wg.frames[1],
        frame(
            "sync.(*WaitGroup).Wait",
            &path(GOROOT_126, "sync/waitgroup.go"),
            206,
            false
        )
    );

    assert_eq!(
        g(&s, 19).frames[0],
        frame(
            "internal/poll.runtime_pollWait",
            &path(GOROOT_126, "runtime/netpoll.go"),
            351,
            false
        )
    );
    let sys = g(&s, 20);
    assert_eq!(
        sys.frames.last(),
        Some(&frame("main.blockSyscall", BASIC_GO, 68, true))
    );
    assert_eq!(
        g(&s, 23).frames,
        vec![
            frame("main.inlinedRecv", BASIC_GO, 76, true),
            frame("main.main.func1", BASIC_GO, 146, false),
        ]
    );
    assert_eq!(
        g(&s, 27).created_by,
        Some(created("main.nested.func1", Some(24), BASIC_GO, 82))
    );
    assert_eq!(
        g(&s, 26).created_by,
        Some(created("main.spawner", Some(25), BASIC_GO, 96))
    );
    let c2 = g(&s, 28);
    assert_eq!(
        c2.frames,
        vec![frame("main.nested.func1.2", BASIC_GO, 84, false)]
    );
    assert_eq!(
        c2.created_by,
        Some(created("main.nested.func1", Some(24), BASIC_GO, 83))
    );
}

#[test]
fn go127_basic_frames_and_creation() {
    let s = Snapshot::parse(GO127_BASIC);
    assert_eq!(
        g(&s, 1).frames.last(),
        Some(&frame("main.main", BASIC_GO, 156, false))
    );
    assert_eq!(
        g(&s, 20).frames,
        vec![frame("main.blockSend", BASIC_GO, 21, true)]
    );
    assert_eq!(
        g(&s, 20).created_by,
        Some(created("main.main", Some(1), BASIC_GO, 105))
    );
    let mutex = g(&s, 26);
    assert_eq!(mutex.frames.len(), 5);
    assert_eq!(
        mutex.frames[1],
        frame(
            "internal/sync.(*Mutex).lockSlow",
            &path(GOROOT_127, "internal/sync/mutex.go"),
            149,
            false
        )
    );
    assert_eq!(
        mutex.frames[3],
        frame(
            "sync.(*Mutex).Lock",
            &path(GOROOT_127, "sync/mutex.go"),
            46,
            true
        )
    );
    assert_eq!(
        g(&s, 28).frames[1],
        frame(
            "sync.(*WaitGroup).Wait",
            &path(GOROOT_127, "sync/waitgroup.go"),
            206,
            false
        )
    );
    assert_eq!(
        g(&s, 30).frames[0],
        frame(
            "time.Sleep",
            &path(GOROOT_127, "runtime/time.go"),
            368,
            false
        )
    );
    let io = g(&s, 31);
    assert_eq!(io.frames.len(), 8);
    assert_eq!(
        io.frames[3],
        frame(
            "internal/poll.(*FD).Accept",
            &path(GOROOT_127, "internal/poll/fd_unix.go"),
            618,
            false
        )
    );
    assert_eq!(
        g(&s, 32).frames[1],
        frame(
            "syscall.read",
            &path(GOROOT_127, "syscall/zsyscall_linux_amd64.go"),
            736,
            false
        )
    );
    assert_eq!(
        g(&s, 33).frames,
        vec![frame("main.(*T).M", BASIC_GO, 19, true)]
    );
    assert_eq!(
        g(&s, 34).frames,
        vec![frame("main.parkGeneric[...]", BASIC_GO, 72, true)]
    );
    assert_eq!(
        g(&s, 35).frames,
        vec![
            frame("main.inlinedRecv", BASIC_GO, 76, true),
            frame("main.main.func1", BASIC_GO, 146, false),
        ]
    );
    assert_eq!(
        g(&s, 39).frames,
        vec![frame("main.nested.func1.1", BASIC_GO, 82, false)]
    );
    assert_eq!(
        g(&s, 39).created_by,
        Some(created("main.nested.func1", Some(36), BASIC_GO, 82))
    );
    assert_eq!(
        g(&s, 38).created_by,
        Some(created("main.spawner", Some(37), BASIC_GO, 96))
    );
    assert_eq!(
        g(&s, 40).frames,
        vec![frame("main.nested.func1.2", BASIC_GO, 84, false)]
    );
    assert_eq!(
        g(&s, 40).created_by,
        Some(created("main.nested.func1", Some(36), BASIC_GO, 83))
    );
}

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

/// The labels of the labels program's goroutines (same IDs in 1.26 and
/// 1.27), decoded: exactly what the program set, except that the invalid
/// byte `\xff` can only come back as U+FFFD in a Rust string.
fn expected_labels() -> Vec<(u64, Vec<(&'static str, &'static str)>)> {
    vec![
        (1, vec![]),
        (18, vec![("leakcheck_test", "TestX#1")]),
        (21, vec![("leakcheck_test", "TestY#2"), ("phase", "setup")]),
        (20, vec![("leakcheck_test", "TestX#1")]),
        (22, vec![("leakcheck_test", "TestSpace has space")]),
        (23, vec![("leakcheck_test", "TestQuote say \"hi\"")]),
        (24, vec![("leakcheck_test", "TestBackslash a\\b")]),
        (25, vec![("leakcheck_test", "TestTab a\tb")]),
        (26, vec![("leakcheck_test", "TestNewline a\nb")]),
        (27, vec![("leakcheck_test", "TestUnicode caf\u{e9}")]),
        (28, vec![("leakcheck_test", "TestComma a,b: {c}")]),
        (29, vec![("leakcheck_test", "TestBytes \u{1}\u{fffd}")]),
        (30, vec![("leakcheck_test", "")]),
        (31, vec![("odd key", "plain_value.1/2")]),
        (32, vec![]),
    ]
}

#[track_caller]
fn assert_labels(name: &str, s: &Snapshot<'_>) {
    for (id, want) in expected_labels() {
        let got = g(s, id);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(labels_of(got), want, "{name}: labels of goroutine {id}");
        let state = if id == 1 { "running" } else { "chan receive" };
        assert_plain(got, state);
        for (k, v) in &want {
            assert_eq!(got.label(k), Some(v.as_str()), "{name}: {id}");
        }
    }
}

#[test]
fn go126_labels_inside_brackets_always_quoted() {
    let s = Snapshot::parse(GO126_LABELS);
    assert!(GO126_LABELS.contains(r#"[chan receive labels:{"leakcheck_test": "TestX#1"}]:"#));
    assert_labels("go1.26-labels", &s);
    assert_eq!(g(&s, 30).label("leakcheck_test"), Some(""));
    assert_eq!(g(&s, 32).label("leakcheck_test"), None);
    assert_eq!(g(&s, 21).label("phase"), Some("setup"));
    assert_eq!(g(&s, 31).label("odd key"), Some("plain_value.1/2"));
    assert_eq!(
        g(&s, 18).frames,
        vec![frame("main.oneLabel", LABELS_GO, 22, true)]
    );
    // The inherited label: the labelled parent has exited.
    assert!(s.get(19).is_none());
    assert_eq!(
        g(&s, 20).created_by,
        Some(created("main.inherit", Some(19), LABELS_GO, 29))
    );
}

#[test]
fn go127_labels_after_brackets_quoted_when_needed() {
    let s = Snapshot::parse(GO127_LABELS);
    assert!(GO127_LABELS.contains(r#"[chan receive] {leakcheck_test: "TestY#2", phase: setup}:"#));
    assert!(GO127_LABELS.contains("[chan receive] {leakcheck_test: }:"));
    assert!(GO127_LABELS.contains(r#"[chan receive] {"odd key": plain_value.1/2}:"#));
    assert_labels("go1.27-labels", &s);
    assert_eq!(g(&s, 21).label("phase"), Some("setup"));
    assert_eq!(g(&s, 30).label("leakcheck_test"), Some(""));
    assert_eq!(g(&s, 31).label("odd key"), Some("plain_value.1/2"));
    assert_eq!(
        g(&s, 31).frames,
        vec![frame("main.oddKey", LABELS_GO, 51, true)]
    );
    assert_eq!(
        g(&s, 31).created_by,
        Some(created("main.main", Some(1), LABELS_GO, 81))
    );
    assert_eq!(
        g(&s, 20).created_by,
        Some(created("main.inherit", Some(19), LABELS_GO, 29))
    );
}

#[test]
fn go126_and_go127_labels_decode_the_same() {
    let s126 = Snapshot::parse(GO126_LABELS);
    let s127 = Snapshot::parse(GO127_LABELS);
    assert_eq!(s126.goroutines.len(), s127.goroutines.len());
    for (a, b) in s126.goroutines.iter().zip(&s127.goroutines) {
        assert_eq!(a.id, b.id);
        assert_eq!(labels_of(a), labels_of(b), "goroutine {}", a.id);
        assert_eq!(a.state, b.state, "goroutine {}", a.id);
    }
}

#[test]
fn go121_ignores_tracebacklabels() {
    let s = Snapshot::parse(GO121_LABELS_NONE);
    for g in &s.goroutines {
        assert!(g.labels.is_empty(), "goroutine {}", g.id);
        assert_plain(g, if g.id == 1 { "running" } else { "chan receive" });
    }
    assert_eq!(
        g(&s, 6).frames,
        vec![frame("main.oneLabel", LABELS_GO, 22, false)]
    );
    assert_eq!(
        g(&s, 8).created_by,
        Some(created("main.inherit", Some(7), LABELS_GO, 29))
    );
    assert_eq!(
        g(&s, 19).frames,
        vec![frame("main.oddKey", LABELS_GO, 51, false)]
    );
}

// ---------------------------------------------------------------------------
// Leak profile
// ---------------------------------------------------------------------------

#[track_caller]
fn assert_leaked(name: &str, s: &Snapshot<'_>, expect: &[(u64, &str, bool, &str, u32)]) {
    for &(id, state, leaked, function, line) in expect {
        let g = g(s, id);
        assert_eq!(g.state, state, "{name}: state of {id}");
        assert_eq!(g.leaked, leaked, "{name}: leaked flag of {id}");
        assert!(!g.locked_to_thread && g.labels.is_empty(), "{name}: {id}");
        let own = g
            .frames
            .iter()
            .find(|f| f.file == LEAKED_GO)
            .unwrap_or_else(|| panic!("{name}: {id} has no frame in main"));
        assert_eq!((own.function, own.line), (function, line), "{name}: {id}");
    }
}

#[test]
fn go126_leak_profile_marks() {
    let s = Snapshot::parse(GO126_LEAKED);
    assert_leaked(
        "go1.26-leaked",
        &s,
        &[
            (1, "running", false, "main.main", 116),
            (6, "chan send", true, "main.leakSend.func1", 22),
            (7, "chan receive", true, "main.leakRecv.func1", 27),
            (8, "select", true, "main.leakSelect.func1", 33),
            (9, "sync.Mutex.Lock", true, "main.leakMutex.func1", 53),
            (10, "sync.Mutex.Lock", false, "main.leakTinyMutex.func1", 63),
            (11, "sync.RWMutex.Lock", true, "main.leakRWMutex.func1", 69),
            (
                12,
                "sync.WaitGroup.Wait",
                true,
                "main.leakWaitGroup.func1",
                75,
            ),
            (13, "sync.Cond.Wait", true, "main.leakCond.func1", 82),
            (14, "chan receive", false, "main.blockReachable", 87),
            (15, "sleep", false, "main.blockSleep", 89),
        ],
    );
    assert_eq!(
        g(&s, 1).frames[0],
        frame(
            "runtime/pprof.writeGoroutineStacks",
            &path(GOROOT_126, "runtime/pprof/pprof.go"),
            819,
            false
        )
    );
    assert_eq!(
        g(&s, 1).frames[2].function,
        "runtime/pprof.(*Profile).WriteTo"
    );
    assert_eq!(
        g(&s, 8).created_by,
        Some(created("main.leakSelect", Some(1), LEAKED_GO, 32))
    );
    assert_eq!(
        g(&s, 13).created_by,
        Some(created("main.leakCond", Some(1), LEAKED_GO, 80))
    );
}

#[test]
fn go127_leak_profile_marks() {
    let s = Snapshot::parse(GO127_LEAKED);
    assert_leaked(
        "go1.27-leaked",
        &s,
        &[
            (1, "running", false, "main.main", 116),
            (18, "chan send", true, "main.leakSend.func1", 22),
            (19, "chan receive", true, "main.leakRecv.func1", 27),
            (20, "select", true, "main.leakSelect.func1", 33),
            (21, "sync.Mutex.Lock", true, "main.leakMutex.func1", 53),
            (22, "sync.Mutex.Lock", false, "main.leakTinyMutex.func1", 63),
            (23, "sync.RWMutex.Lock", true, "main.leakRWMutex.func1", 69),
            (
                24,
                "sync.WaitGroup.Wait",
                true,
                "main.leakWaitGroup.func1",
                75,
            ),
            (25, "sync.Cond.Wait", true, "main.leakCond.func1", 82),
            (26, "chan receive", false, "main.blockReachable", 87),
            (27, "sleep", false, "main.blockSleep", 89),
        ],
    );
    assert_eq!(
        g(&s, 21).frames[4],
        frame("main.leakMutex.func1", LEAKED_GO, 53, false)
    );
    assert_eq!(
        g(&s, 25).created_by,
        Some(created("main.leakCond", Some(1), LEAKED_GO, 80))
    );
}

#[test]
fn leaked_marker_only_in_leak_profiles() {
    for &(name, text, _) in DUMPS {
        let marked = text.matches(" (leaked)").count();
        let leaked = Snapshot::parse(text)
            .goroutines
            .iter()
            .filter(|g| g.leaked)
            .count();
        assert_eq!(leaked, marked, "{name}");
        for g in Snapshot::parse(text).goroutines {
            assert!(!g.state.contains("leaked"), "{name}: {}", g.id);
        }
    }
}

// ---------------------------------------------------------------------------
// Elided frames, locked threads, ancestors
// ---------------------------------------------------------------------------

#[test]
fn go126_elided_frames() {
    let s = Snapshot::parse(GO126_ELIDED);
    assert_eq!(g(&s, 1).elided_frames, 0);
    let deep = g(&s, 6);
    assert_plain(deep, "chan receive");
    assert_eq!(deep.elided_frames, 51);
    assert_eq!(deep.frames.len(), 100);
    assert_eq!(deep.frames[0], frame("main.recurse", ELIDED_GO, 13, false));
    for f in &deep.frames[1..] {
        assert_eq!(*f, frame("main.recurse", ELIDED_GO, 15, false));
    }
    assert_eq!(
        deep.created_by,
        Some(created("main.main", Some(1), ELIDED_GO, 20))
    );
    // 50 frames before the elision line and 50 after.
    let before = deep.text.split("...51 frames elided...").next().unwrap();
    assert_eq!(before.matches("\nmain.recurse(").count(), 50);
}

#[test]
fn go126_locked_to_thread() {
    let s = Snapshot::parse(GO126_LOCKED);
    let locked = g(&s, 18);
    assert_eq!(locked.state, "chan receive");
    assert!(locked.locked_to_thread);
    assert!(!locked.leaked);
    assert_eq!(locked.wait_minutes, None);
    assert_eq!(
        locked.frames,
        vec![frame("main.lockedRecv", LOCKED_GO, 15, false)]
    );
    assert_eq!(
        locked.created_by,
        Some(created("main.main", Some(1), LOCKED_GO, 20))
    );
    assert_plain(g(&s, 19), "chan receive");
    assert_plain(g(&s, 1), "running");
    for &(name, text, _) in DUMPS {
        if name != "go1.26-locked" {
            assert!(
                Snapshot::parse(text)
                    .goroutines
                    .iter()
                    .all(|g| !g.locked_to_thread),
                "{name}"
            );
        }
    }
}

#[test]
fn go126_ancestor_blocks_are_not_the_goroutines_own() {
    let s = Snapshot::parse(GO126_ANCESTORS);

    let child = g(&s, 8);
    assert_plain(child, "chan receive");
    assert_eq!(
        child.frames,
        vec![frame("main.child", ANCESTORS_GO, 22, true)]
    );
    assert_eq!(
        child.created_by,
        Some(created("main.parent", Some(7), ANCESTORS_GO, 15))
    );
    assert_eq!(child.elided_frames, 0);
    // The whole block, ancestors included, is still the goroutine's text.
    assert!(child.text.contains("[originating from goroutine 6]:"));
    assert!(child.text.ends_with("ancestors/main.go:40 +0x8b"));

    let g10 = g(&s, 10);
    assert_eq!(
        g10.frames,
        vec![frame("main.main.func1", ANCESTORS_GO, 45, false)]
    );
    assert_eq!(
        g10.created_by,
        Some(created("main.main", Some(1), ANCESTORS_GO, 43))
    );

    let g9 = g(&s, 9);
    assert_eq!(
        g9.frames,
        vec![frame("main.parent.func1", ANCESTORS_GO, 17, false)]
    );
    assert_eq!(
        g9.created_by,
        Some(created("main.parent", Some(7), ANCESTORS_GO, 16))
    );

    // 60 frames deep: the ancestor block ends with
    // `...additional frames elided...`, none of it the goroutine's own.
    let deep = g(&s, 11);
    assert_eq!(
        deep.frames,
        vec![frame("main.child", ANCESTORS_GO, 22, true)]
    );
    assert_eq!(
        deep.created_by,
        Some(created("main.deep", Some(10), ANCESTORS_GO, 30))
    );
    assert_eq!(deep.elided_frames, 0);
    assert!(deep.text.contains("...additional frames elided..."));

    for g in &s.goroutines {
        assert!(
            g.frames.iter().all(|f| f.function != "main.parent"
                && f.function != "main.grandparent"
                && f.function != "main.deep"),
            "goroutine {} has an ancestor's frame",
            g.id
        );
        if let Some(c) = &g.created_by {
            assert!(c.parent.is_some(), "goroutine {}: {c:?}", g.id);
            assert_ne!(c.function, "main.grandparent");
        }
    }
}

// ---------------------------------------------------------------------------
// Crash output
// ---------------------------------------------------------------------------

#[test]
fn go126_sigquit_traceback() {
    let s = Snapshot::parse(GO126_SIGQUIT);
    for (id, state) in [
        (0, "idle"),
        (1, "chan receive"),
        (2, "force gc (idle)"),
        (3, "GC sweep wait"),
        (4, "GC scavenge wait"),
        (17, "finalizer wait"),
        (18, "chan receive"),
        (19, "sync.Mutex.Lock"),
    ] {
        let g = g(&s, id);
        assert_eq!(g.state, state, "state of {id}");
        assert!(!g.leaked && !g.locked_to_thread, "{id}");
    }

    let g0 = g(&s, 0);
    assert!(g0.labels.is_empty());
    assert_eq!(g0.frames.len(), 7);
    assert_eq!(
        g0.frames[0],
        frame(
            "internal/runtime/syscall/linux.Syscall6",
            &path(
                GOROOT_126,
                "internal/runtime/syscall/linux/asm_linux_amd64.s"
            ),
            36,
            false
        )
    );
    assert_eq!(
        g0.frames[6],
        frame(
            "runtime.mcall",
            &path(GOROOT_126, "runtime/asm_amd64.s"),
            496,
            false
        )
    );
    assert_eq!(g0.created_by, None);

    let main = g(&s, 1);
    assert_eq!(main.frames.len(), 11);
    assert_eq!(main.frames[3].function, "testing.(*T).Run");
    assert_eq!(
        main.frames[8],
        frame("main.main", "_testmain.go", 46, false)
    );
    assert_eq!(
        main.frames[10],
        frame(
            "runtime.goexit",
            &path(GOROOT_126, "runtime/asm_amd64.s"),
            1771,
            false
        )
    );

    let forcegc = g(&s, 2);
    assert_eq!(
        forcegc.frames[1],
        frame(
            "runtime.goparkunlock",
            &path(GOROOT_126, "runtime/proc.go"),
            468,
            true
        )
    );
    assert_eq!(
        forcegc.created_by,
        Some(created(
            "runtime.init.7",
            Some(1),
            &path(GOROOT_126, "runtime/proc.go"),
            363
        ))
    );
    assert_eq!(
        g(&s, 17).created_by,
        Some(created(
            "runtime.createfing",
            Some(1),
            &path(GOROOT_126, "runtime/mfinal.go"),
            172
        ))
    );

    let test = g(&s, 18);
    assert_eq!(test.label("leakcheck_test"), Some("TestHang#1"));
    assert_eq!(test.labels.len(), 1);
    assert_eq!(test.frames.len(), 7);
    assert_eq!(
        test.frames[3],
        frame(
            "leakcheck.test/capturedumps/sigquit.TestHang",
            HANG_TEST_GO,
            39,
            false
        )
    );
    assert_eq!(
        test.created_by,
        Some(created(
            "testing.(*T).Run",
            Some(1),
            &path(GOROOT_126, "testing/testing.go"),
            2101
        ))
    );

    let worker = g(&s, 19);
    assert_eq!(worker.label("leakcheck_test"), Some("TestHang#1"));
    assert_eq!(worker.labels.len(), 1);
    assert_eq!(worker.frames.len(), 9);
    assert_eq!(worker.frames[0].function, "runtime.gopark");
    assert!(worker.frames[1].inlined);
    assert!(worker.frames[5].inlined && worker.frames[6].inlined);
    assert_eq!(
        worker.frames[6],
        frame(
            "sync.(*Mutex).Lock",
            &path(GOROOT_126, "sync/mutex.go"),
            46,
            true
        )
    );
    assert_eq!(
        worker.frames[7],
        frame(
            "leakcheck.test/capturedumps/sigquit.TestHang.func1",
            HANG_TEST_GO,
            27,
            false
        )
    );
    assert_eq!(
        worker.created_by,
        Some(created(
            "leakcheck.test/capturedumps/sigquit.TestHang",
            Some(18),
            HANG_TEST_GO,
            26
        ))
    );
    assert!(worker
        .text
        .starts_with("goroutine 19 gp=0x3093b572a3c0 m=nil ["));
    assert!(worker.text.ends_with("hang_test.go:26 +0x138"));
    assert!(!worker.text.contains("rax"));

    // Only TestHang's goroutines carry labels.
    for g in &s.goroutines {
        assert_eq!(g.labels.is_empty(), g.id != 18 && g.id != 19, "{}", g.id);
    }
}

#[test]
fn go126_deadlock_traceback() {
    let s = Snapshot::parse(GO126_DEADLOCK);
    let main = g(&s, 1);
    assert_plain(main, "chan receive");
    assert!(main.labels.is_empty());
    assert_eq!(main.frames.len(), 6);
    assert_eq!(
        main.frames[5],
        frame("main.main", "_testmain.go", 46, false)
    );
    assert_eq!(main.created_by, None);

    let test = g(&s, 18);
    assert_plain(test, "chan receive");
    assert_eq!(test.label("leakcheck_test"), Some("TestHang#1"));
    assert_eq!(
        test.frames[0],
        frame(
            "leakcheck.test/capturedumps/sigquit.TestHang",
            HANG_TEST_GO,
            39,
            false
        )
    );

    let worker = g(&s, 19);
    assert_plain(worker, "sync.Mutex.Lock");
    assert_eq!(worker.label("leakcheck_test"), Some("TestHang#1"));
    assert_eq!(worker.frames.len(), 5);
    assert_eq!(
        worker.frames[0],
        frame(
            "internal/sync.runtime_SemacquireMutex",
            &path(GOROOT_126, "runtime/sema.go"),
            95,
            false
        )
    );
    assert_eq!(
        worker.created_by,
        Some(created(
            "leakcheck.test/capturedumps/sigquit.TestHang",
            Some(18),
            HANG_TEST_GO,
            26
        ))
    );
}

#[test]
fn go126_panic_tracebacks() {
    for (name, text) in [
        ("go1.26-panic", GO126_PANIC),
        ("go1.26-panic-all", GO126_PANIC_ALL),
    ] {
        let s = Snapshot::parse(text);
        let p = g(&s, 19);
        assert_plain(p, "running");
        assert_eq!(p.label("leakcheck_test"), Some("TestPanic#1"), "{name}");
        assert_eq!(
            p.frames,
            vec![
                frame(
                    "leakcheck.test/capturedumps/panicking.boom",
                    PANIC_TEST_GO,
                    16,
                    true
                ),
                frame(
                    "leakcheck.test/capturedumps/panicking.TestPanic.func1",
                    PANIC_TEST_GO,
                    31,
                    false
                ),
            ],
            "{name}"
        );
        assert_eq!(
            p.created_by,
            Some(created(
                "leakcheck.test/capturedumps/panicking.TestPanic",
                Some(18),
                PANIC_TEST_GO,
                29
            )),
            "{name}"
        );
    }

    let s = Snapshot::parse(GO126_PANIC_ALL);
    let main = g(&s, 1);
    assert_plain(main, "chan receive");
    assert!(main.labels.is_empty());
    assert_eq!(main.frames.len(), 6);
    let test = g(&s, 18);
    assert_plain(test, "chan receive");
    assert_eq!(test.label("leakcheck_test"), Some("TestPanic#1"));
    assert_eq!(
        test.frames[0],
        frame(
            "leakcheck.test/capturedumps/panicking.TestPanic",
            PANIC_TEST_GO,
            33,
            false
        )
    );
    assert_eq!(
        test.created_by,
        Some(created(
            "testing.(*T).Run",
            Some(1),
            &path(GOROOT_126, "testing/testing.go"),
            2101
        ))
    );
}

#[test]
fn go126_fatal_error_traceback() {
    let s = Snapshot::parse(GO126_FATAL_MAP);
    let w = g(&s, 19);
    assert_plain(w, "running");
    assert!(w.labels.is_empty());
    assert_eq!(
        w.frames,
        vec![
            frame(
                "internal/runtime/maps.fatal",
                &path(GOROOT_126, "runtime/panic.go"),
                1181,
                false
            ),
            frame(
                "leakcheck.test/capturedumps/fatalmap.write",
                FATALMAP_TEST_GO,
                14,
                true
            ),
        ]
    );
    assert_eq!(
        w.created_by,
        Some(created(
            "leakcheck.test/capturedumps/fatalmap.TestConcurrentMapWrites",
            Some(18),
            FATALMAP_TEST_GO,
            23
        ))
    );
}

// ---------------------------------------------------------------------------
// Never panics
// ---------------------------------------------------------------------------

/// Parses `text` and checks what must hold for any input: no panic, every
/// goroutine's text borrowed from the input and starting with its header,
/// and the parsed IDs a subsequence of `goroutine_ids`.
fn parse_any(text: &str) {
    let s = Snapshot::parse(text);
    let ids = goroutine_ids(text);
    let mut rest = ids.iter();
    for g in &s.goroutines {
        assert!(
            rest.any(|&id| id == g.id),
            "parsed goroutine {} missing from goroutine_ids {ids:?} of {text:?}",
            g.id
        );
        let start = (g.text.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        assert!(start + g.text.len() <= text.len());
        assert!(g.text.starts_with("goroutine "));
        for f in &g.frames {
            let _ = (f.function.len(), f.file.len());
        }
        for (k, v) in &g.labels {
            let _ = (k.len(), v.len());
        }
    }
}

/// Every prefix and every suffix of every dump, cut at each character.
///
/// Goroutine blocks end at a blank line and parse independently of each
/// other, so a cut can only change the parse of the block it falls in:
/// `text[..cut]` parses as `text[..start]` (unchanged) followed by
/// `text[start..cut]`, `start` being the start of the cut block. Parsing
/// the cut block alone keeps this test linear (and fast in debug builds);
/// whole prefixes and suffixes are parsed at every line start.
#[test]
fn never_panics_on_any_prefix_or_suffix() {
    for &(_, text, _) in DUMPS {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices("\n\n").map(|(i, _)| i + 2))
            .collect();
        for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let block = starts.partition_point(|&s| s <= cut) - 1;
            let start = starts[block];
            let end = starts.get(block + 2).copied().unwrap_or(text.len());
            parse_any(&text[start..cut]);
            parse_any(&text[cut..end]);
            if cut == 0 || text.as_bytes()[cut - 1] == b'\n' {
                parse_any(&text[..cut]);
                parse_any(&text[cut..]);
            }
        }
    }
}

/// A small deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the parser, and some that do not.
const INTERESTING: &[u8] =
    b"[]{}():,. \"\\\t\n\r+0123456789xuUabflnrtv#/_-\x01\x7f\xc3\xa9\xff\xe2\x80";

/// Returns `text` with a few random edits, turned back into valid UTF-8.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = bytes.len();
        let at = rng.below(len + 1);
        match rng.below(6) {
            0 if at < len => bytes[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => bytes.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < len => {
                let end = (at + 1 + rng.below(64)).min(len);
                bytes.drain(at..end);
            }
            3 if at < len => {
                // Duplicate a range: repeated headers, labels, frames.
                let end = (at + 1 + rng.below(200)).min(len);
                let copy = bytes[at..end].to_vec();
                let to = rng.below(len + 1);
                bytes.splice(to..to, copy);
            }
            4 => {
                let piece: &[u8] = match rng.below(12) {
                    0 => b"goroutine 7 [",
                    1 => b"\ngoroutine 8 gp=0x1 m=nil [x",
                    2 => b" labels:{",
                    3 => b"] {",
                    4 => b"\"\\x",
                    5 => b"\\u00",
                    6 => b"created by ",
                    7 => b"\n[originating from goroutine 3]:\n",
                    8 => b"...9 frames elided...\n",
                    9 => b"(...)\n\t/a.go:1\n",
                    10 => b" +0x1 fp=0x2",
                    _ => b"\n\n",
                };
                bytes.splice(at..at, piece.iter().copied());
            }
            _ if at < len => bytes[at] = rng.next() as u8,
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn never_panics_on_random_mutations() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &(_, text, _) in DUMPS {
        for _ in 0..1000 {
            let mutated = mutate(&mut rng, text);
            parse_any(&mutated);
            // Mutations near the end of a short window hit the partial
            // constructs; parse a random window of the mutation too.
            let a = rng.below(mutated.len() + 1);
            let b = (a + rng.below(400)).min(mutated.len());
            if mutated.is_char_boundary(a) && mutated.is_char_boundary(b) {
                parse_any(&mutated[a..b]);
            }
        }
    }
}

#[test]
fn never_panics_on_hand_picked_odd_headers() {
    for odd in [
        "",
        "\n",
        "goroutine",
        "goroutine ",
        "goroutine 1",
        "goroutine 1 ",
        "goroutine 1 [",
        "goroutine 1 []",
        "goroutine 1 []:",
        "goroutine 99999999999999999999999 [running]:",
        "goroutine 1 gp=",
        "goroutine 1 gp=0x1 m=0 mp=0x2",
        "goroutine 1 gp=0x1 m=0 mp=0x2 [",
        "goroutine 1 [x labels:{",
        "goroutine 1 [x labels:{\"",
        "goroutine 1 [x labels:{\"a\": \"\\",
        "goroutine 1 [x labels:{\"a\": \"\\u12",
        "goroutine 1 [x labels:{\"a\": \"\\U0011ffff\"}]:",
        "goroutine 1 [x labels:{\"a\": \"\\ud800\"}]:",
        "goroutine 1 [x labels:{\"a\": \"\\777\"}]:",
        "goroutine 1 [x labels:{\"a\": \"\\0\"}]:",
        "goroutine 1 [x labels:{\"a\"}]:",
        "goroutine 1 [x labels:{a}]:",
        "goroutine 1 [x labels:{}]:",
        "goroutine 1 [x] {",
        "goroutine 1 [x] {}",
        "goroutine 1 [x] {a",
        "goroutine 1 [x] {a:",
        "goroutine 1 [x] {a: ",
        "goroutine 1 [x] {a: b,",
        "goroutine 1 [x] {a: b, ",
        "goroutine 1 [x] {a: \"é",
        "goroutine 1 [x, 99999999999999999999999 minutes]:",
        "goroutine 1 [x (leaked) (leaked) (scan)]:",
        "goroutine 1 [x]:\n)",
        "goroutine 1 [x]:\n(",
        "goroutine 1 [x]:\n()",
        "goroutine 1 [x]:\n)(\n\t:1",
        "goroutine 1 [x]:\nf(\n\t:",
        "goroutine 1 [x]:\nf()\n\t:99999999999",
        "goroutine 1 [x]:\nf()\n\t +0x",
        "goroutine 1 [x]:\nf()\n\t fp=",
        "goroutine 1 [x]:\ncreated by \n\tf.go:x",
        "goroutine 1 [x]:\ncreated by  in goroutine \n\tf.go:1",
        "goroutine 1 [x]:\ncreated by f in goroutine 99999999999999999999999",
        "goroutine 1 [x]:\n...",
        "goroutine 1 [x]:\n... frames elided...",
        "goroutine 1 [x]:\n...99999999999999999999999 frames elided...",
        "goroutine 1 [x]:\n[originating from goroutine ",
        "goroutine 1 [x]:\n\t",
        "goroutine 1 [x]:\r\n\r\n",
        "\r",
        "goroutine 1 [é]:\né(é)\n\té:1",
    ] {
        parse_any(odd);
    }
}
