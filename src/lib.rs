//! leakcheck finds goroutines that outlive the Go test that started them.
//!
//! The pipeline, by stage: the [`runner`] lists packages and builds their
//! test binaries with the hook injected through `go test -overlay` ([`go`]:
//! the Go toolchain, the hook, test2json), and runs them; the hook sends
//! goroutine dumps to a listener whose comparator decides which goroutines
//! each test leaked ([`detect`]); reporters print the result and the
//! structured report holds it ([`output`]: also JUnit XML, GitHub
//! annotations, progress, colour, and merging shards' reports). Tests are
//! split across CI shards by [`partition`]; [`stress`] repeats them.
//!
//! From Rust: [`GoModule`] and [`GoPackage`] build, list and run Go tests
//! and return the same reports ([`api`]); test binaries are kept in a
//! [`cache`]; [`mimic`] makes every Go test a cargo and nextest test.
//!
//! For running services: [`inspect`] reads, groups and compares goroutine
//! dumps (`leakcheck inspect`, `diff`, `watch`).
pub mod api;
pub mod cache;
pub mod cli;
pub mod config;
pub mod detect;
pub mod duration;
pub mod error;
pub mod go;
pub mod inspect;
pub mod mimic;
pub mod output;
pub mod partition;
pub mod runner;
pub mod signals;
pub mod stress;

pub use api::{GoModule, GoPackage, LeakAssertions};
