//! The Go toolchain stage: everything that speaks Go's formats or runs
//! `go`. Splitting `go test`'s arguments ([`args`]), the `go`
//! subprocesses ([`cmd`]), the hook put into the `testing` package
//! ([`harness`]), a test binary's output turned into `go test -json`
//! events ([`test2json`], [`testjson`]), and a test binary's line table
//! ([`pclntab`]).

pub mod args;
pub mod cmd;
pub mod harness;
pub mod pclntab;
pub mod test2json;
pub mod testjson;
