//! The `leakcheck` command: parses, runs, prints one error, exits.
fn main() {
    std::process::exit(leakcheck::cli::main_with(std::env::args_os()));
}
