//! Lab `broadcast`: every value any node is given must reach every node, fast and without
//! flooding the network (Gossip Glomers' broadcast, challenges 3a-3e, on the simulator).
//!
//! Twenty-five nodes; now and then a node is given a value (`on_broadcast`). A node that learns
//! a value calls `Node::learn`, which records it in the history; the goals read those records.
//! The levels:
//!
//! 1. **Flood** (`broadcast-1-flood.ron`, a reliable network): every value reaches every node
//!    within 1 s.
//! 2. **Partitions** (`broadcast-2-partition.ron`, 10% loss and a partition that heals): every
//!    value reaches every node within 3 s of the heal; a value sent once into a partition is
//!    lost unless someone sends it again (a retry, or a digest of what you have).
//! 3. **Efficiency** (`broadcast-3-efficient.ron`): as level 1, with at most 30 messages per
//!    value (flooding every value to every node from every node costs about 600).
//! 4. **Latency** (`broadcast-4-fast.ron`): with at most 30 messages per value, the median value
//!    reaches every node within 250 ms and 99% within 500 ms (batching trades the one against
//!    the other).
//!
//! Budget: about three hours. Grade with `clustersim-exercises check-exercise broadcast`.

use crate::Code;
use clustersim::history::{Op, OpId};
use clustersim::node::{Context, Node as SimNode, NodeFactory, NodeId};
use clustersim::protocols::{only_roles, require_role};
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::BTreeSet;

/// The event a node records when it first learns a value.
pub const LEARNED: &str = "learned";
/// The operation a node records when it is given a value.
pub const BROADCAST: &str = "broadcast";

/// What nodes send each other: values, or a list of the values a node has (for digests).
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// These values (new to the receiver, you hope).
    Values(Vec<u64>),
    /// The values the sender has, for the receiver to send back what is missing.
    Have(Vec<u64>),
}

/// The timers: the workload's, and the tick your code may use.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Time to be given the next value (the workload; not yours).
    Give,
    /// Every `Node::tick`, for batching, retries and digests.
    Tick,
}

/// One node of the lab.
#[derive(Debug, Hash)]
pub struct Node {
    /// This node.
    pub me: NodeId,
    /// Every node, this one included.
    pub nodes: Vec<NodeId>,
    /// The values this node has learned.
    pub values: BTreeSet<u64>,
    /// Values learned but not yet passed on (for batching); yours to use.
    pub outbox: Vec<u64>,
    /// How often `on_tick` runs.
    pub tick: Duration,
    interval: Duration,
    given: u64,
    limit: u64,
    code: &'static Functions,
}

impl Node {
    /// Records that this node has `value`; false if it had it already.
    pub fn learn(&mut self, ctx: &mut Ctx<'_>, value: u64) -> bool {
        if !self.values.insert(value) {
            return false;
        }
        ctx.event(Op::custom(LEARNED, &value));
        true
    }

    /// Every node but this one.
    pub fn peers(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .copied()
            .filter(|n| *n != self.me)
            .collect()
    }
}

/// Shorthand for the context handlers of this lab receive.
pub type Ctx<'a> = Context<'a, Node>;

// ANCHOR: student
/// This node is given `value` (it has already `learn`ed it). This version tells nobody.
#[allow(unused_variables)]
pub fn on_broadcast(node: &mut Node, ctx: &mut Ctx<'_>, value: u64) {}

/// A message from another node: `learn` what is new.
pub fn on_message(node: &mut Node, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
    let _ = from;
    if let Msg::Values(values) = msg {
        for v in values {
            node.learn(ctx, v);
        }
    }
}

/// Every `node.tick`: batching, retries, digests, as you choose. This version does nothing.
#[allow(unused_variables)]
pub fn on_tick(node: &mut Node, ctx: &mut Ctx<'_>) {}
// ANCHOR_END: student

/// The student's pieces of this lab as a table a run calls (another `Code` swaps them).
#[derive(Debug, Hash)]
pub struct Functions {
    /// See [`on_broadcast`].
    pub on_broadcast: fn(&mut Node, &mut Ctx<'_>, u64),
    /// See [`on_message`].
    pub on_message: fn(&mut Node, &mut Ctx<'_>, NodeId, Msg),
    /// See [`on_tick`].
    pub on_tick: fn(&mut Node, &mut Ctx<'_>),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    on_broadcast,
    on_message,
    on_tick,
};

impl SimNode for Node {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        // Nodes are given values in turn, so the load spreads over the cluster.
        let offset = self.interval.0 / self.nodes.len().max(1) as u64 * u64::from(self.me.0);
        ctx.set_timer(Duration(self.interval.0 + offset), Timer::Give);
        ctx.set_timer(self.tick, Timer::Tick);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        (self.code.on_message)(self, ctx, from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        match timer {
            Timer::Give => {
                if self.given >= self.limit {
                    return;
                }
                ctx.set_timer(self.interval, Timer::Give);
                let value = (u64::from(self.me.0) << 32) | self.given;
                self.given += 1;
                let op: OpId = ctx.invoke(Op::custom(BROADCAST, &value));
                self.learn(ctx, value);
                ctx.ok(op, Op::custom(BROADCAST, &value));
                (self.code.on_broadcast)(self, ctx, value);
            }
            Timer::Tick => {
                ctx.set_timer(self.tick, Timer::Tick);
                (self.code.on_tick)(self, ctx);
            }
        }
    }
}

/// Checks the scenario has nodes of role `node` only.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "broadcast", "node")?;
    only_roles(plan, "broadcast", &["node"])
}

/// The lab's run with `code`'s functions, not yet started.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<Node> {
    let functions = code.pick(&STUDENT);
    let w = plan.workload();
    let nodes = plan.roster.members("node");
    let limit = u64::from(w.ops.max(1)).div_ceil(nodes.len().max(1) as u64);
    let interval = w.interval;
    let factory: NodeFactory<Node> = Box::new(move |id, _roster, _storage| Node {
        me: id,
        nodes: nodes.clone(),
        values: BTreeSet::new(),
        outbox: Vec::new(),
        tick: Duration::from_millis(50),
        interval,
        given: 0,
        limit,
        code: functions,
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the lab with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
