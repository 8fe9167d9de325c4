use super::*;

const GOROOT: &str = "/usr/local/go";

fn comparator(grace_ms: u64) -> Comparator {
    Comparator::new(CompareConfig {
        grace: Duration::from_millis(grace_ms),
        ignore: IgnoreRules::default(),
        goroot: GOROOT.into(),
        module: "/src".into(),
        leak_profile: false,
        calls: None,
    })
}

/// A comparator for a binary that has the goroutine leak profile.
fn comparator_with_profile(grace_ms: u64) -> Comparator {
    let mut c = comparator(grace_ms);
    c.config.leak_profile = true;
    c
}

/// A goroutine block in runtime.Stack format.
fn g(
    id: u64,
    state: &str,
    label: Option<&str>,
    func: &str,
    line: u32,
    parent: Option<u64>,
) -> String {
    let labels = label.map_or(String::new(), |l| format!(" {{leakcheck_test: {l}}}"));
    let created = match parent {
        Some(p) => format!(
            "created by example.com/p.{func}Creator in goroutine {p}\n\t/src/p/p.go:{}\n",
            line - 1
        ),
        None => String::new(),
    };
    format!(
        "goroutine {id} [{state}]{labels}:\nruntime.gopark(0x0)\n\t{GOROOT}/src/runtime/proc.go:435 +0xce\nexample.com/p.{func}()\n\t/src/p/p.go:{line} +0x1a\n{created}"
    )
}

/// A test goroutine (first in a dump taken from it).
fn test_g(id: u64, label: &str) -> String {
    format!(
        "goroutine {id} [running] {{leakcheck_test: {label}}}:\nexample.com/p.TestX(0xc)\n\t/src/p/p_test.go:10 +0x1\ntesting.tRunner(0xc, 0x1)\n\t{GOROOT}/src/testing/testing.go:1792 +0xf4\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1851 +0x413\n"
    )
}

fn dump(blocks: &[String]) -> String {
    blocks.join("\n")
}

fn done(d: Decision) -> RunVerdict {
    match d {
        Decision::Done(v) => v,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

#[test]
fn clean_run_is_judged_at_once() {
    let mut c = comparator(1000);
    let t0 = Instant::now();
    let pre = g(2, "select", None, "pool", 5, Some(1));
    c.start_from("TestA#1", 1, &dump(&[test_g(10, "TestA#1"), pre.clone()]));
    let v = done(c.end(
        "TestA#1",
        RunStatus::Pass,
        2,
        &dump(&[test_g(10, "TestA#1"), pre]),
        t0,
    ));
    assert!(v.leaks.is_empty());
    assert_eq!(v.test, "TestA");
}

#[test]
fn labelled_leak_waits_for_grace_with_backoff_then_is_reported() {
    let mut c = comparator(50);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    let after = dump(&[
        test_g(10, "TestA#1"),
        g(11, "chan send", Some("TestA#1"), "leaky", 21, Some(10)),
        g(12, "chan send", Some("TestA#1"), "leaky", 21, Some(10)),
    ]);
    let d = c.end("TestA#1", RunStatus::Pass, 2, &after, t0);
    assert_eq!(d, Decision::Again(MIN_BACKOFF));
    let d = c.again("TestA#1", 3, &after, t0 + Duration::from_millis(1));
    assert_eq!(d, Decision::Again(MIN_BACKOFF * 2));
    // Backoff never passes the deadline.
    let d = c.again("TestA#1", 4, &after, t0 + Duration::from_millis(49));
    assert_eq!(d, Decision::Again(Duration::from_millis(1)));
    let v = done(c.again("TestA#1", 5, &after, t0 + Duration::from_millis(50)));
    assert_eq!(v.leaks.len(), 1);
    let l = &v.leaks[0];
    assert_eq!(l.count, 2);
    assert_eq!(l.state, "chan send");
    assert_eq!((l.function.as_str(), l.line), ("example.com/p.leaky", 21));
    assert_eq!(l.created_by.as_ref().unwrap().line, 20);
    assert_eq!(l.goroutine_ids, vec![11, 12]);
    assert!(l.ambiguous_with.is_empty());
}

#[test]
fn goroutines_that_finish_within_grace_are_not_leaks() {
    let mut c = comparator(1000);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    let busy = dump(&[
        test_g(10, "TestA#1"),
        g(11, "sleep", Some("TestA#1"), "short", 5, Some(10)),
    ]);
    assert!(matches!(
        c.end("TestA#1", RunStatus::Pass, 2, &busy, t0),
        Decision::Again(_)
    ));
    let v = done(c.again(
        "TestA#1",
        3,
        &test_g(10, "TestA#1"),
        t0 + Duration::from_millis(20),
    ));
    assert!(v.leaks.is_empty());
}

#[test]
fn preexisting_and_other_tests_goroutines_are_not_blamed() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    let init = g(3, "chan receive", None, "flusher", 7, Some(1));
    let earlier_leak = g(5, "chan send", Some("TestA#1"), "leaky", 21, Some(4));
    c.start_from(
        "TestB#2",
        7,
        &dump(&[test_g(20, "TestB#2"), init.clone(), earlier_leak.clone()]),
    );
    let after = dump(&[test_g(20, "TestB#2"), init, earlier_leak]);
    assert!(done(c.end("TestB#2", RunStatus::Pass, 8, &after, t0))
        .leaks
        .is_empty());
}

#[test]
fn parallel_runs_are_told_apart_by_label() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    c.start_from(
        "TestB#2",
        2,
        &dump(&[test_g(20, "TestB#2"), test_g(10, "TestA#1")]),
    );
    let a_leak = g(30, "chan send", Some("TestA#1"), "aleak", 40, Some(31));
    let b_live = g(32, "select", Some("TestB#2"), "bwork", 50, Some(20));
    let a_end = dump(&[
        test_g(10, "TestA#1"),
        test_g(20, "TestB#2"),
        a_leak.clone(),
        b_live,
    ]);
    let v = done(c.end("TestA#1", RunStatus::Pass, 3, &a_end, t0));
    assert_eq!(v.leaks.len(), 1);
    assert_eq!(v.leaks[0].goroutine_ids, vec![30]);
    let b_end = dump(&[test_g(20, "TestB#2"), a_leak]);
    assert!(done(c.end("TestB#2", RunStatus::Pass, 4, &b_end, t0))
        .leaks
        .is_empty());
}

