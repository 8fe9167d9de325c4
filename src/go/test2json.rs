//! Turning a test binary's `-test.v=test2json` output into `go test -json`
//! events in process: a port of the Go toolchain's converter
//! (`cmd/internal/test2json`, as `go tool test2json -t -p PKG` runs it),
//! so a package's run needs no `test2json` process, and no `go tool` call
//! to find one.
//!
//! The binary frames the testing package's own lines (`=== RUN`,
//! `--- PASS:`, `PASS`, ...) with a ^V byte, which tells them from test
//! output that merely looks like them. Output is cut into events at line
//! ends and before a ^V, in pieces of at most 1 KiB (split at UTF-8
//! boundaries); a framing line must fit in 4 KiB. The events are the ones
//! `test2json` would write, field for field (the tests in
//! `tests/test2json.rs` compare the two on real output); times are this
//! process's clock.
//!
//! From Go 1.27 the binary also marks error output (^O before, ^N after)
//! and escapes these bytes in test output (^[), and test2json types output
//! events (`"OutputType"`: `frame`, `error`, `error-continue`); the
//! converter does what the toolchain it is given does
//! ([`Converter::new`]'s `typed`).
//!
//! This module owns the conversion only: no I/O. [`Converter::write`] takes
//! bytes as they come; [`Converter::events`] hands over what they made.

use crate::go::testjson::{now_rfc3339, TestEvent};

/// ^V: starts a framing line.
const MARKER: u8 = 0x16;
/// ^O and ^N: start and end error output (Go 1.27+).
const ERR_BEGIN: u8 = 0x0f;
const ERR_END: u8 = 0x0e;
/// ^[: the next byte is not a marker (Go 1.27+).
const ESCAPE: u8 = 0x1b;
/// The input buffer: the longest framing line recognised.
const IN_BUFFER: usize = 4096;
/// The output buffer: the longest single output event.
const OUT_BUFFER: usize = 1024;

const UPDATES: &[&[u8]] = &[
    b"=== RUN   ",
    b"=== PAUSE ",
    b"=== CONT  ",
    b"=== NAME  ",
    b"=== PASS  ",
    b"=== FAIL  ",
    b"=== SKIP  ",
    b"=== ATTR  ",
    b"=== ARTIFACTS ",
];

const REPORTS: &[&[u8]] = &[b"--- PASS: ", b"--- FAIL: ", b"--- SKIP: ", b"--- BENCH: "];

/// The state of one binary's conversion.
pub struct Converter {
    package: String,
    started: std::time::Instant,
    /// The test output is attributed to.
    test_name: String,
    /// Result reports waiting for their subtests' (nested).
    report: Vec<TestEvent>,
    /// The binary's overall result, once seen.
    result: Option<&'static str>,
    input: LineBuffer,
    output: LineBuffer,
    /// Only ^V lines are framing lines (the binary marks them).
    need_marker: bool,
    /// Go 1.27+: error and escape markers, typed output events.
    typed: bool,
    /// The output being written is a framing line.
    is_framing: bool,
    /// Inside error output (after ^O, before ^N).
    in_error: bool,
    /// The next output byte was escaped.
    escape_next: bool,
    events: Vec<TestEvent>,
}

impl Converter {
    /// A converter for the output of `package`'s test binary, as the
    /// test2json of a Go release (major, minor) converts it; its first
    /// event is `start`.
    pub fn new(package: &str, release: (u32, u32)) -> Converter {
        let typed = release >= (1, 27);
        let mut c = Converter {
            package: package.to_string(),
            started: std::time::Instant::now(),
            test_name: String::new(),
            report: Vec::new(),
            result: None,
            input: LineBuffer::new(IN_BUFFER, typed),
            output: LineBuffer::new(OUT_BUFFER, typed),
            need_marker: false,
            typed,
            is_framing: false,
            in_error: false,
            escape_next: false,
            events: Vec::new(),
        };
        c.emit(event("start"));
        c
    }

