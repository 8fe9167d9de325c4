//! Tests that attack leakcheck's verdicts from inside the Go code it
//! checks: forged messages on the hook's connection, results that never
//! come, processes that outlive their test. Each must end in a failed
//! package that says what happened, never in a pass.

mod common;

use common::*;
use leakcheck::report::{PackageOutcome, TestOutcome};

/// Go code that writes `msg` on every socket the test process has:
/// leakcheck's connection (fd 3) among them.
const FORGE: &str = r#"
// forge writes msg on every socket the process has.
func forge(msg string) {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if fd, _ := strconv.Atoi(e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			syscall.Write(fd, []byte(msg))
		}
	}
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
