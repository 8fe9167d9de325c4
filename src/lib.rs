//! leakcheck finds goroutines that outlive the Go test that started them.
//!
//! The pipeline: [`runner`] lists packages, builds their test binaries with
//! the [`harness`] helper injected through `go test -overlay`, and runs
//! them; the helper sends goroutine dumps to a [`listener`], whose
//! [`compare`] comparator decides which goroutines each test leaked; a
//! [`reporter`] prints the result and [`report`] holds the structured
//! report. For CI: [`junit`] XML, GitHub [`annotations`], [`partition`]
//! (sharding) and [`merge`] (of shards' reports); on a terminal,
//! [`progress`] and [`color`].
//!
//! From Rust: [`GoModule`] and [`GoPackage`] build, list and run Go tests
//! and return the same reports ([`api`]); test binaries are kept in a
//! [`cache`]; [`mimic`] makes every Go test a cargo and nextest test.
//!
//! For running services: [`inspect`] reads, groups and compares goroutine
//! dumps (`leakcheck inspect`, `diff`, `watch`).
pub mod annotations;
pub mod api;
pub mod baseline;
pub mod cache;
pub mod cli;
pub mod color;
pub mod compare;
pub mod config;
pub mod directives;
pub mod duration;
pub mod error;
pub mod goargs;
pub mod gocmd;
pub mod harness;
pub mod hints;
pub mod ignore;
pub mod inspect;
pub mod junit;
pub mod listener;
pub mod merge;
pub mod mimic;
pub mod outfile;
pub mod partition;
pub mod pclntab;
pub mod progress;
pub mod report;
pub mod reporter;
pub mod resources;
pub mod runner;
pub mod signals;
pub mod stack;
pub mod stress;
pub mod test2json;
pub mod testjson;

pub use api::{GoModule, GoPackage, LeakAssertions};
