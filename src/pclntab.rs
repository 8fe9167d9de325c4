//! The exact line of a call in a creation chain, read from the test
//! binary's own line table (`.gopclntab`, which `-s -w` keeps: the runtime
//! needs it for its tracebacks).
//!
//! With `GODEBUG=tracebackancestors`, a creator's frames are printed at
//! their return addresses, unadjusted: when a call ends its line, the line
//! shown is the next one (often a closing `})`). Each such frame is
//! printed with its offset from its function's entry (`+0x1a`), so the
//! call's own line is the line of the byte before: entry + offset − 1.
//!
//! [`LineTable::call_line`] answers only when it is sure: the function is
//! found by the name the dump printed, the offset lies inside it, and the
//! table gives, at the return address, the very file and line the dump
//! printed. Where the dump printed an inlined function's name (its offset
//! is then from the function it was inlined into) that check fails, and
//! the printed line stands. So it does when the return address is in code
//! inlined into the function (its `PCDATA_InlTreeIndex` table says so):
//! the runtime then printed the inlined function's name with the offset
//! of the one it was inlined into. When only the call is in inlined code,
//! the frame printed is a misnamed frame of the inlined function
//! ([`CallLine::InInlinedCode`]): the chain leaves it out, since the frame
//! of the function it was inlined into follows, at the call's line.
//!
//! Layout (Go 1.18+; leakcheck supports 1.21+), from the runtime's
//! `symtab.go`: a header (`pcHeader`), the function names, the
//! compilation units' file indexes, the file names, the pc-value tables,
//! and the function table: `nfunc + 1` pairs (entry offset, `_func`
//! offset), then each `_func`. A pc-value table is a run of (value delta,
//! pc delta) varint pairs, the value starting at −1 at the entry.
//!
//! Parsing is pure (bytes in, lines out); [`LineTable::read`] is the only
//! I/O.

use std::collections::HashMap;
use std::path::Path;

/// What went wrong reading a binary's line table.
#[derive(Debug, thiserror::Error)]
pub enum LineTableError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not an executable leakcheck can read: {1}")]
    Object(String, object::Error),
    #[error("{0} has no Go line table (.gopclntab)")]
    Missing(String),
    #[error("the Go line table is malformed: {0}")]
    Malformed(&'static str),
}

/// A Go binary's line table, with its functions indexed by the names
/// tracebacks print.
#[derive(Debug)]
pub struct LineTable {
    data: Vec<u8>,
    min_lc: u32,
    /// The size of a `_func` before its pc-data offsets: 44 bytes from
    /// Go 1.20 (`startLine`), 40 before.
    func_size: usize,
    funcnametab: usize,
    cutab: usize,
    filetab: usize,
    pctab: usize,
    /// Each function: (entry offset, offset of its `_func`), by entry, and
    /// one more entry that ends the last.
    functab: Vec<(u32, usize)>,
    /// Indexes into `functab` by printed name (type arguments as `[...]`).
    by_name: HashMap<String, Vec<u32>>,
    /// What scans for misnamed frames found (see [`LineTable::call_line`]).
    scans: std::sync::Mutex<HashMap<ScanKey, Option<CallLine>>>,
}

/// A printed frame: function, file, line, offset.
type ScanKey = (String, String, u32, u32);

/// Where a call printed at its return address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallLine {
    /// In the named function, at this line.
    At(u32),
    /// In code inlined into the named function: the traceback named the
    /// function it was inlined into, at the line after, for a frame of the
    /// inlined one; that function's own frame, at its call's line, comes
    /// next in the chain (the runtime records one per inlined call).
    InInlinedCode,
    /// Not the named function's frame, but `function`'s own, calling at
    /// `file:line`: its call's return address (or the pc after an inlined
    /// call's mark) is the first byte of code inlined after the call, and
    /// the traceback printed that code's function, file and line.
    Misnamed {
        function: String,
        file: String,
        line: u32,
    },
}

/// The fields of a `_func` that finding a line needs.
struct Func {
    entry: u32,
    pcfile: u32,
    pcln: u32,
    cu_offset: u32,
    /// Its `PCDATA_InlTreeIndex` table (0: none): which inlined call, if
    /// any, each instruction belongs to.
    inline_index: u32,
}