    /// Converts the next bytes of output.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut input = std::mem::take(&mut self.input);
        input.write(bytes, &mut |piece| match piece {
            Piece::Line(line) => self.input_line(line),
            Piece::Part(part) => self.write_output(part),
        });
        self.input = input;
    }

    /// The end of the output: flushes partial lines and adds the
    /// package's final event, if the binary printed its result.
    pub fn close(&mut self) {
        let mut input = std::mem::take(&mut self.input);
        input.flush(&mut |piece| match piece {
            Piece::Line(b) | Piece::Part(b) => self.write_output(b),
        });
        self.input = input;
        self.flush_output();
        if let Some(result) = self.result {
            let mut e = event(result);
            let ms = (self.started.elapsed().as_secs_f64() * 1000.0).round();
            e.elapsed = Some(ms / 1000.0);
            self.emit(e);
        }
    }

    /// The events made so far, in order.
    pub fn events(&mut self) -> std::vec::Drain<'_, TestEvent> {
        self.events.drain(..)
    }

    fn write_output(&mut self, bytes: &[u8]) {
        let mut output = std::mem::take(&mut self.output);
        output.write(bytes, &mut |piece| match piece {
            Piece::Line(b) | Piece::Part(b) => self.output_event(b),
        });
        self.output = output;
    }

    fn flush_output(&mut self) {
        let mut output = std::mem::take(&mut self.output);
        output.flush(&mut |piece| match piece {
            Piece::Line(b) | Piece::Part(b) => self.output_event(b),
        });
        self.output = output;
    }

    /// Writes a framing line (typed `frame`).
    fn write_framing(&mut self, line: &[u8]) {
        self.is_framing = true;
        self.write_output(line);
        self.is_framing = false;
    }

    fn output_event(&mut self, bytes: &[u8]) {
        if !self.typed {
            self.typed_output_event(bytes, "");
            return;
        }
        let mut typ = if self.is_framing {
            "frame"
        } else if self.in_error {
            "error-continue"
        } else {
            ""
        };
        // Markers may come anywhere in a piece, and an escape and the byte
        // it escapes in different pieces.
        let mut out = bytes.to_vec();
        let mut i = 0;
        while i < out.len() {
            if self.escape_next {
                self.escape_next = false;
                i += 1;
                continue;
            }
            match out[i] {
                ESCAPE => {
                    out.remove(i);
                    self.escape_next = true;
                    continue;
                }
                ERR_BEGIN => {
                    if i > 0 {
                        self.typed_output_event(&out[..i], typ);
                    }
                    self.in_error = true;
                    typ = "error";
                    out.drain(..=i);
                    // As test2json: the byte after the marker is not
                    // checked for markers.
                    i = 1;
                    continue;
                }
                ERR_END => {
                    out.remove(i);
                    if out.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    self.typed_output_event(&out[..i], typ);
                    self.in_error = false;
                    typ = "";
                    out.drain(..i);
                    i = 1;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        if !out.is_empty() {
            self.typed_output_event(&out, typ);
        }
    }

    fn typed_output_event(&mut self, bytes: &[u8], typ: &str) {
        let mut e = event("output");
        e.output = Some(lossy(bytes));
        if !typ.is_empty() {
            e.other.insert("OutputType".into(), typ.into());
        }
        self.emit(e);
    }

    /// Adds the package, time and current test to `e`, and queues it.
    fn emit(&mut self, mut e: TestEvent) {
        e.package = (!self.package.is_empty()).then(|| self.package.clone());
        e.time = Some(now_rfc3339());
        if e.test.is_none() && !self.test_name.is_empty() {
            e.test = Some(self.test_name.clone());
        }
        self.events.push(e);
    }

    /// Emits the result reports at `depth` and deeper.
    fn flush_report(&mut self, depth: usize) {
        self.test_name.clear();
        while self.report.len() > depth {
            if let Some(e) = self.report.pop() {
                self.emit(e);
            }
        }
    }

    /// One whole line of input.
    fn input_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        if self.need_marker && line[0] != MARKER {
            self.write_output(line);
            return;
        }
        let mut line = line;
        let saw_marker = line[0] == MARKER;
        if saw_marker {
            self.flush_output();
            line = &line[1..];
        }
        let mut trim = line.strip_suffix(b"\n").unwrap_or(line);
        if line.ends_with(b"\n") {
            trim = trim.strip_suffix(b"\r").unwrap_or(trim);
        }
        // === NAME with an empty test name can lose its trailing spaces.
        if trim == b"=== NAME" {
            line = b"=== NAME  \n";
            trim = &line[..line.len() - 1];
        }
        // The final PASS or FAIL.
        if trim == b"PASS" || trim == b"FAIL" || trim.starts_with(b"FAIL\t") {
            self.flush_report(0);
            self.test_name.clear();
            self.need_marker = saw_marker;
            self.write_framing(line);
            self.result = Some(if trim == b"PASS" { "pass" } else { "fail" });
            return;
        }
        // A binary with no tests at all.
        if line.starts_with(b"?   \t")
            && trim.ends_with(b"\t[no test files]")
            && self.report.is_empty()
        {
            self.result = Some("skip");
        }
        let original = line;
        let mut indent = 0;
        let mut framing = UPDATES.iter().any(|m| line.starts_with(m));
        if !framing {
            while line.starts_with(b"    ") {
                line = &line[4..];
                indent += 1;
            }
            framing = REPORTS.iter().any(|m| line.starts_with(m));
        }
        if !framing {
            // Output: the indentation says which subtest wrote it.
            if indent > 0 && indent <= self.report.len() {
                self.test_name = self.report[indent - 1].test.clone().unwrap_or_default();
            }
            self.write_output(original);
            return;
        }
        // "=== ACTION  Name" or "--- ACTION: Name (0.00s)".
        let rest = String::from_utf8_lossy(&line[4..]).into_owned();
        let (action, name) = rest.split_once(' ').unwrap_or((rest.as_str(), ""));
        let action = action.strip_suffix(':').unwrap_or(action).to_lowercase();
        let mut name = name.trim().to_string();
        let mut e = event(&action);
        if line[0] == b'-' {
            if let Some(i) = name.find(" (") {
                if name.ends_with("s)") {
                    if let Ok(t) = name[i + 2..name.len() - 2].parse::<f64>() {
                        e.elapsed = Some(t);
                    }
                }
                name.truncate(i);
            }
            if self.report.len() < indent {
                // Nested deeper than any test: plain output.
                self.write_output(original);
                return;
            }
            self.need_marker = saw_marker;
            self.flush_report(indent);
            e.test = (!name.is_empty()).then(|| name.clone());
            self.test_name = name;
            self.report.push(e);
            self.write_framing(original);
            return;
        }
        match action.as_str() {
            "artifacts" => {
                let (n, path) = split_once_or_all(&name);
                insert_nonempty(&mut e, "Path", path);
                name = n;
            }
            "attr" => {
                let (n, rest) = split_once_or_all(&name);
                let (key, value) = split_once_or_all(&rest);
                insert_nonempty(&mut e, "Key", key);
                insert_nonempty(&mut e, "Value", value);
                name = n;
            }
            _ => {}
        }
        self.need_marker = saw_marker;
        self.flush_report(0);
        self.test_name = name;
        if action == "name" {
            return; // only sets the test output is attributed to
        }
        if action == "pause" {
            // The line first, so the test does not seem to write after it
            // paused.
            self.write_framing(original);
        }
        self.emit(e);
        if action != "pause" {
            self.write_framing(original);
        }
    }
}

/// Sets a string field of `e`, left out when empty (Go's `omitempty`).
fn insert_nonempty(e: &mut TestEvent, field: &str, value: String) {
    if !value.is_empty() {
        e.other.insert(field.into(), value.into());
    }
}

/// `bytes` as text the way Go's JSON encoder writes it: each byte that is
/// not part of valid UTF-8 becomes one U+FFFD.
fn lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len());
                out.extend(std::iter::repeat_n('\u{fffd}', n));
                rest = &bad[n..];
            }
        }
    }
}

