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
    /// Records are written with checksums and read back only when intact (`QueueParams`).
    pub(super) checksums: bool,
    /// A failed sync or a refused write is taken as success (the planted fsyncgate).
    pub(super) ignore_sync_failure: bool,
    /// Records read back at boot that could not be trusted (taken from peers instead).
    pub(super) damaged: usize,
    /// Its disk would not sync: it says and does nothing until it starts over.
    pub(super) silent: bool,
    /// It started over after its disk would not sync and no sync has worked since: it serves
    /// as a backup but never as primary.
    pub(super) suspect: bool,
}

/// Times a server writes every record again after a failed sync before it starts over.
const SYNC_ATTEMPTS: usize = 3;

fn key(task: u64) -> String {
    format!("t{task:016x}")
}

/// The ready tasks of `tasks`, in id order: the FIFO a server rebuilds from its disk.
fn ready_of(tasks: &BTreeMap<u64, TaskRecord>) -> VecDeque<u64> {
    tasks
        .iter()
        .filter(|(_, r)| r.state == TaskState::Ready)
        .map(|(t, _)| *t)
        .collect()
}

/// The task records a server's disk holds, and how many records it could not trust. With
/// `checksums`, a record that fails its checksum, cannot be read or names another task (a
/// misdirected write) is left out; without, every readable record is taken as it reads.
fn read_journal(
    storage: &Storage<QueueStored>,
    checksums: bool,
) -> (BTreeMap<u64, TaskRecord>, usize) {
    let mut tasks = BTreeMap::new();
    if !checksums {
        for (k, v) in storage.scan("t") {
            if let (Ok(task), QueueStored::Task(_, rec)) = (u64::from_str_radix(&k[1..], 16), v) {
                tasks.insert(task, *rec);
            }
        }
        return (tasks, 0);
    }
    let mut damaged = 0;
    for k in storage.keys("t") {
        let Ok(task) = u64::from_str_radix(&k[1..], 16) else {
            continue;
        };
        match storage.try_get(k) {
            Ok(Some(QueueStored::Task(id, rec))) if *id == task => {
                tasks.insert(task, *rec);
            }
            _ => damaged += 1,
        }
    }
    (tasks, damaged)
}

impl Server {
    /// Tasks by state, leases, the primary it believes in and what it waits for, then its
    /// configuration, for the debugger.
    pub(super) fn describe_tree(&self) -> crate::describe::Describe {
        use crate::describe::{Describe, Part};
        let mut d = Describe::new();
        let servers = &self.cluster.servers;
        d.node(
            "primary (believed)",
            servers.get(self.primary_guess()).copied(),
        );
        let mut tasks = Describe::new();
        for (task, r) in &self.tasks {
            let mut what = format!("{} (version {})", r.state.describe(), r.ver);
            if let Some(until) = self.leases.get(task) {
                what.push_str(&format!(", leased until {until}"));
            }
            tasks.field(format!("task {task}"), what);
        }
        let count = |st: super::TaskState| self.tasks.values().filter(|r| r.state == st).count();
        d.section(
            "tasks",
            format!(
                "{} ready, {} in flight, {} done",
                count(super::TaskState::Ready),
                count(super::TaskState::InFlight),
                count(super::TaskState::Done)
            ),
            tasks,
        );
        let ready: Vec<String> = self.ready.iter().map(u64::to_string).collect();
        d.field(
            "ready queue",
            if ready.is_empty() {
                "empty".into()
            } else {
                ready.join(", ")
            },
        );
        if servers.len() > 1 {
            let mut peers = Describe::new();
            for (i, s) in servers.iter().enumerate() {
                if i == self.me {
                    continue;
                }
                let mut what = format!(
                    ": {}, last heard {}",
                    if self.alive.get(i).copied().unwrap_or(false) {
                        "alive"
                    } else {
                        "presumed dead"
                    },
                    self.last_heard.get(i).copied().unwrap_or_default()
                );
                if self.peer_recovering.get(i).copied().unwrap_or(false) {
                    what.push_str(", recovering");
                }
                peers.parts("", vec![Part::Node(*s), Part::Text(what)]);
            }
            d.section("peers", "", peers);
        }
        let mut acks = Describe::new();
        for (task, p) in &self.pending {
            acks.parts(
                format!("task {task}"),
                vec![
                    Part::Text("acknowledge to ".into()),
                    Part::Node(p.producer),
                    Part::Text(format!(
                        " when {} more backups have it",
                        p.waiting.count_ones()
                    )),
                ],
            );
        }
        d.section("waiting for backups", self.pending.len(), acks);
        let mut flags = Vec::new();
        if self.recovering {
            flags.push("recovering");
        }
        if self.silent {
            flags.push("silent: its disk would not sync");
        }
        if self.suspect {
            flags.push("suspect: never primary until a sync works");
        }
        if !flags.is_empty() {
            d.field("state", flags.join("; "));
        }
        if self.damaged > 0 {
            d.field("records damaged at boot", self.damaged);
        }
        d.config("variant", format!("{:?}", self.variant))
            .config("durability", format!("{:?}", self.durability))
            .config("lease", self.lease)
            .config("heartbeat", self.heartbeat)
            .config("failover", self.failover)
            .config("checksums", self.checksums);
        self.cluster.describe_into(&mut d);
        d
    }

