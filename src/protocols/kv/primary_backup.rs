//! Primary-backup replication: one primary serves clients and forwards writes to the backups.
//!
//! Views number the primaries: in view `v` the primary is `replicas[v % n]`. The primary sends
//! heartbeats; a backup that hears nothing for `suspect_after` moves to the next view, and the
//! replica that is primary there takes over and pushes its whole state to the others.
//!
//! - `Async`: the primary acknowledges a write as soon as it applied it locally and replicates in
//!   the background, so a failover can lose acknowledged writes.
//! - `Sync`: the primary acknowledges only once every backup has the write (durably). Every
//!   acknowledged write is therefore on every replica, and no failover, partition or crash can
//!   lose it; the price is that a write waits (and times out) while any backup is unreachable.
//!   Reads see a write as soon as the primary applied it, before it is acknowledged, so a read
//!   followed by a primary crash can still observe a write that is later lost (not linearizable).
//!
//! `fencing` (default on) checks view numbers as epochs: backups reject messages from an older
//! view and tell the sender, which steps down; and the primary answers reads only under a lease
//! (every backup confirmed a heartbeat sent less than 3/4 of `suspect_after` ago, so none can
//! have moved on). Without fencing a deposed primary never learns it was replaced and keeps
//! accepting writes and serving reads from its own copy, the classic split brain.
//!
//! A replica takes each request id of a client once: the network's later copies of a request
//! are dropped, so a duplicated cas is not carried out twice and a copy delayed past a refusal
//! does not take effect after the client recorded the call as failed.
//!
//! With `read_from_backup`, clients send to any replica and backups answer reads from their own
//! (possibly stale) copy.
//!
//! With `view_service` (off by default), views are no longer `replicas[v % n]` with every other
//! replica a backup: a node of role `viewserver` decides them (`view_service.rs`, 6.824's view
//! service), each a primary and at most one backup, and the backups' own suspicion is off. The
//! replicas ping it every heartbeat; it drops a silent backup (an idle replica takes its place
//! after a whole state transfer, or none does), promotes the backup when the primary falls
//! silent, and never makes an idle replica primary. A primary serves in a view only once it has
//! acknowledged it to the service, which it does once its backup holds its whole state (and, if
//! it was the backup before, once the read lease it granted the old primary has run out). So
//! f+1 replicas tolerate f crashes, one at a time, where without it one crashed backup stops
//! every sync write.

use super::client::{
    ClientConfig, ClientTimer, KvClient, KvOp, KvReply, KvRequest, KvResult, Target,
};
use super::view_service::{View, ViewService};
use crate::history::Op;
use crate::node::{Context, Node, NodeFactory, NodeId, Snapshot};
use crate::protocol::Protocol;
use crate::protocols::require_role;
use crate::scenario::Plan;
use crate::time::{Duration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many request ids per client a replica remembers to refuse the network's late copies.
const REMEMBERED_REQUESTS: usize = 256;

/// When the primary acknowledges a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Before the backups have it.
    Async,
    /// After every backup has it.
    Sync,
}

/// Parameters of primary-backup replication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrimaryBackupParams {
    /// When writes are acknowledged.
    pub mode: Mode,
    /// Time between two heartbeats of the primary.
    pub heartbeat: Duration,
    /// Silence after which a backup suspects the primary and moves to the next view.
    pub suspect_after: Duration,
    /// Backups answer reads from their own copy (stale reads possible).
    pub read_from_backup: bool,
    /// Check view numbers as epochs so a deposed primary steps down.
    pub fencing: bool,
    /// When clients read every key once (for `Durable`); `None`: no final reads.
    pub final_reads: Option<Duration>,
    /// A `viewserver` node decides the views, dropping a failed backup (6.824's view service).
    pub view_service: bool,
}

impl Default for PrimaryBackupParams {
    fn default() -> Self {
        PrimaryBackupParams {
            mode: Mode::Sync,
            heartbeat: Duration::from_millis(50),
            suspect_after: Duration::from_millis(300),
            read_from_backup: false,
            fencing: true,
            final_reads: None,
            view_service: false,
        }
    }
}

