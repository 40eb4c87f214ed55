//! Gossip broadcast: the seed's chat room. Users post messages, split into chunks, to any node;
//! nodes spread each new chunk to `fanout` random peers and reassemble messages at delivery
//! (a node delivers a message only once it holds every chunk). Periodic anti-entropy (a compact
//! digest sent to a random peer, answered with what the digest lacks) makes every message reach
//! every node even when pushes were lost or a partition kept them apart.
//!
//! - `user` nodes post: a post is acknowledged once the node it was sent to holds every chunk
//!   (synced to disk), `info` when no acknowledgement arrives within `workload.timeout`.
//! - `node` nodes store, gossip and deliver; `Deliver` events in the history say when a node
//!   first held a message complete, which `AllDelivered` reads.
//! - `anti_entropy: None` switches the repair off: pushes alone, which a partition defeats.

pub mod digest;
pub mod node;
pub mod user;

use crate::node::{Context, Node, NodeFactory, NodeId};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::time::Duration;
use digest::{Holdings, OriginDigest, MAX_CHUNKS};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use node::Peer;
pub use user::User;

/// Parameters of the gossip chat room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipParams {
    /// Peers a node pushes each new chunk to.
    pub fanout: u32,
    /// Bytes per chunk.
    pub chunk_size: u32,
    /// Longest message in bytes; each post's length is drawn from 1..=message_len.
    pub message_len: u32,
    /// Time between two anti-entropy rounds of a node; `None` switches anti-entropy off.
    pub anti_entropy: Option<Duration>,
}

impl Default for GossipParams {
    fn default() -> Self {
        GossipParams {
            fanout: 3,
            chunk_size: 64,
            message_len: 256,
            anti_entropy: Some(Duration::from_millis(200)),
        }
    }
}

impl GossipParams {
    /// How many chunks a message of `len` bytes is split into.
    pub fn chunks_for(&self, len: u32) -> u32 {
        len.div_ceil(self.chunk_size.max(1)).max(1)
    }
}

/// Messages of the chat room.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum GossipMsg {
    /// User -> node: chunk `chunk` of `of` of message `msg`, posted.
    Post {
        /// The message id.
        msg: u64,
        /// This chunk's index.
        chunk: u8,
        /// How many chunks the message has.
        of: u8,
    },
    /// Node -> user: the node holds every chunk of `msg`.
    Ack {
        /// The message id.
        msg: u64,
    },
    /// Node -> node: a chunk pushed by gossip.
    Chunk {
        /// The message id.
        msg: u64,
        /// This chunk's index.
        chunk: u8,
        /// How many chunks the message has.
        of: u8,
    },
    /// Anti-entropy: what the sender holds; `reply` asks for the receiver's digest back when
    /// the sender holds something the receiver lacks.
    Digest {
        /// Per-origin high-water marks and exceptions.
        have: Vec<OriginDigest>,
        /// Whether the receiver should send its own digest back if it lacks something.
        reply: bool,
    },
    /// Anti-entropy answer: whole messages (id, chunk count) the digest's sender lacked.
    Repair {
        /// The messages, with every chunk.
        messages: Vec<(u64, u8)>,
    },
}

/// Timers of the chat room.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum GossipTimer {
    /// A user's next post.
    Post,
    /// A user's post of `msg` has waited long enough for its acknowledgement.
    AckTimeout(u64),
    /// A node's next anti-entropy round.
    AntiEntropy,
}

/// What a chat room node keeps on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// A user's count of posts made.
    Posted(u64),
    /// A node's log of one origin's messages: chunk count by seq, 0 where not held.
    Log(Vec<u8>),
}

/// What every node of a run shares: parameters and membership.
#[derive(Debug)]
pub struct Shared {
    /// The protocol's parameters.
    pub params: GossipParams,
    /// The gossip nodes (role `node`), in id order.
    pub nodes: Vec<NodeId>,
    /// The users (role `user`), in id order; a user's rank is its position here.
    pub users: Vec<NodeId>,
    /// Posts each user makes at most (0: no limit).
    pub posts_per_user: u64,
    /// When users start posting.
    pub start: Duration,
    /// When users stop posting.
    pub stop: Option<Duration>,
    /// Mean time between two posts of one user.
    pub interval: Duration,
    /// How long a user waits for an acknowledgement.
    pub timeout: Duration,
}

