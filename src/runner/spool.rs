//! Events of a package waiting for its turn (`-j`). Packages are reported
//! in `go list` order, so what one prints while an earlier one still runs
//! waits. All waiting packages share an in-memory budget; past it, a
//! package's events go to an unnamed temporary file as JSON lines and are
//! read back, in order, when its turn comes. A loud package behind a slow
//! one costs disk, not memory (an event in memory takes a few hundred bytes
//! besides its text).
//!
//! Nothing is lost to the disk: events that cannot be written stay in
//! memory, and lines that cannot be read back are replaced by a line that
//! says how many were lost and why.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

use crate::go::testjson::TestEvent;

/// What all waiting packages may keep in memory, in estimated bytes.
pub(super) const MEMORY_BUDGET: usize = 64 << 20;

/// Events read back from the file are passed on this many at a time.
const CHUNK: usize = 4096;

/// A waiting package's events: those in the file (if any) come first,
/// then those in memory.
#[derive(Default)]
pub(super) struct Spool {
    file: Option<File>,
    /// Bytes of whole lines in the file.
    written: u64,
    /// The file could not be written: everything stays in memory.
    failed: bool,
    memory: Vec<TestEvent>,
    /// Estimated size of `memory`, taken from the shared budget.
    bytes: usize,
}

/// An event's estimated size in memory.
fn size_of(e: &TestEvent) -> usize {
    400 + e.output.as_ref().map_or(0, String::len) + e.test.as_ref().map_or(0, String::len)
}

impl Spool {
    /// Adds events; `budget` is what all waiting packages may still keep
    /// in memory.
    pub(super) fn push(&mut self, mut events: Vec<TestEvent>, budget: &mut usize) {
        let size: usize = events.iter().map(size_of).sum();
        if self.file.is_none() && !self.failed && size > *budget {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(f),
                Err(_) => self.failed = true,
            }
            // What was kept in memory goes first.
            let earlier = std::mem::take(&mut self.memory);
            *budget += std::mem::take(&mut self.bytes);
            self.push(earlier, budget);
        }
        if self.file.is_some() && !self.failed && self.write(&events).is_ok() {
            return;
        }
        self.failed = self.file.is_some() || self.failed;
        *budget = budget.saturating_sub(size);
        self.bytes += size;
        self.memory.append(&mut events);
    }

    /// Writes whole lines, or nothing that counts: a partial write is
    /// past `written`, never read back.
    fn write(&mut self, events: &[TestEvent]) -> std::io::Result<()> {
        let mut text = Vec::new();
        for e in events {
            serde_json::to_writer(&mut text, e)?;
            text.push(b'\n');
        }
        let file = self.file.as_mut().expect("a file");
        file.seek(SeekFrom::Start(self.written))?;
        file.write_all(&text)?;
        self.written += text.len() as u64;
        Ok(())
    }

    /// Passes on the events in the file, `CHUNK` at a time, through
    /// `emit`, and returns the ones in memory (the last), giving their
    /// share of the budget back.
    pub(super) fn drain(
        mut self,
        package: &str,
        budget: &mut usize,
        mut emit: impl FnMut(&[TestEvent]) -> std::io::Result<()>,
    ) -> std::io::Result<Vec<TestEvent>> {
        *budget += self.bytes;
        if let Some(mut file) = self.file.take() {
            let mut lost = 0usize;
            let mut why = String::new();
            let mut chunk = Vec::with_capacity(CHUNK);
            match file.seek(SeekFrom::Start(0)) {
                Ok(_) => {
                    for line in BufReader::new(file.take(self.written)).lines() {
                        match line
                            .and_then(|l| serde_json::from_str(&l).map_err(std::io::Error::other))
                        {
                            Ok(e) => chunk.push(e),
                            Err(e) => {
                                lost += 1;
                                why = e.to_string();
                            }
                        }
                        if chunk.len() == CHUNK {
                            emit(&chunk)?;
                            chunk.clear();
                        }
                    }
                }
                Err(e) => {
                    lost = usize::MAX;
                    why = e.to_string();
                }
            }
            if lost > 0 {
                let how_many = if lost == usize::MAX {
                    "its output".to_string()
                } else {
                    format!("{lost} line(s) of its output")
                };
                chunk.push(TestEvent::output(
                    package,
                    None,
                    format!(
                        "leakcheck: {how_many}, kept in a temporary file while the package waited for its turn, could not be read back: {why}\n"
                    ),
                ));
            }
            if !chunk.is_empty() {
                emit(&chunk)?;
            }
        }
        Ok(self.memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines 0..n (each with its own time, as events have).
    fn lines(n: usize) -> Vec<TestEvent> {
        (0..n)
            .map(|i| TestEvent::output("example.com/p", Some("TestLoud"), format!("line {i}\n")))
            .collect()
    }

    fn drained(spool: Spool, budget: &mut usize) -> Vec<TestEvent> {
        let mut out = Vec::new();
        let tail = spool
            .drain("example.com/p", budget, |chunk| {
                assert!(chunk.len() <= CHUNK);
                out.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
        out.extend(tail);
        out
    }

    #[test]
    fn within_the_budget_events_stay_in_memory_and_the_budget_comes_back() {
        let mut budget = 10_000;
        let mut spool = Spool::default();
        let want = lines(3);
        spool.push(want.clone(), &mut budget);
        assert!(spool.file.is_none());
        assert!(budget < 10_000 - 3 * 400);
        let out = drained(spool, &mut budget);
        assert_eq!(out, want);
        assert_eq!(budget, 10_000);
    }

    #[test]
    fn past_the_budget_events_go_to_a_file_and_come_back_in_order() {
        let mut budget = 5 * 410;
        let mut spool = Spool::default();
        // Three batches: the first in memory, the second past the budget
        // (the first is moved to the file before it), the third after.
        let mut want = lines(2 * CHUNK + 50);
        spool.push(want[..3].to_vec(), &mut budget);
        assert!(spool.file.is_none());
        spool.push(want[3..3 + CHUNK + 10].to_vec(), &mut budget);
        spool.push(want[3 + CHUNK + 10..].to_vec(), &mut budget);
        assert!(spool.file.is_some() && spool.memory.is_empty());
        assert_eq!(budget, 5 * 410);
        let mut other = TestEvent::output("example.com/p", None, "ok\n".into());
        other.other.insert("FailedBuild".into(), "x".into());
        spool.push(vec![other.clone()], &mut budget);
        let out = drained(spool, &mut budget);
        want.push(other);
        assert_eq!(out.len(), want.len());
        assert!(out == want, "order or content changed");
        assert_eq!(budget, 5 * 410);
    }

    #[test]
    fn lines_that_cannot_be_read_back_are_counted_not_dropped_in_silence() {
        let mut budget = 0;
        let mut spool = Spool::default();
        let want = lines(4);
        spool.push(want.clone(), &mut budget);
        // Damage the second line on disk.
        let file = spool.file.as_mut().unwrap();
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_string(&mut text).unwrap();
        let second = text.find('\n').unwrap() + 1;
        file.seek(SeekFrom::Start(second as u64)).unwrap();
        file.write_all(b"#").unwrap();
        let out = drained(spool, &mut budget);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], want[0]);
        assert_eq!(out[1], want[2]);
        assert_eq!(out[2], want[3]);
        let note = out[3].output.as_deref().unwrap();
        assert!(
            note.starts_with("leakcheck: 1 line(s) of its output, kept in a temporary file"),
            "{note}"
        );
    }
}
