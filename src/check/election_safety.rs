//! Election safety (Raft, Figure 3): at most one leader can be elected in a given term.
//!
//! A node counts as leader of a term when it announced itself (`Op::custom(LEADER, &term)`) or
//! recorded taking the leader role in that term (`Op::custom(ROLE, &RoleChange { .. })`), so a
//! server that acts as leader without announcing it is counted too.

use super::Verdict;
use crate::history::{Phase, RoleChange, LEADER, ROLE};
use crate::node::NodeId;
use crate::sim::RunOutcome;
use std::collections::BTreeMap;

/// Fails when two different nodes announced leadership of the same term.
pub fn check_election_safety(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "ElectionSafety";
    // term -> (leader, history index) of every announcement.
    let mut leaders: BTreeMap<u64, Vec<(NodeId, usize)>> = BTreeMap::new();
    for e in outcome.history.entries() {
        if e.phase != Phase::Event {
            continue;
        }
        let term = match e.op.custom_value::<u64>(LEADER) {
            Some(term) => term,
            None => match e.op.custom_value::<RoleChange>(ROLE) {
                Some(change) if change.role == "leader" => change.term,
                _ => continue,
            },
        };
        let claims = leaders.entry(term).or_default();
        // A role change and an announcement of the same node and term are one claim.
        if !claims.iter().any(|(n, _)| *n == e.node) {
            claims.push((e.node, e.index));
        }
    }
    let announced: usize = leaders.values().map(Vec::len).sum();
    if announced == 0 {
        return Verdict::unknown(
            NAME,
            "no leader was announced in the history; nothing to judge",
        );
    }
    let split: Vec<(u64, &Vec<(NodeId, usize)>)> = leaders
        .iter()
        .filter(|(_, ls)| ls.iter().any(|(n, _)| *n != ls[0].0))
        .map(|(t, ls)| (*t, ls))
        .collect();
    if split.is_empty() {
        return Verdict::pass(
            NAME,
            format!(
                "{announced} leaders announced in {} terms, one per term",
                leaders.len()
            ),
        );
    }
    let mut v = Verdict::fail(
        NAME,
        match split.len() {
            1 => "1 term had more than one leader".to_string(),
            n => format!("{n} terms had more than one leader"),
        },
    );
    let mut entries = Vec::new();
    for (term, ls) in split.iter().take(5) {
        let names: Vec<String> = ls
            .iter()
            .map(|(n, i)| {
                let at = outcome
                    .history
                    .entry(*i)
                    .map_or(crate::time::SimTime::ZERO, |e| e.time);
                format!("{} at {at}", outcome.roster.name(*n))
            })
            .collect();
        v = v.detail(format!("term {term}: leaders {}", names.join(", ")));
        entries.extend(ls.iter().map(|(_, i)| *i));
    }
    v.culprits(outcome, entries)
}

/// At most one leader is elected in each term (from leaders' announcements and role changes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElectionSafety;

impl crate::protocol::Check for ElectionSafety {
    const NAME: &'static str = "ElectionSafety";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    // A count that only grows: a prefix that fails fails every run that goes on from it.
    fn invariant(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_election_safety(outcome)
    }
}