#[test]
fn fallback_follows_created_by_links_without_labels() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    let unlabelled = |id| {
        format!("goroutine {id} [running]:\nexample.com/p.TestX(0xc)\n\t/src/p/p_test.go:10 +0x1\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1851 +0x413\n")
    };
    c.start_from("TestA#1", 1, &unlabelled(10));
    c.start_from("TestB#2", 2, &dump(&[unlabelled(20), unlabelled(10)]));
    // 30 is A's child; 31 is a grandchild of A through live 30.
    let child = g(30, "select", None, "child", 12, Some(10));
    let grandchild = g(31, "chan send", None, "grand", 14, Some(30));
    let b_child = g(40, "select", None, "bchild", 16, Some(20));
    let a_end = dump(&[
        unlabelled(10),
        unlabelled(20),
        child,
        grandchild,
        b_child.clone(),
    ]);
    let v = done(c.end("TestA#1", RunStatus::Pass, 3, &a_end, t0));
    let ids: Vec<u64> = v
        .leaks
        .iter()
        .flat_map(|l| l.goroutine_ids.clone())
        .collect();
    assert_eq!(ids, vec![30, 31]);
    let v = done(c.end(
        "TestB#2",
        RunStatus::Pass,
        4,
        &dump(&[unlabelled(20), b_child]),
        t0,
    ));
    assert_eq!(v.leaks[0].goroutine_ids, vec![40]);
}

#[test]
fn orphan_in_a_sequential_window_belongs_to_the_only_run() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from(
        "TestA#1",
        1,
        "goroutine 10 [running]:\nexample.com/p.TestA()\n\t/src/p/p_test.go:3 +0x1\n",
    );
    // Its parent goroutine 11 has exited.
    let orphan = g(12, "chan receive", None, "orphan", 30, Some(11));
    let v = done(c.end(
        "TestA#1",
        RunStatus::Pass,
        2,
        &dump(&[
            "goroutine 10 [running]:\nexample.com/p.TestA()\n\t/src/p/p_test.go:3 +0x1\n".into(),
            orphan,
        ]),
        t0,
    ));
    assert_eq!(v.leaks.len(), 1);
    assert!(v.leaks[0].ambiguous_with.is_empty());
}

#[test]
fn orphan_in_a_parallel_window_is_ambiguous_and_waits_for_running_candidates() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    let tg = |id: u64| {
        format!("goroutine {id} [running]:\nexample.com/p.T()\n\t/src/p/p_test.go:3 +0x1\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1 +0x1\n")
    };
    c.start_from("TestA#1", 1, &tg(10));
    c.start_from("TestB#2", 2, &dump(&[tg(20), tg(10)]));
    let orphan = g(50, "chan receive", None, "orphan", 30, Some(49));
    // A ends while B still runs: the orphan may be B's, so A is clean.
    let v = done(c.end(
        "TestA#1",
        RunStatus::Pass,
        3,
        &dump(&[tg(10), tg(20), orphan.clone()]),
        t0,
    ));
    assert!(v.leaks.is_empty());
    // B ends; A has finished; the orphan is reported once, naming A.
    let v = done(c.end("TestB#2", RunStatus::Pass, 4, &dump(&[tg(20), orphan]), t0));
    assert_eq!(v.leaks.len(), 1);
    assert_eq!(v.leaks[0].ambiguous_with, vec!["TestA".to_string()]);
}

