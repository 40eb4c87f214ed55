//! `CounterConverged`: every node's final read of a counter (grow-only, or with negative adds)
//! lies within what the adds allow: the acknowledged ones, plus any subset of those that may or
//! may not have happened (no answer, or an indefinite error).

use super::{calls, final_reads, unanswered};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The counter converged to the sum (Maelstrom's g-counter and pn-counter workloads).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CounterConverged;

impl Check for CounterConverged {
    const NAME: &'static str = "CounterConverged";

    fn property(&self) -> Property {
        Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let all = calls(outcome);
        let delta = |c: &super::MCall| c.request.get("delta").and_then(Value::as_i64).unwrap_or(0);
        let adds = all.iter().filter(|c| c.name == "add");
        let acked: i64 = adds
            .clone()
            .filter(|c| c.outcome == Phase::Ok)
            .map(delta)
            .sum();
        let maybe = adds.clone().filter(|c| c.outcome == Phase::Info).map(delta);
        let low = acked + maybe.clone().filter(|d| *d < 0).sum::<i64>();
        let high = acked + maybe.filter(|d| *d > 0).sum::<i64>();
        let (finals, missing) = final_reads(&all);
        if finals.is_empty() || !missing.is_empty() {
            return unanswered(Self::NAME, &missing);
        }
        for (node, read) in &finals {
            let value = read.reply.get("value").and_then(Value::as_i64);
            if !value.is_some_and(|v| (low..=high).contains(&v)) {
                let shown = value.map_or(format!("no integer value ({})", read.reply), |v| {
                    v.to_string()
                });
                return Verdict::fail(
                    Self::NAME,
                    format!(
                        "{node}'s final read is {shown}; the acknowledged adds sum to {acked}, \
                         and with those that may have happened it may be {low} to {high}"
                    ),
                )
                .culprits(outcome, vec![read.index]);
            }
        }
        Verdict::pass(
            Self::NAME,
            format!(
                "all {} final reads within [{low}, {high}] ({} adds acknowledged)",
                finals.len(),
                adds.filter(|c| c.outcome == Phase::Ok).count()
            ),
        )
    }
}
