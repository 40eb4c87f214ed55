//! `CounterConverged`: every node's final read of a grow-only counter lies between the sum of
//! the acknowledged adds and the sum of every add that may have happened.

use super::{calls, final_reads};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The counter converged to the sum (Maelstrom's g-counter workload).
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
        let low: i64 = adds
            .clone()
            .filter(|c| c.outcome == Phase::Ok)
            .map(delta)
            .sum();
        let high: i64 = adds
            .clone()
            .filter(|c| c.outcome != Phase::Fail)
            .map(delta)
            .sum();
        let (finals, missing) = final_reads(&all);
        if finals.is_empty() || !missing.is_empty() {
            return Verdict::unknown(
                Self::NAME,
                format!(
                    "the final read of {} was never answered; nothing to judge there",
                    if missing.is_empty() {
                        "every node".to_string()
                    } else {
                        missing.join(", ")
                    }
                ),
            );
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
                        "{node}'s final read is {shown}; the acknowledged adds sum to {low} and \
                         every add that may have happened to {high}"
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
