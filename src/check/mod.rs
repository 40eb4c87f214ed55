//! Checkers: each reads a finished run's history (never the engine) and returns a `Verdict`.
//!
//! One file per checker. `Check` is the list a scenario names in its `checks` field.

mod all_delivered;
mod converged;
mod delivery;
mod durable;
mod election_safety;
mod linearizable;
mod liveness;
mod stale_reads;
mod writes;

use crate::sim::RunOutcome;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use all_delivered::{check_all_delivered, AllDeliveredParams, Dissemination};
pub use converged::check_converged;
pub use delivery::{
    check_no_duplicate_completions, check_no_duplicate_effects, check_no_lost_tasks, Delivery,
    DeliveryCounts, TaskFate,
};
pub use durable::check_durable;
pub use election_safety::check_election_safety;
pub use linearizable::{
    check_history as check_linearizable_history, check_history_bounded, check_linearizable,
    LinResult,
};
pub use liveness::check_liveness;
pub use stale_reads::check_stale_reads;

/// A property a scenario asks of its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// Once every fault has healed, the system serves clients again: every calling client gets
    /// a successful call and none ends the run with three failed calls in a row.
    Liveness,
    /// Every task whose enqueue was acknowledged is completed at least once.
    NoLostTasks,
    /// No task's effect is applied by the sink more than once.
    NoDuplicateEffects,
    /// No task is completed by workers more than once.
    NoDuplicateCompletions,
    /// Every key-value operation takes effect atomically between its invoke and completion.
    Linearizable,
    /// Every acknowledged write is still readable (or superseded) after faults heal.
    Durable,
    /// After the last heal and a quiet period, all live replicas hold the same state.
    Converged,
    /// No read returns a value older than a write acknowledged before the read began.
    StaleReads,
    /// Every acknowledged chat message reaches every live node within a bound after the last heal.
    AllDelivered(AllDeliveredParams),
    /// At most one leader is elected in each term (leaders announce themselves in the history).
    ElectionSafety,
    /// The goal of one of the book's exercises (`exercises/goals.rs`).
    Exercise(crate::exercises::Goal),
}

/// True for a safety check: one that no fault left in force can fail spuriously (a split
/// network may stop progress, never make a linearizable history non-linearizable).
pub fn is_safety(check: &str) -> bool {
    matches!(
        check,
        "Linearizable"
            | "StaleReads"
            | "ElectionSafety"
            | "NoDuplicateEffects"
            | "NoDuplicateCompletions"
    )
}

impl Check {
    /// The check's name as written in scenarios.
    pub fn name(&self) -> &'static str {
        match self {
            Check::Liveness => "Liveness",
            Check::NoLostTasks => "NoLostTasks",
            Check::NoDuplicateEffects => "NoDuplicateEffects",
            Check::NoDuplicateCompletions => "NoDuplicateCompletions",
            Check::Linearizable => "Linearizable",
            Check::Durable => "Durable",
            Check::Converged => "Converged",
            Check::StaleReads => "StaleReads",
            Check::AllDelivered(_) => "AllDelivered",
            Check::ElectionSafety => "ElectionSafety",
            Check::Exercise(_) => "Exercise",
        }
    }

    /// Runs the check over a finished run.
    pub fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        match self {
            Check::Liveness => check_liveness(outcome),
            Check::NoLostTasks => check_no_lost_tasks(outcome),
            Check::NoDuplicateEffects => check_no_duplicate_effects(outcome),
            Check::NoDuplicateCompletions => check_no_duplicate_completions(outcome),
            Check::Linearizable => check_linearizable(outcome),
            Check::Durable => check_durable(outcome),
            Check::Converged => check_converged(outcome),
            Check::StaleReads => check_stale_reads(outcome),
            Check::AllDelivered(p) => check_all_delivered(outcome, p),
            Check::ElectionSafety => check_election_safety(outcome),
            Check::Exercise(goal) => goal.evaluate(outcome),
        }
    }
}

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
            .filter_map(|&i| outcome.history.entries().get(i).map(|e| e.time))
            .collect();
        if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
            self.window = Some((*lo, *hi));
        }
        self.culprits = entries;
        self
    }

    /// True unless the property was violated.
    pub fn passed(&self) -> bool {
        self.status != Status::Fail
    }
}
