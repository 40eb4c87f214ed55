//! Seed sweeps: one scenario run over many seeds on worker threads. Each run is still
//! single-threaded and deterministic; threads only pick which seed to run next.
//!
//! With a seed budget the result does not depend on the number of workers: seeds are numbered
//! in shard order, and when the sweep stops at the first failure it still finishes every seed
//! before the failing one, so "the first failing seed" is the same on 1 or 64 threads.

use super::progress::Progress;
use super::shard::Shard;
use crate::error::{Error, Result};
use crate::run::Report;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How long a sweep runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Budget {
    /// The seeds `first_seed..first_seed + n` (those the shard owns).
    Seeds(u64),
    /// As many seeds from `first_seed` on as fit in this much wall time.
    Time(std::time::Duration),
}

/// What to sweep and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SweepConfig {
    /// The first seed of the campaign.
    pub first_seed: u64,
    /// How many seeds, or how long.
    pub budget: Budget,
    /// Which seeds of the range this machine runs.
    pub shard: Shard,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Keep going after a failure instead of stopping at the first.
    pub keep_going: bool,
    /// Stop once every coverage goal the runs evaluated was reached by some run (at the lowest
    /// seed where that holds, whatever the number of workers).
    pub until_covered: bool,
}

setters!(SweepConfig {
    first_seed: u64,
    budget: Budget,
    shard: Shard,
    jobs: usize,
    keep_going: bool,
    until_covered: bool,
});

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            first_seed: 0,
            budget: Budget::Seeds(1_000),
            shard: Shard::ALL,
            jobs: 0,
            keep_going: false,
            until_covered: false,
        }
    }
}

impl SweepConfig {
    /// The worker count `jobs` stands for.
    pub fn workers(&self) -> usize {
        if self.jobs > 0 {
            self.jobs
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// One failing seed and the checks it failed, with their one-line summaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedFailure {
    /// The seed.
    pub seed: u64,
    /// `(check, summary)` for every failed check, in the scenario's order.
    pub checks: Vec<(String, String)>,
}

/// One coverage goal over a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalTally {
    /// The goal's name.
    pub name: &'static str,
    /// Runs that evaluated it.
    pub runs_checked: u64,
    /// Runs where it held at least once.
    pub runs_reached: u64,
    /// The lowest seed that reached it.
    pub first_seed: Option<u64>,
}

/// What a sweep found.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOutcome {
    /// Every seed run, in increasing order.
    pub seeds: Vec<u64>,
    /// Failing seeds, in increasing order.
    pub failures: Vec<SeedFailure>,
    /// Failing seeds per check name.
    pub by_check: BTreeMap<String, u64>,
    /// Engine events over all runs.
    pub events: u64,
    /// Wall time the sweep took.
    pub elapsed: std::time::Duration,
    /// The sweep stopped early because a seed failed.
    pub stopped_at_failure: bool,
    /// Coverage goals, in order of first evaluation (by seed order).
    pub goals: Vec<GoalTally>,
    /// The sweep stopped because every goal was reached (`until_covered`).
    pub covered: bool,
    /// Seeds on which some check could not decide (UNKNOWN): not failures, not passes either.
    pub undecided: u64,
    /// Undecided seeds per check name.
    pub undecided_by_check: BTreeMap<String, u64>,
    /// The lowest undecided seed and its undecided checks with their summaries.
    pub first_undecided: Option<SeedFailure>,
}

impl SweepOutcome {
    /// Number of runs.
    pub fn runs(&self) -> u64 {
        self.seeds.len() as u64
    }

    /// The lowest failing seed, if any.
    pub fn first_failure(&self) -> Option<&SeedFailure> {
        self.failures.first()
    }

    /// Runs per wall-clock second.
    pub fn seeds_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.runs() as f64 / secs
        } else {
            0.0
        }
    }
}