#[test]
fn a_goroutine_is_reported_by_one_run_only() {
    let mut c = comparator(10);
    let t0 = Instant::now();
    let tg = |id: u64| {
        format!("goroutine {id} [running]:\nexample.com/p.T()\n\t/src/p/p_test.go:3 +0x1\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1 +0x1\n")
    };
    c.start_from("TestA#1", 1, &tg(10));
    c.start_from("TestB#2", 2, &dump(&[tg(20), tg(10)]));
    let orphan = g(50, "chan receive", None, "orphan", 30, Some(49));
    // A has a leak of its own, so it is still being checked when B ends.
    let a_own = g(60, "select", None, "aown", 33, Some(10));
    let both = dump(&[tg(10), tg(20), orphan.clone(), a_own]);
    assert!(matches!(
        c.end("TestA#1", RunStatus::Pass, 3, &both, t0),
        Decision::Again(_)
    ));
    // A's end dump showed the orphan first: A reports it, not B.
    let b = done(c.end("TestB#2", RunStatus::Pass, 4, &both, t0));
    assert!(b.leaks.is_empty(), "{b:?}");
    let later = t0 + Duration::from_millis(10);
    let a = done(c.again("TestA#1", 5, &both, later));
    let orphan: Vec<&Leak> = a
        .leaks
        .iter()
        .filter(|l| l.goroutine_ids.contains(&50))
        .collect();
    assert_eq!(orphan.len(), 1, "{a:?}");
    assert_eq!(orphan[0].ambiguous_with, vec!["TestB".to_string()]);
}

#[test]
fn testing_machinery_is_ignored_and_counted() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    let alarm = format!("goroutine 11 [sleep] {{leakcheck_test: TestA#1}}:\ntime.Sleep(0x1)\n\t{GOROOT}/src/runtime/time.go:1 +0x1\ncreated by testing.(*T).Run in goroutine 10\n\t{GOROOT}/src/testing/testing.go:1 +0x1\n");
    let v = done(c.end(
        "TestA#1",
        RunStatus::Pass,
        2,
        &dump(&[test_g(10, "TestA#1"), alarm]),
        t0,
    ));
    assert!(v.leaks.is_empty());
    assert_eq!(v.ignored.len(), 1);
    assert_eq!(v.ignored[0].0.pattern, "testing.*");
}

#[test]
fn unfinished_runs_are_listed_in_start_order() {
    let mut c = comparator(0);
    c.start_from("TestB#2", 2, &test_g(20, "TestB#2"));
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    assert_eq!(c.unfinished_runs(), vec!["TestA#1", "TestB#2"]);
}

#[test]
fn blocking_frame_skips_runtime_and_std() {
    let text = format!("goroutine 5 [sync.Mutex.Lock]:\ninternal/sync.runtime_SemacquireMutex(0x1)\n\t{GOROOT}/src/runtime/sema.go:95 +0x25\nsync.(*Mutex).Lock(...)\n\t{GOROOT}/src/sync/mutex.go:46\nexample.com/p.locker()\n\t/src/p/p.go:9 +0x1\n");
    let s = Snapshot::parse(&text);
    let f = blocking_frame(&s.goroutines[0], GOROOT).unwrap();
    assert_eq!(f.function, "example.com/p.locker");
    let std_only = format!("goroutine 6 [IO wait]:\ninternal/poll.runtime_pollWait(0x1)\n\t{GOROOT}/src/runtime/netpoll.go:1 +0x1\nnet.(*netFD).accept(0x1)\n\t{GOROOT}/src/net/fd_unix.go:1 +0x1\n");
    let s = Snapshot::parse(&std_only);
    assert_eq!(
        blocking_frame(&s.goroutines[0], GOROOT).unwrap().function,
        "net.(*netFD).accept"
    );
}

#[test]
fn package_of_function_names() {
    assert_eq!(package_of("net/http.(*Server).Serve"), "net/http");
    assert_eq!(package_of("example.com/a.b/c.F.func1"), "example.com/a.b/c");
    assert_eq!(package_of("main.main"), "main");
}

#[test]
fn snapshots_standing_for_dumps_judge_as_the_dumps_would() {
    // One process's history, fed once as full dumps and once with the
    // helper's `start=` and `end=` where the creation count allows them.
    let t0 = Instant::now();
    let pool = g(2, "select", None, "pool", 5, Some(1));
    let tg = |id: u64| {
        format!("goroutine {id} [running]:\nexample.com/p.T()\n\t/src/p/p_test.go:3 +0x1\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1 +0x1\n")
    };
    // B's goroutine 21 leaks; 30 is an orphan (its creator 29 exited)
    // first seen in B's end dump.
    let leak = g(21, "chan send", None, "bleak", 40, Some(20));
    let orphan = g(30, "chan receive", None, "orphan", 50, Some(29));
    let b_end = dump(&[tg(20), pool.clone(), leak, orphan]);
    let mut full = comparator(0);
    full.start_from("TestA#1", 1, &dump(&[tg(10), pool.clone()]));
    let a_full = done(full.end(
        "TestA#1",
        RunStatus::Pass,
        2,
        &dump(&[tg(10), pool.clone()]),
        t0,
    ));
    full.start_from("TestB#2", 3, &dump(&[tg(20), pool.clone()]));
    let b_full = done(full.end("TestB#2", RunStatus::Fail, 4, &b_end, t0));

    let mut same = comparator(0);
    same.start_from("TestA#1", 1, &dump(&[tg(10), pool.clone()]));
    let a_same = done(same.end_same("TestA#1", RunStatus::Pass, 2, t0));
    same.start_same("TestB#2", 3, 20);
    let b_same = done(same.end("TestB#2", RunStatus::Fail, 4, &b_end, t0));

    assert!(a_full.leaks.is_empty());
    assert_eq!(a_same, a_full);
    assert_eq!(b_same, b_full);
    let ids: Vec<u64> = b_same
        .leaks
        .iter()
        .flat_map(|l| l.goroutine_ids.clone())
        .collect();
    assert_eq!(ids, vec![21, 30]);
    assert_eq!(b_same.status, RunStatus::Fail);
    assert_eq!(same.gid_of_run("TestB#2"), Some(20));
    assert!(same.unfinished_runs().is_empty());
}

