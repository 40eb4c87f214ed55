//! Primary-backup replication of the queue server: heartbeats, a view rule (the lowest-numbered
//! server a node hears from is primary), enqueue acks only after live backups hold the task,
//! and a versioned state merge when a server restarts or a peer comes back.
use super::server::{PendingAck, Server};
use super::{QueueMsg, QueueNode, QueueTimer, TaskRecord};
use crate::node::{Context, NodeId};

impl Server {
    fn peers(&self) -> usize {
        self.cluster.servers.len()
    }

    /// Boots replication: a (re)started replica first fetches every peer's state.
    pub(super) fn start_replication(&mut self, ctx: &mut Context<'_, QueueNode>) {
        if self.peers() < 2 {
            return;
        }
        let now = ctx.now();
        // Peers get a grace period: they count as alive until they stay silent for `failover`.
        self.last_heard.iter_mut().for_each(|t| *t = now);
        self.alive.iter_mut().for_each(|a| *a = true);
        self.begin_recovery(ctx);
        ctx.set_timer(self.heartbeat, QueueTimer::Heartbeat);
    }

    /// Forgets that it heard its peers and fetches their state again (a server starting over
    /// in place).
    pub(super) fn restart_replication(&mut self, ctx: &mut Context<'_, QueueNode>) {
        if self.peers() >= 2 {
            self.recovering = false;
            self.begin_recovery(ctx);
        }
    }

    /// Stops serving until every peer's state is merged: every acknowledged task sits on a
    /// majority, and a peer that acks later knows we are alive and copies to us first.
    fn begin_recovery(&mut self, ctx: &mut Context<'_, QueueNode>) {
        if !self.recovering {
            self.recovering = true;
            self.synced_from = 0;
            self.ask_for_state(ctx);
        }
    }

    fn all_peers(&self) -> u32 {
        ((1u64 << self.peers()) - 1) as u32 & !(1 << self.me)
    }

    fn ask_for_state(&self, ctx: &mut Context<'_, QueueNode>) {
        for (i, s) in self.cluster.servers.iter().enumerate() {
            if i != self.me && self.synced_from & (1 << i) == 0 {
                ctx.send(*s, QueueMsg::SyncReq { recovering: true });
            }
        }
        ctx.set_timer(self.failover, QueueTimer::Recovered);
    }

    /// The server this node believes is primary: the lowest-numbered live one.
    pub(super) fn primary_guess(&self) -> usize {
        (0..self.peers())
            .find(|&i| {
                if i == self.me {
                    !self.suspect
                } else {
                    self.alive[i] && !self.peer_recovering[i]
                }
            })
            .unwrap_or(self.me)
    }

    /// True when this node serves clients.
    pub(super) fn is_primary(&self) -> bool {
        !self.recovering && !self.suspect && self.primary_guess() == self.me
    }

    /// Backups whose acknowledgement an enqueue needs: at least half the group must hold it.
    fn needed_backups(&self) -> u32 {
        (self.peers() / 2) as u32
    }

    /// Sends `task`'s record to every live backup.
    pub(super) fn replicate(&self, ctx: &mut Context<'_, QueueNode>, task: u64, rec: TaskRecord) {
        if self.peers() < 2 || !self.is_primary() {
            return;
        }
        for (i, s) in self.cluster.servers.iter().enumerate() {
            if i != self.me && self.alive[i] {
                ctx.send(*s, QueueMsg::Replicate { task, rec });
            }
        }
    }

    /// Acknowledges `task` to `producer` once enough live backups hold it.
    pub(super) fn await_backups(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        producer: NodeId,
        task: u64,
    ) {
        if self.peers() < 2 {
            ctx.send(producer, QueueMsg::EnqueueAck { task });
            return;
        }
        let waiting = (0..self.peers())
            .filter(|&i| i != self.me && self.alive[i])
            .fold(0u32, |m, i| m | (1 << i));
        self.pending.insert(
            task,
            PendingAck {
                producer,
                waiting,
                acked: 0,
            },
        );
    }

    fn settle(&mut self, ctx: &mut Context<'_, QueueNode>, task: u64) {
        if let Some(p) = self.pending.get(&task) {
            if p.waiting == 0 && p.acked >= self.needed_backups() {
                ctx.send(p.producer, QueueMsg::EnqueueAck { task });
                self.pending.remove(&task);
            }
        }
    }

