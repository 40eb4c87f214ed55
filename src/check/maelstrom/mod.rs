//! Checks of the Maelstrom workloads (`protocols::maelstrom`), judged as Maelstrom judges them
//! from the clients' calls: `Echo`, `UniqueIds`, `BroadcastDelivered`, `CounterConverged`, `KafkaLog`
//! (lin-kv and the transactional workloads are judged by `Linearizable` and `Transactional`).
//!
//! Every call is recorded as `Op::custom(name, {"node": "n1", "body": {...}})`, the request's
//! body when invoked and the reply's when completed.

mod broadcast;
mod counter;
mod echo;
mod kafka;
mod unique_ids;

pub use broadcast::{figures as broadcast_figures, BroadcastDelivered, BroadcastFigures};
pub use counter::CounterConverged;
pub use echo::Echo;
pub use kafka::KafkaLog;
pub use unique_ids::UniqueIds;

use crate::history::{Call, Op, Phase};
use crate::node::NodeId;
use crate::sim::RunOutcome;
use crate::time::SimTime;
use serde_json::Value;

/// The snapshot key under which every program node reports the run's count of messages
/// between programs (for messages per operation).
pub const SERVER_MSGS: &str = "maelstrom.server_msgs";

/// One client call of a Maelstrom workload, its values read back.
#[derive(Clone, Debug)]
pub(crate) struct MCall {
    /// The operation's name (`echo`, `read`, ...).
    pub name: String,
    /// The client.
    pub client: NodeId,
    /// The node asked.
    pub node: String,
    /// The request's body.
    pub request: Value,
    /// The reply's body (the request's when there was none).
    pub reply: Value,
    /// Ok, Fail or Info.
    pub outcome: Phase,
    /// When it was invoked.
    pub invoked: SimTime,
    /// When it completed.
    pub completed: Option<SimTime>,
    /// The invoke entry, for culprits.
    pub index: usize,
}

/// The run's Maelstrom calls, in the order they were invoked.
pub(crate) fn calls(outcome: &RunOutcome) -> Vec<MCall> {
    outcome
        .history
        .each_call()
        .filter_map(|c: Call| {
            let Op::Custom { name, .. } = &c.invoked else {
                return None;
            };
            let name = name.clone();
            let inv: Value = c.invoked.custom_value(&name)?;
            let done: Value = c.completed.custom_value(&name).unwrap_or(Value::Null);
            Some(MCall {
                node: inv.get("node")?.as_str()?.to_string(),
                request: inv.get("body").cloned().unwrap_or(Value::Null),
                reply: done.get("body").cloned().unwrap_or(Value::Null),
                name,
                client: c.node,
                outcome: c.outcome,
                invoked: c.invoke_time,
                completed: c.complete_time,
                index: c.invoke_index,
            })
        })
        .collect()
}

/// The reply's `type`, or "nothing".
pub(crate) fn reply_type(call: &MCall) -> &str {
    call.reply
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("nothing")
}

/// The last answered final read of each node (with role `n`'s order of the snapshots'), by
/// node name; nodes whose final read was never answered are listed apart.
pub(crate) fn final_reads(calls: &[MCall]) -> (Vec<(String, MCall)>, Vec<String>) {
    let mut asked: Vec<String> = Vec::new();
    let mut answered: Vec<(String, MCall)> = Vec::new();
    for c in calls.iter().filter(|c| c.name == "final_read") {
        if !asked.contains(&c.node) {
            asked.push(c.node.clone());
        }
        if c.outcome == Phase::Ok {
            answered.retain(|(n, _)| *n != c.node);
            answered.push((c.node.clone(), c.clone()));
        }
    }
    answered.sort_by(|a, b| a.0.cmp(&b.0));
    let missing = asked
        .into_iter()
        .filter(|n| !answered.iter().any(|(a, _)| a == n))
        .collect();
    (answered, missing)
}

/// The verdict when the final reads a check needs were not all answered (`missing` names the
/// nodes; empty: none was): nothing to judge, never a pass.
pub(crate) fn unanswered(check: &str, missing: &[String]) -> crate::check::Verdict {
    crate::check::Verdict::unknown(
        check,
        format!(
            "the final read of {} was never answered; nothing to judge there",
            if missing.is_empty() {
                "every node".to_string()
            } else {
                missing.join(", ")
            }
        ),
    )
}