#[test]
fn the_leak_profile_is_asked_again_until_it_proves_the_leak() {
    let mut c = comparator_with_profile(1000);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    // The leaked goroutine has not blocked yet when the test ends, nor
    // when the first profile is taken.
    let runnable = dump(&[
        test_g(10, "TestA#1"),
        g(11, "runnable", Some("TestA#1"), "leaky", 21, Some(10)),
    ]);
    let d = c.end("TestA#1", RunStatus::Pass, 2, &runnable, t0);
    assert_eq!(d, Decision::LeakProfile(Duration::ZERO));
    let d = c.again("TestA#1", 3, &runnable, t0);
    assert_eq!(d, Decision::LeakProfile(MIN_BACKOFF));
    // The next profile proves it: reported at once, not after the grace.
    let proven = dump(&[
        test_g(10, "TestA#1"),
        g(
            11,
            "chan receive (leaked)",
            Some("TestA#1"),
            "leaky",
            21,
            Some(10),
        ),
    ]);
    let v = done(c.again("TestA#1", 4, &proven, t0 + MIN_BACKOFF));
    assert_eq!(v.leaks.len(), 1);
    assert!(v.leaks[0].proven);
    assert_eq!(v.leaks[0].state, "chan receive");
}

#[test]
fn a_goroutine_the_profile_never_proves_waits_out_the_grace() {
    let mut c = comparator_with_profile(1000);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    let sleeping = dump(&[
        test_g(10, "TestA#1"),
        g(11, "sleep", Some("TestA#1"), "leaky", 21, Some(10)),
    ]);
    let mut d = c.end("TestA#1", RunStatus::Pass, 2, &sleeping, t0);
    let mut profiles = 0;
    let mut seq = 3;
    while let Decision::LeakProfile(_) | Decision::Again(_) = d {
        if matches!(d, Decision::LeakProfile(_)) {
            profiles += 1;
        }
        d = c.again(
            "TestA#1",
            seq,
            &sleeping,
            t0 + Duration::from_millis(seq * 10),
        );
        seq += 1;
        assert!(seq < 1000, "never judged");
    }
    assert_eq!(profiles, MAX_PROFILE_ASKS);
    let v = done(d);
    assert!(!v.leaks[0].proven);
}

#[test]
fn deferred_runs_are_judged_by_later_dumps_through_their_labels() {
    let mut c = comparator(100);
    let t0 = Instant::now();
    // A crowded process: the base is one real dump, then no more.
    let base = dump(&[
        test_g(10, "TestA#1"),
        g(2, "chan receive", None, "parked", 5, Some(1)),
    ]);
    c.start_from("TestA#1", 1, &base);
    c.start_same("TestB#2", 2, 20);
    c.end_deferred("TestA#1", RunStatus::Pass, 3, false, t0);
    c.end_deferred("TestB#2", RunStatus::Pass, 4, false, t0);
    assert!(c.has_deferred());
    assert_eq!(c.deferred_of("TestA"), Some(false));
    // The next dump: TestA's goroutines are gone; TestB's still there,
    // and an unlabelled goroutine from before is not anyone's.
    let later = dump(&[
        g(2, "chan receive", None, "parked", 5, Some(1)),
        g(21, "chan send", Some("TestB#2"), "leaky", 31, Some(20)),
    ]);
    let (verdicts, next) = c.check_deferred(5, &later, t0);
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].run, "TestA#1");
    assert!(verdicts[0].leaks.is_empty());
    assert_eq!(next, Some(Decision::Again(MIN_BACKOFF)));
    assert_eq!(c.deferred_of("TestA"), None);
    assert_eq!(c.deferred_of("TestB"), Some(false));
    // Still there after the grace period: TestB's leak, at its line.
    let (verdicts, next) = c.check_deferred(6, &later, t0 + Duration::from_millis(100));
    assert_eq!(next, None);
    assert_eq!(verdicts.len(), 1);
    let v = &verdicts[0];
    assert_eq!(v.run, "TestB#2");
    assert_eq!(v.leaks.len(), 1);
    assert_eq!(v.leaks[0].line, 31);
    assert!(v.leaks[0].ambiguous_with.is_empty());
    assert!(!c.has_deferred());
}

/// A server goroutine started before the tests (no label).
fn server() -> String {
    g(2, "IO wait", None, "serve", 5, Some(1))
}

/// A goroutine the server started for a request (no label).
fn handler() -> String {
    g(30, "select (no cases)", None, "handle", 41, Some(2))
}

/// A crowded process: TestA, dumped at its start (snapshot 1, with the
/// server), ended without a dump (2), clean by the counts or not.
fn ended_without_dump(count_clean: bool, t0: Instant) -> Comparator {
    let mut c = comparator(100);
    c.start_from("TestA#1", 1, &dump(&[test_g(10, "TestA#1"), server()]));
    c.end_deferred("TestA#1", RunStatus::Pass, 2, count_clean, t0);
    c
}

