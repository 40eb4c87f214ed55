//! Checkers: each reads a finished run's history (never the engine) and returns a `Verdict`.
//!
//! One file per checker, each a type implementing `protocol::Check` (registered in
//! `Registry::shipped`) beside the function that does the work.

mod all_delivered;
mod atomic;
mod converged;
mod delivery;
mod durable;
mod election_safety;
mod fair;
mod linearizable;
mod liveness;
pub mod maelstrom;
mod stale_reads;
mod throughput;
mod transactional;
mod writes;

use crate::protocol::Property;
use crate::sim::RunOutcome;
use crate::time::SimTime;
use std::fmt;

pub use all_delivered::{check_all_delivered, AllDelivered, Dissemination};
pub use atomic::Atomic;
pub use converged::{check_converged, Converged};
pub use delivery::{
    check_no_duplicate_completions, check_no_duplicate_effects, check_no_lost_effects,
    check_no_lost_tasks, Delivery, DeliveryCounts, NoDuplicateCompletions, NoDuplicateEffects,
    NoLostEffects, NoLostTasks, TaskFate,
};
pub use durable::{check_durable, Durable};
pub use election_safety::{check_election_safety, ElectionSafety};
pub use fair::judged_fairly;
pub use linearizable::{
    check_history as check_linearizable_history, check_history_bounded, check_linearizable,
    LinResult, Linearizable,
};
pub use liveness::{check_liveness, Liveness};
pub use maelstrom::{BroadcastDelivered, CounterConverged, Echo, KafkaLog, UniqueIds};
pub use stale_reads::{check_stale_reads, StaleReads};
pub use throughput::{measure as measure_load, Load, Quantiles, Throughput};
pub use transactional::Transactional;

/// The verdict on a run that a node's panic ended: `NoPanic` fails, naming the node, what it
/// was handling, the message and where it was raised. Always judged, whatever the scenario asks.
pub fn panic_verdict(outcome: &RunOutcome, panic: &crate::sim::Panic) -> Verdict {
    let name = outcome.roster.name(panic.node);
    let at = panic
        .location
        .as_ref()
        .map(|l| format!(" (at {l})"))
        .unwrap_or_default();
    let mut v = Verdict::fail(
        NO_PANIC,
        format!(
            "{name} panicked at {} handling {}: {}{at}",
            panic.time, panic.handling, panic.message
        ),
    )
    .detail(format!("seed {}; the run stopped there", outcome.seed));
    v.window = Some((panic.time, panic.time));
    v.property = Property::Safety;
    v
}

/// The name of the verdict a panicking node gets.
pub const NO_PANIC: &str = "NoPanic";

/// Whether a property held.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// It held.
    Pass,
    /// It was violated.
    Fail,
    /// The checker could not decide (too large, or the run gave it nothing to judge).
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// A checker's answer, with the evidence a person needs to see why.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The check's name.
    pub check: String,
    /// Pass, fail or unknown.
    pub status: Status,
    /// One line saying what was found.
    pub summary: String,
    /// Further lines (tables, the first offending operation and the events around it).
    pub details: Vec<String>,
    /// History entries that make up the counterexample, for renderers to highlight.
    pub culprits: Vec<usize>,
    /// The span of virtual time that explains a failure, for timelines to zoom into.
    pub window: Option<(SimTime, SimTime)>,
    /// Safety or liveness, as the check says (set when a registered check is evaluated).
    pub property: Property,
    /// Why no order of the counterexample's operations fits, when the check can say.
    pub explanation: Option<Explanation>,
}

/// Why no order of a counterexample's operations fits a model, as Porcupine shows it: the
/// longest order that does, the model's state after it, and the operation that must take
/// effect next (its return comes before any other can) and cannot.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// History entries (invocations) of the operations of the longest order that fits, in the
    /// order they take effect.
    pub order: Vec<usize>,
    /// The history entry (invocation) of the operation whose return comes next, which cannot
    /// take effect after them (or can, but leaves no order for the rest).
    pub blocked: usize,
    /// The model's state after the order, in words.
    pub state: String,
}

impl Verdict {
    /// A passing verdict.
    pub fn pass(check: &str, summary: impl Into<String>) -> Self {
        Verdict {
            check: check.to_string(),
            status: Status::Pass,
            summary: summary.into(),
            details: Vec::new(),
            culprits: Vec::new(),
            window: None,
            property: Property::Liveness,
            explanation: None,
        }
    }

    /// A failing verdict.
    pub fn fail(check: &str, summary: impl Into<String>) -> Self {
        Verdict {
            status: Status::Fail,
            ..Verdict::pass(check, summary)
        }
    }

    /// An undecided verdict.
    pub fn unknown(check: &str, summary: impl Into<String>) -> Self {
        Verdict {
            status: Status::Unknown,
            ..Verdict::pass(check, summary)
        }
    }

    /// Adds a detail line.
    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    /// Sets the counterexample's history entries and the time window around them.
    pub fn culprits(mut self, outcome: &RunOutcome, entries: Vec<usize>) -> Self {
        let times: Vec<SimTime> = entries
            .iter()
            .filter_map(|&i| outcome.history.entry(i).map(|e| e.time))
            .collect();
        if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
            self.window = Some((*lo, *hi));
        }
        self.culprits = entries;
        self
    }

    /// Sets why no order of the counterexample's operations fits.
    pub fn explained(mut self, explanation: Explanation) -> Self {
        self.explanation = Some(explanation);
        self
    }

    /// True unless the property was violated.
    pub fn passed(&self) -> bool {
        self.status != Status::Fail
    }
}
