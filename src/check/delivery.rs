//! The delivery checker: for every task whose enqueue was acknowledged, was it completed (once,
//! or how many times), and was its effect applied (0, 1, >1 times)? Plus enqueue-to-completion
//! latency and throughput.
use super::Verdict;
use crate::history::{History, Op, Phase};
use crate::sim::RunOutcome;
use crate::time::{Duration, SimTime};
use std::collections::BTreeMap;

/// What happened to one task, with the history entries that show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFate {
    /// The task id.
    pub task: u64,
    /// When the first enqueue of it was invoked.
    pub enqueued: Option<SimTime>,
    /// When an enqueue of it was first acknowledged.
    pub acked: Option<SimTime>,
    /// When it was first completed.
    pub first_completion: Option<SimTime>,
    /// How many times a worker took it.
    pub dequeues: u32,
    /// How many times a worker finished it.
    pub completions: u32,
    /// How many times the sink applied its effect.
    pub effects: u32,
    /// History entries about the task, in order.
    pub entries: Vec<usize>,
}

/// The delivery table of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delivery {
    /// Every task seen, by id.
    pub tasks: BTreeMap<u64, TaskFate>,
}

/// Summary counts over acknowledged tasks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Tasks whose enqueue was acknowledged.
    pub acknowledged: usize,
    /// Acknowledged tasks completed exactly once.
    pub completed_once: usize,
    /// Acknowledged tasks completed more than once.
    pub duplicated: usize,
    /// Acknowledged tasks never completed.
    pub lost: usize,
    /// Acknowledged tasks whose effect was applied exactly once.
    pub effect_once: usize,
    /// Acknowledged tasks whose effect was applied more than once.
    pub effect_many: usize,
    /// Acknowledged tasks whose effect was never applied.
    pub effect_none: usize,
}

impl Delivery {
    /// Reads the fate of every task from a history.
    pub fn from_history(history: &History) -> Self {
        let mut tasks: BTreeMap<u64, TaskFate> = BTreeMap::new();
        for e in history.entries() {
            let task = match e.op {
                Op::Enqueue { task }
                | Op::Dequeue { task }
                | Op::Complete { task }
                | Op::Effect { task } => task,
                _ => continue,
            };
            let f = tasks.entry(task).or_insert_with(|| TaskFate {
                task,
                ..TaskFate::default()
            });
            f.entries.push(e.index);
            match (&e.op, e.phase) {
                (Op::Enqueue { .. }, Phase::Invoke) => {
                    f.enqueued.get_or_insert(e.time);
                }
                (Op::Enqueue { .. }, Phase::Ok) => {
                    f.acked.get_or_insert(e.time);
                }
                (Op::Dequeue { .. }, _) => f.dequeues += 1,
                (Op::Complete { .. }, _) => {
                    f.completions += 1;
                    f.first_completion.get_or_insert(e.time);
                }
                (Op::Effect { .. }, _) => f.effects += 1,
                _ => {}
            }
        }
        Delivery { tasks }
    }

    /// Acknowledged tasks, in order of acknowledgement.
    pub fn acknowledged(&self) -> Vec<&TaskFate> {
        let mut v: Vec<&TaskFate> = self.tasks.values().filter(|f| f.acked.is_some()).collect();
        v.sort_by_key(|f| (f.acked, f.task));
        v
    }

    /// The counts of the delivery table.
    pub fn counts(&self) -> DeliveryCounts {
        let mut c = DeliveryCounts::default();
        for f in self.tasks.values().filter(|f| f.acked.is_some()) {
            c.acknowledged += 1;
            match f.completions {
                0 => c.lost += 1,
                1 => c.completed_once += 1,
                _ => c.duplicated += 1,
            }
            match f.effects {
                0 => c.effect_none += 1,
                1 => c.effect_once += 1,
                _ => c.effect_many += 1,
            }
        }
        c
    }

