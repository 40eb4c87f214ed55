//! `BroadcastDelivered`: every acknowledged `broadcast` value is in every node's final read,
//! and no read shows a value never broadcast; with the figures Gossip Glomers grades
//! (messages between programs per operation, median and largest stable latency), each
//! optionally bounded.

use super::{calls, final_reads, unanswered, MCall};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every acknowledged broadcast reaches every node (Maelstrom's broadcast workload); with
/// bounds on the figures when given (`max_msgs_per_op: 30, max_median_latency: "400ms",
/// max_latency: "600ms"`, challenge 3d of Gossip Glomers).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastDelivered {
    /// Most messages between programs per client operation.
    pub max_msgs_per_op: Option<f64>,
    /// Largest median stable latency.
    pub max_median_latency: Option<Duration>,
    /// Largest stable latency of any value.
    pub max_latency: Option<Duration>,
}

/// What a broadcast run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct BroadcastFigures {
    /// Client operations (broadcasts and reads, final reads included).
    pub ops: u64,
    /// Messages programs sent each other.
    pub server_msgs: Option<u64>,
    /// Stable latencies of the acknowledged values, smallest first.
    pub latencies: Vec<Duration>,
}

impl BroadcastFigures {
    /// Messages between programs per client operation.
    pub fn msgs_per_op(&self) -> Option<f64> {
        self.server_msgs.map(|m| m as f64 / self.ops.max(1) as f64)
    }

    /// The median stable latency.
    pub fn median(&self) -> Option<Duration> {
        self.latencies.get(self.latencies.len() / 2).copied()
    }

    /// The largest stable latency.
    pub fn max(&self) -> Option<Duration> {
        self.latencies.last().copied()
    }

    /// The figures as one line.
    pub fn line(&self) -> String {
        let show = |d: Option<Duration>| d.map_or("-".into(), |d| d.to_string());
        format!(
            "msgs-per-op {}, stable latency median {} max {} ({} ops, {} messages between nodes)",
            self.msgs_per_op().map_or("-".into(), |m| format!("{m:.1}")),
            show(self.median()),
            show(self.max()),
            self.ops,
            self.server_msgs.map_or("-".into(), |m| m.to_string())
        )
    }
}

fn messages(read: &MCall) -> Option<BTreeSet<u64>> {
    read.reply
        .get("messages")?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect()
}

/// The figures of a run: `latencies` holds, for each acknowledged value, the time from its
/// broadcast's invocation to the completion of the last answered read (begun after it) that
/// did not show it yet; zero when every later read showed it.
pub fn figures(outcome: &RunOutcome) -> BroadcastFigures {
    let all = calls(outcome);
    let reads: Vec<(&MCall, BTreeSet<u64>)> = all
        .iter()
        .filter(|c| (c.name == "read" || c.name == "final_read") && c.outcome == Phase::Ok)
        .filter_map(|c| Some((c, messages(c)?)))
        .collect();
    let mut latencies = Vec::new();
    for b in all
        .iter()
        .filter(|c| c.name == "broadcast" && c.outcome == Phase::Ok)
    {
        let Some(v) = b.request.get("message").and_then(Value::as_u64) else {
            continue;
        };
        let stable = reads
            .iter()
            .filter(|(r, seen)| r.invoked >= b.invoked && !seen.contains(&v))
            .filter_map(|(r, _)| r.completed)
            .max()
            .unwrap_or(b.invoked);
        latencies.push(stable.since(b.invoked));
    }
    latencies.sort();
    let server_msgs = outcome
        .snapshots
        .iter()
        .filter_map(|(_, s)| s.get(super::SERVER_MSGS)?.parse().ok())
        .max();
    BroadcastFigures {
        ops: all.len() as u64,
        server_msgs,
        latencies,
    }
}

impl Check for BroadcastDelivered {
    const NAME: &'static str = "BroadcastDelivered";

    fn property(&self) -> Property {
        Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let all = calls(outcome);
        let attempted: BTreeSet<u64> = all
            .iter()
            .filter(|c| c.name == "broadcast")
            .filter_map(|c| c.request.get("message")?.as_u64())
            .collect();
        let acked: BTreeMap<u64, &MCall> = all
            .iter()
            .filter(|c| c.name == "broadcast" && c.outcome == Phase::Ok)
            .filter_map(|c| Some((c.request.get("message")?.as_u64()?, c)))
            .collect();
        for r in all
            .iter()
            .filter(|c| (c.name == "read" || c.name == "final_read") && c.outcome == Phase::Ok)
        {
            let Some(seen) = messages(r) else {
                return Verdict::fail(
                    Self::NAME,
                    format!(
                        "{} answered read without a list of integer messages: {}",
                        r.node, r.reply
                    ),
                )
                .culprits(outcome, vec![r.index]);
            };
            if let Some(v) = seen.iter().find(|v| !attempted.contains(v)) {
                return Verdict::fail(
                    Self::NAME,
                    format!("{} read value {v}, which no client broadcast", r.node),
                )
                .culprits(outcome, vec![r.index]);
            }
        }
        let (finals, missing) = final_reads(&all);
        if finals.is_empty() || !missing.is_empty() {
            return unanswered(Self::NAME, &missing);
        }
        let mut lost: Vec<(u64, &str)> = Vec::new();
        for (node, read) in &finals {
            let seen = messages(read).unwrap_or_default();
            lost.extend(
                acked
                    .keys()
                    .filter(|v| !seen.contains(v))
                    .map(|v| (*v, node.as_str())),
            );
        }
        let figures = figures(outcome);
        if let Some(&(v, node)) = lost.first() {
            let b = acked[&v];
            let values: BTreeSet<u64> = lost.iter().map(|(v, _)| *v).collect();
            let read = &finals
                .iter()
                .find(|(n, _)| n == node)
                .map(|(_, r)| r.clone());
            let mut culprits = vec![b.index];
            culprits.extend(read.as_ref().map(|r| r.index));
            return Verdict::fail(
                Self::NAME,
                format!(
                    "{} acknowledged value{} lost: {v} (broadcast to {} at {}, acknowledged) is \
                     missing from {node}'s final read",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    b.node,
                    b.invoked
                ),
            )
            .detail(format!("lost values: {values:?}"))
            .detail(figures.line())
            .culprits(outcome, culprits);
        }
        let over = |what: &str, got: String, limit: String| {
            Verdict::fail(
                Self::NAME,
                format!("every value delivered, but {what} is {got}, over {limit}"),
            )
            .detail(figures.line())
        };
        if let (Some(limit), Some(got)) = (self.max_msgs_per_op, figures.msgs_per_op()) {
            if got > limit {
                return over("msgs-per-op", format!("{got:.1}"), limit.to_string());
            }
        }
        if let (Some(limit), Some(got)) = (self.max_median_latency, figures.median()) {
            if got > limit {
                return over(
                    "the median stable latency",
                    got.to_string(),
                    limit.to_string(),
                );
            }
        }
        if let (Some(limit), Some(got)) = (self.max_latency, figures.max()) {
            if got > limit {
                return over(
                    "the largest stable latency",
                    got.to_string(),
                    limit.to_string(),
                );
            }
        }
        Verdict::pass(
            Self::NAME,
            format!(
                "{} acknowledged values in all {} final reads",
                acked.len(),
                finals.len()
            ),
        )
        .detail(figures.line())
    }
}
