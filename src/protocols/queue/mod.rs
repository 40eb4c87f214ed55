//! The task queue of the seed: producers enqueue tasks on a queue server (the "Redis"), workers
//! take and process them, a sink applies each task's effect.
//!
//! Variants: `Naive` pops and forgets (at-most-once, the seed's `lpop` loop); `Reliable` leases
//! a popped task until the worker acks it (at-least-once). The sink can deduplicate by task id
//! (effectively-once). The server's state lives in durable storage under a sync policy, and with
//! several `server` nodes it is replicated primary-backup with failover.
mod producer;
mod replication;
mod server;
mod sink;
mod worker;

use super::require_role;
use crate::net::Latency;
use crate::node::{Context, Node, NodeFactory, NodeId, Roster};
use crate::protocol::Protocol;
use crate::scenario::Plan;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

pub use producer::Producer;
pub use server::Server;
pub use sink::Sink;
pub use worker::Worker;

/// Which delivery discipline the queue server implements.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// Pop and forget, like `LPOP`: a task taken by a worker that dies is gone.
    Naive,
    /// Pop into an in-flight set with a lease; unacked tasks become visible again.
    Reliable,
}

/// When the server's writes reach its disk.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Durability {
    /// Never synced: a crash loses the whole queue.
    InMemory,
    /// Synced on a timer, like `appendfsync everysec`: a crash loses the last window.
    SyncEvery(Duration),
    /// Synced before every reply: a crash loses nothing acknowledged.
    SyncAlways,
}

/// Parameters of the task queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueParams {
    /// Delivery discipline.
    pub variant: Variant,
    /// Visibility timeout of a taken task (reliable variant).
    pub lease: Duration,
    /// How long a worker spends on one task.
    pub processing: Latency,
    /// The server's sync policy.
    pub durability: Durability,
    /// The sink applies each task id at most once.
    pub idempotent_sink: bool,
    /// How long an idle worker waits before asking for work again.
    pub poll: Duration,
    /// Interval of heartbeats between replicated servers.
    pub heartbeat: Duration,
    /// Silence after which a server counts a peer as dead (and a backup takes over).
    pub failover: Duration,
    /// Workers ack a task as soon as they receive it, before processing it (Celery's default
    /// early ack, `acks_late = False`); `true` plants the bug: a worker that dies mid-task
    /// loses it, leases or not.
    pub ack_on_receipt: bool,
    /// Write each server record with a checksum and its task's id, and read back only the
    /// records that pass both; `false` plants the disk-trusting server: a corrupt record reads
    /// as another task's and a misdirected one is taken for the task whose key it sits under
    /// (Ganesan et al., FAST 2017). The protected server leaves a record it cannot trust out
    /// and takes the task's state from its peers, as it does after every restart.
    pub checksums: bool,
    /// Carry on after a failed sync or a refused write as if it had worked; `true` plants
    /// fsyncgate (PostgreSQL, 2018): a server acknowledges what its disk dropped. The protected server writes every
    /// record again and retries; if its disk still will not sync it stops for a moment, then
    /// starts over from what its disk holds and its peers' state, as a restarted server would,
    /// and is not primary again until a sync works.
    pub ignore_sync_failure: bool,
}

impl Default for QueueParams {
    fn default() -> Self {
        QueueParams {
            variant: Variant::Reliable,
            lease: Duration::from_millis(200),
            processing: Latency::Uniform {
                min: Duration::from_millis(5),
                max: Duration::from_millis(20),
            },
            durability: Durability::SyncAlways,
            idempotent_sink: false,
            poll: Duration::from_millis(10),
            heartbeat: Duration::from_millis(10),
            failover: Duration::from_millis(50),
            ack_on_receipt: false,
            checksums: true,
            ignore_sync_failure: false,
        }
    }
}

/// A task's state on a server, with a version so replicas can merge.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskRecord {
    /// Bumped on every change by the primary; the higher version wins a merge.
    pub ver: u32,
    /// Where the task is.
    pub state: TaskState,
}

impl TaskState {
    /// The state in words.
    fn describe(self) -> &'static str {
        match self {
            TaskState::Ready => "ready",
            TaskState::InFlight => "in flight",
            TaskState::Done => "done",
        }
    }
}

/// Where a task is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for a worker.
    Ready,
    /// Taken by a worker under a lease.
    InFlight,
    /// Acked (reliable) or popped (naive): never handed out again.
    Done,
}

