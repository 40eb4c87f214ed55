//! A protocol-agnostic key-value client that any protocol's node embeds.
//!
//! The client turns the scenario's workload into `put`, `get` and `cas` calls with a unique value
//! per write (so every read traces back to one write), records each call in the history
//! (invoke, then ok / fail / info), and sends it as a [`KvRequest`] to a server it picks by its
//! [`Target`] policy. Servers answer with a [`KvReply`]: done, cas mismatch, or "not the leader"
//! (with a hint) which the client follows. A request with no answer within the timeout is
//! recorded as `info` (it may or may not have taken effect) and never retried, since a blind
//! retry of a write could apply it twice; only definite rejections are retried elsewhere.
//! (`ClientConfig::timeout_retries` resends it anyway, for servers that deduplicate; with
//! `ClientConfig::sessions` every attempt carries the operation's sequence number.)
//!
//! Optionally, at `final_reads` every client reads every key once (retrying reads that time out),
//! which gives the `Durable` check the reads it judges.
//!
//! # Wiring it into a protocol
//!
//! The protocol's node enum gets a client variant, its message enum carries requests and
//! replies, and its timer enum carries the client's timers:
//!
//! ```
//! use clustersim::node::{Context, Node, NodeId};
//! use clustersim::protocols::kv::client::{
//!     ClientTimer, KvClient, KvOp, KvReply, KvRequest, KvResult,
//! };
//! use std::collections::BTreeMap;
//!
//! #[derive(Clone, Debug, Hash)]
//! enum Msg { Req(KvRequest), Rep(KvReply) }
//! impl From<KvRequest> for Msg { fn from(r: KvRequest) -> Self { Msg::Req(r) } }
//!
//! #[derive(Clone, Debug, Hash)]
//! enum Timer { Client(ClientTimer) }
//! impl From<ClientTimer> for Timer { fn from(t: ClientTimer) -> Self { Timer::Client(t) } }
//!
//! // Boxed: a client is a few hundred bytes, servers are usually smaller.
//! enum Solo { Server(BTreeMap<u64, u64>), Client(Box<KvClient>) }
//!
//! impl Node for Solo {
//!     type Msg = Msg;
//!     type Timer = Timer;
//!     type Stored = u64;
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if let Solo::Client(c) = self { c.on_start(ctx) }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
//!         match (self, msg) {
//!             (Solo::Client(c), Msg::Rep(reply)) => c.on_reply(ctx, from, reply),
//!             (Solo::Server(map), Msg::Req(req)) => {
//!                 let result = match req.op {
//!                     KvOp::Get { key } => KvResult::Done(map.get(&key).copied()),
//!                     KvOp::Put { key, value } => { map.insert(key, value); KvResult::Done(None) }
//!                     KvOp::Cas { key, from: f, to } if map.get(&key).copied() == f => {
//!                         map.insert(key, to);
//!                         KvResult::Done(None)
//!                     }
//!                     KvOp::Cas { .. } => KvResult::CasMismatch,
//!                 };
//!                 ctx.send(from, Msg::Rep(KvReply { id: req.id, result }));
//!             }
//!             _ => {}
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
//!         if let (Solo::Client(c), Timer::Client(t)) = (self, timer) { c.on_timer(ctx, t) }
//!     }
//! }
//! ```
//!
//! The factory builds clients with
//! `Box::new(KvClient::new(ClientConfig::from_plan(plan, clients, final_reads), servers, policy))`.

use crate::history::{Op, OpId};
use crate::node::{Context, Node, NodeId};
use crate::scenario::Plan;
use crate::time::{Duration, SimTime};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An operation a client asks a server to perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Write `value` to `key`.
    Put {
        /// The key.
        key: u64,
        /// The (unique) value.
        value: u64,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: u64,
    },
    /// Write `to` if `key` holds `from` (`None`: absent).
    Cas {
        /// The key.
        key: u64,
        /// The expected value.
        from: Option<u64>,
        /// The new value.
        to: u64,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> u64 {
        match *self {
            KvOp::Put { key, .. } | KvOp::Get { key } | KvOp::Cas { key, .. } => key,
        }
    }

    /// True for operations that change the store.
    pub fn is_write(&self) -> bool {
        !matches!(self, KvOp::Get { .. })
    }

    /// The operation in words, keys as the history spells them (`put k3 = 17`).
    pub fn describe(&self) -> String {
        match *self {
            KvOp::Put { key, value } => format!("put k{key} = {value}"),
            KvOp::Get { key } => format!("get k{key}"),
            KvOp::Cas { key, from, to } => format!(
                "cas k{key} from {} to {to}",
                from.map_or("nil".to_string(), |v| v.to_string())
            ),
        }
    }
}

