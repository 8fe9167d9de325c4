//! Goroutine dumps of running services: `leakcheck inspect`, `diff` and
//! `watch`, the same engine that judges tests ([`crate::detect::stack`]'s parser,
//! [`crate::detect::compare`]'s choice of blocking frame) applied to a live
//! service's pprof endpoint or a dump saved from one.
//!
//! This module owns those three subcommands. Its stages: [`source`] gets a
//! dump's bytes (file, standard input, HTTP); [`parse`] tells the formats
//! apart and reads them ([`profile`] for the gzipped protobuf); [`group`]
//! decides which goroutines are the same and what grew; [`print`](mod@print) writes
//! the result; [`command`] parses the command lines and runs the stages.
//!
//! # Formats read
//! `runtime.Stack` text (`/debug/pprof/goroutine?debug=2`, also of the
//! `goroutineleak` profile, whose `(leaked)` goroutines are marked proven),
//! a panic, fatal error or SIGQUIT traceback, grouped text (`?debug=1`),
//! and the gzipped protobuf (`?debug=0`, pprof's `profile.proto`). The last
//! two show no states, wait times or creation sites: their groups have
//! only a blocking frame.
//!
//! # Groups
//! Goroutines are one group when they share their state, whether the
//! garbage collector proved them leaked, their blocking frame (the
//! innermost frame in the user's code, else the innermost one of the
//! standard library outside the runtime), their creation site, and, for
//! goroutines created inside the standard library in a dump with creation
//! chains (`GODEBUG=tracebackancestors=N`), their origin: the innermost
//! user-code frame of that chain. Groups are sorted by count, largest
//! first. `diff` and `watch` match groups on where their goroutines are:
//! blocking frame, and creation site and origin when every dump compared
//! shows them; not on their state (a live goroutine's changes from one
//! moment to the next: they show the state most of the group's goroutines
//! are in, in the latest dump), nor on the leaked marker. They leave out
//! the goroutines a dump's own request
//! makes (the writer, net/http's background reader of that request,
//! goroutines not yet started: [`group::made_by_dump`]).
//!
//! # JSON
//! Each is one line on stdout. Locations are
//! `{"function": "main.query", "file": "/abs/main.go", "line": 43}`;
//! `state` is `null` in `debug=1` and `debug=0` profiles, `created_by` is
//! `null` there and for goroutines without a creator (the main
//! goroutine), `origin` is `null` without creation chains.
//!
//! `inspect --json`:
//! ```json
//! {"format": "debug=2", "profile": null, "total": 11,
//!  "groups": [{"count": 5, "state": "chan send", "leaked": false,
//!              "blocked_minutes": 12, "older": 5,
//!              "function": "main.query.func1", "file": "/src/svc/main.go", "line": 44,
//!              "created_by": {"function": "main.query", "file": "/src/svc/main.go", "line": 43},
//!              "origin": null}]}
//! ```
//! `format` is `debug=2`, `crash`, `debug=1` or `debug=0`; `profile` is
//! `goroutine` or `goroutineleak` where the dump says (not in stack text);
//! `blocked_minutes` is the longest any of the group has been blocked
//! (whole minutes, `null` under one minute or where the format has no wait
//! times); `older`, only with `--older-than D`, counts the group's
//! goroutines known to be blocked at least D. Exit 1 when `older` is more
//! than 0 in a group.
//!
//! `diff --json`:
//! ```json
//! {"before_total": 11, "after_total": 61, "threshold": 0,
//!  "groups": [{"before": 5, "after": 55, "delta": 50, "state": "chan send",
//!              "function": "main.query.func1", "file": "/src/svc/main.go", "line": 44,
//!              "created_by": {"function": "main.query", "file": "/src/svc/main.go", "line": 43},
//!              "origin": null}]}
//! ```
//! Every group of either dump, by `delta`, largest first (the grown, then
//! the unchanged, then the shrunk). Exit 1 when a `delta` is more than
//! `--threshold`.
//!
//! `watch --json`:
//! ```json
//! {"url": "http://127.0.0.1:6060/debug/pprof/goroutine?debug=2",
//!  "samples": [{"at_ms": 0, "total": 11}, {"at_ms": 10000, "total": 21}],
//!  "rising": [{"counts": [5, 15], "first": 5, "last": 15, "delta": 10,
//!              "state": "chan send", "function": "main.query.func1",
//!              "file": "/src/svc/main.go", "line": 44,
//!              "created_by": {"function": "main.query", "file": "/src/svc/main.go", "line": 43},
//!              "origin": null}]}
//! ```
//! `url` is the URL sampled (with its `debug=`); `rising` holds the groups
//! whose count never fell from one sample to the next and was higher in
//! the last than in the first, largest rise first. Exit 1 when there is
//! one.
#[cfg(test)]
mod captured;
pub mod command;
pub mod group;
pub mod parse;
pub mod print;
pub mod profile;
pub mod source;