/// Messages of primary-backup replication.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum PbMsg {
    /// A client request.
    Req(KvRequest),
    /// A reply to a client.
    Rep(KvReply),
    /// The primary of `view` is alive and has applied writes up to `seq` (state `digest`).
    Heartbeat {
        /// The sender's view.
        view: u64,
        /// When the primary sent it, on its own clock (echoed for its read lease).
        sent: SimTime,
        /// Writes applied.
        seq: u64,
        /// Hash of the primary's map.
        digest: u64,
    },
    /// Write number `seq` of `view`.
    Replicate {
        /// The sender's view.
        view: u64,
        /// Position in the primary's write order.
        seq: u64,
        /// The key.
        key: u64,
        /// The value.
        value: u64,
    },
    /// The backup has applied (durably) every write up to `seq` of `view`.
    Ack {
        /// The backup's view.
        view: u64,
        /// Writes applied.
        seq: u64,
    },
    /// The backup heard heartbeat `sent` of `view`: it will not suspect the primary before
    /// `suspect_after` has passed since.
    HeartbeatAck {
        /// The backup's view.
        view: u64,
        /// The heartbeat's send time, echoed.
        sent: SimTime,
    },
    /// The backup is behind or diverged: please send the whole state.
    StateRequest {
        /// The backup's view.
        view: u64,
    },
    /// The primary's whole state.
    State {
        /// The sender's view.
        view: u64,
        /// Writes applied.
        seq: u64,
        /// Every key and value.
        map: Vec<(u64, u64)>,
    },
    /// Your view is old; the current one is `view` (fencing).
    Stale {
        /// The current view.
        view: u64,
    },
    /// A replica is alive (to the view service); `acked` is the view it serves in as primary.
    Ping {
        /// The view acknowledged, 0 for none.
        acked: u64,
    },
    /// The view service's current view (its answer to a ping, or news of a change).
    ViewIs(View),
}

impl From<KvRequest> for PbMsg {
    fn from(r: KvRequest) -> Self {
        PbMsg::Req(r)
    }
}

/// Timers of primary-backup replication.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum PbTimer {
    /// A client timer.
    Client(ClientTimer),
    /// Primary: send heartbeats. Backup: check whether the primary is suspect.
    Tick,
}

impl From<ClientTimer> for PbTimer {
    fn from(t: ClientTimer) -> Self {
        PbTimer::Client(t)
    }
}

/// A write waiting for backups' acknowledgements (sync mode).
#[derive(Clone, Debug)]
struct Waiting {
    seq: u64,
    client: NodeId,
    request: u64,
    /// The answer, sent once every backup has write `seq`.
    result: KvResult,
}

/// A storage replica.
#[derive(Clone, Debug)]
pub struct Replica {
    params: PrimaryBackupParams,
    replicas: Vec<NodeId>,
    view: u64,
    seq: u64,
    map: BTreeMap<u64, u64>,
    last_heard: SimTime,
    acked: BTreeMap<NodeId, u64>,
    waiting: Vec<Waiting>,
    buffered: BTreeMap<u64, (u64, u64)>,
    behind: u32,
    /// A backup has taken the current view's primary's state; until then it acks nothing,
    /// since its sequence numbers may count another primary's writes.
    synced: bool,
    /// Primary: per backup, the latest heartbeat it confirmed (send time on our clock).
    leases: BTreeMap<NodeId, SimTime>,
    /// Per client, the latest request ids this replica took (answered, refused or waiting).
    requests: BTreeMap<NodeId, BTreeSet<u64>>,
    /// The view service, if it decides the views.
    view_server: Option<NodeId>,
    /// With a view service: the members of view `view`, once the service told us.
    members: Option<View>,
    /// With a view service: the view this replica serves in as primary (acknowledged), 0: none.
    ready: u64,
    /// This replica's id (its snapshot is compared only while it is a member of its view).
    me: NodeId,
}

/// The view service as a node: the decisions of `ViewService`, pings in, views out; each new
/// view is recorded in the history as the event `view` (number, primary id, backup id or null).
#[derive(Clone, Debug)]
pub struct ViewServer {
    service: ViewService,
    heartbeat: Duration,
}

