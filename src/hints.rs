//! Fix hints: one line on a leak group, given only when the goroutines'
//! shape says for certain what was left open (pure logic, no I/O).
//!
//! | shape | hint |
//! | --- | --- |
//! | created by `net/http/httptest.(*Server).goServe` (the server's accept loop) | the server is never closed: `defer srv.Close()` |
//! | `net/http.(*persistConn).readLoop` waiting in `select` for the response body to be read or closed | a response body is never closed: `defer resp.Body.Close()` |
//!
//! Look-alikes get none: an `http.Server` the test started itself (it
//! may be shut down many ways), and a keep-alive connection whose body
//! was closed (its `readLoop` waits in `IO wait` for the next response).
//!
//! One shape needs the source too ([`from_source`], given a way to read
//! files): a goroutine blocked sending on `ch` (`ch <- v` on its blocking
//! line), started by a `go` statement followed, in the same function, by a
//! `select` with a `case` receiving from `ch` and another case: the select
//! took the other case (a timeout, a cancellation) and nobody receives.
//! A send on a channel that no such select reads gets no hint.

use crate::compare::Leak;
use crate::stack::Goroutine;

/// The accept loop's goroutine of an `httptest.Server`.
const HTTPTEST_SERVE: &str = "net/http/httptest.(*Server).goServe";
/// The client connection's reading goroutine.
const READ_LOOP: &str = "net/http.(*persistConn).readLoop";

