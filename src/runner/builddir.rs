//! Where a run builds: the helper's generated files and the batched
//! builds' test binaries.
//!
//! When the run keeps its builds (the CLI does, under its cache
//! directory), they go into a directory kept between runs, one per module
//! and build configuration (`builds/KEY/`, KEY hashing the module root,
//! the Go version and GOROOT, leakcheck's version, the build flags and
//! the build environment). `go test -c -o DIR/` then finds the binaries of
//! unchanged packages up to date (cmd/go compares the build ID stored in
//! each binary with the one it would build) and does not link them again,
//! which is most of a warm `go test`'s time; the generated files are named
//! after their content, so an unchanged run writes none.
//!
//! A kept directory is used by one run at a time: a run holds an exclusive
//! lock on `KEY/lock` from the build until its last binary has exited. A
//! run that finds it locked (another leakcheck on the same module), or
//! cannot create it, builds in a temporary directory instead, as a run
//! that does not keep builds always does. At most [`KEEP_DIRS`] kept
//! directories are kept; the ones used least recently (and not locked)
//! are removed.
//!
//! Layout of `KEY/`: `lock`, `used` (touched by every run, for the
//! eviction order), `files/` (generated Go files), `bin/batchN/` (test
//! binaries, see `batch.rs`).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// How many kept directories survive (each holds one module's binaries).
pub(super) const KEEP_DIRS: usize = 8;

/// A run's build directory: kept and locked, or temporary.
pub(super) struct BuildDir {
    path: PathBuf,
    /// Held for the run's lifetime (kept directories).
    _lock: Option<File>,
    /// Removed when the run ends (temporary directories).
    _temp: Option<tempfile::TempDir>,
}

impl BuildDir {
    /// The kept directory for `key_parts` under `root/builds`, or a
    /// temporary one (see the module doc).
    pub(super) fn open(root: Option<&Path>, key_parts: &[&str]) -> std::io::Result<BuildDir> {
        if let Some(kept) = root.and_then(|root| Self::kept(&root.join("builds"), key_parts)) {
            return Ok(kept);
        }
        let temp = tempfile::Builder::new()
            .prefix("leakcheck-build-")
            .tempdir()?;
        Ok(BuildDir {
            path: temp.path().to_path_buf(),
            _lock: None,
            _temp: Some(temp),
        })
    }

    fn kept(builds: &Path, key_parts: &[&str]) -> Option<BuildDir> {
        let path = builds.join(key(key_parts));
        fs::create_dir_all(&path).ok()?;
        let lock = open_lock(&path)?;
        if fs4::FileExt::try_lock(&lock).is_err() {
            return None;
        }
        // An eviction may have moved the directory away between the open
        // and the lock: then the lock held is not the directory's.
        if !same_file(&lock, &path.join("lock")) {
            return None;
        }
        let _ = fs::write(path.join("used"), b"");
        evict(builds, KEEP_DIRS);
        Some(BuildDir {
            path,
            _lock: Some(lock),
            _temp: None,
        })
    }

    /// Generated Go files (the helper, renamed `TestMain` files).
    pub(super) fn files(&self) -> PathBuf {
        self.path.join("files")
    }

    /// Test binaries.
    pub(super) fn binaries(&self) -> PathBuf {
        self.path.join("bin")
    }
}

/// The directory name for one module and build configuration.
fn key(parts: &[&str]) -> String {
    crate::cache::sha256_hex(parts.join("\0").as_bytes())[..20].to_string()
}

fn open_lock(dir: &Path) -> Option<File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .ok()
}

/// Whether the open `file` is the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Removes the least recently used directories of `builds` beyond `keep`.
/// A directory is removed only under its lock, so never while another run
/// holds it, and moved aside first, so a run that starts on it meanwhile
/// makes a new one; one without `used` (being created) is left alone.
fn evict(builds: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(builds) else {
        return;
    };
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let used = fs::metadata(e.path().join("used")).and_then(|m| m.modified());
            Some((used.ok()?, e.path()))
        })
        .collect();
    if dirs.len() <= keep {
        return;
    }
    dirs.sort();
    let excess = dirs.len() - keep;
    for (n, (_, dir)) in dirs.into_iter().take(excess).enumerate() {
        let Some(lock) = open_lock(&dir) else {
            continue;
        };
        if fs4::FileExt::try_lock(&lock).is_err() || !same_file(&lock, &dir.join("lock")) {
            continue;
        }
        let trash = builds.join(format!(".evicted-{}-{n}", std::process::id()));
        if fs::rename(&dir, &trash).is_ok() {
            let _ = fs::remove_dir_all(&trash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_directory_is_reused_and_locked() {
        let root = tempfile::tempdir().unwrap();
        let parts = ["/m", "go1.26.8"];
        let first = BuildDir::open(Some(root.path()), &parts).unwrap();
        assert!(first.path.starts_with(root.path().join("builds")));
        // Held: a second run on the same module builds elsewhere.
        let second = BuildDir::open(Some(root.path()), &parts).unwrap();
        assert!(!second.path.starts_with(root.path()));
        let other = BuildDir::open(Some(root.path()), &["/other", "go1.26.8"]).unwrap();
        assert!(other.path.starts_with(root.path()));
        assert_ne!(other.path, first.path);
        let path = first.path.clone();
        drop(first);
        let again = BuildDir::open(Some(root.path()), &parts).unwrap();
        assert_eq!(again.path, path);
    }

    #[test]
    fn without_a_root_builds_are_temporary() {
        let dir = BuildDir::open(None, &["/m"]).unwrap();
        let path = dir.path.clone();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn eviction_keeps_the_most_recent_and_the_locked() {
        let root = tempfile::tempdir().unwrap();
        let builds = root.path().join("builds");
        let held = BuildDir::open(Some(root.path()), &["held"]).unwrap();
        // Make the held one the oldest.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        File::options()
            .write(true)
            .open(held.path.join("used"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut dirs = Vec::new();
        for i in 0..3 {
            let d = BuildDir::open(Some(root.path()), &[&format!("m{i}")]).unwrap();
            dirs.push(d.path.clone());
            let when = old + std::time::Duration::from_secs(10 + i);
            File::options()
                .write(true)
                .open(d.path.join("used"))
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        // Being created by another run: no `used` yet.
        let fresh = builds.join("fresh");
        fs::create_dir_all(&fresh).unwrap();
        evict(&builds, 2);
        assert!(fresh.is_dir(), "a directory being created is left alone");
        assert!(held.path.is_dir(), "a held directory is never removed");
        assert!(!dirs[0].exists(), "the least recently used goes");
        assert!(dirs[1].is_dir() && dirs[2].is_dir());
    }
}
