//! Exercise `durable-counter`: an acknowledged increment must survive a crash of the server.
//!
//! A client increments a counter on a server and now and then reads it. The server keeps the
//! count in its durable storage, but a crash keeps only what was synced. The piece between the
//! `ANCHOR: student` lines is broken. Grade it with `clustersim-exercises check-exercise durable-counter`;
//! the goal is `CounterNeverGoesBack`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;

/// Messages between client and server; `req` pairs a reply with its request.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Add one to the counter.
    Incr {
        /// Request number.
        req: u64,
    },
    /// What is the counter?
    Read {
        /// Request number.
        req: u64,
    },
    /// The counter's value after the request.
    Value {
        /// Request number.
        req: u64,
        /// The counter.
        value: u64,
    },
}

/// The client's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Time for the next operation.
    Next,
    /// Request `req` waited too long.
    Timeout {
        /// Request number.
        req: u64,
    },
}

/// The counter server's state, rebuilt from storage after a crash.
#[derive(Debug)]
pub struct Server {
    /// The counter.
    pub count: u64,
}

/// The client: increments, reading every fourth operation.
#[derive(Debug)]
pub struct Client {
    server: NodeId,
    interval: Duration,
    timeout: Duration,
    next_req: u64,
    limit: u64,
    pending: Option<(u64, OpId, bool)>,
}

/// A node of this exercise.
#[derive(Debug)]
pub enum CounterNode {
    /// The client.
    Client(Client),
    /// The counter server.
    Server(Server, &'static Functions),
}

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, CounterNode>;

// ANCHOR: student
/// Adds one to the counter and returns the new value, which the caller sends back to the client
/// as its acknowledgement. The server crashes and restarts during the run; after the restart it
/// starts from `ctx.storage().get("count")`, and storage keeps only what was synced.
pub fn increment(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
    server.count += 1;
    ctx.storage().put("count", server.count);
    server.count
}
// ANCHOR_END: student

/// The student's piece of this exercise as a table a run calls (another `Code` swaps it).
#[derive(Debug)]
pub struct Functions {
    /// See [`increment`].
    pub increment: fn(&mut Server, &mut Ctx<'_>) -> u64,
}

/// The functions in this file.
pub const STUDENT: Functions = Functions { increment };

/// An increment: invoked (and timed out) as `incr(?)`, answered with the new count.
fn incr_op<T: serde::Serialize + ?Sized>(value: &T) -> Op {
    Op::custom("incr", value)
}

impl Client {
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        ctx.set_timer(self.interval, Timer::Next);
        if self.pending.is_some() || self.next_req >= self.limit {
            return;
        }
        let req = self.next_req;
        self.next_req += 1;
        let read = req % 4 == 3;
        let op = if read {
            ctx.invoke(Op::Get {
                key: 0,
                value: None,
            })
        } else {
            ctx.invoke(incr_op("?"))
        };
        self.pending = Some((req, op, read));
        let msg = if read {
            Msg::Read { req }
        } else {
            Msg::Incr { req }
        };
        ctx.send(self.server, msg);
        ctx.set_timer(self.timeout, Timer::Timeout { req });
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, req: u64, value: Option<u64>) {
        let Some((r, op, read)) = self.pending else {
            return;
        };
        if r != req {
            return;
        }
        self.pending = None;
        match (value, read) {
            (Some(v), true) => ctx.ok(
                op,
                Op::Get {
                    key: 0,
                    value: Some(v),
                },
            ),
            (Some(v), false) => ctx.ok(op, incr_op(&v)),
            (None, true) => ctx.info(
                op,
                Op::Get {
                    key: 0,
                    value: None,
                },
            ),
            (None, false) => ctx.info(op, incr_op("?")),
        }
    }
}

impl Node for CounterNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let CounterNode::Client(c) = self {
            ctx.set_timer(c.interval, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (CounterNode::Server(s, code), Msg::Incr { req }) => {
                let value = (code.increment)(s, ctx);
                ctx.send(from, Msg::Value { req, value });
            }
            (CounterNode::Server(s, _), Msg::Read { req }) => {
                ctx.send(
                    from,
                    Msg::Value {
                        req,
                        value: s.count,
                    },
                );
            }
            (CounterNode::Client(c), Msg::Value { req, value }) => c.finish(ctx, req, Some(value)),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let CounterNode::Client(c) = self else { return };
        match timer {
            Timer::Next => c.next(ctx),
            Timer::Timeout { req } => c.finish(ctx, req, None),
        }
    }
}

/// Checks the scenario has a client and a server.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "durable-counter", "client")?;
    require_role(plan, "durable-counter", "server")
}

/// The exercise's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<CounterNode> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let (limit, interval, timeout) = (u64::from(w.ops.max(1)), w.interval, w.timeout);
    let server = plan.roster.members("server")[0];
    let factory: NodeFactory<CounterNode> = Box::new(move |id, roster, storage| {
        if roster.role(id) == "client" {
            CounterNode::Client(Client {
                server,
                interval,
                timeout,
                next_req: 0,
                limit,
                pending: None,
            })
        } else {
            let count = storage.get("count").copied().unwrap_or(0);
            CounterNode::Server(Server { count }, functions)
        }
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
