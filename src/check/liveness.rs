//! Liveness after faults heal: once the cluster is whole again, clients are served.

use super::Verdict;
use crate::fault::whole_since;
use crate::history::Phase;
use crate::sim::RunOutcome;
use crate::time::SimTime;
use std::collections::BTreeMap;

/// Failed calls in a row at the end of a run that count as a client left unserved, when they
/// also last at least half the time from the heal to the end (a lossy network makes a few
/// unlucky calls in a row; a stuck client keeps failing).
pub const STUCK_AFTER: usize = 3;

/// Passes when, after the last fault healed, every calling client gets a successful call and
/// none ends the run with `STUCK_AFTER` or more failed calls in a row that take up at least half
/// the time since the heal.
pub fn check_liveness(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "Liveness";
    let Some(healed) = whole_since(&outcome.faults) else {
        return Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        );
    };
    // Per client, in invocation order: did any call succeed after the heal, how many failed in
    // a row since, when the first of those was invoked, and the last of them. One pass over the
    // history, holding a few words per client, not the calls.
    #[derive(Default)]
    struct Client {
        any_ok: bool,
        tail: usize,
        first_failed: Option<SimTime>,
        last_failed: Option<crate::history::Call>,
    }
    let mut per_client: BTreeMap<u32, Client> = BTreeMap::new();
    let (mut after, mut ok) = (0usize, 0usize);
    for c in outcome.history.each_call() {
        if c.invoke_time < healed || c.complete_time.is_none() {
            continue;
        }
        after += 1;
        let client = per_client.entry(c.node.0).or_default();
        if c.outcome == Phase::Ok {
            ok += 1;
            *client = Client {
                any_ok: true,
                ..Client::default()
            };
        } else {
            client.tail += 1;
            client.first_failed.get_or_insert(c.invoke_time);
            client.last_failed = Some(c);
        }
    }
    if after == 0 {
        return Verdict::unknown(
            NAME,
            format!("no call completed after the cluster was whole again at {healed}"),
        );
    }
    let half = SimTime(healed.0 + (outcome.end_time.0.saturating_sub(healed.0)) / 2);
    let stuck: Vec<&crate::history::Call> = per_client
        .values()
        .filter(|c| {
            !c.any_ok || (c.tail >= STUCK_AFTER && c.first_failed.is_some_and(|t| t <= half))
        })
        .filter_map(|c| c.last_failed.as_ref())
        .collect();
    if !stuck.is_empty() {
        let mut v = Verdict::fail(
            NAME,
            format!(
                "after the cluster was whole again at {healed}, {} clients got no answer ({ok} of {} calls succeeded)",
                stuck.len(),
                after
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
            "after the cluster was whole again at {healed}, {ok} of {after} calls succeeded and every client was served again"
        ),
    )
}

/// Once every fault has healed, the system serves clients again: every calling client gets a successful call and none ends the run failing (three or more calls in a row, over at least half the time since the heal).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Liveness;

impl crate::protocol::Check for Liveness {
    const NAME: &'static str = "Liveness";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    // A client not served yet may be once an election ends or its retry lands.
    fn fails_on_absence(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_liveness(outcome)
    }

    fn applies_to(_protocol: &str, _listed: bool) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{History, Op};
    use crate::node::{NodeId, Roster};
    use crate::sim::{Bounds, NodeStatus, RunOutcome, Stats, StopReason};
    use crate::trace::{Trace, TraceLevel};
    use crate::Duration;

    /// A 10 s run of one client whose calls at `ms` ended ok (`true`) or failed, no faults.
    fn run(calls: &[(u64, bool)]) -> RunOutcome {
        let mut h = History::new();
        for &(ms, ok) in calls {
            let op = Op::Ping {
                peer: NodeId(1),
                seq: ms,
            };
            let id = h.invoke(SimTime(ms * 1_000_000), NodeId(0), op.clone());
            let end = SimTime((ms + 50) * 1_000_000);
            if ok {
                h.ok(end, NodeId(0), id, op);
            } else {
                h.info(end, NodeId(0), id, op);
            }
        }
        RunOutcome {
            seed: 0,
            roster: Roster::new(vec![
                ("c1".into(), "client".into()),
                ("s1".into(), "server".into()),
            ]),
            bounds: Bounds {
                max_time: Duration::from_secs(10),
                max_events: 1,
                max_memory: crate::memory::DEFAULT_BUDGET,
                recovery: None,
            },
            stop: StopReason::TimeLimit,
            end_time: SimTime(10_000_000_000),
            stats: Stats::default(),
            trace: Trace::new(TraceLevel::HashOnly),
            history: h,
            snapshots: Vec::new(),
            faults: Vec::new(),
            status: vec![NodeStatus::Up; 2],
            load: Vec::new(),
            panic: None,
            memory: Default::default(),
        }
    }

    #[test]
    fn a_served_client_passes_and_one_never_served_fails() {
        let served = run(&[(100, false), (1_000, true), (2_000, true)]);
        assert_eq!(check_liveness(&served).status, crate::check::Status::Pass);
        let never = run(&[(100, false), (1_000, false)]);
        let v = check_liveness(&never);
        assert_eq!(v.status, crate::check::Status::Fail, "{v:?}");
        assert!(v.details[0].contains("c1"), "{v:?}");
    }

    #[test]
    fn a_few_unlucky_calls_at_the_end_are_not_a_stuck_client() {
        // Three calls lost in the last second of ten: bad luck on a lossy network.
        let unlucky = run(&[
            (1_000, true),
            (8_000, true),
            (9_000, false),
            (9_300, false),
            (9_600, false),
        ]);
        assert_eq!(check_liveness(&unlucky).status, crate::check::Status::Pass);
        // Failing from 3 s to the end: stuck.
        let stuck = run(&[
            (1_000, true),
            (3_000, false),
            (5_000, false),
            (7_000, false),
            (9_000, false),
        ]);
        let v = check_liveness(&stuck);
        assert_eq!(v.status, crate::check::Status::Fail, "{v:?}");
        // Two failures, however long, are not three.
        let two = run(&[(1_000, true), (2_000, false), (9_000, false)]);
        assert_eq!(check_liveness(&two).status, crate::check::Status::Pass);
    }
}
