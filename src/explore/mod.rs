//! Fault exploration: sweep a scenario's nemesis over many seeds (`sweep`), split a campaign
//! across machines (`shard`), show progress (`progress`), and shrink a failing seed to a small
//! scenario with an explicit fault schedule that still fails the same check (`shrink`).
//!
//! Threads and wall time live here only: every run stays single-threaded and deterministic.

pub mod exhaustive;
pub mod load;
pub mod progress;
mod seen;
pub mod shard;
pub mod shrink;
pub mod strategy;
pub mod sweep;

pub use shard::Shard;
pub use shrink::{explicit, file_stem, shrink, shrink_or_report, ShrinkOptions, Shrunk};
pub use strategy::Strategy;
pub use sweep::{sweep, Budget, SeedFailure, SweepConfig, SweepOutcome};

use crate::error::Result;
use crate::registry::Registry;
use crate::run::{run_scenario, Report, RunOptions};
use crate::scenario::Scenario;

/// The runner `sweep` and `shrink` take: plan, run (trace hash only) and check each scenario
/// with `registry`; `origin` names the scenario in errors.
pub fn runner<'a>(
    registry: &'a Registry,
    origin: &'a str,
) -> impl Fn(&Scenario) -> Result<Report> + Sync + 'a {
    move |s: &Scenario| run_scenario(registry, s, origin, &RunOptions::default())
}

/// The runner of a sweep under `strategy`: each seed runs the scenario the strategy draws for
/// it (`runner` is this with `Strategy::Random`). Shrink the failing seed's own scenario
/// (`strategy.scenario_for(base, seed)`) with the plain `runner`.
pub fn runner_for<'a>(
    registry: &'a Registry,
    origin: &'a str,
    strategy: Strategy,
) -> impl Fn(&Scenario) -> Result<Report> + Sync + 'a {
    move |s: &Scenario| {
        run_scenario(
            registry,
            &strategy.scenario_for(s, s.seed),
            origin,
            &RunOptions::default(),
        )
    }
}
