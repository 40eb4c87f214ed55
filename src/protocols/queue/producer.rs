//! The producer: submits its share of the workload's tasks one at a time, retrying an
//! unanswered enqueue (same task id) against the next server until one acknowledges it.
use super::{Cluster, QueueMsg, QueueNode, QueueStored, QueueTimer};
use crate::history::{Op, OpId};
use crate::node::{Context, NodeId};
use crate::scenario::WorkloadSpec;
use crate::storage::Storage;
use crate::time::{Duration, SimTime};
use std::sync::Arc;

/// A client that submits tasks and records each enqueue as invoke / ok / info.
#[derive(Clone, Debug, Hash)]
pub struct Producer {
    index: u64,
    limit: u64,
    sent: u64,
    interval: Duration,
    start: Duration,
    stop: Option<Duration>,
    cluster: Arc<Cluster>,
    server: usize,
    attempt: u64,
    pending: Option<(u64, OpId)>,
}

impl Producer {
    /// What it has submitted and waits for, then its configuration, for the debugger.
    pub(super) fn describe_tree(&self) -> crate::describe::Describe {
        let mut d = crate::describe::Describe::new();
        d.field("submitted", format!("{} of {}", self.sent, self.limit))
            .node(
                "asks",
                self.cluster
                    .servers
                    .get(self.server % self.cluster.servers.len().max(1))
                    .copied(),
            )
            .field(
                "waiting for",
                self.pending.map_or("nothing".to_string(), |(task, _)| {
                    format!("task {task} to be acknowledged (attempt {})", self.attempt)
                }),
            );
        d.config("producer", self.index)
            .config("interval", self.interval)
            .config("start", self.start)
            .config(
                "stop",
                self.stop.map_or("never".to_string(), |t| t.to_string()),
            );
        self.cluster.describe_into(&mut d);
        d
    }

    /// A producer numbered `index` that submits `limit` tasks; resumes its count from storage.
    pub fn new(
        index: u64,
        limit: u64,
        workload: &WorkloadSpec,
        cluster: Arc<Cluster>,
        storage: &Storage<QueueStored>,
    ) -> Self {
        let sent = match storage.get("sent") {
            Some(QueueStored::Count(n)) => *n,
            _ => 0,
        };
        Producer {
            index,
            limit,
            sent,
            interval: workload.interval,
            start: workload.start,
            stop: workload.stop,
            cluster,
            server: 0,
            attempt: 0,
            pending: None,
        }
    }

    fn server(&self) -> NodeId {
        self.cluster.servers[self.server % self.cluster.servers.len()]
    }

    pub(super) fn on_start(&mut self, ctx: &mut Context<'_, QueueNode>) {
        let now = ctx.now();
        let first = SimTime::ZERO + self.start;
        let wait = if now < first {
            first - now
        } else {
            Duration::ZERO
        };
        ctx.set_timer(
            wait + Duration::from_micros(self.index * 100),
            QueueTimer::Produce,
        );
    }

    fn submit(&mut self, ctx: &mut Context<'_, QueueNode>, task: u64) {
        self.attempt += 1;
        let op = ctx.invoke(Op::Enqueue { task });
        self.pending = Some((task, op));
        ctx.send(self.server(), QueueMsg::Enqueue { task });
        ctx.set_timer(
            self.cluster.timeout,
            QueueTimer::EnqueueTimeout(self.attempt),
        );
    }

    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        _from: NodeId,
        msg: QueueMsg,
    ) {
        match msg {
            QueueMsg::EnqueueAck { task } => {
                if let Some((t, op)) = self.pending {
                    if t == task {
                        self.pending = None;
                        ctx.ok(op, Op::Enqueue { task });
                        ctx.set_timer(self.interval, QueueTimer::Produce);
                    }
                }
            }
            // A redirect within the same call: resend to the hinted server, same timeout.
            QueueMsg::NotPrimary { hint } => {
                self.server = hint as usize;
                if let Some((task, _)) = self.pending {
                    ctx.send(self.server(), QueueMsg::Enqueue { task });
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_, QueueNode>, timer: QueueTimer) {
        match timer {
            QueueTimer::Produce => {
                let stopped = self.stop.is_some_and(|s| ctx.now() >= SimTime::ZERO + s);
                if self.pending.is_some() || self.sent >= self.limit || stopped {
                    return;
                }
                // Task ids are unique per producer and survive restarts (count synced first).
                let task = (self.index << 32) | self.sent;
                self.sent += 1;
                ctx.storage().put("sent", QueueStored::Count(self.sent));
                ctx.storage().sync();
                self.submit(ctx, task);
            }
            QueueTimer::EnqueueTimeout(n) if n == self.attempt => {
                if let Some((task, op)) = self.pending {
                    ctx.info(op, Op::Enqueue { task });
                    if self.cluster.servers.len() > 1 {
                        self.server = (self.server + 1) % self.cluster.servers.len();
                    }
                    self.submit(ctx, task);
                }
            }
            _ => {}
        }
    }
}
