//! Reading a crashed test binary's output: where the panic or fatal error
//! starts, which goroutine crashed, and a summary that puts the message
//! and that goroutine's stack first. Pure logic.

use crate::detect::stack::Snapshot;

/// The panic or fatal error at the end of a crashed binary's output.
pub(super) struct CrashOutput {
    /// Where the panic message starts in the output.
    pub(super) start: usize,
    /// The crashing goroutine (the first one after the message).
    pub(super) goroutine: Option<u64>,
}

impl CrashOutput {
    /// The crash in `output`: the last line that starts a panic, a fatal
    /// error or a fault and is followed by goroutine stacks (a test that
    /// printed `panic: ...` earlier and went on is not the crash), else
    /// the first such line.
    pub(super) fn find(output: &str) -> Option<CrashOutput> {
        let markers = ["panic: ", "fatal error: ", "SIGSEGV", "unexpected fault"];
        let mut starts: Vec<usize> = Vec::new();
        let mut at = 0;
        for line in output.split_inclusive('\n') {
            if markers.iter().any(|m| line.starts_with(m)) {
                starts.push(at);
            }
            at += line.len();
        }
        let start = starts
            .iter()
            .rev()
            .find(|&&s| output[s..].contains("\ngoroutine "))
            .or(starts.first())
            .copied()?;
        let snapshot = Snapshot::parse(&output[start..]);
        Some(CrashOutput {
            start,
            goroutine: snapshot.goroutines.first().map(|g| g.id),
        })
    }

    /// The message and the crashing goroutine's stack first, then a count
    /// of the others.
    pub(super) fn summary(&self, output: &str) -> String {
        let text = &output[self.start..];
        let snapshot = Snapshot::parse(text);
        let message_end = text.find("\ngoroutine ").unwrap_or(text.len());
        let mut out = text[..message_end].trim_end().to_string();
        if let Some(first) = snapshot.goroutines.first() {
            out.push_str("\n\n");
            out.push_str(first.text);
        }
        let others = snapshot.goroutines.len().saturating_sub(1);
        if others > 0 {
            out.push_str(&format!(
                "\n\n... and {others} other goroutines (the full output is in the test's output)"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_panic_after_test_output() {
        let dump = include_str!("../../tests/dumps/go1.26-panic.txt");
        let output = format!("=== RUN   TestPanic\nsome log line\n{dump}");
        let c = CrashOutput::find(&output).unwrap();
        assert!(output[c.start..].starts_with("panic: boom\n"));
        assert_eq!(c.goroutine, Some(19));
        let summary = c.summary(&output);
        assert!(
            summary.starts_with("panic: boom\n\ngoroutine 19 [running"),
            "{summary}"
        );
        assert!(!summary.contains("other goroutines"), "{summary}");
    }

    #[test]
    fn puts_the_crashing_goroutine_first_and_counts_the_rest() {
        let dump = include_str!("../../tests/dumps/go1.26-panic-all.txt");
        let c = CrashOutput::find(dump).unwrap();
        let summary = c.summary(dump);
        assert!(summary.starts_with("panic: "), "{summary}");
        assert_eq!(summary.matches("\ngoroutine ").count(), 1, "{summary}");
        assert!(
            summary
                .ends_with("... and 2 other goroutines (the full output is in the test's output)"),
            "{summary}"
        );
        let fatal = include_str!("../../tests/dumps/go1.26-fatal-map.txt");
        let c = CrashOutput::find(fatal).unwrap();
        assert!(c
            .summary(fatal)
            .starts_with("fatal error: concurrent map writes\n\ngoroutine 19 [running]:"));
    }

    #[test]
    fn a_panic_line_a_test_printed_earlier_is_not_the_crash() {
        let dump = include_str!("../../tests/dumps/go1.26-panic.txt");
        let output = format!(
            "=== RUN   TestA\npanic: not really\n--- PASS: TestA (0.00s)\n=== RUN   TestPanic\n{dump}"
        );
        let c = CrashOutput::find(&output).unwrap();
        assert!(
            output[c.start..].starts_with("panic: boom\n"),
            "{}",
            &output[c.start..]
        );
        // Only a panic line, nothing after it: still a crash.
        let c = CrashOutput::find("=== RUN   TestA\npanic: cut short\n").unwrap();
        assert_eq!(c.start, "=== RUN   TestA\n".len());
    }

    #[test]
    fn no_crash_text_no_crash_output() {
        assert!(CrashOutput::find("=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n").is_none());
    }
}