/// The index of `PCDATA_InlTreeIndex` among a function's pc-data tables.
const PCDATA_INL_TREE_INDEX: u32 = 2;

impl LineTable {
    /// Reads the line table of the executable at `path`.
    pub fn read(path: &Path) -> Result<LineTable, LineTableError> {
        use object::{Object, ObjectSection};
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| LineTableError::Io(shown.clone(), e))?;
        let file =
            object::File::parse(&*bytes).map_err(|e| LineTableError::Object(shown.clone(), e))?;
        let section = file
            .section_by_name(".gopclntab")
            .or_else(|| file.section_by_name("__gopclntab"))
            .ok_or_else(|| LineTableError::Missing(shown.clone()))?;
        let data = section
            .data()
            .map_err(|e| LineTableError::Object(shown, e))?;
        LineTable::parse(data.to_vec())
    }

    /// Parses a `.gopclntab` section's bytes.
    pub fn parse(data: Vec<u8>) -> Result<LineTable, LineTableError> {
        let bad = LineTableError::Malformed;
        let magic = u32_at(&data, 0).ok_or(bad("too short"))?;
        if magic != 0xffff_fff1 && magic != 0xffff_fff0 {
            return Err(bad("not the Go 1.18+ format"));
        }
        let min_lc = u32::from(*data.get(6).ok_or(bad("too short"))?);
        let ptr = usize::from(*data.get(7).ok_or(bad("too short"))?);
        if !(ptr == 4 || ptr == 8) || min_lc == 0 {
            return Err(bad("bad header"));
        }
        let word = |i: usize| -> Result<usize, LineTableError> {
            let at = 8 + i * ptr;
            let v = if ptr == 8 {
                u64_at(&data, at)
            } else {
                u32_at(&data, at).map(u64::from)
            };
            v.and_then(|v| usize::try_from(v).ok())
                .ok_or(bad("truncated header"))
        };
        let nfunc = word(0)?;
        let funcnametab = word(3)?;
        let cutab = word(4)?;
        let filetab = word(5)?;
        let pctab = word(6)?;
        let pclntab = word(7)?;
        let table_end = nfunc
            .checked_add(1)
            .and_then(|n| n.checked_mul(8))
            .and_then(|n| n.checked_add(pclntab))
            .filter(|&end| end <= data.len())
            .ok_or(bad("function table out of bounds"))?;
        let mut functab = Vec::with_capacity(nfunc + 1);
        for at in (pclntab..table_end).step_by(8) {
            let entry = u32_at(&data, at).ok_or(bad("function table"))?;
            let func = u32_at(&data, at + 4).ok_or(bad("function table"))?;
            functab.push((entry, pclntab + func as usize));
        }
        let func_size = if magic == 0xffff_fff1 { 44 } else { 40 };
        let mut table = LineTable {
            data,
            min_lc,
            func_size,
            funcnametab,
            cutab,
            filetab,
            pctab,
            functab,
            by_name: HashMap::new(),
            scans: Default::default(),
        };
        for i in 0..nfunc {
            if let Some(name) = table.name(i) {
                table.by_name.entry(name).or_default().push(i as u32);
            }
        }
        Ok(table)
    }

    /// Where the call whose return address is `offset` bytes into
    /// `function` (as a traceback prints it) is, when the table confirms
    /// that the return address is at `file:line`, as printed. `None`: not
    /// sure.
    ///
    /// When no function of that name confirms it, the name may be that of
    /// code inlined at the return address of another function's call (the
    /// runtime names the innermost function at the return address, not at
    /// the call): each function whose code at that offset is inlined code
    /// at the printed `file:line` is a candidate, and where they agree the
    /// frame is what the byte before says ([`CallLine::Misnamed`] when
    /// that is the function's own code). Those scans are cached.
    pub fn call_line(
        &self,
        function: &str,
        file: &str,
        line: u32,
        offset: u64,
    ) -> Option<CallLine> {
        let offset = u32::try_from(offset).ok().filter(|&o| o > 0)?;
        // Each function of that name whose code holds the return address
        // at the printed file:line, and no inlined code there, says where
        // the byte before is.
        let candidate = |i: usize| -> Option<CallLine> {
            let f = self.func(i)?;
            let pc = f.entry.checked_add(offset)?;
            if pc >= self.functab.get(i + 1)?.0 {
                return None; // not this one (or an inlined frame)
            }
            if self.line_at(&f, pc)? != line || self.file_at(&f, pc)? != file {
                return None;
            }
            if self.inlined_at(&f, pc)? {
                // The traceback named the innermost inlined function
                // there, not the one whose offset it printed.
                return None;
            }
            let call = pc - 1;
            if self.inlined_at(&f, call)? {
                return Some(CallLine::InInlinedCode);
            }
            self.line_at(&f, call).map(CallLine::At)
        };
        let by_name = self.by_name.get(function).and_then(|funcs| {
            let mut found = funcs.iter().filter_map(|&i| candidate(i as usize));
            let first = found.next()?;
            // Two copies that disagree: not sure.
            Some(found.all(|l| l == first).then_some(first))
        });
        match by_name {
            Some(sure) => sure,
            None => {
                let key = (function.to_string(), file.to_string(), line, offset);
                if let Some(known) = self.lock_scans().get(&key) {
                    return known.clone();
                }
                let found = self.scan(file, line, offset);
                self.lock_scans().insert(key, found.clone());
                found
            }
        }
    }

    fn lock_scans(&self) -> std::sync::MutexGuard<'_, HashMap<ScanKey, Option<CallLine>>> {
        self.scans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The frame printed at `file:line`, `offset` bytes into a function
    /// the name printed is not that of: each function whose code there is
    /// inlined code at that file and line is a candidate, and says what
    /// the byte before is (the call, or an inlined call's mark: the
    /// runtime saved the pc after either). When they all agree, that;
    /// when they all say the frame is misnamed but disagree on what it
    /// is, it is left out; else (or when the byte before is in other
    /// inlined code, whose function is not known) not sure.
    fn scan(&self, file: &str, line: u32, offset: u32) -> Option<CallLine> {
        let nfunc = self.functab.len().saturating_sub(1);
        let mut found: Vec<CallLine> = Vec::new();
        for i in 0..nfunc {
            let (entry, next) = (self.functab[i].0, self.functab[i + 1].0);
            if next.saturating_sub(entry) <= offset {
                continue;
            }
            let Some(f) = self.func(i) else { continue };
            if f.inline_index == 0 || f.entry != entry {
                continue;
            }
            let pc = entry + offset;
            let Some(at) = self.pc_value(f.entry, f.inline_index, pc) else {
                continue;
            };
            if at < 0 || self.line_at(&f, pc) != Some(line) || self.file_at(&f, pc) != Some(file) {
                continue;
            }
            let call = pc - 1;
            let before = self.pc_value(f.entry, f.inline_index, call)?;
            let line_before = self.line_at(&f, call)?;
            let frame = if before == at {
                // The same inlined call: the name printed is the frame's.
                CallLine::At(line_before)
            } else if before < 0 {
                // The function's own code: its call, misnamed.
                CallLine::Misnamed {
                    function: self.name(i)?,
                    file: self.file_at(&f, call)?.to_string(),
                    line: line_before,
                }
            } else {
                // Other inlined code: its function's name is not known.
                return None;
            };
            if !found.contains(&frame) {
                found.push(frame);
            }
        }
        match found.as_slice() {
            [one] => Some(one.clone()),
            // Functions that disagree on a misnamed frame's: leave it out.
            all if !all.is_empty() && all.iter().all(|c| !matches!(c, CallLine::At(_))) => {
                Some(CallLine::InInlinedCode)
            }
            _ => None,
        }
    }

    /// The printed name of function `i`.
    fn name(&self, i: usize) -> Option<String> {
        let off = usize::try_from(i32_at(&self.data, self.functab.get(i)?.1 + 4)?).ok()?;
        Some(printed_name(
            self.cstring(self.funcnametab.checked_add(off)?)?,
        ))
    }

    fn func(&self, i: usize) -> Option<Func> {
        let at = self.functab.get(i)?.1;
        let npcdata = u32_at(&self.data, at + 28)?;
        let inline_index = if npcdata > PCDATA_INL_TREE_INDEX {
            u32_at(
                &self.data,
                at + self.func_size + 4 * PCDATA_INL_TREE_INDEX as usize,
            )?
        } else {
            0
        };
        Some(Func {
            entry: u32_at(&self.data, at)?,
            pcfile: u32_at(&self.data, at + 20)?,
            pcln: u32_at(&self.data, at + 24)?,
            cu_offset: u32_at(&self.data, at + 32)?,
            inline_index,
        })
    }

    /// Whether the instruction at `pc` is code inlined into `f`.
    fn inlined_at(&self, f: &Func, pc: u32) -> Option<bool> {
        if f.inline_index == 0 {
            return Some(false);
        }
        Some(self.pc_value(f.entry, f.inline_index, pc)? >= 0)
    }

    fn line_at(&self, f: &Func, pc: u32) -> Option<u32> {
        u32::try_from(self.pc_value(f.entry, f.pcln, pc)?).ok()
    }

    fn file_at(&self, f: &Func, pc: u32) -> Option<&str> {
        let index = u32::try_from(self.pc_value(f.entry, f.pcfile, pc)?).ok()?;
        let cu = self
            .cutab
            .checked_add((f.cu_offset.checked_add(index)? as usize).checked_mul(4)?)?;
        let file_off = u32_at(&self.data, cu)?;
        if file_off == u32::MAX {
            return None;
        }
        self.cstring(self.filetab.checked_add(file_off as usize)?)
    }

    /// The value that pc-value table `table` gives at `target`, for a
    /// function that starts at `entry` (the runtime's `pcvalue`).
    fn pc_value(&self, entry: u32, table: u32, target: u32) -> Option<i32> {
        if table == 0 {
            return None;
        }
        let mut p = self.pctab.checked_add(table as usize)?;
        let mut pc = entry;
        let mut value: i32 = -1;
        let mut first = true;
        loop {
            let (uvdelta, n) = varint(&self.data, p)?;
            if uvdelta == 0 && !first {
                return None; // past the function's end
            }
            first = false;
            p += n;
            let delta = -((uvdelta & 1) as i32) ^ ((uvdelta >> 1) as i32);
            value = value.wrapping_add(delta);
            let (pcdelta, n) = varint(&self.data, p)?;
            p += n;
            pc = pc.checked_add(pcdelta.checked_mul(self.min_lc)?)?;
            if target < pc {
                return Some(value);
            }
        }
    }

    fn cstring(&self, at: usize) -> Option<&str> {
        let rest = self.data.get(at..)?;
        let end = memchr::memchr(0, rest)?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}

