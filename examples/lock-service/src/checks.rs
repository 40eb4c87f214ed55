//! The lock service's own checks, implementing `clustersim::Check` exactly as the shipped ones
//! do: they read the history only (typed events, no string parsing).

use crate::protocol::{Applied, ACQUIRE, APPLIED};
use clustersim::check::Verdict;
use clustersim::fault::whole_since;
use clustersim::history::Phase;
use clustersim::sim::{NodeStatus, RunOutcome};
use clustersim::{Check, Duration, Property};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ANCHOR: mutual_exclusion
/// The resource sees one holder at a time: the writes it applies carry growing tokens. A write
/// under an older grant after a newer grant's write means two clients acted as the holder.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MutualExclusion;

impl Check for MutualExclusion {
    const NAME: &'static str = "MutualExclusion";

    fn property(&self) -> Property {
        // A split network can stop clients from writing, never make two of them write.
        Property::Safety
    }

    // A write under an older grant after a newer one stays in the history: judged at every
    // state of an exhaustive search.
    fn invariant(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let mut newest: Option<(u64, String, usize)> = None;
        let mut writes = 0;
        for e in outcome.history.events() {
            let Some(w) = e.op.custom_value::<Applied>(APPLIED) else {
                continue;
            };
            writes += 1;
            match &newest {
                Some((token, client, index)) if w.token < *token => {
                    return Verdict::fail(
                        Self::NAME,
                        format!(
                            "{} wrote under grant {} at {}, after {} had written under the newer grant {token}: two clients held the lock",
                            w.client, w.token, e.time, client
                        ),
                    )
                    .culprits(outcome, vec![*index, e.index]);
                }
                Some((token, ..)) if w.token == *token => {}
                _ => newest = Some((w.token, w.client, e.index)),
            }
        }
        if writes == 0 {
            return Verdict::unknown(Self::NAME, "the resource applied no write");
        }
        Verdict::pass(
            Self::NAME,
            format!("{writes} writes applied, in the order of their grants"),
        )
    }
}
// ANCHOR_END: mutual_exclusion

/// Once every fault has healed, every client that is up and still asking `within` after the
/// heal has been granted the lock since the heal: `AcquiresServed(within: "500ms")`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcquiresServed {
    /// How long after the heal a client may wait for its turn.
    pub within: Duration,
}

impl Default for AcquiresServed {
    fn default() -> Self {
        AcquiresServed {
            within: Duration::from_millis(500),
        }
    }
}

impl Check for AcquiresServed {
    const NAME: &'static str = "AcquiresServed";

    fn property(&self) -> Property {
        Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let Some(since) = whole_since(&outcome.faults) else {
            return Verdict::unknown(Self::NAME, "a fault is still in force at the end");
        };
        let deadline = since + self.within;
        // Per client: acquires asked after the heal, whether one was granted, whether it was
        // still asking at the deadline, and its first such call.
        let mut asked: BTreeMap<u32, (usize, bool, bool, usize)> = BTreeMap::new();
        for c in outcome.history.calls() {
            if c.invoke_time < since || c.invoked.custom_value::<()>(ACQUIRE).is_none() {
                continue;
            }
            let slot = asked
                .entry(c.node.0)
                .or_insert((0, false, false, c.invoke_index));
            slot.0 += 1;
            slot.1 |= c.outcome == Phase::Ok;
            slot.2 |= c.invoke_time >= deadline;
        }
        asked.retain(|_, (_, granted, late, _)| *granted || *late);
        if asked.is_empty() {
            return Verdict::unknown(
                Self::NAME,
                format!("no client was still asking for the lock at {deadline}"),
            );
        }
        let names = outcome.roster.names();
        for (client, (n, granted, _, first)) in &asked {
            let up = outcome.status.get(*client as usize) == Some(&NodeStatus::Up);
            if up && !granted {
                return Verdict::fail(
                    Self::NAME,
                    format!(
                        "{} asked for the lock {n} times from the heal at {since} to past {deadline} and never got it",
                        names.get(*client as usize).map_or("?", String::as_str)
                    ),
                )
                .culprits(outcome, vec![*first]);
            }
        }
        Verdict::pass(
            Self::NAME,
            format!(
                "all {} clients asking after {since} got the lock",
                asked.len()
            ),
        )
    }
}
