//! CPU contention for `--stress` (issue #16): busy threads of leakcheck's
//! own that spin beside a stress process for as long as it runs, so that
//! the OS deschedules the test's threads in the middle of what they do
//! (a window that opens only while a thread is off its CPU: a lease that
//! expires, a heartbeat that is missed).
//!
//! The load is threads, not a process: nothing of it can outlive
//! leakcheck, whatever ends it (a signal, a panic, `kill -9`). A [`Load`]
//! stops and joins its threads when it drops. The threads are named
//! [`THREAD_NAME`], which `/proc/PID/task/TID/comm` shows (the tests look
//! for it there).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The name of each busy thread.
pub(crate) const THREAD_NAME: &str = "leakcheck-load";

/// Busy threads, spinning until this drops.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `threads` busy threads (none if 0); each has started
    /// spinning, or failed to start, when this returns.
    pub(crate) fn start(threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        let ready = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
        for _ in 0..threads {
            let stop = Arc::clone(&stop);
            let ready = Arc::clone(&ready);
            let spawned = std::thread::Builder::new()
                .name(THREAD_NAME.to_string())
                .spawn(move || {
                    {
                        let (n, cv) = &*ready;
                        *n.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        cv.notify_all();
                    }
                    spin(&stop)
                });
            if let Ok(h) = spawned {
                handles.push(h);
            }
        }
        // Wait until every thread runs: a process started after this has
        // the load beside it from its first instruction.
        let (n, cv) = &*ready;
        let mut count = n.lock().unwrap_or_else(|e| e.into_inner());
        while *count < handles.len() {
            count = cv.wait(count).unwrap_or_else(|e| e.into_inner());
        }
        drop(count);
        Load {
            stop,
            threads: handles,
        }
    }
}

/// Spins until `stop`: plain arithmetic, no memory traffic to speak of,
/// no system calls.
fn spin(stop: &AtomicBool) {
    let mut x: u64 = 1;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..1000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            std::hint::black_box(x);
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// How many busy threads one stress process gets: the CPUs shared out
/// among the processes that run at once, at least one, so that with
/// every process under load there is a busy thread for each CPU.
pub(crate) fn threads_per_process(cpus: usize, processes: usize) -> usize {
    (cpus / processes.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threads of this process named `name` (Linux: /proc).
    fn named_threads(name: &str) -> usize {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return 0;
        };
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|c| c.trim_end() == name)
            .count()
    }

    #[test]
    fn a_load_runs_its_threads_until_it_drops() {
        if !std::path::Path::new("/proc/self/task").exists() {
            return;
        }
        let before = named_threads(THREAD_NAME);
        let load = Load::start(3);
        // Load::start returns once each thread runs.
        assert_eq!(named_threads(THREAD_NAME), before + 3);
        drop(load);
        // Drop joins them.
        assert_eq!(named_threads(THREAD_NAME), before);
        let none = Load::start(0);
        assert_eq!(named_threads(THREAD_NAME), before);
        drop(none);
    }

    #[test]
    fn the_cpus_are_shared_out_among_the_processes() {
        assert_eq!(threads_per_process(2, 2), 1);
        assert_eq!(threads_per_process(8, 2), 4);
        assert_eq!(threads_per_process(2, 4), 1);
        assert_eq!(threads_per_process(1, 0), 1);
    }
}