#[test]
fn a_deferred_run_waits_for_a_later_candidate_instead_of_passing() {
    let t0 = Instant::now();
    // The server serves TestA's request with a handler goroutine that
    // stays; the first dump to show it comes after TestB started.
    let mut c = ended_without_dump(false, t0);
    c.start_same("TestB#2", 3, 20);
    let later = dump(&[server(), handler()]);
    let (verdicts, next) = c.check_deferred(4, &later, t0);
    // TestB still runs: TestA does not pass yet.
    assert!(verdicts.is_empty(), "{verdicts:?}");
    assert!(next.is_some());
    c.end_deferred("TestB#2", RunStatus::Pass, 5, false, t0);
    let t1 = t0 + Duration::from_millis(100);
    let (verdicts, next) = c.check_deferred(6, &later, t1);
    assert_eq!(next, None);
    let a = verdicts.iter().find(|v| v.test == "TestA").unwrap();
    let b = verdicts.iter().find(|v| v.test == "TestB").unwrap();
    assert_eq!(a.leaks.len(), 1, "the earliest candidate reports it");
    assert_eq!(a.leaks[0].ambiguous_with, vec!["TestB".to_string()]);
    assert!(b.leaks.is_empty());
}

#[test]
fn an_unlabelled_goroutine_in_a_window_widened_by_deferred_runs_asks_for_exact_windows() {
    let t0 = Instant::now();
    let server = server();
    let two_runs = || {
        let mut c = ended_without_dump(false, t0);
        c.start_stale("TestB#2", 3, 20);
        c
    };
    // TestB's labelled goroutine: its owner is exact, no need.
    let labelled = g(21, "chan send", Some("TestB#2"), "leaky", 31, Some(20));
    let mut exact = two_runs();
    exact.check_deferred(4, &dump(&[server.clone(), labelled.clone()]), t0);
    assert!(!exact.wants_exact());
    // A goroutine without a label, created since the last full dump
    // while TestA and TestB (started without a dump) ran: either may own
    // it.
    let mut c = two_runs();
    c.check_deferred(4, &dump(&[server, labelled, handler()]), t0);
    assert!(c.wants_exact());
}

#[test]
fn runs_dumped_at_start_never_ask_for_exact_windows() {
    // Two parallel runs, both with full start dumps: an unlabelled
    // goroutine is ambiguous between them, but dumps would not narrow it.
    let mut c = comparator(100);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &dump(&[test_g(10, "TestA#1"), server()]));
    c.start_from("TestB#2", 2, &dump(&[test_g(20, "TestB#2"), server()]));
    c.end(
        "TestA#1",
        RunStatus::Pass,
        3,
        &dump(&[server(), handler()]),
        t0,
    );
    assert!(!c.wants_exact());
}

/// TestA (dumped at its start) ends without a dump, clean by the counts
/// or not; TestB, started without a dump, ends with one that shows a
/// goroutine without a label (a timer's callback); `keep_server` says
/// whether the server goroutine of the first dump is still alive then.
/// Returns the comparator after both verdicts, and the verdicts.
fn timer_window(count_clean: bool, keep_server: bool) -> (Comparator, RunVerdict, RunVerdict) {
    let t0 = Instant::now();
    let mut c = ended_without_dump(count_clean, t0);
    c.start_stale("TestB#2", 3, 20);
    let callback = g(30, "chan receive", None, "callback", 24, None);
    let mut end = vec![test_g(20, "TestB#2"), callback];
    if keep_server {
        end.push(server());
    }
    let late = t0 + Duration::from_millis(100);
    let b = match c.end("TestB#2", RunStatus::Pass, 4, &dump(&end), t0) {
        Decision::Done(v) => v,
        _ => done(c.again("TestB#2", 5, &dump(&end), late)),
    };
    let (mut verdicts, next) = c.check_deferred(5, &dump(&end), late);
    assert_eq!(next, None);
    let a = verdicts.pop().expect("TestA judged");
    (c, a, b)
}

#[test]
fn a_run_the_counts_show_clean_is_no_candidate_in_a_verified_window() {
    let (c, a, b) = timer_window(true, true);
    assert!(a.leaks.is_empty(), "{a:?}");
    assert_eq!(b.leaks.len(), 1);
    assert_eq!(b.leaks[0].line, 24);
    assert!(b.leaks[0].ambiguous_with.is_empty(), "{b:?}");
    assert!(!c.wants_exact());
}

#[test]
fn counts_do_not_narrow_a_window_in_which_an_older_goroutine_ended() {
    // The server's goroutine ended: it may have ended during TestA while
    // a goroutine TestA created lived on, with the same count.
    for (count_clean, keep_server) in [(true, false), (false, true)] {
        let (c, a, b) = timer_window(count_clean, keep_server);
        // Reported once, by the first to be judged, naming the other.
        assert!(a.leaks.is_empty(), "{a:?}");
        assert_eq!(b.leaks.len(), 1);
        assert_eq!(b.leaks[0].ambiguous_with, vec!["TestA".to_string()]);
        assert!(c.wants_exact());
    }
}

