//! Parsing of Go goroutine dumps: the text of `runtime.Stack(buf, true)`,
//! of the `goroutineleak` profile at debug=2, and of the goroutine section of
//! a crash or SIGQUIT traceback.
//!
//! This module owns the dump format and nothing else: it does no I/O and
//! holds no policy. It borrows from the dump text, so parsing a snapshot
//! allocates little more than one frame vector per goroutine. It never
//! panics: lines it does not understand are skipped.
//!
//! Formats understood (Go 1.21 to 1.27):
//! - header `goroutine ID [STATE, N minutes, locked to thread]:`, where
//!   STATE may carry ` (leaked)`, ` (scan)` or ` (durable)`;
//! - pprof labels printed with `GODEBUG=tracebacklabels=1`: inside the
//!   brackets in Go 1.26 (`[chan receive labels:{"k": "v"}]:`), after them
//!   in Go 1.27 (`[chan receive] {k: v}:`), values quoted when needed;
//! - frames as a function line then a `\tFILE:LINE [+0xOFF]` line, inlined
//!   frames with `(...)` and no offset, `...N frames elided...`;
//! - `created by FUNC [in goroutine N]` with its location line;
//! - `[originating from goroutine N]:` ancestor blocks
//!   (`GODEBUG=tracebackancestors=N`), which are skipped.

use std::borrow::Cow;

/// All goroutines of one dump, in dump order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot<'a> {
    pub goroutines: Vec<Goroutine<'a>>,
}

/// pprof labels as (key, value) pairs.
pub type Labels<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// One goroutine of a dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Goroutine<'a> {
    pub id: u64,
    /// The wait reason or status, e.g. `chan send`, `select (no cases)`,
    /// `running`; without the ` (leaked)` marker and the extras.
    pub state: &'a str,
    /// Marked ` (leaked)` by the goroutine leak profile.
    pub leaked: bool,
    /// How long it has been blocked, when the runtime said so.
    pub wait_minutes: Option<u64>,
    pub locked_to_thread: bool,
    /// pprof labels, when the dump prints them, unquoted (a byte that is
    /// not UTF-8 reads as U+FFFD).
    pub labels: Labels<'a>,
    /// Innermost first.
    pub frames: Vec<Frame<'a>>,
    /// Frames the runtime left out (`...N frames elided...`).
    pub elided_frames: u64,
    pub created_by: Option<CreatedBy<'a>>,
    /// The goroutine's whole text, header included, without the trailing
    /// blank line.
    pub text: &'a str,
}

/// One call frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Fully qualified function, e.g. `net/http.(*Server).Serve`,
    /// `example.com/p.F[...].func1`.
    pub function: &'a str,
    pub file: &'a str,
    pub line: u32,
    /// The frame was inlined (printed with `(...)` and no PC offset).
    pub inlined: bool,
}

/// Where a goroutine was created: the `go` statement's function and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBy<'a> {
    pub function: &'a str,
    /// The creating goroutine (`in goroutine N`, Go 1.21+); it may have
    /// exited already.
    pub parent: Option<u64>,
    pub file: &'a str,
    pub line: u32,
}

/// One `[originating from goroutine N]:` block of a goroutine's creation
/// chain (see [`Goroutine::ancestors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestor<'a> {
    /// The creator's goroutine ID.
    pub id: u64,
    /// The creator's stack at the `go` statement, innermost first. Each
    /// frame is at its return address: its line may be the one after the
    /// call's.
    pub frames: Vec<Frame<'a>>,
    /// Each frame's offset from its function's entry (`+0x1a`), when
    /// printed: the return address, to find the call's exact line.
    pub offsets: Vec<Option<u64>>,
}