/// The fix hint for goroutine `g`, if its shape is certain.
pub fn hint_for(g: &Goroutine<'_>) -> Option<&'static str> {
    if g.created_by
        .as_ref()
        .is_some_and(|c| c.function == HTTPTEST_SERVE)
    {
        return Some("an httptest.Server is never closed: defer srv.Close() after starting it");
    }
    // readLoop itself is the innermost frame: it waits in its select for
    // the body to be read to its end or closed.
    let top = g
        .frames
        .iter()
        .find(|f| !f.function.starts_with("runtime."));
    if g.state == "select" && top.is_some_and(|f| f.function == READ_LOOP) {
        return Some("a response body is never closed: defer resp.Body.Close() after the request");
    }
    None
}

/// The hint for a leak group that the source shows for certain, reading
/// files with `read` (`None`: unreadable). Only for a group without one.
pub fn from_source(leak: &Leak, read: impl Fn(&str) -> Option<String>) -> Option<String> {
    if leak.hint.is_some() || leak.state != "chan send" {
        return None;
    }
    let created = leak.created_by.as_ref()?;
    let blocked = read(&leak.file)?;
    let send = blocked.lines().nth(leak.line.checked_sub(1)? as usize)?;
    let channel = sent_on(send)?.to_string();
    let other;
    let creator = if created.file == leak.file {
        &blocked
    } else {
        other = read(&created.file)?;
        &other
    };
    // The rest of the function that ran the go statement: up to the
    // closing brace of its top-level declaration.
    let rest = creator
        .lines()
        .skip(created.line as usize)
        .take_while(|l| !l.starts_with('}'));
    let mut in_select = false;
    let (mut receives, mut others) = (false, false);
    for line in rest {
        let code = line.split("//").next().unwrap_or("").trim();
        if code.starts_with("select {") {
            in_select = true;
            (receives, others) = (false, false);
            continue;
        }
        if !in_select || !code.starts_with("case ") {
            continue;
        }
        let from = code
            .split_once("<-")
            .map(|(_, r)| r.trim_end_matches(':').trim());
        match from {
            Some(from) if from == channel.as_str() => receives = true,
            _ => others = true,
        }
        if receives && others {
            return Some(format!(
                "the select that receives from {channel} can take another case and leave this send blocked: make {channel} buffered (make(chan T, 1)), or select on ctx.Done() in the sender"
            ));
        }
    }
    None
}

/// The channel `line` sends on (`ch <- v`, `s.out <- v`), if it is a send.
fn sent_on(line: &str) -> Option<&str> {
    let code = line.split("//").next()?;
    let (left, right) = code.split_once("<-")?;
    if right.trim().is_empty() {
        return None;
    }
    // The operand ends the left side: the last run of identifier
    // characters and dots (a go statement's `{ ch <- work() }` too).
    let left = left.trim_end();
    let start = left
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    let name = &left[start..];
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    // `x := <-ch` or `case <-ch` receive: the left side ends in `:=`,
    // `=`, `case` or nothing.
    (valid && name != "case" && !left.ends_with('=')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Snapshot;

    #[test]
    fn hints_only_for_certain_shapes() {
        let dump = "goroutine 7 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nnet/http.(*Server).Serve(0xc000)\n\t/usr/local/go/src/net/http/server.go:3434 +0x30\nnet/http/httptest.(*Server).goServe.func1()\n\t/usr/local/go/src/net/http/httptest/server.go:339 +0x1f\ncreated by net/http/httptest.(*Server).goServe in goroutine 6\n\t/usr/local/go/src/net/http/httptest/server.go:337 +0x89\n\n\
goroutine 10 [select]:\nnet/http.(*persistConn).readLoop(0xc000)\n\t/usr/local/go/src/net/http/transport.go:2450 +0xc05\ncreated by net/http.(*Transport).dialConn in goroutine 9\n\t/usr/local/go/src/net/http/transport.go:1994 +0x16ac\n\n\
goroutine 12 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nbufio.(*Reader).Peek(0xc0, 0x1)\n\t/usr/local/go/src/bufio/bufio.go:152 +0x53\nnet/http.(*persistConn).readLoop(0xc000)\n\t/usr/local/go/src/net/http/transport.go:2280 +0x172\ncreated by net/http.(*Transport).dialConn in goroutine 9\n\t/usr/local/go/src/net/http/transport.go:1994 +0x16ac\n\n\
goroutine 14 [IO wait]:\ninternal/poll.runtime_pollWait(0x1, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\nnet/http.(*Server).Serve(0xc000)\n\t/usr/local/go/src/net/http/server.go:3434 +0x30\ncreated by example.com/p.start in goroutine 6\n\t/src/p/p.go:12 +0x89\n";
        let s = Snapshot::parse(dump);
        let hints: Vec<_> = s.goroutines.iter().map(hint_for).collect();
        assert!(hints[0].unwrap().contains("srv.Close()"));
        assert!(hints[1].unwrap().contains("resp.Body.Close()"));
        assert_eq!(hints[2], None, "an idle keep-alive connection");
        assert_eq!(hints[3], None, "the test's own http.Server");
    }

    const FETCH: &str = "package p

func fetch(timeout time.Duration, work func() string) (string, error) {
\tch := make(chan string)
\tgo func() { ch <- work() }()
\tselect {
\tcase r := <-ch: // the result
\t\treturn r, nil
\tcase <-time.After(timeout):
\t\treturn \"\", errTimeout
\t}
}

func lost() {
\tch := make(chan int)
\tgo func() { ch <- 1 }()
}
";

    fn send_leak(line: u32, created: u32) -> Leak {
        Leak {
            state: "chan send".into(),
            file: "/m/p/p.go".into(),
            line,
            created_by: Some(crate::compare::Location {
                function: "example.com/p.fetch".into(),
                file: "/m/p/p.go".into(),
                line: created,
            }),
            ..Leak::example()
        }
    }

    #[test]
    fn a_send_a_select_gave_up_on_gets_a_hint_and_a_send_nobody_reads_none() {
        let read = |f: &str| (f == "/m/p/p.go").then(|| FETCH.to_string());
        let hint = from_source(&send_leak(5, 5), read).unwrap();
        assert!(
            hint.starts_with("the select that receives from ch"),
            "{hint}"
        );
        assert_eq!(from_source(&send_leak(16, 16), read), None);
        // Unreadable source, another state: none.
        assert_eq!(from_source(&send_leak(5, 5), |_| None), None);
        let receive = Leak {
            state: "chan receive".into(),
            ..send_leak(5, 5)
        };
        assert_eq!(from_source(&receive, read), None);
    }

    #[test]
    fn sends_and_receives() {
        assert_eq!(sent_on("\tgo func() { ch <- work() }()"), Some("ch"));
        assert_eq!(sent_on("\t\ts.out <- v // send"), Some("s.out"));
        assert_eq!(sent_on("\tv := <-ch"), None);
        assert_eq!(sent_on("\tcase <-ch:"), None);
        assert_eq!(sent_on("\tx = <-ch"), None);
        assert_eq!(sent_on("\tclose(ch)"), None);
    }
}
