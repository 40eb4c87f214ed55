//! AllDelivered: every acknowledged chat message reaches every live node within a bound after
//! the last heal, naming the first (message, node) pair missing; and the `delivery_latency`
//! summary, the time from post to full dissemination (every live node holds the message).
//!
//! The nodes that must deliver are the live nodes of every role that recorded a `Deliver` event,
//! so the posting clients (which deliver nothing) are left out without naming roles here.

use super::Verdict;
use crate::fault::whole_since;
use crate::history::{Call, Op, Phase};
use crate::node::NodeId;
use crate::sim::{NodeStatus, RunOutcome, StopReason};
use crate::time::{Duration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Every acknowledged chat message reaches every live node within `within` after the last heal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllDelivered {
    /// How long after the last heal (or after its post, if later) a message may take to reach
    /// every live node.
    pub within: Duration,
}

impl Default for AllDelivered {
    fn default() -> Self {
        AllDelivered {
            within: Duration::from_secs(5),
        }
    }
}

/// Who delivered which message when, read from a history.
#[derive(Clone, Debug, Default)]
pub struct Dissemination<'a> {
    /// Acknowledged posts, in invocation order, with their message id.
    pub acked: Vec<(u64, &'a Call)>,
    /// First delivery of each (message, node): time and history index.
    pub delivered: BTreeMap<(u64, NodeId), (SimTime, usize)>,
    /// The live nodes that must deliver every message.
    pub members: Vec<NodeId>,
}

impl<'a> Dissemination<'a> {
    /// Reads posts and deliveries from `calls` (the history's calls) and `outcome`.
    pub fn new(outcome: &RunOutcome, calls: &'a [Call]) -> Self {
        let acked = calls
            .iter()
            .filter(|c| c.outcome == Phase::Ok)
            .filter_map(|c| match c.invoked {
                Op::Post { msg, .. } => Some((msg, c)),
                _ => None,
            })
            .collect();
        let mut delivered = BTreeMap::new();
        let mut roles: BTreeSet<&str> = BTreeSet::new();
        for e in outcome.history.events() {
            if let Op::Deliver { msg } = e.op {
                delivered.entry((msg, e.node)).or_insert((e.time, e.index));
                roles.insert(outcome.roster.role(e.node));
            }
        }
        let members = outcome
            .roster
            .ids()
            .filter(|id| outcome.status.get(id.index()) == Some(&NodeStatus::Up))
            .filter(|id| roles.contains(outcome.roster.role(*id)))
            .collect();
        Dissemination {
            acked,
            delivered,
            members,
        }
    }

    /// When `msg` reached its last member, if it reached them all.
    pub fn full_at(&self, msg: u64) -> Option<SimTime> {
        self.members
            .iter()
            .map(|n| self.delivered.get(&(msg, *n)).map(|(t, _)| *t))
            .try_fold(SimTime::ZERO, |acc, t| t.map(|t| acc.max(t)))
    }

    /// Post-to-full-dissemination times of acknowledged messages that reached every member,
    /// sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let mut v: Vec<Duration> = self
            .acked
            .iter()
            .filter_map(|(msg, c)| Some(self.full_at(*msg)? - c.invoke_time))
            .collect();
        v.sort();
        v
    }

    /// The `delivery_latency` line for a report.
    pub fn latency_line(&self) -> String {
        let lat = self.latencies();
        match lat.last() {
            None => "delivery_latency: no acknowledged message reached every live node".into(),
            Some(max) => {
                let pick = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
                format!(
                    "delivery_latency post->all {} live nodes: p50 {} p99 {} max {} ({} of {} acknowledged messages)",
                    self.members.len(),
                    pick(0.5),
                    pick(0.99),
                    max,
                    lat.len(),
                    self.acked.len()
                )
            }
        }
    }
}

