//! A load sweep: a scenario run at each offered rate (its open-loop `workload.rate`), and at
//! each size of one role if asked, with what the clients got (throughput, latency quantiles),
//! the busiest node's utilization and queue, and where each curve stops keeping up (its knee).
//! Runs are independent and spread over threads; results come back in the order asked.

use crate::check::{measure_load, Load};
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::run::{run_scenario, RunOptions};
use crate::scenario::Scenario;
use crate::time::Duration;
use crate::trace::TraceLevel;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Most runs one sweep makes (rates times sizes).
pub const MAX_RUNS: usize = 10_000;

/// A rate is served when the clients get at least this share of it back as successful calls.
pub const SERVED: f64 = 0.9;

/// ... and their p99 latency stays under this many times the lightest rate's.
pub const LATENCY_GROWTH: f64 = 10.0;

/// What one run of the sweep gave.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadPoint {
    /// The offered rate, requests per second.
    pub offered: f64,
    /// What the clients got over the measured window; `None` if no call was invoked there.
    pub load: Option<Load>,
    /// The busiest node under the capacity model (name, utilization over the run), if any.
    pub busiest: Option<(String, f64)>,
    /// Messages dropped at full queues, over every node.
    pub shed: u64,
}

/// One curve of the sweep: every rate at one cluster size.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadCurve {
    /// `role=N` when sizes are swept, else the scenario's name.
    pub label: String,
    /// One point per offered rate, in the order asked.
    pub points: Vec<LoadPoint>,
}

impl LoadCurve {
    /// The most successful calls a second any rate got.
    pub fn peak(&self) -> f64 {
        self.points
            .iter()
            .filter_map(|p| p.load.as_ref().map(|l| l.throughput))
            .fold(0.0, f64::max)
    }

    /// The highest offered rate still served: the clients got `SERVED` of it as successful
    /// calls, at a p99 under `LATENCY_GROWTH` times the lightest rate's. `None`: not even the
    /// lightest was.
    pub fn knee(&self) -> Option<f64> {
        let lightest = self
            .points
            .iter()
            .filter(|p| p.load.is_some())
            .min_by(|a, b| a.offered.total_cmp(&b.offered))?;
        let base = lightest.load.as_ref()?.latency?.p99.0 as f64;
        self.points
            .iter()
            .filter(|p| {
                p.load.as_ref().is_some_and(|l| {
                    l.throughput >= SERVED * p.offered
                        && l.latency
                            .is_some_and(|q| q.p99.0 as f64 <= LATENCY_GROWTH * base.max(1.0))
                })
            })
            .map(|p| p.offered)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))))
    }
}

/// What to sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadSweep {
    /// Offered rates, requests per second.
    pub rates: Vec<f64>,
    /// A role and the node counts to give it, one curve each; `None`: the scenario's.
    pub sizes: Option<(String, Vec<u32>)>,
    /// Calls invoked before this are a warm-up, left out.
    pub after: Duration,
    /// Calls invoked after this are left out.
    pub until: Option<Duration>,
    /// Threads to run on.
    pub jobs: usize,
}

/// Runs `scenario` at every rate (and size) of `sweep`, its checks left out: a sweep measures,
/// it does not judge. `origin` names the scenario in errors.
pub fn sweep_load(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    sweep: &LoadSweep,
) -> Result<Vec<LoadCurve>> {
    let sizes: Vec<Option<u32>> = match &sweep.sizes {
        Some((role, counts)) => {
            if !scenario.nodes.iter().any(|g| &g.role == role) {
                let roles: Vec<&str> = scenario.nodes.iter().map(|g| g.role.as_str()).collect();
                return Err(Error::Usage(format!(
                    "--sizes names role `{role}`, which {origin} does not have; its roles: {}",
                    roles.join(", ")
                )));
            }
            counts.iter().map(|c| Some(*c)).collect()
        }
        None => vec![None],
    };
    let runs: Vec<(usize, usize)> = (0..sizes.len())
        .flat_map(|s| (0..sweep.rates.len()).map(move |r| (s, r)))
        .collect();
    if runs.len() > MAX_RUNS {
        return Err(Error::Usage(format!(
            "{} runs asked (rates times sizes); at most {MAX_RUNS}",
            runs.len()
        )));
    }
    let variant = |size: Option<u32>, rate: f64| {
        let mut s = scenario.clone();
        s.workload.rate = rate;
        s.checks.clear();
        if let (Some(n), Some((role, _))) = (size, &sweep.sizes) {
            for g in s.nodes.iter_mut().filter(|g| &g.role == role) {
                g.count = Some(n);
                g.names = None;
            }
        }
        s
    };
    // Every variant is prepared first, so a bad rate or size is one error before any run.
    for &(s, r) in &runs {
        registry.prepare(&variant(sizes[s], sweep.rates[r]), origin)?;
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<LoadPoint>>>> =
        Mutex::new((0..runs.len()).map(|_| None).collect());
    let opts = RunOptions::default().trace(TraceLevel::HashOnly);
    std::thread::scope(|scope| {
        for _ in 0..sweep.jobs.clamp(1, runs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(s, r)) = runs.get(i) else { break };
                let rate = sweep.rates[r];
                let point = run_scenario(registry, &variant(sizes[s], rate), origin, &opts)
                    .map(|report| point_of(&report, rate, sweep));
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(point);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| Error::Usage("a load sweep's worker panicked".into()))?;
    let mut curves: Vec<LoadCurve> = sizes
        .iter()
        .map(|size| LoadCurve {
            label: match (size, &sweep.sizes) {
                (Some(n), Some((role, _))) => format!("{role}={n}"),
                _ => scenario.name.clone(),
            },
            points: Vec::new(),
        })
        .collect();
    for (&(s, _), point) in runs.iter().zip(results) {
        let point =
            point.ok_or_else(|| Error::Usage("a load sweep's run did not finish".into()))?;
        curves[s].points.push(point?);
    }
    Ok(curves)
}

/// The point one run gives.
fn point_of(report: &crate::run::Report, offered: f64, sweep: &LoadSweep) -> LoadPoint {
    let out = &report.outcome;
    let span = out.end_time.since(crate::SimTime::ZERO);
    let busiest = out
        .load
        .iter()
        .map(|(n, l)| (out.roster.name(*n).to_string(), l.utilization(span)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    LoadPoint {
        offered,
        load: measure_load(out, sweep.after, sweep.until),
        busiest,
        shed: out.load.iter().map(|(_, l)| l.shed).sum(),
    }
}
