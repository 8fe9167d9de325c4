//! File descriptors: what a process has open (`/proc/PID/fd`), what each
//! one is (a file's path; a socket's protocol and addresses from
//! `/proc/PID/net/{tcp,tcp6,udp,udp6,unix}`, found by inode; a pipe), and
//! the descriptions the report gives them. Only [`read_fds`] and
//! [`read_sockets`] read `/proc`; the rest is pure.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::ResourceKind;

/// A process's open descriptors: number → what `readlink` shows
/// (`/abs/path`, `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[...]`).
pub type FdSet = BTreeMap<u32, String>;

/// The descriptors of process `pid`, from `/proc/PID/fd`. One that closes
/// while they are read is left out.
pub fn read_fds(pid: u32) -> std::io::Result<FdSet> {
    let mut set = FdSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let Ok(entry) = entry else { continue };
        let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Ok(target) = std::fs::read_link(entry.path()) {
            set.insert(fd, target.to_string_lossy().into_owned());
        }
    }
    Ok(set)
}

/// What a descriptor is, by its link target.
pub fn kind_of(target: &str) -> ResourceKind {
    if target.starts_with("socket:[") {
        ResourceKind::Socket
    } else if target.starts_with("pipe:[") {
        ResourceKind::Pipe
    } else if target.starts_with('/') {
        ResourceKind::File
    } else {
        ResourceKind::Other
    }
}

/// The Go runtime's own descriptors, never a test's leak: the poller's
/// epoll instance. (The hook opens the poller, and its eventfd or pipe,
/// before any test; this is for a release that would open more.)
pub fn is_runtimes(target: &str) -> bool {
    target == "anon_inode:[eventpoll]"
}

/// The inode of `socket:[INODE]` or `pipe:[INODE]`.
pub fn inode_of(target: &str) -> Option<u64> {
    let rest = target
        .strip_prefix("socket:[")
        .or_else(|| target.strip_prefix("pipe:["))?;
    rest.strip_suffix(']')?.parse().ok()
}

/// A socket as `/proc/net` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// `tcp`, `tcp6`, `udp`, `udp6`, `unix`.
    pub protocol: String,
    pub local: String,
    /// Empty when not connected.
    pub remote: String,
    /// TCP's state (`LISTEN`, `ESTABLISHED`, `CLOSE_WAIT`...), else empty.
    pub state: String,
}

/// Sockets by inode, from the text of `/proc/net/tcp`, `tcp6`, `udp` or
/// `udp6` (`protocol` names which).
pub fn parse_inet(protocol: &str, text: &str) -> HashMap<u64, SocketInfo> {
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let (Some(local), Some(remote), Ok(inode)) =
            (inet_addr(f[1]), inet_addr(f[2]), f[9].parse::<u64>())
        else {
            continue;
        };
        if inode == 0 {
            continue;
        }
        let tcp = protocol.starts_with("tcp");
        let state = if tcp { tcp_state(f[3]) } else { "" };
        let connected = !remote.ends_with(":0");
        out.insert(
            inode,
            SocketInfo {
                protocol: protocol.to_string(),
                local,
                remote: if connected { remote } else { String::new() },
                state: state.to_string(),
            },
        );
    }
    out
}

/// Unix sockets by inode, from the text of `/proc/net/unix`.
pub fn parse_unix(text: &str) -> HashMap<u64, SocketInfo> {
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let Ok(inode) = f[6].parse::<u64>() else {
            continue;
        };
        let listening = f[3] == "00010000";
        out.insert(
            inode,
            SocketInfo {
                protocol: "unix".into(),
                local: f.get(7).map_or(String::new(), |p| p.to_string()),
                remote: String::new(),
                state: if listening {
                    "LISTEN".into()
                } else {
                    String::new()
                },
            },
        );
    }
    out
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the
/// kernel prints them: each 32-bit word in host (little-endian) order.
fn inet_addr(field: &str) -> Option<String> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Option<Vec<u32>> = (0..addr.len() / 8)
        .map(|i| {
            u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16)
                .ok()
                .map(u32::swap_bytes)
        })
        .collect();
    let words = words?;
    match words.len() {
        1 => Some(format!("{}:{port}", Ipv4Addr::from(words[0]))),
        4 => {
            let mut bytes = [0u8; 16];
            for (i, w) in words.iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
            }
            Some(format!("[{}]:{port}", Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

fn tcp_state(hex: &str) -> &'static str {
    match hex {
        "01" => "ESTABLISHED",
        "02" => "SYN_SENT",
        "03" => "SYN_RECV",
        "04" => "FIN_WAIT1",
        "05" => "FIN_WAIT2",
        "06" => "TIME_WAIT",
        "07" => "CLOSE",
        "08" => "CLOSE_WAIT",
        "09" => "LAST_ACK",
        "0A" => "LISTEN",
        "0B" => "CLOSING",
        _ => "",
    }
}

/// Every socket process `pid` can see in its network namespace, by inode.
pub fn read_sockets(pid: u32) -> HashMap<u64, SocketInfo> {
    let mut all = HashMap::new();
    for protocol in ["tcp", "tcp6", "udp", "udp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{protocol}")) {
            all.extend(parse_inet(protocol, &text));
        }
    }
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/unix")) {
        all.extend(parse_unix(&text));
    }
    all
}