/// A primary-backup node: a replica or a client.
#[derive(Debug)]
pub enum PbNode {
    /// A storage replica.
    Replica(Box<Replica>),
    /// A workload client.
    Client(Box<KvClient>),
    /// The view service (with `view_service` only).
    ViewServer(Box<ViewServer>),
}

impl Replica {
    /// The primary of `view`.
    fn primary_of(&self, view: u64) -> NodeId {
        self.replicas[(view % self.replicas.len() as u64) as usize]
    }

    /// True if this replica believes it is the primary.
    pub fn is_primary(&self, me: NodeId) -> bool {
        if self.view_server.is_some() {
            return self.members.is_some_and(|m| m.primary == me);
        }
        self.primary_of(self.view) == me
    }

    /// True if this replica is the primary or the backup of the view it knows (always, without
    /// a view service).
    fn is_member(&self) -> bool {
        let me = self.me;
        self.view_server.is_none()
            || self
                .members
                .is_some_and(|m| m.primary == me || m.backup == Some(me))
    }

    /// Where a client should go instead (the view's primary, if known).
    fn primary_hint(&self) -> Option<NodeId> {
        match self.view_server {
            Some(_) => self.members.map(|m| m.primary),
            None => Some(self.primary_of(self.view)),
        }
    }

    /// The current view.
    pub fn view(&self) -> u64 {
        self.view
    }

