//! Exercise `sync-replication`: no acknowledged write may be lost when the primary fails.
//!
//! A client writes values to a primary, which copies each to a backup. When the primary stops
//! answering, the client fails over to the backup and reads from it. The primary below
//! acknowledges a write as soon as it has it itself (asynchronous replication), so writes it
//! acknowledged but never got to the backup vanish at failover. Fix the two functions between
//! the `ANCHOR: student` lines. Grade with `clustersim-exercises check-exercise sync-replication`; the
//! goal is `AckedWritesVisible`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::BTreeMap;

/// Messages between client, primary and backup.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Client to primary: write `v`.
    Put {
        /// The value (unique per write).
        v: u64,
    },
    /// Primary to client: `v` is written.
    PutOk {
        /// The value.
        v: u64,
    },
    /// Primary to backup: store `v` too.
    Replicate {
        /// The value.
        v: u64,
    },
    /// Backup to primary: I have `v`.
    BackupAck {
        /// The value.
        v: u64,
    },
    /// Client to backup: what do you have?
    Read {
        /// Request number.
        req: u64,
    },
    /// Backup to client: every value it has.
    ReadReply {
        /// Request number.
        req: u64,
        /// The values, in the order written.
        values: Vec<u64>,
    },
}

/// The client's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Time for the next operation.
    Next,
    /// Operation `req` waited too long.
    Timeout {
        /// Request number (the value, for writes).
        req: u64,
    },
}

/// The primary.
#[derive(Debug)]
pub struct Primary {
    /// Values written here, in order.
    pub values: Vec<u64>,
    /// The backup to copy every write to.
    pub backup: NodeId,
    /// Writes waiting for the backup, with the client to answer: use it if you need it.
    pub waiting: BTreeMap<u64, NodeId>,
    code: &'static Functions,
}

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, ReplicaNode>;

// ANCHOR: student
/// `client` asks to write `v`. Store it, copy it to the backup, acknowledge it with
/// `Msg::PutOk { v }`. Here the acknowledgement goes out before the backup has the value.
pub fn on_put(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
    primary.values.push(v);
    ctx.send(primary.backup, Msg::Replicate { v });
    ctx.send(client, Msg::PutOk { v });
}

/// The backup confirms it stored `v`.
#[allow(unused_variables)]
pub fn on_backup_ack(primary: &mut Primary, ctx: &mut Ctx<'_>, v: u64) {}
// ANCHOR_END: student

/// The student's pieces of this exercise as a table a run calls (another `Code` swaps them).
#[derive(Debug)]
pub struct Functions {
    /// See [`on_put`].
    pub on_put: fn(&mut Primary, &mut Ctx<'_>, NodeId, u64),
    /// See [`on_backup_ack`].
    pub on_backup_ack: fn(&mut Primary, &mut Ctx<'_>, u64),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    on_put,
    on_backup_ack,
};

/// The client: writes `1..=limit` to the primary; after three timeouts in a row it fails over
/// to the backup and reads from it.
#[derive(Debug)]
pub struct Client {
    primary: NodeId,
    backup: NodeId,
    interval: Duration,
    timeout: Duration,
    next: u64,
    limit: u64,
    failed_over: bool,
    timeouts_in_a_row: u32,
    reads_left: u32,
    pending: Option<(u64, OpId)>,
}

/// A node of this exercise.
#[derive(Debug)]
pub enum ReplicaNode {
    /// Writes, then reads after failover.
    Client(Client),
    /// Takes writes.
    Primary(Primary),
    /// Copies of the writes; serves reads after failover.
    Backup(Vec<u64>),
}

fn read_op(values: &[u64]) -> Op {
    Op::custom("read", values)
}

impl Client {
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        ctx.set_timer(self.interval, Timer::Next);
        if self.pending.is_some() {
            return;
        }
        if self.failed_over {
            if self.reads_left == 0 {
                return;
            }
            self.reads_left -= 1;
            let req = self.next;
            self.next += 1;
            let op = ctx.invoke(read_op(&[]));
            self.pending = Some((req, op));
            ctx.send(self.backup, Msg::Read { req });
            ctx.set_timer(self.timeout, Timer::Timeout { req });
        } else if self.next <= self.limit {
            let v = self.next;
            self.next += 1;
            let op = ctx.invoke(Op::Put { key: 0, value: v });
            self.pending = Some((v, op));
            ctx.send(self.primary, Msg::Put { v });
            ctx.set_timer(self.timeout, Timer::Timeout { req: v });
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx<'_>, req: u64) {
        let Some((r, op)) = self.pending else { return };
        if r != req {
            return;
        }
        self.pending = None;
        if self.failed_over {
            ctx.info(op, read_op(&[]));
            return;
        }
        ctx.info(op, Op::Put { key: 0, value: r });
        self.timeouts_in_a_row += 1;
        if self.timeouts_in_a_row >= 3 {
            self.failed_over = true;
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, msg: Msg) {
        let Some((r, op)) = self.pending else { return };
        match msg {
            Msg::PutOk { v } if v == r && !self.failed_over => {
                self.pending = None;
                self.timeouts_in_a_row = 0;
                ctx.ok(op, Op::Put { key: 0, value: v });
            }
            Msg::ReadReply { req, values } if req == r && self.failed_over => {
                self.pending = None;
                ctx.ok(op, read_op(&values));
            }
            _ => {}
        }
    }
}

impl Node for ReplicaNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let ReplicaNode::Client(c) = self {
            ctx.set_timer(c.interval, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (ReplicaNode::Client(c), msg) => c.on_message(ctx, msg),
            (ReplicaNode::Primary(p), Msg::Put { v }) => (p.code.on_put)(p, ctx, from, v),
            (ReplicaNode::Primary(p), Msg::BackupAck { v }) => (p.code.on_backup_ack)(p, ctx, v),
            (ReplicaNode::Backup(values), Msg::Replicate { v }) => {
                if !values.contains(&v) {
                    values.push(v);
                }
                ctx.send(from, Msg::BackupAck { v });
            }
            (ReplicaNode::Backup(values), Msg::Read { req }) => {
                let values = values.clone();
                ctx.send(from, Msg::ReadReply { req, values });
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        let ReplicaNode::Client(c) = self else { return };
        match timer {
            Timer::Next => c.next(ctx),
            Timer::Timeout { req } => c.on_timeout(ctx, req),
        }
    }
}

/// Checks the scenario has a client, a primary and a backup.
pub fn validate(plan: &Plan) -> Result<(), String> {
    for role in ["client", "primary", "backup"] {
        require_role(plan, "sync-replication", role)?;
    }
    Ok(())
}

/// The exercise's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<ReplicaNode> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let (limit, interval, timeout) = (u64::from(w.ops.max(1)), w.interval, w.timeout);
    let primary = plan.roster.members("primary")[0];
    let backup = plan.roster.members("backup")[0];
    let factory: NodeFactory<ReplicaNode> =
        Box::new(move |id, roster, _storage| match roster.role(id) {
            "client" => ReplicaNode::Client(Client {
                primary,
                backup,
                interval,
                timeout,
                next: 1,
                limit,
                failed_over: false,
                timeouts_in_a_row: 0,
                reads_left: 5,
                pending: None,
            }),
            "primary" => ReplicaNode::Primary(Primary {
                values: Vec::new(),
                backup,
                waiting: BTreeMap::new(),
                code: functions,
            }),
            _ => ReplicaNode::Backup(Vec::new()),
        });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
