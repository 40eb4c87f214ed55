//! Dynamo-style quorum replication: any replica coordinates, `n` copies, `r` reads, `w` writes.
//!
//! Each key lives on `n` replicas (its preference list, the `n` replicas after `key mod count`).
//! Values carry versions ordered by (counter, coordinator id); higher wins everywhere.
//!
//! - `get`: the coordinator asks the key's `n` replicas and answers with the highest version
//!   among the first `r` replies, then repairs replies that were behind (read repair, not waited
//!   for).
//! - `put`: the coordinator first asks `r` replicas for the current version, then writes
//!   (counter + 1, own id) to all `n` and acknowledges after `w` acks.
//! - `cas`: like put, but only if the highest version read holds the expected value.
//! - Every `anti_entropy` each replica pushes its whole store to one random peer, which keeps the
//!   higher versions and pushes back what it has newer.
//!
//! With `r + w > n` every read quorum meets every write quorum, so reads see the latest
//! acknowledged write. Caveats (documented, and visible to `Linearizable`): reads do not wait for
//! their repair, so two reads racing an unfinished write can see new then old (`write_back`
//! closes that: ABD's read writes its value back to `w` replicas before answering, which makes
//! reads and writes linearizable); and two concurrent cas on one key can both succeed, with or
//! without it (a linearizable cas needs consensus). With `r + w <= n` reads can miss acknowledged writes:
//! `StaleReads` counts them.

use super::client::{
    ClientConfig, ClientTimer, KvClient, KvOp, KvReply, KvRequest, KvResult, Target,
};
use crate::node::{Context, Node, NodeFactory, NodeId, Snapshot};
use crate::protocol::Protocol;
use crate::protocols::require_role;
use crate::scenario::Plan;
use crate::time::Duration;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Parameters of quorum replication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuorumParams {
    /// Copies of each key.
    pub n: u32,
    /// Replies a read waits for.
    pub r: u32,
    /// Acks a write waits for.
    pub w: u32,
    /// Repair replicas that answered a read with an older version.
    pub read_repair: bool,
    /// ABD's second phase of a read (Attiya, Bar-Noy and Dolev): before answering, write the
    /// value read back to the key's replicas and wait for `w` of them, so no later read can
    /// return an older value. With `r + w > n` this makes reads and writes linearizable; `cas`
    /// stays unsafe (two can both succeed: that needs consensus).
    pub write_back: bool,
    /// Time between two anti-entropy pushes of a replica; zero disables them.
    pub anti_entropy: Duration,
    /// How long a coordinator waits for its quorum.
    pub quorum_timeout: Duration,
    /// When clients read every key once (for `Durable`); `None`: no final reads.
    pub final_reads: Option<Duration>,
}

impl Default for QuorumParams {
    fn default() -> Self {
        QuorumParams {
            n: 3,
            r: 2,
            w: 2,
            read_repair: true,
            write_back: false,
            anti_entropy: Duration::from_millis(500),
            quorum_timeout: Duration::from_millis(100),
            final_reads: None,
        }
    }
}

/// A version: (counter, coordinator id); higher wins.
pub type Version = (u64, u32);

/// Messages of quorum replication.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum QMsg {
    /// A client request.
    Req(KvRequest),
    /// A reply to a client.
    Rep(KvReply),
    /// Coordinator -> replica: what do you hold for `key`?
    Read {
        /// The coordinator's operation.
        op: u64,
        /// The key.
        key: u64,
    },
    /// Replica -> coordinator: the version and value held (if any).
    ReadReply {
        /// The coordinator's operation.
        op: u64,
        /// What the replica holds.
        held: Option<(Version, u64)>,
    },
    /// Store `value` at `version` unless something newer is there.
    Write {
        /// The coordinator's operation (0: a repair, no ack wanted).
        op: u64,
        /// The key.
        key: u64,
        /// The version.
        version: Version,
        /// The value.
        value: u64,
    },
    /// Replica -> coordinator: stored.
    WriteAck {
        /// The coordinator's operation.
        op: u64,
    },
    /// Anti-entropy: the sender's whole store; `reply` asks for newer entries back.
    Push {
        /// (key, version, value) for every key held.
        entries: Vec<(u64, Version, u64)>,
        /// Whether the receiver should push back what it has newer.
        reply: bool,
    },
}

impl From<KvRequest> for QMsg {
    fn from(r: KvRequest) -> Self {
        QMsg::Req(r)
    }
}