impl<'a> Goroutine<'a> {
    /// The value of pprof label `key`, if the dump shows it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// The creation chain printed after the goroutine's own stack with
    /// `GODEBUG=tracebackancestors=N`, nearest creator first: each
    /// `[originating from goroutine N]:` block's frames, innermost first
    /// (each at its return address: the call's line, or the one after
    /// it; see [`Ancestor::offsets`]). Empty without
    /// such blocks. Read from [`Goroutine::text`].
    pub fn ancestors(&self) -> Vec<Ancestor<'a>> {
        let mut out: Vec<Ancestor<'a>> = Vec::new();
        let mut lines = Lines::new(self.text);
        while let Some((_, line)) = lines.next() {
            if let Some(rest) = line.strip_prefix("[originating from goroutine ") {
                let id = rest.strip_suffix("]:").and_then(|n| n.parse().ok());
                out.push(Ancestor {
                    id: id.unwrap_or(0),
                    frames: Vec::new(),
                    offsets: Vec::new(),
                });
                continue;
            }
            let Some(current) = out.last_mut() else {
                continue;
            };
            if line.starts_with('\t') || line.starts_with("...") {
                continue;
            }
            let location = lines.peek().and_then(parse_location);
            if location.is_some() {
                lines.next();
            }
            if line.starts_with("created by ") {
                continue;
            }
            if let Some((file, line_no, offset)) = location {
                current.frames.push(Frame {
                    function: split_call(line).0,
                    file,
                    line: line_no,
                    inlined: false,
                });
                current.offsets.push(offset);
            }
        }
        out
    }
}

impl<'a> Snapshot<'a> {
    /// Parses every goroutine found in `text`. Text outside goroutine
    /// blocks (a panic message, register dumps, test output) is ignored.
    pub fn parse(text: &'a str) -> Snapshot<'a> {
        Snapshot {
            goroutines: Goroutines::new(text, |_| true).collect(),
        }
    }

    /// The goroutine with `id`.
    pub fn get(&self, id: u64) -> Option<&Goroutine<'a>> {
        self.goroutines.iter().find(|g| g.id == id)
    }
}

/// The goroutines of a dump one at a time, in dump order, as
/// [`Snapshot::parse`] finds them; those whose ID `keep` refuses are
/// skipped without parsing their bodies. Parsing a dump this way holds one
/// goroutine at a time, not all of them.
pub struct Goroutines<'a, F> {
    text: &'a str,
    lines: Lines<'a>,
    keep: F,
}

impl<'a, F: FnMut(u64) -> bool> Goroutines<'a, F> {
    pub fn new(text: &'a str, keep: F) -> Self {
        Goroutines {
            text,
            lines: Lines::new(text),
            keep,
        }
    }
}

impl<'a, F: FnMut(u64) -> bool> Iterator for Goroutines<'a, F> {
    type Item = Goroutine<'a>;

    fn next(&mut self) -> Option<Goroutine<'a>> {
        while let Some((start, line)) = self.lines.next() {
            let Some(id) = header_id(line) else {
                continue;
            };
            if !(self.keep)(id) {
                // Every header starts a line with `goroutine `: the lines
                // before the next such line cannot start a goroutine.
                self.lines.pos = find_header_line(&self.text.as_bytes()[start..])
                    .map_or(self.text.len(), |i| start + i + 1);
                continue;
            }
            if let Some(header) = parse_header(line) {
                return Some(parse_body(self.text, start, header, &mut self.lines));
            }
        }
        None
    }
}

/// Finds goroutines of a dump by ID, parsing only the ones asked for.
pub struct DumpIndex<'a> {
    text: &'a str,
    /// (ID, offset of its header line), by ID, then in dump order.
    headers: Vec<(u64, usize)>,
}

impl<'a> DumpIndex<'a> {
    /// Indexes the headers of `text` (a pass as cheap as
    /// [`goroutine_ids`]).
    pub fn new(text: &'a str) -> Self {
        let mut headers = Vec::new();
        each_header(text, |id, at| headers.push((id, at)));
        headers.sort_by_key(|&(id, _)| id); // stable: dump order per ID
        DumpIndex { text, headers }
    }

    /// The goroutine with `id`: the same as `Snapshot::parse(text).get(id)`.
    pub fn get(&self, id: u64) -> Option<Goroutine<'a>> {
        let first = self.headers.partition_point(|&(x, _)| x < id);
        self.headers[first..]
            .iter()
            .take_while(|&&(x, _)| x == id)
            .find_map(|&(_, at)| {
                let mut lines = Lines {
                    text: self.text,
                    pos: at,
                };
                let (start, line) = lines.next()?;
                let header = parse_header(line)?;
                Some(parse_body(self.text, start, header, &mut lines))
            })
    }
}

