//! Getting a dump: from a file, from standard input (`-`), or from a
//! pprof endpoint over HTTP(S) (ureq). This stage owns all of the
//! subcommands' input I/O, the choice of URL (`debug=2`, falling back to
//! `debug=1`), and the one-line messages for what cannot be read.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::duration::format_go_duration;
use crate::error::Error;

use super::parse::{parse, Dump};

/// The largest answer read from an endpoint.
const MAX_BODY: u64 = 1 << 30;

/// Where a dump comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
    Url(String),
}

impl Source {
    /// `-`, an `http://` or `https://` URL, or else a file.
    pub fn from_arg(arg: &str) -> Source {
        let lower = arg.to_ascii_lowercase();
        if arg == "-" {
            Source::Stdin
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(arg.to_string())
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// How messages name it.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "standard input".into(),
            Source::File(p) => p.display().to_string(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// The URLs to try for a pprof endpoint, in order. A URL that sets
/// `debug=` is used as it is; otherwise `debug=2`, then `debug=1`. A URL
/// without a path (`http://host:6060`) means
/// `/debug/pprof/goroutine` there.
pub fn candidates(url: &str) -> Vec<String> {
    let url = url.split('#').next().unwrap_or(url);
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) if &base[after_scheme + i..] != "/" => base.to_string(),
        _ => format!("{}/debug/pprof/goroutine", base.trim_end_matches('/')),
    };
    match query {
        Some(q) if q.split('&').any(|p| p.starts_with("debug=")) => vec![format!("{base}?{q}")],
        Some(q) if !q.is_empty() => ["2", "1"]
            .iter()
            .map(|d| format!("{base}?{q}&debug={d}"))
            .collect(),
        _ => ["2", "1"]
            .iter()
            .map(|d| format!("{base}?debug={d}"))
            .collect(),
    }
}

/// An HTTP client for pprof endpoints.
pub struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

/// Why a GET gave no dump.
enum Failure {
    /// The server answered, with something that is not a dump: another
    /// URL may do better.
    Answered(String),
    /// No answer (refused, timed out, cut off): trying again elsewhere on
    /// the same server would not help.
    NoAnswer(String),
}

impl Http {
    /// A client whose every request, the answer's body included, must be
    /// done within `timeout`.
    pub fn new(timeout: Duration) -> Http {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Http { agent, timeout }
    }

    fn failure(&self, e: ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => {
                format!(
                    "no answer within {} (--timeout)",
                    format_go_duration(self.timeout)
                )
            }
            ureq::Error::Io(e) => e.to_string(),
            ureq::Error::HostNotFound => "host not found".into(),
            e => e.to_string(),
        }
    }

    fn get(&self, url: &str) -> Result<Dump, Failure> {
        let mut resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| Failure::NoAnswer(self.failure(e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Failure::Answered(format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        let html = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/html"));
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| Failure::NoAnswer(format!("reading the answer: {}", self.failure(e))))?;
        if html {
            return Err(Failure::Answered(
                "an HTML page (Content-Type text/html), not a goroutine dump".into(),
            ));
        }
        parse(&body).map_err(Failure::Answered)
    }

    /// The dump at a pprof endpoint, and the URL that gave it: `debug=2`,
    /// else `debug=1` (see [`candidates`]).
    pub fn fetch(&self, url: &str) -> Result<(Dump, String), Error> {
        let mut tried = Vec::new();
        for candidate in candidates(url) {
            match self.get(&candidate) {
                Ok(dump) => return Ok((dump, candidate)),
                Err(Failure::NoAnswer(why)) => {
                    return Err(Error::Input(format!("{candidate}: {why}")))
                }
                Err(Failure::Answered(why)) => tried.push(format!("{candidate}: {why}")),
            }
        }
        Err(Error::Input(tried.join("; ")))
    }

    /// The dump at exactly `url` (as [`Http::fetch`] returned it).
    pub fn fetch_exact(&self, url: &str) -> Result<Dump, Error> {
        self.get(url).map_err(|f| match f {
            Failure::Answered(why) | Failure::NoAnswer(why) => {
                Error::Input(format!("{url}: {why}"))
            }
        })
    }
}

/// Reads and parses the dump `source` names.
pub fn load(source: &Source, http: &Http) -> Result<Dump, Error> {
    let bytes = match source {
        Source::Url(url) => return http.fetch(url).map(|(d, _)| d),
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("reading standard input", e))?;
            bytes
        }
        Source::File(path) => {
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        }
    };
    parse(&bytes).map_err(|why| Error::Input(format!("{}: {why}", source.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_from_arguments() {
        assert_eq!(Source::from_arg("-"), Source::Stdin);
        assert_eq!(
            Source::from_arg("HTTPS://h/x"),
            Source::Url("HTTPS://h/x".into())
        );
        assert_eq!(
            Source::from_arg("http:dump"),
            Source::File(PathBuf::from("http:dump"))
        );
    }

    #[test]
    fn urls_to_try() {
        let g = "/debug/pprof/goroutine";
        assert_eq!(
            candidates("http://h:6060"),
            vec![
                format!("http://h:6060{g}?debug=2"),
                format!("http://h:6060{g}?debug=1")
            ]
        );
        assert_eq!(
            candidates("http://h:6060/")[0],
            format!("http://h:6060{g}?debug=2")
        );
        assert_eq!(
            candidates("http://h/debug/pprof/goroutineleak"),
            vec![
                "http://h/debug/pprof/goroutineleak?debug=2",
                "http://h/debug/pprof/goroutineleak?debug=1"
            ]
        );
        assert_eq!(
            candidates("https://h/p?debug=0#x"),
            vec!["https://h/p?debug=0"]
        );
        assert_eq!(
            candidates("http://h/p?gc=1"),
            vec!["http://h/p?gc=1&debug=2", "http://h/p?gc=1&debug=1"]
        );
    }
}
