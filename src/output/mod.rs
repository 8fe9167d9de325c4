//! The output stage: what a run reports and how. The structured
//! [`report`] (`--report`), the printers that consume the runner's events
//! ([`reporter`]: human and `--json`), JUnit XML ([`junit`]), GitHub
//! [`annotations`], the terminal's [`progress`] and [`color`], output
//! files checked before a run ([`outfile`]), and merging shards' reports
//! ([`merge`]).

pub mod annotations;
pub mod color;
pub mod junit;
pub mod merge;
pub mod outfile;
pub mod progress;
pub mod report;
pub mod reporter;