/// Timers of quorum replication.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum QTimer {
    /// A client timer.
    Client(ClientTimer),
    /// Push the store to a random peer.
    AntiEntropy,
    /// The coordinator's operation has waited long enough for its quorum.
    Quorum(u64),
}

impl From<ClientTimer> for QTimer {
    fn from(t: ClientTimer) -> Self {
        QTimer::Client(t)
    }
}

#[derive(Clone, Debug)]
enum Phase {
    /// Collecting read replies.
    Reading(Vec<(NodeId, Option<(Version, u64)>)>),
    /// Waiting for write acks: the distinct replicas that acked (a duplicated ack counts once).
    Writing(Vec<NodeId>),
    /// A read's write-back (ABD): the value to answer and the distinct replicas that stored it.
    WritingBack(Option<u64>, Vec<NodeId>),
}

#[derive(Clone, Debug)]
struct Coordination {
    client: NodeId,
    request: u64,
    op: KvOp,
    phase: Phase,
}

/// A storage replica, which also coordinates client requests.
#[derive(Clone, Debug)]
pub struct QReplica {
    params: QuorumParams,
    replicas: Vec<NodeId>,
    store: BTreeMap<u64, (Version, u64)>,
    counter: u64,
    next_op: u64,
    ops: BTreeMap<u64, Coordination>,
    /// Client requests (client, request id) coordinated here: the network duplicates some,
    /// and a copy coordinated after the first was answered `Unavailable` would carry out a
    /// request the client took for failed and retried.
    seen: BTreeSet<(NodeId, u64)>,
}

/// A quorum node: a replica or a client.
#[derive(Debug)]
pub enum QNode {
    /// A storage replica and coordinator.
    Replica(Box<QReplica>),
    /// A workload client.
    Client(Box<KvClient>),
}

impl QReplica {
    fn preference(&self, key: u64) -> Vec<NodeId> {
        let count = self.replicas.len() as u64;
        (0..u64::from(self.params.n).min(count))
            .map(|i| self.replicas[((key + i) % count) as usize])
            .collect()
    }

    /// Stores `value` at `version` if newer than what is held; true if it was.
    fn store(
        &mut self,
        ctx: &mut Context<'_, QNode>,
        key: u64,
        version: Version,
        value: u64,
    ) -> bool {
        self.counter = self.counter.max(version.0);
        if self.store.get(&key).is_some_and(|(v, _)| *v >= version) {
            return false;
        }
        self.store.insert(key, (version, value));
        let st = ctx.storage();
        st.put(format!("k/{key:020}"), (version, value));
        st.sync();
        true
    }

    fn on_request(&mut self, ctx: &mut Context<'_, QNode>, from: NodeId, req: KvRequest) {
        if !self.seen.insert((from, req.id)) {
            return;
        }
        self.next_op += 1;
        let op = self.next_op;
        let key = req.op.key();
        self.ops.insert(
            op,
            Coordination {
                client: from,
                request: req.id,
                op: req.op,
                phase: Phase::Reading(Vec::new()),
            },
        );
        for replica in self.preference(key) {
            ctx.send(replica, QMsg::Read { op, key });
        }
        ctx.set_timer(self.params.quorum_timeout, QTimer::Quorum(op));
    }

    /// Sends `value` at `version` to every replica of `key`, for operation `op`.
    fn write_all(
        &self,
        ctx: &mut Context<'_, QNode>,
        op: u64,
        key: u64,
        version: Version,
        value: u64,
    ) {
        for replica in self.preference(key) {
            ctx.send(
                replica,
                QMsg::Write {
                    op,
                    key,
                    version,
                    value,
                },
            );
        }
    }

    fn answer(ctx: &mut Context<'_, QNode>, c: &Coordination, result: KvResult) {
        ctx.send(
            c.client,
            QMsg::Rep(KvReply {
                id: c.request,
                result,
            }),
        );
    }

