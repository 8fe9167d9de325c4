//! Output files (`--report`, `--junit`, `--write-baseline`, and
//! `merge-reports -o`): checked before a run starts, so that a path that
//! cannot be written is found in a second, not after the whole run; and
//! written atomically (a temporary file beside the target, then a rename),
//! so that a full disk or a crash leaves the old file, or none, never a
//! truncated one.

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Checks that `path` (the value of option `flag`) can be written: its
/// directory exists and takes a new file, and it is not a directory.
pub fn check_writable(flag: &str, path: &Path) -> Result<(), Error> {
    let bad = |why: String| Err(Error::Usage(format!("{flag} {}: {why}", path.display())));
    if path.is_dir() {
        return bad("is a directory".into());
    }
    let dir = parent(path);
    if !dir.is_dir() {
        return bad(format!("no such directory: {}", dir.display()));
    }
    match tempfile::Builder::new()
        .prefix(".leakcheck-")
        .tempfile_in(dir)
    {
        Ok(_) => Ok(()),
        Err(e) => bad(format!("cannot write in {}: {e}", dir.display())),
    }
}

/// Writes `bytes` to `path` atomically; `what` names the file in errors
/// ("report", "JUnit report").
pub fn write_atomic(what: &str, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |e: std::io::Error| Error::io(format!("writing {what} {}", path.display()), e);
    let mut file = tempfile::Builder::new()
        .prefix(".leakcheck-")
        .tempfile_in(parent(path))
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.as_file().sync_all().map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As a file the user's shell would create (the temporary file is
        // private).
        let mode = 0o666 & !umask();
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    file.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// The directory `path` goes in.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The process's umask (read by setting it and setting it back; no
/// thread of leakcheck's creates files meanwhile).
#[cfg(unix)]
fn umask() -> u32 {
    // SAFETY: umask(2) cannot fail.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_replaces_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "old").unwrap();
        write_atomic("report", &path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn unwritable_paths_are_found_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/r.json");
        let e = check_writable("--report", &missing)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--report") && e.contains("no such directory"),
            "{e}"
        );
        let e = check_writable("--junit", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a directory"), "{e}");
        assert!(check_writable("--report", &dir.path().join("r.json")).is_ok());
        // The check leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_full_disk_leaves_the_old_file() {
        // /dev/full fails every write; its directory takes no new files,
        // so write where it can and check the error path with a file that
        // cannot be renamed over: a non-empty directory.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        assert!(write_atomic("report", &target, b"new").is_err());
        assert_eq!(std::fs::read_to_string(target.join("keep")).unwrap(), "x");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "the temporary file is removed");
    }
}
