//! The worker: asks the primary for a task, processes it for a simulated time, hands the effect
//! to the sink and (reliable variant) acks the task. All of it is volatile: a crash forgets it.
use super::{Cluster, QueueMsg, QueueNode, QueueParams, QueueTimer, Variant};
use crate::history::Op;
use crate::net::Latency;
use crate::node::{Context, NodeId};
use crate::time::Duration;
use std::sync::Arc;

/// What a worker is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Doing {
    /// Nothing; a poll is scheduled.
    Idle,
    /// Waiting for the answer to dequeue attempt `n`.
    Asking(u64),
    /// Processing a task.
    Processing(u64),
    /// Waiting for the sink to confirm a task.
    Applying(u64),
}

/// A worker node.
#[derive(Clone, Debug)]
pub struct Worker {
    variant: Variant,
    processing: Latency,
    poll: Duration,
    cluster: Arc<Cluster>,
    server: usize,
    attempt: u64,
    doing: Doing,
    ack_on_receipt: bool,
}

/// What a worker is doing and where it asks; its configuration (the processing time draws,
/// which hold floats) is the same in every state of a run and left out.
impl std::hash::Hash for Worker {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.server, self.attempt, self.doing).hash(h);
    }
}

impl Worker {
    /// What it is doing and whom it asks, then its configuration, for the debugger.
    pub(super) fn describe_tree(&self) -> crate::describe::Describe {
        let mut d = crate::describe::Describe::new();
        d.field(
            "doing",
            match self.doing {
                Doing::Idle => "nothing: a poll is due".to_string(),
                Doing::Asking(n) => format!("asking for a task (attempt {n})"),
                Doing::Processing(t) => format!("processing task {t}"),
                Doing::Applying(t) => format!("waiting for the sink to apply task {t}"),
            },
        )
        .node("asks", Some(self.server()));
        d.config("variant", format!("{:?}", self.variant))
            .config("poll", self.poll)
            .config("acks on receipt", self.ack_on_receipt);
        self.cluster.describe_into(&mut d);
        d
    }

    /// A fresh worker (workers keep nothing on disk).
    pub fn new(params: &QueueParams, cluster: Arc<Cluster>) -> Self {
        Worker {
            variant: params.variant,
            processing: params.processing.clone(),
            poll: params.poll,
            cluster,
            server: 0,
            attempt: 0,
            doing: Doing::Idle,
            ack_on_receipt: params.ack_on_receipt,
        }
    }

    fn server(&self) -> NodeId {
        self.cluster.servers[self.server % self.cluster.servers.len()]
    }

    fn next_server(&mut self) {
        self.server = (self.server + 1) % self.cluster.servers.len();
    }

    pub(super) fn on_start(&mut self, ctx: &mut Context<'_, QueueNode>) {
        ctx.set_timer(self.poll, QueueTimer::Poll);
    }

    fn idle(&mut self, ctx: &mut Context<'_, QueueNode>, after: Duration) {
        self.doing = Doing::Idle;
        ctx.set_timer(after, QueueTimer::Poll);
    }

    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        _from: NodeId,
        msg: QueueMsg,
    ) {
        match msg {
            QueueMsg::Task { task } => {
                // A task arriving while busy (a duplicated or late reply) is left to its lease;
                // for the naive queue it is simply lost, as with a real LPOP.
                if let Doing::Asking(_) = self.doing {
                    ctx.event(Op::Dequeue { task });
                    if self.ack_on_receipt && self.variant == Variant::Reliable {
                        ctx.send(self.server(), QueueMsg::Ack { task });
                    }
                    self.doing = Doing::Processing(task);
                    let took = self.processing.sample(ctx.rng());
                    ctx.set_timer(took, QueueTimer::Processed(task));
                }
            }
            QueueMsg::Empty => {
                if let Doing::Asking(_) = self.doing {
                    self.idle(ctx, self.poll);
                }
            }
            QueueMsg::NotPrimary { hint } => {
                if let Doing::Asking(_) = self.doing {
                    self.server = hint as usize;
                    self.idle(ctx, self.poll);
                }
            }
            QueueMsg::Applied { task } if self.doing == Doing::Applying(task) => {
                if self.variant == Variant::Reliable && !self.ack_on_receipt {
                    ctx.send(self.server(), QueueMsg::Ack { task });
                }
                self.idle(ctx, Duration::ZERO);
            }
            _ => {}
        }
    }

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_, QueueNode>, timer: QueueTimer) {
        match timer {
            QueueTimer::Poll if self.doing == Doing::Idle => {
                self.attempt += 1;
                self.doing = Doing::Asking(self.attempt);
                ctx.send(self.server(), QueueMsg::Dequeue);
                ctx.set_timer(self.cluster.timeout, QueueTimer::PollTimeout(self.attempt));
            }
            QueueTimer::PollTimeout(n) if self.doing == Doing::Asking(n) => {
                self.next_server();
                self.idle(ctx, Duration::ZERO);
            }
            QueueTimer::Processed(task) if self.doing == Doing::Processing(task) => {
                ctx.event(Op::Complete { task });
                self.doing = Doing::Applying(task);
                ctx.send(self.cluster.sink, QueueMsg::Apply { task });
                ctx.set_timer(self.cluster.timeout, QueueTimer::ApplyTimeout(task));
            }
            QueueTimer::ApplyTimeout(task) if self.doing == Doing::Applying(task) => {
                // At-least-once towards the sink: resend until it confirms.
                ctx.send(self.cluster.sink, QueueMsg::Apply { task });
                ctx.set_timer(self.cluster.timeout, QueueTimer::ApplyTimeout(task));
            }
            _ => {}
        }
    }
}