    fn on_read_reply(
        &mut self,
        ctx: &mut Context<'_, QNode>,
        from: NodeId,
        op: u64,
        held: Option<(Version, u64)>,
    ) {
        let r = self.params.r as usize;
        let Some(c) = self.ops.get_mut(&op) else {
            return;
        };
        let Phase::Reading(replies) = &mut c.phase else {
            return;
        };
        if replies.iter().any(|(n, _)| *n == from) {
            return;
        }
        replies.push((from, held));
        if replies.len() < r {
            return;
        }
        let replies = std::mem::take(replies);
        let latest = replies.iter().filter_map(|(_, h)| *h).max();
        let key = c.op.key();
        match c.op {
            KvOp::Get { .. } if self.params.write_back && latest.is_some() => {
                // ABD: the value goes back to the replicas before the client hears it.
                let Some((version, value)) = latest else {
                    return;
                };
                c.phase = Phase::WritingBack(Some(value), Vec::new());
                self.write_all(ctx, op, key, version, value);
            }
            KvOp::Get { .. } => {
                let c = self.ops.remove(&op).expect("coordination exists");
                Self::answer(ctx, &c, KvResult::Done(latest.map(|(_, v)| v)));
                if let (true, Some((version, value))) = (self.params.read_repair, latest) {
                    for (n, h) in &replies {
                        if h.is_none_or(|(v, _)| v < version) {
                            ctx.send(
                                *n,
                                QMsg::Write {
                                    op: 0,
                                    key,
                                    version,
                                    value,
                                },
                            );
                        }
                    }
                }
            }
            KvOp::Put { value, .. } | KvOp::Cas { to: value, .. } => {
                if let KvOp::Cas { from: expected, .. } = c.op {
                    if latest.map(|(_, v)| v) != expected {
                        let c = self.ops.remove(&op).expect("coordination exists");
                        Self::answer(ctx, &c, KvResult::CasMismatch);
                        return;
                    }
                }
                c.phase = Phase::Writing(Vec::new());
                let seen = latest.map_or(0, |(v, _)| v.0);
                self.counter = self.counter.max(seen) + 1;
                let version = (self.counter, ctx.id().0);
                self.write_all(ctx, op, key, version, value);
            }
        }
    }

    fn on_write_ack(&mut self, ctx: &mut Context<'_, QNode>, from: NodeId, op: u64) {
        let w = self.params.w as usize;
        let Some(c) = self.ops.get_mut(&op) else {
            return;
        };
        let (acked, result) = match &mut c.phase {
            Phase::Writing(acked) => (acked, None),
            Phase::WritingBack(value, acked) => (acked, *value),
            Phase::Reading(_) => return,
        };
        // Count replicas, not acks: the network may deliver one replica's ack twice.
        if acked.contains(&from) {
            return;
        }
        acked.push(from);
        if acked.len() >= w {
            let c = self.ops.remove(&op).expect("coordination exists");
            Self::answer(ctx, &c, KvResult::Done(result));
        }
    }

    fn on_quorum_timeout(&mut self, ctx: &mut Context<'_, QNode>, op: u64) {
        let Some(c) = self.ops.remove(&op) else {
            return;
        };
        // Nothing was written while reading: say so. A write may have landed on some replicas:
        // stay silent so the client records an indeterminate outcome.
        // A read writing back changes nothing a client could tell apart (the value is already
        // on a replica), so it may fail too.
        if matches!(c.phase, Phase::Reading(_) | Phase::WritingBack(..)) {
            Self::answer(ctx, &c, KvResult::Unavailable);
        }
    }

    fn entries(&self) -> Vec<(u64, Version, u64)> {
        self.store
            .iter()
            .map(|(k, (ver, v))| (*k, *ver, *v))
            .collect()
    }

