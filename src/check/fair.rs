//! When a failure of something that has not happened yet counts (`Check::fails_on_absence`:
//! a task never completed, a client never served): only once the faults have healed and the
//! protocol has had its own time to recover (`bounds.recovery`, `Protocol::recovery`), as
//! VOPR's liveness mode judges. A failure sooner says what was missing and is `UNKNOWN`, never
//! a lost task or a stuck client.

use super::{Status, Verdict};
use crate::fault::FaultState;
use crate::sim::RunOutcome;

/// `v` as it stands if it did not fail, or if the run ended with the network whole, no node
/// paused, and at least the recovery bound after its last fault; otherwise `UNKNOWN`, saying
/// why and what it would have said. Applied to the verdicts of checks that fail on absence.
pub fn judged_fairly(v: Verdict, outcome: &RunOutcome) -> Verdict {
    if v.status != Status::Fail {
        return v;
    }
    let mut state = FaultState::default();
    for (_, f) in &outcome.faults {
        state.apply(f);
    }
    let why = if let Some(what) = state.unhealed() {
        format!("{what} was still in force when the run ended; liveness is judged once faults heal")
    } else {
        match (outcome.bounds.recovery, outcome.faults.last()) {
            (Some(bound), Some((at, fault))) if outcome.end_time.since(*at) < bound => format!(
                "the run ended {} after its last fault ({} at {at}), sooner than the {bound} the \
                 protocol takes to recover (bounds.recovery); run longer or end the faults earlier",
                outcome.end_time.since(*at),
                fault.describe(outcome.roster.names()),
            ),
            _ => return v,
        }
    };
    let mut unknown = Verdict {
        status: Status::Unknown,
        summary: format!("not judged: {why}"),
        ..v.clone()
    };
    unknown.details.insert(
        0,
        format!("judged at the end, it would fail: {}", v.summary),
    );
    unknown
}
