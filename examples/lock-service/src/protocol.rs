//! The lease lock: a `lock` server, a `resource` the holder writes to, and `client`s that take
//! turns. Sans-IO like every clustersim protocol: handlers react through a `Context`.

use clustersim::history::{Op, OpId};
use clustersim::node::{NodeFactory, Snapshot, TimerId};
use clustersim::protocols::require_role;
use clustersim::rand::Rng;
use clustersim::scenario::Plan;
use clustersim::{Context, Duration, Node, NodeId, Protocol, SimTime};
use serde::{Deserialize, Serialize};

// ANCHOR: params
/// `protocol: LockService(lease: "200ms", work: "50ms", fencing: false)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockParams {
    /// How long a grant lasts on the lock server's clock.
    pub lease: Duration,
    /// How long a holder works between checking its lease and writing.
    pub work: Duration,
    /// The resource refuses writes whose token is older than one it has applied.
    pub fencing: bool,
}
// ANCHOR_END: params

impl Default for LockParams {
    fn default() -> Self {
        LockParams {
            lease: Duration::from_millis(200),
            work: Duration::from_millis(50),
            fencing: false,
        }
    }
}

/// Messages between clients, the lock server and the resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Msg {
    /// Client -> lock: may I have the lock?
    Acquire,
    /// Lock -> client: yes, until the lease runs out; `token` grows with every grant.
    Grant {
        /// The fencing token of this grant.
        token: u64,
    },
    /// Lock -> client: someone else holds it.
    Busy,
    /// Client -> lock: done with the grant `token`.
    Release {
        /// The grant being released.
        token: u64,
    },
    /// Client -> resource: write, as the holder of grant `token`.
    Write {
        /// The writer's grant.
        token: u64,
    },
    /// Resource -> client: written.
    Written,
    /// Resource -> client: refused, a newer grant has written already (fencing).
    Refused,
}

/// Timers.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Timer {
    /// Time for a client's next turn.
    Next,
    /// A holder's work is done: write now.
    Write {
        /// The grant the work was done under.
        token: u64,
    },
    /// The request `seq` got no answer.
    Timeout {
        /// The request it is about.
        seq: u64,
    },
}

/// A resource write, as the history records it (`applied` events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The writing client's name.
    pub client: String,
    /// The token it wrote under.
    pub token: u64,
}

/// History names: client calls `acquire` and `write`, resource events `applied`.
pub const ACQUIRE: &str = "acquire";
/// A client's write call.
pub const WRITE: &str = "write";
/// A write the resource applied.
pub const APPLIED: &str = "applied";

/// Every role of the protocol.
#[derive(Clone, Debug, Hash)]
pub enum LockNode {
    /// The lock server.
    Lock(LockServer),
    /// The resource the lock protects.
    Resource(Resource),
    /// A client taking turns.
    Client(Client),
}

// ANCHOR: server
/// Grants one lease at a time, first come first served. Its last token is durable, so a
/// restart never reuses one; after a restart it grants nothing for one lease, since a grant it
/// forgot may still be in force.
#[derive(Clone, Debug, Hash)]
pub struct LockServer {
    lease: Duration,
    last_token: u64,
    holder: Option<(NodeId, u64, SimTime)>,
    quiet_until: SimTime,
    /// Clients told `Busy`, in order, with when each last asked.
    waiters: Vec<(NodeId, SimTime)>,
}

impl LockServer {
    fn on_acquire(&mut self, ctx: &mut Context<'_, LockNode>, from: NodeId) {
        let now = ctx.now();
        let lease = self.lease;
        // A waiter that stopped asking for a whole lease has gone away.
        self.waiters.retain(|&(_, asked)| asked + lease >= now);
        let free = match self.holder {
            None => true,
            Some((_, _, until)) => now >= until,
        };
        let first = self.waiters.first().is_none_or(|&(c, _)| c == from);
        if !free || !first || now < self.quiet_until {
            match self.waiters.iter_mut().find(|(c, _)| *c == from) {
                Some(w) => w.1 = now,
                None => self.waiters.push((from, now)),
            }
            ctx.send(from, Msg::Busy);
            return;
        }
        self.waiters.retain(|&(c, _)| c != from);
        self.last_token += 1;
        ctx.storage().put("last_token", self.last_token);
        ctx.storage().sync();
        self.holder = Some((from, self.last_token, now + self.lease));
        ctx.send(
            from,
            Msg::Grant {
                token: self.last_token,
            },
        );
    }