/// Go's `strings.Cut(s, " ")`, dropping the found flag.
fn split_once_or_all(s: &str) -> (String, String) {
    match s.split_once(' ') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (s.to_string(), String::new()),
    }
}

fn event(action: &str) -> TestEvent {
    TestEvent {
        action: action.to_string(),
        ..TestEvent::default()
    }
}

/// What a [`LineBuffer`] hands on: a whole line (with its `\n`, if it has
/// one), or a piece of a line too long for the buffer.
enum Piece<'a> {
    Line(&'a [u8]),
    Part(&'a [u8]),
}

/// Cuts input into lines, or pieces of lines longer than its capacity.
#[derive(Default)]
struct LineBuffer {
    b: Vec<u8>,
    cap: usize,
    /// In the middle of a long line.
    mid: bool,
    /// Go 1.27+: ^[ escapes the next byte (which then never ends a line).
    escapes: bool,
    /// The last byte looked at was ^[.
    escaped: bool,
}

impl LineBuffer {
    fn new(cap: usize, escapes: bool) -> LineBuffer {
        LineBuffer {
            b: Vec::with_capacity(cap),
            cap,
            mid: false,
            escapes,
            escaped: false,
        }
    }

    fn write(&mut self, mut bytes: &[u8], out: &mut dyn FnMut(Piece<'_>)) {
        while !bytes.is_empty() {
            let m = (self.cap - self.b.len()).min(bytes.len());
            self.b.extend_from_slice(&bytes[..m]);
            bytes = &bytes[m..];
            let mut i = 0;
            while i < self.b.len() {
                let found = if self.escapes {
                    index_eol_escaped(&self.b[i..], &mut self.escaped)
                } else {
                    index_eol(&self.b[i..])
                };
                let Some((j, w)) = found else {
                    if !self.mid {
                        // A benchmark's name, then a tab: its result line
                        // comes when the benchmark ends; show the name now.
                        if let Some(j) = memchr::memchr(b'\t', &self.b[i..]) {
                            let name = &self.b[i..i + j];
                            let name =
                                &name[..name.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1)];
                            if is_benchmark_name(name) {
                                out(Piece::Part(&self.b[i..i + j + 1]));
                                self.mid = true;
                                i += j + 1;
                            }
                        }
                    }
                    break;
                };
                let end = i + j + w;
                if self.mid {
                    out(Piece::Part(&self.b[i..end]));
                    self.mid = false;
                } else {
                    out(Piece::Line(&self.b[i..end]));
                }
                i = end;
            }
            if i == 0 && self.b.len() == self.cap {
                // The whole buffer is one piece of a long line.
                let t = trim_utf8(&self.b);
                out(Piece::Part(&self.b[..t]));
                self.b.drain(..t);
                self.mid = true;
            }
            if i > 0 {
                self.b.drain(..i);
            }
        }
    }

    /// Hands on what is left (a line without its end).
    fn flush(&mut self, out: &mut dyn FnMut(Piece<'_>)) {
        if !self.b.is_empty() {
            out(Piece::Part(&self.b));
            self.b.clear();
        }
    }
}

/// Where the first line of `b` ends, and whether the end is part of it:
/// at `\n` (kept), or just before a ^V that does not start `b` (which
/// starts the next line).
fn index_eol(b: &[u8]) -> Option<(usize, usize)> {
    let at = memchr::memchr2(b'\n', MARKER, b)?;
    if b[at] == b'\n' {
        return Some((at, 1));
    }
    if at > 0 {
        return Some((at, 0));
    }
    // A ^V at the start: the line ends at the next \n or ^V.
    let next = memchr::memchr2(b'\n', MARKER, &b[1..])? + 1;
    Some((next, usize::from(b[next] == b'\n')))
}

/// [`index_eol`] for Go 1.27+ output, where ^[ escapes the next byte (so
/// an escaped ^V does not end a line). As test2json does it, the escape
/// state carries over to bytes looked at again on the next call.
fn index_eol_escaped(b: &[u8], escaped: &mut bool) -> Option<(usize, usize)> {
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            return Some((i, 1));
        }
        if *escaped {
            *escaped = false;
            continue;
        }
        if c == ESCAPE {
            *escaped = true;
            continue;
        }
        if c == MARKER && i > 0 {
            return Some((i, 0));
        }
    }
    None
}

