//! Reading a crashed test binary's output: where the panic or fatal error
//! starts, which goroutine crashed, and a summary that puts the message
//! and that goroutine's stack first. Pure logic.

use crate::stack::Snapshot;

/// The panic or fatal error at the end of a crashed binary's output.
pub(super) struct CrashOutput {
    /// Where the panic message starts in the output.
    pub(super) start: usize,
    /// The crashing goroutine (the first one after the message).
    pub(super) goroutine: Option<u64>,
}

impl CrashOutput {
    pub(super) fn find(output: &str) -> Option<CrashOutput> {
        let start = [
            "\npanic: ",
            "\nfatal error: ",
            "\nSIGSEGV",
            "\nunexpected fault",
        ]
        .iter()
        .filter_map(|m| output.find(m).map(|i| i + 1))
        .min()
        .or_else(|| {
            ["panic: ", "fatal error: "]
                .iter()
                .find(|m| output.starts_with(**m))
                .map(|_| 0)
        })?;
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
    fn no_crash_text_no_crash_output() {
        assert!(CrashOutput::find("=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n").is_none());
    }
}