/// The IDs of the goroutines in `text`, read from the headers alone: the
/// cheap pass used when only membership matters.
pub fn goroutine_ids(text: &str) -> Vec<u64> {
    let mut ids = Vec::new();
    each_header(text, |id, _| ids.push(id));
    ids
}

/// Calls `f` with the ID and offset of every line of `text` that starts a
/// goroutine header.
fn each_header(text: &str, mut f: impl FnMut(u64, usize)) {
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        if let Some(id) = header_id(&text[at..]) {
            f(id, at);
        }
        match find_header_line(&bytes[at..]) {
            Some(i) => at += i + 1,
            None => return,
        }
    }
}

/// The offset in `hay` of the first `\ngoroutine `: the line after it is
/// the next that may be a goroutine header.
fn find_header_line(hay: &[u8]) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\ngoroutine "));
    FINDER.find(hay)
}

/// The ID of a `goroutine N [` header at the start of `s`.
fn header_id(s: &str) -> Option<u64> {
    let rest = s.strip_prefix("goroutine ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let after = &rest[digits..];
    // Crash tracebacks put `gp=0x... m=N mp=0x...` before the brackets.
    if !(after.starts_with(" [") || after.starts_with(" gp=")) {
        return None;
    }
    rest[..digits].parse().ok()
}

/// A line iterator that also yields each line's byte offset.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { text, pos: 0 }
    }

    /// The next line without its line ending, and where the one after
    /// it starts.
    fn line_at(&self) -> Option<(&'a str, usize)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (end, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (i, self.pos + i + 1),
            None => (rest.len(), self.text.len()),
        };
        Some((rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]), next))
    }

    fn peek(&self) -> Option<&'a str> {
        self.line_at().map(|(line, _)| line)
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let (line, next) = self.line_at()?;
        let start = self.pos;
        self.pos = next;
        Some((start, line))
    }
}

struct Header<'a> {
    id: u64,
    state: &'a str,
    leaked: bool,
    wait_minutes: Option<u64>,
    locked_to_thread: bool,
    labels: Labels<'a>,
}

/// Parses `goroutine ID [STATE...]:` with labels in either format.
fn parse_header(line: &str) -> Option<Header<'_>> {
    let id = header_id(line)?;
    // The first ` [` opens the state: crash tracebacks put only
    // `gp=0x... m=N mp=0x...` between the ID and the brackets.
    let open = line.find(" [")? + 2;
    let inner_and_rest = &line[open..];
    // Wait reasons never contain `]`, so Go 1.26's ` labels:{` is the one
    // before the first `]`; after it, it may be text of a Go 1.27 label.
    let first_close = inner_and_rest.find(']')?;
    let mut labels = Vec::new();
    // Go 1.26: labels inside the brackets.
    let (inner, after) = if let Some(at) = inner_and_rest[..first_close].find(" labels:{") {
        let (parsed, used) = parse_labels(&inner_and_rest[at + " labels:{".len()..])?;
        labels = parsed;
        let after = &inner_and_rest[at + " labels:{".len() + used..];
        (&inner_and_rest[..at], after.strip_prefix(']')?)
    } else {
        // Go 1.27 labels follow the brackets; a `]` inside them is quoted,
        // so take the first `]` that is followed by `:` or ` {`.
        let close = inner_and_rest
            .match_indices(']')
            .map(|(i, _)| i)
            .find(|&i| {
                let after = &inner_and_rest[i + 1..];
                after.starts_with(':') || after.starts_with(" {")
            })
            .unwrap_or(first_close);
        (&inner_and_rest[..close], &inner_and_rest[close + 1..])
    };
    if let Some(rest) = after.strip_prefix(" {") {
        let (parsed, _) = parse_labels(rest)?;
        labels = parsed;
    } else if !after.starts_with(':') {
        return None;
    }

    let mut parts = inner.split(", ");
    let mut state = parts.next().unwrap_or("");
    let mut leaked = false;
    for marker in [" (leaked)", " (scan)", " (durable)"] {
        if let Some(s) = state.strip_suffix(marker) {
            leaked |= marker == " (leaked)";
            state = s;
        }
    }
    // A second pass: markers may come in either order.
    if let Some(s) = state.strip_suffix(" (leaked)") {
        leaked = true;
        state = s;
    }
    let mut wait_minutes = None;
    let mut locked_to_thread = false;
    for extra in parts {
        if let Some(n) = extra.strip_suffix(" minutes") {
            wait_minutes = n.parse().ok();
        } else if extra == "locked to thread" {
            locked_to_thread = true;
        }
    }
    Some(Header {
        id,
        state,
        leaked,
        wait_minutes,
        locked_to_thread,
        labels,
    })
}