    fn on_release(&mut self, from: NodeId, token: u64) {
        if self.holder.is_some_and(|(h, t, _)| h == from && t == token) {
            self.holder = None;
        }
    }
}
// ANCHOR_END: server

// ANCHOR: resource
/// Applies writes. With fencing it refuses a token older than the newest it applied.
#[derive(Clone, Debug, Hash)]
pub struct Resource {
    fencing: bool,
    newest: u64,
    applied: Vec<u64>,
}

impl Resource {
    fn on_write(&mut self, ctx: &mut Context<'_, LockNode>, from: NodeId, token: u64) {
        if self.applied.contains(&token) {
            // A copy of a write already applied: answer again, apply nothing.
            ctx.send(from, Msg::Written);
            return;
        }
        if self.fencing && token < self.newest {
            ctx.send(from, Msg::Refused);
            return;
        }
        self.newest = self.newest.max(token);
        self.applied.push(token);
        ctx.storage().put("newest", self.newest);
        ctx.storage().sync();
        ctx.event(Op::custom(
            APPLIED,
            &Applied {
                client: ctx.roster().name(from).to_string(),
                token,
            },
        ));
        ctx.send(from, Msg::Written);
    }
}
// ANCHOR_END: resource

/// What a client is waiting for.
#[derive(Clone, Debug, Hash)]
enum Waiting {
    Nothing,
    Grant { seq: u64, op: OpId },
    Work { token: u64 },
    Written { seq: u64, op: OpId, token: u64 },
}

/// Takes turns: acquire, work, write, release, wait a little, again.
#[derive(Clone, Debug, Hash)]
pub struct Client {
    lock: NodeId,
    resource: NodeId,
    work: Duration,
    interval: Duration,
    timeout: Duration,
    stop: Option<SimTime>,
    seq: u64,
    waiting: Waiting,
    timeout_timer: Option<TimerId>,
}

// ANCHOR: client
impl Client {
    fn next_turn(&mut self, ctx: &mut Context<'_, LockNode>) {
        self.waiting = Waiting::Nothing;
        let jitter = ctx.rng().random_range(0.5..1.5);
        ctx.set_timer(
            Duration((self.interval.0 as f64 * jitter) as u64),
            Timer::Next,
        );
    }

    fn acquire(&mut self, ctx: &mut Context<'_, LockNode>) {
        if self.stop.is_some_and(|stop| ctx.now() >= stop) {
            return;
        }
        self.seq += 1;
        let op = ctx.invoke(Op::custom(ACQUIRE, &()));
        self.waiting = Waiting::Grant { seq: self.seq, op };
        ctx.send(self.lock, Msg::Acquire);
        self.expect_answer(ctx);
    }

    fn on_grant(&mut self, ctx: &mut Context<'_, LockNode>, token: u64) {
        let Waiting::Grant { op, .. } = self.waiting else {
            // A grant we stopped waiting for: give it back.
            ctx.send(self.lock, Msg::Release { token });
            return;
        };
        ctx.ok(op, Op::custom(ACQUIRE, &token));
        // The lease was just granted, so it is valid: work, then write. A pause in between
        // (stop-the-world GC, a stalled VM) lets the lease run out before the write is sent.
        self.waiting = Waiting::Work { token };
        ctx.set_timer(self.work, Timer::Write { token });
    }

    fn write(&mut self, ctx: &mut Context<'_, LockNode>, token: u64) {
        self.seq += 1;
        let op = ctx.invoke(Op::custom(WRITE, &token));
        self.waiting = Waiting::Written {
            seq: self.seq,
            op,
            token,
        };
        ctx.send(self.resource, Msg::Write { token });
        self.expect_answer(ctx);
    }
    // ANCHOR_END: client

    fn expect_answer(&mut self, ctx: &mut Context<'_, LockNode>) {
        if let Some(t) = self.timeout_timer.take() {
            ctx.cancel_timer(t);
        }
        let seq = self.seq;
        self.timeout_timer = Some(ctx.set_timer(self.timeout, Timer::Timeout { seq }));
    }

