//! Colours for the human output (`--color auto|always|never`, `NO_COLOR`):
//! this module owns deciding whether to colour and how a line is coloured.
//! The human reporter writes plain text; [`ColorWriter`] colours it line
//! by line on its way out, so the reporter stays colour-free and its tests
//! compare plain strings.
//!
//! Red: `--- FAIL`, `--- LEAK`, `--- HANG`, `--- CRASH`, `FAIL` lines, the
//! summary's lists of leaking, hung and crashed tests, and a summary line
//! with any failure. Green: `ok`, `PASS`, `--- PASS` and a clean summary
//! line. Yellow: `--- SKIP`.

use std::io::{self, Write};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour, also into a pipe or file, whatever `NO_COLOR` says.
    Always,
    /// Never colour.
    Never,
}

/// Whether to colour: `always` wins over `NO_COLOR` (a command-line flag
/// overrides the environment, as no-color.org asks); `auto` colours only a
/// terminal, not when `NO_COLOR` is set to anything non-empty, and not for
/// `TERM=dumb`.
pub fn should_color(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&str>,
    term: Option<&str>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
        }
    }
}

const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const BOLD_GREEN: &str = "\x1b[1;32m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

fn paint(color: &str, text: &str) -> String {
    format!("{color}{text}{RESET}")
}

/// One line of human output (without its newline), coloured.
pub fn colorize_line(line: &str) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    for (prefix, color) in [
        ("--- FAIL:", BOLD_RED),
        ("--- LEAK:", BOLD_RED),
        ("--- HANG:", BOLD_RED),
        ("--- CRASH:", BOLD_RED),
        ("--- PASS:", GREEN),
        ("--- SKIP:", YELLOW),
    ] {
        if let Some(rest) = body.strip_prefix(prefix) {
            return format!("{indent}{}{rest}", paint(color, prefix));
        }
    }
    if !indent.is_empty() {
        return line.to_string();
    }
    if line == "FAIL" {
        return paint(BOLD_RED, line);
    }
    if let Some(rest) = line.strip_prefix("FAIL\t") {
        return format!("{}\t{rest}", paint(BOLD_RED, "FAIL"));
    }
    if line == "PASS" {
        return paint(GREEN, line);
    }
    if let Some(rest) = line.strip_prefix("ok  \t") {
        return format!("{}  \t{rest}", paint(GREEN, "ok"));
    }
    if matches!(
        line,
        "Leaking tests:"
            | "Hung tests:"
            | "Crashed tests:"
            | "Packages that failed outside their tests:"
    ) {
        return paint(RED, line);
    }
    let counts = line.split_once("; ").map_or(line, |(c, _)| c);
    if counts.starts_with("leakcheck: ")
        && counts.contains(" tests, ")
        && counts.ends_with(" skipped")
    {
        let clean = counts.contains(" 0 failed, 0 leaked, 0 hung, 0 crashed") && counts == line;
        return paint(if clean { BOLD_GREEN } else { BOLD_RED }, line);
    }
    line.to_string()
}

/// A writer that colours complete lines (when on) and passes everything
/// else through.
pub struct ColorWriter<W: Write> {
    inner: W,
    on: bool,
    pending: Vec<u8>,
}

impl<W: Write> ColorWriter<W> {
    pub fn new(inner: W, on: bool) -> ColorWriter<W> {
        ColorWriter {
            inner,
            on,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, line: &[u8]) -> io::Result<()> {
        let (text, newline) = match line.strip_suffix(b"\n") {
            Some(t) => (t, true),
            None => (line, false),
        };
        match std::str::from_utf8(text) {
            Ok(s) => self.inner.write_all(colorize_line(s).as_bytes())?,
            Err(_) => self.inner.write_all(text)?,
        }
        if newline {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The inner writer, after writing out any partial line.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ColorWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.on {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        while let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            self.emit(&line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_whether_to_colour() {
        use ColorChoice::*;
        assert!(should_color(Auto, true, None, Some("xterm")));
        assert!(!should_color(Auto, false, None, Some("xterm")));
        assert!(!should_color(Auto, true, Some("1"), Some("xterm")));
        assert!(
            should_color(Auto, true, Some(""), None),
            "empty NO_COLOR is unset"
        );
        assert!(!should_color(Auto, true, None, Some("dumb")));
        assert!(should_color(Always, false, Some("1"), Some("dumb")));
        assert!(!should_color(Never, true, None, None));
    }

    #[test]
    fn colours_outcomes() {
        assert_eq!(
            colorize_line("--- FAIL: TestQuery (1.00s)"),
            "\x1b[1;31m--- FAIL:\x1b[0m TestQuery (1.00s)"
        );
        assert_eq!(
            colorize_line("    --- LEAK: TestQuery/sub (1 goroutine)"),
            "    \x1b[1;31m--- LEAK:\x1b[0m TestQuery/sub (1 goroutine)"
        );
        assert_eq!(
            colorize_line("FAIL\texample.com/p\t1.002s"),
            "\x1b[1;31mFAIL\x1b[0m\texample.com/p\t1.002s"
        );
        assert_eq!(colorize_line("FAIL"), "\x1b[1;31mFAIL\x1b[0m");
        assert_eq!(
            colorize_line("ok  \texample.com/p\t0.154s"),
            "\x1b[32mok\x1b[0m  \texample.com/p\t0.154s"
        );
        assert_eq!(
            colorize_line("--- SKIP: TestX (0.00s)"),
            "\x1b[33m--- SKIP:\x1b[0m TestX (0.00s)"
        );
        assert_eq!(
            colorize_line("Leaking tests:"),
            "\x1b[31mLeaking tests:\x1b[0m"
        );
        let clean =
            "leakcheck: 3 tests, 3 passed, 0 failed, 0 leaked, 0 hung, 0 crashed, 0 skipped";
        assert_eq!(colorize_line(clean), format!("\x1b[1;32m{clean}\x1b[0m"));
        let outside = "leakcheck: 3 tests, 3 passed, 0 failed, 0 leaked, 0 hung, 0 crashed, 0 skipped; 1 package failed outside its tests";
        assert_eq!(
            colorize_line(outside),
            format!("\x1b[1;31m{outside}\x1b[0m")
        );
        let dirty =
            "leakcheck: 3 tests, 2 passed, 0 failed, 1 leaked, 0 hung, 0 crashed, 0 skipped";
        assert_eq!(colorize_line(dirty), format!("\x1b[1;31m{dirty}\x1b[0m"));
        // Test output is left alone.
        for plain in [
            "    handler_test.go:12: FAIL here",
            "    FAIL",
            "okay",
            "        created at  p/p.go:9 by p.F",
        ] {
            assert_eq!(colorize_line(plain), plain);
        }
    }

    #[test]
    fn writer_colours_whole_lines_across_writes() {
        let mut w = ColorWriter::new(Vec::new(), true);
        w.write_all(b"--- FA").unwrap();
        w.write_all(b"IL: T (0.00s)\nok  \tp\t0.1s\npartial")
            .unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(
            out,
            "\x1b[1;31m--- FAIL:\x1b[0m T (0.00s)\n\x1b[32mok\x1b[0m  \tp\t0.1s\npartial"
        );
    }

    #[test]
    fn writer_off_passes_bytes_through() {
        let mut w = ColorWriter::new(Vec::new(), false);
        w.write_all(b"--- FAIL: T (0.00s)\n\xff\n").unwrap();
        assert_eq!(w.into_inner().unwrap(), b"--- FAIL: T (0.00s)\n\xff\n");
    }
}
