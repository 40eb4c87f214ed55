//! Reference solution of lab `broadcast`: batch new values on each tick to a few neighbours in
//! a fixed overlay (a ring with chords, about `sqrt(n)` hops across), and repair what loss and
//! partitions drop with a digest to a random peer every five ticks or so.

use clustersim::node::NodeId;
use clustersim::rand::Rng;
use clustersim_exercises::broadcast::{Ctx, Functions, Msg, Node};

// ANCHOR: solution
/// The overlay: the ring's neighbours and the chords `sqrt(n)` away, both ways.
fn neighbours(node: &Node) -> Vec<NodeId> {
    let n = node.nodes.len();
    let Some(i) = node.nodes.iter().position(|x| *x == node.me) else {
        return Vec::new();
    };
    let k = ((n as f64).sqrt().round() as usize).max(2);
    let mut out: Vec<NodeId> = [1, n - 1, k % n, n - k % n]
        .iter()
        .map(|d| node.nodes[(i + d) % n])
        .filter(|x| *x != node.me)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A value given here waits in the outbox for the next tick.
pub fn on_broadcast(node: &mut Node, _ctx: &mut Ctx<'_>, value: u64) {
    node.outbox.push(value);
}

/// New values are learned and passed on at the next tick; a digest is answered with what the
/// sender lacks.
pub fn on_message(node: &mut Node, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
    match msg {
        Msg::Values(values) => {
            for v in values {
                if node.learn(ctx, v) {
                    node.outbox.push(v);
                }
            }
        }
        Msg::Have(have) => {
            let missing: Vec<u64> = node
                .values
                .iter()
                .filter(|v| have.binary_search(v).is_err())
                .copied()
                .collect();
            if !missing.is_empty() {
                ctx.send(from, Msg::Values(missing));
            }
        }
    }
}

/// Sends the batch to the neighbours; one tick in five, a digest to a random peer.
pub fn on_tick(node: &mut Node, ctx: &mut Ctx<'_>) {
    if !node.outbox.is_empty() {
        let batch = std::mem::take(&mut node.outbox);
        for peer in neighbours(node) {
            ctx.send(peer, Msg::Values(batch.clone()));
        }
    }
    if ctx.rng().random_range(0..5) == 0 {
        let peers = node.peers();
        if !peers.is_empty() {
            let to = peers[ctx.rng().random_range(0..peers.len())];
            ctx.send(to, Msg::Have(node.values.iter().copied().collect()));
        }
    }
}
// ANCHOR_END: solution

/// These functions, as the lab's table.
pub const FUNCTIONS: Functions = Functions {
    on_broadcast,
    on_message,
    on_tick,
};