    /// Rebuilds a server from its storage: synced records only, ready tasks in id order.
    pub fn new(
        id: NodeId,
        params: &QueueParams,
        cluster: Arc<Cluster>,
        storage: &Storage<QueueStored>,
    ) -> Self {
        let (tasks, damaged) = read_journal(storage, params.checksums);
        let ready = ready_of(&tasks);
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
            checksums: params.checksums,
            ignore_sync_failure: params.ignore_sync_failure,
            damaged,
            silent: false,
            suspect: false,
        }
    }

    pub(super) fn on_start(&mut self, ctx: &mut Context<'_, QueueNode>) {
        let now = ctx.now();
        if self.damaged > 0 {
            let (n, peers) = (self.damaged, self.cluster.servers.len() > 1);
            ctx.note(|| {
                let then = if peers {
                    "takes those tasks from its peers"
                } else {
                    "has no peer to take them from"
                };
                format!("its disk held {n} record(s) it cannot trust: {then}")
            });
        }
        // What a process crash left unsynced is read back as if it were on disk: make it so
        // before acting on it (PostgreSQL syncs its data directory after a crash). A retried
        // enqueue of such a task is otherwise acknowledged with nothing durable behind it.
        if self.durability == Durability::SyncAlways && ctx.storage().has_unsynced() {
            self.sync(ctx);
        }
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

    /// Writes `task`'s new state with a bumped version and replicates it when primary; false
    /// (and nothing changed) when the disk would not take it.
    pub(super) fn set(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        task: u64,
        state: TaskState,
    ) -> bool {
        let ver = self.tasks.get(&task).map_or(1, |r| r.ver + 1);
        let rec = TaskRecord { ver, state };
        if !self.store(ctx, task, rec) {
            return false;
        }
        self.replicate(ctx, task, rec);
        true
    }

    /// Writes `task`'s record to the disk, checksummed unless the switch is off; false when
    /// the disk refused it (a full disk), unless refusals are ignored.
    fn write(&self, ctx: &mut Context<'_, QueueNode>, task: u64, rec: TaskRecord) -> bool {
        let value = QueueStored::Task(task, rec);
        let done = if self.checksums {
            ctx.storage().try_put_checked(key(task), value)
        } else {
            ctx.storage().try_put(key(task), value)
        };
        done.is_ok() || self.ignore_sync_failure
    }

    /// Syncs the disk; after a failure (unless ignored) writes every record again and retries,
    /// and starts over if it still will not sync. True when every record is durable.
    fn sync(&mut self, ctx: &mut Context<'_, QueueNode>) -> bool {
        if self.ignore_sync_failure {
            ctx.storage().sync();
            return true;
        }
        for _ in 0..SYNC_ATTEMPTS {
            if ctx.storage().try_sync().is_ok() {
                self.suspect = false;
                return true;
            }
            ctx.note(|| "a sync failed: writes every record again and retries".to_string());
            let all: Vec<(u64, TaskRecord)> = self.tasks.iter().map(|(t, r)| (*t, *r)).collect();
            if !all.into_iter().all(|(t, r)| self.write(ctx, t, r)) {
                break;
            }
        }
        // As PostgreSQL panics on a failed fsync and its supervisor starts it again after a
        // pause: silent meanwhile, so its peers count it dead and wait for it no longer.
        self.silent = true;
        self.pending.clear();
        let pause = Duration(self.failover.0.saturating_mul(2));
        ctx.note(|| format!("its disk will not sync: stops for {pause}, then starts over"));
        ctx.set_timer(pause, QueueTimer::StartOver);
        false
    }

    /// Starts over as a restarted server would: the tasks its disk holds, fresh leases, no
    /// enqueue waiting for backups, its peers' state merged before it serves again, and, with
    /// peers, never primary until a sync works again.
    fn start_over(&mut self, ctx: &mut Context<'_, QueueNode>) {
        ctx.note(|| "starts over from what its disk holds".to_string());
        self.silent = false;
        self.suspect = self.cluster.servers.len() > 1;
        let (tasks, damaged) = read_journal(ctx.storage(), self.checksums);
        self.ready = ready_of(&tasks);
        let until = ctx.now() + self.lease;
        self.leases = tasks
            .iter()
            .filter(|(_, r)| r.state == TaskState::InFlight)
            .map(|(t, _)| (*t, until))
            .collect();
        self.tasks = tasks;
        self.damaged = damaged;
        self.pending.clear();
        self.restart_replication(ctx);
    }

    /// Installs `rec`: disk first (synced if the policy says so), then memory and indexes;
    /// false when the disk would not take it (memory then still agrees with the disk) or
    /// would not sync.
    pub(super) fn store(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        task: u64,
        rec: TaskRecord,
    ) -> bool {
        if !self.write(ctx, task, rec) {
            ctx.note(|| format!("its disk refused task {task}'s record: acknowledges nothing"));
            return false;
        }
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
        self.durability != Durability::SyncAlways || self.sync(ctx)
    }

    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        from: NodeId,
        msg: QueueMsg,
    ) {
        if self.silent {
            return;
        }
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
            None => {
                if !self.set(ctx, task, TaskState::Ready) {
                    return;
                }
            }
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
            if !self.set(ctx, task, next) {
                // Not handed out: it stays first in line.
                self.ready.push_front(task);
                return;
            }
            ctx.send(from, QueueMsg::Task { task });
            return;
        }
        ctx.send(from, QueueMsg::Empty);
    }
    // ANCHOR_END: on_dequeue

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_, QueueNode>, timer: QueueTimer) {
        if self.silent {
            return self.on_timer_while_silent(ctx, timer);
        }
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
                    if self.sync(ctx) {
                        ctx.set_timer(d, QueueTimer::Sync);
                    }
                }
            }
            other => self.on_replication_timer(ctx, other),
        }
    }

    /// A silent server's timers: the periodic ones come round again and do nothing, the one
    /// that ends the pause starts it over.
    fn on_timer_while_silent(&mut self, ctx: &mut Context<'_, QueueNode>, timer: QueueTimer) {
        match timer {
            QueueTimer::StartOver => self.start_over(ctx),
            QueueTimer::Reap => {
                ctx.set_timer(self.reap_every(), QueueTimer::Reap);
            }
            QueueTimer::Sync => {
                if let Durability::SyncEvery(d) = self.durability {
                    ctx.set_timer(d, QueueTimer::Sync);
                }
            }
            QueueTimer::Heartbeat => {
                ctx.set_timer(self.heartbeat, QueueTimer::Heartbeat);
            }
            _ => {}
        }
    }
}