/// Messages between the queue's roles.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum QueueMsg {
    /// Producer -> server: add `task`.
    Enqueue {
        /// Task id.
        task: u64,
    },
    /// Server -> producer: `task` is stored (and replicated).
    EnqueueAck {
        /// Task id.
        task: u64,
    },
    /// Server -> client: I am not the primary; try server number `hint`.
    NotPrimary {
        /// Index of the server believed to be primary.
        hint: u32,
    },
    /// Worker -> server: give me a task.
    Dequeue,
    /// Server -> worker: take `task`.
    Task {
        /// Task id.
        task: u64,
    },
    /// Server -> worker: nothing ready.
    Empty,
    /// Worker -> server: `task` is done, forget it.
    Ack {
        /// Task id.
        task: u64,
    },
    /// Worker -> sink: apply the effect of `task`.
    Apply {
        /// Task id.
        task: u64,
    },
    /// Sink -> worker: the effect of `task` is applied.
    Applied {
        /// Task id.
        task: u64,
    },
    /// Server -> server: I am alive (and whether I am still fetching state).
    Heartbeat {
        /// The sender is recovering and must not be taken as primary.
        recovering: bool,
    },
    /// Primary -> backup: `task` now has record `rec`.
    Replicate {
        /// Task id.
        task: u64,
        /// Its record.
        rec: TaskRecord,
    },
    /// Backup -> primary: I have `task`'s record.
    ReplicateAck {
        /// Task id.
        task: u64,
    },
    /// Server -> server: send me your whole state (after a restart or a heal).
    SyncReq {
        /// The sender is recovering and must not be taken as primary.
        recovering: bool,
    },
    /// Server -> server: my whole state.
    SyncState(Vec<(u64, TaskRecord)>),
}

/// Timers of the queue's roles.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum QueueTimer {
    /// Producer: submit the next task.
    Produce,
    /// Producer: enqueue attempt `n` got no answer.
    EnqueueTimeout(u64),
    /// Worker: ask for work.
    Poll,
    /// Worker: dequeue attempt `n` got no answer.
    PollTimeout(u64),
    /// Worker: finished processing `task`.
    Processed(u64),
    /// Worker: the sink did not confirm `task`.
    ApplyTimeout(u64),
    /// Server: send heartbeats and check peers.
    Heartbeat,
    /// Server: requeue tasks whose lease expired.
    Reap,
    /// Server: fsync (SyncEvery durability).
    Sync,
    /// Server: ask peers for their state again if still recovering.
    Recovered,
    /// Server: the pause after its disk would not sync is over; start over.
    StartOver,
}

/// What a queue node keeps on disk.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueStored {
    /// A server's record of a task, with the task's id (a record read under another task's key
    /// was misdirected).
    Task(u64, TaskRecord),
    /// A producer's count of tasks submitted.
    Count(u64),
    /// A sink's mark that a task's effect was applied.
    Applied,
}

/// Who is who, shared by every node of a run.
#[derive(Clone, Debug, Hash)]
pub struct Cluster {
    /// Queue servers in roster order; index 0 is the preferred primary.
    pub servers: Vec<NodeId>,
    /// The sink.
    pub sink: NodeId,
    /// Client timeout for enqueue, dequeue and apply.
    pub timeout: Duration,
}

impl Cluster {
    /// Who is who, as the configuration of a node's panel.
    fn describe_into(&self, d: &mut crate::describe::Describe) {
        d.config_nodes("servers", self.servers.iter().copied())
            .config_nodes("sink", [self.sink])
            .config("timeout", self.timeout);
    }

    fn from_roster(roster: &Roster, timeout: Duration) -> Self {
        Cluster {
            servers: roster.members("server"),
            sink: roster.members("sink").first().copied().unwrap_or(NodeId(0)),
            timeout,
        }
    }
}

/// A node of the queue protocol, one variant per role.
#[derive(Clone, Debug, Hash)]
pub enum QueueNode {
    /// Submits tasks.
    Producer(Producer),
    /// Holds the queue.
    Server(Server),
    /// Takes and processes tasks.
    Worker(Worker),
    /// Applies task effects.
    Sink(Sink),
    /// A node whose role the protocol does not use; it does nothing.
    Idle,
}