    /// Enqueue-to-first-completion latencies of acknowledged tasks, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let mut v: Vec<Duration> = self
            .tasks
            .values()
            .filter(|f| f.acked.is_some())
            .filter_map(|f| Some(f.first_completion? - f.enqueued?))
            .collect();
        v.sort();
        v
    }

    /// The table and latency lines for a report.
    pub fn table(&self) -> Vec<String> {
        let c = self.counts();
        let mut lines = vec![
            format!(
                "tasks: {} acknowledged, {} completed once, {} duplicated, {} lost",
                c.acknowledged, c.completed_once, c.duplicated, c.lost
            ),
            format!(
                "effects: {} applied once, {} applied more than once, {} never applied",
                c.effect_once, c.effect_many, c.effect_none
            ),
        ];
        let lat = self.latencies();
        if let Some(max) = lat.last() {
            let pick = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
            lines.push(format!(
                "latency enqueue->completion: p50 {} p99 {} max {}",
                pick(0.5),
                pick(0.99),
                max
            ));
        }
        let first = self.tasks.values().filter_map(|f| f.enqueued).min();
        let last = self.tasks.values().filter_map(|f| f.first_completion).max();
        if let (Some(a), Some(b)) = (first, last) {
            let span = (b - a).as_secs_f64();
            let done = c.completed_once + c.duplicated;
            if span > 0.0 {
                lines.push(format!(
                    "throughput: {done} tasks in {} = {:.1} tasks/s",
                    b - a,
                    done as f64 / span
                ));
            }
        }
        lines
    }
}

fn with_table(mut v: Verdict, d: &Delivery) -> Verdict {
    v.details.extend(d.table());
    v
}

fn blame(v: Verdict, outcome: &RunOutcome, f: &TaskFate, what: &str, lost: bool) -> Verdict {
    let h = &outcome.history;
    let mut v = v.detail(format!("first offending task {}: {what}", f.task));
    for &i in &f.entries {
        let Some(e) = h.entry(i) else { continue };
        v = v.detail(format!(
            "  [{i}] {} {} {:?} {}",
            e.time,
            outcome.roster.name(e.node),
            e.phase,
            e.op
        ));
    }
    let v = v.culprits(outcome, f.entries.clone());
    widen_to_crashes(v, outcome, lost)
}

/// A repeated task is often explained by a crash inside its window, a lost one by the next
/// crash after it was taken: name that crash and widen the window to it.
fn widen_to_crashes(mut v: Verdict, outcome: &RunOutcome, lost: bool) -> Verdict {
    if let Some((lo, hi)) = v.window {
        let crash = outcome
            .faults
            .iter()
            .find(|(t, f)| matches!(f, crate::fault::Fault::Crash(_)) && *t >= lo && *t <= hi);
        let after = outcome
            .faults
            .iter()
            .find(|(t, f)| matches!(f, crate::fault::Fault::Crash(_)) && *t >= lo);
        let found = if lost { crash.or(after) } else { crash };
        if let Some((t, crate::fault::Fault::Crash(node))) = found {
            v.window = Some((lo, hi.max(*t)));
            v = v.detail(format!("  {t} crash of {}", outcome.roster.name(*node)));
        }
    }
    v
}

/// Every acknowledged task is completed at least once.
pub fn check_no_lost_tasks(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "NoLostTasks";
    let d = Delivery::from_history(&outcome.history);
    let c = d.counts();
    if c.acknowledged == 0 {
        return with_table(Verdict::unknown(NAME, "no enqueue was acknowledged"), &d);
    }
    match d.acknowledged().into_iter().find(|f| f.completions == 0) {
        None => with_table(
            Verdict::pass(
                NAME,
                format!("all {} acknowledged tasks completed", c.acknowledged),
            ),
            &d,
        ),
        Some(f) => {
            let v = Verdict::fail(
                NAME,
                format!("{} of {} acknowledged tasks lost", c.lost, c.acknowledged),
            );
            let v = with_table(v, &d);
            let why = if f.dequeues > 0 {
                format!("taken {} time(s), never completed", f.dequeues)
            } else {
                "acknowledged, never taken by a worker".to_string()
            };
            blame(v, outcome, f, &why, true)
        }
    }
}

