//! Exercise `idempotent-sink`: apply each task's effect exactly once under at-least-once delivery.
//!
//! A sender delivers tasks to a sink and resends each one until the sink acknowledges it; the
//! network also loses and duplicates messages, and the sink crashes and restarts mid-run. So the
//! same task reaches the sink several times. Write `on_deliver` (between the `ANCHOR: student`
//! lines). Grade with `clustersim-exercises check-exercise idempotent-sink`; the goal is
//! `EffectsExactlyOnce`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::{BTreeMap, BTreeSet};

/// Messages between sender and sink.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Sender to sink: here is `task`.
    Deliver {
        /// The task.
        task: u64,
    },
    /// Sink to sender: `task` is taken care of, stop resending it.
    Ack {
        /// The task.
        task: u64,
    },
}

/// The sender's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Send the next task.
    Next,
    /// Resend `task` if it is still unacknowledged.
    Retry {
        /// The task.
        task: u64,
    },
}

/// The sink's state, rebuilt after a crash from the storage keys `seen/...`.
#[derive(Debug)]
pub struct Sink {
    /// Tasks whose `seen/{task}` key was in storage when the sink (re)started, plus whatever
    /// your `on_deliver` adds.
    pub seen: BTreeSet<u64>,
    code: &'static Functions,
}

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, SinkNode>;

// ANCHOR: student
/// `task` arrived from `from` (maybe not for the first time). Apply its effect with
/// `ctx.event(Op::Effect { task })` exactly once over the whole run, and acknowledge every
/// delivery with `ctx.send(from, Msg::Ack { task })` so the sender stops resending.
/// The sink restarts from storage: `ctx.storage().put(format!("seen/{task}"), task)` followed
/// by `ctx.storage().sync()` is what comes back as `sink.seen` after a crash.
#[allow(unused_variables)]
pub fn on_deliver(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
    todo!("apply task {task}'s effect once, remember it durably, and acknowledge it")
}
// ANCHOR_END: student

/// The student's pieces of this exercise as a table a run calls (another `Code` swaps them).
#[derive(Debug)]
pub struct Functions {
    /// See [`on_deliver`].
    pub on_deliver: fn(&mut Sink, &mut Ctx<'_>, NodeId, u64),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions { on_deliver };

/// The sender: tasks `1..=limit`, each resent every `retry` until acknowledged.
#[derive(Debug)]
pub struct Sender {
    sink: NodeId,
    interval: Duration,
    retry: Duration,
    next: u64,
    limit: u64,
    unacked: BTreeMap<u64, OpId>,
}

/// A node of this exercise.
#[derive(Debug)]
pub enum SinkNode {
    /// Delivers tasks at least once.
    Sender(Sender),
    /// Applies their effects.
    Sink(Sink),
}

impl Node for SinkNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let SinkNode::Sender(s) = self {
            ctx.set_timer(s.interval, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (SinkNode::Sink(s), Msg::Deliver { task }) => (s.code.on_deliver)(s, ctx, from, task),
            (SinkNode::Sender(s), Msg::Ack { task }) => {
                if let Some(op) = s.unacked.remove(&task) {
                    ctx.ok(op, Op::Enqueue { task });
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let SinkNode::Sender(s) = self else { return };
        match timer {
            Timer::Next if s.next <= s.limit => {
                let task = s.next;
                s.next += 1;
                let op = ctx.invoke(Op::Enqueue { task });
                s.unacked.insert(task, op);
                ctx.send(s.sink, Msg::Deliver { task });
                ctx.set_timer(s.retry, Timer::Retry { task });
                ctx.set_timer(s.interval, Timer::Next);
            }
            Timer::Retry { task } if s.unacked.contains_key(&task) => {
                ctx.send(s.sink, Msg::Deliver { task });
                ctx.set_timer(s.retry, Timer::Retry { task });
            }
            _ => {}
        }
    }
}

/// Checks the scenario has a sender and a sink.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "idempotent-sink", "sender")?;
    require_role(plan, "idempotent-sink", "sink")
}

/// The exercise's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<SinkNode> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let (limit, interval, retry) = (u64::from(w.ops.max(1)), w.interval, w.timeout);
    let sink = plan.roster.members("sink")[0];
    let factory: NodeFactory<SinkNode> = Box::new(move |id, roster, storage| {
        if roster.role(id) == "sender" {
            SinkNode::Sender(Sender {
                sink,
                interval,
                retry,
                next: 1,
                limit,
                unacked: BTreeMap::new(),
            })
        } else {
            SinkNode::Sink(Sink {
                seen: storage.scan("seen/").map(|(_, task)| *task).collect(),
                code: functions,
            })
        }
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
