//! leakcheck's errors, and the one place that maps outcomes to exit codes.
//!
//! Exit codes:
//! - 0: all tests passed and nothing leaked;
//! - 1: a test failed, leaked, hung or crashed;
//! - 2: leakcheck could not do its job (usage error, no Go toolchain, no Go
//!   module, a package failed to build, an I/O error, a goroutine dump it
//!   cannot read).
//!
//! `inspect`, `diff` and `watch` use 1 for what they flag (see
//! [`crate::inspect`]).
//!
//! When several apply, the highest wins. A run stopped by a signal exits
//! with 128 + it (Ctrl-C: 130, SIGTERM: 143) after writing what finished
//! (see [`crate::signals`]).

use std::path::PathBuf;

/// Exit code: everything passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: a test failed or leaked.
pub const EXIT_TESTS_FAILED: i32 = 1;
/// Exit code: leakcheck could not do its job.
pub const EXIT_ERROR: i32 = 2;
/// Exit code: interrupted without a signal's number to add to 128 (as
/// Ctrl-C's); the reports hold what finished.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Why leakcheck could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("no `go` command found on PATH: install Go 1.21 or later (https://go.dev/dl/)")]
    NoGo,
    #[error("{0} is not supported: leakcheck needs Go 1.21 or later")]
    UnsupportedGo(String),
    #[error("{dir} is not in a Go module (no go.mod found here or above): run leakcheck from your module, or pass -C DIR")]
    NotInModule { dir: PathBuf },
    #[error("no packages to test: {0}")]
    NoPackages(String),
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    /// A goroutine dump that `inspect`, `diff` or `watch` cannot read (not
    /// a dump, truncated, an endpoint that failed): one line, naming the
    /// source.
    #[error("{0}")]
    Input(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Every error means leakcheck could not do its job.
    pub fn exit_code(&self) -> i32 {
        EXIT_ERROR
    }
}
