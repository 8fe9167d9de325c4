//! `leakcheck inspect`, `diff` and `watch` end to end: against the leaking
//! HTTP service in `go-fixtures/service` (built with the Go under test,
//! serving on loopback), against a fake endpoint for what a real one
//! rarely does (404, HTML, silence), and on the dumps captured from the
//! service with Go 1.21, 1.26 and 1.27 (`tests/dumps/inspect/`).
//!
//! Nothing here waits a fixed time for something to happen: the service
//! says when it listens, dumps are taken once the service is quiet, and
//! the watch's requests are sent when it has printed its first sample.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use leakcheck::detect::stack::Snapshot;
use serde_json::Value;

const SOURCE: &str = include_str!("../go-fixtures/service/main.go");

/// The line of the service's source that carries `marker`.
fn line_of(marker: &str) -> u64 {
    SOURCE
        .lines()
        .position(|l| l.contains(marker))
        .expect("marker in go-fixtures/service/main.go") as u64
        + 1
}

fn blocked_line() -> u64 {
    line_of("leakcheck-inspect: blocked")
}

fn created_line() -> u64 {
    line_of("leakcheck-inspect: created")
}

fn is_service(file: &Value) -> bool {
    file.as_str()
        .is_some_and(|f| f.ends_with("go-fixtures/service/main.go"))
}

/// The service binary, built once with the Go under test (with the
/// goroutine leak profile on Go 1.26, where it is an experiment).
fn service_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("inspect-service-{}", go_version()));
        let mut cmd = StdCommand::new("go");
        cmd.args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(fixtures().join("service"))
            .env("PATH", go_path())
            .env("GOTOOLCHAIN", "local")
            .env_remove("GOFLAGS");
        if go_minor() == 26 {
            cmd.env("GOEXPERIMENT", "goroutineleakprofile");
        }
        let out = cmd.output().expect("go build runs");
        assert!(
            out.status.success(),
            "go build of go-fixtures/service: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// A running service, killed when dropped.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    fn start() -> Service {
        let mut child = StdCommand::new(service_binary())
            .args(["-addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("service starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("service prints its address");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("service said {line:?}"))
            .to_string();
        Service { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that keeps one connection to the service open (so the
/// service's connection goroutines are the same in every dump).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(agent: &ureq::Agent, url: &str) -> Vec<u8> {
    agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_vec()
        .unwrap()
}

/// Sends `n` queries, each leaving one sender behind.
fn query(agent: &ureq::Agent, service: &Service, n: usize, close: bool) {
    for _ in 0..n {
        let mut req = agent.get(service.url("/query"));
        if close {
            req = req.header("Connection", "close");
        }
        let body = req.call().unwrap().body_mut().read_to_string().unwrap();
        assert_eq!(body.len(), 2, "two replies read: {body:?}");
    }
}

/// A debug=2 dump of the service taken when it is quiet: no goroutine
/// runnable, none running but the one writing the dump (so a sender that
/// has not parked yet, or a connection goroutine on its way out, is not
/// caught in between). net/http's background reader of the dump's own
/// request may be caught before it parks in any dump: it does not count.
fn quiet_dump(agent: &ureq::Agent, service: &Service) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dump = get(agent, &service.url("/debug/pprof/goroutine?debug=2"));
        let text = String::from_utf8(dump.clone()).unwrap();
        let snapshot = Snapshot::parse(&text);
        let busy = snapshot
            .goroutines
            .iter()
            .filter(|g| g.state == "runnable" || g.state == "running")
            .filter(|g| {
                g.created_by
                    .as_ref()
                    .is_none_or(|c| c.function != "net/http.(*connReader).startBackgroundRead")
            })
            .count();
        if busy <= 1 || Instant::now() > deadline {
            return dump;
        }
    }
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-line `leakcheck: ...` error with exit status 2, no panic.
fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("leakcheck: "), "{err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Checks that `g` is the group of the leaked senders, with states and
/// creation sites.
fn assert_sender_group(g: &Value) {
    assert_eq!(g["state"], "chan send", "{g}");
    assert_eq!(g["function"], "main.query.func1", "{g}");
    assert!(is_service(&g["file"]), "{g}");
    assert_eq!(g["line"], blocked_line(), "{g}");
    let c = &g["created_by"];
    assert_eq!(c["function"], "main.query", "{g}");
    assert!(is_service(&c["file"]), "{g}");
    assert_eq!(c["line"], created_line(), "{g}");
}

#[test]
fn diff_reports_exactly_the_sender_group_grown_by_n() {
    const N: usize = 7;
    let service = Service::start();
    let agent = agent();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.txt");
    let after = dir.path().join("after.txt");
    std::fs::write(&before, quiet_dump(&agent, &service)).unwrap();
    query(&agent, &service, N, false);
    std::fs::write(&after, quiet_dump(&agent, &service)).unwrap();

    let out = leakcheck()
        .arg("diff")
        .arg(&before)
        .arg(&after)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "grew: exit 1");
    let v = json_of(&out);
    assert_eq!(
        v["after_total"].as_u64().unwrap(),
        v["before_total"].as_u64().unwrap() + N as u64,
        "{v}"
    );
    let changed: Vec<&Value> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["delta"] != 0)
        .collect();
    assert_eq!(changed.len(), 1, "only the senders changed: {changed:?}");
    let g = changed[0];
    assert_eq!(
        (g["before"].as_u64(), g["after"].as_u64()),
        (Some(0), Some(N as u64))
    );
    assert_eq!(g["delta"], N as i64);
    assert_sender_group(g);
    // The grown group comes first.
    assert_eq!(&v["groups"][0], g);

    // --threshold: more than N fails, N does not.
    let code = |threshold: usize| {
        leakcheck()
            .arg("diff")
            .arg(&before)
            .arg(&after)
            .arg("--threshold")
            .arg(threshold.to_string())
            .output()
            .unwrap()
    };
    assert_eq!(code(N).status.code(), Some(0));
    let out = code(N - 1);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("+{N} (0 -> {N}) [chan send]")),
        "{text}"
    );
    assert!(
        text.contains(&format!("main.go:{} by main.query", created_line())),
        "{text}"
    );
    assert!(text.contains("1 group grew by more than 6"), "{text}");

    // The same dumps straight from the endpoint and from standard input.
    let out = leakcheck()
        .arg("diff")
        .arg("-")
        .arg(service.url(""))
        .arg("--json")
        .pipe_stdin(&before)
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    let senders = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["function"] == "main.query.func1")
        .unwrap()
        .clone();
    assert_eq!(senders["after"], N as u64, "{senders}");
}

