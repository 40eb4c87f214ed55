//! `UniqueIds`: no two answered `generate` calls got the same id.

use super::{calls, reply_type};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every id a `generate` returned is unique (Maelstrom's unique-ids workload).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UniqueIds;

impl Check for UniqueIds {
    const NAME: &'static str = "UniqueIds";

    fn property(&self) -> Property {
        Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let names = &outcome.roster;
        let mut seen: BTreeMap<String, super::MCall> = BTreeMap::new();
        for c in calls(outcome) {
            if c.name != "generate" || c.outcome != Phase::Ok {
                continue;
            }
            let id = match (reply_type(&c), c.reply.get("id")) {
                ("generate_ok", Some(id)) => id.to_string(),
                _ => {
                    return Verdict::fail(
                        Self::NAME,
                        format!("{} answered generate without an id: {}", c.node, c.reply),
                    )
                    .culprits(outcome, vec![c.index])
                }
            };
            if let Some(first) = seen.get(&id) {
                return Verdict::fail(
                    Self::NAME,
                    format!(
                        "id {id} was generated twice: by {} and by {}",
                        first.node, c.node
                    ),
                )
                .detail(format!(
                    "{} asked {} at {}; {} asked {} at {}",
                    names.name(first.client),
                    first.node,
                    first.invoked,
                    names.name(c.client),
                    c.node,
                    c.invoked
                ))
                .culprits(outcome, vec![first.index, c.index]);
            }
            seen.insert(id, c);
        }
        if seen.is_empty() {
            return Verdict::unknown(Self::NAME, "no generate was answered; nothing to judge");
        }
        Verdict::pass(
            Self::NAME,
            format!("{} ids generated, all distinct", seen.len()),
        )
    }
}
