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
}
