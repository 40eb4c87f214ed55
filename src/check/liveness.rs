//! Liveness after faults heal: once the cluster is whole again, clients are served.

use super::Verdict;
use crate::fault::whole_since;
use crate::history::Phase;
use crate::sim::RunOutcome;
use std::collections::BTreeMap;

/// Failed calls in a row at the end of a run that count as a client left unserved.
pub const STUCK_AFTER: usize = 3;

/// Passes when, after the last fault healed, every calling client gets a successful call and
/// none ends the run with `STUCK_AFTER` or more failed calls in a row.
pub fn check_liveness(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "Liveness";
    let Some(healed) = whole_since(&outcome.faults) else {
        return Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        );
    };
    let calls = outcome.history.calls();
    let after: Vec<_> = calls
        .iter()
        .filter(|c| c.invoke_time >= healed && c.complete_time.is_some())
        .collect();
    if after.is_empty() {
        return Verdict::unknown(
            NAME,
            format!("no call completed after the cluster was whole again at {healed}"),
        );
    }
    let ok = after.iter().filter(|c| c.outcome == Phase::Ok).count();
    // Per client: did any call succeed after the heal, and how many failed in a row at the end?
    let mut per_client: BTreeMap<u32, (bool, usize, Vec<&crate::history::Call>)> = BTreeMap::new();
    for c in &after {
        let entry = per_client.entry(c.node.0).or_insert((false, 0, Vec::new()));
        if c.outcome == Phase::Ok {
            *entry = (true, 0, Vec::new());
        } else {
            entry.1 += 1;
            entry.2.push(c);
        }
    }
    let stuck: Vec<&crate::history::Call> = per_client
        .values()
        .filter(|(any_ok, tail, _)| !any_ok || *tail >= STUCK_AFTER)
        .filter_map(|(_, _, failed)| failed.last().copied())
        .collect();
    if !stuck.is_empty() {
        let mut v = Verdict::fail(
            NAME,
            format!(
                "after the cluster was whole again at {healed}, {} clients got no answer ({ok} of {} calls succeeded)",
                stuck.len(),
                after.len()
            ),
        );
        let mut entries = Vec::new();
        for c in stuck.iter().take(5) {
            v = v.detail(format!(
                "{}: {} invoked at {} ended {:?}",
                outcome.roster.name(c.node),
                c.invoked,
                c.invoke_time,
                c.outcome
            ));
            entries.push(c.invoke_index);
            entries.extend(c.complete_index);
        }
        return v.culprits(outcome, entries);
    }
    Verdict::pass(
        NAME,
        format!(
            "after the cluster was whole again at {healed}, {ok} of {} calls succeeded and every client was served again",
            after.len()
        ),
    )
}

/// Once every fault has healed, the system serves clients again: every calling client gets a successful call and none ends the run with three failed calls in a row.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Liveness;

impl crate::protocol::Check for Liveness {
    const NAME: &'static str = "Liveness";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_liveness(outcome)
    }

    fn applies_to(_protocol: &str, _listed: bool) -> bool {
        true
    }
}