/// A client's request; `id` is unique per client and echoed in the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KvRequest {
    /// Request id, echoed in the reply.
    pub id: u64,
    /// What to do.
    pub op: KvOp,
}

/// Bits of a session request id that count the attempts at one operation (see
/// [`ClientConfig::sessions`]).
pub const ATTEMPT_BITS: u32 = 8;

const ATTEMPT_MASK: u64 = (1 << ATTEMPT_BITS) - 1;

/// The operation's sequence number in request id `id` of a client with sessions: the same for
/// every attempt at one operation, larger for each later operation of the client.
pub fn sequence_number(id: u64) -> u64 {
    id >> ATTEMPT_BITS
}

/// How a server answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvResult {
    /// The operation took effect; a read carries the value read.
    Done(Option<u64>),
    /// A cas found a different value and did nothing.
    CasMismatch,
    /// This server does not serve requests; try `leader` if known. Nothing was applied.
    NotLeader {
        /// Where to go instead.
        leader: Option<NodeId>,
    },
    /// The server could not complete the request (not enough replicas); nothing was applied.
    Unavailable,
}

/// A server's answer to request `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KvReply {
    /// The request answered.
    pub id: u64,
    /// The outcome.
    pub result: KvResult,
}

/// Timers the client sets; the protocol's timer type wraps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// Time to issue the next operation.
    Tick,
    /// Request `id` has waited long enough.
    Timeout(u64),
    /// Time to read every key once, for durability checks.
    FinalReads,
}

/// How the client picks the server for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Stick to one server (the believed leader), follow redirects, move on after a timeout.
    Leader,
    /// A random server for each request (any replica coordinates).
    Any,
    /// The server the protocol's routing table names for the key's shard
    /// ([`KvClient::reroute`]); a refusal without a hint parks the request until the table
    /// changes (a sharded store's wrong group).
    Routed,
}

/// What the client does, read from the scenario's workload section.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// Operations this client issues; 0 means no limit.
    pub limit: u64,
    /// Mean time between operations (jittered by +-50%).
    pub interval: Duration,
    /// When the client starts.
    pub start: Duration,
    /// When it stops issuing workload operations.
    pub stop: Option<Duration>,
    /// How long to wait for a reply before recording `info`.
    pub timeout: Duration,
    /// Keys are 0..keys.
    pub keys: u64,
    /// Fraction of reads.
    pub reads: f64,
    /// Fraction of compare-and-sets.
    pub cas: f64,
    /// Definite rejections (not leader, unavailable) retried before recording `fail`.
    pub retries: u32,
    /// Times a request that timed out is sent again (to the next server, under a new request
    /// id) before it is recorded `info`; 0 (the default) never resends one. A server that
    /// applies such a write twice breaks linearizability, so it must deduplicate.
    pub timeout_retries: u32,
    /// When to read every key once; `None`: no final reads.
    pub final_reads: Option<Duration>,
    /// Client sessions (6.5840's client id and sequence number): every attempt at one operation,
    /// a retry after a timeout or a redirect included, carries the operation's sequence number
    /// in its request id (`id >> ATTEMPT_BITS`, see [`sequence_number`]) and its attempt in the
    /// low bits, so a server can tell a retry from a new operation; an answer to any attempt
    /// completes the operation. False (the default): every attempt has an unrelated fresh id.
    pub sessions: bool,
    /// Each client writes values from a cycle of this many of its own, so a value comes back
    /// (a server that deduplicates by value drops a write it must apply); 0 (the default): every
    /// write has a value no other write has.
    pub reused_values: u64,
    /// With `sessions`: a request every server refused (`retries` redirects spent, no leader
    /// yet) waits out its timeout and goes round the servers again while `timeout_retries`
    /// remain, instead of ending. False (the default): it ends `fail` (`info` after a timeout).
    pub wait_out_refusals: bool,
    /// Open loop: this client's requests per second, issued at exponentially distributed
    /// intervals whether or not earlier ones were answered (`interval` is then unused);
    /// 0 (the default): one request at a time, one per `interval` at most.
    pub rate: f64,
}