    fn on_answer(&mut self, ctx: &mut Context<'_, LockNode>, msg: Msg) {
        match (&self.waiting, msg) {
            (Waiting::Grant { .. }, Msg::Grant { token }) => self.on_grant(ctx, token),
            (_, Msg::Grant { token }) => ctx.send(self.lock, Msg::Release { token }),
            (Waiting::Grant { op, .. }, Msg::Busy) => {
                ctx.fail(*op, Op::custom(ACQUIRE, &()));
                self.next_turn(ctx);
            }
            (Waiting::Written { op, token, .. }, Msg::Written) => {
                let (op, token) = (*op, *token);
                ctx.ok(op, Op::custom(WRITE, &token));
                ctx.send(self.lock, Msg::Release { token });
                self.next_turn(ctx);
            }
            (Waiting::Written { op, token, .. }, Msg::Refused) => {
                let (op, token) = (*op, *token);
                ctx.fail(op, Op::custom(WRITE, &token));
                self.next_turn(ctx);
            }
            _ => {}
        }
    }

    fn on_timeout(&mut self, ctx: &mut Context<'_, LockNode>, seq: u64) {
        match self.waiting {
            Waiting::Grant { seq: s, op } if s == seq => {
                ctx.info(op, Op::custom(ACQUIRE, &()));
                self.next_turn(ctx);
            }
            Waiting::Written { seq: s, op, token } if s == seq => {
                ctx.info(op, Op::custom(WRITE, &token));
                self.next_turn(ctx);
            }
            _ => {}
        }
    }
}

impl Node for LockNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            // A restarted server may have granted a lease it no longer remembers.
            LockNode::Lock(server) if server.last_token > 0 => {
                server.quiet_until = ctx.now() + server.lease;
            }
            LockNode::Client(client) => client.next_turn(ctx),
            LockNode::Lock(_) | LockNode::Resource(_) => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (LockNode::Lock(s), Msg::Acquire) => s.on_acquire(ctx, from),
            (LockNode::Lock(s), Msg::Release { token }) => s.on_release(from, token),
            (LockNode::Resource(r), Msg::Write { token }) => r.on_write(ctx, from, token),
            (LockNode::Client(c), msg) => c.on_answer(ctx, msg),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        let LockNode::Client(c) = self else { return };
        match timer {
            Timer::Next => c.acquire(ctx),
            Timer::Write { token } => {
                if matches!(c.waiting, Waiting::Work { token: t } if t == token) {
                    c.write(ctx, token);
                }
            }
            Timer::Timeout { seq } => c.on_timeout(ctx, seq),
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            LockNode::Resource(r) => Some([("newest".to_string(), r.newest.to_string())].into()),
            _ => None,
        }
    }
}

// ANCHOR: protocol
impl Protocol for LockParams {
    type Node = LockNode;
    const NAME: &'static str = "LockService";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        for role in ["lock", "resource", "client"] {
            require_role(plan, Self::NAME, role)?;
        }
        for role in ["lock", "resource"] {
            if plan.roster.members(role).len() != 1 {
                return Err(format!("LockService needs exactly one `{role}` node"));
            }
        }
        if self.lease == Duration::ZERO {
            return Err("LockService lease must be greater than zero".into());
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &["MutualExclusion", "AcquiresServed"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<LockNode> {
        let params = self.clone();
        let lock = plan.roster.members("lock")[0];
        let resource = plan.roster.members("resource")[0];
        let w = plan.workload().clone();
        Box::new(move |id, roster, storage| match roster.role(id) {
            "lock" => LockNode::Lock(LockServer {
                lease: params.lease,
                last_token: storage.get("last_token").copied().unwrap_or(0),
                holder: None,
                quiet_until: SimTime::ZERO,
                waiters: Vec::new(),
            }),
            "resource" => LockNode::Resource(Resource {
                fencing: params.fencing,
                newest: storage.get("newest").copied().unwrap_or(0),
                applied: Vec::new(),
            }),
            _ => LockNode::Client(Client {
                lock,
                resource,
                work: params.work,
                interval: w.interval,
                timeout: w.timeout,
                stop: w.stop.map(|d| SimTime::ZERO + d),
                seq: 0,
                waiting: Waiting::Nothing,
                timeout_timer: None,
            }),
        })
    }
}
// ANCHOR_END: protocol
