//! The terminal progress bar of `explore` (indicatif): seeds done, seeds/s, failures, ETA.

use crate::explore::progress::{Lines, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A progress bar on the terminal: seeds done, seeds/s, failures so far, ETA.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    failures: AtomicU64,
    started: Instant,
}

impl Bar {
    /// A bar drawn on standard error.
    pub fn stderr() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        Bar {
            bar,
            failures: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: Option<u64>) {
        let style = match total {
            Some(n) => {
                self.bar.set_length(n);
                "{elapsed_precise} [{bar:30}] {pos}/{len} seeds  {msg}  ETA {eta}"
            }
            None => "{elapsed_precise} {spinner} {pos} seeds  {msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(style) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message("0 failures");
    }

    fn update(&self, done: u64, failures: u64) {
        self.bar.set_position(done);
        // The message costs an allocation: refresh it every 64 seeds or on a new failure.
        if self.failures.swap(failures, Ordering::Relaxed) != failures || done.is_multiple_of(64) {
            let secs = self.started.elapsed().as_secs_f64();
            let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
            self.bar
                .set_message(format!("{rate:.0} seeds/s  {failures} failures"));
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar when standard error is a terminal, plain lines every second otherwise.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar::stderr())
    } else {
        Box::new(Lines::every(Duration::from_secs(1)))
    }
}
