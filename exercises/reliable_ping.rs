//! Exercise `reliable-ping`: make a client's requests survive a lossy network by retrying.
//!
//! A client sends numbered requests to a server, one at a time, over links that lose 30% of
//! messages. It sends each request once; when the request or its reply is lost, it waits forever.
//! Your job is `on_timeout` (between the `ANCHOR: student` lines). Grade it with
//! `clustersim-exercises check-exercise reliable-ping`; the goal is `EveryRequestAnswered`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;

/// Messages between client and server.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Please answer request `seq`.
    Request {
        /// The request's number.
        seq: u64,
    },
    /// The answer to request `seq`.
    Reply {
        /// The request's number.
        seq: u64,
    },
}

/// The client's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Time to send the next request.
    Next,
    /// Request `seq` has waited `timeout` for its reply.
    Timeout {
        /// The request's number.
        seq: u64,
    },
}

/// The request the client is waiting on.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Its number.
    pub seq: u64,
    /// Its entry in the history, completed when the reply arrives.
    pub op: OpId,
}

/// The client: sends requests `0..limit`, one at a time.
#[derive(Debug)]
pub struct Client {
    /// Where requests go.
    pub server: NodeId,
    /// How long to wait for a reply before `on_timeout` is called.
    pub timeout: Duration,
    /// The request in flight, if any.
    pub pending: Option<Pending>,
    interval: Duration,
    next_seq: u64,
    limit: u64,
    code: &'static Functions,
}

/// A node of this exercise: the client or the server.
#[derive(Debug)]
pub enum PingNode {
    /// The client.
    Client(Client),
    /// The server: answers every request it receives.
    Server,
}

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, PingNode>;

// ANCHOR: student
/// Called when request `seq` has waited `client.timeout` without a reply.
///
/// If `seq` is still the pending request, send it again (`ctx.send(client.server, ...)`) and
/// wait again (`ctx.set_timer(client.timeout, Timer::Timeout { seq })`). If the reply already
/// came, do nothing: this timer is stale.
#[allow(unused_variables)]
pub fn on_timeout(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
    todo!("resend request {seq} if it is still pending, and wait for it again")
}
// ANCHOR_END: student

/// The student's pieces of this exercise as a table a run calls (another `Code` swaps them).
#[derive(Debug)]
pub struct Functions {
    /// See [`on_timeout`].
    pub on_timeout: fn(&mut Client, &mut Ctx<'_>, u64),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions { on_timeout };

impl Client {
    fn send_next(&mut self, ctx: &mut Ctx<'_>) {
        if self.pending.is_some() || self.next_seq >= self.limit {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let op = ctx.invoke(Op::Ping {
            peer: self.server,
            seq,
        });
        self.pending = Some(Pending { seq, op });
        ctx.send(self.server, Msg::Request { seq });
        ctx.set_timer(self.timeout, Timer::Timeout { seq });
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_>, seq: u64) {
        // A late or duplicated reply for an earlier request is ignored.
        if self.pending.as_ref().is_some_and(|p| p.seq == seq) {
            if let Some(p) = self.pending.take() {
                ctx.ok(
                    p.op,
                    Op::Ping {
                        peer: self.server,
                        seq,
                    },
                );
            }
            ctx.set_timer(self.interval, Timer::Next);
        }
    }
}

impl Node for PingNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let PingNode::Client(c) = self {
            ctx.set_timer(c.interval, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (PingNode::Server, Msg::Request { seq }) => ctx.send(from, Msg::Reply { seq }),
            (PingNode::Client(c), Msg::Reply { seq }) => c.on_reply(ctx, seq),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let PingNode::Client(c) = self else { return };
        match timer {
            Timer::Next => c.send_next(ctx),
            Timer::Timeout { seq } => (c.code.on_timeout)(c, ctx, seq),
        }
    }
}

/// Checks the scenario has one client and one server.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "reliable-ping", "client")?;
    require_role(plan, "reliable-ping", "server")
}

/// The exercise's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<PingNode> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let (limit, interval, timeout) = (u64::from(w.ops.max(1)), w.interval, w.timeout);
    let server = plan.roster.members("server")[0];
    let factory: NodeFactory<PingNode> = Box::new(move |id, roster, _storage| {
        if roster.role(id) == "client" {
            PingNode::Client(Client {
                server,
                timeout,
                pending: None,
                interval,
                next_seq: 0,
                limit,
                code: functions,
            })
        } else {
            PingNode::Server
        }
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
