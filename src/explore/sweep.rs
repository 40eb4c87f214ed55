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
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            first_seed: 0,
            budget: Budget::Seeds(1_000),
            shard: Shard::ALL,
            jobs: 0,
            keep_going: false,
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
                                mine.push(Ran {
                                    index,
                                    seed,
                                    events: report.outcome.stats.events,
                                    failure,
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
    let mut outcome = SweepOutcome {
        seeds: Vec::with_capacity(ran.len()),
        failures: Vec::new(),
        by_check: BTreeMap::new(),
        events: 0,
        elapsed,
        stopped_at_failure: stop != u64::MAX,
    };
    for r in ran {
        outcome.seeds.push(r.seed);
        outcome.events += r.events;
        if let Some(f) = r.failure {
            for (check, _) in &f.checks {
                *outcome.by_check.entry(check.clone()).or_default() += 1;
            }
            outcome.failures.push(f);
        }
    }
    Ok(outcome)
}

fn failure_of(seed: u64, report: &Report) -> Option<SeedFailure> {
    let checks: Vec<(String, String)> = report
        .failures()
        .map(|v| (v.check.clone(), v.summary.clone()))
        .collect();
    (!checks.is_empty()).then_some(SeedFailure { seed, checks })
}
