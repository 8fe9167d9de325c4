//! Recognising and reading a goroutine dump in any of the formats a Go
//! service gives: `runtime.Stack` text (`?debug=2`, also of the
//! goroutineleak profile), a panic, fatal error or SIGQUIT traceback, the
//! grouped text of `?debug=1`, and the gzipped protobuf of `?debug=0`.
//!
//! This stage owns telling the formats apart and refusing what is none of
//! them (empty, HTML, truncated, corrupt) with one line saying why. It does
//! no I/O: bytes come in, a [`Dump`] of [`Record`]s goes out. Stack text is
//! read by the test runner's own parser ([`crate::detect::stack`]).

use std::io::Read;

use crate::detect::compare::Location;
use crate::detect::stack::Snapshot;

use super::profile;

/// How a dump was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `runtime.Stack` text: `?debug=2` of the goroutine or goroutineleak
    /// profile.
    Stacks,
    /// A crash's traceback (panic, fatal error, SIGQUIT): stack text after
    /// the runtime's own lines.
    Crash,
    /// `?debug=1`: goroutines with the same stack counted together, no
    /// states, no creation sites.
    Grouped,
    /// `?debug=0`: a gzipped pprof protobuf, as `?debug=1` in content.
    Proto,
}

impl Format {
    /// The name the JSON output and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Format::Stacks => "debug=2",
            Format::Crash => "crash",
            Format::Grouped => "debug=1",
            Format::Proto => "debug=0",
        }
    }

    /// Whether the format shows each goroutine's state and creation site.
    pub fn has_states(self) -> bool {
        matches!(self, Format::Stacks | Format::Crash)
    }
}

/// Goroutines with one stack: one goroutine of stack text, or a counted
/// stack of `?debug=1` or `?debug=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub count: usize,
    /// The wait reason or status, without markers; `None` where the
    /// format has none.
    pub state: Option<String>,
    /// Proven leaked by the garbage collector (the goroutineleak profile).
    pub leaked: bool,
    /// How long the goroutine has been blocked, in whole minutes, when the
    /// runtime said so (it does from one minute on).
    pub wait_minutes: Option<u64>,
    /// Innermost first.
    pub frames: Vec<Location>,
    /// The `go` statement that created it, where the format shows it.
    pub created_by: Option<Location>,
    /// The creation chain (`GODEBUG=tracebackancestors=N`): each creator's
    /// stack at its `go` statement, nearest first, innermost first.
    pub ancestors: Vec<Vec<Location>>,
    /// The goroutine's ID and its creator's (`created by ... in goroutine
    /// N`), where the format shows them (stack text; the creator from Go
    /// 1.21 on).
    pub id: Option<u64>,
    pub parent: Option<u64>,
}

/// A whole dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub format: Format,
    /// `goroutine` or `goroutineleak`, when the dump says (`?debug=1` and
    /// `?debug=0` do; stack text does not).
    pub profile: Option<String>,
    pub records: Vec<Record>,
}

impl Dump {
    /// The number of goroutines.
    pub fn total(&self) -> usize {
        self.records.iter().map(|r| r.count).sum()
    }
}

/// The largest un-gzipped profile read (a gzip bomb is refused).
const MAX_PROFILE: u64 = 1 << 30;

/// Reads a dump of any supported format. The error is one line saying
/// what is wrong with the input.
pub fn parse(bytes: &[u8]) -> Result<Dump, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty: not a goroutine dump".into());
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_PROFILE + 1)
            .read_to_end(&mut raw)
            .map_err(|e| format!("corrupt or truncated gzip data ({e})"))?;
        if raw.len() as u64 > MAX_PROFILE {
            return Err("gzip data larger than 1 GiB once uncompressed".into());
        }
        let (kind, records) = profile::read(&raw)?;
        return Ok(Dump {
            format: Format::Proto,
            profile: Some(kind),
            records,
        });
    }
    let text = String::from_utf8_lossy(bytes);
    let start = text.trim_start();
    if start.starts_with('<') {
        return Err("an HTML or XML page, not a goroutine dump".into());
    }
    let first = start.lines().next().unwrap_or("");
    if let Some((name, total)) = grouped_header(first) {
        return parse_grouped(start, name, total);
    }
    parse_stacks(&text)
}

/// `NAME profile: total N`, the first line of `?debug=1`.
fn grouped_header(line: &str) -> Option<(&str, usize)> {
    let (name, total) = line.trim_end().split_once(" profile: total ")?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name, total.parse().ok()?))
}