#[test]
fn the_next_tests_goroutine_caught_before_its_run_started_is_nobodys() {
    // A check dump taken while the testing package has created the next
    // test's goroutine, before that run's start message: not TestA's,
    // not even as one that an ignore rule exempts.
    let t0 = Instant::now();
    let mut c = ended_without_dump(false, t0);
    let next = format!("goroutine 20 [runnable]:\ntesting.tRunner(0xc, 0x1)\n\t{GOROOT}/src/testing/testing.go:1792\ncreated by testing.(*T).Run in goroutine 1\n\t{GOROOT}/src/testing/testing.go:1851 +0x413\n");
    let (verdicts, next_check) = c.check_deferred(3, &next, t0);
    assert_eq!(next_check, None);
    assert_eq!(verdicts.len(), 1);
    assert!(verdicts[0].leaks.is_empty());
    assert!(verdicts[0].ignored.is_empty(), "{:?}", verdicts[0].ignored);
}

#[test]
fn a_rounds_last_check_asks_for_what_the_deferred_runs_need() {
    let mut c = comparator_with_profile(100);
    let t0 = Instant::now();
    assert_eq!(c.pending_check(), None);
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    c.start_same("TestB#2", 2, 20);
    c.end_deferred("TestB#2", RunStatus::Pass, 3, false, t0);
    // Never checked: a plain dump.
    assert_eq!(c.pending_check(), Some(false));
    // A dump that shows a goroutine of TestB's still alive: the leak
    // profile may prove it leaked.
    let leaked = g(21, "chan receive", Some("TestB#2"), "leaky", 7, Some(20));
    let (verdicts, next) = c.check_deferred(4, &dump(&[leaked]), t0);
    assert!(verdicts.is_empty(), "{verdicts:?}");
    assert!(matches!(next, Some(Decision::LeakProfile(_))), "{next:?}");
    assert_eq!(c.pending_check(), Some(true));
}

impl Comparator {
    /// [`Comparator::start`] on the goroutine that took `dump` (the
    /// first one in it).
    fn start_from(&mut self, run: &str, seq: u64, dump: &str) {
        let gid = goroutine_ids(dump)[0];
        self.start(run, seq, gid, dump);
    }
}

#[test]
fn each_leak_names_the_innermost_subtest_that_started_it() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    // Go 1.26+: the label names the subtest. Before: the subtest's
    // goroutine (from its `sub` message) created it, or created its
    // creator, which is still alive.
    c.subtest("TestA#1/table/case_2", 12);
    let end = dump(&[
        test_g(10, "TestA#1"),
        g(
            20,
            "chan send",
            Some("TestA#1/inner"),
            "labelled",
            31,
            Some(11),
        ),
        g(21, "chan send", None, "bysub", 41, Some(12)),
        g(22, "select", None, "parent", 51, Some(12)),
        g(23, "chan send", None, "child", 61, Some(22)),
        g(24, "chan send", Some("TestA#1"), "own", 71, Some(10)),
    ]);
    let v = done(c.end("TestA#1", RunStatus::Pass, 2, &end, t0));
    let subtest_of = |func: &str| {
        v.leaks
            .iter()
            .find(|l| l.function == format!("example.com/p.{func}"))
            .unwrap_or_else(|| panic!("{func}: {:?}", v.leaks))
            .subtest
            .clone()
    };
    assert_eq!(subtest_of("labelled"), "TestA/inner");
    assert_eq!(subtest_of("bysub"), "TestA/table/case_2");
    assert_eq!(subtest_of("parent"), "TestA/table/case_2");
    assert_eq!(subtest_of("child"), "TestA/table/case_2");
    assert_eq!(subtest_of("own"), "TestA");
}

#[test]
fn the_hooks_own_goroutine_is_never_a_leak() {
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestA#1", 1, &test_g(10, "TestA#1"));
    let probe = format!(
        "goroutine 30 [sync.Mutex.Lock]:\nsync.(*Mutex).Lock(...)\n\t{GOROOT}/src/sync/mutex.go:46\ntesting.(*leakcheckProbe).send(0xc0)\n\t{GOROOT}/src/testing/zz_leakcheck_probe.go:34 +0x2c\ncreated by time.goFunc\n\t{GOROOT}/src/time/sleep.go:215 +0x2d\n"
    );
    let v = done(c.end(
        "TestA#1",
        RunStatus::Pass,
        2,
        &dump(&[test_g(10, "TestA#1"), probe]),
        t0,
    ));
    assert!(v.leaks.is_empty(), "{:?}", v.leaks);
}

#[test]
fn leak_groups_are_ordered_by_size_then_site_whatever_the_dump_order() {
    let at = |count: usize, line: u32, created: Option<u32>, ids: Vec<u64>| Leak {
        count,
        line,
        created_by: created.map(|l| Location {
            function: "example.com/p.F".into(),
            file: "/m/p/p.go".into(),
            line: l,
        }),
        goroutine_ids: ids,
        ..Leak::example()
    };
    let groups = vec![
        at(1, 10, None, vec![9]),
        at(1, 10, Some(30), vec![8]),
        at(2, 12, Some(20), vec![7, 3]),
        at(1, 10, Some(5), vec![4]),
    ];
    let mut reversed: Vec<Leak> = groups.iter().rev().cloned().collect();
    let mut forward = groups.clone();
    sort_leaks(&mut forward);
    sort_leaks(&mut reversed);
    assert_eq!(forward, reversed);
    let order: Vec<(usize, Option<u32>)> = forward
        .iter()
        .map(|l| (l.count, l.created_by.as_ref().map(|c| c.line)))
        .collect();
    assert_eq!(
        order,
        [(2, Some(20)), (1, Some(5)), (1, Some(30)), (1, None)]
    );
    assert_eq!(forward[0].goroutine_ids, [3, 7]);
}

