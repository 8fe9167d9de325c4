//! Unit tests of reading and grouping on the dumps captured from
//! `go-fixtures/service` with Go 1.21, 1.26 and 1.27
//! (`tests/dumps/inspect/`, made by `go-fixtures/service/capture.sh`):
//! every format, five queries, so five leaked senders.

use super::group::{diff, group, made_by_dump, Group};
use super::parse::{parse, Dump, Format, Record};

const SOURCE: &str = include_str!("../../go-fixtures/service/main.go");

/// The line of the service's source that carries `marker`.
fn line_of(marker: &str) -> u32 {
    let i = SOURCE
        .lines()
        .position(|l| l.contains(marker))
        .expect("marker in go-fixtures/service/main.go");
    i as u32 + 1
}

macro_rules! dumps {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../tests/dumps/inspect/", $name)) as &[u8])),*]
    };
}

const DUMPS: &[(&str, &[u8])] = dumps![
    "go1.21-debug0.pb.gz",
    "go1.21-debug1.txt",
    "go1.21-debug2.txt",
    "go1.21-panic.txt",
    "go1.21-sigquit.txt",
    "go1.26-ancestors-debug2.txt",
    "go1.26-debug0.pb.gz",
    "go1.26-debug1.txt",
    "go1.26-debug2.txt",
    "go1.26-leak-debug0.pb.gz",
    "go1.26-leak-debug1.txt",
    "go1.26-leak-debug2.txt",
    "go1.26-panic.txt",
    "go1.26-sigquit.txt",
    "go1.27-debug0.pb.gz",
    "go1.27-debug1.txt",
    "go1.27-debug2.txt",
    "go1.27-leak-debug0.pb.gz",
    "go1.27-leak-debug1.txt",
    "go1.27-leak-debug2.txt",
    "go1.27-panic.txt",
    "go1.27-sigquit.txt",
];