/// A function's name as tracebacks print it: type arguments as `[...]`.
fn printed_name(name: &str) -> String {
    let Some(open) = name.find('[') else {
        return name.to_string();
    };
    let Some(close) = name.rfind(']') else {
        return name.to_string();
    };
    format!("{}[...]{}", &name[..open], &name[close + 1..])
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn i32_at(data: &[u8], at: usize) -> Option<i32> {
    u32_at(data, at).map(|v| v as i32)
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        data.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// An unsigned LEB128 varint of at most 32 bits, and its length.
fn varint(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for (i, &b) in data.get(at..)?.iter().take(5).enumerate() {
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_names_hide_type_arguments() {
        assert_eq!(printed_name("p.F[go.shape.int]"), "p.F[...]");
        assert_eq!(
            printed_name("p.(*T[go.shape.string]).M.func1"),
            "p.(*T[...]).M.func1"
        );
        assert_eq!(printed_name("p.F.func1"), "p.F.func1");
    }

    #[test]
    fn varints_and_bad_tables() {
        assert_eq!(varint(&[0x96, 0x01], 0), Some((150, 2)));
        assert_eq!(varint(&[0x80, 0x80], 0), None);
        assert!(LineTable::parse(vec![1, 2, 3]).is_err());
        let mut header = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        // nfunc huge: the function table would be out of bounds.
        header.extend(u64::MAX.to_le_bytes());
        header.extend([0; 56]);
        assert!(LineTable::parse(header).is_err());
    }
}