#[test]
fn a_process_running_a_test_many_times_keeps_what_live_goroutines_need() {
    // 1,000 clean runs, one after another, beside a server goroutine
    // that lives throughout, and one run that leaks a goroutine.
    let mut c = comparator(0);
    let t0 = Instant::now();
    let server = g(2, "select", None, "server", 5, Some(1));
    let mut seq = 0;
    let mut leaked = None;
    for n in 1..=1000u64 {
        let run = format!("TestA#{n}");
        let gid = 100 + n;
        seq += 1;
        c.start_from(&run, seq, &dump(&[test_g(gid, &run), server.clone()]));
        let mut end = vec![test_g(gid, &run), server.clone()];
        if n == 500 {
            leaked = Some(format!("goroutine 5000 [chan receive] {{leakcheck_test: {run}}}:\nexample.com/p.leak()\n\t/src/p/p.go:7 +0x1\ncreated by example.com/p.TestA in goroutine {gid}\n\t/src/p/p_test.go:6 +0x1\n"));
        }
        end.extend(leaked.clone());
        seq += 1;
        let v = done(c.end(&run, RunStatus::Pass, seq, &dump(&end), t0));
        assert_eq!(v.leaks.len(), usize::from(n == 500), "run {n}");
    }
    // The leaking run, and the last one (its goroutine was alive at the
    // last dump), are all that is kept.
    let mut kept: Vec<&String> = c.runs.keys().collect();
    kept.sort();
    assert_eq!(kept, ["TestA#1000", "TestA#500"]);
    assert!(c.first_seen.len() <= 3, "{:?}", c.first_seen);
    assert!(c.windows.len() <= 3, "{:?}", c.windows.keys());
    assert!(c.run_of_gid.len() <= 2, "{:?}", c.run_of_gid);
    // A forgotten run is still known to have run.
    assert_eq!(c.run_is_running("TestA#7"), Some(false));
    assert_eq!(c.run_is_running("TestA#1001"), None);
    // The leaked goroutine is still the leaking run's, by its label.
    let snapshot = crate::detect::stack::Snapshot::parse(leaked.as_deref().unwrap());
    assert_eq!(c.run_of(&snapshot, 5000).as_deref(), Some("TestA#500"));
    // Runs the helper judged without dumps (`start=`, `end=`: the runtime
    // created no goroutine meanwhile) are forgotten at once.
    for n in 1001..=3000u64 {
        let run = format!("TestA#{n}");
        seq += 1;
        c.start_same(&run, seq, 100 + n);
        seq += 1;
        assert!(done(c.end_same(&run, RunStatus::Pass, seq, t0))
            .leaks
            .is_empty());
    }
    assert_eq!(c.runs.len(), 2, "{:?}", c.runs.keys());
    assert!(c.first_seen.len() <= 3, "{:?}", c.first_seen);
    assert!(c.run_of_gid.len() <= 2, "{:?}", c.run_of_gid);
    assert_eq!(c.run_is_running("TestA#2999"), Some(false));
}

#[test]
fn a_creation_chain_leads_from_a_library_goroutine_to_the_test() {
    let text = include_str!("../../../tests/dumps/go1.26-chains-httptest.txt");
    let snapshot = crate::detect::stack::Snapshot::parse(text);
    let g = &snapshot.goroutines[0];
    let chain = creation_chain(g, None);
    let at = |i: usize| {
        (
            chain[i].function.as_str(),
            chain[i].line,
            chain[i].goroutine,
        )
    };
    assert_eq!(at(0), ("net/http/httptest.(*Server).goServe", 339, 8));
    assert_eq!(at(3), ("net/http/httptest.NewServer", 109, 8));
    // The creators' creators, up to the test binary's main.
    assert_eq!(chain.last().unwrap().function, "main.main");
    assert!(chain
        .iter()
        .any(|c| c.function == "example.com/chains/app.TestServer" && c.goroutine == 7));
    let roots = CodeRoots {
        goroot: "/usr/local/go",
        module: "/tmp/chains",
        calls: None,
    };
    let (origin, via) = origin_and_via(&chain, roots);
    // The innermost frame in the module, as the runtime printed the chain
    // (an inlined helper comes after its caller there).
    let origin = origin.unwrap();
    assert_eq!(
        (origin.file.as_str(), origin.line),
        ("/tmp/chains/app/app_test.go", 18)
    );
    assert_eq!(
        via.unwrap().function,
        "example.com/chains/app.TestServer.func1"
    );
    // Without a module root, files outside GOROOT and the module cache
    // are the user's; with one, only files under it.
    assert!(CodeRoots {
        goroot: "/usr/local/go",
        module: "",
        calls: None,
    }
    .is_users("/tmp/chains/app/app_test.go"));
    assert!(!CodeRoots {
        goroot: "/usr/local/go",
        module: "",
        calls: None,
    }
    .is_users("/root/go/pkg/mod/x@v1/x.go"));
    assert!(!roots.is_users("/tmp/chainsx/a.go"));
    assert!(!roots.is_users("/tmp/chains/vendor/x/x.go"));
    assert!(!roots.is_users("/usr/local/go/src/net/http/server.go"));
}