fn dump(name: &str) -> Dump {
    let (_, bytes) = DUMPS.iter().find(|(n, _)| *n == name).expect(name);
    parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn is_service(file: &str) -> bool {
    file.ends_with("go-fixtures/service/main.go")
}

/// The group of the leaked senders.
fn senders(groups: &[Group]) -> Vec<&Group> {
    groups
        .iter()
        .filter(|g| g.key.function == "main.query.func1")
        .collect()
}

#[test]
fn every_format_of_every_version_shows_the_five_senders() {
    let blocked = line_of("leakcheck-inspect: blocked");
    let created = line_of("leakcheck-inspect: created");
    for (name, _) in DUMPS {
        let d = dump(name);
        let want_format = if name.ends_with(".pb.gz") {
            Format::Proto
        } else if name.contains("debug1") {
            Format::Grouped
        } else if name.contains("panic") || name.contains("sigquit") {
            Format::Crash
        } else {
            Format::Stacks
        };
        assert_eq!(d.format, want_format, "{name}");
        let leak_profile = name.contains("leak-");
        let want_profile = match d.format {
            Format::Proto | Format::Grouped if leak_profile => Some("goroutineleak"),
            Format::Proto | Format::Grouped => Some("goroutine"),
            _ => None,
        };
        assert_eq!(d.profile.as_deref(), want_profile, "{name}");
        let groups = group(&d, None);
        assert_eq!(
            groups.iter().map(|g| g.count).sum::<usize>(),
            d.total(),
            "{name}"
        );
        let s = senders(&groups);
        assert_eq!(s.len(), 1, "{name}: one sender group: {s:?}");
        let s = s[0];
        assert_eq!(s.count, 5, "{name}");
        assert!(is_service(&s.key.file), "{name}: {:?}", s.key);
        assert_eq!(s.key.line, blocked, "{name}");
        // The largest group, first.
        assert_eq!(&groups[0], s, "{name}");
        if d.format.has_states() {
            assert_eq!(s.key.state.as_deref(), Some("chan send"), "{name}");
            let c = s.key.created_by.as_ref().expect("created by");
            assert_eq!(c.function, "main.query", "{name}");
            assert!(is_service(&c.file), "{name}");
            assert_eq!(c.line, created, "{name}");
        } else {
            assert_eq!((&s.key.state, &s.key.created_by), (&None, &None), "{name}");
        }
        // The leak profile proves them leaked: its debug=1 and debug=0
        // list nothing else, its debug=2 marks them.
        if leak_profile {
            assert!(s.key.leaked, "{name}");
            if d.format != Format::Stacks {
                assert_eq!(d.total(), 5, "{name}");
            }
        }
        if name.starts_with("go1.21") {
            assert!(!s.key.leaked, "{name}: Go 1.21 proves nothing");
        }
    }
}

#[test]
fn stack_text_has_more_goroutines_than_senders() {
    // The service's own goroutines: the listener, the capturing client's
    // connection, the handler writing the dump.
    for name in [
        "go1.21-debug2.txt",
        "go1.26-debug2.txt",
        "go1.27-debug2.txt",
    ] {
        let d = dump(name);
        assert!(d.total() > 5, "{name}");
        let groups = group(&d, None);
        // The listener: in IO wait, in the accept system call, or just
        // back from it (runnable): never on a channel or lock.
        let listener = groups
            .iter()
            .find(|g| g.key.function == "main.main.func1")
            .unwrap_or_else(|| panic!("{name}: the listener: {groups:?}"));
        assert!(is_service(&listener.key.file), "{name}");
        assert_eq!(listener.count, 1, "{name}");
        let state = listener.key.state.as_deref().unwrap();
        assert!(
            !crate::detect::compare::is_blocking_primitive(state),
            "{name}: {state}"
        );
    }
}

#[test]
fn origin_of_goroutines_the_standard_library_created() {
    let d = dump("go1.26-ancestors-debug2.txt");
    let groups = group(&d, None);
    // The handler's connection goroutine was created by net/http's
    // Server.Serve, which main.main.func1 runs.
    let conn = groups
        .iter()
        .find(|g| {
            g.key
                .created_by
                .as_ref()
                .is_some_and(|c| c.function == "net/http.(*Server).Serve")
        })
        .expect("a connection goroutine");
    let origin = conn.key.origin.as_ref().expect("an origin");
    assert_eq!(origin.function, "main.main.func1");
    assert!(is_service(&origin.file));
    assert_eq!(
        origin.line,
        line_of("go func() { log.Fatal(http.Serve(ln, nil)) }()")
    );
    // Goroutines the user's code created have no origin: the creation
    // site says it.
    let s = senders(&groups)[0];
    assert_eq!(s.key.origin, None);
    // Without creation chains, no origin.
    assert!(group(&dump("go1.26-debug2.txt"), None)
        .iter()
        .all(|g| g.key.origin.is_none()));
}

#[test]
fn diff_of_real_dumps() {
    // The same dump twice: nothing changed.
    let d = dump("go1.27-debug2.txt");
    assert!(diff(&d, &d).iter().all(|c| c.delta() == 0));
    // The leak profile lists the senders only; the goroutine profile
    // every goroutine: the senders are unchanged (the leaked marker does
    // not take part), the rest grew.
    let leak = dump("go1.27-leak-debug1.txt");
    let all = dump("go1.27-debug1.txt");
    let changes = diff(&leak, &all);
    let s = changes
        .iter()
        .find(|c| c.key.function == "main.query.func1")
        .unwrap();
    assert_eq!((s.before, s.after), (5, 5));
    // The goroutine writing the debug=1 profile takes no part.
    let made = made_by_dump(&all);
    let compared: usize = all
        .records
        .iter()
        .filter(|r| !made(r))
        .map(|r| r.count)
        .sum();
    assert_eq!(
        changes.iter().map(|c| c.delta()).sum::<i64>(),
        compared as i64 - 5
    );
    assert!(compared < all.total());
    assert!(changes.iter().all(|c| c.delta() >= 0));
    // Two dumps of one process, its listener runnable in the first and in
    // IO wait in the second: the same place, unchanged, shown in the
    // later state.
    let first = dump("go1.27-debug2.txt");
    let second = dump("go1.27-leak-debug2.txt");
    let state_of = |d: &Dump| {
        group(d, None)
            .into_iter()
            .find(|g| g.key.function == "main.main.func1")
            .and_then(|g| g.key.state)
    };
    assert_eq!(state_of(&first).as_deref(), Some("runnable"));
    assert_eq!(state_of(&second).as_deref(), Some("IO wait"));
    let changes = diff(&first, &second);
    let listener: Vec<_> = changes
        .iter()
        .filter(|c| c.key.function == "main.main.func1")
        .collect();
    assert_eq!(listener.len(), 1, "{listener:?}");
    assert_eq!((listener[0].before, listener[0].after), (1, 1));
    assert_eq!(listener[0].key.state.as_deref(), Some("IO wait"));
    assert!(changes.iter().all(|c| c.delta() == 0), "{changes:?}");
    // debug=2 against debug=0: compared on blocking frames only.
    let changes = diff(&dump("go1.26-debug2.txt"), &dump("go1.26-debug0.pb.gz"));
    let s = changes
        .iter()
        .find(|c| c.key.function == "main.query.func1")
        .unwrap();
    assert_eq!((s.before, s.after, &s.key.state), (5, 5, &None));
}

#[test]
fn truncated_real_dumps_are_refused() {
    for (name, bytes) in DUMPS {
        let cut = &bytes[..bytes.len() * 2 / 3];
        let e = parse(cut).expect_err(name);
        assert!(
            e.starts_with("truncated") || e.starts_with("corrupt or truncated gzip"),
            "{name}: {e}"
        );
    }
}

#[test]
fn older_than_counts_whole_minutes() {
    let text = "goroutine 1 [running]:\nmain.main()\n\t/x/main.go:3 +0x1\n\n\
goroutine 7 [chan send, 12 minutes]:\nmain.f()\n\t/x/main.go:9 +0x1\ncreated by main.main in goroutine 1\n\t/x/main.go:5 +0x2\n\n\
goroutine 8 [chan send, 3 minutes]:\nmain.f()\n\t/x/main.go:9 +0x1\ncreated by main.main in goroutine 1\n\t/x/main.go:5 +0x2\n\n\
goroutine 9 [chan send]:\nmain.f()\n\t/x/main.go:9 +0x1\ncreated by main.main in goroutine 1\n\t/x/main.go:5 +0x2\n";
    let d = parse(text.as_bytes()).unwrap();
    let ten = std::time::Duration::from_secs(600);
    let groups = group(&d, Some(ten));
    let f = groups.iter().find(|g| g.key.function == "main.f").unwrap();
    assert_eq!((f.count, f.blocked_minutes, f.older), (3, Some(12), 1));
    let groups = group(&d, Some(std::time::Duration::from_secs(30)));
    let f = groups.iter().find(|g| g.key.function == "main.f").unwrap();
    assert_eq!(
        f.older, 2,
        "under a minute: only those the runtime counts minutes for"
    );
    assert!(group(&d, None).iter().all(|g| g.older == 0));
}

#[test]
fn the_goroutines_serving_a_dump_take_no_part_in_comparisons() {
    for (name, _) in DUMPS {
        let d = dump(name);
        let made = made_by_dump(&d);
        let (left_out, kept): (Vec<&Record>, Vec<&Record>) =
            d.records.iter().partition(|r| made(r));
        let writes = |r: &Record| {
            r.frames
                .iter()
                .any(|f| f.function == "runtime/pprof.(*Profile).WriteTo")
        };
        // The handler writing the dump is left out, once (the leak
        // profile's writer is no leak, a crash has none).
        let writers = left_out.iter().filter(|r| writes(r)).count();
        let has_writer = !name.contains("leak-") || d.format == Format::Stacks;
        let crash = d.format == Format::Crash;
        assert_eq!(writers, usize::from(has_writer && !crash), "{name}");
        // The rest: net/http's background reader of the dump's request (its
        // creator is the writer), or goroutines that have not started.
        let writer_id = left_out.iter().find(|r| writes(r)).and_then(|r| r.id);
        for r in left_out.iter().filter(|r| !writes(r)) {
            let reader = r
                .created_by
                .as_ref()
                .is_some_and(|c| c.function == "net/http.(*connReader).startBackgroundRead")
                && r.parent == writer_id;
            let unstarted = r.frames.iter().all(|f| {
                f.function == "runtime.goexit" || f.function.contains("startBackgroundRead.")
            });
            assert!(reader || unstarted, "{name}: {r:?}");
        }
        // Never the leaked senders, though the connection that asked for
        // the dump created them.
        let senders: usize = kept
            .iter()
            .filter(|r| r.frames.iter().any(|f| f.function == "main.query.func1"))
            .map(|r| r.count)
            .sum();
        assert_eq!(senders, 5, "{name}");
        if d.format == Format::Stacks {
            assert!(
                d.records.iter().any(|r| r
                    .frames
                    .first()
                    .is_some_and(|f| f.function == "main.query.func1")
                    && r.parent == writer_id),
                "{name}: the writer's connection created senders"
            );
        }
        assert_eq!(
            kept.iter().map(|r| r.count).sum::<usize>(),
            d.total() - left_out.iter().map(|r| r.count).sum::<usize>()
        );
        // What comparisons group is what is kept.
        let compared = crate::inspect::group::compared_groups(&d);
        assert_eq!(
            compared.iter().map(|g| g.count).sum::<usize>(),
            kept.iter().map(|r| r.count).sum::<usize>(),
            "{name}"
        );
    }
}

#[test]
fn damaged_dumps_never_panic() {
    for (name, bytes) in DUMPS {
        // Every cut, every so often.
        for cut in (0..bytes.len()).step_by((bytes.len() / 300).max(1)) {
            let _ = parse(&bytes[..cut]);
        }
        // Bytes of the protobuf changed, then gzipped again.
        if name.ends_with(".pb.gz") {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(*bytes), &mut raw)
                .unwrap();
            for i in (0..raw.len()).step_by((raw.len() / 100).max(1)) {
                for b in [0x00, 0xff, 0x08, 0x7f] {
                    let mut bad = raw.clone();
                    bad[i] = b;
                    let _ = parse(&super::parse::tests::gzip(&bad));
                }
            }
        }
    }
}