#[test]
fn watch_flags_the_sender_group_that_rises() {
    const N: usize = 4;
    let service = Service::start();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("leakcheck"))
        .args([
            "watch",
            &service.base,
            "--every",
            "300ms",
            "--for",
            "3s",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Each sample's line, as the watch prints it.
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a first sample");
    assert!(first.starts_with("sample 1/11 at +"), "{first}");
    // After the first sample: queries on connections that close, so that
    // no connection goroutine of the test's stays behind.
    query(&agent(), &service, N, true);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a rising group: exit 1; stderr: {err}"
    );
    assert_eq!(err.lines().count(), 11, "one line a sample: {err}");
    // The last sample's line names the group that rose.
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("sample 11/11 at +"), "{last}");
    assert!(
        last.contains(&format!(
            "(+{N} since the first); rising: +{N} main.query.func1 ("
        )),
        "{last}"
    );
    assert!(
        last.ends_with(&format!("main.go:{})", blocked_line())),
        "{last}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["samples"].as_array().unwrap().len(), 11, "{v}");
    assert!(
        v["url"]
            .as_str()
            .unwrap()
            .ends_with("/debug/pprof/goroutine?debug=2"),
        "{v}"
    );
    let rising = v["rising"].as_array().unwrap();
    assert_eq!(rising.len(), 1, "only the senders rose: {rising:?}");
    let g = &rising[0];
    assert_sender_group(g);
    assert_eq!(
        (g["first"].as_u64(), g["last"].as_u64()),
        (Some(0), Some(N as u64)),
        "{g}"
    );
    assert_eq!(g["delta"], N as u64);
    let counts: Vec<u64> = g["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
}

#[test]
fn a_quiet_service_has_nothing_rising() {
    let service = Service::start();
    let out = leakcheck()
        .args(["watch", &service.base, "--every", "100ms", "--for", "300ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).starts_with("no group rose across 4 samples over 300ms"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn inspect_a_live_service_in_each_format() {
    const N: usize = 3;
    let service = Service::start();
    let agent = agent();
    query(&agent, &service, N, false);
    quiet_dump(&agent, &service);
    for (path, format) in [
        ("", "debug=2"),
        ("/debug/pprof/goroutine", "debug=2"),
        ("/debug/pprof/goroutine?debug=1", "debug=1"),
        ("/debug/pprof/goroutine?debug=0", "debug=0"),
    ] {
        let out = leakcheck()
            .args(["inspect", &service.url(path), "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{path}");
        let v = json_of(&out);
        assert_eq!(v["format"], format, "{path}");
        let g = &v["groups"][0];
        assert_eq!(g["count"], N as u64, "{path}: {g}");
        assert_eq!(g["function"], "main.query.func1", "{path}");
        assert_eq!(g["line"], blocked_line(), "{path}");
        if format == "debug=2" {
            assert_sender_group(g);
        } else {
            assert_eq!(
                (&g["state"], &g["created_by"]),
                (&Value::Null, &Value::Null)
            );
        }
    }
    // The goroutine leak profile: Go 1.26 (built with the experiment) and
    // later prove the senders leaked; older Go has no such profile.
    let leak = service.url("/debug/pprof/goroutineleak");
    let out = leakcheck()
        .args(["inspect", &leak, "--json"])
        .output()
        .unwrap();
    if go_minor() >= 26 {
        assert_eq!(out.status.code(), Some(0));
        let v = json_of(&out);
        assert_sender_group(&v["groups"][0]);
        assert_eq!(v["groups"][0]["leaked"], true);
        assert_eq!(v["groups"][0]["count"], N as u64);
    } else {
        assert_one_line_error(&out, "?debug=1: HTTP 404 Not Found");
    }
}

/// A loopback HTTP server answering each request with `answer(path)`:
/// `Some((status, content type, body))`, or `None` to never answer. It
/// records the paths asked for.
struct FakeEndpoint {
    base: String,
    paths: Arc<Mutex<Vec<String>>>,
}

impl FakeEndpoint {
    fn start(
        answer: impl Fn(&str) -> Option<(u16, &'static str, Vec<u8>)> + Send + 'static,
    ) -> FakeEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let paths = Arc::new(Mutex::new(Vec::new()));
        let seen = paths.clone();
        std::thread::spawn(move || {
            let mut silent: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(path.clone());
                match answer(&path) {
                    Some((status, ctype, body)) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body);
                    }
                    None => silent.push(stream),
                }
            }
        });
        FakeEndpoint { base, paths }
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

fn captured(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/dumps/inspect").join(name)).unwrap()
}

#[test]
fn an_endpoint_without_debug2_falls_back_to_debug1() {
    let debug1 = captured("go1.21-debug1.txt");
    let fake = FakeEndpoint::start(move |path| {
        if path.ends_with("debug=1") {
            Some((200, "text/plain; charset=utf-8", debug1.clone()))
        } else {
            Some((404, "text/plain", b"404 page not found\n".to_vec()))
        }
    });
    let out = leakcheck()
        .args(["inspect", &fake.base, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["format"], "debug=1");
    assert_eq!(v["groups"][0]["count"], 5);
    assert_eq!(
        fake.paths(),
        vec![
            "/debug/pprof/goroutine?debug=2",
            "/debug/pprof/goroutine?debug=1"
        ]
    );
}

#[test]
fn endpoints_that_give_no_dump() {
    let html = FakeEndpoint::start(|_| {
        Some((
            200,
            "text/html; charset=utf-8",
            b"<html>pprof index</html>".to_vec(),
        ))
    });
    let out = leakcheck().args(["inspect", &html.base]).output().unwrap();
    assert_one_line_error(
        &out,
        "an HTML page (Content-Type text/html), not a goroutine dump",
    );
    assert_eq!(html.paths().len(), 2, "debug=2, then debug=1");

    let missing =
        FakeEndpoint::start(|_| Some((404, "text/plain", b"404 page not found\n".to_vec())));
    let url = format!("{}/debug/pprof/goroutine", missing.base);
    let out = leakcheck().args(["inspect", &url]).output().unwrap();
    assert_one_line_error(
        &out,
        &format!("{url}?debug=2: HTTP 404 Not Found; {url}?debug=1: HTTP 404 Not Found"),
    );

    // A 200 whose body is no dump (a proxy's page, say).
    let junk = FakeEndpoint::start(|_| Some((200, "text/plain", b"all good\n".to_vec())));
    let out = leakcheck().args(["inspect", &junk.base]).output().unwrap();
    assert_one_line_error(&out, "not a goroutine dump");

    // A server that never answers: the timeout, and no second try.
    let silent = FakeEndpoint::start(|_| None);
    let started = Instant::now();
    let out = leakcheck()
        .args(["inspect", &silent.base, "--timeout", "300ms"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "?debug=2: no answer within 300ms (--timeout)");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(silent.paths().len(), 1);

    // Nobody listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = leakcheck()
        .args(["diff", "tests/dumps/inspect/go1.27-debug2.txt"])
        .arg(format!("http://127.0.0.1:{port}"))
        .current_dir(root())
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        &format!("http://127.0.0.1:{port}/debug/pprof/goroutine?debug=2: "),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn files_that_are_no_dump() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let inspect = |p: &Path| leakcheck().arg("inspect").arg(p).output().unwrap();
    assert_one_line_error(
        &inspect(&dir.path().join("missing.txt")),
        "missing.txt: No such file or directory",
    );
    assert_one_line_error(
        &inspect(&file("empty.txt", b"")),
        "empty.txt: empty: not a goroutine dump",
    );
    assert_one_line_error(
        &inspect(&file("page.html", b"<!DOCTYPE html>\n<html></html>\n")),
        "page.html: an HTML or XML page, not a goroutine dump",
    );
    assert_one_line_error(
        &inspect(&file("notes.txt", b"goroutines are cheap\n")),
        "notes.txt: not a goroutine dump",
    );
    for name in [
        "go1.21-debug2.txt",
        "go1.26-debug1.txt",
        "go1.27-debug0.pb.gz",
        "go1.27-sigquit.txt",
        "go1.26-leak-debug1.txt",
    ] {
        let whole = captured(name);
        let cut = file(name, &whole[..whole.len() - whole.len() / 3]);
        assert_one_line_error(&inspect(&cut), "truncated");
    }
    let out = leakcheck().args(["diff", "-", "-"]).output().unwrap();
    assert_one_line_error(&out, "only one of BEFORE and AFTER");
    let out = leakcheck()
        .args(["watch", "tests/dumps/inspect/go1.27-debug2.txt"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "is not an http:// or https:// URL");
    let out = leakcheck()
        .args([
            "watch",
            "http://127.0.0.1:1",
            "--every",
            "10s",
            "--for",
            "5s",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&out, "--for 5s is shorter than --every 10s");
    let out = leakcheck()
        .args(["inspect", "x.txt", "--older-than", "soon"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "--older-than: invalid duration");
}

#[test]
fn inspect_every_captured_file() {
    let dir = root().join("tests/dumps/inspect");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("go1."))
        .collect();
    names.sort();
    assert_eq!(names.len(), 22, "{names:?}");
    for name in &names {
        let out = leakcheck()
            .arg("inspect")
            .arg(dir.join(name))
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let v = json_of(&out);
        let groups = v["groups"].as_array().unwrap();
        let sum: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
        assert_eq!(v["total"].as_u64(), Some(sum), "{name}");
        let g = &groups[0];
        assert_eq!(g["count"], 5, "{name}");
        assert_eq!(g["function"], "main.query.func1", "{name}");
        assert_eq!(g["line"], blocked_line(), "{name}");
        for key in [
            "count",
            "state",
            "leaked",
            "blocked_minutes",
            "function",
            "file",
            "line",
            "created_by",
            "origin",
        ] {
            assert!(g.get(key).is_some(), "{name}: {key} in {g}");
        }
        assert!(
            g.get("older").is_none(),
            "{name}: older only with --older-than"
        );
        if v["format"] == "debug=2" || v["format"] == "crash" {
            assert_sender_group(g);
        }
    }
    // Standard input, here the gzipped protobuf.
    let out = leakcheck()
        .args(["inspect", "-"])
        .pipe_stdin(dir.join("go1.26-debug0.pb.gz"))
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("standard input: 11 goroutines in 7 groups (goroutine profile, debug=0)"),
        "{text}"
    );
}

#[test]
fn older_than_flags_long_blocked_groups() {
    // A captured dump whose senders the runtime says have been blocked
    // 12 minutes (the runtime prints that from one minute on).
    let text = String::from_utf8(captured("go1.27-debug2.txt")).unwrap();
    let aged = text.replace("[chan send]:", "[chan send, 12 minutes]:");
    assert_eq!(aged.matches("12 minutes").count(), 5);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aged.txt");
    std::fs::write(&file, aged).unwrap();
    let run = |d: &str| {
        leakcheck()
            .arg("inspect")
            .arg(&file)
            .args(["--older-than", d, "--json"])
            .output()
            .unwrap()
    };
    let out = run("10m");
    assert_eq!(out.status.code(), Some(1), "flagged: exit 1");
    let v = json_of(&out);
    assert_eq!(v["groups"][0]["blocked_minutes"], 12);
    assert_eq!(v["groups"][0]["older"], 5);
    assert!(v["groups"].as_array().unwrap()[1..]
        .iter()
        .all(|g| g["older"] == 0));
    let out = run("13m");
    assert_eq!(out.status.code(), Some(0), "none that old: exit 0");
    assert_eq!(json_of(&out)["groups"][0]["older"], 0);
    let out = leakcheck()
        .arg("inspect")
        .arg(&file)
        .args(["--older-than", "10m"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("5 goroutines [chan send, 12 minutes]  (5 blocked 10m0s or longer)"),
        "{text}"
    );
    assert!(
        text.ends_with("5 goroutines blocked 10m0s or longer, in 1 group\n"),
        "{text}"
    );
}