    fn on_push(
        &mut self,
        ctx: &mut Context<'_, QNode>,
        from: NodeId,
        entries: Vec<(u64, Version, u64)>,
        reply: bool,
    ) {
        let mut theirs: BTreeMap<u64, Version> = BTreeMap::new();
        for (key, version, value) in entries {
            theirs.insert(key, version);
            self.store(ctx, key, version, value);
        }
        if reply {
            let newer: Vec<(u64, Version, u64)> = self
                .entries()
                .into_iter()
                .filter(|(k, ver, _)| theirs.get(k).is_none_or(|t| t < ver))
                .collect();
            if !newer.is_empty() {
                ctx.send(
                    from,
                    QMsg::Push {
                        entries: newer,
                        reply: false,
                    },
                );
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, QNode>, from: NodeId, msg: QMsg) {
        match msg {
            QMsg::Req(req) => self.on_request(ctx, from, req),
            QMsg::Read { op, key } => {
                let held = self.store.get(&key).copied();
                ctx.send(from, QMsg::ReadReply { op, held });
            }
            QMsg::ReadReply { op, held } => self.on_read_reply(ctx, from, op, held),
            QMsg::Write {
                op,
                key,
                version,
                value,
            } => {
                self.store(ctx, key, version, value);
                if op != 0 {
                    ctx.send(from, QMsg::WriteAck { op });
                }
            }
            QMsg::WriteAck { op } => self.on_write_ack(ctx, from, op),
            QMsg::Push { entries, reply } => self.on_push(ctx, from, entries, reply),
            QMsg::Rep(_) => {}
        }
    }
}

impl Node for QNode {
    type Msg = QMsg;
    type Timer = QTimer;
    type Stored = (Version, u64);

    fn heap_bytes(&self) -> u64 {
        match self {
            QNode::Replica(r) => {
                (r.replicas.capacity() * 4
                    + r.store.len() * 48
                    + r.ops.len() * 96
                    + r.seen.len() * 40) as u64
            }
            QNode::Client(_) => 0,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        Some(match self {
            QNode::Client(c) => c.describe_tree(),
            other => crate::describe::Describe::text(format!("{other:#?}")),
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            QNode::Client(c) => c.on_start(ctx),
            QNode::Replica(r) => {
                if r.params.anti_entropy > Duration::ZERO {
                    ctx.set_timer(r.params.anti_entropy, QTimer::AntiEntropy);
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: QMsg) {
        match (self, msg) {
            (QNode::Client(c), QMsg::Rep(reply)) => c.on_reply(ctx, from, reply),
            (QNode::Replica(r), msg) => r.on_message(ctx, from, msg),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: QTimer) {
        match (self, timer) {
            (QNode::Client(c), QTimer::Client(t)) => c.on_timer(ctx, t),
            (QNode::Replica(r), QTimer::Quorum(op)) => r.on_quorum_timeout(ctx, op),
            (QNode::Replica(r), QTimer::AntiEntropy) => {
                ctx.set_timer(r.params.anti_entropy, QTimer::AntiEntropy);
                let me = ctx.id();
                let peers: Vec<NodeId> = r.replicas.iter().copied().filter(|p| *p != me).collect();
                if !peers.is_empty() {
                    let peer = peers[ctx.rng().random_range(0..peers.len())];
                    ctx.send(
                        peer,
                        QMsg::Push {
                            entries: r.entries(),
                            reply: true,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            QNode::Replica(r) => Some(
                r.store
                    .iter()
                    .map(|(k, (_, v))| (format!("k{k}"), v.to_string()))
                    .collect(),
            ),
            QNode::Client(_) => None,
        }
    }
}

impl Protocol for QuorumParams {
    type Node = QNode;

    const NAME: &'static str = "Quorum";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "replica")?;
        require_role(plan, Self::NAME, "client")?;
        let replicas = plan.roster.members("replica").len() as u32;
        if self.n == 0 || self.n > replicas {
            return Err(format!(
                "Quorum n must be between 1 and the number of replicas ({replicas}), got {}",
                self.n
            ));
        }
        for (name, q) in [("r", self.r), ("w", self.w)] {
            if q == 0 || q > self.n {
                return Err(format!(
                    "Quorum {name} must be between 1 and n ({}), got {q}",
                    self.n
                ));
            }
        }
        if self.quorum_timeout == Duration::ZERO {
            return Err("Quorum quorum_timeout must be greater than zero".into());
        }
        Ok(())
    }

    fn open_loop(&self) -> bool {
        true
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Linearizable", "Durable", "Converged", "StaleReads"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<QNode> {
        let params = self.clone();
        let replicas = plan.roster.members("replica");
        let clients = plan.roster.members("client");
        let config = ClientConfig::from_plan(plan, clients.len(), self.final_reads);
        Box::new(move |id, roster, storage| {
            if roster.role(id) == "client" {
                return QNode::Client(Box::new(KvClient::new(
                    config.clone(),
                    replicas.clone(),
                    Target::Any,
                )));
            }
            let store: BTreeMap<u64, (Version, u64)> = storage
                .scan("k/")
                .filter_map(|(k, v)| Some((k.strip_prefix("k/")?.parse().ok()?, *v)))
                .collect();
            let counter = store.values().map(|(v, _)| v.0).max().unwrap_or(0);
            QNode::Replica(Box::new(QReplica {
                params: params.clone(),
                replicas: replicas.clone(),
                store,
                counter,
                next_op: 0,
                ops: BTreeMap::new(),
                seen: BTreeSet::new(),
            }))
        })
    }
}