impl ClientConfig {
    /// The workload's settings, with the total `ops` shared among `clients` clients.
    pub fn from_plan(plan: &Plan, clients: usize, final_reads: Option<Duration>) -> Self {
        let w = plan.workload();
        let total = u64::from(w.ops);
        ClientConfig {
            limit: if total == 0 {
                0
            } else {
                total.div_ceil(clients.max(1) as u64)
            },
            interval: w.interval,
            start: w.start,
            stop: w.stop,
            timeout: w.timeout,
            keys: u64::from(w.keys.max(1)),
            reads: w.reads,
            cas: w.cas,
            retries: 3,
            timeout_retries: 0,
            final_reads,
            sessions: false,
            reused_values: 0,
            wait_out_refusals: false,
            rate: w.rate / clients.max(1) as f64,
        }
    }
}

#[derive(Clone, Debug, Hash)]
struct Pending {
    request: KvRequest,
    op_id: OpId,
    attempts: u32,
    timeouts: u32,
    final_read: bool,
    /// Refused by the wrong server (`Target::Routed`): resent when the routing table changes.
    parked: bool,
}

/// A workload client: issues one operation at a time (or, open loop, at its rate whatever is
/// still unanswered) and records each in the history.
#[derive(Clone, Debug)]
pub struct KvClient {
    config: ClientConfig,
    servers: Vec<NodeId>,
    policy: Target,
    target: usize,
    /// Requests waiting for a reply, by request id (at most one unless open loop).
    pending: BTreeMap<u64, Pending>,
    issued: u64,
    next_request: u64,
    next_value: u64,
    value_prefix: u64,
    last_seen: BTreeMap<u64, Option<u64>>,
    finals: Vec<u64>,
    /// `Target::Routed`: the server of each shard (a key's shard is the key modulo its length).
    route: Vec<NodeId>,
}

/// What a client has done and waits for; its configuration (the workload's mix, which holds
/// floats) is the same in every state of a run and left out.
impl std::hash::Hash for KvClient {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (&self.servers, self.target, &self.pending, self.issued).hash(h);
        (self.next_request, self.next_value, self.value_prefix).hash(h);
        (&self.last_seen, &self.finals, &self.route).hash(h);
    }
}

impl KvClient {
    /// A client sending to `servers` (in the order it tries them) by `policy`.
    pub fn new(config: ClientConfig, servers: Vec<NodeId>, policy: Target) -> Self {
        KvClient {
            config,
            servers,
            policy,
            target: 0,
            pending: BTreeMap::new(),
            issued: 0,
            next_request: 0,
            next_value: 0,
            value_prefix: 0,
            last_seen: BTreeMap::new(),
            finals: Vec::new(),
            route: Vec::new(),
        }
    }

