//! Exercise `lease-queue`: a crashed worker's task must be handed out again.
//!
//! A producer enqueues tasks on a queue server; two workers take tasks, work on each for a
//! while, record it complete and acknowledge it. The server below hands tasks out like Redis
//! `LPOP`: the task leaves the server the moment a worker takes it, so when that worker crashes
//! the task is gone. Fix the three functions between the `ANCHOR: student` lines. Grade with
//! `clustersim-exercises check-exercise lease-queue`; the goal is `EveryTaskCompleted`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::{BTreeMap, VecDeque};

/// Messages between producer, server and workers.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Producer to server: add `task` to the queue.
    Enqueue {
        /// The task.
        task: u64,
    },
    /// Server to producer: `task` is in the queue.
    Enqueued {
        /// The task.
        task: u64,
    },
    /// Worker to server: give me a task.
    Take,
    /// Server to worker: work on `task`.
    Task {
        /// The task.
        task: u64,
    },
    /// Server to worker: nothing to do right now.
    Empty,
    /// Worker to server: `task` is done.
    Ack {
        /// The task.
        task: u64,
    },
}

/// Timers of producer, server and workers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Producer: enqueue the next task.
    Produce,
    /// Producer: the enqueue of `task` waited too long.
    EnqueueTimeout {
        /// The task.
        task: u64,
    },
    /// Worker: ask the server for work again.
    Poll,
    /// Worker: finished working on `task`.
    Done {
        /// The task.
        task: u64,
    },
    /// Server: the lease on `task` ran out.
    Lease {
        /// The task.
        task: u64,
    },
}

/// The queue server.
#[derive(Debug)]
pub struct QueueServer {
    /// Tasks waiting for a worker, oldest first.
    pub ready: VecDeque<u64>,
    /// Tasks handed to a worker and not yet acknowledged, with the worker holding each.
    pub in_flight: BTreeMap<u64, NodeId>,
    /// How long a worker may hold a task before it is handed out again.
    pub lease: Duration,
    functions: Functions,
}