    fn digest(&self) -> u64 {
        // FNV-1a over the sorted map: equal maps give equal digests.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (k, v) in &self.map {
            for x in [*k, *v] {
                h ^= x;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    }

    fn persist_view(&self, ctx: &mut Context<'_, PbNode>) {
        ctx.storage().put("view", self.view);
        ctx.storage().sync();
    }

    /// Writes `key` (or, with `None`, the whole map) and the counters durably.
    fn persist(&self, ctx: &mut Context<'_, PbNode>, key: Option<u64>) {
        let st = ctx.storage();
        st.put("view", self.view);
        st.put("seq", self.seq);
        match key {
            Some(k) => st.put(format!("k/{k:020}"), self.map[&k]),
            None => {
                st.delete_from("k/", "k/");
                for (k, v) in &self.map {
                    st.put(format!("k/{k:020}"), *v);
                }
            }
        }
        st.sync();
    }

    /// The acknowledgement a backup sends: nothing counts until it holds this view's state.
    fn ack(&self) -> PbMsg {
        PbMsg::Ack {
            view: self.view,
            seq: if self.synced { self.seq } else { 0 },
        }
    }

    /// Sends the acknowledgement, except that under a view service an unsynced backup sends
    /// none: the primary counts the first one as "took my state".
    fn send_ack(&self, ctx: &mut Context<'_, PbNode>, to: NodeId) {
        if self.view_server.is_none() || self.synced {
            ctx.send(to, self.ack());
        }
    }

    /// The backups of the current view if `me` is its primary (every other replica, without a
    /// view service).
    fn backups(&self, me: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let vs = self.view_server.is_some();
        self.replicas.iter().copied().filter(move |r| match vs {
            true => self
                .members
                .is_some_and(|m| m.primary == me && m.backup == Some(*r)),
            false => *r != me,
        })
    }

    fn adopt_view(&mut self, ctx: &mut Context<'_, PbNode>, view: u64) {
        if view <= self.view {
            return;
        }
        if self.view_server.is_some() {
            // A newer view exists; only the view service says who is in it: serve nothing until
            // it does.
            self.view = view;
            self.members = None;
            self.ready = 0;
            self.synced = false;
            self.behind = 0;
            self.waiting.clear();
            self.persist_view(ctx);
            return;
        }
        let was_primary = self.is_primary(ctx.id());
        self.view = view;
        self.last_heard = ctx.now();
        self.behind = 0;
        // Writes waiting for acks in the old view will never be acknowledged by this replica.
        self.waiting.clear();
        self.synced = self.is_primary(ctx.id());
        self.persist_view(ctx);
        if self.is_primary(ctx.id()) && !was_primary {
            self.take_over(ctx);
        }
    }

    fn take_over(&mut self, ctx: &mut Context<'_, PbNode>) {
        self.acked.clear();
        self.leases.clear();
        let me = ctx.id();
        ctx.note(|| "became primary".to_string());
        let map: Vec<(u64, u64)> = self.map.iter().map(|(k, v)| (*k, *v)).collect();
        let backups: Vec<NodeId> = self.backups(me).collect();
        for b in backups {
            ctx.send(
                b,
                PbMsg::State {
                    view: self.view,
                    seq: self.seq,
                    map: map.clone(),
                },
            );
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, PbNode>) {
        let me = ctx.id();
        if let Some(vs) = self.view_server {
            ctx.send(vs, PbMsg::Ping { acked: self.ready });
        }
        if self.is_primary(me) {
            let (view, seq, digest) = (self.view, self.seq, self.digest());
            let backups: Vec<NodeId> = self.backups(me).collect();
            for b in backups {
                ctx.send(
                    b,
                    PbMsg::Heartbeat {
                        view,
                        sent: ctx.now(),
                        seq,
                        digest,
                    },
                );
            }
            self.check_ready(ctx);
        } else if self.view_server.is_some() {
            // The view service suspects; a backup never moves on by itself.
        } else if ctx.now().since(self.last_heard) >= self.params.suspect_after {
            let next = self.view + 1;
            ctx.note(|| format!("suspects primary, moves to view {next}"));
            self.adopt_view(ctx, next);
        }
    }

    /// True the first time this replica sees request `id` of `client`: a copy the network
    /// duplicated is not carried out again, and one it delayed past a refusal is not carried out
    /// after all (the client took the refusal as the answer).
    fn first_copy(&mut self, client: NodeId, id: u64) -> bool {
        let seen = self.requests.entry(client).or_default();
        if !seen.insert(id) {
            return false;
        }
        if seen.len() > REMEMBERED_REQUESTS {
            seen.pop_first();
        }
        true
    }

    fn on_request(&mut self, ctx: &mut Context<'_, PbNode>, from: NodeId, req: KvRequest) {
        let me = ctx.id();
        if !self.first_copy(from, req.id) {
            return;
        }
        let reply = |ctx: &mut Context<'_, PbNode>, result| {
            ctx.send(from, PbMsg::Rep(KvReply { id: req.id, result }))
        };
        if !self.is_primary(me) {
            if let (KvOp::Get { key }, true) = (req.op, self.params.read_from_backup) {
                return reply(ctx, KvResult::Done(self.map.get(&key).copied()));
            }
            let leader = self.primary_hint();
            return reply(ctx, KvResult::NotLeader { leader });
        }
        if self.view_server.is_some() && self.ready != self.view {
            // Not acknowledged yet: the backup may not hold this primary's state.
            return reply(ctx, KvResult::Unavailable);
        }
        // ANCHOR: write_path
        let (key, value) = match req.op {
            KvOp::Get { .. } if self.params.fencing && !self.lease_valid(ctx) => {
                return reply(ctx, KvResult::Unavailable);
            }
            KvOp::Get { key } => {
                let result = KvResult::Done(self.map.get(&key).copied());
                return self.answer_when_replicated(ctx, from, req.id, result);
            }
            KvOp::Put { key, value } => (key, value),
            KvOp::Cas { key, from: f, to } => {
                if self.map.get(&key).copied() != f {
                    return self.answer_when_replicated(ctx, from, req.id, KvResult::CasMismatch);
                }
                (key, to)
            }
        };
        self.seq += 1;
        self.map.insert(key, value);
        self.persist(ctx, Some(key));
        let (view, seq) = (self.view, self.seq);
        let backups: Vec<NodeId> = self.backups(me).collect();
        for b in &backups {
            ctx.send(
                *b,
                PbMsg::Replicate {
                    view,
                    seq,
                    key,
                    value,
                },
            );
        }
        match self.params.mode {
            Mode::Async => reply(ctx, KvResult::Done(None)),
            Mode::Sync if backups.is_empty() => reply(ctx, KvResult::Done(None)),
            Mode::Sync => self.waiting.push(Waiting {
                seq,
                client: from,
                request: req.id,
                result: KvResult::Done(None),
            }),
        }
        // ANCHOR_END: write_path
    }

    /// Answers a read (or a compare that failed) from the primary's state. In sync mode that
    /// state may hold writes no backup has yet, which a failover would lose: the answer waits
    /// until every write applied so far is on every backup, so no client sees a write that can
    /// still vanish.
    fn answer_when_replicated(
        &mut self,
        ctx: &mut Context<'_, PbNode>,
        client: NodeId,
        request: u64,
        result: KvResult,
    ) {
        let done = self.replicated_through(ctx.id());
        if self.params.mode == Mode::Async || done >= self.seq {
            ctx.send(
                client,
                PbMsg::Rep(KvReply {
                    id: request,
                    result,
                }),
            );
            return;
        }
        self.waiting.push(Waiting {
            seq: self.seq,
            client,
            request,
            result,
        });
    }

    /// True while no backup can have moved to a new view: every backup confirmed a heartbeat
    /// sent less than three quarters of `suspect_after` ago (a margin for clock drift).
    fn lease_valid(&self, ctx: &Context<'_, PbNode>) -> bool {
        let me = ctx.id();
        let margin = Duration(self.params.suspect_after.0 / 4 * 3);
        self.backups(me).all(|b| {
            self.leases
                .get(&b)
                .is_some_and(|sent| ctx.now() < *sent + margin)
        })
    }

    /// The last write every backup has applied (all of them, with no backup).
    fn replicated_through(&self, me: NodeId) -> u64 {
        self.backups(me)
            .map(|b| self.acked.get(&b).copied().unwrap_or(0))
            .min()
            .unwrap_or(self.seq)
    }

    /// Sync mode: acknowledge the writes every backup has applied.
    fn release(&mut self, ctx: &mut Context<'_, PbNode>) {
        if self.view_server.is_some() && self.ready != self.view {
            return;
        }
        let done = self.replicated_through(ctx.id());
        let (ready, rest): (Vec<Waiting>, Vec<Waiting>) =
            self.waiting.drain(..).partition(|w| w.seq <= done);
        self.waiting = rest;
        for w in ready {
            ctx.send(
                w.client,
                PbMsg::Rep(KvReply {
                    id: w.request,
                    result: w.result,
                }),
            );
        }
    }

    /// Fencing: a message from an older view is refused and its sender told the current view.
    fn fenced(&mut self, ctx: &mut Context<'_, PbNode>, from: NodeId, view: u64) -> bool {
        if view < self.view && self.params.fencing {
            ctx.send(from, PbMsg::Stale { view: self.view });
            return true;
        }
        if view > self.view && (self.params.fencing || !self.is_primary(ctx.id())) {
            self.adopt_view(ctx, view);
        }
        false
    }

    /// Applies buffered writes that follow on from `seq`; returns whether any was applied.
    fn drain_buffered(&mut self) -> Option<u64> {
        let mut applied = None;
        while self.synced {
            let Some((k, v)) = self.buffered.remove(&(self.seq + 1)) else {
                break;
            };
            self.seq += 1;
            self.map.insert(k, v);
            applied = Some(k);
        }
        applied
    }

    fn on_peer(&mut self, ctx: &mut Context<'_, PbNode>, from: NodeId, msg: PbMsg) {
        let me = ctx.id();
        match msg {
            PbMsg::Heartbeat {
                view,
                sent,
                seq,
                digest,
            } => {
                if self.fenced(ctx, from, view) {
                    return;
                }
                ctx.send(
                    from,
                    PbMsg::HeartbeatAck {
                        view: self.view,
                        sent,
                    },
                );
                self.last_heard = ctx.now();
                self.send_ack(ctx, from);
                // Twice out of step in a row (not just a write in flight): ask for the state.
                if !self.synced {
                    self.behind = 0;
                    ctx.send(from, PbMsg::StateRequest { view: self.view });
                } else if seq != self.seq || digest != self.digest() {
                    self.behind += 1;
                    if self.behind >= 2 {
                        self.behind = 0;
                        ctx.send(from, PbMsg::StateRequest { view: self.view });
                    }
                } else {
                    self.behind = 0;
                }
            }
            PbMsg::Replicate {
                view,
                seq,
                key,
                value,
            } => {
                if self.fenced(ctx, from, view) {
                    return;
                }
                self.last_heard = ctx.now();
                self.buffered.insert(seq, (key, value));
                let mut applied = self.drain_buffered();
                if !self.params.fencing {
                    // Without epochs a backup takes writes from anyone, in any order.
                    if applied.is_none() {
                        self.map.insert(key, value);
                        self.seq = self.seq.max(seq);
                        self.buffered.clear();
                        applied = Some(key);
                    }
                }
                self.buffered.retain(|s, _| *s > self.seq);
                if applied.is_some() {
                    self.persist(ctx, None);
                }
                self.send_ack(ctx, from);
            }
            PbMsg::Ack { view, seq } => {
                if view > self.view && self.params.fencing {
                    self.adopt_view(ctx, view);
                    return;
                }
                // Without fencing an ack counts whatever view it comes from.
                if self.is_primary(me) && (view == self.view || !self.params.fencing) {
                    let a = self.acked.entry(from).or_insert(0);
                    *a = (*a).max(seq.min(self.seq));
                    self.release(ctx);
                    self.check_ready(ctx);
                }
            }
            PbMsg::StateRequest { view } => {
                if self.fenced(ctx, from, view) || !self.is_primary(me) {
                    return;
                }
                let map = self.map.iter().map(|(k, v)| (*k, *v)).collect();
                ctx.send(
                    from,
                    PbMsg::State {
                        view: self.view,
                        seq: self.seq,
                        map,
                    },
                );
            }
            PbMsg::State { view, seq, map } => {
                if self.fenced(ctx, from, view) || self.is_primary(me) && self.params.fencing {
                    return;
                }
                self.last_heard = ctx.now();
                // A late reply to an earlier request: this view's primary numbers its writes in
                // order, so a synced backup already past `seq` would roll back acknowledged writes.
                if self.synced && view == self.view && seq < self.seq {
                    self.send_ack(ctx, from);
                    return;
                }
                self.map = map.into_iter().collect();
                self.seq = seq;
                self.synced = true;
                self.buffered.retain(|s, _| *s > seq);
                self.drain_buffered();
                self.behind = 0;
                self.persist(ctx, None);
                self.send_ack(ctx, from);
            }
            PbMsg::HeartbeatAck { view, sent } => {
                if view == self.view && self.is_primary(me) {
                    let l = self.leases.entry(from).or_insert(sent);
                    *l = (*l).max(sent);
                }
            }
            PbMsg::Stale { view } => {
                if self.params.fencing {
                    self.adopt_view(ctx, view);
                }
            }
            PbMsg::ViewIs(v) => self.on_view(ctx, v),
            PbMsg::Req(_) | PbMsg::Rep(_) | PbMsg::Ping { .. } => {}
        }
    }

    /// The view service's view: the primary hands the backup its whole state; anyone else
    /// waits for the new view's primary.
    fn on_view(&mut self, ctx: &mut Context<'_, PbNode>, v: View) {
        let me = ctx.id();
        if v.num < self.view || self.members.is_some_and(|m| m.num == v.num) {
            return;
        }
        let stays_primary = self.is_primary(me) && v.primary == me && self.ready == self.view;
        if v.num > self.view {
            self.view = v.num;
            self.behind = 0;
            self.synced = false;
            self.persist_view(ctx);
        }
        self.members = Some(v);
        self.ready = 0;
        if v.primary != me {
            self.waiting.clear();
            return;
        }
        // Writes this primary applied in the old view are on its disk; they are answered once
        // the new view is acknowledged (the state transfer carries them). Anything else waiting
        // was taken while not primary and is dropped.
        if !stays_primary {
            self.waiting.clear();
        }
        ctx.note(|| format!("primary of view {}", v.num));
        self.synced = true;
        self.acked.clear();
        self.leases.clear();
        if let Some(b) = v.backup {
            let map = self.map.iter().map(|(k, v)| (*k, *v)).collect();
            let state = PbMsg::State {
                view: self.view,
                seq: self.seq,
                map,
            };
            ctx.send(b, state);
        }
        self.check_ready(ctx);
    }

    /// With a view service: acknowledges the view once every backup took this primary's state
    /// and the read lease a promoted backup granted the old primary has run out, then serves.
    fn check_ready(&mut self, ctx: &mut Context<'_, PbNode>) {
        let me = ctx.id();
        let Some(vs) = self.view_server else {
            return;
        };
        if !self.is_primary(me) || self.ready == self.view {
            return;
        }
        if !self.backups(me).all(|b| self.acked.contains_key(&b)) {
            return;
        }
        if ctx.now() < self.last_heard + self.params.suspect_after {
            return;
        }
        self.ready = self.view;
        ctx.note(|| format!("serves view {}", self.view));
        ctx.send(vs, PbMsg::Ping { acked: self.ready });
        self.release(ctx);
    }
}

impl ViewServer {
    fn persist(&self, ctx: &mut Context<'_, PbNode>) {
        let Some(v) = self.service.view() else {
            return;
        };
        let st = ctx.storage();
        st.put("vs/num", v.num);
        st.put("vs/primary", u64::from(v.primary.0));
        st.put("vs/backup", v.backup.map_or(0, |b| u64::from(b.0) + 1));
        st.put("vs/acked", u64::from(self.service.acked()));
        st.sync();
    }

