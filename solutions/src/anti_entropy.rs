//! Reference solution of `anti-entropy`: push a digest to a random peer, answer with the gap.

use clustersim::node::NodeId;
use clustersim::rand::Rng;
use clustersim_exercises::anti_entropy::{Ctx, Functions, Msg, Peer};

// ANCHOR: solution
/// Sends the full digest to one random peer.
pub fn anti_entropy_tick(peer: &mut Peer, ctx: &mut Ctx<'_>) {
    let to = peer.peers[ctx.rng().random_range(0..peer.peers.len())];
    let have = peer.messages.iter().copied().collect();
    ctx.send(to, Msg::Digest { have });
}

/// Sends `from` every message it does not have.
pub fn on_digest(peer: &mut Peer, ctx: &mut Ctx<'_>, from: NodeId, have: Vec<u64>) {
    for &msg in &peer.messages {
        if have.binary_search(&msg).is_err() {
            ctx.send(from, Msg::Gossip { msg });
        }
    }
}
// ANCHOR_END: solution

/// These functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions {
    anti_entropy_tick,
    on_digest,
};
