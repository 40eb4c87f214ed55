//! Convergence: after the last heal and a quiet period, every live replica holds the same state.

use super::Verdict;
use crate::fault::whole_since;
use crate::history::{Op, Phase};
use crate::sim::{NodeStatus, RunOutcome, StopReason};
use crate::time::Duration;

/// How long after the last heal the run must go on before replicas are expected to agree.
pub const QUIET: Duration = Duration::from_secs(1);

/// Compares the final snapshots of all running replicas once the run went on `QUIET` after the
/// last heal (or fell quiescent); fails naming the first differing key.
pub fn check_converged(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "Converged";
    let Some(healed) = whole_since(&outcome.faults) else {
        return Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        );
    };
    let quiet = outcome.end_time.since(healed);
    // A quiescent run has nothing left to do: its final state is settled however soon it ended.
    if quiet < QUIET && outcome.stop != StopReason::Quiescent {
        return Verdict::unknown(
            NAME,
            format!("the run ended {quiet} after the last heal at {healed}; it needs a quiet period of {QUIET}"),
        );
    }
    let live: Vec<_> = outcome
        .snapshots
        .iter()
        .filter(|(id, _)| outcome.status.get(id.index()) == Some(&NodeStatus::Up))
        .collect();
    let Some((first_id, first)) = live.first() else {
        return Verdict::unknown(NAME, "no live replica reported its state");
    };
    // Agreeing on nothing is no convergence when writes were acknowledged.
    if live.iter().all(|(_, s)| s.is_empty()) {
        let acked = outcome
            .history
            .calls()
            .iter()
            .filter(|c| {
                c.outcome == Phase::Ok && matches!(c.invoked, Op::Put { .. } | Op::Cas { .. })
            })
            .count();
        if acked > 0 {
            return Verdict::fail(
                NAME,
                format!(
                    "all {} live replicas report an empty state, though {acked} writes were acknowledged",
                    live.len()
                ),
            );
        }
    }
    for (id, snap) in &live[1..] {
        let keys = first.keys().chain(snap.keys());
        if let Some(key) = keys.into_iter().find(|k| first.get(*k) != snap.get(*k)) {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "absent".to_string());
            return Verdict::fail(
                NAME,
                format!(
                    "{} and {} differ at key {key} ({quiet} after the last heal)",
                    outcome.roster.name(*first_id),
                    outcome.roster.name(*id)
                ),
            )
            .detail(format!(
                "{}: {key} = {}",
                outcome.roster.name(*first_id),
                show(first.get(key))
            ))
            .detail(format!(
                "{}: {key} = {}",
                outcome.roster.name(*id),
                show(snap.get(key))
            ));
        }
    }
    Verdict::pass(
        NAME,
        format!(
            "{} live replicas hold the same {} keys, {quiet} after the last heal",
            live.len(),
            first.len()
        ),
    )
}

/// After the last heal and a quiet period, all live replicas hold the same state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Converged;

impl crate::protocol::Check for Converged {
    const NAME: &'static str = "Converged";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_converged(outcome)
    }
}
