//! Stale reads: reads that returned a value older than a write acknowledged before they began.

use super::writes::{index_writes, reads};
use super::Verdict;
use crate::sim::RunOutcome;

/// Counts reads whose value is older than a write acknowledged before the read was invoked;
/// fails when there is at least one.
pub fn check_stale_reads(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "StaleReads";
    let calls = outcome.history.calls();
    let keys = index_writes(&calls);
    let mut total = 0usize;
    let mut stale = Vec::new();
    for (i, key, value) in reads(&calls) {
        total += 1;
        let Some(k) = keys.get(&key) else { continue };
        let Some((newer_invoke, newer)) = k.latest_acked_before(calls[i].invoke_index) else {
            continue;
        };
        if k.older_than(value, newer_invoke) {
            stale.push((i, newer));
        }
    }
    if total == 0 {
        return Verdict::unknown(NAME, "the history has no successful reads to judge");
    }
    if stale.is_empty() {
        return Verdict::pass(
            NAME,
            format!("none of {total} reads returned a value older than an acknowledged write"),
        );
    }
    let mut v = Verdict::fail(NAME, format!("{} of {total} reads were stale", stale.len()));
    let mut entries = Vec::new();
    for &(read, newer) in stale.iter().take(5) {
        let (r, w) = (&calls[read], &calls[newer]);
        v = v.detail(format!(
            "{} read {} at {}, but {} was acknowledged at {}",
            outcome.roster.name(r.node),
            r.completed,
            r.invoke_time,
            w.invoked,
            w.complete_time
                .map_or_else(|| "?".to_string(), |t| t.to_string())
        ));
        entries.push(r.invoke_index);
        entries.extend(r.complete_index);
        entries.extend(w.complete_index);
    }
    v.culprits(outcome, entries)
}

/// No read returns a value older than a write acknowledged before the read began.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaleReads;

impl crate::protocol::Check for StaleReads {
    const NAME: &'static str = "StaleReads";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_stale_reads(outcome)
    }
}
