//! One run end to end: scenario -> registry (plan, protocol, checks) -> engine -> `Report`.

use crate::check::Verdict;
use crate::error::{Error, Result};
use crate::memory::Bytes;
use crate::registry::Registry;
use crate::scenario::{load, Scenario};
use crate::sim::RunOutcome;
use crate::sim::StopReason;
use crate::time::Duration;
use crate::trace::TraceLevel;
use std::path::Path;

/// Command-line style overrides for one run.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Use this seed instead of the scenario's.
    pub seed: Option<u64>,
    /// Use this time bound instead of the scenario's.
    pub max_time: Option<Duration>,
    /// Keep every trace event (needed for trace files and timelines).
    pub trace: TraceLevel,
    /// Use this memory budget instead of the scenario's.
    pub max_memory: Option<Bytes>,
    /// Keep the history in this file instead of memory (`History::on_disk`).
    pub history_file: Option<crate::history::HistoryFile>,
}

setters!(RunOptions {
    seed: Option<u64>,
    max_time: Option<Duration>,
    trace: TraceLevel,
    max_memory: Option<Bytes>,
    history_file: Option<crate::history::HistoryFile>,
});

/// A finished run with its verdicts.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario as run (overrides applied).
    pub scenario: Scenario,
    /// What the engine produced.
    pub outcome: RunOutcome,
    /// One verdict per check, in the scenario's order.
    pub verdicts: Vec<Verdict>,
    /// The program whose registry ran it, named in replay commands (`clustersim run FILE`).
    pub program: String,
    /// The outside program the nodes are, if they are one (`Protocol::external`).
    pub external: Option<crate::protocol::External>,
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

    /// The command that replays a scenario file of this run: program, `run`, file, protocol.
    pub fn replay_line(&self, path: &Path) -> String {
        replay_line(&self.program, &self.scenario, path)
    }
}

/// "Replay: PROGRAM run FILE (protocol NAME)", the line replay files carry in their header.
pub fn replay_line(program: &str, scenario: &Scenario, path: &Path) -> String {
    format!(
        "Replay: {program} run {} (protocol {})",
        path.display(),
        scenario.protocol.name()
    )
}

/// Applies `opts` to a scenario, runs it with `registry`'s protocol and checks; `origin` names
/// it in errors.
pub fn run_scenario(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    opts: &RunOptions,
) -> Result<Report> {
    let mut scenario = scenario.clone();
    if let Some(seed) = opts.seed {
        scenario.seed = seed;
    }
    if let Some(budget) = opts.max_memory {
        scenario.bounds.max_memory = budget;
    }
    let mut prepared = registry.prepare(&scenario, origin)?;
    // Applied after validation: a shorter command-line bound simply never reaches faults
    // scheduled later in the file, which is not an error in the file.
    if let Some(t) = opts.max_time {
        if t == Duration::ZERO {
            return Err(Error::Usage(
                "--max-time must be greater than zero (e.g. 5s)".into(),
            ));
        }
        scenario.bounds.max_time = t;
        prepared.plan.scenario.bounds.max_time = t;
    }
    prepared.plan.history_file = opts.history_file.clone();
    let (outcome, verdicts) = prepared.run(opts.trace);
    if outcome.stop == StopReason::MemoryBudget {
        return Err(over_budget(&outcome, origin));
    }
    if let (Some(file), Some(message)) = (&opts.history_file, outcome.history.disk_error()) {
        return Err(Error::Io {
            path: file.path().display().to_string(),
            message: format!("{message}; the run's verdicts are not given"),
        });
    }
    Ok(Report {
        scenario,
        outcome,
        verdicts,
        program: registry.program().to_string(),
        external: prepared.protocol.external(),
    })
}

/// The error of a run stopped by its memory budget: when, what held the memory, which knob.
fn over_budget(outcome: &RunOutcome, origin: &str) -> Error {
    let m = outcome.memory;
    let (part, knob) = m.culprit();
    let part_bytes = match part {
        "the trace" => m.trace,
        "the history" => m.history,
        "the pending events" => m.queue,
        _ => m.nodes,
    };
    Error::Invalid {
        path: origin.to_string(),
        message: format!(
            "seed {}: the run stopped at {} of virtual time ({} events): it would hold more than \
             its memory budget of {} (about {}, most of it {}: {}); {knob}, or raise \
             `bounds.max_memory` (or --max-memory)",
            outcome.seed,
            outcome.end_time,
            outcome.stats.events,
            outcome.bounds.max_memory,
            Bytes(m.total()),
            part,
            Bytes(part_bytes),
        ),
    }
}

/// Loads a scenario file, runs it and checks it with `registry`.
pub fn run_file(registry: &Registry, path: &Path, opts: &RunOptions) -> Result<Report> {
    let scenario = load(path)?;
    run_scenario(registry, &scenario, &path.display().to_string(), opts)
}

/// Whether a scenario's run replays: what `--check-determinism` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Determinism {
    /// A second run gave the same trace hash.
    Same(u64),
    /// The runs differed: their trace hashes, and where two more runs with whole traces
    /// parted, when they did.
    Differs {
        /// The first run's trace hash.
        first: u64,
        /// The second run's.
        second: u64,
        /// The first event the traces disagree on, in words; none when the two runs with
        /// whole traces agreed.
        divergence: Option<String>,
    },
}

/// Runs `scenario` again and compares the trace hash with `first` (a run of the same scenario
/// and options): a protocol that reads the wall clock, draws from an unseeded generator or
/// iterates a `HashMap` (whose order differs from one map to the next) shows here. On a
/// mismatch two more runs keep their whole traces to name the first event they disagree on.
pub fn check_determinism(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    opts: &RunOptions,
    first: u64,
) -> Result<Determinism> {
    let again = RunOptions {
        trace: TraceLevel::HashOnly,
        history_file: None,
        ..opts.clone()
    };
    let second = run_scenario(registry, scenario, origin, &again)?
        .outcome
        .trace_hash();
    if second == first {
        return Ok(Determinism::Same(first));
    }
    let whole = RunOptions {
        trace: TraceLevel::Full,
        ..again
    };
    let a = run_scenario(registry, scenario, origin, &whole)?;
    let b = run_scenario(registry, scenario, origin, &whole)?;
    let names = a.outcome.roster.names();
    let (ea, eb) = (a.outcome.trace.events(), b.outcome.trace.events());
    let divergence = (0..ea.len().max(eb.len()))
        .find(|&i| ea.get(i).map(|e| e.to_json(names)) != eb.get(i).map(|e| e.to_json(names)))
        .map(|i| {
            let show = |e: Option<&crate::trace::TraceEvent>| {
                e.map_or("the trace had ended".to_string(), |e| e.to_json(names))
            };
            format!(
                "event {} of the trace: {} in one run, {} in the other",
                i + 1,
                show(ea.get(i)),
                show(eb.get(i))
            )
        });
    Ok(Determinism::Differs {
        first,
        second,
        divergence,
    })
}
