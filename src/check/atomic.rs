//! Atomic commitment: no resource manager of a two-phase commit commits while another aborts
//! (the TLA+ spec's `TCConsistent`), read from the RMs' snapshots (`rm: "Committed"`).

use super::Verdict;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};

/// No resource manager commits while another aborts, judged on the RMs' states at every state
/// of a search and at the end of a run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Atomic;

impl Check for Atomic {
    const NAME: &'static str = "Atomic";

    fn property(&self) -> Property {
        Property::Safety
    }

    // Committed and aborted are final states of an RM: once both are seen, they stay.
    fn invariant(&self) -> bool {
        true
    }

    fn reads_history(&self) -> bool {
        false
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let state = |s: &str| {
            outcome
                .snapshots
                .iter()
                .filter(|(_, snap)| snap.get("rm").is_some_and(|v| v == s))
                .map(|(n, _)| outcome.roster.name(*n).to_string())
                .collect::<Vec<_>>()
        };
        let (committed, aborted) = (state("Committed"), state("Aborted"));
        if !committed.is_empty() && !aborted.is_empty() {
            return Verdict::fail(
                Self::NAME,
                format!(
                    "{} committed while {} aborted",
                    committed.join(", "),
                    aborted.join(", ")
                ),
            );
        }
        Verdict::pass(
            Self::NAME,
            format!(
                "{} committed, {} aborted, none of each beside the other",
                committed.len(),
                aborted.len()
            ),
        )
    }
}