/// Parses `k: v, k2: v2}` (the part after `{`), returning the labels and
/// the number of bytes used, the closing `}` included.
fn parse_labels(s: &str) -> Option<(Labels<'_>, usize)> {
    let mut labels = Vec::new();
    let mut pos = 0;
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'}') {
        return Some((labels, 1));
    }
    loop {
        let (key, used) = parse_label_token(&s[pos..], b':')?;
        pos += used;
        pos += s[pos..]
            .strip_prefix(": ")
            .map(|_| 2)
            .or_else(|| s[pos..].strip_prefix(':').map(|_| 1))?;
        let (value, used) = parse_label_token(&s[pos..], b',')?;
        pos += used;
        labels.push((key, value));
        match bytes.get(pos) {
            Some(b'}') => return Some((labels, pos + 1)),
            Some(b',') => {
                pos += 1;
                if bytes.get(pos) == Some(&b' ') {
                    pos += 1;
                }
            }
            _ => return None,
        }
    }
}

/// One label key or value: a Go-quoted string, or bare text up to `stop`
/// or `}`.
fn parse_label_token(s: &str, stop: u8) -> Option<(Cow<'_, str>, usize)> {
    if s.starts_with('"') {
        return unquote_go(s);
    }
    let end = s.bytes().position(|b| b == stop || b == b'}')?;
    Some((Cow::Borrowed(&s[..end]), end))
}

/// Reads a Go double-quoted string at the start of `s` (as written by
/// strconv.Quote), returning it and the bytes used, quotes included.
///
/// `\xNN` and octal escapes are bytes, as in Go: Go 1.27 writes a label's
/// invalid UTF-8 byte as `\xff`. Bytes that do not form UTF-8 decode to
/// U+FFFD, which is what Go 1.26 prints in their place.
fn unquote_go(s: &str) -> Option<(Cow<'_, str>, usize)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let value = match out {
                    Some(v) => Cow::Owned(
                        String::from_utf8(v)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    ),
                    None => Cow::Borrowed(&body[..i]),
                };
                return Some((value, i + 2));
            }
            b'\\' => {
                let buf = out.get_or_insert_with(|| bytes[..i].to_vec());
                let e = *bytes.get(i + 1)?;
                i += 2;
                match e {
                    b'n' => buf.push(b'\n'),
                    b't' => buf.push(b'\t'),
                    b'r' => buf.push(b'\r'),
                    b'a' => buf.push(0x07),
                    b'b' => buf.push(0x08),
                    b'f' => buf.push(0x0c),
                    b'v' => buf.push(0x0b),
                    b'x' | b'u' | b'U' => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let code = radix_digits(bytes.get(i..i + n)?, 16)?;
                        i += n;
                        if e == b'x' {
                            buf.push(code as u8);
                        } else {
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            buf.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                    }
                    b'0'..=b'7' => {
                        // `\NNN`: three octal digits, one byte.
                        let code = radix_digits(bytes.get(i - 1..i + 2)?, 8)?;
                        i += 2;
                        buf.push(u8::try_from(code).ok()?);
                    }
                    _ if e.is_ascii() => buf.push(e),
                    _ => {
                        // A backslash before a multi-byte character: keep
                        // the character whole.
                        i -= 1;
                    }
                }
            }
            _ => {
                if let Some(buf) = out.as_mut() {
                    buf.push(b);
                }
                i += 1;
            }
        }
    }
    None
}

