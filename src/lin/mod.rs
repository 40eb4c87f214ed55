//! Linearizability of recorded histories, for any model: the `Model` trait (a sequential
//! specification, `model.rs`), the shipped models (`models.rs`), the search (`search.rs`), and
//! the history formats read from files (clustersim JSON lines, Jepsen EDN, Jepsen logs:
//! `formats.rs`, with an EDN reader in `edn.rs`).
//!
//! Models are named on the command line through `named.rs` (`NamedModel`, `Models`).
//!
//! Checking is in two steps: `check_partitions` decides each partition (a key, for keyed
//! models) within a step budget; `Checked::window` then explains the first failing partition by
//! its smallest failing window, with a budget of its own, only when a report wants it. The
//! in-run `Linearizable` check and `clustersim check-history` share both.

pub mod edn;
pub mod formats;
pub mod model;
pub mod models;
pub mod named;
pub mod search;

pub use model::{Interner, Model, Operation, Outcome};
pub use named::{AnyModel, ModelError, Models, NamedModel};
pub use search::{LinOp, Stuck};

/// Most operations of the longest fitting order `explain_lines` lists one by one.
const EXPLAIN_LISTED: usize = 8;

/// `stuck` in words for a `model` (`describe` says an operation of it in words): the longest
/// order that fits, then the operation that cannot take effect and the model's state then.
pub fn explain_lines(
    stuck: &Stuck,
    model: &str,
    describe: impl Fn(usize) -> String,
) -> Vec<String> {
    let mut lines = Vec::new();
    let blocked = describe(stuck.blocked);
    let then = if stuck.fits {
        format!("{blocked} returns next; it could take effect, but no order of the rest goes on from there")
    } else {
        format!("{blocked} returns next and cannot take effect")
    };
    if stuck.order.is_empty() {
        lines.push(format!(
            "no operation can take effect first: {then} (the {model} is {})",
            stuck.state
        ));
        return lines;
    }
    lines.push(format!(
        "the longest order that fits the {model} ({} operations, as Porcupine's partial linearization):",
        stuck.order.len()
    ));
    let n = stuck.order.len();
    for (k, &i) in stuck.order.iter().enumerate() {
        if n > EXPLAIN_LISTED && k == EXPLAIN_LISTED / 2 {
            lines.push(format!("  ... {} more ...", n - EXPLAIN_LISTED));
        }
        if n <= EXPLAIN_LISTED || k < EXPLAIN_LISTED / 2 || k >= n - EXPLAIN_LISTED / 2 {
            lines.push(format!("  {}. {}", k + 1, describe(i)));
        }
    }
    lines.push(format!(
        "then {then} (after them the {model} is {})",
        stuck.state
    ));
    lines
}

use std::collections::BTreeMap;

/// Search steps allowed across all partitions before the verdict is `Unknown`.
pub const DEFAULT_MAX_STEPS: u64 = 20_000_000;

/// Search steps allowed for explaining a failure by its smallest window (the in-run check).
pub const DEFAULT_WINDOW_STEPS: u64 = 2_000_000;

/// The share of the verdict's search steps `window_budget` gives the smallest-window
/// narrowing: a half. The narrowing starts where the verdict's search got stuck (the shortest
/// failing prefix comes free with the verdict), so on Porcupine's 79 non-linearizable etcd logs
/// a verdict with its window costs 0.46 of Porcupine's verdict alone (benches/linearizability).
pub const WINDOW_SHARE: u64 = 2;

/// The steps `check-history` gives the smallest-window narrowing by default: a
/// `WINDOW_SHARE` of what the verdict took, so explaining a failure costs less than finding
/// it did (unbounded, the narrowing took 4.9 times the verdict on Porcupine's etcd logs).
pub fn window_budget(verdict_steps: u64) -> u64 {
    verdict_steps / WINDOW_SHARE
}

/// One partition's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionVerdict {
    /// The partition's key (empty for an unkeyed model).
    pub key: String,
    /// Operations in it.
    pub ops: usize,
    /// `Some(true)`: linearizable; `Some(false)`: not; `None`: the budget ran out first.
    pub linearizable: Option<bool>,
}

/// The verdict on every partition, with what is needed to explain a failure.
#[derive(Clone, Debug)]
pub struct Checked<O> {
    /// Each partition, in key order.
    pub partitions: Vec<PartitionVerdict>,
    /// Search steps used.
    pub steps: u64,
    /// The budget the search had.
    pub max_steps: u64,
    /// The search stopped because it would have held more memory than allowed (its
    /// undecided partitions are undecided for that reason, not for want of steps).
    pub out_of_memory: bool,
    /// The first failing partition: its key, its operations, and where its search got stuck.
    failing: Option<(String, Vec<LinOp<O>>, usize)>,
}