impl Node for QueueNode {
    type Msg = QueueMsg;
    type Timer = QueueTimer;
    type Stored = QueueStored;

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        Some(match self {
            QueueNode::Producer(n) => n.describe_tree(),
            QueueNode::Server(n) => n.describe_tree(),
            QueueNode::Worker(n) => n.describe_tree(),
            QueueNode::Sink(n) => n.describe_tree(),
            QueueNode::Idle => {
                crate::describe::Describe::text("idle: the queue gives this role nothing to do")
            }
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            QueueNode::Producer(n) => n.on_start(ctx),
            QueueNode::Server(n) => n.on_start(ctx),
            QueueNode::Worker(n) => n.on_start(ctx),
            QueueNode::Sink(_) | QueueNode::Idle => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: QueueMsg) {
        match self {
            QueueNode::Producer(n) => n.on_message(ctx, from, msg),
            QueueNode::Server(n) => n.on_message(ctx, from, msg),
            QueueNode::Worker(n) => n.on_message(ctx, from, msg),
            QueueNode::Sink(n) => n.on_message(ctx, from, msg),
            QueueNode::Idle => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: QueueTimer) {
        match self {
            QueueNode::Producer(n) => n.on_timer(ctx, timer),
            QueueNode::Server(n) => n.on_timer(ctx, timer),
            QueueNode::Worker(n) => n.on_timer(ctx, timer),
            QueueNode::Sink(_) | QueueNode::Idle => {}
        }
    }
}

/// The roles the queue needs, each with at least one node.
const ROLES: [&str; 4] = ["producer", "server", "worker", "sink"];

impl Protocol for QueueParams {
    type Node = QueueNode;

    const NAME: &'static str = "Queue";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        for role in ROLES {
            require_role(plan, "Queue", role)?;
        }
        for role in plan.roster.roles() {
            if !ROLES.contains(&role) {
                return Err(format!(
                    "protocol `Queue` has no role `{role}`; its roles are: {}",
                    ROLES.join(", ")
                ));
            }
        }
        let sinks = plan.roster.members("sink").len();
        if sinks != 1 {
            return Err(format!("Queue needs exactly one `sink` node, got {sinks}"));
        }
        let servers = plan.roster.members("server").len();
        if servers > 32 {
            return Err(format!(
                "Queue supports at most 32 `server` nodes, got {servers}"
            ));
        }
        if self.variant == Variant::Reliable && self.lease == Duration::ZERO {
            return Err("Queue lease must be greater than zero for the Reliable variant".into());
        }
        if self.poll == Duration::ZERO {
            return Err("Queue poll must be greater than zero".into());
        }
        if let Durability::SyncEvery(d) = self.durability {
            if d == Duration::ZERO {
                return Err(
                    "Queue durability SyncEvery needs a period greater than zero; use SyncAlways to sync on every write"
                        .into(),
                );
            }
        }
        if self.idempotent_sink && self.variant == Variant::Naive {
            return Err(
                "Queue idempotent_sink needs the Reliable variant: a naive queue never redelivers, so there is nothing to deduplicate"
                    .into(),
            );
        }
        if servers > 1 {
            if self.heartbeat == Duration::ZERO {
                return Err("Queue heartbeat must be greater than zero".into());
            }
            if self.failover <= self.heartbeat {
                return Err(format!(
                    "Queue failover ({}) must be longer than heartbeat ({}), or backups take over from a healthy primary",
                    self.failover, self.heartbeat
                ));
            }
        }
        if plan.workload().timeout == Duration::ZERO {
            return Err("workload.timeout must be greater than zero for Queue clients".into());
        }
        Ok(())
    }

    /// A task a dead worker held is visible again a lease after it was taken, another
    /// worker asks within a poll, and a backup server takes over within `failover`: twice
    /// their sum covers one more lease running out on the way. The naive queue promises
    /// nothing (a task it handed to a dead worker is gone for good).
    fn recovery(&self, _: &Plan) -> Option<Duration> {
        (self.variant == Variant::Reliable).then(|| {
            let once = self.lease.0 + self.poll.0 + self.failover.0;
            Duration(once.saturating_mul(2))
        })
    }

    fn checks(&self) -> &'static [&'static str] {
        &[
            "NoLostTasks",
            "NoLostEffects",
            "NoDuplicateEffects",
            "NoDuplicateCompletions",
        ]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<QueueNode> {
        let params = self.clone();
        let workload = plan.workload().clone();
        let cluster = std::sync::Arc::new(Cluster::from_roster(&plan.roster, workload.timeout));
        let producers = plan.roster.members("producer");
        let total = u64::from(workload.ops);
        let n = producers.len().max(1) as u64;
        let shares: Vec<u64> = (0..n)
            .map(|i| {
                if total == 0 {
                    u64::MAX
                } else {
                    total / n + u64::from(i < total % n)
                }
            })
            .collect();
        Box::new(move |id, roster, storage| match roster.role(id) {
            "producer" => {
                let index = producers.iter().position(|p| *p == id).unwrap_or(0);
                QueueNode::Producer(Producer::new(
                    index as u64,
                    shares[index],
                    &workload,
                    cluster.clone(),
                    storage,
                ))
            }
            "server" => QueueNode::Server(Server::new(id, &params, cluster.clone(), storage)),
            "worker" => QueueNode::Worker(Worker::new(&params, cluster.clone())),
            "sink" => QueueNode::Sink(Sink::new(params.idempotent_sink, storage)),
            _ => QueueNode::Idle,
        })
    }
}
