//! Talking to the configuration service: one request at a time to a `ctrl` server, following
//! "not the leader" hints, sent again to the next server when it goes unanswered.
//!
//! Configuration `n` is key `n` of the service's key-value store: reading it is a `get`,
//! proposing it a `cas` from absent, so of two proposals for one number exactly one is taken.

use super::config::Config;
use super::{ShardMsg, ShardNode};
use crate::node::{Context, NodeId};
use crate::protocols::kv::client::{KvOp, KvReply, KvRequest, KvResult};
use crate::protocols::raft::RaftMsg;
use crate::time::{Duration, SimTime};

/// What was asked of the configuration service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ask {
    /// Configuration `n`.
    Get(u64),
    /// Make this the next configuration.
    Propose(Config),
}

/// What the configuration service answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Configuration `n` (the number asked), or none yet.
    Config(u64, Option<Config>),
    /// The proposal became configuration `num`.
    Accepted(u64),
    /// Another configuration took that number first.
    Taken(u64),
}

/// A node's line to the configuration service.
#[derive(Clone, Debug, Hash)]
pub struct CtrlLine {
    ctrl: Vec<NodeId>,
    target: usize,
    next_id: u64,
    pending: Option<(u64, Ask, SimTime)>,
}

impl CtrlLine {
    /// A line to the servers `ctrl`.
    pub fn new(ctrl: Vec<NodeId>) -> Self {
        CtrlLine {
            ctrl,
            target: 0,
            next_id: 0,
            pending: None,
        }
    }

    /// Starts request ids at the boot's virtual time in nanoseconds: a restarted node must not
    /// reuse an id its earlier incarnation sent (the servers drop a repeated id as a copy).
    pub fn boot(&mut self, ctx: &Context<'_, ShardNode>) {
        self.next_id = self.next_id.max(ctx.true_now.0);
        self.pending = None;
    }

    /// True while a request waits for its answer.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Asks `ask` (replacing any request still unanswered).
    pub fn ask(&mut self, ctx: &mut Context<'_, ShardNode>, ask: Ask) {
        self.next_id += 1;
        let id = self.next_id;
        self.pending = Some((id, ask, ctx.now()));
        let op = match ask {
            Ask::Get(n) => KvOp::Get { key: n },
            Ask::Propose(c) => KvOp::Cas {
                key: c.num,
                from: None,
                to: c.encode(),
            },
        };
        if let Some(to) = self.ctrl.get(self.target % self.ctrl.len().max(1)) {
            ctx.send(*to, ShardMsg::Raft(RaftMsg::Req(KvRequest { id, op })));
        }
    }

    /// Sends the unanswered request again, to the next server, once it has waited `patience`.
    pub fn tick(&mut self, ctx: &mut Context<'_, ShardNode>, patience: Duration) {
        if let Some((_, ask, at)) = self.pending {
            if ctx.now().since(at) >= patience {
                self.target = (self.target + 1) % self.ctrl.len().max(1);
                self.ask(ctx, ask);
            }
        }
    }

    /// The server refused without a hint: the next tick asks the next one.
    fn refused(&mut self) {
        if let Some((_, _, at)) = self.pending.as_mut() {
            *at = SimTime::ZERO;
        }
    }

    /// Takes a server's reply: the answer if it settles the request; a refusal with a hint is
    /// followed at once, one without waits for the next tick.
    pub fn on_reply(&mut self, ctx: &mut Context<'_, ShardNode>, reply: KvReply) -> Option<Answer> {
        let (id, ask, _) = self.pending?;
        if reply.id != id {
            return None;
        }
        let answer = match (reply.result, ask) {
            (KvResult::Done(v), Ask::Get(n)) => Answer::Config(n, v.map(Config::decode)),
            (KvResult::Done(_), Ask::Propose(c)) => Answer::Accepted(c.num),
            (KvResult::CasMismatch, Ask::Propose(c)) => Answer::Taken(c.num),
            (KvResult::CasMismatch, Ask::Get(_)) => return None,
            (KvResult::NotLeader { leader }, _) => {
                match leader.and_then(|l| self.ctrl.iter().position(|s| *s == l)) {
                    // Follow a hint at once.
                    Some(i) if i != self.target => {
                        self.target = i;
                        self.ask(ctx, ask);
                    }
                    // No leader known: the next server, at the next tick.
                    _ => self.refused(),
                }
                return None;
            }
            (KvResult::Unavailable, _) => {
                self.refused();
                return None;
            }
        };
        self.pending = None;
        Some(answer)
    }
}
