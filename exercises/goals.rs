//! The properties exercises are graded on: small checkers that read a run's history only.
//!
//! Each exercise scenario names its goal as `checks: [Exercise(GOAL)]`.

use crate::primary_backup_node::{View, VIEW, VIEW_ACK};
use clustersim::check::Verdict;
use clustersim::fault::{Fault, FaultState};
use clustersim::history::LEADER;
use clustersim::history::{Call, Op, Phase};
use clustersim::node::NodeId;
use clustersim::sim::{NodeStatus, RunOutcome};
use clustersim::time::{Duration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What an exercise must achieve.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// Every request a client made got its answer (reliable-ping).
    EveryRequestAnswered,
    /// Every task whose enqueue was acknowledged was completed by some worker (lease-queue).
    EveryTaskCompleted,
    /// Every acknowledged task had its effect applied exactly once, none twice (idempotent-sink).
    EffectsExactlyOnce,
    /// No answer from the counter is smaller than one acknowledged before it was asked (durable-counter).
    CounterNeverGoesBack,
    /// Every read sees every write acknowledged before the read began (sync-replication).
    AckedWritesVisible,
    /// Every posted message reached every node that is up at the end (anti-entropy).
    AllDelivered,
    /// No task was handed out, or completed, more than once plus once per crash in the run, on a
    /// network that loses no messages (lease-queue: a queue that re-queues every task forever
    /// completes them all, many times over).
    BoundedRedelivery,
    /// A leader is announced within `within` of the start and of every crash of the leader
    /// (raft, level 1).
    LeaderElected {
        /// How long the cluster may be without a leader.
        within: Duration,
    },
    /// Messages sent per virtual second over the whole run stay within `max` (raft: an idle
    /// cluster's heartbeats).
    MessagesPerSecond {
        /// The most messages a second.
        max: u32,
    },
    /// Messages sent per client operation that completed stay within `max` (raft: no resending
    /// the whole log, no storm of retries).
    MessagesPerOperation {
        /// The most messages per completed operation.
        max: u32,
    },
    /// No append was applied twice, and every acknowledged one was applied (exactly-once).
    AppliedExactlyOnce,
    /// Every broadcast value reached every node up at the end within `within` of its broadcast
    /// (or of the last heal, if later) (broadcast).
    DeliveredEverywhere {
        /// How long a value may take.
        within: Duration,
    },
    /// The time for a value to reach the last node: the median within `p50`, 99% within `p99`
    /// (broadcast).
    DeliveryLatency {
        /// Bound on the median.
        p50: Duration,
        /// Bound on the 99th percentile.
        p99: Duration,
    },
    /// The view server's views are numbered one after another, each replaced only after its
    /// primary acknowledged it, each primary the previous view's primary or backup, never the
    /// same server as primary and backup (primary-backup).
    ViewsValid,
    /// Within `within` of the start there is a view, and within `within` of a crash of the
    /// primary or backup of an acknowledged view there is a view without it (unless the crashed
    /// primary had no live backup to take over) (primary-backup).
    FailoverWithin {
        /// How long a view may keep a crashed server.
        within: Duration,
    },
    /// Every write invoked `settle` after the cluster was last whole again was answered (ok or
    /// a cas mismatch), none left unknown; with client sessions a retry of a write that was
    /// applied must be answered from the session table, not refused or ignored (raft, level 9).
    WritesAnsweredOnceWhole {
        /// How long after the last heal a write's answer is owed.
        settle: Duration,
    },
    /// No server applied a read from its log, and some read was answered: reads are answered
    /// without log entries (raft, level 10: ReadIndex).
    ReadsNotLogged,
    /// No server's log ever held more than `max` entries past its base: the log is compacted
    /// into snapshots (raft, level 11).
    LogBounded {
        /// The most entries a server's log may hold.
        max: u64,
    },
    /// No server's state machine went back while it was up: a handler never moved
    /// `last_applied` back, as an installed snapshot older than what it applied does (raft,
    /// level 11; 6.5840's tester fails a snapshot applied out of order).
    StateNeverGoesBack,
    /// Every value the server recovered from its log at a boot was written to its key by some
    /// client before: no corrupt or torn record was taken for an entry, read by a client or not
    /// (wal).
    RecoversOnlyWrittenValues,
}

/// The `Exercise(GOAL)` check: an exercise's goal as a registered check.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalCheck(pub Goal);

impl clustersim::Check for GoalCheck {
    const NAME: &'static str = "Exercise";

    fn property(&self) -> clustersim::Property {
        clustersim::Property::Liveness
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        self.0.evaluate(outcome)
    }
}

impl Goal {
    /// The goal's name, as written in scenarios and shown in verdicts.
    pub fn name(self) -> &'static str {
        match self {
            Goal::EveryRequestAnswered => "EveryRequestAnswered",
            Goal::EveryTaskCompleted => "EveryTaskCompleted",
            Goal::EffectsExactlyOnce => "EffectsExactlyOnce",
            Goal::CounterNeverGoesBack => "CounterNeverGoesBack",
            Goal::AckedWritesVisible => "AckedWritesVisible",
            Goal::AllDelivered => "AllDelivered",
            Goal::BoundedRedelivery => "BoundedRedelivery",
            Goal::LeaderElected { .. } => "LeaderElected",
            Goal::MessagesPerSecond { .. } => "MessagesPerSecond",
            Goal::MessagesPerOperation { .. } => "MessagesPerOperation",
            Goal::AppliedExactlyOnce => "AppliedExactlyOnce",
            Goal::DeliveredEverywhere { .. } => "DeliveredEverywhere",
            Goal::DeliveryLatency { .. } => "DeliveryLatency",
            Goal::ViewsValid => "ViewsValid",
            Goal::FailoverWithin { .. } => "FailoverWithin",
            Goal::RecoversOnlyWrittenValues => "RecoversOnlyWrittenValues",
            Goal::WritesAnsweredOnceWhole { .. } => "WritesAnsweredOnceWhole",
            Goal::ReadsNotLogged => "ReadsNotLogged",
            Goal::LogBounded { .. } => "LogBounded",
            Goal::StateNeverGoesBack => "StateNeverGoesBack",
        }
    }

    /// Judges a finished run.
    pub fn evaluate(self, outcome: &RunOutcome) -> Verdict {
        match self {
            Goal::EveryRequestAnswered => every_request_answered(outcome),
            Goal::EveryTaskCompleted => every_task_completed(outcome),
            Goal::EffectsExactlyOnce => effects_exactly_once(outcome),
            Goal::CounterNeverGoesBack => counter_never_goes_back(outcome),
            Goal::AckedWritesVisible => acked_writes_visible(outcome),
            Goal::AllDelivered => all_delivered(outcome),
            Goal::BoundedRedelivery => bounded_redelivery(outcome),
            Goal::LeaderElected { within } => leader_elected(outcome, within),
            Goal::MessagesPerSecond { max } => messages_per_second(outcome, max),
            Goal::MessagesPerOperation { max } => messages_per_operation(outcome, max),
            Goal::AppliedExactlyOnce => applied_exactly_once(outcome),
            Goal::DeliveredEverywhere { within } => delivered_everywhere(outcome, within),
            Goal::DeliveryLatency { p50, p99 } => delivery_latency(outcome, p50, p99),
            Goal::ViewsValid => views_valid(outcome),
            Goal::FailoverWithin { within } => failover_within(outcome, within),
            Goal::RecoversOnlyWrittenValues => recovers_only_written_values(outcome),
            Goal::WritesAnsweredOnceWhole { settle } => writes_answered_once_whole(outcome, settle),
            Goal::ReadsNotLogged => reads_not_logged(outcome),
            Goal::LogBounded { max } => log_bounded(outcome, max),
            Goal::StateNeverGoesBack => state_never_goes_back(outcome),
        }
    }
}