/// Every acknowledged task has its effect applied by the sink at least once: a task a worker
/// completed whose effect never reached the sink is lost too.
pub fn check_no_lost_effects(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "NoLostEffects";
    let d = Delivery::from_history(&outcome.history);
    let c = d.counts();
    if c.acknowledged == 0 {
        return with_table(Verdict::unknown(NAME, "no enqueue was acknowledged"), &d);
    }
    match d.acknowledged().into_iter().find(|f| f.effects == 0) {
        None => with_table(
            Verdict::pass(
                NAME,
                format!(
                    "all {} acknowledged tasks had their effect applied",
                    c.acknowledged
                ),
            ),
            &d,
        ),
        Some(f) => {
            let v = Verdict::fail(
                NAME,
                format!(
                    "{} of {} acknowledged tasks never had their effect applied",
                    c.effect_none, c.acknowledged
                ),
            );
            let v = with_table(v, &d);
            let why = match (f.completions, f.dequeues) {
                (0, 0) => "acknowledged, never taken by a worker".to_string(),
                (0, n) => format!("taken {n} time(s), never completed"),
                (n, _) => format!("completed {n} time(s), its effect never applied by the sink"),
            };
            blame(v, outcome, f, &why, true)
        }
    }
}

/// No task's effect is applied more than once.
pub fn check_no_duplicate_effects(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "NoDuplicateEffects";
    let d = Delivery::from_history(&outcome.history);
    let mut dup: Vec<&TaskFate> = d.tasks.values().filter(|f| f.effects > 1).collect();
    dup.sort_by_key(|f| (f.entries.first().copied(), f.task));
    match dup.first() {
        None => with_table(Verdict::pass(NAME, "no effect applied twice"), &d),
        Some(f) => {
            let v = Verdict::fail(
                NAME,
                format!(
                    "{} task(s) had their effect applied more than once",
                    dup.len()
                ),
            );
            let v = with_table(v, &d);
            blame(
                v,
                outcome,
                f,
                &format!("effect applied {} times", f.effects),
                false,
            )
        }
    }
}

/// No task is completed by workers more than once.
pub fn check_no_duplicate_completions(outcome: &RunOutcome) -> Verdict {
    const NAME: &str = "NoDuplicateCompletions";
    let d = Delivery::from_history(&outcome.history);
    let mut dup: Vec<&TaskFate> = d.tasks.values().filter(|f| f.completions > 1).collect();
    dup.sort_by_key(|f| (f.entries.first().copied(), f.task));
    match dup.first() {
        None => with_table(Verdict::pass(NAME, "no task completed twice"), &d),
        Some(f) => {
            let v = Verdict::fail(
                NAME,
                format!("{} task(s) were completed more than once", dup.len()),
            );
            let v = with_table(v, &d);
            blame(
                v,
                outcome,
                f,
                &format!("completed {} times", f.completions),
                false,
            )
        }
    }
}

/// Every task whose enqueue was acknowledged is completed at least once.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoLostTasks;

impl crate::protocol::Check for NoLostTasks {
    const NAME: &'static str = "NoLostTasks";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    // A task not done yet may still be done once a lease runs out.
    fn fails_on_absence(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_no_lost_tasks(outcome)
    }
}

/// No task's effect is applied by the sink more than once.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoDuplicateEffects;

impl crate::protocol::Check for NoDuplicateEffects {
    const NAME: &'static str = "NoDuplicateEffects";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    // A count that only grows: a prefix that fails fails every run that goes on from it.
    fn invariant(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_no_duplicate_effects(outcome)
    }
}

/// No task is completed by workers more than once.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoDuplicateCompletions;

impl crate::protocol::Check for NoDuplicateCompletions {
    const NAME: &'static str = "NoDuplicateCompletions";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    // A count that only grows: a prefix that fails fails every run that goes on from it.
    fn invariant(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_no_duplicate_completions(outcome)
    }
}

/// Every acknowledged task's effect is applied by the sink at least once.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoLostEffects;

impl crate::protocol::Check for NoLostEffects {
    const NAME: &'static str = "NoLostEffects";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Liveness
    }

    // A task not done yet may still be done once a lease runs out.
    fn fails_on_absence(&self) -> bool {
        true
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        check_no_lost_effects(outcome)
    }
}
