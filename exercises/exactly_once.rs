//! Lab `exactly-once`: an RPC that takes effect exactly once over a network that loses and
//! repeats messages, and across a crash of the server.
//!
//! Clients ask a server to append a value to a list (every value is unique). The server applies
//! an append with `Server::apply`, which records it in the history and makes the list durable,
//! and answers with the value's position. The network drops requests and replies, and (from
//! level 2) delivers some twice. Your pieces, between the `ANCHOR: student` lines:
//!
//! 1. **Retry** (`exactly-once-1-retry.ron`, 20% loss): `on_timeout` sends the pending request
//!    again; every call must be answered.
//! 2. **Deduplicate** (`exactly-once-2-dedup.ron`, 20% loss, 20% duplicates): `on_request`
//!    applies each request once however often it arrives, and answers a repeat with the first
//!    answer; every value applied exactly once.
//! 3. **Survive a crash** (`exactly-once-3-crash.ron`): the server crashes and restarts twice;
//!    what it remembers about answered requests must survive too (write it to `ctx.storage()`
//!    and sync before you answer).
//!
//! Budget: about an hour. Grade with `clustersim-exercises check-exercise exactly-once`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::BTreeMap;

/// The event `Server::apply` records for each append it applies (its value the appended value).
pub const APPLIED: &str = "applied";
/// The name of the clients' operation in the history (its value the appended value).
pub const APPEND: &str = "append";

/// Messages between clients and the server.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Append `value` to the list; `req` numbers the client's requests.
    Append {
        /// The client's request number.
        req: u64,
        /// The value (no other request carries it).
        value: u64,
    },
    /// Request `req` is done: its value is at `position` in the list.
    Appended {
        /// The request answered.
        req: u64,
        /// Where the value is in the list (from 0).
        position: u64,
    },
}

/// The clients' timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Time for the next request.
    Next,
    /// Request `req` waited `timeout` for its answer.
    Timeout {
        /// The request.
        req: u64,
    },
}

/// The request a client waits on.
#[derive(Clone, Debug, Hash)]
pub struct Pending {
    /// Its number.
    pub req: u64,
    /// Its value.
    pub value: u64,
    op: OpId,
}

/// A client: one request at a time.
#[derive(Debug, Hash)]
pub struct Client {
    /// Where requests go.
    pub server: NodeId,
    /// How long to wait for an answer before `on_timeout`.
    pub timeout: Duration,
    /// The request in flight, if any.
    pub pending: Option<Pending>,
    interval: Duration,
    next_req: u64,
    limit: u64,
    code: &'static Functions,
}

/// The server.
#[derive(Debug, Hash)]
pub struct Server {
    /// The list, as `apply` left it (restored from storage after a restart).
    pub list: Vec<u64>,
    /// Answers given, by (client, request): yours to fill in and to restore in `recover`. After
    /// a restart it holds what storage had under keys `answered/...` (see `recover`).
    pub answered: BTreeMap<(NodeId, u64), u64>,
    code: &'static Functions,
}

/// What a node keeps in storage: the list's values (`list/N`) and, if you store them, answers
/// (`answered/CLIENT/REQ`, the position).
pub type Stored = u64;

/// A node of this lab.
#[derive(Debug, Hash)]
pub enum OnceNode {
    /// A client.
    Client(Client),
    /// The server.
    Server(Server),
}

/// Shorthand for the context handlers of this lab receive.
pub type Ctx<'a> = Context<'a, OnceNode>;

impl Server {
    /// Appends `value`, records it in the history, syncs the list, and returns its position.
    pub fn apply(&mut self, ctx: &mut Ctx<'_>, value: u64) -> u64 {
        let position = self.list.len() as u64;
        self.list.push(value);
        ctx.storage().put(format!("list/{position:09}"), value);
        ctx.storage().sync();
        ctx.event(Op::custom(APPLIED, &value));
        position
    }

    /// The storage key for the answer to `req` of `client` (use it if you store answers).
    pub fn answer_key(client: NodeId, req: u64) -> String {
        format!("answered/{}/{req}", client.0)
    }