impl<O: Clone + std::fmt::Debug> Checked<O> {
    /// True when every partition is linearizable.
    pub fn linearizable(&self) -> bool {
        all_linearizable(&self.partitions)
    }

    /// The first partition found not linearizable, if any.
    pub fn failing_key(&self) -> Option<&str> {
        self.failing.as_ref().map(|(k, _, _)| k.as_str())
    }

    /// Where the search of the first failing partition got stuck (`search::search_frontier`).
    pub fn frontier(&self) -> Option<usize> {
        self.failing.as_ref().map(|(_, _, f)| *f)
    }

    /// The first partition the budget gave up on, if no partition failed.
    pub fn undecided(&self) -> Option<&PartitionVerdict> {
        first_undecided(&self.partitions, self.failing.is_some())
    }

    /// The smallest failing window of the first failing partition (the `origin`s of its
    /// operations), searched within `max_steps`; empty when nothing failed.
    pub fn window<M: Model<Op = O>>(&self, model: &M, max_steps: u64) -> Vec<usize> {
        self.window_explained(model, max_steps).0
    }

    /// `window`, with where a search of it got furthest (`Stuck`, operations as `origin`s).
    pub fn window_explained<M: Model<Op = O>>(
        &self,
        model: &M,
        max_steps: u64,
    ) -> (Vec<usize>, Option<Stuck>) {
        match &self.failing {
            Some((_, ops, frontier)) => {
                let w =
                    search::failing_window_after(model, ops, Some(*frontier), max_steps, u64::MAX);
                (w.ops.iter().map(|o| o.origin).collect(), w.stuck)
            }
            None => (Vec::new(), None),
        }
    }
}

/// True when every partition is linearizable.
pub(crate) fn all_linearizable(partitions: &[PartitionVerdict]) -> bool {
    partitions.iter().all(|p| p.linearizable == Some(true))
}

/// The first partition the budget gave up on, unless one `failed` (then the verdict is known).
pub(crate) fn first_undecided(
    partitions: &[PartitionVerdict],
    failed: bool,
) -> Option<&PartitionVerdict> {
    if failed {
        return None;
    }
    partitions.iter().find(|p| p.linearizable.is_none())
}

/// Reads recorded operations into the model's partitions (each operation's `origin` is its
/// index in `ops`); an operation the model cannot read is an error naming it.
#[allow(clippy::type_complexity)]
pub fn partitions<M: Model>(
    model: &M,
    ops: &[Operation],
    ids: &mut Interner,
) -> Result<BTreeMap<String, Vec<LinOp<M::Op>>>, ModelError> {
    let mut parts: BTreeMap<String, Vec<LinOp<M::Op>>> = BTreeMap::new();
    for (origin, op) in ops.iter().enumerate() {
        let prepared = model.prepare(op, ids).map_err(|message| ModelError {
            op: Some(origin),
            message,
        })?;
        let Some((key, step)) = prepared else {
            continue;
        };
        let ret = match op.outcome {
            Outcome::Info => None,
            Outcome::Ok | Outcome::Fail => op.ret,
        };
        parts.entry(key).or_default().push(LinOp {
            op: step,
            call: op.call,
            ret,
            origin,
        });
    }
    Ok(parts)
}

/// Decides every partition within `max_steps` search steps in all.
pub fn check_partitions<M: Model>(
    model: &M,
    parts: BTreeMap<String, Vec<LinOp<M::Op>>>,
    max_steps: u64,
) -> Checked<M::Op> {
    check_partitions_within(model, parts, max_steps, u64::MAX)
}

/// As `check_partitions`, each partition's search holding at most about `max_bytes`; past it
/// the search stops, the partitions left are undecided and `out_of_memory` says why.
pub fn check_partitions_within<M: Model>(
    model: &M,
    parts: BTreeMap<String, Vec<LinOp<M::Op>>>,
    max_steps: u64,
    max_bytes: u64,
) -> Checked<M::Op> {
    let mut budget = max_steps;
    let mut partitions = Vec::with_capacity(parts.len());
    let mut failing = None;
    let mut out_of_memory = false;
    for (key, ops) in parts {
        let mut frontier = 0;
        let result = if out_of_memory {
            None
        } else {
            let (searched, f) =
                search::search_frontier(model, &ops, model.init(), &mut budget, max_bytes);
            frontier = f;
            match searched {
                search::Searched::Decided(v) => Some(v),
                search::Searched::OutOfSteps => None,
                search::Searched::OutOfMemory => {
                    out_of_memory = true;
                    None
                }
            }
        };
        partitions.push(PartitionVerdict {
            key: key.clone(),
            ops: ops.len(),
            linearizable: result,
        });
        if result == Some(false) && failing.is_none() {
            failing = Some((key, ops, frontier));
        }
    }
    Checked {
        partitions,
        steps: max_steps - budget,
        max_steps,
        out_of_memory,
        failing,
    }
}