fn every_request_answered(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "EveryRequestAnswered";
    let calls = outcome.history.calls();
    if calls.is_empty() {
        return Verdict::unknown(NAME, "no request was made");
    }
    match calls.iter().find(|c| c.outcome != Phase::Ok) {
        None => Verdict::pass(NAME, format!("all {} requests were answered", calls.len())),
        Some(c) => {
            let answered = calls.iter().filter(|c| c.outcome == Phase::Ok).count();
            Verdict::fail(
                NAME,
                format!(
                    "{} (invoked at {}) was never answered; {answered} of {} requests were",
                    c.invoked,
                    c.invoke_time,
                    calls.len()
                ),
            )
            .culprits(outcome, vec![c.invoke_index])
        }
    }
}

fn task_of(op: &Op) -> Option<u64> {
    match op {
        Op::Enqueue { task }
        | Op::Dequeue { task }
        | Op::Complete { task }
        | Op::Effect { task } => Some(*task),
        _ => None,
    }
}

fn acked_tasks(calls: &[Call]) -> Vec<(u64, &Call)> {
    calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok && matches!(c.invoked, Op::Enqueue { .. }))
        .filter_map(|c| task_of(&c.invoked).map(|t| (t, c)))
        .collect()
}

fn every_task_completed(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "EveryTaskCompleted";
    let calls = outcome.history.calls();
    let acked = acked_tasks(&calls);
    if acked.is_empty() {
        return Verdict::unknown(NAME, "no enqueue was acknowledged");
    }
    let completed: BTreeSet<u64> = outcome
        .history
        .events()
        .filter(|e| matches!(e.op, Op::Complete { .. }))
        .filter_map(|e| task_of(&e.op))
        .collect();
    let lost: Vec<&(u64, &Call)> = acked
        .iter()
        .filter(|(t, _)| !completed.contains(t))
        .collect();
    let Some((task, call)) = lost.first() else {
        return Verdict::pass(
            NAME,
            format!("all {} acknowledged tasks were completed", acked.len()),
        );
    };
    let names = outcome.roster.names();
    let mut entries = vec![call.invoke_index];
    let mut v = Verdict::fail(
        NAME,
        format!(
            "task {task} was acknowledged but never completed ({} of {} acknowledged tasks lost)",
            lost.len(),
            acked.len()
        ),
    );
    for e in outcome
        .history
        .events()
        .filter(|e| e.op == Op::Dequeue { task: *task })
    {
        entries.push(e.index);
        let name = names.get(e.node.index()).map(String::as_str).unwrap_or("?");
        v = v.detail(format!("{name} took task {task} at {}", e.time));
        if let Some((t, f)) = outcome
            .faults
            .iter()
            .find(|(t, f)| *t >= e.time && *f == clustersim::fault::Fault::Crash(e.node))
        {
            v = v.detail(format!(
                "and at {t} the fault `{}` hit it before it finished",
                f.describe(names)
            ));
        }
    }
    v.culprits(outcome, entries)
}

fn bounded_redelivery(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "BoundedRedelivery";
    let crashes = outcome
        .faults
        .iter()
        .filter(|(_, f)| matches!(f, clustersim::fault::Fault::Crash(_)))
        .count();
    let bound = 1 + crashes;
    // Per task: entries of its hand-outs and of its completions.
    type Seen = (Vec<usize>, Vec<usize>);
    let mut per_task: BTreeMap<u64, Seen> = BTreeMap::new();
    for e in outcome.history.events() {
        match e.op {
            Op::Dequeue { task } => per_task.entry(task).or_default().0.push(e.index),
            Op::Complete { task } => per_task.entry(task).or_default().1.push(e.index),
            _ => {}
        }
    }
    if per_task.is_empty() {
        return Verdict::unknown(NAME, "no task was handed out");
    }
    let over: Vec<(&u64, &Seen)> = per_task
        .iter()
        .filter(|(_, (out, done))| out.len() > bound || done.len() > bound)
        .collect();
    let crashes_text = match crashes {
        1 => "1 crash".to_string(),
        n => format!("{n} crashes"),
    };
    let Some(&(task, (out, done))) = over.first() else {
        let most = per_task
            .values()
            .map(|(out, done)| out.len().max(done.len()))
            .max()
            .unwrap_or(0);
        return Verdict::pass(
            NAME,
            format!(
                "{} tasks, each handed out and completed at most {most} times ({crashes_text} in the run allow {bound})",
                per_task.len()
            ),
        );
    };
    let (handed, completed): (usize, usize) = per_task
        .values()
        .fold((0, 0), |(a, b), (o, d)| (a + o.len(), b + d.len()));
    let mut entries: Vec<usize> = out.iter().chain(done.iter()).copied().collect();
    entries.sort_unstable();
    entries.truncate(12);
    Verdict::fail(
        NAME,
        format!(
            "task {task} was handed out {} times and completed {} times, with {crashes_text} in the run (at most {bound}); {} tasks were handed out {handed} times and completed {completed} times in all, {} of them too often",
            out.len(),
            done.len(),
            per_task.len(),
            over.len()
        ),
    )
    .detail("a task goes out again only when the worker holding it may have lost it: an acknowledged task is done for good")
    .culprits(outcome, entries)
}

fn effects_exactly_once(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "EffectsExactlyOnce";
    let calls = outcome.history.calls();
    let mut effects: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for e in outcome
        .history
        .events()
        .filter(|e| matches!(e.op, Op::Effect { .. }))
    {
        if let Some(t) = task_of(&e.op) {
            effects.entry(t).or_default().push(e.index);
        }
    }
    if let Some((task, at)) = effects.iter().find(|(_, at)| at.len() > 1) {
        return Verdict::fail(
            NAME,
            format!("task {task}'s effect was applied {} times", at.len()),
        )
        .culprits(outcome, at.clone());
    }
    let acked = acked_tasks(&calls);
    if acked.is_empty() {
        return Verdict::unknown(NAME, "no task was acknowledged");
    }
    // A sink that never acknowledges leaves the sender retrying forever: that is not "once".
    if let Some(c) = calls
        .iter()
        .find(|c| c.outcome != Phase::Ok && matches!(c.invoked, Op::Enqueue { .. }))
    {
        return Verdict::fail(
            NAME,
            format!(
                "{} (sent at {}) was never acknowledged by the sink",
                c.invoked, c.invoke_time
            ),
        )
        .culprits(outcome, vec![c.invoke_index]);
    }
    if let Some((task, call)) = acked.iter().find(|(t, _)| !effects.contains_key(t)) {
        return Verdict::fail(
            NAME,
            format!("task {task} was acknowledged but its effect was never applied"),
        )
        .culprits(outcome, vec![call.invoke_index]);
    }
    Verdict::pass(
        NAME,
        format!(
            "each of the {} acknowledged tasks had its effect applied exactly once",
            acked.len()
        ),
    )
}

fn counter_value(op: &Op) -> Option<u64> {
    match op {
        Op::Get { value, .. } => *value,
        Op::Custom { .. } => op.custom_value("incr"),
        _ => None,
    }
}