/// The three server functions a version of this exercise provides: the starter's, the
/// reference's, or any other (a grader's test of a wrong solution).
#[derive(Clone, Copy, Debug)]
pub struct Functions {
    /// `take` above.
    pub take: fn(&mut QueueServer, &mut Ctx<'_>, NodeId) -> Option<u64>,
    /// `on_ack` above.
    pub on_ack: fn(&mut QueueServer, &mut Ctx<'_>, u64),
    /// `on_lease_expired` above.
    pub on_lease_expired: fn(&mut QueueServer, &mut Ctx<'_>, u64),
}

/// The functions of this file (what the student edits).
pub const STUDENT: Functions = Functions {
    take,
    on_ack,
    on_lease_expired,
};

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, QueueNode>;

// ANCHOR: student
/// A worker asks for a task: return the one to give it, or `None` if there is none.
/// This is `LPOP`: once popped, the server forgets the task.
#[allow(unused_variables)]
pub fn take(server: &mut QueueServer, ctx: &mut Ctx<'_>, worker: NodeId) -> Option<u64> {
    server.ready.pop_front()
}

/// A worker says it has finished `task`.
#[allow(unused_variables)]
pub fn on_ack(server: &mut QueueServer, ctx: &mut Ctx<'_>, task: u64) {}

/// A `Timer::Lease { task }` you set earlier has fired.
#[allow(unused_variables)]
pub fn on_lease_expired(server: &mut QueueServer, ctx: &mut Ctx<'_>, task: u64) {}
// ANCHOR_END: student

/// The producer: enqueues tasks `1..=limit`, one every `interval`.
#[derive(Debug)]
pub struct Producer {
    server: NodeId,
    interval: Duration,
    timeout: Duration,
    next: u64,
    limit: u64,
    waiting: BTreeMap<u64, OpId>,
}

/// A worker: takes a task, works on it for `work`, records it complete, acknowledges it.
#[derive(Debug)]
pub struct Worker {
    server: NodeId,
    work: Duration,
}

/// A node of this exercise.
#[derive(Debug)]
pub enum QueueNode {
    /// Submits tasks.
    Producer(Producer),
    /// The queue.
    Server(QueueServer),
    /// Processes tasks.
    Worker(Worker),
}

impl QueueServer {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Enqueue { task } => {
                // A retried enqueue must not queue the task twice.
                if !self.ready.contains(&task) && !self.in_flight.contains_key(&task) {
                    self.ready.push_back(task);
                }
                ctx.send(from, Msg::Enqueued { task });
            }
            Msg::Take => {
                let task = (self.functions.take)(self, ctx, from);
                ctx.send(from, task.map_or(Msg::Empty, |task| Msg::Task { task }));
            }
            Msg::Ack { task } => (self.functions.on_ack)(self, ctx, task),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        if let Timer::Lease { task } = timer {
            (self.functions.on_lease_expired)(self, ctx, task);
        }
    }
}

impl Producer {
    fn produce(&mut self, ctx: &mut Ctx<'_>) {
        if self.next > self.limit {
            return;
        }
        let task = self.next;
        self.next += 1;
        let op = ctx.invoke(Op::Enqueue { task });
        self.waiting.insert(task, op);
        ctx.send(self.server, Msg::Enqueue { task });
        ctx.set_timer(self.timeout, Timer::EnqueueTimeout { task });
        ctx.set_timer(self.interval, Timer::Produce);
    }
}

impl Node for QueueNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            QueueNode::Producer(p) => {
                ctx.set_timer(p.interval, Timer::Produce);
            }
            QueueNode::Worker(w) => ctx.send(w.server, Msg::Take),
            QueueNode::Server(_) => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (QueueNode::Server(s), msg) => s.on_message(ctx, from, msg),
            (QueueNode::Producer(p), Msg::Enqueued { task }) => {
                if let Some(op) = p.waiting.remove(&task) {
                    ctx.ok(op, Op::Enqueue { task });
                }
            }
            (QueueNode::Worker(w), Msg::Task { task }) => {
                ctx.event(Op::Dequeue { task });
                ctx.set_timer(w.work, Timer::Done { task });
            }
            (QueueNode::Worker(_), Msg::Empty) => {
                ctx.set_timer(Duration::from_millis(20), Timer::Poll);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        match (self, timer) {
            (QueueNode::Server(s), timer) => s.on_timer(ctx, timer),
            (QueueNode::Producer(p), Timer::Produce) => p.produce(ctx),
            (QueueNode::Producer(p), Timer::EnqueueTimeout { task }) => {
                if let Some(op) = p.waiting.remove(&task) {
                    ctx.info(op, Op::Enqueue { task });
                }
            }
            (QueueNode::Worker(w), Timer::Poll) => ctx.send(w.server, Msg::Take),
            (QueueNode::Worker(w), Timer::Done { task }) => {
                ctx.event(Op::Complete { task });
                ctx.send(w.server, Msg::Ack { task });
                ctx.send(w.server, Msg::Take);
            }
            _ => {}
        }
    }
}

/// Checks the scenario has a producer, one queue server and workers.
pub fn validate(plan: &Plan) -> Result<(), String> {
    for role in ["producer", "queue", "worker"] {
        require_role(plan, "lease-queue", role)?;
    }
    Ok(())
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}

/// The exercise's run with `code`'s functions, not yet started.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<QueueNode> {
    sim_with(plan, *code.pick(&STUDENT), trace)
}

/// The exercise's run with the server functions `functions`, not yet started.
fn sim_with(plan: &Plan, functions: Functions, trace: TraceLevel) -> Sim<QueueNode> {
    let w = plan.workload();
    let (limit, interval, timeout) = (u64::from(w.ops.max(1)), w.interval, w.timeout);
    let server = plan.roster.members("queue")[0];
    let factory: NodeFactory<QueueNode> =
        Box::new(move |id, roster, _storage| match roster.role(id) {
            "producer" => QueueNode::Producer(Producer {
                server,
                interval,
                timeout,
                next: 1,
                limit,
                waiting: BTreeMap::new(),
            }),
            "queue" => QueueNode::Server(QueueServer {
                ready: VecDeque::new(),
                in_flight: BTreeMap::new(),
                lease: Duration::from_millis(300),
                functions,
            }),
            _ => QueueNode::Worker(Worker {
                server,
                work: Duration::from_millis(100),
            }),
        });
    Sim::new(plan.sim_config(trace), factory)
}
