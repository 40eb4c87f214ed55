//! The queue server (the "Redis"): a FIFO of ready tasks, an in-flight set under leases
//! (reliable variant), every record written to storage under the durability policy.
use super::{Cluster, Durability, QueueMsg, QueueNode, QueueParams, QueueStored, QueueTimer};
use super::{TaskRecord, TaskState, Variant};
use crate::node::{Context, NodeId};
use crate::storage::Storage;
use crate::time::{Duration, SimTime};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// An enqueue waiting for backups before it is acknowledged.
#[derive(Copy, Clone, Debug, Hash)]
pub(super) struct PendingAck {
    /// Who to acknowledge.
    pub producer: NodeId,
    /// Backups (bit per server index) whose copy is still missing.
    pub waiting: u32,
    /// Backups that confirmed.
    pub acked: u32,
}

/// A queue server; with several servers, one replica of the primary-backup group.
#[derive(Clone, Debug, Hash)]
pub struct Server {
    pub(super) me: usize,
    pub(super) variant: Variant,
    pub(super) lease: Duration,
    pub(super) durability: Durability,
    pub(super) heartbeat: Duration,
    pub(super) failover: Duration,
    pub(super) cluster: Arc<Cluster>,
    pub(super) tasks: BTreeMap<u64, TaskRecord>,
    /// Ready tasks in FIFO order; may hold stale ids, skipped when popped.
    pub(super) ready: VecDeque<u64>,
    /// Lease deadlines of in-flight tasks (volatile: a restart grants fresh leases).
    pub(super) leases: BTreeMap<u64, SimTime>,
    pub(super) last_heard: Vec<SimTime>,
    pub(super) alive: Vec<bool>,
    pub(super) recovering: bool,
    /// Peers (bit per server index) whose state was merged since recovery began.
    pub(super) synced_from: u32,
    /// Peers that said they are recovering, so cannot be primary.
    pub(super) peer_recovering: Vec<bool>,
    pub(super) pending: BTreeMap<u64, PendingAck>,
}

fn key(task: u64) -> String {
    format!("t{task:016x}")
}

impl Server {
    /// Rebuilds a server from its storage: synced records only, ready tasks in id order.
    pub fn new(
        id: NodeId,
        params: &QueueParams,
        cluster: Arc<Cluster>,
        storage: &Storage<QueueStored>,
    ) -> Self {
        let mut tasks = BTreeMap::new();
        let mut ready = VecDeque::new();
        for (k, v) in storage.scan("t") {
            if let (Ok(task), QueueStored::Task(rec)) = (u64::from_str_radix(&k[1..], 16), v) {
                tasks.insert(task, *rec);
                if rec.state == TaskState::Ready {
                    ready.push_back(task);
                }
            }
        }
        let n = cluster.servers.len();
        Server {
            me: cluster.servers.iter().position(|s| *s == id).unwrap_or(0),
            variant: params.variant,
            lease: params.lease,
            durability: params.durability,
            heartbeat: params.heartbeat,
            failover: params.failover,
            cluster,
            tasks,
            ready,
            leases: BTreeMap::new(),
            last_heard: vec![SimTime::ZERO; n],
            alive: vec![true; n],
            recovering: false,
            synced_from: 0,
            peer_recovering: vec![false; n],
            pending: BTreeMap::new(),
        }
    }

    pub(super) fn on_start(&mut self, ctx: &mut Context<'_, QueueNode>) {
        let now = ctx.now();
        // Tasks in flight when the server went down get a fresh lease from now.
        ctx.sometimes(
            "the server boots with tasks in flight from before a crash",
            self.tasks.values().any(|r| r.state == TaskState::InFlight),
        );
        for (task, rec) in &self.tasks {
            if rec.state == TaskState::InFlight {
                self.leases.insert(*task, now + self.lease);
            }
        }
        if self.variant == Variant::Reliable {
            ctx.set_timer(self.reap_every(), QueueTimer::Reap);
        }
        if let Durability::SyncEvery(d) = self.durability {
            ctx.set_timer(d, QueueTimer::Sync);
        }
        self.start_replication(ctx);
    }

    fn reap_every(&self) -> Duration {
        Duration((self.lease.0 / 4).max(1))
    }