fn counter_never_goes_back(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "CounterNeverGoesBack";
    let calls = outcome.history.calls();
    let mut answered: Vec<&Call> = calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok && counter_value(&c.completed).is_some())
        .collect();
    if answered.is_empty() {
        return Verdict::unknown(NAME, "no counter operation was answered");
    }
    answered.sort_by_key(|c| c.complete_time);
    for c in &answered {
        let seen = counter_value(&c.completed).unwrap_or(0);
        // The largest value acknowledged before this call began.
        let before = answered
            .iter()
            .filter(|p| p.complete_time.is_some_and(|t| t < c.invoke_time))
            .max_by_key(|p| counter_value(&p.completed));
        if let Some(p) = before {
            let earlier = counter_value(&p.completed).unwrap_or(0);
            // An increment must answer more than anything acknowledged before it began.
            let is_incr = matches!(&c.completed, Op::Custom { name, .. } if name == "incr");
            if seen < earlier || (is_incr && seen == earlier) {
                return Verdict::fail(
                    NAME,
                    format!(
                        "{} (invoked at {}) answered {seen}, but {} had already answered {earlier} before it began",
                        c.completed, c.invoke_time, p.completed
                    ),
                )
                .culprits(
                    outcome,
                    vec![
                        p.invoke_index,
                        p.complete_index.unwrap_or(p.invoke_index),
                        c.invoke_index,
                        c.complete_index.unwrap_or(c.invoke_index),
                    ],
                );
            }
        }
    }
    Verdict::pass(
        NAME,
        format!(
            "{} answers, none below a value acknowledged earlier",
            answered.len()
        ),
    )
}

fn read_values(op: &Op) -> Option<BTreeSet<u64>> {
    match op {
        Op::Custom { .. } => op
            .custom_value::<Vec<u64>>("read")
            .map(|v| v.into_iter().collect()),
        _ => None,
    }
}

fn acked_writes_visible(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "AckedWritesVisible";
    let calls = outcome.history.calls();
    let writes: Vec<&Call> = calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok && matches!(c.invoked, Op::Put { .. }))
        .collect();
    let reads: Vec<(&Call, BTreeSet<u64>)> = calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok)
        .filter_map(|c| read_values(&c.completed).map(|v| (c, v)))
        .collect();
    if reads.is_empty() {
        return Verdict::unknown(NAME, "no read was answered, so nothing can be judged");
    }
    if writes.is_empty() {
        return Verdict::unknown(NAME, "no write was acknowledged, so nothing can be judged");
    }
    for (r, seen) in &reads {
        for w in &writes {
            let Op::Put { value, .. } = w.invoked else {
                continue;
            };
            if w.complete_time.is_some_and(|t| t < r.invoke_time) && !seen.contains(&value) {
                return Verdict::fail(
                    NAME,
                    format!(
                        "write {value} was acknowledged at {}, but the read invoked at {} did not see it",
                        w.complete_time.unwrap_or_default(),
                        r.invoke_time
                    ),
                )
                .detail(format!("the read returned [{}]", join(seen)))
                .culprits(
                    outcome,
                    vec![
                        w.invoke_index,
                        w.complete_index.unwrap_or(w.invoke_index),
                        r.invoke_index,
                        r.complete_index.unwrap_or(r.invoke_index),
                    ],
                );
            }
        }
    }
    Verdict::pass(
        NAME,
        format!(
            "{} reads saw every one of the {} acknowledged writes that preceded them",
            reads.len(),
            writes.len()
        ),
    )
}

fn join(values: &BTreeSet<u64>) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn all_delivered(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "AllDelivered";
    let calls = outcome.history.calls();
    let posted: Vec<(u64, &Call)> = calls
        .iter()
        .filter_map(|c| match c.invoked {
            Op::Post { msg, .. } => Some((msg, c)),
            _ => None,
        })
        .collect();
    if posted.is_empty() {
        return Verdict::unknown(NAME, "no message was posted");
    }
    let mut delivered: BTreeSet<(u64, NodeId)> = BTreeSet::new();
    for e in outcome.history.events() {
        if let Op::Deliver { msg } = e.op {
            delivered.insert((msg, e.node));
        }
    }
    let live: Vec<NodeId> = outcome
        .roster
        .ids()
        .filter(|id| outcome.status.get(id.index()) == Some(&NodeStatus::Up))
        .collect();
    let names = outcome.roster.names();
    let mut missing = 0usize;
    let mut first: Option<(u64, &Call, NodeId)> = None;
    for (msg, call) in &posted {
        for node in &live {
            if !delivered.contains(&(*msg, *node)) {
                missing += 1;
                first.get_or_insert((*msg, call, *node));
            }
        }
    }
    match first {
        None => Verdict::pass(
            NAME,
            format!(
                "all {} messages reached all {} live nodes",
                posted.len(),
                live.len()
            ),
        ),
        Some((msg, call, node)) => Verdict::fail(
            NAME,
            format!(
                "message {msg} (posted at {} at {}) never reached {}; {missing} (message, node) pairs missing",
                names.get(call.node.index()).map(String::as_str).unwrap_or("?"),
                call.invoke_time,
                names.get(node.index()).map(String::as_str).unwrap_or("?"),
            ),
        )
        .culprits(outcome, vec![call.invoke_index]),
    }
}

/// Each moment the cluster needs a leader (the start, every crash of the latest announced
/// leader) must be followed by a leader's announcement within `within`, unless the run ends first.
fn leader_elected(outcome: &RunOutcome, within: Duration) -> Verdict {
    const NAME: &str = "LeaderElected";
    let announced: Vec<(SimTime, NodeId)> = outcome
        .history
        .events()
        .filter(|e| matches!(&e.op, Op::Custom { name, .. } if name == LEADER))
        .map(|e| (e.time, e.node))
        .collect();
    let mut needs = vec![(SimTime::ZERO, "the start".to_string())];
    for (t, fault) in &outcome.faults {
        let Fault::Crash(node) = fault else { continue };
        let leader = announced
            .iter()
            .rev()
            .find(|(at, _)| at <= t)
            .map(|(_, n)| *n);
        if leader == Some(*node) {
            let name = outcome.roster.name(*node).to_string();
            needs.push((*t, format!("the crash of leader {name} at {t}")));
        }
    }
    let mut judged = 0;
    for (t, what) in &needs {
        if *t + within > outcome.end_time {
            continue;
        }
        judged += 1;
        let next = announced
            .iter()
            .find(|(at, _)| at > t || (*t == SimTime::ZERO && at >= t));
        match next {
            Some((at, _)) if *at <= *t + within => {}
            Some((at, n)) => {
                return Verdict::fail(
                    NAME,
                    format!(
                        "no leader for {} after {what}: the next one, {}, was announced at {at}",
                        at.since(*t),
                        outcome.roster.name(*n)
                    ),
                );
            }
            None => {
                return Verdict::fail(
                    NAME,
                    format!(
                        "no leader was announced after {what} (the run ended at {})",
                        outcome.end_time
                    ),
                );
            }
        }
    }
    if judged == 0 {
        return Verdict::unknown(NAME, "the run is too short to judge");
    }
    Verdict::pass(
        NAME,
        format!(
            "a leader was announced within {within} of the start and of each of {} leader crash(es)",
            judged - 1
        ),
    )
}

fn messages_per_second(outcome: &RunOutcome, max: u32) -> Verdict {
    const NAME: &str = "MessagesPerSecond";
    let seconds = outcome.end_time.since(SimTime::ZERO).0 as f64 / 1e9;
    if seconds <= 0.0 {
        return Verdict::unknown(NAME, "the run took no time");
    }
    let rate = outcome.stats.sent as f64 / seconds;
    let text = format!(
        "{} messages in {:.3} s: {rate:.0} a second (at most {max})",
        outcome.stats.sent, seconds
    );
    if rate <= f64::from(max) {
        Verdict::pass(NAME, text)
    } else {
        Verdict::fail(NAME, text)
    }
}

fn messages_per_operation(outcome: &RunOutcome, max: u32) -> Verdict {
    const NAME: &str = "MessagesPerOperation";
    let done = outcome
        .history
        .calls()
        .iter()
        .filter(|c| matches!(c.outcome, Phase::Ok | Phase::Fail))
        .count();
    if done == 0 {
        return Verdict::fail(NAME, "no client operation completed");
    }
    let per = outcome.stats.sent as f64 / done as f64;
    let text = format!(
        "{} messages for {done} completed operations: {per:.1} each (at most {max})",
        outcome.stats.sent
    );
    if per <= f64::from(max) {
        Verdict::pass(NAME, text)
    } else {
        Verdict::fail(NAME, text)
    }
}