    fn on_ping(&mut self, ctx: &mut Context<'_, PbNode>, from: NodeId, acked: u64) {
        let was_acked = self.service.acked();
        self.service.on_ping(from, acked, ctx.now());
        if self.service.acked() != was_acked {
            self.persist(ctx);
        }
        if let Some(v) = self.service.view() {
            ctx.send(from, PbMsg::ViewIs(v));
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, PbNode>) {
        let Some(v) = self.service.on_check(ctx.now()) else {
            return;
        };
        self.persist(ctx);
        ctx.note(|| format!("view {}: {v:?}", v.num));
        let backup = v.backup.map(|b| b.0);
        ctx.event(Op::custom("view", &(v.num, v.primary.0, backup)));
        // The members hear at once; everyone else at its next ping.
        for to in std::iter::once(v.primary).chain(v.backup) {
            ctx.send(to, PbMsg::ViewIs(v));
        }
    }
}

impl Node for PbNode {
    type Msg = PbMsg;
    type Timer = PbTimer;
    type Stored = u64;

    fn heap_bytes(&self) -> u64 {
        match self {
            PbNode::Replica(r) => {
                (r.replicas.capacity() * 4
                    + (r.map.len() + r.acked.len() + r.buffered.len() + r.leases.len()) * 40
                    + r.requests.values().map(BTreeSet::len).sum::<usize>() * 8
                    + r.waiting.capacity() * 32) as u64
            }
            PbNode::Client(_) | PbNode::ViewServer(_) => 0,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        Some(match self {
            PbNode::Client(c) => c.describe_tree(),
            other => crate::describe::Describe::text(format!("{other:#?}")),
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            PbNode::Client(c) => c.on_start(ctx),
            PbNode::Replica(r) => {
                r.last_heard = ctx.now();
                r.synced = r.is_primary(ctx.id());
                ctx.set_timer(r.params.heartbeat, PbTimer::Tick);
            }
            PbNode::ViewServer(v) => {
                v.service.boot(ctx.now());
                ctx.set_timer(v.heartbeat, PbTimer::Tick);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PbMsg) {
        match (self, msg) {
            (PbNode::Client(c), PbMsg::Rep(reply)) => c.on_reply(ctx, from, reply),
            (PbNode::Replica(r), PbMsg::Req(req)) => r.on_request(ctx, from, req),
            (PbNode::Replica(r), msg) => r.on_peer(ctx, from, msg),
            (PbNode::ViewServer(v), PbMsg::Ping { acked }) => v.on_ping(ctx, from, acked),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: PbTimer) {
        match (self, timer) {
            (PbNode::Client(c), PbTimer::Client(t)) => c.on_timer(ctx, t),
            (PbNode::Replica(r), PbTimer::Tick) => {
                ctx.set_timer(r.params.heartbeat, PbTimer::Tick);
                r.on_tick(ctx);
            }
            (PbNode::ViewServer(v), PbTimer::Tick) => {
                ctx.set_timer(v.heartbeat, PbTimer::Tick);
                v.on_tick(ctx);
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            // Under a view service an idle replica keeps whatever it had: only members agree.
            PbNode::Replica(r) if r.view_server.is_some() && !r.is_member() => None,
            PbNode::Replica(r) => Some(super::snapshot(&r.map)),
            PbNode::Client(_) | PbNode::ViewServer(_) => None,
        }
    }
}

impl Protocol for PrimaryBackupParams {
    type Node = PbNode;

    const NAME: &'static str = "PrimaryBackup";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "replica")?;
        require_role(plan, Self::NAME, "client")?;
        let view_servers = plan.roster.members("viewserver").len();
        match (self.view_service, view_servers) {
            (true, 1) | (false, 0) => {}
            (true, n) => {
                return Err(format!(
                    "PrimaryBackup with view_service needs exactly one node of role `viewserver`; the scenario has {n}"
                ))
            }
            (false, _) => {
                return Err("PrimaryBackup has `viewserver` nodes but view_service is off; set view_service: true or remove them".into())
            }
        }
        if self.heartbeat == Duration::ZERO {
            return Err("PrimaryBackup heartbeat must be greater than zero".into());
        }
        if self.suspect_after <= self.heartbeat {
            return Err(format!(
                "PrimaryBackup suspect_after ({}) must be longer than heartbeat ({})",
                self.suspect_after, self.heartbeat
            ));
        }
        Ok(())
    }

    fn open_loop(&self) -> bool {
        true
    }

    /// A backup suspects a silent primary after `suspect_after` and moves to the next view,
    /// which may need another round if that primary is down too; a client's call that was cut
    /// off is retried once its timeout runs out: two suspicions, two heartbeats and a client
    /// timeout. (With a view service: its suspicion and check, then the promoted backup's wait
    /// for the old primary's lease, which ran from before the suspicion: within the same bound.)
    fn recovery(&self, plan: &Plan) -> Option<Duration> {
        let view = self.suspect_after.0.saturating_add(self.heartbeat.0);
        Some(Duration(
            view.saturating_mul(2)
                .saturating_add(plan.workload().timeout.0),
        ))
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Linearizable", "Durable", "Converged", "StaleReads"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<PbNode> {
        let params = self.clone();
        let replicas = plan.roster.members("replica");
        let clients = plan.roster.members("client");
        let view_server = plan.roster.members("viewserver").first().copied();
        let config = ClientConfig::from_plan(plan, clients.len(), self.final_reads);
        let policy = if self.read_from_backup {
            Target::Any
        } else {
            Target::Leader
        };
        Box::new(move |id, roster, storage| {
            if roster.role(id) == "viewserver" {
                return PbNode::ViewServer(Box::new(ViewServer {
                    service: ViewService::new(
                        replicas.clone(),
                        params.suspect_after,
                        stored_view(storage),
                    ),
                    heartbeat: params.heartbeat,
                }));
            }
            if roster.role(id) == "client" {
                return PbNode::Client(Box::new(KvClient::new(
                    config.clone(),
                    replicas.clone(),
                    policy,
                )));
            }
            let map = storage
                .scan("k/")
                .filter_map(|(k, v)| Some((k.strip_prefix("k/")?.parse().ok()?, *v)))
                .collect();
            PbNode::Replica(Box::new(Replica {
                params: params.clone(),
                replicas: replicas.clone(),
                view: storage.get("view").copied().unwrap_or(0),
                seq: storage.get("seq").copied().unwrap_or(0),
                map,
                last_heard: SimTime::ZERO,
                acked: BTreeMap::new(),
                waiting: Vec::new(),
                buffered: BTreeMap::new(),
                behind: 0,
                synced: false,
                leases: BTreeMap::new(),
                requests: BTreeMap::new(),
                view_server,
                members: None,
                ready: 0,
                me: id,
            }))
        })
    }
}

/// The view a restarted view service had made, and whether it was acknowledged.
fn stored_view(storage: &crate::storage::Storage<u64>) -> Option<(View, bool)> {
    let num = *storage.get("vs/num")?;
    let primary = NodeId(u32::try_from(*storage.get("vs/primary")?).ok()?);
    let backup = match storage.get("vs/backup").copied().unwrap_or(0) {
        0 => None,
        b => Some(NodeId(u32::try_from(b - 1).ok()?)),
    };
    let acked = storage.get("vs/acked").is_some_and(|a| *a != 0);
    Some((
        View {
            num,
            primary,
            backup,
        },
        acked,
    ))
}