fn parse_stacks(text: &str) -> Result<Dump, String> {
    let snapshot = Snapshot::parse(text);
    let Some(last) = snapshot.goroutines.last() else {
        return Err(
            "not a goroutine dump: no `goroutine N [state]:` header, no `goroutine profile: total N` line, not gzip"
                .into(),
        );
    };
    // A dump cut short ends inside its last goroutine: on a line without
    // its newline, on a header, or on a function line without the
    // location line that follows every frame.
    let end = last.text.as_ptr() as usize - text.as_ptr() as usize + last.text.len();
    let last_line = last.text.lines().last().unwrap_or("");
    let complete_line = last_line.starts_with('\t') || last_line.starts_with("...");
    // A header cut short follows the last goroutine read.
    let rest = text[end..].trim_start();
    let cut_header =
        rest.starts_with("goroutine ") || (!rest.is_empty() && "goroutine ".starts_with(rest));
    if end == text.len() || !complete_line || cut_header {
        return Err(format!(
            "truncated goroutine dump: it ends inside goroutine {}",
            last.id
        ));
    }
    let format = if text.trim_start().starts_with("goroutine ") {
        Format::Stacks
    } else {
        Format::Crash
    };
    let loc = |function: &str, file: &str, line: u32| Location {
        function: function.to_string(),
        file: file.to_string(),
        line,
    };
    let records = snapshot
        .goroutines
        .iter()
        .map(|g| Record {
            count: 1,
            state: Some(g.state.to_string()),
            leaked: g.leaked,
            wait_minutes: g.wait_minutes,
            frames: g
                .frames
                .iter()
                .map(|f| loc(f.function, f.file, f.line))
                .collect(),
            created_by: g
                .created_by
                .as_ref()
                .map(|c| loc(c.function, c.file, c.line)),
            id: Some(g.id),
            parent: g.created_by.as_ref().and_then(|c| c.parent),
            ancestors: g
                .ancestors()
                .iter()
                .map(|a| {
                    a.frames
                        .iter()
                        .map(|f| loc(f.function, f.file, f.line))
                        .collect()
                })
                .collect(),
        })
        .collect();
    Ok(Dump {
        format,
        profile: None,
        records,
    })
}

