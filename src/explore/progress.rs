//! Progress of a seed sweep as it runs: plain periodic lines (CI logs, pipes) or nothing; the
//! CLI adds a terminal bar. Wall time is read here only to pace the output.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Receives the sweep's counters; called from worker threads.
pub trait Progress: Sync {
    /// The sweep starts; `total` seeds if the campaign is bounded by a seed count.
    fn start(&self, _total: Option<u64>) {}
    /// `done` seeds have run so far, `failures` of them failed.
    fn update(&self, _done: u64, _failures: u64) {}
    /// The sweep is over.
    fn finish(&self) {}
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Plain lines on standard error, at most one per `period`, for logs that are not terminals.
#[derive(Debug)]
pub struct Lines {
    period: Duration,
    state: Mutex<LineState>,
}

#[derive(Debug)]
struct LineState {
    started: Instant,
    last: Instant,
    total: Option<u64>,
    done: u64,
    failures: u64,
}

impl Lines {
    /// Lines at most once per `period`.
    pub fn every(period: Duration) -> Self {
        let now = Instant::now();
        Lines {
            period,
            state: Mutex::new(LineState {
                started: now,
                last: now,
                total: None,
                done: 0,
                failures: 0,
            }),
        }
    }

    fn print(s: &LineState) {
        let secs = s.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            s.done as f64 / secs
        } else {
            0.0
        };
        let of = s.total.map(|t| format!("/{t}")).unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "explore: {}{of} seeds, {} failing, {rate:.0} seeds/s, {secs:.1}s",
            s.done,
            s.failures
        );
    }
}

impl Progress for Lines {
    fn start(&self, total: Option<u64>) {
        if let Ok(mut s) = self.state.lock() {
            let now = Instant::now();
            s.started = now;
            s.last = now;
            s.total = total;
        }
    }

    fn update(&self, done: u64, failures: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.done = s.done.max(done);
            s.failures = s.failures.max(failures);
            if s.last.elapsed() >= self.period {
                s.last = Instant::now();
                Lines::print(&s);
            }
        }
    }

    fn finish(&self) {
        if let Ok(s) = self.state.lock() {
            Lines::print(&s);
        }
    }
}
