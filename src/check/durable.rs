//! Durability: every acknowledged write is still readable, or superseded, once faults heal.

use super::writes::{index_writes, reads};
use super::Verdict;
use crate::fault::whole_since;
use crate::history::Op;
use crate::sim::RunOutcome;
use std::collections::BTreeSet;

/// Judges the final reads (successful reads invoked after the cluster was whole again and after
/// every write to their key was invoked): each must return the latest acknowledged write or one
/// that may have superseded it. Fails naming the acknowledged writes that were lost.
pub fn check_durable(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "Durable";
    let Some(healed) = whole_since(&outcome.faults) else {
        return Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        );
    };
    let calls = outcome.history.calls();
    let keys = index_writes(&calls);
    let mut last_write_invoke = std::collections::BTreeMap::new();
    for c in &calls {
        if let Op::Put { key, .. } | Op::Cas { key, .. } = c.invoked {
            last_write_invoke.insert(key, c.invoke_index);
        }
    }
    let mut judged_keys = BTreeSet::new();
    let mut finals = 0usize;
    let mut lost: Vec<(usize, usize)> = Vec::new();
    for (i, key, value) in reads(&calls) {
        let c = &calls[i];
        let after_writes = last_write_invoke
            .get(&key)
            .is_none_or(|&w| w < c.invoke_index);
        if c.invoke_time < healed || !after_writes {
            continue;
        }
        finals += 1;
        judged_keys.insert(key);
        let Some(k) = keys.get(&key) else { continue };
        if let Some((newer_invoke, newer)) = k.latest_acked_before(c.invoke_index) {
            if k.older_than(value, newer_invoke) {
                lost.push((i, newer));
            }
        }
    }
    let unjudged_keys: BTreeSet<u64> = keys
        .iter()
        .filter(|(k, w)| w.has_acked() && !judged_keys.contains(*k))
        .map(|(k, _)| *k)
        .collect();
    let unjudged = unjudged_keys.len();
    // Reads of those keys the clients did invoke after the heal that did not succeed: refused
    // (failed) or never answered.
    let (refused, unanswered) = calls
        .iter()
        .filter(|c| {
            matches!(c.invoked, Op::Get { key, .. } if unjudged_keys.contains(&key))
                && c.invoke_time >= healed
        })
        .fold((0, 0), |(r, u), c| match c.outcome {
            crate::history::Phase::Ok => (r, u),
            crate::history::Phase::Fail => (r + 1, u),
            _ => (r, u + 1),
        });
    // With no network fault there is no heal to name.
    let after = if healed == crate::time::SimTime::ZERO {
        String::new()
    } else {
        format!(" after the heal at {healed}")
    };
    if !lost.is_empty() {
        let mut v = Verdict::fail(
            NAME,
            format!(
                "{} of {finals} final reads{after} lost an acknowledged write",
                lost.len()
            ),
        );
        let mut entries = Vec::new();
        for &(read, write) in lost.iter().take(5) {
            let (r, w) = (&calls[read], &calls[write]);
            v = v.detail(format!(
                "{} acknowledged at {} by {}, but the final read {} at {} does not see it",
                w.invoked,
                w.complete_time
                    .map_or_else(|| "?".to_string(), |t| t.to_string()),
                outcome.roster.name(w.node),
                r.completed,
                r.invoke_time
            ));
            entries.push(w.invoke_index);
            entries.extend(w.complete_index);
            entries.push(r.invoke_index);
            entries.extend(r.complete_index);
        }
        return v.culprits(outcome, entries);
    }
    if finals == 0 || unjudged > 0 {
        let why = if refused + unanswered > 0 {
            format!(
                "{} reads of them did not succeed ({refused} refused, {unanswered} unanswered): was a node down, stopped or still recovering when the run ended?",
                refused + unanswered
            )
        } else if finals > 0 {
            // Final reads came, but not of these keys (written after their final read).
            format!(
                "{finals} other reads came then: did the run end before these keys' final reads?"
            )
        } else {
            // The check cannot tell a protocol without final reads from a run that ended
            // before them: both are said.
            "no read came then: enable the protocol's final reads (kv: final_reads) or, if they are on, give the run time to make them".to_string()
        };
        let and = if after.is_empty() { "" } else { " and" };
        return Verdict::unknown(
            NAME,
            format!(
                "{unjudged} keys with acknowledged writes had no read{after}{and} after their last write; {why}"
            ),
        );
    }
    Verdict::pass(
        NAME,
        format!("{finals} final reads{after} saw every acknowledged write (or a newer one)"),
    )
}

/// Every acknowledged write is still readable (or superseded) after faults heal.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Durable;

impl crate::protocol::Check for Durable {
    const NAME: &'static str = "Durable";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_durable(outcome)
    }
}
