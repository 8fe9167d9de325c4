//! The sockets of idle HTTP keep-alive connections (`--check fds`). Pure.
//!
//! `net/http` keeps a connection whose response body was read and closed
//! in its transport's pool for 90 s; go test passes a test that leaves
//! one. The goroutine check exempts the connection's goroutines with
//! built-in rules (a `readLoop` in `IO wait` on the client's side, a
//! `(*conn).serve` in `IO wait` on the server's). The descriptor check
//! cannot tell which socket is whose: a run's connected sockets (TCP
//! established, and Unix sockets not listening: HTTP over a Unix socket)
//! are exempt when those rules exempted at least as many idle connection
//! ends in the same run, and all are reported otherwise (something else
//! is open too, and the test leaks anyway).

use super::{Resource, ResourceKind};
use crate::detect::ignore::IgnoreRule;

/// The built-in rules' patterns for an idle connection's end: one socket
/// each.
const IDLE_ENDS: [&str; 2] = ["net/http.(*persistConn).readLoop", "net/http.(*conn).serve"];

/// Drops from `resources` the connected TCP sockets that the idle
/// keep-alive connections in `ignored` (a run's goroutines exempted, by
/// rule) account for; see the module doc.
pub fn exempt_idle_sockets(ignored: &[(IgnoreRule, usize)], resources: &mut Vec<Resource>) {
    let idle: usize = ignored
        .iter()
        .filter(|(r, _)| r.builtin && IDLE_ENDS.contains(&r.pattern.as_str()))
        .map(|(_, n)| n)
        .sum();
    let connected: usize = resources
        .iter()
        .filter(|r| is_connected(r))
        .map(|r| r.count)
        .sum();
    if connected > 0 && connected <= idle {
        resources.retain(|r| !is_connected(r));
    }
}

/// `tcp 127.0.0.1:50222 -> 127.0.0.1:36275 (ESTABLISHED) (fd 9)`, or a
/// Unix socket that is not listening: `unix /tmp/s.sock (fd 9)` (the
/// server's end), `unix socket (fd 8)` (the client's, unnamed).
fn is_connected(r: &Resource) -> bool {
    let d = &r.description;
    r.kind == ResourceKind::Socket
        && ((d.starts_with("tcp") && d.contains(" -> ") && d.contains(" (ESTABLISHED)"))
            || (d.starts_with("unix ") && !d.contains(" listening")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ignore::IgnoreRules;

    fn socket(description: &str, count: usize) -> Resource {
        Resource {
            kind: ResourceKind::Socket,
            description: description.into(),
            count,
            bytes: None,
            site: None,
            ambiguous_with: vec![],
            known: false,
        }
    }

    fn builtin(pattern: &str) -> IgnoreRule {
        IgnoreRules::default()
            .rules
            .into_iter()
            .find(|r| r.pattern == pattern)
            .expect("a built-in rule")
    }

    #[test]
    fn sockets_of_idle_connections_are_exempt_only_when_the_idle_ends_account_for_them() {
        let both_ends = || {
            vec![
                socket(
                    "tcp 127.0.0.1:50222 -> 127.0.0.1:36275 (ESTABLISHED) (fd 9)",
                    1,
                ),
                socket(
                    "tcp 127.0.0.1:36275 -> 127.0.0.1:50222 (ESTABLISHED) (fd 10)",
                    1,
                ),
                socket("tcp 127.0.0.1:41234 listening (fd 8)", 1),
            ]
        };
        // A client and a server end idle: both sockets exempt, the
        // listener still reported.
        let idle = [
            (builtin("net/http.(*persistConn).readLoop"), 1),
            (builtin("net/http.(*persistConn).writeLoop"), 1),
            (builtin("net/http.(*conn).serve"), 1),
        ];
        let mut r = both_ends();
        exempt_idle_sockets(&idle, &mut r);
        assert_eq!(r.len(), 1);
        assert!(r[0].description.contains("listening"));
        // Only the server's end idle (a raw connection the test left
        // open to an HTTP server): both reported.
        let mut r = both_ends();
        exempt_idle_sockets(&idle[2..], &mut r);
        assert_eq!(r.len(), 3);
        // No idle connection: nothing exempt, whatever the writeLoop.
        let mut r = both_ends();
        exempt_idle_sockets(&idle[1..2], &mut r);
        assert_eq!(r.len(), 3);
        // HTTP over a Unix socket: both ends exempt, the listener not.
        let mut r = vec![
            socket("unix /tmp/x/s.sock (fd 9)", 1),
            socket("unix socket (fd 8)", 1),
            socket("unix /tmp/x/s.sock listening (fd 4)", 1),
        ];
        exempt_idle_sockets(&idle, &mut r);
        assert_eq!(r.len(), 1);
        assert!(r[0].description.contains("listening"));
        // A connection the peer closed is no idle one.
        let mut r = vec![socket(
            "tcp 127.0.0.1:1 -> 127.0.0.1:2 (CLOSE_WAIT) (fd 9)",
            1,
        )];
        exempt_idle_sockets(&idle, &mut r);
        assert_eq!(r.len(), 1);
    }
}