/// A timer's callback goroutine (no label) whose stack runs a function
/// literal of `test`.
fn timer_callback(id: u64, test: &str) -> String {
    format!(
        "goroutine {id} [chan receive]:\nexample.com/p.{test}.func1()\n\t/src/p/p_test.go:24 +0x1a\ncreated by time.goFunc\n\t{GOROOT}/src/time/sleep.go:215 +0x2d\n"
    )
}

#[test]
fn a_timer_callback_is_its_setters_while_that_run_is_open() {
    // TestT sets a timer and ends; its callback is in its end dump, and
    // TestO, running alongside, is no owner of it.
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestT#1", 1, &test_g(10, "TestT#1"));
    c.start_from("TestO#2", 2, &test_g(20, "TestO#2"));
    let end = dump(&[test_g(20, "TestO#2"), timer_callback(30, "TestT")]);
    let t = done(c.end("TestT#1", RunStatus::Pass, 3, &end, t0));
    assert_eq!(t.leaks.len(), 1, "{t:?}");
    assert!(t.leaks[0].ambiguous_with.is_empty(), "{t:?}");
    let o = done(c.end(
        "TestO#2",
        RunStatus::Pass,
        4,
        &dump(&[timer_callback(30, "TestT")]),
        t0,
    ));
    assert!(o.leaks.is_empty(), "{o:?}");
}

#[test]
fn a_timer_callback_that_starts_after_its_setter_was_judged_is_reported_by_the_next_run() {
    // TestT was judged clean before its timer fired; the callback first
    // shows up in TestO's start dump, so no window makes it TestO's: TestO
    // reports it anyway, naming TestT, and only once.
    let mut c = comparator(0);
    let t0 = Instant::now();
    c.start_from("TestT#1", 1, &test_g(10, "TestT#1"));
    let t = done(c.end("TestT#1", RunStatus::Pass, 2, &dump(&[]), t0));
    assert!(t.leaks.is_empty(), "{t:?}");
    c.start_from(
        "TestO#2",
        3,
        &dump(&[test_g(20, "TestO#2"), timer_callback(30, "TestT")]),
    );
    let o = done(c.end(
        "TestO#2",
        RunStatus::Pass,
        4,
        &dump(&[timer_callback(30, "TestT")]),
        t0,
    ));
    assert_eq!(o.leaks.len(), 1, "{o:?}");
    assert_eq!(o.leaks[0].ambiguous_with, ["TestT"], "{o:?}");
    c.start_from(
        "TestP#3",
        5,
        &dump(&[test_g(40, "TestP#3"), timer_callback(30, "TestT")]),
    );
    let p = done(c.end(
        "TestP#3",
        RunStatus::Pass,
        6,
        &dump(&[timer_callback(30, "TestT")]),
        t0,
    ));
    assert!(p.leaks.is_empty(), "{p:?}");
}

#[test]
fn via_is_the_test_functions_line_when_a_tests_helper_made_the_goroutine() {
    // cron's wait() helper in cron_test.go: its go statement is the
    // creation site; via named it again instead of the test's line.
    let frame = |function: &str, file: &str, line: u32| ChainFrame {
        function: function.into(),
        file: file.into(),
        line,
        goroutine: 6,
    };
    let chain = [
        frame("example.com/cron.wait", "/m/cron_test.go", 683),
        frame(
            "example.com/cron.TestStopCausesJobsToNotRun",
            "/m/cron_test.go",
            110,
        ),
        frame(
            "testing.tRunner",
            "/usr/local/go/src/testing/testing.go",
            1792,
        ),
    ];
    let roots = CodeRoots {
        goroot: "/usr/local/go",
        module: "/m",
        calls: None,
    };
    let (origin, via) = origin_and_via(&chain, roots);
    assert_eq!(origin.unwrap().line, 683);
    let via = via.unwrap();
    assert_eq!(
        (via.function.as_str(), via.line),
        ("example.com/cron.TestStopCausesJobsToNotRun", 110)
    );
    // Only a helper in a _test.go file: via is the helper.
    let (_, via) = origin_and_via(&chain[..1], roots);
    assert_eq!(via.unwrap().line, 683);
}

#[test]
fn test_functions_are_told_by_their_names() {
    for f in [
        "example.com/m.TestX",
        "example.com/m.TestX.func1.2",
        "example.com/m.(*Suite).TestY",
        "example.com/m.FuzzZ.func1",
        "m.ExampleA",
        "example.com/m/v2.BenchmarkB",
    ] {
        assert!(is_test_function(f), "{f}");
    }
    for f in [
        "example.com/m.wait",
        "example.com/m.startTestServer",
        "example.com/m.(*Suite).SetupTest",
        "testing.tRunner",
    ] {
        assert!(!is_test_function(f), "{f}");
    }
}
