//! The messages of pprof's `profile.proto` (github.com/google/pprof,
//! `proto/profile.proto`) that a goroutine profile at `debug=0` uses, as
//! prost messages, and their reading into [`Record`]s.
//!
//! The field numbers are profile.proto's; prost skips fields it is not
//! told about, so the messages list every field a Go runtime writes. No
//! I/O: the bytes come in already un-gzipped.

use std::collections::HashMap;

use prost::Message;

use super::parse::Record;
use crate::detect::compare::Location;

/// `Profile`, profile.proto's top-level message.
#[derive(Clone, PartialEq, Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<ProtoLocation>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// `ValueType`: a sample value's type and unit, as string-table indexes.
#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `Sample`: one stack (leaf first) and its values (for a goroutine
/// profile, one: how many goroutines have that stack).
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// `Label`: a pprof label of a sample.
#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// `Mapping`: a mapped binary (unused here, decoded for completeness).
#[derive(Clone, PartialEq, Message)]
pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// `Location`: a program counter and the source lines at it; several
/// lines when calls were inlined there, the innermost first.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoLocation {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// `Line`: a function and a line in it.
#[derive(Clone, PartialEq, Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
    #[prost(int64, tag = "3")]
    pub column: i64,
}

/// `Function`: names and file, as string-table indexes.
#[derive(Clone, PartialEq, Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// Decodes an (un-gzipped) profile and reads its samples as records.
/// Returns the profile's name (its sample type: `goroutine` or
/// `goroutineleak`) and one record per sample.
pub fn read(bytes: &[u8]) -> Result<(String, Vec<Record>), String> {
    let p = Profile::decode(bytes).map_err(|e| format!("not a pprof profile ({e})"))?;
    let string = |i: i64| -> Result<&str, String> {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map(String::as_str)
            .ok_or_else(|| format!("corrupt pprof profile: string index {i} out of range"))
    };
    let kind = match p.sample_type.first() {
        Some(t) => string(t.r#type)?.to_string(),
        None => return Err("a pprof profile without sample types".into()),
    };
    if kind != "goroutine" && kind != "goroutineleak" {
        return Err(format!("a {kind:?} pprof profile, not a goroutine profile"));
    }
    let functions: HashMap<u64, &Function> = p.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &ProtoLocation> = p.location.iter().map(|l| (l.id, l)).collect();
    let mut records = Vec::with_capacity(p.sample.len());
    for s in &p.sample {
        let count = match s.value.first() {
            Some(&v) => usize::try_from(v)
                .map_err(|_| format!("corrupt pprof profile: a sample counts {v} goroutines"))?,
            None => return Err("corrupt pprof profile: a sample without a value".into()),
        };
        let mut frames = Vec::new();
        for id in &s.location_id {
            let loc = locations
                .get(id)
                .ok_or_else(|| format!("corrupt pprof profile: no location {id}"))?;
            for line in &loc.line {
                let f = functions.get(&line.function_id).ok_or_else(|| {
                    format!("corrupt pprof profile: no function {}", line.function_id)
                })?;
                frames.push(Location {
                    function: string(f.name)?.to_string(),
                    file: string(f.filename)?.to_string(),
                    line: u32::try_from(line.line).unwrap_or(0),
                });
            }
        }
        records.push(Record {
            count,
            state: None,
            leaked: kind == "goroutineleak",
            wait_minutes: None,
            frames,
            created_by: None,
            ancestors: Vec::new(),
            id: None,
            parent: None,
        });
    }
    Ok((kind, records))
}