/// A descriptor's description in the report: `/abs/path`, `tcp
/// 127.0.0.1:41234 -> 127.0.0.1:8080 (ESTABLISHED)`, `tcp 127.0.0.1:8080
/// listening`, `pipe`, `anon_inode:[pidfd]`.
pub fn describe(target: &str, sockets: &HashMap<u64, SocketInfo>) -> String {
    match kind_of(target) {
        ResourceKind::Socket => match inode_of(target).and_then(|i| sockets.get(&i)) {
            Some(s) if s.state == "LISTEN" => format!("{} {} listening", s.protocol, s.local),
            Some(s) if !s.remote.is_empty() => {
                let state = if s.state.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.state)
                };
                format!("{} {} -> {}{state}", s.protocol, s.local, s.remote)
            }
            Some(s) if s.local.is_empty() => format!("{} socket", s.protocol),
            Some(s) => format!("{} {}", s.protocol, s.local),
            // Not in /proc/net (closed meanwhile, or a protocol it does
            // not list): the link's own words.
            None => target.to_string(),
        },
        ResourceKind::Pipe => target.to_string(),
        _ => target.to_string(),
    }
}

/// What alike descriptors share, to report them as one entry: a
/// connection's description with its local port left out (`tcp
/// 127.0.0.1:* -> 127.0.0.1:8080 (CLOSE_WAIT)`: a pool's connections to
/// one server); any other description as it is.
pub fn group_key(description: &str) -> String {
    let Some((local, rest)) = description.split_once(" -> ") else {
        return description.to_string();
    };
    match local.rsplit_once(':') {
        Some((addr, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{addr}:* -> {rest}")
        }
        _ => description.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from a process with a TCP listener on 127.0.0.1:53741, a
    // connection to it (both ends), an IPv6 listener on [::1]:35549, a
    // UDP socket on 127.0.0.1:58830 and a Unix listener, plus a
    // TIME_WAIT entry of another process (inode 0).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:D1ED 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2910174 1 00000000fc6b2fc7 100 0 0 10 0
   2: 0100007F:B8F0 0100007F:D1ED 01 00000000:00000000 00:00000000 00000000     0        0 2910175 2 00000000a8a958bc 20 0 0 10 -1
   3: 0100007F:98E6 0100007F:DD9B 06 00000000:00000000 03:000014CE 00000000     0        0 0 3 00000000bb6b7add
   5: 0100007F:D1ED 0100007F:B8F0 01 00000000:00000000 00:00000000 00000000     0        0 2910176 1 00000000aab0dd0c 20 0 0 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:8ADD 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2910177 1 000000000ba13ebc 100 0 0 10 0
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 7349: 0100007F:E5CE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2910179 2 0000000015d4ba25 0
";
    const UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path
000000008bb59185: 00000003 00000000 00000000 0001 03   573
000000004d12989c: 00000002 00000000 00010000 0001 01 2910178 /tmp/lc-sample.sock
";

    fn sockets() -> HashMap<u64, SocketInfo> {
        let mut all = parse_inet("tcp", TCP);
        all.extend(parse_inet("tcp6", TCP6));
        all.extend(parse_inet("udp", UDP));
        all.extend(parse_unix(UNIX));
        all
    }

    #[test]
    fn sockets_are_described_by_inode_with_their_addresses() {
        let s = sockets();
        assert_eq!(
            describe("socket:[2910174]", &s),
            "tcp 127.0.0.1:53741 listening"
        );
        assert_eq!(
            describe("socket:[2910175]", &s),
            "tcp 127.0.0.1:47344 -> 127.0.0.1:53741 (ESTABLISHED)"
        );
        assert_eq!(
            describe("socket:[2910176]", &s),
            "tcp 127.0.0.1:53741 -> 127.0.0.1:47344 (ESTABLISHED)"
        );
        assert_eq!(
            describe("socket:[2910177]", &s),
            "tcp6 [::1]:35549 listening"
        );
        assert_eq!(describe("socket:[2910179]", &s), "udp 127.0.0.1:58830");
        assert_eq!(
            describe("socket:[2910178]", &s),
            "unix /tmp/lc-sample.sock listening"
        );
        assert_eq!(describe("socket:[573]", &s), "unix socket");
        // Gone from /proc/net by the time it is read.
        assert_eq!(describe("socket:[1]", &s), "socket:[1]");
        // The TIME_WAIT entry has no inode: not anyone's socket.
        assert!(!s.contains_key(&0));
    }

    #[test]
    fn descriptors_are_classified_by_their_link() {
        assert_eq!(kind_of("/tmp/x.txt"), ResourceKind::File);
        assert_eq!(kind_of("socket:[12]"), ResourceKind::Socket);
        assert_eq!(kind_of("pipe:[13]"), ResourceKind::Pipe);
        assert_eq!(kind_of("anon_inode:[pidfd]"), ResourceKind::Other);
        assert_eq!(inode_of("pipe:[13]"), Some(13));
        assert_eq!(inode_of("/tmp/x"), None);
        assert!(is_runtimes("anon_inode:[eventpoll]"));
        assert!(!is_runtimes("anon_inode:[pidfd]"));
        assert_eq!(describe("pipe:[13]", &HashMap::new()), "pipe:[13]");
        assert_eq!(
            group_key("tcp 127.0.0.1:43226 -> 127.0.0.1:44095 (CLOSE_WAIT)"),
            "tcp 127.0.0.1:* -> 127.0.0.1:44095 (CLOSE_WAIT)"
        );
        assert_eq!(
            group_key("tcp6 [::1]:28934 -> [::1]:58236 (ESTABLISHED)"),
            "tcp6 [::1]:* -> [::1]:58236 (ESTABLISHED)"
        );
        assert_eq!(group_key("/tmp/a"), "/tmp/a");
    }

    #[test]
    fn this_process_descriptors_are_read() {
        let f = std::fs::File::open("Cargo.toml").unwrap();
        let fds = read_fds(std::process::id()).unwrap();
        use std::os::fd::AsRawFd;
        let target = &fds[&(f.as_raw_fd() as u32)];
        assert!(target.ends_with("/Cargo.toml"), "{target}");
    }
}