/// Reads `?debug=1` text: after the header, blocks of `N @ 0xPC...`, an
/// optional `# labels: {...}` line, and one `#\t0xPC\tFUNC+0xOFF\tFILE:LINE`
/// line a frame (tab-aligned), each block ended by a blank line.
fn parse_grouped(text: &str, name: &str, total: usize) -> Result<Dump, String> {
    if !text.ends_with('\n') {
        return Err(format!("truncated {name} profile: it ends mid-line"));
    }
    let leaked = name == "goroutineleak";
    let mut records: Vec<Record> = Vec::new();
    // Whether the block being read has shown a frame line yet.
    let mut open: Option<bool> = None;
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            open = None;
            continue;
        }
        if let Some(frame) = line.strip_prefix('#') {
            if frame.starts_with(" labels:") {
                continue;
            }
            let Some(record) = records.last_mut().filter(|_| open.is_some()) else {
                return Err(format!(
                    "malformed {name} profile: a frame outside a stack (line {})",
                    i + 1
                ));
            };
            open = Some(true);
            let fields: Vec<&str> = frame.split('\t').filter(|f| !f.is_empty()).collect();
            // `#\t0xPC` alone: a frame without symbols.
            if fields.len() < 3 {
                continue;
            }
            let function = fields[1]
                .rsplit_once("+0x")
                .map_or(fields[1], |(f, _)| f)
                .to_string();
            let location = fields[2..].join("\t");
            let (file, line_no) = location
                .rsplit_once(':')
                .and_then(|(f, l)| Some((f.to_string(), l.trim().parse().ok()?)))
                .ok_or_else(|| {
                    format!("malformed {name} profile: no FILE:LINE on line {}", i + 1)
                })?;
            record.frames.push(Location {
                function,
                file,
                line: line_no,
            });
            continue;
        }
        let count = line
            .split_once(" @")
            .filter(|_| open.is_none())
            .and_then(|(n, _)| n.parse::<usize>().ok())
            .ok_or_else(|| {
                format!(
                    "malformed {name} profile: unexpected line {}: {line:?}",
                    i + 1
                )
            })?;
        open = Some(false);
        records.push(Record {
            count,
            state: None,
            leaked,
            wait_minutes: None,
            frames: Vec::new(),
            created_by: None,
            ancestors: Vec::new(),
            id: None,
            parent: None,
        });
    }
    // Every stack ends with a blank line (one of only hidden runtime
    // frames has no frame line).
    let listed: usize = records.iter().map(|r| r.count).sum();
    if open.is_some() || listed != total {
        return Err(format!(
            "truncated {name} profile: total {total}, {listed} goroutines listed"
        ));
    }
    Ok(Dump {
        format: Format::Grouped,
        profile: Some(name.to_string()),
        records,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_no_dump() {
        let err = |b: &[u8]| parse(b).unwrap_err();
        assert!(err(b"").starts_with("empty"));
        assert!(err(b" \n\n").starts_with("empty"));
        assert!(err(b"<!DOCTYPE html><html>404</html>").contains("HTML"));
        assert!(err(b"hello\nworld\n").starts_with("not a goroutine dump"));
        assert!(err(&[0x1f, 0x8b, 1, 2, 3]).starts_with("corrupt or truncated gzip"));
        let not_proto = gzip(b"\xff\xff\xff\xff");
        assert!(
            err(&not_proto).starts_with("not a pprof profile"),
            "{}",
            err(&not_proto)
        );
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_truncated_stack_dump_is_refused_wherever_it_is_cut() {
        let text = "goroutine 1 [running]:\nmain.main()\n\t/x/main.go:3 +0x1\n\ngoroutine 7 [chan send, 3 minutes]:\nmain.f(...)\n\t/x/main.go:9\ncreated by main.main in goroutine 1\n\t/x/main.go:5 +0x2\n";
        let whole = parse(text.as_bytes()).unwrap();
        assert_eq!(whole.format, Format::Stacks);
        assert_eq!(whole.total(), 2);
        assert_eq!(whole.records[1].wait_minutes, Some(3));
        // Cut anywhere inside the last goroutine: refused, unless the cut
        // falls just after a frame's location line (the dump then reads as
        // a whole one: nothing tells them apart).
        let last = text.find("goroutine 7").unwrap();
        for cut in last + 1..text.len() {
            let prefix = &text[..cut];
            let looks_whole = prefix.ends_with('\n')
                && prefix.trim_end().lines().last().unwrap().starts_with('\t');
            match parse(prefix.as_bytes()) {
                Ok(d) => assert!(looks_whole && d.total() == 2, "cut at {cut}: {d:?}"),
                Err(e) => assert!(
                    !looks_whole && e.starts_with("truncated goroutine dump"),
                    "cut at {cut}: {e}"
                ),
            }
        }
    }

    #[test]
    fn a_truncated_grouped_profile_is_refused() {
        let text = "goroutine profile: total 3\n2 @ 0x1 0x2\n#\t0x1\tmain.f+0x1\t/x/main.go:4\n\n1 @ 0x3\n# labels: {\"k\":\"v\"}\n#\t0x3\tmain.g+0x1\t/x/main.go:8\n#\t0x9\n\n";
        let whole = parse(text.as_bytes()).unwrap();
        assert_eq!(whole.format, Format::Grouped);
        assert_eq!(whole.profile.as_deref(), Some("goroutine"));
        assert_eq!(whole.total(), 3);
        assert_eq!(
            whole.records[1].frames.len(),
            1,
            "the symbol-less frame is left out"
        );
        let second = text.find("1 @ 0x3").unwrap();
        for cut in [
            second,
            second + 4,
            text.len() - 10,
            text.len() - 2,
            text.len() - 1,
        ] {
            let e = parse(&text.as_bytes()[..cut]).unwrap_err();
            assert!(
                e.starts_with("truncated goroutine profile"),
                "cut at {cut}: {e}"
            );
        }
        // A stack of only hidden runtime frames shows no frame line.
        let bare = parse(b"goroutine profile: total 1\n1 @ 0x46d8e1\n\n").unwrap();
        assert_eq!((bare.total(), bare.records[0].frames.len()), (1, 0));
        let none = parse(b"goroutineleak profile: total 0\n").unwrap();
        assert_eq!(
            (none.total(), none.records.len(), none.records.is_empty()),
            (0, 0, true)
        );
        assert!(parse(b"goroutine profile: total 1\n1 @ 0x46d8e1\n").is_err());
        let e = parse(b"goroutine profile: total 1\nnonsense\n").unwrap_err();
        assert!(e.starts_with("malformed goroutine profile"), "{e}");
    }

    #[test]
    fn a_profile_of_another_kind_is_refused() {
        use prost::Message;
        let p = profile::Profile {
            sample_type: vec![profile::ValueType { r#type: 1, unit: 2 }],
            string_table: vec!["".into(), "cpu".into(), "nanoseconds".into()],
            ..Default::default()
        };
        let e = parse(&gzip(&p.encode_to_vec())).unwrap_err();
        assert_eq!(e, "a \"cpu\" pprof profile, not a goroutine profile");
    }
}
