//! One run end to end: scenario -> plan -> engine -> checkers -> `Report`.

use crate::check::Verdict;
use crate::error::{Error, Result};
use crate::scenario::{load, Scenario};
use crate::sim::RunOutcome;
use crate::time::Duration;
use crate::trace::TraceLevel;
use std::path::Path;

/// Command-line style overrides for one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Use this seed instead of the scenario's.
    pub seed: Option<u64>,
    /// Use this time bound instead of the scenario's.
    pub max_time: Option<Duration>,
    /// Keep every trace event (needed for trace files and timelines).
    pub trace: TraceLevel,
}

/// A finished run with its verdicts.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario as run (overrides applied).
    pub scenario: Scenario,
    /// What the engine produced.
    pub outcome: RunOutcome,
    /// One verdict per check, in the scenario's order.
    pub verdicts: Vec<Verdict>,
}

impl Report {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(Verdict::passed)
    }

    /// The verdicts that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.passed())
    }
}

/// Applies `opts` to a scenario, runs it and checks it; `origin` names it in errors.
pub fn run_scenario(scenario: &Scenario, origin: &str, opts: &RunOptions) -> Result<Report> {
    let mut scenario = scenario.clone();
    if let Some(seed) = opts.seed {
        scenario.seed = seed;
    }
    let mut plan = scenario.plan(origin)?;
    // Applied after validation: a shorter command-line bound simply never reaches faults
    // scheduled later in the file, which is not an error in the file.
    if let Some(t) = opts.max_time {
        if t == Duration::ZERO {
            return Err(Error::Usage(
                "--max-time must be greater than zero (e.g. 5s)".into(),
            ));
        }
        scenario.bounds.max_time = t;
        plan.scenario.bounds.max_time = t;
    }
    let outcome = scenario.protocol.run(&plan, opts.trace);
    let verdicts = scenario
        .checks
        .iter()
        .map(|c| c.evaluate(&outcome))
        .collect();
    Ok(Report {
        scenario,
        outcome,
        verdicts,
    })
}

/// Loads a scenario file, runs it and checks it.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<Report> {
    let scenario = load(path)?;
    run_scenario(&scenario, &path.display().to_string(), opts)
}