fn reads_not_logged(outcome: &RunOutcome) -> Verdict {
    use crate::raft_node::READ_IN_LOG;
    const NAME: &str = "ReadsNotLogged";
    let logged: Vec<usize> = outcome
        .history
        .events()
        .filter(|e| e.op.custom_value::<u64>(READ_IN_LOG).is_some())
        .map(|e| e.index)
        .collect();
    let answered = outcome
        .history
        .calls()
        .iter()
        .filter(|c| c.outcome == Phase::Ok && matches!(c.invoked, Op::Get { .. }))
        .count();
    if let Some(&first) = logged.first() {
        return Verdict::fail(
            NAME,
            format!(
                "servers applied {} reads from their logs: a read must be answered without a \
                 log entry (ReadIndex)",
                logged.len()
            ),
        )
        .culprits(outcome, vec![first]);
    }
    if answered == 0 {
        return Verdict::fail(NAME, "no read was answered");
    }
    Verdict::pass(
        NAME,
        format!("{answered} reads answered, none of them from a log entry"),
    )
}

fn log_bounded(outcome: &RunOutcome, max: u64) -> Verdict {
    use crate::raft_node::LOG_LENGTH;
    const NAME: &str = "LogBounded";
    let lengths: Vec<(u64, clustersim::history::Entry)> = outcome
        .history
        .events()
        .filter_map(|e| e.op.custom_value::<u64>(LOG_LENGTH).map(|n| (n, e)))
        .collect();
    if lengths.is_empty() {
        return Verdict::fail(
            NAME,
            "no server recorded its log's length (the scenario sets no snapshot_threshold?)",
        );
    }
    if let Some((n, e)) = lengths.iter().find(|(n, _)| *n > max) {
        return Verdict::fail(
            NAME,
            format!(
                "{} held {n} log entries at {} (at most {max}): take snapshots and compact \
                 the log",
                outcome.roster.name(e.node),
                e.time
            ),
        )
        .culprits(outcome, vec![e.index]);
    }
    let longest = lengths.iter().map(|(n, _)| *n).max().unwrap_or(0);
    Verdict::pass(
        NAME,
        format!("the longest log any server held: {longest} entries (at most {max})"),
    )
}

fn state_never_goes_back(outcome: &RunOutcome) -> Verdict {
    use crate::raft_node::APPLIED_BACK;
    const NAME: &str = "StateNeverGoesBack";
    let back = outcome
        .history
        .events()
        .find_map(|e| e.op.custom_value::<[u64; 2]>(APPLIED_BACK).map(|b| (b, e)));
    match back {
        Some(([from, to], e)) => Verdict::fail(
            NAME,
            format!(
                "{}'s state machine went back from entry {from} to entry {to} at {} (a snapshot \
                 older than what it had applied, installed?)",
                outcome.roster.name(e.node),
                e.time
            ),
        )
        .culprits(outcome, vec![e.index]),
        None => Verdict::pass(NAME, "no server's state machine ever went back"),
    }
}

fn writes_answered_once_whole(outcome: &RunOutcome, settle: Duration) -> Verdict {
    const NAME: &str = "WritesAnsweredOnceWhole";
    let Some(healed) = clustersim::fault::whole_since(&outcome.faults) else {
        return Verdict::unknown(
            NAME,
            "faults were still in force when the run ended; nothing to judge",
        );
    };
    let from = healed + settle;
    let writes: Vec<Call> = outcome
        .history
        .calls()
        .into_iter()
        .filter(|c| matches!(c.invoked, Op::Put { .. } | Op::Cas { .. }) && c.invoke_time >= from)
        .collect();
    if writes.is_empty() {
        return Verdict::fail(
            NAME,
            format!("no write was invoked after {from} (the last heal, {healed}, plus {settle})"),
        );
    }
    let unanswered: Vec<&Call> = writes
        .iter()
        .filter(|c| !matches!(c.outcome, Phase::Ok | Phase::Fail))
        .collect();
    let Some(first) = unanswered.first() else {
        return Verdict::pass(
            NAME,
            format!(
                "all {} writes invoked after {from} were answered",
                writes.len()
            ),
        );
    };
    Verdict::fail(
        NAME,
        format!(
            "{} of {} writes invoked after {from} (the cluster whole since {healed}) were never \
             answered, the first {} (invoked at {}): a retry of a write that was applied must \
             get its result again",
            unanswered.len(),
            writes.len(),
            first.invoked,
            first.invoke_time
        ),
    )
    .culprits(outcome, vec![first.invoke_index])
}

fn recovers_only_written_values(outcome: &RunOutcome) -> Verdict {
    use crate::wal_node::RECOVERED;
    const NAME: &str = "RecoversOnlyWrittenValues";
    // Each key's written values, with the history index of the write's invocation.
    let mut written: BTreeMap<u64, BTreeMap<u64, usize>> = BTreeMap::new();
    for c in outcome.history.calls() {
        if let Op::Put { key, value: v } | Op::Cas { key, to: v, .. } = c.invoked {
            written
                .entry(key)
                .or_default()
                .entry(v)
                .or_insert(c.invoke_index);
        }
    }
    let (mut boots, mut entries) = (0, 0);
    for e in outcome.history.events() {
        let Some(map) = e.op.custom_value::<Vec<(u64, u64)>>(RECOVERED) else {
            continue;
        };
        boots += 1;
        entries += map.len();
        let bad = map.iter().find(|(k, v)| {
            written
                .get(k)
                .and_then(|vs| vs.get(v))
                .is_none_or(|&at| at > e.index)
        });
        if let Some((k, v)) = bad {
            let who = outcome.roster.name(e.node);
            return Verdict::fail(
                NAME,
                format!(
                    "{who} recovered k{k} = {v} from its log at {}, a value no client wrote to \
                     k{k} before (a corrupt or torn record taken for an entry)",
                    e.time
                ),
            )
            .culprits(outcome, vec![e.index]);
        }
    }
    if boots == 0 {
        return Verdict::unknown(NAME, "the server recorded no recovery");
    }
    Verdict::pass(
        NAME,
        format!("{boots} boots recovered {entries} keys in all, each to a value written to it"),
    )
}

fn applied_exactly_once(outcome: &RunOutcome) -> Verdict {
    use crate::exactly_once::{APPEND, APPLIED};
    const NAME: &str = "AppliedExactlyOnce";
    let mut applied: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for e in outcome.history.events() {
        if let Some(v) = e.op.custom_value::<u64>(APPLIED) {
            applied.entry(v).or_default().push(e.index);
        }
    }
    if let Some((v, at)) = applied.iter().find(|(_, at)| at.len() > 1) {
        return Verdict::fail(
            NAME,
            format!(
                "value {v} was appended {} times (one request, applied more than once)",
                at.len()
            ),
        )
        .culprits(outcome, at.clone());
    }
    let calls = outcome.history.calls();
    let acked: Vec<&Call> = calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok)
        .filter(|c| c.invoked.custom_value::<u64>(APPEND).is_some())
        .collect();
    if acked.is_empty() {
        return Verdict::unknown(NAME, "no append was acknowledged");
    }
    for c in &acked {
        let v = c.invoked.custom_value::<u64>(APPEND).unwrap_or_default();
        if !applied.contains_key(&v) {
            return Verdict::fail(
                NAME,
                format!(
                    "value {v} was acknowledged at {} but never applied",
                    c.invoke_time
                ),
            )
            .culprits(outcome, vec![c.invoke_index]);
        }
    }
    Verdict::pass(
        NAME,
        format!(
            "{} acknowledged appends, {} applied, none twice",
            acked.len(),
            applied.len()
        ),
    )
}

