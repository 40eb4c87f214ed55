//! Grading under a real-time watchdog: a student's handler in an infinite loop never returns,
//! and nothing inside the simulation can notice (it never reads the clock, and a run's bounds,
//! `max_events` and `max_time`, are counted between handler calls). The runs go on a worker
//! thread; this thread waits for each to finish and gives up on one that outlives a generous
//! limit of real time. Wall time is read here, outside every run, and decides nothing but
//! whether to keep waiting: a run that finishes is judged exactly as without the watchdog.

use crate::{find, grade_with_progress, Grade, Seeds, PROGRAM};
use clustersim::error::{Error, Result};
use clustersim::registry::Registry;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

/// How long one run (or one searched level) may take in real time before the grader gives up
/// on it: far longer than any level's run takes on a slow machine.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);

/// How a watched grading ended.
#[derive(Clone, Debug)]
pub enum Watched {
    /// Every run finished: the grade.
    Finished(Grade),
    /// A run was still going after `limit` of real time.
    Hung {
        /// The exercise's name.
        name: String,
        /// The level (from 1) of the run given up on.
        level: usize,
        /// How many levels the exercise has.
        of: usize,
        /// That level's scenario file.
        file: &'static str,
        /// The seed of the run given up on.
        seed: u64,
        /// How long it was waited for.
        limit: Duration,
    },
}

impl Watched {
    /// True only for a finished grading that passed: a run given up on is never a pass.
    pub fn passed(&self) -> bool {
        matches!(self, Watched::Finished(g) if g.passed())
    }

    /// The grading report, or what was given up on and why.
    pub fn render(&self) -> String {
        match self {
            Watched::Finished(g) => g.render(),
            Watched::Hung {
                name,
                level,
                of,
                file,
                seed,
                limit,
            } => format!(
                "level {level} of {of} ({file}):\n  seed {seed}: INCONCLUSIVE: the run did not \
                 finish within {} seconds of real time — an infinite loop in your handler?\n    \
                 (`{PROGRAM} run {file} --seed {seed}` runs it alone)\nNOT PASSED: {name} \
                 could not be graded (a run never finished)\n",
                limit.as_secs()
            ),
        }
    }
}

/// What the worker tells the watcher.
enum Note {
    /// A run of this level and seed begins.
    Started(usize, u64),
    /// The grading ended.
    Done(Result<Grade>),
}

/// Grades as [`crate::grade_with`] does, on a worker thread with the registry `make` builds
/// there, giving up (`Watched::Hung`) when one run takes longer than `limit` of real time. The
/// thread of a run given up on is left running; a program exits soon after.
pub fn grade_watched(
    make: impl FnOnce() -> Registry + Send + 'static,
    name: &str,
    solution: bool,
    seeds: Seeds,
    level: Option<usize>,
    limit: Duration,
) -> Result<Watched> {
    let exercise = find(name).map_err(Error::Usage)?;
    let (tx, rx) = channel();
    let owned = name.to_string();
    std::thread::Builder::new()
        .name("grader".into())
        .spawn(move || {
            let registry = make();
            let started = tx.clone();
            let progress = move |level: usize, seed: u64| {
                let _ = started.send(Note::Started(level, seed));
            };
            let grade = grade_with_progress(&registry, &owned, solution, seeds, level, &progress);
            let _ = tx.send(Note::Done(grade));
        })
        .map_err(|e| Error::Usage(format!("cannot start the grader's thread: {e}")))?;
    let mut current = (level.unwrap_or(1), 0);
    loop {
        match rx.recv_timeout(limit) {
            Ok(Note::Started(l, seed)) => current = (l, seed),
            Ok(Note::Done(grade)) => return grade.map(Watched::Finished),
            Err(RecvTimeoutError::Timeout) => {
                let (l, seed) = current;
                return Ok(Watched::Hung {
                    name: exercise.name.to_string(),
                    level: l,
                    of: exercise.levels.len(),
                    file: exercise.levels[l - 1].file,
                    seed,
                    limit,
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Usage(
                    "the grader's thread stopped without a grade (it panicked)".into(),
                ))
            }
        }
    }
}
