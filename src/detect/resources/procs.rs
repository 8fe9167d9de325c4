//! Processes: which processes belong to a test binary (its descendants,
//! and what is left in its process group after their parent exited: a
//! `sh -c 'cmd &'` leaves `cmd` to init, still in the group), from
//! `/proc/PID/stat`. A daemon leaves the group too (a double fork and
//! `setsid`): [`adopt_orphans`] makes the test binary a child subreaper,
//! so that it is reparented to the binary, not to init, and stays its
//! descendant. Only [`scan`], [`cmdline`], [`kill`] and
//! [`adopt_orphans`] touch the system; the rest is pure.

use std::collections::{BTreeMap, HashMap};

/// A process, from `/proc/PID/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    /// `R`, `S`, `D`, `Z` (exited, not waited for), ...
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Clock ticks after boot: with the pid, names a process for good.
    pub starttime: u64,
}

/// Parses the text of `/proc/PID/stat`. The command name is in
/// parentheses and may hold spaces and parentheses itself.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); starttime is field 22.
    Some(ProcStat {
        pid,
        comm,
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        starttime: rest.get(19)?.parse().ok()?,
    })
}

/// A process for good: its pid and start time (pids are reused).
pub type ProcId = (u32, u64);

/// The processes of the test binary `root` (not itself): its descendants,
/// and the processes of its process group whatever their parent, that
/// have not exited (zombies are left out: they are dead, and their
/// parent's business). By [`ProcId`], with their command names.
pub fn belonging_to(all: &[ProcStat], root: u32) -> BTreeMap<ProcId, String> {
    let by_pid: HashMap<u32, &ProcStat> = all.iter().map(|p| (p.pid, p)).collect();
    let Some(group) = by_pid.get(&root).map(|r| r.pgrp) else {
        return BTreeMap::new();
    };
    let descends = |p: &ProcStat| {
        let mut pid = p.ppid;
        // Bounded: a cycle cannot happen, but a racy read should not loop.
        for _ in 0..64 {
            if pid == root {
                return true;
            }
            match by_pid.get(&pid) {
                Some(parent) if parent.ppid != pid => pid = parent.ppid,
                _ => return false,
            }
        }
        false
    };
    all.iter()
        .filter(|p| p.pid != root && p.state != 'Z' && (p.pgrp == group || descends(p)))
        .map(|p| ((p.pid, p.starttime), p.comm.clone()))
        .collect()
}

/// Every process's stat (those that exit while they are read are left
/// out).
pub fn scan() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let name = e.file_name();
        let name = name.to_str()?;
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parse_stat(&std::fs::read_to_string(format!("/proc/{name}/stat")).ok()?)
    })
    .collect()
}

/// A process's command line, arguments joined by spaces (its command name
/// in brackets when it has none, as ps shows kernel threads).
pub fn cmdline(pid: u32, comm: &str) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if args.is_empty() {
        format!("[{comm}]")
    } else {
        args.join(" ")
    }
}

/// Kills process `id` with SIGKILL if it is still the same process (its
/// start time unchanged) and alive; says whether it did.
pub fn kill(id: ProcId) -> bool {
    let (pid, starttime) = id;
    let same = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
        .is_some_and(|p| p.starttime == starttime && p.state != 'Z');
    // SAFETY: kill(2) has no memory-safety preconditions; the process was
    // checked to be the one found leaked just before.
    same && unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0
}

/// Makes the process `cmd` starts a child subreaper
/// (`PR_SET_CHILD_SUBREAPER`, kept across `exec`): a process that loses
/// its parent among the test binary's descendants is reparented to the
/// binary, not to init. The binary never waits for such a process: one
/// that ends is a zombie (not counted) until the binary exits.
/// Linux only, as the check (elsewhere `--check processes` is a usage
/// error, and this does nothing).
pub fn adopt_orphans(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe: nothing else runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured: `cat /proc/self/stat`, and a command name with spaces
    // and parentheses.
    const CAT: &str = "19185 (cat) R 19178 19178 12559 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 3379960 3133440 395 18446744073709551615 94096404033536 94096404053417 140730410960288 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94096404069424 94096404071040 94096717434880 140730410965699 140730410965719 140730410965719 140730410967019 0\n";

    fn stat(pid: u32, state: char, ppid: u32, pgrp: u32) -> ProcStat {
        ProcStat {
            pid,
            comm: format!("p{pid}"),
            state,
            ppid,
            pgrp,
            starttime: 1000 + u64::from(pid),
        }
    }

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let p = parse_stat(CAT).unwrap();
        assert_eq!(
            (p.pid, p.comm.as_str(), p.state, p.ppid, p.pgrp, p.starttime),
            (19185, "cat", 'R', 19178, 19178, 3379960)
        );
        let odd = CAT.replace("(cat)", "(a (b) c)");
        let p = parse_stat(&odd).unwrap();
        assert_eq!((p.comm.as_str(), p.ppid), ("a (b) c", 19178));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_binary_owns_its_descendants_and_its_groups_orphans() {
        let all = vec![
            stat(1, 'S', 0, 1),
            stat(100, 'S', 50, 100),  // the test binary, its own group
            stat(101, 'S', 100, 100), // its child
            stat(102, 'S', 101, 101), // a grandchild in a group of its own
            stat(103, 'S', 1, 100),   // an orphan left in its group
            stat(104, 'Z', 100, 100), // exited, never waited for
            stat(105, 'S', 1, 105),   // someone else's
            stat(50, 'S', 1, 50),     // leakcheck
        ];
        let owned: Vec<u32> = belonging_to(&all, 100).keys().map(|k| k.0).collect();
        assert_eq!(owned, [101, 102, 103]);
        assert!(belonging_to(&all, 999).is_empty());
    }

    #[test]
    fn this_process_is_found_and_described() {
        let me = std::process::id();
        let all = scan();
        let p = all.iter().find(|p| p.pid == me).expect("this process");
        assert!(cmdline(me, &p.comm).contains("leakcheck"));
    }
}