    /// Takes `rec` if it is newer than ours; false when it is and the disk would not take it.
    fn merge(&mut self, ctx: &mut Context<'_, QueueNode>, task: u64, rec: TaskRecord) -> bool {
        let newer = self.tasks.get(&task).is_none_or(|mine| rec.ver > mine.ver);
        !newer || self.store(ctx, task, rec)
    }

    pub(super) fn on_peer_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        from: NodeId,
        msg: QueueMsg,
    ) {
        let Some(peer) = self.cluster.servers.iter().position(|s| *s == from) else {
            return;
        };
        self.heard(ctx, peer);
        match msg {
            QueueMsg::Heartbeat { recovering } => self.peer_recovering[peer] = recovering,
            // Confirmed only once our disk holds it.
            QueueMsg::Replicate { task, rec } if self.merge(ctx, task, rec) => {
                ctx.send(from, QueueMsg::ReplicateAck { task });
            }
            QueueMsg::ReplicateAck { task } => {
                if let Some(p) = self.pending.get_mut(&task) {
                    if p.waiting & (1 << peer) != 0 {
                        p.waiting &= !(1 << peer);
                        p.acked += 1;
                    }
                }
                self.settle(ctx, task);
            }
            QueueMsg::SyncReq { recovering } => {
                self.peer_recovering[peer] = recovering;
                let state = self.tasks.iter().map(|(t, r)| (*t, *r)).collect();
                ctx.send(from, QueueMsg::SyncState(state));
            }
            QueueMsg::SyncState(state) => {
                let mut all = true;
                for (task, rec) in state {
                    all &= self.merge(ctx, task, rec);
                }
                // A peer whose state did not all reach our disk is asked again.
                if self.recovering && all {
                    self.synced_from |= 1 << peer;
                    self.recovering = self.synced_from != self.all_peers();
                }
            }
            _ => {}
        }
    }

    /// Notes that `peer` spoke. A peer back from silence may hold tasks we lack: recover
    /// from everyone, and make it a backup of every enqueue still waiting.
    fn heard(&mut self, ctx: &mut Context<'_, QueueNode>, peer: usize) {
        self.last_heard[peer] = ctx.now();
        if !self.alive[peer] {
            self.alive[peer] = true;
            let to = self.cluster.servers[peer];
            let primary = self.is_primary();
            for (task, p) in self.pending.iter_mut() {
                p.waiting |= 1 << peer;
                if primary {
                    if let Some(rec) = self.tasks.get(task) {
                        ctx.send(
                            to,
                            QueueMsg::Replicate {
                                task: *task,
                                rec: *rec,
                            },
                        );
                    }
                }
            }
            self.begin_recovery(ctx);
        }
    }

    pub(super) fn on_replication_timer(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        timer: QueueTimer,
    ) {
        match timer {
            // Serving with a partial state could lose acknowledged tasks: keep asking instead.
            QueueTimer::Recovered if self.recovering => self.ask_for_state(ctx),
            QueueTimer::Heartbeat => {
                ctx.set_timer(self.heartbeat, QueueTimer::Heartbeat);
                let now = ctx.now();
                // A suspect server is not to be taken as primary either.
                let recovering = self.recovering || self.suspect;
                for (i, s) in self.cluster.servers.iter().enumerate() {
                    if i != self.me {
                        ctx.send(*s, QueueMsg::Heartbeat { recovering });
                    }
                }
                let mut lost = 0u32;
                for i in 0..self.peers() {
                    if i != self.me && self.alive[i] && now - self.last_heard[i] >= self.failover {
                        self.alive[i] = false;
                        lost |= 1 << i;
                    }
                }
                if lost != 0 {
                    // A dead backup no longer holds up acks; the majority rule still applies.
                    let tasks: Vec<u64> = self.pending.keys().copied().collect();
                    for task in tasks {
                        if let Some(p) = self.pending.get_mut(&task) {
                            p.waiting &= !lost;
                        }
                        self.settle(ctx, task);
                    }
                }
            }
            _ => {}
        }
    }
}