    /// Writes `task`'s new state with a bumped version; replicates it when primary.
    pub(super) fn set(&mut self, ctx: &mut Context<'_, QueueNode>, task: u64, state: TaskState) {
        let ver = self.tasks.get(&task).map_or(1, |r| r.ver + 1);
        let rec = TaskRecord { ver, state };
        self.store(ctx, task, rec);
        self.replicate(ctx, task, rec);
    }

    /// Installs `rec` locally: memory, indexes and disk (synced if the policy says so).
    pub(super) fn store(&mut self, ctx: &mut Context<'_, QueueNode>, task: u64, rec: TaskRecord) {
        self.tasks.insert(task, rec);
        match rec.state {
            TaskState::Ready => {
                self.leases.remove(&task);
                self.ready.push_back(task);
            }
            TaskState::InFlight => {
                self.leases.insert(task, ctx.now() + self.lease);
            }
            TaskState::Done => {
                self.leases.remove(&task);
            }
        }
        ctx.storage().put(key(task), QueueStored::Task(rec));
        if self.durability == Durability::SyncAlways {
            ctx.storage().sync();
        }
    }

    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        from: NodeId,
        msg: QueueMsg,
    ) {
        match msg {
            QueueMsg::Enqueue { task } => self.on_enqueue(ctx, from, task),
            QueueMsg::Dequeue => self.on_dequeue(ctx, from),
            QueueMsg::Ack { task } => {
                let in_flight = self
                    .tasks
                    .get(&task)
                    .is_some_and(|r| r.state == TaskState::InFlight);
                if in_flight && self.is_primary() {
                    self.set(ctx, task, TaskState::Done);
                }
            }
            other => self.on_peer_message(ctx, from, other),
        }
    }

    fn redirect(&self, ctx: &mut Context<'_, QueueNode>, to: NodeId) {
        let hint = self.primary_guess() as u32;
        ctx.send(to, QueueMsg::NotPrimary { hint });
    }

    fn on_enqueue(&mut self, ctx: &mut Context<'_, QueueNode>, from: NodeId, task: u64) {
        if !self.is_primary() {
            return self.redirect(ctx, from);
        }
        match self.tasks.get(&task) {
            None => self.set(ctx, task, TaskState::Ready),
            // A retried enqueue: copy the record again so backups surely have it.
            Some(rec) => {
                let rec = *rec;
                self.replicate(ctx, task, rec);
            }
        }
        self.await_backups(ctx, from, task);
    }

    // ANCHOR: on_dequeue
    fn on_dequeue(&mut self, ctx: &mut Context<'_, QueueNode>, from: NodeId) {
        if !self.is_primary() {
            return self.redirect(ctx, from);
        }
        while let Some(task) = self.ready.pop_front() {
            if self.tasks.get(&task).map(|r| r.state) != Some(TaskState::Ready) {
                continue;
            }
            let next = match self.variant {
                Variant::Naive => TaskState::Done,
                Variant::Reliable => TaskState::InFlight,
            };
            self.set(ctx, task, next);
            ctx.send(from, QueueMsg::Task { task });
            return;
        }
        ctx.send(from, QueueMsg::Empty);
    }
    // ANCHOR_END: on_dequeue

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_, QueueNode>, timer: QueueTimer) {
        match timer {
            // ANCHOR: reaper
            QueueTimer::Reap => {
                ctx.set_timer(self.reap_every(), QueueTimer::Reap);
                if !self.is_primary() {
                    return;
                }
                let now = ctx.now();
                let expired: Vec<u64> = self
                    .leases
                    .iter()
                    .filter(|(_, deadline)| **deadline <= now)
                    .map(|(t, _)| *t)
                    .collect();
                ctx.sometimes(
                    "a lease expires and its task is queued again",
                    !expired.is_empty(),
                );
                for task in expired {
                    self.set(ctx, task, TaskState::Ready);
                }
            }
            // ANCHOR_END: reaper
            QueueTimer::Sync => {
                if let Durability::SyncEvery(d) = self.durability {
                    ctx.storage().sync();
                    ctx.set_timer(d, QueueTimer::Sync);
                }
            }
            other => self.on_replication_timer(ctx, other),
        }
    }
}