/// The value of `digits`, all of which must be digits in `radix`.
fn radix_digits(digits: &[u8], radix: u32) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        Some(acc * radix + char::from(d).to_digit(radix)?)
    })
}

fn parse_body<'a>(
    text: &'a str,
    start: usize,
    header: Header<'a>,
    lines: &mut Lines<'a>,
) -> Goroutine<'a> {
    let mut g = Goroutine {
        id: header.id,
        state: header.state,
        leaked: header.leaked,
        wait_minutes: header.wait_minutes,
        locked_to_thread: header.locked_to_thread,
        labels: header.labels,
        frames: Vec::new(),
        elided_frames: 0,
        created_by: None,
        text: "",
    };
    let mut end = lines.pos;
    let mut in_ancestor = false;
    while let Some(line) = lines.peek() {
        if line.is_empty() || header_id(line).is_some() {
            break;
        }
        lines.next();
        end = lines.pos;
        if line.starts_with('\t') {
            continue; // a location line whose function line was not a frame
        }
        if line.starts_with("[originating from goroutine ") {
            in_ancestor = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("...") {
            if let Some(n) = rest.strip_suffix(" frames elided...") {
                if !in_ancestor {
                    g.elided_frames = g
                        .elided_frames
                        .saturating_add(n.parse::<u64>().unwrap_or(0));
                }
            }
            continue;
        }
        let location = lines.peek().and_then(parse_location);
        if location.is_some() {
            lines.next();
            end = lines.pos;
        }
        if in_ancestor {
            continue;
        }
        if let Some(created) = line.strip_prefix("created by ") {
            let (function, parent) = match created.rsplit_once(" in goroutine ") {
                Some((f, n)) => (f, n.trim().parse().ok()),
                None => (created.trim_end(), None),
            };
            let (file, line) = location.map_or(("", 0), |(f, l, _)| (f, l));
            g.created_by = Some(CreatedBy {
                function,
                parent,
                file,
                line,
            });
        } else if let Some((file, line_no, offset)) = location {
            let (function, inlined_args) = split_call(line);
            g.frames.push(Frame {
                function,
                file,
                line: line_no,
                inlined: inlined_args && offset.is_none(),
            });
        }
    }
    let body = text[start..end].trim_end_matches(['\n', '\r']);
    g.text = body;
    g
}

