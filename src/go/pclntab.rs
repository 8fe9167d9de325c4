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
//! printed.
//!
//! Inlined code makes the name printed another's. The runtime saves, for
//! each frame, a pc after its call (`tracebackPCs` in `traceback.go`: the
//! return address, or for a function inlined into another, the pc after
//! the mark of its inlined call, an instruction at the call's line), and
//! `printAncestorTracebackFuncInfo` prints the innermost function inlined
//! at that pc itself, not at the byte before, with the offset from the
//! entry of the function the code is in. So a frame's pc that is the
//! first byte of a body inlined after its call is printed with that
//! body's function, file and line; and a frame whose call is the last of
//! an inlined body is printed as the code after it. Whose frame it is, is
//! the byte before's: the function inlined there (the inline tree,
//! `FUNCDATA_InlTree`, names it), at its line ([`CallLine::Misnamed`]).
//! Where the name printed is not a function's whose code there is its
//! own, the functions whose code at that offset is inlined code of that
//! name, at that file and line, are the candidates; all of them must
//! agree.
//!
//! Layout (Go 1.18+; leakcheck supports 1.21+), from the runtime's
//! `symtab.go`: a header (`pcHeader`), the function names, the
//! compilation units' file indexes, the file names, the pc-value tables,
//! and the function table: `nfunc + 1` pairs (entry offset, `_func`
//! offset), then each `_func`. A pc-value table is a run of (value delta,
//! pc delta) varint pairs, the value starting at −1 at the entry. A
//! `_func`'s data offsets (after its pc-data offsets) are from the
//! module's `gofunc` (`go:func.*`), which only its `moduledata` says (in
//! the binary's data: the words that start with the line table's address
//! and its function names'); an inline tree there is a run of 16-byte
//! `inlinedCall`s (`symtabinl.go`): function ID, name offset, the mark's
//! offset from the entry, start line.
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
    /// The bytes from `go:func.*` on (the module's `gofunc`), where the
    /// inline trees are (see [`LineTable::with_inline_trees`]).
    gofunc: Option<Vec<u8>>,
    /// What scans for misnamed frames found (see [`LineTable::call_line`]).
    scans: std::sync::Mutex<HashMap<ScanKey, Option<CallLine>>>,
}

/// A printed frame: function, file, line, offset; and the function printed
/// for the frame before it.
type ScanKey = (String, String, u32, u32, Option<String>);

/// Where a call printed at its return address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallLine {
    /// In the named function, at this line.
    At(u32),
    /// A misnamed frame of inlined code, whose function is not known (the
    /// inline trees could not be read), or which the functions that could
    /// be its disagree on: left out. The frames of the functions it was
    /// inlined into come next in the chain (the runtime records one per
    /// inlined call).
    InInlinedCode,
    /// Not the named function's frame, but `function`'s, calling at
    /// `file:line`: the pc saved after its call (or after an inlined
    /// call's mark) is in other code (a body inlined after the call, or
    /// the code after an inlined body), and the traceback printed that
    /// code's function, file and line.
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
    /// Its `FUNCDATA_InlTree` (offset from `gofunc`), if any: each inlined
    /// call's function and the pc of its mark.
    inline_tree: Option<u32>,
}

/// Where `gofunc` may be in a `moduledata`, in words: after `rodata`,
/// 40th from Go 1.20 to 1.26, 43rd from 1.27 (`typedesclen`, `itaboffset`
/// and `itabsize` came before it). Which one is checked against the inline
/// trees it leads to.
const GOFUNC_WORDS: [usize; 2] = [40, 43];

/// The index of `PCDATA_InlTreeIndex` among a function's pc-data tables.
const PCDATA_INL_TREE_INDEX: u32 = 2;

/// The index of `FUNCDATA_InlTree` among a function's data.
const FUNCDATA_INL_TREE: usize = 3;