/// Every message whose post was acknowledged reaches every live node by `within` after the last
/// heal (or after its post, if later). Messages whose deadline lies past the end of the run are
/// not judged unless already missed by then (or the run fell quiescent, so nothing more comes).
pub fn check_all_delivered(outcome: &RunOutcome, params: &AllDelivered) -> Verdict {
    const NAME: &str = "AllDelivered";
    let calls = outcome.history.calls();
    let d = Dissemination::new(outcome, &calls);
    let with_latency = |mut v: Verdict| {
        v.details.push(d.latency_line());
        v
    };
    if d.acked.is_empty() {
        return Verdict::unknown(NAME, "no post was acknowledged");
    }
    let Some(healed) = whole_since(&outcome.faults) else {
        return with_latency(Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        ));
    };
    if d.members.is_empty() {
        return Verdict::fail(
            NAME,
            format!(
                "{} posts were acknowledged but no live node delivered any message",
                d.acked.len()
            ),
        );
    }
    let names = |n: NodeId| outcome.roster.name(n).to_string();
    // A quiescent run has nothing left to do: what is missing at its end stays missing.
    let judged_until = if outcome.stop == StopReason::Quiescent {
        SimTime(u64::MAX)
    } else {
        outcome.end_time
    };
    let mut judged = 0usize;
    let mut undecided = 0usize;
    let mut missing = 0usize;
    let mut late = 0usize;
    // (message, post call, node, deadline, delivered at)
    let mut first: Option<(u64, &Call, NodeId, SimTime, Option<SimTime>)> = None;
    for (msg, call) in &d.acked {
        let deadline = healed.max(call.invoke_time) + params.within;
        let mut open = false;
        let mut bad = false;
        for &node in &d.members {
            match d.delivered.get(&(*msg, node)) {
                Some((t, _)) if *t <= deadline => {}
                Some((t, _)) => {
                    late += 1;
                    bad = true;
                    first.get_or_insert((*msg, call, node, deadline, Some(*t)));
                }
                None if deadline <= judged_until => {
                    missing += 1;
                    bad = true;
                    first.get_or_insert((*msg, call, node, deadline, None));
                }
                None => open = true,
            }
        }
        if open && !bad {
            undecided += 1;
        } else {
            judged += 1;
        }
    }
    let Some((msg, call, node, deadline, at)) = first else {
        if judged == 0 {
            return with_latency(Verdict::unknown(
                NAME,
                format!(
                    "all {undecided} acknowledged messages were posted too late to judge: the run ended at {}, before {} after the last heal at {healed}",
                    outcome.end_time, params.within
                ),
            ));
        }
        let mut summary = format!(
            "all {judged} acknowledged messages reached all {} live nodes within {} of the last heal (at {healed})",
            d.members.len(),
            params.within
        );
        if undecided > 0 {
            summary.push_str(&format!(
                "; {undecided} posted too late to judge and not yet everywhere"
            ));
        }
        return with_latency(Verdict::pass(NAME, summary));
    };
    let reached = d
        .members
        .iter()
        .filter(|n| d.delivered.contains_key(&(msg, **n)))
        .count();
    let what = match at {
        None => format!("never reached {}", names(node)),
        Some(t) => format!("reached {} only at {t}", names(node)),
    };
    let v = Verdict::fail(
        NAME,
        format!(
            "message {msg} (posted by {} at {}) {what}, deadline {deadline}; {missing} (message, node) pairs missing, {late} late",
            names(call.node),
            call.invoke_time
        ),
    )
    .detail(format!(
        "message {msg} reached {reached} of {} live nodes; the last heal was at {healed}, the run ended at {}",
        d.members.len(),
        outcome.end_time
    ));
    let mut entries = vec![call.invoke_index];
    entries.extend(call.complete_index);
    let v = with_latency(v).culprits(outcome, entries);
    Verdict {
        window: v
            .window
            .map(|(lo, hi)| (lo, hi.max(deadline.min(outcome.end_time)))),
        ..v
    }
}

impl crate::protocol::Check for AllDelivered {
    const NAME: &'static str = "AllDelivered";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_all_delivered(outcome, self)
    }
}