impl Shared {
    /// Picks up to `k` distinct nodes at random, never `me` nor `not`, into `out` (cleared).
    pub fn pick_peers(
        &self,
        rng: &mut impl Rng,
        me: NodeId,
        not: NodeId,
        k: usize,
        out: &mut Vec<NodeId>,
    ) {
        out.clear();
        // `nodes` is in id order, so membership is a binary search, not a scan of the room.
        let member = |n: NodeId| self.nodes.binary_search(&n).is_ok();
        let excluded = usize::from(member(me)) + usize::from(not != me && member(not));
        let k = k.min(self.nodes.len() - excluded);
        // Rejection sampling: k is small next to the node count in every scenario that matters,
        // and when it is not, k <= available keeps the loop finite.
        while out.len() < k {
            let p = self.nodes[rng.random_range(0..self.nodes.len())];
            if p != me && p != not && !out.contains(&p) {
                out.push(p);
            }
        }
    }
}

/// A chat room node: a gossip peer or a posting user.
#[derive(Debug)]
pub enum GossipNode {
    /// A node that stores, gossips and delivers messages.
    Peer(Box<Peer>),
    /// A user that posts messages.
    User(Box<User>),
}

impl Node for GossipNode {
    type Msg = GossipMsg;
    type Timer = GossipTimer;
    type Stored = Stored;

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        Some(match self {
            GossipNode::Peer(p) => p.describe_tree(),
            GossipNode::User(u) => u.describe_tree(),
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            GossipNode::Peer(p) => p.on_start(ctx),
            GossipNode::User(u) => u.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: GossipMsg) {
        match self {
            GossipNode::Peer(p) => p.on_message(ctx, from, msg),
            GossipNode::User(u) => u.on_message(ctx, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: GossipTimer) {
        match self {
            GossipNode::Peer(p) => p.on_timer(ctx, timer),
            GossipNode::User(u) => u.on_timer(ctx, timer),
        }
    }
}

impl Protocol for GossipParams {
    type Node = GossipNode;

    const NAME: &'static str = "Gossip";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "node")?;
        require_role(plan, Self::NAME, "user")?;
        only_roles(plan, Self::NAME, &["node", "user"])?;
        if self.fanout == 0 {
            return Err(
                "Gossip fanout must be at least 1 (peers each new chunk is pushed to)".into(),
            );
        }
        if self.chunk_size == 0 {
            return Err("Gossip chunk_size must be at least 1 byte".into());
        }
        if self.message_len == 0 {
            return Err("Gossip message_len must be at least 1 byte".into());
        }
        let chunks = self.chunks_for(self.message_len);
        if chunks > MAX_CHUNKS {
            return Err(format!(
                "Gossip message_len {} with chunk_size {} makes {chunks} chunks; at most {MAX_CHUNKS} are allowed (raise chunk_size or lower message_len)",
                self.message_len, self.chunk_size
            ));
        }
        if self.anti_entropy == Some(Duration::ZERO) {
            return Err(
                "Gossip anti_entropy must be greater than zero; write `anti_entropy: None` to switch it off"
                    .into(),
            );
        }
        if plan.workload().timeout == Duration::ZERO {
            return Err("workload.timeout must be greater than zero for Gossip users".into());
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &["AllDelivered"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<GossipNode> {
        let users = plan.roster.members("user");
        let w = plan.workload();
        let total = u64::from(w.ops);
        let shared = Arc::new(Shared {
            params: self.clone(),
            nodes: plan.roster.members("node"),
            posts_per_user: if total == 0 {
                0
            } else {
                total.div_ceil(users.len().max(1) as u64)
            },
            users,
            start: w.start,
            stop: w.stop,
            interval: w.interval,
            timeout: w.timeout,
        });
        Box::new(move |id, roster, storage| {
            if roster.role(id) == "user" {
                GossipNode::User(Box::new(User::new(shared.clone(), id, storage)))
            } else {
                GossipNode::Peer(Box::new(Peer::new(
                    shared.clone(),
                    Holdings::new(shared.users.len()),
                    storage,
                )))
            }
        })
    }
}