/// The size of an inline tree's entry (`inlinedCall`): function ID and
/// padding, name offset, parent pc, start line.
const INLINED_CALL: usize = 16;

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
        let table = LineTable::parse(data.to_vec())?;
        let sections: Vec<(u64, &[u8])> = file
            .sections()
            .filter_map(|s| Some((s.address(), s.data().ok()?)))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        Ok(table.with_inline_trees(section.address(), &sections))
    }

    /// The table, able to name the functions inlined at any pc: it finds
    /// the module's `moduledata` (the words that start with the line
    /// table's address, `at`, and its function names' address) among the
    /// binary's `sections` (address, bytes), and in it `gofunc`, the
    /// address the inline trees' offsets are from. Where that fails, the
    /// table is as it was.
    pub fn with_inline_trees(mut self, at: u64, sections: &[(u64, &[u8])]) -> LineTable {
        let ptr = usize::from(self.data.get(7).copied().unwrap_or(8));
        let word = |data: &[u8], i: usize| -> Option<u64> {
            if ptr == 8 {
                u64_at(data, i)
            } else {
                u32_at(data, i).map(u64::from)
            }
        };
        let Some(names) = u64::try_from(self.funcnametab)
            .ok()
            .and_then(|n| at.checked_add(n))
        else {
            return self;
        };
        let bytes_at = |address: u64| -> Option<&[u8]> {
            sections.iter().find_map(|&(start, data)| {
                let i = usize::try_from(address.checked_sub(start)?).ok()?;
                data.get(i..).filter(|rest| !rest.is_empty())
            })
        };
        for &(_, data) in sections {
            let modules = (0..data.len().saturating_sub(2 * ptr))
                .step_by(ptr)
                .filter(|&i| word(data, i) == Some(at) && word(data, i + ptr) == Some(names));
            for module in modules {
                for k in GOFUNC_WORDS {
                    let Some(gofunc) = module
                        .checked_add(k * ptr)
                        .and_then(|i| word(data, i))
                        .and_then(bytes_at)
                    else {
                        continue;
                    };
                    if self.inline_trees_hold(gofunc) {
                        self.gofunc = Some(gofunc.to_vec());
                        return self;
                    }
                }
            }
        }
        self
    }

    /// Whether `gofunc` gives the first functions with inline trees trees
    /// that make sense: their calls named, their marks inside them.
    fn inline_trees_hold(&self, gofunc: &[u8]) -> bool {
        let mut seen = 0;
        for i in 0..self.functab.len().saturating_sub(1) {
            let Some(tree) = self.func(i).and_then(|f| f.inline_tree) else {
                continue;
            };
            let size = self.functab[i + 1].0.saturating_sub(self.functab[i].0);
            let Some(call) = inlined_call(gofunc, tree, 0) else {
                return false;
            };
            if call.parent_pc >= size || self.name_at(call.name).is_none() {
                return false;
            }
            seen += 1;
            if seen == 32 {
                break;
            }
        }
        seen > 0
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
            gofunc: None,
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
        self.call_line_near(function, file, line, offset, None)
    }

    /// [`LineTable::call_line`], knowing the function printed for the
    /// frame before (the callee's, in the same ancestor block): when the
    /// functions that could hold a misnamed frame disagree (two tests
    /// with the same code up to the offset, say), the one of that name is
    /// taken, since a frame printed with its physical function's name and
    /// the misnamed frame after it are the same physical frame's when the
    /// call between them was inlined.
    pub fn call_line_near(
        &self,
        function: &str,
        file: &str,
        line: u32,
        offset: u64,
        near: Option<&str>,
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
                // The call is in inlined code: the frame is that code's.
                return Some(
                    self.frame_before(i, &f, pc, function, file)
                        .unwrap_or(CallLine::InInlinedCode),
                );
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
                let key = (
                    function.to_string(),
                    file.to_string(),
                    line,
                    offset,
                    near.map(str::to_string),
                );
                if let Some(known) = self.lock_scans().get(&key) {
                    return known.clone();
                }
                let found = self.scan(function, file, line, offset, near);
                self.lock_scans().insert(key, found.clone());
                found
            }
        }
    }

    /// The frame whose saved pc is `pc` in function `i` (`f`): the one of
    /// the function the byte before is code of, at its line, when its
    /// name is known. The runtime saves the pc after each call (or after
    /// the mark of an inlined call), and prints the frame at that pc.
    fn frame_before(
        &self,
        i: usize,
        f: &Func,
        pc: u32,
        printed: &str,
        printed_file: &str,
    ) -> Option<CallLine> {
        let call = pc.checked_sub(1)?;
        let function = self.function_at(i, f, call)?;
        let file = self.file_at(f, call)?;
        let line = self.line_at(f, call)?;
        Some(if function == printed && file == printed_file {
            CallLine::At(line)
        } else {
            CallLine::Misnamed {
                function,
                file: file.to_string(),
                line,
            }
        })
    }

    fn lock_scans(&self) -> std::sync::MutexGuard<'_, HashMap<ScanKey, Option<CallLine>>> {
        self.scans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The frame printed as `function` at `file:line`, `offset` bytes
    /// into a function of another name: each function whose code there is
    /// inlined code of `function` (when its inline tree can tell; else any
    /// inlined code) at that file and line is a candidate, and says whose
    /// frame it is (see [`LineTable::frame_before`]). When they all agree,
    /// that; when they all say the frame is misnamed but disagree on what
    /// it is, it is left out; else (or when the byte before is in inlined
    /// code whose function is not known) not sure.
    fn scan(
        &self,
        function: &str,
        file: &str,
        line: u32,
        offset: u32,
        near: Option<&str>,
    ) -> Option<CallLine> {
        let nfunc = self.functab.len().saturating_sub(1);
        let mut found: Vec<CallLine> = Vec::new();
        // The frame the function named `near` says, if one is.
        let mut near_says: Option<CallLine> = None;
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
            if self.inlined_at(&f, pc) != Some(true)
                || self.line_at(&f, pc) != Some(line)
                || self.file_at(&f, pc) != Some(file)
            {
                continue;
            }
            if self.gofunc.is_some() && self.function_at(i, &f, pc).as_deref() != Some(function) {
                continue;
            }
            let frame = match self.frame_before(i, &f, pc, function, file) {
                Some(frame) => frame,
                // Without the inline trees: the same inlined call at the
                // byte before (then the name printed is the frame's), or
                // the function's own code.
                None => {
                    let call = pc - 1;
                    let at = self.pc_value(f.entry, f.inline_index, pc)?;
                    let before = self.pc_value(f.entry, f.inline_index, call)?;
                    let line_before = self.line_at(&f, call)?;
                    if before == at {
                        CallLine::At(line_before)
                    } else if before < 0 {
                        CallLine::Misnamed {
                            function: self.name(i)?,
                            file: self.file_at(&f, call)?.to_string(),
                            line: line_before,
                        }
                    } else {
                        return None;
                    }
                }
            };
            if near.is_some() && self.name(i).as_deref() == near {
                near_says = Some(frame.clone());
            }
            if !found.contains(&frame) {
                found.push(frame);
            }
        }
        match found.as_slice() {
            [one] => Some(one.clone()),
            [_, _, ..] if near_says.is_some() => near_says,
            // Functions that disagree on a misnamed frame's: leave it out.
            all if !all.is_empty() && all.iter().all(|c| !matches!(c, CallLine::At(_))) => {
                Some(CallLine::InInlinedCode)
            }
            _ => None,
        }
    }

    /// The printed name of function `i`.
    fn name(&self, i: usize) -> Option<String> {
        self.name_at(i32_at(&self.data, self.functab.get(i)?.1 + 4)?)
    }

    /// The printed name at offset `off` of the function names.
    fn name_at(&self, off: i32) -> Option<String> {
        let off = usize::try_from(off).ok()?;
        Some(printed_name(
            self.cstring(self.funcnametab.checked_add(off)?)?,
        ))
    }

    /// The function whose code the instruction at `pc` of function `i` is
    /// (the innermost inlined there, or `i` itself), when its name is
    /// known: `i`'s own code, or its inline tree read.
    fn function_at(&self, i: usize, f: &Func, pc: u32) -> Option<String> {
        let index = if f.inline_index == 0 {
            -1
        } else {
            self.pc_value(f.entry, f.inline_index, pc)?
        };
        let Ok(index) = usize::try_from(index) else {
            return self.name(i);
        };
        let call = inlined_call(self.gofunc.as_deref()?, f.inline_tree?, index)?;
        self.name_at(call.name)
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
        let nfuncdata = usize::from(*self.data.get(at + self.func_size - 1)?);
        let inline_tree = if nfuncdata > FUNCDATA_INL_TREE {
            let funcdata = (npcdata as usize)
                .checked_mul(4)?
                .checked_add(at + self.func_size)?;
            Some(u32_at(&self.data, funcdata + 4 * FUNCDATA_INL_TREE)?)
                .filter(|&off| off != u32::MAX)
        } else {
            None
        };
        Some(Func {
            entry: u32_at(&self.data, at)?,
            pcfile: u32_at(&self.data, at + 20)?,
            pcln: u32_at(&self.data, at + 24)?,
            cu_offset: u32_at(&self.data, at + 32)?,
            inline_index,
            inline_tree,
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

/// An entry of an inline tree (the runtime's `inlinedCall`).
struct InlinedCall {
    /// Its function's name, as an offset of the function names.
    name: i32,
    /// Where its mark is, from the entry of the function it is inlined
    /// into.
    parent_pc: u32,
}

/// Entry `index` of the inline tree `tree` bytes into `gofunc`.
fn inlined_call(gofunc: &[u8], tree: u32, index: usize) -> Option<InlinedCall> {
    let at = index
        .checked_mul(INLINED_CALL)?
        .checked_add(tree as usize)?;
    Some(InlinedCall {
        name: i32_at(gofunc, at.checked_add(4)?)?,
        parent_pc: u32_at(gofunc, at.checked_add(8)?)?,
    })
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
    fn inline_tree_entries() {
        let mut tree = vec![0u8; 8];
        // Entry 0 at offset 8: function ID and padding, name offset 0x1234,
        // parent pc 0x1b, start line 14.
        tree.extend([0, 0, 0, 0]);
        tree.extend(0x1234i32.to_le_bytes());
        tree.extend(0x1bu32.to_le_bytes());
        tree.extend(14u32.to_le_bytes());
        let call = inlined_call(&tree, 8, 0).unwrap();
        assert_eq!((call.name, call.parent_pc), (0x1234, 0x1b));
        // Past the end, or an offset that overflows: none.
        assert!(inlined_call(&tree, 8, 1).is_none());
        assert!(inlined_call(&tree, 16, 0).is_none());
        assert!(inlined_call(&tree, u32::MAX, usize::MAX).is_none());
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