    /// What the client waits for, whom it asks and what it has read, then its workload, for
    /// the debugger's node panel.
    pub fn describe_tree(&self) -> crate::describe::Describe {
        use crate::describe::{Describe, Part};
        // An operation limit in words (0: no limit).
        let limit_text = |limit: u64| {
            if limit == 0 {
                "no limit".to_string()
            } else {
                limit.to_string()
            }
        };
        let mut d = Describe::new();
        d.field(
            "issued",
            format!("{} of {}", self.issued, limit_text(self.config.limit)),
        );
        d.node(
            "asks",
            self.servers
                .get(self.target % self.servers.len().max(1))
                .copied(),
        );
        let mut waiting = Describe::new();
        for (id, p) in &self.pending {
            let mut what = format!("{} (attempt {}", p.request.op.describe(), p.attempts + 1);
            if p.timeouts > 0 {
                what.push_str(&format!(", {} timed out", p.timeouts));
            }
            what.push(')');
            if p.final_read {
                what.push_str(", a final read");
            }
            waiting.field(format!("request {id}"), what);
        }
        d.section("waiting for", self.pending.len(), waiting);
        let mut seen = Describe::new();
        for (key, value) in &self.last_seen {
            seen.field(
                format!("k{key}"),
                value.map_or("nil".to_string(), |v| v.to_string()),
            );
        }
        d.section("last read", format!("{} keys", self.last_seen.len()), seen);
        if !self.finals.is_empty() {
            d.parts(
                "final reads left",
                vec![Part::Text(
                    self.finals
                        .iter()
                        .map(|k| format!("k{k}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                )],
            );
        }
        let c = &self.config;
        d.config_nodes("servers", self.servers.iter().copied())
            .config("policy", format!("{:?}", self.policy))
            .config("operations", limit_text(c.limit))
            .config("interval", c.interval)
            .config("timeout", c.timeout)
            .config("keys", c.keys)
            .config("reads", c.reads)
            .config("cas", c.cas)
            .config("retries", c.retries)
            .config("timeout retries", c.timeout_retries)
            .config("sessions", c.sessions);
        if c.rate > 0.0 {
            d.config("rate (per second)", c.rate);
        }
        d
    }

    /// Operations issued so far in this incarnation.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// True while a request waits for its reply.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Sends to `servers` from now on (the membership changed), keeping its target if it is
    /// still among them.
    pub fn follow(&mut self, servers: Vec<NodeId>) {
        let current = self.servers.get(self.target).copied();
        self.servers = servers;
        self.target = current
            .and_then(|c| self.servers.iter().position(|s| *s == c))
            .unwrap_or(0);
    }

    /// Points the client at `server` for its next requests (a protocol's own leader hint).
    pub fn redirect(&mut self, server: NodeId) {
        if let Some(i) = self.servers.iter().position(|s| *s == server) {
            self.target = i;
        }
    }

    /// Routes each key to `route[key % route.len()]` from now on (`Target::Routed`), and sends
    /// again every request a server refused as not its own.
    pub fn reroute<N>(&mut self, ctx: &mut Context<'_, N>, route: Vec<NodeId>)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        if route == self.route {
            return;
        }
        self.route = route;
        let parked: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.parked)
            .map(|(id, _)| *id)
            .collect();
        for id in parked {
            if let Some(mut p) = self.pending.remove(&id) {
                p.parked = false;
                self.retry(ctx, p, None);
            }
        }
    }

    /// True while a request waits for a routing table that sends it elsewhere.
    pub fn parked(&self) -> bool {
        self.pending.values().any(|p| p.parked)
    }

    /// Boots the client: schedules its first operation and its final reads.
    pub fn on_start<N>(&mut self, ctx: &mut Context<'_, N>)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        // Unique write values: client id, a random tag per incarnation, then a counter.
        let tag: u64 = ctx.rng().random_range(0..1 << 16);
        self.value_prefix = (u64::from(ctx.id().0) + 1) << 48 | tag << 32;
        // Request ids must not repeat across incarnations: servers remember ids to drop late
        // copies, and would take a restarted client's request 1 for the old one. Starting at
        // the boot's virtual time in nanoseconds keeps them apart (the previous incarnation,
        // one request at a time, issued fewer requests than nanoseconds passed), and at 0 on
        // the first boot.
        self.next_request = ctx.true_now.0;
        let now = ctx.now();
        let first = since_now(now, self.config.start) + self.gap(ctx);
        ctx.set_timer(first, ClientTimer::Tick.into());
        if let Some(at) = self.config.final_reads {
            if SimTime::ZERO + at >= now {
                ctx.set_timer(since_now(now, at), ClientTimer::FinalReads.into());
            }
        }
    }

    /// Handles a timer the client set.
    pub fn on_timer<N>(&mut self, ctx: &mut Context<'_, N>, timer: ClientTimer)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        match timer {
            ClientTimer::Tick => {
                let stopped = self
                    .config
                    .stop
                    .is_some_and(|stop| ctx.now() >= SimTime::ZERO + stop);
                let spent = self.config.limit > 0 && self.issued >= self.config.limit;
                if stopped || spent {
                    return;
                }
                let next = self.gap(ctx);
                ctx.set_timer(next, ClientTimer::Tick.into());
                let free = self.pending.is_empty() || self.open_loop();
                if free && self.finals.is_empty() {
                    let op = self.draw(ctx);
                    self.issued += 1;
                    self.begin(ctx, op, false);
                }
            }
            ClientTimer::FinalReads => {
                self.finals = (0..self.config.keys).rev().collect();
                self.next_final(ctx);
            }
            ClientTimer::Timeout(id) => {
                let Some(mut p) = self.pending.remove(&id) else {
                    return;
                };
                if p.timeouts < self.config.timeout_retries && !p.final_read {
                    p.timeouts += 1;
                    p.attempts = 0;
                    self.retry(ctx, p, None);
                    return;
                }
                ctx.info(p.op_id, recorded(p.request.op, None));
                if self.policy == Target::Leader {
                    self.target = (self.target + 1) % self.servers.len().max(1);
                }
                if p.final_read {
                    self.finals.push(p.request.op.key());
                }
                self.next_final(ctx);
            }
        }
    }

    /// Handles a server's reply; replies to requests no longer pending are ignored.
    pub fn on_reply<N>(&mut self, ctx: &mut Context<'_, N>, _from: NodeId, reply: KvReply)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        let id = self.attempt_answered(&reply);
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        let op = p.request.op;
        match reply.result {
            KvResult::Done(value) => {
                let seen = match op {
                    KvOp::Get { .. } => value,
                    KvOp::Put { value, .. } | KvOp::Cas { to: value, .. } => Some(value),
                };
                self.last_seen.insert(op.key(), seen);
                ctx.ok(p.op_id, recorded(op, value));
            }
            KvResult::CasMismatch => {
                self.last_seen.remove(&op.key());
                // No effect (fail), but an observation: the key did not hold `from`.
                let observed = match op {
                    KvOp::Cas { key, from, to } => Op::CasFailed { key, from, to },
                    other => recorded(other, None),
                };
                ctx.fail(p.op_id, observed);
            }
            KvResult::NotLeader { leader: None } if self.policy == Target::Routed => {
                // The wrong group: wait for a routing table that names another (or the
                // timeout).
                let mut p = p;
                p.parked = true;
                self.pending.insert(p.request.id, p);
                return;
            }
            KvResult::NotLeader { .. } | KvResult::Unavailable
                if p.attempts > self.config.retries
                    && self.config.wait_out_refusals
                    && p.timeouts < self.config.timeout_retries =>
            {
                // No leader yet (an election on): wait out this attempt's timeout, then go round
                // the servers again.
                self.pending.insert(p.request.id, p);
                return;
            }
            KvResult::NotLeader { .. } | KvResult::Unavailable
                if p.attempts > self.config.retries =>
            {
                // A rejection answers only the last copy sent; after a timeout an earlier copy
                // may still take effect, so the call's fate is unknown, not failed.
                if p.timeouts > 0 {
                    ctx.info(p.op_id, recorded(op, None));
                } else {
                    ctx.fail(p.op_id, recorded(op, None));
                }
            }
            KvResult::NotLeader { leader } => {
                let hinted = leader.and_then(|l| self.servers.iter().position(|s| *s == l));
                self.retry(ctx, p, hinted);
                return;
            }
            KvResult::Unavailable => {
                // Another coordinator may reach more replicas.
                self.retry(ctx, p, None);
                return;
            }
        }
        self.next_final(ctx);
    }

    fn retry<N>(&mut self, ctx: &mut Context<'_, N>, mut p: Pending, server: Option<usize>)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        self.target = server.unwrap_or((self.target + 1) % self.servers.len().max(1));
        p.attempts += 1;
        p.request.id = if self.config.sessions {
            // The same operation: its sequence number, the next attempt (the last one repeated
            // once they run out; a server drops that copy as a duplicate).
            let attempt = (p.request.id & ATTEMPT_MASK)
                .saturating_add(1)
                .min(ATTEMPT_MASK);
            (p.request.id & !ATTEMPT_MASK) | attempt
        } else {
            self.fresh_request()
        };
        self.send(ctx, &mut p);
        self.pending.insert(p.request.id, p);
    }

    fn next_final<N>(&mut self, ctx: &mut Context<'_, N>)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        if !self.pending.is_empty() {
            return;
        }
        if let Some(key) = self.finals.pop() {
            self.begin(ctx, KvOp::Get { key }, true);
        }
    }