    fn recover(storage: &clustersim::storage::Storage<Stored>, code: &'static Functions) -> Self {
        let list = storage.scan("list/").map(|(_, v)| *v).collect();
        let answered = storage
            .scan("answered/")
            .filter_map(|(k, v)| {
                let mut parts = k.strip_prefix("answered/")?.split('/');
                let client = parts.next()?.parse().ok()?;
                let req = parts.next()?.parse().ok()?;
                Some(((NodeId(client), req), *v))
            })
            .collect();
        Server {
            list,
            answered,
            code,
        }
    }
}

// ANCHOR: student
/// Request `req` waited `client.timeout` without an answer. This version gives up on it (the
/// call is never answered): send it again while it is still the pending one, and wait again.
#[allow(unused_variables)]
pub fn on_timeout(client: &mut Client, ctx: &mut Ctx<'_>, req: u64) {}

/// `from` asks to append `value` as its request `req`. This version applies every copy that
/// arrives, so a repeated request is appended twice.
pub fn on_request(server: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
    let position = server.apply(ctx, value);
    ctx.send(from, Msg::Appended { req, position });
}
// ANCHOR_END: student

/// The student's pieces of this lab as a table a run calls (another `Code` swaps them).
#[derive(Debug, Hash)]
pub struct Functions {
    /// See [`on_timeout`].
    pub on_timeout: fn(&mut Client, &mut Ctx<'_>, u64),
    /// See [`on_request`].
    pub on_request: fn(&mut Server, &mut Ctx<'_>, NodeId, u64, u64),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    on_timeout,
    on_request,
};

impl Client {
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        if self.pending.is_some() || self.next_req >= self.limit {
            return;
        }
        let req = self.next_req;
        self.next_req += 1;
        // Unique across clients: the client's id in the high bits.
        let value = (u64::from(ctx.id().0) << 32) | req;
        let op = ctx.invoke(Op::custom(APPEND, &value));
        self.pending = Some(Pending { req, value, op });
        ctx.send(self.server, Msg::Append { req, value });
        ctx.set_timer(self.timeout, Timer::Timeout { req });
    }

    fn on_answer(&mut self, ctx: &mut Ctx<'_>, req: u64) {
        if let Some(p) = self.pending.take_if(|p| p.req == req) {
            ctx.ok(p.op, Op::custom(APPEND, &p.value));
            ctx.set_timer(self.interval, Timer::Next);
        }
    }
}

impl Node for OnceNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = Stored;

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let OnceNode::Client(c) = self {
            ctx.set_timer(c.interval, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (OnceNode::Server(s), Msg::Append { req, value }) => {
                (s.code.on_request)(s, ctx, from, req, value)
            }
            (OnceNode::Client(c), Msg::Appended { req, .. }) => c.on_answer(ctx, req),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let OnceNode::Client(c) = self else { return };
        match timer {
            Timer::Next => c.next(ctx),
            Timer::Timeout { req } => (c.code.on_timeout)(c, ctx, req),
        }
    }
}

/// Checks the scenario has clients and one server.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "exactly-once", "client")?;
    require_role(plan, "exactly-once", "server")?;
    if plan.roster.members("server").len() != 1 {
        return Err("lab `exactly-once` has exactly one server".into());
    }
    Ok(())
}

/// The lab's run with `code`'s functions, not yet started.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<OnceNode> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let clients = plan.roster.members("client").len().max(1) as u64;
    let limit = u64::from(w.ops.max(1)).div_ceil(clients);
    let (interval, timeout) = (w.interval, w.timeout);
    let server = plan.roster.members("server")[0];
    let factory: NodeFactory<OnceNode> = Box::new(move |id, roster, storage| {
        if roster.role(id) == "client" {
            OnceNode::Client(Client {
                server,
                timeout,
                pending: None,
                interval,
                next_req: 0,
                limit,
                code: functions,
            })
        } else {
            OnceNode::Server(Server::recover(storage, functions))
        }
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the lab with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
