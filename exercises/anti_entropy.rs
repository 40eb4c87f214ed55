//! Exercise `anti-entropy`: every chat message must reach every node once a partition heals.
//!
//! Peers of a chat room post messages and push each new one to every other peer, once. Messages
//! posted while the room is partitioned never cross, and nothing repairs that after the heal.
//! Add anti-entropy: every so often a peer sends a digest of what it has to a random peer, which
//! answers with what the digest lacks. Write the two functions between the `ANCHOR: student`
//! lines. Grade with `clustersim-exercises check-exercise anti-entropy`; the goal is `AllDelivered`.

use crate::Code;
use clustersim::history::Op;
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::require_role;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::BTreeSet;

/// Messages between peers.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Chat message `msg`.
    Gossip {
        /// The message id.
        msg: u64,
    },
    /// The sender holds exactly these messages (sorted).
    Digest {
        /// Message ids, ascending.
        have: Vec<u64>,
    },
}

/// A peer's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Post the next message.
    Post,
    /// Time for a round of anti-entropy.
    AntiEntropy,
}

/// A chat peer.
#[derive(Debug)]
pub struct Peer {
    /// Messages this peer has delivered.
    pub messages: BTreeSet<u64>,
    /// Every other peer.
    pub peers: Vec<NodeId>,
    interval: Duration,
    anti_entropy: Duration,
    posted: u64,
    limit: u64,
    code: &'static Functions,
}

/// Shorthand for the context handlers of this exercise receive.
pub type Ctx<'a> = Context<'a, Peer>;

// ANCHOR: student
/// Called every `anti_entropy` period: send a digest of `peer.messages` to one peer chosen at
/// random (`ctx.rng().random_range(0..peer.peers.len())`, with `use clustersim::rand::Rng`).
#[allow(unused_variables)]
pub fn anti_entropy_tick(peer: &mut Peer, ctx: &mut Ctx<'_>) {
    todo!("send a Digest of the messages you have to a random peer")
}

/// Peer `from` holds exactly `have` (sorted). Send it, as `Msg::Gossip`, every message you have
/// that it lacks.
#[allow(unused_variables)]
pub fn on_digest(peer: &mut Peer, ctx: &mut Ctx<'_>, from: NodeId, have: Vec<u64>) {
    todo!("answer the digest with the messages its sender is missing")
}
// ANCHOR_END: student

/// The student's pieces of this exercise as a table a run calls (another `Code` swaps them).
#[derive(Debug)]
pub struct Functions {
    /// See [`anti_entropy_tick`].
    pub anti_entropy_tick: fn(&mut Peer, &mut Ctx<'_>),
    /// See [`on_digest`].
    pub on_digest: fn(&mut Peer, &mut Ctx<'_>, NodeId, Vec<u64>),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    anti_entropy_tick,
    on_digest,
};

impl Peer {
    /// Delivers `msg` here if it is new; true when it was.
    pub fn deliver(&mut self, ctx: &mut Ctx<'_>, msg: u64) -> bool {
        let new = self.messages.insert(msg);
        if new {
            ctx.event(Op::Deliver { msg });
        }
        new
    }

    fn post(&mut self, ctx: &mut Ctx<'_>) {
        if self.posted >= self.limit {
            return;
        }
        let msg = u64::from(ctx.id().0 + 1) * 1000 + self.posted;
        self.posted += 1;
        let op = ctx.invoke(Op::Post { msg, chunks: 1 });
        self.deliver(ctx, msg);
        ctx.ok(op, Op::Post { msg, chunks: 1 });
        for &p in &self.peers {
            ctx.send(p, Msg::Gossip { msg });
        }
        ctx.set_timer(self.interval, Timer::Post);
    }
}

impl Node for Peer {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        ctx.set_timer(self.interval, Timer::Post);
        ctx.set_timer(self.anti_entropy, Timer::AntiEntropy);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Gossip { msg } => {
                self.deliver(ctx, msg);
            }
            Msg::Digest { have } => (self.code.on_digest)(self, ctx, from, have),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        match timer {
            Timer::Post => self.post(ctx),
            Timer::AntiEntropy => {
                ctx.set_timer(self.anti_entropy, Timer::AntiEntropy);
                if self.peers.is_empty() {
                    return;
                }
                (self.code.anti_entropy_tick)(self, ctx);
            }
        }
    }
}

/// Checks the scenario has peers.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "anti-entropy", "peer")
}

/// The exercise's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<Peer> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let peers = plan.roster.members("peer");
    let limit = u64::from(w.ops.max(1)).div_ceil(peers.len().max(1) as u64);
    let interval = w.interval;
    let factory: NodeFactory<Peer> = Box::new(move |id, _roster, _storage| Peer {
        messages: BTreeSet::new(),
        peers: peers.iter().copied().filter(|p| *p != id).collect(),
        interval,
        anti_entropy: Duration::from_millis(200),
        posted: 0,
        limit,
        code: functions,
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the exercise with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