/// Parses a `\tFILE:LINE [+0xOFF] [fp=...]` line.
fn parse_location(line: &str) -> Option<(&str, u32, Option<u64>)> {
    let rest = line.strip_prefix('\t')?;
    // The line number is the digits after the last `:` that precede the
    // end or a space; paths may contain colons and spaces.
    let (head, tail) = match rest.find(" +0x") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find(" fp=") {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let colon = head.rfind(':')?;
    let line_no = head[colon + 1..].trim_end().parse().ok()?;
    let offset = tail.strip_prefix(" +0x").map(|hex| {
        let digits = hex
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        u64::from_str_radix(&hex[..digits], 16).unwrap_or(u64::MAX)
    });
    Some((&head[..colon], line_no, offset))
}

/// Splits `pkg.F(args)` into the function name and whether the args were
/// the inlined marker `(...)`.
fn split_call(line: &str) -> (&str, bool) {
    let line = line.trim_end();
    if !line.ends_with(')') {
        return (line, false);
    }
    let bytes = line.as_bytes();
    let mut depth = 0usize;
    for i in (0..bytes.len()).rev() {
        match bytes[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return (&line[..i], &line[i..] == "(...)");
                }
            }
            _ => {}
        }
    }
    (line, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "goroutine 1 [running]:
main.main()
\t/tmp/x/main.go:12 +0x1d

goroutine 18 [chan send (leaked), 3 minutes]:
example.com/p.(*Server).loop.func1({0xc000012345, 0x10})
\t/tmp/x/p.go:40 +0x28
example.com/p.helper[...](...)
\t/tmp/x/p.go:33
...7 frames elided...
created by example.com/p.Start in goroutine 1
\t/tmp/x/p.go:30 +0x66

goroutine 9 [chan receive labels:{\"leakcheck_test\": \"TestX#1\", \"odd\": \"a \\\"b\\\"}\"}]:
main.f()
\t/tmp/x/main.go:5 +0x1
created by main.main
\t/tmp/x/main.go:7 +0x2

goroutine 7 [select, locked to thread] {leakcheck_test: TestY#2, k: \"v, w\"}:
main.g()
\t/tmp/x/main.go:9 +0x1
";

    #[test]
    fn parses_headers_frames_and_creation() {
        let s = Snapshot::parse(SMALL);
        assert_eq!(s.goroutines.len(), 4);
        let g = &s.goroutines[1];
        assert_eq!(g.id, 18);
        assert_eq!(g.state, "chan send");
        assert!(g.leaked);
        assert_eq!(g.wait_minutes, Some(3));
        assert_eq!(g.elided_frames, 7);
        assert_eq!(g.frames.len(), 2);
        assert_eq!(g.frames[0].function, "example.com/p.(*Server).loop.func1");
        assert_eq!((g.frames[0].file, g.frames[0].line), ("/tmp/x/p.go", 40));
        assert!(!g.frames[0].inlined);
        assert_eq!(g.frames[1].function, "example.com/p.helper[...]");
        assert!(g.frames[1].inlined);
        let c = g.created_by.as_ref().unwrap();
        assert_eq!(c.function, "example.com/p.Start");
        assert_eq!(c.parent, Some(1));
        assert_eq!((c.file, c.line), ("/tmp/x/p.go", 30));
        assert!(g.text.starts_with("goroutine 18 ["));
        assert!(g.text.ends_with("+0x66"));
    }

    #[test]
    fn parses_labels_of_go126_and_go127() {
        let s = Snapshot::parse(SMALL);
        let g = s.get(9).unwrap();
        assert_eq!(g.state, "chan receive");
        assert_eq!(g.label("leakcheck_test"), Some("TestX#1"));
        assert_eq!(g.label("odd"), Some("a \"b\"}"));
        let c = g.created_by.as_ref().unwrap();
        assert_eq!((c.function, c.parent), ("main.main", None));
        let g = s.get(7).unwrap();
        assert_eq!(g.state, "select");
        assert!(g.locked_to_thread);
        assert_eq!(g.label("leakcheck_test"), Some("TestY#2"));
        assert_eq!(g.label("k"), Some("v, w"));
    }

    #[test]
    fn decodes_byte_escapes_as_go_does() {
        // Go 1.27 quotes an invalid byte as `\xff`, Go 1.26 as `\ufffd`.
        let one = |s| unquote_go(s).map(|(v, used)| (v.into_owned(), used));
        assert_eq!(one(r#""a\x01\xff""#), Some(("a\u{1}\u{fffd}".into(), 11)));
        assert_eq!(one(r#""a\x01\ufffd""#), Some(("a\u{1}\u{fffd}".into(), 13)));
        // Escaped bytes that form UTF-8 are that character.
        assert_eq!(one(r#""caf\xc3\xa9""#), Some(("caf\u{e9}".into(), 13)));
        assert_eq!(one(r#""\303\251!""#), Some(("\u{e9}!".into(), 11)));
        assert_eq!(one(r#""\U0001F600""#), Some(("\u{1f600}".into(), 12)));
        assert_eq!(one(r#""x" rest"#), Some(("x".into(), 3)));
        assert_eq!(one(r#""\777""#), None);
        assert_eq!(one(r#""\x+f""#), None);
        assert_eq!(one(r#""\u12""#), None);
        assert_eq!(one(r#""open"#), None);
    }

    #[test]
    fn go127_label_text_that_looks_like_go126_labels() {
        let text =
            "goroutine 3 [select] {k: \"a labels:{b\", j: \"]:\"}:\nmain.f()\n\t/x.go:1 +0x1\n";
        let s = Snapshot::parse(text);
        assert_eq!(s.goroutines.len(), 1);
        let g = &s.goroutines[0];
        assert_eq!(g.state, "select");
        assert_eq!(g.label("k"), Some("a labels:{b"));
        assert_eq!(g.label("j"), Some("]:"));
        let text = "goroutine 4 [select labels:{\"k\": \"a] {b\"}]:\n";
        let g = &Snapshot::parse(text).goroutines[0];
        assert_eq!((g.state, g.label("k")), ("select", Some("a] {b")));
    }

    #[test]
    fn ancestors_of_a_creation_chain() {
        let text = include_str!("../../tests/dumps/go1.26-ancestors.txt");
        let s = Snapshot::parse(text);
        // goroutine 8: main.child, created by main.parent (goroutine 7),
        // created by main.grandparent (goroutine 6).
        let g = s.get(8).unwrap();
        let chain = g.ancestors();
        assert_eq!(chain.iter().map(|a| a.id).collect::<Vec<_>>(), vec![7, 6]);
        assert_eq!(chain[0].frames[0].function, "main.parent");
        assert!(chain[0].frames[0].file.ends_with("ancestors/main.go"));
        assert_eq!(chain[1].frames[0].function, "main.grandparent");
        // The goroutine's own frames and creation are unchanged.
        assert_eq!(g.frames.len(), 1);
        assert_eq!(g.created_by.as_ref().unwrap().function, "main.parent");
        // A dump without creation chains has none.
        let plain = Snapshot::parse(SMALL);
        assert!(plain.goroutines.iter().all(|g| g.ancestors().is_empty()));
    }

    #[test]
    fn ids_match_full_parse() {
        assert_eq!(goroutine_ids(SMALL), vec![1, 18, 9, 7]);
    }

    #[test]
    fn one_at_a_time_and_by_id_as_the_full_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dumps");
        let mut texts: Vec<String> = std::fs::read_dir(&dir)
            .expect("tests/dumps")
            .filter_map(|e| {
                let p = e.ok()?.path();
                (p.extension()? == "txt").then(|| std::fs::read_to_string(p).ok())?
            })
            .collect();
        assert!(texts.len() > 10);
        texts.push(SMALL.to_string());
        texts.push(SMALL.replace('\n', "\r\n"));
        texts.push(format!(
            "junk\ngoroutine 5 [x\n{SMALL}\ngoroutine 18 [select]:\nf()\n\t/a.go:1 +0x1\n"
        ));
        texts.push("goroutine 1 [a]:\ngoroutine 2 [b]:\n\ngoroutine 3 [c]:".into());
        for text in &texts {
            let all = Snapshot::parse(text);
            for keep in [|id: u64| id % 2 == 1, |_| true, |_| false] {
                let some: Vec<Goroutine<'_>> = Goroutines::new(text, keep).collect();
                let want: Vec<Goroutine<'_>> = all
                    .goroutines
                    .iter()
                    .filter(|g| keep(g.id))
                    .cloned()
                    .collect();
                assert_eq!(some, want);
            }
            let index = DumpIndex::new(text);
            let mut ids = goroutine_ids(text);
            ids.extend([0, 4, 999_999]);
            for id in ids {
                assert_eq!(index.get(id).as_ref(), all.get(id), "goroutine {id}");
            }
        }
    }

    #[test]
    fn never_panics_on_truncated_or_odd_input() {
        for cut in 0..SMALL.len() {
            if SMALL.is_char_boundary(cut) {
                let _ = Snapshot::parse(&SMALL[..cut]);
                let _ = goroutine_ids(&SMALL[..cut]);
            }
        }
        for odd in [
            "goroutine  [",
            "goroutine 1 [",
            "goroutine 1 [x labels:{\"a",
            "goroutine 1 [x] {a: \"\\x4",
            "goroutine 1 [x]:\n)",
            "goroutine 1 [x]:\nf(\n\t:",
            "goroutine 1 [x]:\ncreated by \n\tf.go:x",
        ] {
            let _ = Snapshot::parse(odd);
        }
    }
}
