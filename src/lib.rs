//! leakcheck finds goroutines that outlive the Go test that started them.
//!
//! The pipeline: [`runner`] lists packages, builds their test binaries with
//! the [`harness`] helper injected through `go test -overlay`, and runs
//! them; the helper sends goroutine dumps to a [`listener`], whose
//! [`compare`] comparator decides which goroutines each test leaked; a
//! [`reporter`] prints the result and [`report`] holds the structured
//! report.
pub mod cli;
pub mod compare;
pub mod duration;
pub mod error;
pub mod goargs;
pub mod gocmd;
pub mod harness;
pub mod ignore;
pub mod listener;
pub mod report;
pub mod reporter;
pub mod runner;
pub mod stack;
pub mod testjson;