/// Each new view: when, its history index, the view.
type Views = Vec<(SimTime, usize, View)>;

/// The view server's views and the acknowledgements of them, in order: (time, history index,
/// view) and (time, view number).
fn views(outcome: &RunOutcome) -> (Views, Vec<(SimTime, u64)>) {
    let (mut views, mut acks) = (Vec::new(), Vec::new());
    for e in outcome.history.events() {
        if let Some(v) = e.op.custom_value::<View>(VIEW) {
            views.push((e.time, e.index, v));
        } else if let Some(n) = e.op.custom_value::<u64>(VIEW_ACK) {
            acks.push((e.time, n));
        }
    }
    (views, acks)
}

fn describe_view(outcome: &RunOutcome, v: &View) -> String {
    let name =
        |n: Option<NodeId>| n.map_or("none".to_string(), |n| outcome.roster.name(n).to_string());
    format!(
        "view {} (primary {}, backup {})",
        v.num,
        name(v.primary),
        name(v.backup)
    )
}

fn views_valid(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "ViewsValid";
    let (views, acks) = views(outcome);
    let mut prev = View::default();
    for (t, index, v) in &views {
        let this = describe_view(outcome, v);
        let before = describe_view(outcome, &prev);
        let problem = if v.num != prev.num + 1 {
            Some(format!(
                "{this} followed {before}: each view must have the next number"
            ))
        } else if v.primary.is_none() {
            Some(format!(
                "{this} has no primary: a view server that loses its primary keeps the view \
                 until the backup can take over"
            ))
        } else if v.primary == v.backup {
            Some(format!("{this} has the same server as primary and backup"))
        } else if prev.num >= 1 && !acks.iter().any(|(at, n)| *n == prev.num && at <= t) {
            Some(format!(
                "{this} replaced {before} before its primary acknowledged it: the backup of an \
                 unacknowledged view may not have the primary's state yet"
            ))
        } else if prev.num >= 1 && v.primary != prev.primary && v.primary != prev.backup {
            Some(format!(
                "{this} follows {before}: its primary was neither the primary nor the backup \
                 before, so it has none of the data"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Verdict::fail(NAME, format!("at {t}: {problem}"))
                .culprits(outcome, vec![*index]);
        }
        prev = *v;
    }
    if views.is_empty() {
        return Verdict::fail(NAME, "the view server never formed a view");
    }
    Verdict::pass(
        NAME,
        format!(
            "{} views, each numbered after the one before, acknowledged before it was replaced, \
             its primary the old primary or backup",
            views.len()
        ),
    )
}

/// True when the crash of `x` at `t` is the only fault in force from just before it to `within`
/// after it (its own restart aside): two failures close together may leave no copy to fail
/// over to, and a partition may hide the backup, so no view server can promise a failover then.
fn lone_crash(outcome: &RunOutcome, t: SimTime, x: NodeId, within: Duration) -> bool {
    let mut state = FaultState::default();
    for (at, f) in &outcome.faults {
        if *at > t + within {
            break;
        }
        let own = matches!(f, Fault::Crash(n) | Fault::Wipe(n) | Fault::Restart(n) if *n == x);
        if *at < t || (*at == t && !own) {
            state.apply(f);
            continue;
        }
        if !own {
            return false;
        }
    }
    state.is_whole()
}

fn failover_within(outcome: &RunOutcome, within: Duration) -> Verdict {
    const NAME: &str = "FailoverWithin";
    let (views, acks) = views(outcome);
    let crashes: Vec<(SimTime, NodeId)> = outcome
        .faults
        .iter()
        .filter_map(|(t, f)| match f {
            Fault::Crash(n) | Fault::Wipe(n) => Some((*t, *n)),
            _ => None,
        })
        .collect();
    let ends = |t: SimTime| t + within > outcome.end_time;
    if !ends(SimTime::ZERO) {
        match views.first() {
            Some((t, _, _)) if *t <= SimTime::ZERO + within => {}
            Some((t, _, v)) => {
                return Verdict::fail(
                    NAME,
                    format!("the first view, {}, came at {t}", describe_view(outcome, v)),
                )
            }
            None => return Verdict::fail(NAME, "the view server never formed a view"),
        }
    }
    let mut judged = 0;
    for (t, x) in &crashes {
        if ends(*t) {
            continue;
        }
        let Some((_, _, current)) = views.iter().rev().find(|(at, _, _)| at <= t) else {
            continue;
        };
        let acked = acks.iter().any(|(at, n)| *n == current.num && at <= t);
        let role = if current.primary == Some(*x) {
            "primary"
        } else if current.backup == Some(*x) {
            "backup"
        } else {
            continue;
        };
        if !acked
            || (role == "primary" && current.backup.is_none())
            || !lone_crash(outcome, *t, *x, within)
        {
            continue;
        }
        judged += 1;
        let replaced = views.iter().find(|(at, _, v)| {
            at > t && at.since(*t) <= within && v.primary != Some(*x) && v.backup != Some(*x)
        });
        if replaced.is_none() {
            let next = views.iter().find(|(at, _, _)| at > t);
            let after = match next {
                Some((at, _, v)) => {
                    format!("; the next view was {} at {at}", describe_view(outcome, v))
                }
                None => "; no view came after it".to_string(),
            };
            return Verdict::fail(
                NAME,
                format!(
                    "{role} {} crashed at {t} in {}, acknowledged, and no view without it came \
                     within {within}{after}",
                    outcome.roster.name(*x),
                    describe_view(outcome, current)
                ),
            );
        }
    }
    Verdict::pass(
        NAME,
        format!(
            "a view within {within} of the start, and a view without the crashed server within \
             {within} of each of {judged} crash(es) of a primary or backup"
        ),
    )
}

/// Each broadcast value: when it was given, and when the last node up at the end learned it
/// (`None` if one never did).
fn broadcast_spread(outcome: &RunOutcome) -> Vec<(u64, SimTime, Option<SimTime>)> {
    use crate::broadcast::{BROADCAST, LEARNED};
    let up: BTreeSet<NodeId> = outcome
        .roster
        .ids()
        .filter(|n| outcome.status.get(n.index()) == Some(&NodeStatus::Up))
        .collect();
    let mut learned: BTreeMap<u64, BTreeMap<NodeId, SimTime>> = BTreeMap::new();
    for e in outcome.history.events() {
        if let Some(v) = e.op.custom_value::<u64>(LEARNED) {
            learned
                .entry(v)
                .or_default()
                .entry(e.node)
                .or_insert(e.time);
        }
    }
    outcome
        .history
        .calls()
        .iter()
        .filter_map(|c| {
            c.invoked
                .custom_value::<u64>(BROADCAST)
                .map(|v| (v, c.invoke_time))
        })
        .map(|(v, at)| {
            let by = learned.get(&v);
            let last = up
                .iter()
                .map(|n| by.and_then(|b| b.get(n)).copied())
                .try_fold(at, |m, t| t.map(|t| m.max(t)));
            (v, at, last)
        })
        .collect()
}

fn delivered_everywhere(outcome: &RunOutcome, within: Duration) -> Verdict {
    const NAME: &str = "DeliveredEverywhere";
    let healed = clustersim::fault::whole_since(&outcome.faults).unwrap_or(outcome.end_time);
    let mut judged = 0;
    for (v, at, last) in broadcast_spread(outcome) {
        let deadline = at.max(healed.min(outcome.end_time)) + within;
        if deadline > outcome.end_time {
            continue;
        }
        judged += 1;
        match last {
            Some(t) if t <= deadline => {}
            Some(t) => {
                return Verdict::fail(
                    NAME,
                    format!(
                    "value {v} (given at {at}) reached the last node at {t}, later than {deadline}"
                ),
                )
            }
            None => {
                return Verdict::fail(
                    NAME,
                    format!("value {v} (given at {at}) never reached every node"),
                )
            }
        }
    }
    if judged == 0 {
        return Verdict::unknown(NAME, "no value was given early enough to judge");
    }
    Verdict::pass(
        NAME,
        format!("all {judged} values judged reached every node within {within}"),
    )
}

fn delivery_latency(outcome: &RunOutcome, p50: Duration, p99: Duration) -> Verdict {
    const NAME: &str = "DeliveryLatency";
    let spread = broadcast_spread(outcome);
    if spread.is_empty() {
        return Verdict::unknown(NAME, "no value was given");
    }
    let mut took: Vec<u64> = spread
        .iter()
        .map(|(_, at, last)| last.map_or(u64::MAX, |t| t.since(*at).0))
        .collect();
    took.sort_unstable();
    let pick = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
    let show = |ns: u64| {
        if ns == u64::MAX {
            "never".to_string()
        } else {
            Duration(ns).to_string()
        }
    };
    let (m, t) = (pick(0.5), pick(0.99));
    let text = format!(
        "{} values: p50 {} (at most {p50}), p99 {} (at most {p99})",
        took.len(),
        show(m),
        show(t)
    );
    if m <= p50.0 && t <= p99.0 {
        Verdict::pass(NAME, text)
    } else {
        Verdict::fail(NAME, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clustersim::history::History;
    use clustersim::node::Roster;
    use clustersim::sim::{Bounds, StopReason};
    use clustersim::time::{Duration, SimTime};
    use clustersim::trace::{Trace, TraceLevel};

    fn outcome(history: History, nodes: u32) -> RunOutcome {
        let mut o = RunOutcome::from_history(
            Roster::new((1..=nodes).map(|i| (format!("n{i}"), "n".to_string()))),
            SimTime::ZERO,
            history,
        );
        o.bounds =
            Bounds::new(Duration::from_secs(1), 10).max_memory(clustersim::memory::DEFAULT_BUDGET);
        o.stop = StopReason::Quiescent;
        o.trace = Trace::new(TraceLevel::HashOnly);
        o.status = vec![NodeStatus::Up; nodes as usize];
        o
    }

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO + Duration::from_millis(ms)
    }

    fn incr(h: &mut History, from: u64, to: u64, answer: u64) {
        let id = h.invoke(at(from), NodeId(0), Op::custom("incr", "?"));
        h.ok(at(to), NodeId(0), id, Op::custom("incr", &answer));
    }

    #[test]
    fn a_task_handed_out_again_without_a_crash_fails_bounded_redelivery() {
        let mut h = History::new();
        h.event(at(1), NodeId(1), Op::Dequeue { task: 1 });
        h.event(at(2), NodeId(1), Op::Complete { task: 1 });
        h.event(at(3), NodeId(2), Op::Dequeue { task: 2 });
        h.event(at(4), NodeId(2), Op::Complete { task: 2 });
        assert!(Goal::BoundedRedelivery
            .evaluate(&outcome(h.clone(), 3))
            .passed());
        // Handed out and completed again: too often with no crash...
        h.event(at(5), NodeId(2), Op::Dequeue { task: 1 });
        h.event(at(6), NodeId(2), Op::Complete { task: 1 });
        let v = Goal::BoundedRedelivery.evaluate(&outcome(h.clone(), 3));
        assert!(!v.passed(), "{v:?}");
        assert!(
            v.summary
                .starts_with("task 1 was handed out 2 times and completed 2 times, with 0 crashes"),
            "{}",
            v.summary
        );
        // ...and allowed once a crash may have lost it.
        let mut crashed = outcome(h.clone(), 3);
        crashed.faults = vec![(at(4), clustersim::fault::Fault::Crash(NodeId(1)))];
        assert!(Goal::BoundedRedelivery.evaluate(&crashed).passed());
        // A third time is too often even then.
        h.event(at(7), NodeId(1), Op::Dequeue { task: 1 });
        let mut crashed = outcome(h, 3);
        crashed.faults = vec![(at(4), clustersim::fault::Fault::Crash(NodeId(1)))];
        assert!(!Goal::BoundedRedelivery.evaluate(&crashed).passed());
    }

    #[test]
    fn counter_that_restarts_from_zero_goes_back() {
        let mut h = History::new();
        incr(&mut h, 0, 1, 1);
        incr(&mut h, 2, 3, 2);
        incr(&mut h, 10, 11, 1);
        let v = Goal::CounterNeverGoesBack.evaluate(&outcome(h, 1));
        assert!(!v.passed(), "{v:?}");
        assert!(v.summary.contains("answered 1"), "{}", v.summary);
    }

    #[test]
    fn increment_that_answers_the_same_value_twice_fails() {
        let mut h = History::new();
        incr(&mut h, 0, 1, 0);
        incr(&mut h, 2, 3, 0);
        let v = Goal::CounterNeverGoesBack.evaluate(&outcome(h, 1));
        assert!(!v.passed(), "a counter stuck at 0 does not count: {v:?}");
    }

    #[test]
    fn counter_that_keeps_counting_passes_even_with_concurrent_answers() {
        let mut h = History::new();
        incr(&mut h, 0, 5, 2);
        incr(&mut h, 1, 4, 1);
        incr(&mut h, 6, 7, 3);
        assert!(Goal::CounterNeverGoesBack.evaluate(&outcome(h, 1)).passed());
    }

    #[test]
    fn duplicate_effect_fails_and_single_effects_pass() {
        let mut h = History::new();
        let id = h.invoke(at(0), NodeId(0), Op::Enqueue { task: 1 });
        h.event(at(1), NodeId(1), Op::Effect { task: 1 });
        h.ok(at(2), NodeId(0), id, Op::Enqueue { task: 1 });
        let good = outcome(h.clone(), 2);
        assert!(Goal::EffectsExactlyOnce.evaluate(&good).passed());
        h.event(at(3), NodeId(1), Op::Effect { task: 1 });
        let v = Goal::EffectsExactlyOnce.evaluate(&outcome(h, 2));
        assert!(!v.passed());
        assert!(v.summary.contains("applied 2 times"), "{}", v.summary);
    }

    #[test]
    fn task_never_acknowledged_by_the_sink_fails() {
        let mut h = History::new();
        let id = h.invoke(at(0), NodeId(0), Op::Enqueue { task: 1 });
        h.event(at(1), NodeId(1), Op::Effect { task: 1 });
        h.ok(at(2), NodeId(0), id, Op::Enqueue { task: 1 });
        h.invoke(at(3), NodeId(0), Op::Enqueue { task: 2 });
        h.event(at(4), NodeId(1), Op::Effect { task: 2 });
        let v = Goal::EffectsExactlyOnce.evaluate(&outcome(h, 2));
        assert!(!v.passed());
        assert!(v.summary.contains("never acknowledged"), "{}", v.summary);
    }

    #[test]
    fn task_taken_but_never_completed_is_reported_lost() {
        let mut h = History::new();
        for task in [1, 2] {
            let id = h.invoke(at(0), NodeId(0), Op::Enqueue { task });
            h.ok(at(1), NodeId(0), id, Op::Enqueue { task });
        }
        h.event(at(2), NodeId(1), Op::Dequeue { task: 1 });
        h.event(at(3), NodeId(1), Op::Complete { task: 1 });
        h.event(at(4), NodeId(1), Op::Dequeue { task: 2 });
        let v = Goal::EveryTaskCompleted.evaluate(&outcome(h.clone(), 2));
        assert!(!v.passed());
        assert!(v.summary.starts_with("task 2 "), "{}", v.summary);
        h.event(at(9), NodeId(1), Op::Complete { task: 2 });
        assert!(Goal::EveryTaskCompleted.evaluate(&outcome(h, 2)).passed());
    }

    fn read(h: &mut History, from: u64, to: u64, values: &[u64]) {
        let id = h.invoke(at(from), NodeId(0), Op::custom("read", &[] as &[u64]));
        h.ok(at(to), NodeId(0), id, Op::custom("read", values));
    }

    #[test]
    fn read_missing_an_acknowledged_write_fails() {
        let mut h = History::new();
        for v in [1, 2] {
            let id = h.invoke(at(v), NodeId(0), Op::Put { key: 0, value: v });
            h.ok(at(v + 1), NodeId(0), id, Op::Put { key: 0, value: v });
        }
        // Concurrent with write 3: it may or may not be seen.
        let id = h.invoke(at(10), NodeId(0), Op::Put { key: 0, value: 3 });
        read(&mut h, 11, 12, &[1, 2]);
        h.ok(at(13), NodeId(0), id, Op::Put { key: 0, value: 3 });
        assert!(Goal::AckedWritesVisible
            .evaluate(&outcome(h.clone(), 1))
            .passed());
        read(&mut h, 20, 21, &[1, 3]);
        let v = Goal::AckedWritesVisible.evaluate(&outcome(h, 1));
        assert!(!v.passed());
        assert!(v.summary.starts_with("write 2 "), "{}", v.summary);
    }

    #[test]
    fn message_missing_at_one_node_fails_all_delivered() {
        let mut h = History::new();
        let id = h.invoke(at(0), NodeId(0), Op::Post { msg: 7, chunks: 1 });
        h.ok(at(0), NodeId(0), id, Op::Post { msg: 7, chunks: 1 });
        h.event(at(0), NodeId(0), Op::Deliver { msg: 7 });
        h.event(at(3), NodeId(1), Op::Deliver { msg: 7 });
        let v = Goal::AllDelivered.evaluate(&outcome(h.clone(), 3));
        assert!(!v.passed());
        assert!(v.summary.contains("never reached n3"), "{}", v.summary);
        h.event(at(5), NodeId(2), Op::Deliver { msg: 7 });
        assert!(Goal::AllDelivered.evaluate(&outcome(h, 3)).passed());
    }

    #[test]
    fn unanswered_request_fails_every_request_answered() {
        let mut h = History::new();
        let op = Op::Ping {
            peer: NodeId(1),
            seq: 0,
        };
        let id = h.invoke(at(0), NodeId(0), op.clone());
        h.ok(at(1), NodeId(0), id, op.clone());
        assert!(Goal::EveryRequestAnswered
            .evaluate(&outcome(h.clone(), 2))
            .passed());
        h.invoke(at(2), NodeId(0), op);
        assert!(!Goal::EveryRequestAnswered.evaluate(&outcome(h, 2)).passed());
    }

    #[test]
    fn a_log_past_its_bound_fails_log_bounded_and_a_state_gone_back_fails_state_never_goes_back() {
        use crate::raft_node::{APPLIED_BACK, LOG_LENGTH};
        let bounded = Goal::LogBounded { max: 80 };
        // A run that recorded no length says why it cannot pass.
        let v = bounded.evaluate(&outcome(History::new(), 2));
        assert!(
            !v.passed() && v.summary.contains("snapshot_threshold"),
            "{v:?}"
        );
        let mut h = History::new();
        for (ms, n) in [(10, 12), (20, 40), (30, 80)] {
            h.event(at(ms), NodeId(1), Op::custom(LOG_LENGTH, &(n as u64)));
        }
        let v = bounded.evaluate(&outcome(h.clone(), 2));
        assert!(v.passed(), "{v:?}");
        assert!(
            v.summary.contains("80 entries (at most 80)"),
            "{}",
            v.summary
        );
        h.event(at(40), NodeId(0), Op::custom(LOG_LENGTH, &81u64));
        let v = bounded.evaluate(&outcome(h.clone(), 2));
        assert!(!v.passed(), "{v:?}");
        assert!(
            v.summary.contains("n1 held 81 log entries"),
            "{}",
            v.summary
        );

        assert!(Goal::StateNeverGoesBack
            .evaluate(&outcome(h.clone(), 2))
            .passed());
        h.event(at(50), NodeId(1), Op::custom(APPLIED_BACK, &[140u64, 100]));
        let v = Goal::StateNeverGoesBack.evaluate(&outcome(h, 2));
        assert!(!v.passed(), "{v:?}");
        assert!(
            v.summary
                .contains("n2's state machine went back from entry 140 to entry 100"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn leader_elected_needs_a_leader_soon_after_the_start_and_each_leader_crash() {
        let lead = |h: &mut History, ms: u64, n: u32, term: u64| {
            h.event(at(ms), NodeId(n), Op::custom(LEADER, &term));
        };
        let within = Goal::LeaderElected {
            within: Duration::from_millis(300),
        };
        let mut h = History::new();
        lead(&mut h, 200, 0, 1);
        let mut o = outcome(h.clone(), 3);
        o.end_time = at(2000);
        o.faults = vec![(at(500), Fault::Crash(NodeId(0)))];
        // Nobody leads after the leader's crash at 0.5 s.
        let v = within.evaluate(&o);
        assert!(!v.passed(), "{v:?}");
        assert!(
            v.summary.contains("after the crash of leader n1"),
            "{}",
            v.summary
        );
        // A leader at 0.9 s is too late for 300 ms, in time for 500 ms.
        lead(&mut h, 900, 1, 2);
        o.history = h;
        assert!(!within.evaluate(&o).passed());
        let v = Goal::LeaderElected {
            within: Duration::from_millis(500),
        }
        .evaluate(&o);
        assert!(v.passed(), "{v:?}");
        // The crash of a follower needs no election.
        o.faults = vec![(at(500), Fault::Crash(NodeId(2)))];
        o.history = {
            let mut h = History::new();
            lead(&mut h, 200, 0, 1);
            h
        };
        assert!(within.evaluate(&o).passed());
    }

    #[test]
    fn a_recovered_value_no_client_wrote_to_its_key_fails_recovers_only_written_values() {
        use crate::wal_node::RECOVERED;
        let goal = Goal::RecoversOnlyWrittenValues;
        let mut h = History::new();
        h.event(
            at(0),
            NodeId(0),
            Op::custom(RECOVERED, &Vec::<(u64, u64)>::new()),
        );
        let id = h.invoke(at(10), NodeId(1), Op::Put { key: 1, value: 5 });
        h.ok(at(12), NodeId(1), id, Op::Put { key: 1, value: 5 });
        let mut good = h.clone();
        good.event(
            at(20),
            NodeId(0),
            Op::custom(RECOVERED, &vec![(1u64, 5u64)]),
        );
        let v = goal.evaluate(&outcome(good, 2));
        assert!(v.passed(), "{v:?}");
        // Another key's value (a misdirected or corrupt record), and a value never written.
        for bad in [(2u64, 5u64), (1, 6)] {
            let mut h = h.clone();
            h.event(at(20), NodeId(0), Op::custom(RECOVERED, &vec![bad]));
            let v = goal.evaluate(&outcome(h, 2));
            assert!(!v.passed(), "{bad:?}: {v:?}");
            assert!(
                v.summary.contains("a value no client wrote"),
                "{}",
                v.summary
            );
        }
        // A value recovered before any client wrote it.
        let mut early = History::new();
        early.event(at(0), NodeId(0), Op::custom(RECOVERED, &vec![(1u64, 5u64)]));
        let id = early.invoke(at(10), NodeId(1), Op::Put { key: 1, value: 5 });
        early.ok(at(12), NodeId(1), id, Op::Put { key: 1, value: 5 });
        assert!(!goal.evaluate(&outcome(early, 2)).passed());
        assert_eq!(
            goal.evaluate(&outcome(History::new(), 2)).status,
            clustersim::check::Status::Unknown
        );
    }

    #[test]
    fn message_budgets_count_messages_per_second_and_per_completed_call() {
        let mut h = History::new();
        incr(&mut h, 0, 10, 1);
        incr(&mut h, 20, 30, 2);
        let mut o = outcome(h, 2);
        o.end_time = at(1000);
        o.stats.sent = 50;
        assert!(Goal::MessagesPerSecond { max: 50 }.evaluate(&o).passed());
        assert!(!Goal::MessagesPerSecond { max: 49 }.evaluate(&o).passed());
        assert!(Goal::MessagesPerOperation { max: 25 }.evaluate(&o).passed());
        assert!(!Goal::MessagesPerOperation { max: 24 }.evaluate(&o).passed());
        let idle = outcome(History::new(), 2);
        assert!(!Goal::MessagesPerOperation { max: 24 }
            .evaluate(&idle)
            .passed());
    }

    #[test]
    fn an_append_applied_twice_or_acknowledged_unapplied_fails_exactly_once() {
        use crate::exactly_once::{APPEND, APPLIED};
        let mut h = History::new();
        let id = h.invoke(at(0), NodeId(0), Op::custom(APPEND, &7u64));
        h.event(at(1), NodeId(1), Op::custom(APPLIED, &7u64));
        h.ok(at(2), NodeId(0), id, Op::custom(APPEND, &7u64));
        assert!(Goal::AppliedExactlyOnce
            .evaluate(&outcome(h.clone(), 2))
            .passed());
        let mut twice = h.clone();
        twice.event(at(3), NodeId(1), Op::custom(APPLIED, &7u64));
        let v = Goal::AppliedExactlyOnce.evaluate(&outcome(twice, 2));
        assert!(
            !v.passed() && v.summary.contains("appended 2 times"),
            "{v:?}"
        );
        let mut lost = History::new();
        let id = lost.invoke(at(0), NodeId(0), Op::custom(APPEND, &8u64));
        lost.ok(at(2), NodeId(0), id, Op::custom(APPEND, &8u64));
        let v = Goal::AppliedExactlyOnce.evaluate(&outcome(lost, 2));
        assert!(!v.passed() && v.summary.contains("never applied"), "{v:?}");
    }

    #[test]
    fn a_value_missing_or_late_somewhere_fails_delivery() {
        use crate::broadcast::{BROADCAST, LEARNED};
        let give = |h: &mut History, ms: u64, v: u64| {
            let id = h.invoke(at(ms), NodeId(0), Op::custom(BROADCAST, &v));
            h.ok(at(ms), NodeId(0), id, Op::custom(BROADCAST, &v));
            h.event(at(ms), NodeId(0), Op::custom(LEARNED, &v));
        };
        let mut h = History::new();
        give(&mut h, 0, 1);
        h.event(at(100), NodeId(1), Op::custom(LEARNED, &1u64));
        give(&mut h, 10, 2);
        let mut o = outcome(h.clone(), 2);
        o.end_time = at(2000);
        let everywhere = Goal::DeliveredEverywhere {
            within: Duration::from_millis(200),
        };
        let v = everywhere.evaluate(&o);
        assert!(!v.passed() && v.summary.contains("value 2"), "{v:?}");
        h.event(at(400), NodeId(1), Op::custom(LEARNED, &2u64));
        o.history = h;
        let v = everywhere.evaluate(&o);
        assert!(!v.passed() && v.summary.contains("later than"), "{v:?}");
        let latency = |p50, p99| Goal::DeliveryLatency {
            p50: Duration::from_millis(p50),
            p99: Duration::from_millis(p99),
        };
        // Took 100 ms and 390 ms: the median is the smaller, the 99th percentile the larger.
        assert!(latency(100, 390).evaluate(&o).passed());
        assert!(!latency(99, 390).evaluate(&o).passed());
        assert!(!latency(100, 389).evaluate(&o).passed());
        assert!(Goal::DeliveredEverywhere {
            within: Duration::from_millis(400)
        }
        .evaluate(&o)
        .passed());
    }

    /// Records view `num` (primary, backup: node indices) at `ms`, and its acknowledgement at
    /// `acked` if given.
    fn view(
        h: &mut History,
        ms: u64,
        num: u64,
        primary: u32,
        backup: Option<u32>,
        acked: Option<u64>,
    ) {
        let v = View {
            num,
            primary: Some(NodeId(primary)),
            backup: backup.map(NodeId),
        };
        h.event(at(ms), NodeId(0), Op::custom(VIEW, &v));
        if let Some(a) = acked {
            h.event(at(a), NodeId(0), Op::custom(VIEW_ACK, &num));
        }
    }

    #[test]
    fn views_valid_fails_each_broken_rule_and_passes_a_good_sequence() {
        let good = |h: &mut History| {
            view(h, 10, 1, 1, None, Some(100));
            view(h, 200, 2, 1, Some(2), Some(300));
        };
        let mut h = History::new();
        good(&mut h);
        view(&mut h, 900, 3, 2, Some(3), None);
        let v = Goal::ViewsValid.evaluate(&outcome(h, 4));
        assert!(v.passed(), "{v:?}");

        type Breaks = fn(&mut History);
        let cases: [(&str, Breaks); 4] = [
            ("before its primary acknowledged", |h| {
                view(h, 900, 3, 2, Some(3), None)
            }),
            ("neither the primary nor the backup", |h| {
                view(h, 900, 3, 3, Some(2), None)
            }),
            ("the next number", |h| view(h, 900, 4, 2, Some(3), None)),
            ("same server as primary and backup", |h| {
                view(h, 900, 3, 2, Some(2), None)
            }),
        ];
        for (i, (expect, bad)) in cases.into_iter().enumerate() {
            let mut h = History::new();
            view(&mut h, 10, 1, 1, None, Some(100));
            if i == 0 {
                // View 2 is never acknowledged, so view 3 may not follow it.
                view(&mut h, 200, 2, 1, Some(2), None);
            } else {
                view(&mut h, 200, 2, 1, Some(2), Some(300));
            }
            bad(&mut h);
            let v = Goal::ViewsValid.evaluate(&outcome(h, 4));
            assert!(!v.passed() && v.summary.contains(expect), "{expect}: {v:?}");
        }
        let v = Goal::ViewsValid.evaluate(&outcome(History::new(), 4));
        assert!(!v.passed(), "no view at all: {v:?}");
    }

    #[test]
    fn failover_within_needs_a_view_without_the_crashed_member_in_time() {
        let run = |replaced_at: Option<u64>, extra: Option<(u64, Fault)>| {
            let mut h = History::new();
            view(&mut h, 10, 1, 1, Some(2), Some(100));
            if let Some(ms) = replaced_at {
                view(&mut h, ms, 2, 2, None, None);
            }
            let mut o = outcome(h, 4);
            o.end_time = at(5000);
            o.faults = vec![(at(1000), Fault::Crash(NodeId(1)))];
            if let Some((ms, f)) = extra {
                o.faults.push((at(ms), f));
            }
            Goal::FailoverWithin {
                within: Duration::from_secs(1),
            }
            .evaluate(&o)
        };
        assert!(run(Some(1600), None).passed());
        let late = run(Some(2100), None);
        assert!(
            !late.passed() && late.summary.contains("primary n2 crashed"),
            "{late:?}"
        );
        let never = run(None, None);
        assert!(
            !never.passed() && never.summary.contains("no view came after"),
            "{never:?}"
        );
        // The backup failed too: nobody can take over, so the crash is not judged.
        let both = run(None, Some((1200, Fault::Crash(NodeId(2)))));
        assert!(both.passed(), "{both:?}");
        assert!(both.summary.contains("0 crash(es)"), "{both:?}");
    }
}
