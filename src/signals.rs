//! Signals, and the processes leakcheck starts. SIGINT, SIGTERM and SIGHUP
//! stop a run: no new package starts, builds and test binaries are
//! killed at once, and the reports are written with what finished; leakcheck then
//! exits 128 + the signal's number (130, 143, 129). A second signal quits
//! at once, killing the children first.
//!
//! Every child (`go` builds, test binaries) runs in a process group of its
//! own ([`own_group`]), so that a signal sent to leakcheck alone (as CI
//! runners and `timeout` send it) does not reach them behind its back,
//! and so that killing a child kills what it started too (the compiler
//! under `go`, helper processes under a test binary). Builds keep the go
//! command's work directories (GOTMPDIR) in a directory of leakcheck's
//! ([`with_build_tmpdir`]), so that a build killed midway leaves no
//! `go-build…` directory behind; a second signal removes it and the runs'
//! temporary directories ([`temp_dir`]) before quitting.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// The first stopping signal received, 0 if none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The process groups of the children alive (each child leads its own).
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Temporary directories of runs going on, removed on a second signal.
static TEMP_DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// The directory builds keep their work directories in, once
/// [`install`] made it.
static GO_TMPDIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// A run's temporary directory, removed on a second signal until the
/// guard returned drops (the run removes it itself then).
pub fn temp_dir(dir: &std::path::Path) -> TempDirGuard {
    dirs().push(dir.to_path_buf());
    TempDirGuard(dir.to_path_buf())
}

/// See [`temp_dir`].
pub struct TempDirGuard(std::path::PathBuf);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        dirs().retain(|d| *d != self.0);
    }
}

fn dirs() -> std::sync::MutexGuard<'static, Vec<std::path::PathBuf>> {
    TEMP_DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

/// `expr` (a `go` build) with its work directories in leakcheck's own
/// temporary directory (when [`install`] made one, and unless the user
/// chose GOTMPDIR): a build killed midway leaves them there, and
/// [`remove_temp_dirs`] removes them.
pub fn with_build_tmpdir(expr: duct::Expression) -> duct::Expression {
    match GO_TMPDIR.get() {
        Some(d) if std::env::var_os("GOTMPDIR").is_none_or(|v| v.is_empty()) => {
            expr.env("GOTMPDIR", d)
        }
        _ => expr,
    }
}

/// Removes the builds' work directories' home (at the end of the
/// command, and on a second signal).
pub fn remove_temp_dirs() {
    if let Some(d) = GO_TMPDIR.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Handles SIGINT, SIGTERM and SIGHUP from now on (see the module doc).
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    if let Ok(dir) = tempfile::Builder::new().prefix("leakcheck-go-").tempdir() {
        let _ = GO_TMPDIR.set(dir.keep());
    }
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
                kill_all();
                for d in dirs().iter() {
                    let _ = std::fs::remove_dir_all(d);
                }
                remove_temp_dirs();
                std::process::exit(128 + sig);
            }
            let name = match sig {
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "interrupted",
            };
            eprintln!("\nleakcheck: {name}; writing what finished (again to quit now)");
            // Set before the children are killed: one started meanwhile
            // sees it (see `started`).
            crate::runner::interrupt();
            kill_all();
        }
    });
}

/// The exit code of a stopped run: 128 + the signal (130 for Ctrl-C, and
/// for a stop that came without a signal).
pub fn exit_code() -> i32 {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => crate::error::EXIT_INTERRUPTED,
        sig => 128 + sig,
    }
}

/// Makes `cmd` start in a process group of its own (its pid is the
/// group's ID); [`started`] then registers it.
pub fn own_group(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

/// A child started with [`own_group`]: killed with its group on a
/// signal, until [`ended`] (at once, if the run was stopped already).
pub fn started(pid: u32) {
    lock().push(pid as i32);
    if crate::runner::interrupted() {
        kill_group(pid);
    }
}

/// The child `pid` was reaped.
pub fn ended(pid: u32) {
    lock().retain(|&p| p != pid as i32);
}

/// Kills child `pid`'s whole process group.
pub fn kill_group(pid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` leads a
    // group of ours that has not been reaped (see `started`/`ended`).
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}

/// Kills every child's process group.
pub fn kill_all() {
    for pid in lock().iter() {
        kill_group(*pid as u32);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}
