//! Ping/echo: every node pings its peers in turn and answers their pings.
//!
//! Each ping is a client call in the history (ok on echo, info on timeout), so partitions and
//! crashes show up as failed calls and `Liveness` tells whether pings succeed again after heal.
//! The next sequence number is kept in durable storage, synced every `sync_every` pings, so a
//! restart resumes from the last synced number.

use crate::history::{Op, OpId};
use crate::node::{Context, Node, NodeFactory, NodeId};
use crate::protocol::Protocol;
use crate::scenario::Plan;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// Parameters of the ping protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PingParams {
    /// Time between two pings from one node.
    pub interval: Duration,
    /// How long to wait for the echo before giving up on a ping.
    pub timeout: Duration,
    /// Sync the sequence number to disk every this many pings (0: never).
    pub sync_every: u64,
}

impl Default for PingParams {
    fn default() -> Self {
        PingParams {
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(50),
            sync_every: 1,
        }
    }
}

/// Messages of the ping protocol.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum PingMsg {
    /// Please echo `seq`.
    Ping {
        /// Sequence number.
        seq: u64,
    },
    /// Echo of `seq`.
    Pong {
        /// Sequence number.
        seq: u64,
    },
}

/// Timers of the ping protocol.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum PingTimer {
    /// Time to send the next ping.
    Tick,
    /// The ping with this sequence number has waited long enough.
    Timeout(u64),
}

/// A ping node: pings peers round-robin, echoes every ping it receives.
#[derive(Debug)]
pub struct PingNode {
    params: PingParams,
    limit: u64,
    seq: u64,
    sent: u64,
    pending: Option<(u64, NodeId, OpId)>,
}

impl PingNode {
    /// The sequence number the node will use next.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    fn finish(&mut self, ctx: &mut Context<'_, Self>, ok: bool) {
        if let Some((seq, peer, op)) = self.pending.take() {
            let record = Op::Ping { peer, seq };
            if ok {
                ctx.ok(op, record);
            } else {
                ctx.info(op, record);
            }
        }
    }
}

// ANCHOR: node
impl Node for PingNode {
    type Msg = PingMsg;
    type Timer = PingTimer;
    type Stored = u64;

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let first = self.params.interval.0 / 2 + ctx.id().0 as u64 * 1_000;
        ctx.set_timer(Duration(first), PingTimer::Tick);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PingMsg) {
        match msg {
            PingMsg::Ping { seq } => ctx.send(from, PingMsg::Pong { seq }),
            PingMsg::Pong { seq } => {
                if matches!(self.pending, Some((s, peer, _)) if s == seq && peer == from) {
                    self.finish(ctx, true);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: PingTimer) {
        match timer {
            PingTimer::Timeout(seq) => {
                if matches!(self.pending, Some((s, _, _)) if s == seq) {
                    self.finish(ctx, false);
                }
            }
            PingTimer::Tick => {
                ctx.set_timer(self.params.interval, PingTimer::Tick);
                let n = ctx.roster().len() as u32;
                if n < 2 || self.pending.is_some() || (self.limit > 0 && self.sent >= self.limit) {
                    return;
                }
                let me = ctx.id().0;
                let peer = NodeId((me + 1 + (self.seq % u64::from(n - 1)) as u32) % n);
                let seq = self.seq;
                self.seq += 1;
                self.sent += 1;
                ctx.storage().put("seq", self.seq);
                if self.params.sync_every > 0 && self.seq.is_multiple_of(self.params.sync_every) {
                    ctx.storage().sync();
                }
                let op = ctx.invoke(Op::Ping { peer, seq });
                self.pending = Some((seq, peer, op));
                ctx.send(peer, PingMsg::Ping { seq });
                ctx.set_timer(self.params.timeout, PingTimer::Timeout(seq));
            }
        }
    }
}
// ANCHOR_END: node

impl Protocol for PingParams {
    type Node = PingNode;

    const NAME: &'static str = "Ping";

    fn validate(&self, _plan: &Plan) -> Result<(), String> {
        if self.interval == Duration::ZERO {
            return Err("Ping interval must be greater than zero".into());
        }
        if self.timeout == Duration::ZERO {
            return Err("Ping timeout must be greater than zero".into());
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &[]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<PingNode> {
        let params = self.clone();
        let nodes = plan.roster.len().max(1) as u64;
        let total = u64::from(plan.workload().ops);
        let limit = if total == 0 { 0 } else { total.div_ceil(nodes) };
        Box::new(move |_id, _roster, storage| PingNode {
            params: params.clone(),
            limit,
            seq: storage.get("seq").copied().unwrap_or(0),
            sent: 0,
            pending: None,
        })
    }
}
