//! Every Go test in go/ as a cargo test (`import/path::TestName`), with
//! leak checking: `cargo test --test go`, or `cargo nextest run`.
fn main() -> std::process::ExitCode {
    leakcheck::mimic::main(leakcheck::GoModule::new("go"))
}