/// Go's testing package's benchmark names: `Benchmark`, then nothing or
/// a character that is not lower case.
fn is_benchmark_name(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"Benchmark") else {
        return false;
    };
    match String::from_utf8_lossy(rest).chars().next() {
        None => true,
        Some(c) => !c.is_lowercase(),
    }
}

/// The longest prefix of `b` that does not end inside a UTF-8 sequence
/// that may still be completed.
fn trim_utf8(b: &[u8]) -> usize {
    for i in 1..4.min(b.len() + 1) {
        let c = b[b.len() - i];
        if c & 0xc0 != 0x80 {
            let need = match c {
                _ if c & 0xe0 == 0xc0 => 2,
                _ if c & 0xf0 == 0xe0 => 3,
                _ if c & 0xf8 == 0xf0 => 4,
                _ => 0,
            };
            if i < need {
                return b.len() - i;
            }
            break;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(chunks: &[&[u8]]) -> Vec<(String, Option<String>, Option<String>)> {
        let mut c = Converter::new("p", (1, 26));
        let mut out = Vec::new();
        for chunk in chunks {
            c.write(chunk);
            out.extend(c.events());
        }
        c.close();
        out.extend(c.events());
        out.into_iter()
            .map(|e| (e.action, e.test, e.output))
            .collect()
    }

    fn ev(
        action: &str,
        test: Option<&str>,
        output: Option<&str>,
    ) -> (String, Option<String>, Option<String>) {
        (
            action.to_string(),
            test.map(str::to_string),
            output.map(str::to_string),
        )
    }

    #[test]
    fn framing_lines_make_events_whatever_the_chunks() {
        let input: &[u8] = b"\x16=== RUN   TestA\nhello\n\x16--- PASS: TestA (0.01s)\n\x16PASS\n";
        let want = vec![
            ev("start", None, None),
            ev("run", Some("TestA"), None),
            ev("output", Some("TestA"), Some("=== RUN   TestA\n")),
            ev("output", Some("TestA"), Some("hello\n")),
            ev("output", Some("TestA"), Some("--- PASS: TestA (0.01s)\n")),
            ev("pass", Some("TestA"), None),
            ev("output", None, Some("PASS\n")),
            ev("pass", None, None),
        ];
        assert_eq!(convert(&[input]), want);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(convert(&bytes), want);
    }

    #[test]
    fn unmarked_lookalikes_are_output() {
        // After the binary marked a framing line, only marked ones count.
        let input: &[u8] =
            b"\x16=== RUN   TestA\n--- FAIL: TestA (0.00s)\n\x16--- PASS: TestA (0.00s)\n";
        let got = convert(&[input]);
        assert_eq!(
            got[3],
            ev("output", Some("TestA"), Some("--- FAIL: TestA (0.00s)\n"))
        );
        // A report waits for the next framing line, and there is none; nor
        // is there a final PASS line, so no package event.
        assert_eq!(got.len(), 5);
        let got = convert(&[input, b"\x16PASS\n"]);
        assert_eq!(got[5], ev("pass", Some("TestA"), None));
        assert_eq!(got[7], ev("pass", None, None));
    }

    #[test]
    fn a_marker_mid_line_ends_the_line() {
        let got =
            convert(&[b"\x16=== RUN   TestA\npartial\x16--- PASS: TestA (0.00s)\n\x16PASS\n"]);
        assert_eq!(got[3], ev("output", Some("TestA"), Some("partial")));
        assert_eq!(got[5], ev("pass", Some("TestA"), None));
    }

    #[test]
    fn long_lines_are_split_at_utf8_boundaries() {
        let mut line = "é".repeat(700).into_bytes(); // 1400 bytes
        line.push(b'\n');
        let got = convert(&[&line]);
        let outputs: Vec<&str> = got.iter().filter_map(|e| e.2.as_deref()).collect();
        assert_eq!(outputs.concat(), String::from_utf8(line.clone()).unwrap());
        assert!(outputs.iter().all(|o| o.len() <= OUT_BUFFER));
        assert!(!outputs.concat().contains('\u{fffd}'));
    }

    #[test]
    fn nested_reports_wait_for_their_parent() {
        let input: &[u8] = b"\x16=== RUN   TestA\n\x16=== RUN   TestA/b\n\x16--- PASS: TestA/b (0.00s)\n\x16--- PASS: TestA (0.00s)\n\x16PASS\n";
        let finals: Vec<_> = convert(&[input])
            .into_iter()
            .filter(|e| e.0 == "pass")
            .map(|e| e.1)
            .collect();
        assert_eq!(
            finals,
            vec![Some("TestA/b".into()), Some("TestA".into()), None]
        );
    }

    #[test]
    fn invalid_utf8_is_one_replacement_per_byte() {
        assert_eq!(lossy(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
        assert_eq!(lossy(b"\xff"), "\u{fffd}");
        assert_eq!(lossy("é\n".as_bytes()), "é\n");
        assert_eq!(lossy(b"x\xe2"), "x\u{fffd}");
    }

    #[test]
    fn benchmark_names_and_utf8_trimming() {
        assert!(is_benchmark_name(b"BenchmarkX"));
        assert!(is_benchmark_name(b"Benchmark"));
        assert!(!is_benchmark_name(b"Benchmarkx"));
        assert_eq!(trim_utf8("aé".as_bytes()), 3);
        assert_eq!(trim_utf8(&"aé".as_bytes()[..2]), 1);
        assert_eq!(trim_utf8(b"abc"), 3);
    }
}