    fn begin<N>(&mut self, ctx: &mut Context<'_, N>, op: KvOp, final_read: bool)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        let op_id = ctx.invoke(recorded(op, None));
        let mut p = Pending {
            request: KvRequest {
                id: self.first_attempt(),
                op,
            },
            op_id,
            attempts: 1,
            timeouts: 0,
            final_read,
            parked: false,
        };
        self.send(ctx, &mut p);
        self.pending.insert(p.request.id, p);
    }

    /// Sends `p` and sets its timeout; parks it instead when routed and the table is empty.
    fn send<N>(&mut self, ctx: &mut Context<'_, N>, p: &mut Pending)
    where
        N: Node,
        N::Msg: From<KvRequest>,
        N::Timer: From<ClientTimer>,
    {
        if self.servers.is_empty() {
            return;
        }
        if self.policy == Target::Any && p.attempts == 1 {
            self.target = ctx.rng().random_range(0..self.servers.len());
        }
        let to = if self.policy == Target::Routed {
            match self
                .route
                .get((p.request.op.key() % self.route.len().max(1) as u64) as usize)
            {
                Some(to) => *to,
                None => {
                    // No table yet: wait for one (or the timeout).
                    p.parked = true;
                    ctx.set_timer(
                        self.config.timeout,
                        ClientTimer::Timeout(p.request.id).into(),
                    );
                    return;
                }
            }
        } else {
            self.servers[self.target % self.servers.len()]
        };
        ctx.send(to, p.request.into());
        ctx.set_timer(
            self.config.timeout,
            ClientTimer::Timeout(p.request.id).into(),
        );
    }

    fn fresh_request(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// The id of a new operation's first attempt: a fresh id, or with sessions a fresh sequence
    /// number and attempt 0.
    fn first_attempt(&mut self) -> u64 {
        let id = self.fresh_request();
        if self.config.sessions {
            (id & (u64::MAX >> ATTEMPT_BITS)) << ATTEMPT_BITS
        } else {
            id
        }
    }

    /// The pending request `reply` answers: the one with its id, or with sessions the attempt
    /// pending for the same operation when the reply says it took effect (an answer to an
    /// earlier attempt; a refusal of an earlier attempt says nothing of the later one).
    fn attempt_answered(&self, reply: &KvReply) -> u64 {
        let done = matches!(reply.result, KvResult::Done(_) | KvResult::CasMismatch);
        if !self.config.sessions || !done || self.pending.contains_key(&reply.id) {
            return reply.id;
        }
        let seq = sequence_number(reply.id);
        self.pending
            .keys()
            .copied()
            .find(|id| sequence_number(*id) == seq)
            .unwrap_or(reply.id)
    }

    /// True when the client issues at its rate whatever is unanswered.
    fn open_loop(&self) -> bool {
        self.config.rate > 0.0
    }

    /// Time to the next operation: exponential at the open-loop rate, else the interval
    /// jittered by +-50%.
    fn gap<N: Node>(&self, ctx: &mut Context<'_, N>) -> Duration {
        if self.open_loop() {
            let u: f64 = ctx.rng().random();
            let mean = 1e9 / self.config.rate;
            return Duration((-(1.0 - u).ln() * mean).clamp(1.0, 1e15) as u64);
        }
        self.jitter(ctx)
    }

    fn jitter<N: Node>(&self, ctx: &mut Context<'_, N>) -> Duration {
        let i = self.config.interval.0.max(2);
        Duration(ctx.rng().random_range(i / 2..=i + i / 2))
    }

    fn draw<N: Node>(&mut self, ctx: &mut Context<'_, N>) -> KvOp {
        let rng = ctx.rng();
        let key = rng.random_range(0..self.config.keys);
        let roll: f64 = rng.random();
        if roll < self.config.reads {
            return KvOp::Get { key };
        }
        self.next_value += 1;
        let n = match self.config.reused_values {
            0 => self.next_value,
            cycle => (self.next_value - 1) % cycle + 1,
        };
        let value = self.value_prefix | (n & 0xffff_ffff);
        if roll < self.config.reads + self.config.cas {
            let from = self.last_seen.get(&key).copied().flatten();
            return KvOp::Cas {
                key,
                from,
                to: value,
            };
        }
        KvOp::Put { key, value }
    }
}

/// Time from `now` until `at` (measured from the start of the run), zero if already past.
fn since_now(now: SimTime, at: Duration) -> Duration {
    (SimTime::ZERO + at).since(now)
}

/// The history's form of `op`, with a read's result when known.
pub fn recorded(op: KvOp, read: Option<u64>) -> Op {
    match op {
        KvOp::Put { key, value } => Op::Put { key, value },
        KvOp::Get { key } => Op::Get { key, value: read },
        KvOp::Cas { key, from, to } => Op::Cas { key, from, to },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_linearizable_history, LinResult};
    use crate::history::Phase;
    use crate::net::{LinkSpec, Network};
    use crate::node::{NodeFactory, Roster};
    use crate::sim::{Bounds, Sim, SimConfig};
    use crate::trace::TraceLevel;

    #[derive(Clone, Debug, Hash)]
    enum Msg {
        Req(KvRequest),
        Rep(KvReply),
    }
    impl From<KvRequest> for Msg {
        fn from(r: KvRequest) -> Self {
            Msg::Req(r)
        }
    }

    /// One server that answers everything itself (or redirects to `leader` if it is not it).
    enum Solo {
        Server(BTreeMap<u64, u64>, Option<NodeId>),
        Client(Box<KvClient>),
    }

    impl Node for Solo {
        type Msg = Msg;
        type Timer = ClientTimer;
        type Stored = u64;
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            if let Solo::Client(c) = self {
                c.on_start(ctx)
            }
        }
        fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
            match (self, msg) {
                (Solo::Client(c), Msg::Rep(reply)) => c.on_reply(ctx, from, reply),
                (Solo::Server(_, Some(leader)), Msg::Req(req)) => {
                    let result = KvResult::NotLeader {
                        leader: Some(*leader),
                    };
                    ctx.send(from, Msg::Rep(KvReply { id: req.id, result }));
                }
                (Solo::Server(map, None), Msg::Req(req)) => {
                    let result = match req.op {
                        KvOp::Get { key } => KvResult::Done(map.get(&key).copied()),
                        KvOp::Put { key, value } => {
                            map.insert(key, value);
                            KvResult::Done(None)
                        }
                        KvOp::Cas { key, from, to } if map.get(&key).copied() == from => {
                            map.insert(key, to);
                            KvResult::Done(None)
                        }
                        KvOp::Cas { .. } => KvResult::CasMismatch,
                    };
                    ctx.send(from, Msg::Rep(KvReply { id: req.id, result }));
                }
                _ => {}
            }
        }
        fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: ClientTimer) {
            if let Solo::Client(c) = self {
                c.on_timer(ctx, timer)
            }
        }
    }

    fn config() -> ClientConfig {
        ClientConfig {
            limit: 40,
            interval: Duration::from_millis(10),
            start: Duration::ZERO,
            stop: None,
            timeout: Duration::from_millis(100),
            keys: 3,
            reads: 0.4,
            cas: 0.3,
            retries: 2,
            timeout_retries: 0,
            final_reads: Some(Duration::from_secs(2)),
            sessions: false,
            reused_values: 0,
            wait_out_refusals: false,
            rate: 0.0,
        }
    }

    fn run() -> crate::sim::RunOutcome {
        // n0 redirects to n1 (the real server); n2, n3 are clients that start at n0.
        let roster = Roster::new((0..4).map(|i| (format!("n{i}"), "n".to_string())));
        let cfg = SimConfig {
            seed: 3,
            bounds: Bounds {
                max_time: Duration::from_secs(3),
                max_events: 1_000_000,
                max_memory: crate::memory::DEFAULT_BUDGET,
                recovery: None,
            },
            network: Network::new(4, LinkSpec::default()),
            roster,
            schedule: Vec::new(),
            nemesis: None,
            trace: TraceLevel::HashOnly,
            scheduler: Default::default(),
            history_file: None,
            disk: Vec::new(),
            disk_atlas: false,
            capacity: Vec::new(),
        };
        let factory: NodeFactory<Solo> = Box::new(|id, _, _| match id.0 {
            0 => Solo::Server(BTreeMap::new(), Some(NodeId(1))),
            1 => Solo::Server(BTreeMap::new(), None),
            _ => Solo::Client(Box::new(KvClient::new(
                config(),
                vec![NodeId(0), NodeId(1)],
                Target::Leader,
            ))),
        });
        Sim::new(cfg, factory).run()
    }

    #[test]
    fn client_follows_redirects_and_its_history_is_linearizable() {
        let out = run();
        let calls = out.history.calls();
        // 2 clients x 40 ops plus 3 final reads each, all answered by the single real server:
        // everything succeeds except compare-and-sets that lost a race.
        assert_eq!(calls.len(), 2 * (40 + 3));
        for c in &calls {
            let lost_race = matches!(c.invoked, Op::Cas { .. }) && c.outcome == Phase::Fail;
            assert!(c.outcome == Phase::Ok || lost_race, "{c:?}");
        }
        assert!(matches!(
            check_linearizable_history(&out.history),
            LinResult::Linearizable { .. }
        ));
        let writes: Vec<u64> = calls
            .iter()
            .filter_map(|c| match c.invoked {
                Op::Put { value, .. } | Op::Cas { to: value, .. } => Some(value),
                _ => None,
            })
            .collect();
        let mut unique = writes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), writes.len(), "write values must be unique");
    }
}