/// One run's result, keyed by its position in the shard's seed order.
struct Ran {
    index: u64,
    seed: u64,
    events: u64,
    failure: Option<SeedFailure>,
    /// The checks that could not decide, with their summaries (empty: every check decided).
    undecided: Option<SeedFailure>,
    /// Each goal the run evaluated, and whether it held.
    goals: Vec<(&'static str, bool)>,
}

/// Runs `scenario` with each seed of the campaign through `runner` and gathers the failures.
///
/// `runner` turns a scenario (with its seed set) into a checked report; it must be
/// deterministic. A runner error stops the sweep and is returned (the lowest-seed one).
pub fn sweep<R>(
    scenario: &Scenario,
    config: &SweepConfig,
    runner: R,
    progress: &dyn Progress,
) -> Result<SweepOutcome>
where
    R: Fn(&Scenario) -> Result<Report> + Sync,
{
    let (span, deadline) = match config.budget {
        Budget::Seeds(n) => (Some(n), None),
        Budget::Time(d) => (None, Some(d)),
    };
    let seeds = config.shard.seeds(config.first_seed, span);
    progress.start(seeds.len_hint());
    let started = Instant::now();
    let next = AtomicU64::new(0);
    // Position of the lowest failing seed so far; positions after it need not run.
    let stop_at = AtomicU64::new(u64::MAX);
    let abort = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let error: Mutex<Option<(u64, Error)>> = Mutex::new(None);
    // Coverage of the runs done so far, merged in position order (`until_covered`).
    let coverage: Mutex<Coverage> = Mutex::new(Coverage::default());
    let workers = config.workers();
    let results: Vec<Vec<Ran>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    let mut s = scenario.clone();
                    loop {
                        if abort.load(Ordering::Relaxed) {
                            break;
                        }
                        if deadline.is_some_and(|d| started.elapsed() >= d) {
                            break;
                        }
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index > stop_at.load(Ordering::Relaxed) {
                            break;
                        }
                        let Some(seed) = seeds.nth_seed(index) else {
                            break;
                        };
                        s.seed = seed;
                        match runner(&s) {
                            Ok(report) => {
                                let failure = failure_of(seed, &report);
                                if failure.is_some() {
                                    failed.fetch_add(1, Ordering::Relaxed);
                                    if !config.keep_going {
                                        stop_at.fetch_min(index, Ordering::Relaxed);
                                    }
                                }
                                let goals: Vec<(&'static str, bool)> = report
                                    .outcome
                                    .history
                                    .goals()
                                    .iter()
                                    .map(|g| (g.name, g.reached()))
                                    .collect();
                                if config.until_covered {
                                    let mut c = coverage.lock().unwrap_or_else(|p| p.into_inner());
                                    if let Some(at) = c.add(index, goals.clone()) {
                                        stop_at.fetch_min(at, Ordering::Relaxed);
                                    }
                                }
                                mine.push(Ran {
                                    index,
                                    seed,
                                    events: report.outcome.stats.events,
                                    failure,
                                    undecided: undecided_of(seed, &report),
                                    goals,
                                });
                                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                                progress.update(n, failed.load(Ordering::Relaxed));
                            }
                            Err(e) => {
                                let mut slot = error.lock().unwrap_or_else(|p| p.into_inner());
                                if slot.as_ref().is_none_or(|(i, _)| index < *i) {
                                    *slot = Some((index, e));
                                }
                                abort.store(true, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    progress.finish();
    if let Some((_, e)) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let elapsed = started.elapsed();
    let stop = stop_at.load(Ordering::Relaxed);
    let mut ran: Vec<Ran> = results
        .into_iter()
        .flatten()
        .filter(|r| r.index <= stop)
        .collect();
    ran.sort_by_key(|r| r.index);
    // The exact cut, in seed order: the first failure (unless going on), or the first run
    // after which every goal seen so far is reached.
    let first_failure = ran
        .iter()
        .position(|r| r.failure.is_some())
        .filter(|_| !config.keep_going);
    let covered_at = config.until_covered.then(|| covered_at(&ran)).flatten();
    let cut = match (first_failure, covered_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(cut) = cut {
        ran.truncate(cut + 1);
    }
    let mut outcome = SweepOutcome {
        seeds: Vec::with_capacity(ran.len()),
        failures: Vec::new(),
        by_check: BTreeMap::new(),
        events: 0,
        elapsed,
        stopped_at_failure: cut.is_some() && cut == first_failure,
        goals: Vec::new(),
        covered: cut.is_some() && cut == covered_at,
        undecided: 0,
        undecided_by_check: BTreeMap::new(),
        first_undecided: None,
    };
    for r in ran {
        outcome.seeds.push(r.seed);
        outcome.events += r.events;
        for (name, hit) in r.goals {
            let i = match outcome.goals.iter().position(|g| g.name == name) {
                Some(i) => i,
                None => {
                    outcome.goals.push(GoalTally {
                        name,
                        runs_checked: 0,
                        runs_reached: 0,
                        first_seed: None,
                    });
                    outcome.goals.len() - 1
                }
            };
            let g = &mut outcome.goals[i];
            g.runs_checked += 1;
            if hit {
                g.runs_reached += 1;
                g.first_seed.get_or_insert(r.seed);
            }
        }
        if let Some(u) = r.undecided {
            outcome.undecided += 1;
            for (check, _) in &u.checks {
                *outcome.undecided_by_check.entry(check.clone()).or_default() += 1;
            }
            outcome.first_undecided.get_or_insert(u);
        }
        if let Some(f) = r.failure {
            for (check, _) in &f.checks {
                *outcome.by_check.entry(check.clone()).or_default() += 1;
            }
            outcome.failures.push(f);
        }
    }
    Ok(outcome)
}

/// Goals of the runs done so far, merged in position order as the prefix of done runs grows.
#[derive(Default)]
struct Coverage {
    /// Runs done beyond the contiguous prefix, by position.
    waiting: BTreeMap<u64, Vec<(&'static str, bool)>>,
    /// Positions below this are merged into `seen`.
    prefix: u64,
    seen: Vec<(&'static str, bool)>,
}

impl Coverage {
    /// Adds the run at `index`; returns the position where coverage became complete, if it now
    /// has (the same position on any number of workers).
    fn add(&mut self, index: u64, goals: Vec<(&'static str, bool)>) -> Option<u64> {
        self.waiting.insert(index, goals);
        while let Some(goals) = self.waiting.remove(&self.prefix) {
            merge(&mut self.seen, &goals);
            self.prefix += 1;
            if !self.seen.is_empty() && self.seen.iter().all(|(_, hit)| *hit) {
                return Some(self.prefix - 1);
            }
        }
        None
    }
}

fn merge(seen: &mut Vec<(&'static str, bool)>, goals: &[(&'static str, bool)]) {
    for &(name, hit) in goals {
        match seen.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 |= hit,
            None => seen.push((name, hit)),
        }
    }
}

/// The position of the first run after which every goal evaluated so far has been reached.
fn covered_at(ran: &[Ran]) -> Option<usize> {
    let mut seen: Vec<(&'static str, bool)> = Vec::new();
    for (i, r) in ran.iter().enumerate() {
        merge(&mut seen, &r.goals);
        if !seen.is_empty() && seen.iter().all(|(_, hit)| *hit) {
            return Some(i);
        }
    }
    None
}

/// The checks of `report` that could not decide (UNKNOWN), if any.
fn undecided_of(seed: u64, report: &Report) -> Option<SeedFailure> {
    let checks: Vec<(String, String)> = report
        .verdicts
        .iter()
        .filter(|v| v.status == crate::check::Status::Unknown)
        .map(|v| (v.check.clone(), v.summary.clone()))
        .collect();
    (!checks.is_empty()).then_some(SeedFailure { seed, checks })
}

fn failure_of(seed: u64, report: &Report) -> Option<SeedFailure> {
    let checks: Vec<(String, String)> = report
        .failures()
        .map(|v| (v.check.clone(), v.summary.clone()))
        .collect();
    (!checks.is_empty()).then_some(SeedFailure { seed, checks })
}
