//! Tests that attack leakcheck's verdicts from inside the Go code it
//! checks: forged messages on the hook's connection, results that never
//! come, processes that outlive their test. Each must end in a failed
//! package that says what happened, never in a pass.

mod common;

use common::*;
use leakcheck::output::report::{PackageOutcome, TestOutcome};

/// Go code that finds leakcheck's connection the way a hostile test
/// would (the process's only socket, fd 3), and writes `msg` on it.
const FORGE: &str = r#"
// leakcheckFD is the process's only socket: leakcheck's connection.
func leakcheckFD() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if fd, _ := strconv.Atoi(e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			return fd
		}
	}
	panic("no socket in /proc/self/fd")
}

// forge writes msg on leakcheck's connection.
func forge(msg string) {
	syscall.Write(leakcheckFD(), []byte(msg))
}
"#;

const FORGE_IMPORTS: &str =
    "import (\n\t\"os\"\n\t\"strconv\"\n\t\"strings\"\n\t\"syscall\"\n\t\"testing\"\n)\n";

#[test]
fn a_test_that_forges_messages_fails_as_tampering_and_the_others_are_judged() {
    // Each forgery was once a way to hide a leak: the test's own end as
    // clean, a round's end, a message with a made-up key.
    for forged in [
        r"end= TestForged#2 pass 0\n",
        r"dump - 0\n",
        r"0123456789abcdef0123456789abcdef end= TestForged#2 pass 0\n",
    ] {
        let src = format!(
            "package a\n\n{FORGE_IMPORTS}{FORGE}\n\
             func TestBefore(t *testing.T) {{}}\n\n\
             func TestForged(t *testing.T) {{\n\tgo func() {{ select {{}} }}()\n\tforge(\"{forged}\")\n}}\n\n\
             func TestAfter(t *testing.T) {{\n\tgo func() {{ select {{}} }}()\n}}\n"
        );
        let dir = go_module(&[("a/a_test.go", &src)]);
        let (out, report) = run_with_report(dir.path(), &["./..."]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{forged}: {stdout}");
        let pkg = &report.packages[0];
        assert_ne!(pkg.outcome, PackageOutcome::Pass, "{forged}: {stdout}");
        let outcome = |name: &str| {
            let t = pkg.tests.iter().find(|t| t.name == name);
            t.unwrap_or_else(|| panic!("{name} in {stdout}")).clone()
        };
        assert_eq!(outcome("TestBefore").outcome, TestOutcome::Pass);
        let forger = outcome("TestForged");
        assert_eq!(forger.outcome, TestOutcome::Crash, "{forged}: {stdout}");
        assert!(
            forger
                .details
                .as_deref()
                .unwrap_or("")
                .starts_with("tampering: "),
            "{forged}: {forger:?}"
        );
        // The tests after it still run, in a fresh process, and are judged.
        assert_eq!(outcome("TestAfter").outcome, TestOutcome::Leak, "{stdout}");
        assert!(stdout.contains("leakcheck: tampering: "), "{stdout}");
    }
}

/// Runs leakcheck on `files` (a module), with `args` after the package
/// pattern; returns exit code, stdout and report.
fn run_module(
    files: &[(&str, &str)],
    env: &[(&str, &str)],
    args: &[&str],
) -> (Option<i32>, String, leakcheck::output::report::Report) {
    let dir = go_module(files);
    let mut cmd = leakcheck();
    cmd.current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut all = vec!["./..."];
    all.extend_from_slice(args);
    let (out, report) = run_command_with_report(&mut cmd, &all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        report,
    )
}

fn outcome_of(report: &leakcheck::output::report::Report, test: &str, stdout: &str) -> TestOutcome {
    report
        .packages
        .iter()
        .flat_map(|p| &p.tests)
        .find(|t| t.name == test)
        .unwrap_or_else(|| panic!("{test} is missing from the report:\n{stdout}"))
        .outcome
}

#[test]
fn a_test_that_swaps_the_connection_for_its_own_cannot_pass() {
    // The hook then talks to a socket pair holding "done" answers:
    // leakcheck's end sees the run start and never end, in a binary that
    // exits 0.
    let src = format!(
        "package a\n\n{FORGE_IMPORTS}{FORGE}\n{}",
        r#"
func TestSwapped(t *testing.T) {
	go func() { select {} }()
	fd := leakcheckFD()
	p, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		syscall.Write(p[1], []byte("done\n"))
	}
	if err := syscall.Dup3(p[0], fd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
}
"#
    );
    let (code, stdout, report) = run_module(&[("a/a_test.go", &src)], &[], &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        outcome_of(&report, "TestSwapped", &stdout),
        TestOutcome::Fail
    );
    assert!(stdout.contains("--- FAIL: TestSwapped"), "{stdout}");
    assert!(
        stdout.contains("its end never reached leakcheck"),
        "{stdout}"
    );
}

#[test]
fn leaks_are_reported_when_the_result_line_never_comes() {
    let leak = "go func() { select {} }()";
    // A test that closes stdout: the tests after it print nothing.
    let closed = format!(
        "package a\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n\
         func TestLeaksFirst(t *testing.T) {{ {leak} }}\n\n\
         func TestClosesStdout(t *testing.T) {{ os.Stdout.Close() }}\n\n\
         func TestLeaksUnseen(t *testing.T) {{ {leak} }}\n"
    );
    // An unterminated line of exactly 4096 or 8192 bytes, then a leak.
    let unterminated = format!(
        "package b\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strconv\"\n\t\"strings\"\n\t\"testing\"\n)\n\n\
         func TestUnterminated(t *testing.T) {{\n\
         \tn, _ := strconv.Atoi(os.Getenv(\"UNTERMINATED\"))\n\
         \tfmt.Print(strings.Repeat(\"x\", n))\n\t{leak}\n}}\n"
    );
    // A test named with over 4 KiB.
    let long = format!(
        "package c\n\nimport \"testing\"\n\nfunc TestLong{}(t *testing.T) {{ {leak} }}\n",
        "X".repeat(5000)
    );
    for n in ["4096", "8192"] {
        let (code, stdout, report) = run_module(
            &[
                ("a/a_test.go", &closed),
                ("b/b_test.go", &unterminated),
                ("c/c_test.go", &long),
            ],
            &[("UNTERMINATED", n)],
            &[],
        );
        assert_eq!(code, Some(1), "{stdout}");
        for test in ["TestLeaksFirst", "TestLeaksUnseen", "TestUnterminated"] {
            assert_eq!(outcome_of(&report, test, &stdout), TestOutcome::Leak, "{n}");
        }
        let long_name = format!("TestLong{}", "X".repeat(5000));
        assert_eq!(outcome_of(&report, &long_name, &stdout), TestOutcome::Leak);
        assert_eq!(
            outcome_of(&report, "TestClosesStdout", &stdout),
            TestOutcome::Pass
        );
        assert!(
            stdout.contains("--- LEAK: TestLeaksUnseen")
                && stdout.contains("its result line never reached leakcheck"),
            "{stdout}"
        );
        assert_eq!(report.summary.leaked, 4, "{stdout}");
    }
}

#[test]
fn closing_stdout_then_failing_or_crashing_blames_the_test_that_did_it() {
    // The binary exits 1 because a later test failed: the test that
    // closed stdout passed (the hook says so), nothing crashed.
    let failing = "package a\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n\
         func TestClosesStdout(t *testing.T) { os.Stdout.Close() }\n\n\
         func TestFails(t *testing.T) { t.Fatal(\"boom\") }\n\n\
         func TestPasses(t *testing.T) {}\n";
    // A later test panics: that one crashed, not the one that closed
    // stdout.
    let panicking = "package b\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n\
         func TestClosesStdout(t *testing.T) { os.Stdout.Close() }\n\n\
         func TestPanics(t *testing.T) { panic(\"boom\") }\n";
    let (code, stdout, report) = run_module(
        &[("a/a_test.go", failing), ("b/b_test.go", panicking)],
        &[],
        &[],
    );
    assert_eq!(code, Some(1), "{stdout}");
    let of = |pkg: &str, test: &str| {
        report
            .packages
            .iter()
            .filter(|p| p.import_path.ends_with(pkg))
            .flat_map(|p| &p.tests)
            .find(|t| t.name == test)
            .unwrap_or_else(|| panic!("{pkg} {test} missing:\n{stdout}"))
            .outcome
    };
    assert_eq!(of("/a", "TestClosesStdout"), TestOutcome::Pass, "{stdout}");
    assert_eq!(of("/a", "TestFails"), TestOutcome::Fail, "{stdout}");
    assert_eq!(of("/a", "TestPasses"), TestOutcome::Pass, "{stdout}");
    assert_eq!(of("/b", "TestClosesStdout"), TestOutcome::Pass, "{stdout}");
    assert_eq!(of("/b", "TestPanics"), TestOutcome::Crash, "{stdout}");
    assert_eq!(report.summary.crashed, 1, "{stdout}");
}

#[test]
fn closing_stdout_in_a_later_run_neither_blames_it_nor_hides_the_failure_after_it() {
    // -count=2: the first runs print their result lines; in the second
    // round TestClosesLater closes stdout, then TestFailsLater fails
    // unseen. Their earlier result lines must not swallow the hook's word
    // on the later runs.
    let src = "package a\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nvar round int\n\n\
         func TestClosesLater(t *testing.T) {\n\tif round++; round == 2 {\n\t\tos.Stdout.Close()\n\t}\n}\n\n\
         func TestFailsLater(t *testing.T) {\n\tif round == 2 {\n\t\tt.Fatal(\"boom\")\n\t}\n}\n";
    let (code, stdout, report) = run_module(&[("a/a_test.go", src)], &[], &["--", "-count=2"]);
    assert_eq!(code, Some(1), "{stdout}");
    let test = |name: &str| {
        report
            .packages
            .iter()
            .flat_map(|p| &p.tests)
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"))
    };
    assert_eq!(
        test("TestClosesLater").outcome,
        TestOutcome::Pass,
        "{stdout}"
    );
    assert_eq!(test("TestClosesLater").runs, 2, "{stdout}");
    assert_eq!(
        test("TestFailsLater").outcome,
        TestOutcome::Fail,
        "{stdout}"
    );
    assert_eq!(test("TestFailsLater").runs, 2, "{stdout}");
    assert_eq!(report.summary.crashed, 0, "{stdout}");
    assert!(
        stdout.contains("--- FAIL: TestFailsLater (0.00s)\n    leakcheck: its result line never reached leakcheck"),
        "{stdout}"
    );
}

#[test]
fn a_binary_that_runs_no_test_and_never_exits_is_killed_as_go_test_kills_it() {
    // TestMain ends its own goroutine while another lives: the runtime
    // sees no deadlock, m.Run never arms -timeout, no test runs for
    // --test-timeout to catch. go test kills the binary after -timeout
    // and a minute; so does leakcheck.
    let src = "package a\n\nimport (\n\t\"runtime\"\n\t\"testing\"\n\t\"time\"\n)\n\n\
               func TestMain(m *testing.M) {\n\
               \tgo func() {\n\t\tfor {\n\t\t\ttime.Sleep(time.Second)\n\t\t}\n\t}()\n\
               \truntime.Goexit()\n}\n\n\
               func TestNever(t *testing.T) {}\n";
    let (code, stdout, report) =
        run_module(&[("a/a_test.go", src)], &[], &["--", "-timeout", "1s"]);
    assert_eq!(code, Some(1), "{stdout}");
    let pkg = &report.packages[0];
    assert_eq!(pkg.outcome, PackageOutcome::Fail, "{stdout}");
    assert!(
        pkg.error
            .as_deref()
            .unwrap_or("")
            .contains("ran too long (1m1s"),
        "{:?}\n{stdout}",
        pkg.error
    );
    assert!(
        stdout.contains("*** Test killed with quit: ran too long (1m1s)."),
        "{stdout}"
    );
    assert_eq!(report.summary.packages_failed, 1);
}

#[test]
fn a_timer_callback_another_test_scheduled_is_not_pinned_on_the_test_it_appears_in() {
    // TestA schedules a callback that blocks forever; it starts while
    // TestB runs. It is reported (never dropped), and not as TestB's
    // alone: TestA, whose function literal it runs, is named.
    let src = "package a\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n\
               func TestA(t *testing.T) {\n\
               \ttime.AfterFunc(100*time.Millisecond, func() { select {} })\n}\n\n\
               func TestB(t *testing.T) {\n\ttime.Sleep(300 * time.Millisecond)\n}\n";
    let (code, stdout, report) = run_module(&[("a/a_test.go", src)], &[], &[]);
    assert_eq!(code, Some(1), "{stdout}");
    let leaks: Vec<_> = report.packages[0]
        .tests
        .iter()
        .flat_map(|t| t.leaks.iter().map(move |l| (t.name.clone(), l)))
        .collect();
    assert_eq!(leaks.len(), 1, "{stdout}");
    let (test, leak) = &leaks[0];
    assert!(
        test == "TestA" || leak.ambiguous_with.contains(&"TestA".to_string()),
        "{test}: {leak:?}"
    );
    assert!(stdout.contains("may belong to TestA"), "{stdout}");
}

#[test]
fn a_test_that_had_returned_is_not_blamed_for_another_tests_crash() {
    // TestA returned (its goroutine is still being waited for) when TestB
    // ends the binary: TestB crashed it; TestA cannot be judged, and says
    // so.
    let src = "package a\n\nimport (\n\t\"os\"\n\t\"testing\"\n\t\"time\"\n)\n\n\
               var aReturned = make(chan struct{})\n\n\
               func TestA(t *testing.T) {\n\tt.Parallel()\n\
               \tgo func() { time.Sleep(30 * time.Second) }()\n\tclose(aReturned)\n}\n\n\
               func TestB(t *testing.T) {\n\tt.Parallel()\n\t<-aReturned\n\
               \ttime.Sleep(time.Second)\n\tos.Exit(3)\n}\n\n\
               func TestC(t *testing.T) {}\n";
    // TestA's goroutine is waited for up to 10 s: TestB exits a second
    // after TestA returned, well within that, however loaded the machine.
    let (code, stdout, report) = run_module(&[("a/a_test.go", src)], &[], &["--grace", "10s"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        outcome_of(&report, "TestB", &stdout),
        TestOutcome::Crash,
        "{stdout}"
    );
    assert_eq!(
        outcome_of(&report, "TestA", &stdout),
        TestOutcome::Fail,
        "{stdout}"
    );
    assert_eq!(
        outcome_of(&report, "TestC", &stdout),
        TestOutcome::Pass,
        "{stdout}"
    );
    assert!(stdout.contains("the test had returned"), "{stdout}");
    assert_eq!(report.summary.crashed, 1, "{stdout}");
}

#[test]
fn a_periodic_timer_an_earlier_test_left_is_not_blamed_on_a_test_being_checked() {
    // TestSetsTimer leaves a timer that rearms itself; its callbacks
    // (a method value: no test in their stack) each live 20ms, one or
    // more at any time. TestBystander's own goroutine outlives it by
    // 100ms, so its check takes several dumps: each showed callbacks
    // created after TestBystander had returned, and it failed for them
    // (found on centrifuge: a client's ping timer another test left).
    let src = "package a\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n\
               type ticker struct{}\n\n\
               func (k *ticker) tick() {\n\
               \ttime.AfterFunc(5*time.Millisecond, k.tick)\n\
               \ttime.Sleep(20 * time.Millisecond)\n}\n\n\
               func TestSetsTimer(t *testing.T) {\n\
               \tk := &ticker{}\n\ttime.AfterFunc(time.Millisecond, k.tick)\n}\n\n\
               func TestBystander(t *testing.T) {\n\
               \tgo func() { time.Sleep(100 * time.Millisecond) }()\n}\n";
    let (_, stdout, report) = run_module(&[("a/a_test.go", src)], &[], &[]);
    assert_eq!(
        outcome_of(&report, "TestBystander", &stdout),
        TestOutcome::Pass,
        "{stdout}"
    );
}

#[test]
fn a_timer_callback_that_names_no_test_is_blamed_with_a_word_of_doubt() {
    // The callback is a method value: its stack names no test, so only
    // when it started places it, and the report says so.
    let src = "package a\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\n\
               type waiter struct{ started, never chan struct{} }\n\n\
               func (w *waiter) wait() {\n\tclose(w.started)\n\t<-w.never\n}\n\n\
               func TestA(t *testing.T) {\n\
               \tw := &waiter{make(chan struct{}), make(chan struct{})}\n\
               \ttime.AfterFunc(0, w.wait)\n\t<-w.started\n}\n";
    let (code, stdout, report) = run_module(&[("a/a_test.go", src)], &[], &[]);
    assert_eq!(code, Some(1), "{stdout}");
    let test = &report.packages[0].tests[0];
    assert_eq!(
        (test.name.as_str(), test.leaks.len()),
        ("TestA", 1),
        "{stdout}"
    );
    assert!(test.leaks[0].ambiguous_with.is_empty(), "{stdout}");
    assert!(
        stdout.contains("owner uncertain: a timer's callback (time.AfterFunc)"),
        "{stdout}"
    );
}
