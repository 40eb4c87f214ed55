//! A chat user: posts messages of random length, split into chunks, to a random node, and
//! records each post as a client call (ok on the node's acknowledgement, info on timeout).
//!
//! The count of posts made is synced before each post, so a restarted user never reuses an id.

use super::digest::{message_id, MSG_STRIDE};
use super::{GossipMsg, GossipNode, GossipTimer, Shared, Stored};
use crate::history::{Op, OpId};
use crate::node::{Context, NodeId};
use crate::storage::Storage;
use crate::time::Duration;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

type Ctx<'a, 'b> = &'a mut Context<'b, GossipNode>;

/// A posting user.
#[derive(Debug)]
pub struct User {
    shared: Arc<Shared>,
    rank: u32,
    posted: u64,
    pending: BTreeMap<u64, (OpId, u32)>,
}

impl User {
    /// Rebuilds a user from its durable storage (the number of posts it made).
    pub fn new(shared: Arc<Shared>, id: NodeId, storage: &Storage<Stored>) -> Self {
        let rank = shared.users.iter().position(|u| *u == id).unwrap_or(0) as u32;
        User {
            shared,
            rank,
            posted: match storage.get("posted") {
                Some(Stored::Posted(n)) => *n,
                _ => 0,
            },
            pending: BTreeMap::new(),
        }
    }

    /// Its posts and those waiting for acknowledgement, for the debugger.
    pub fn describe_tree(&self) -> crate::describe::Describe {
        let mut d = crate::describe::Describe::new();
        d.field("posted", self.posted).field(
            "waiting for acknowledgement",
            if self.pending.is_empty() {
                "none".to_string()
            } else {
                self.pending
                    .keys()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        d.config("rank", self.rank)
            .config("posts at most", self.shared.posts_per_user);
        d
    }

    /// Posts made so far.
    pub fn posted(&self) -> u64 {
        self.posted
    }

    fn gap(&self, ctx: Ctx<'_, '_>) -> Duration {
        // Uniform in [interval/2, 3*interval/2): the mean is `interval`, users do not align.
        let i = self.shared.interval.0.max(2);
        Duration(i / 2 + ctx.rng().random_range(0..i))
    }

    pub(super) fn on_start(&mut self, ctx: Ctx<'_, '_>) {
        let until_start = self.shared.start.0.saturating_sub(ctx.now().0);
        let gap = self.gap(ctx);
        ctx.set_timer(Duration(until_start) + gap, GossipTimer::Post);
    }

    pub(super) fn on_message(&mut self, ctx: Ctx<'_, '_>, msg: GossipMsg) {
        if let GossipMsg::Ack { msg } = msg {
            if let Some((op, chunks)) = self.pending.remove(&msg) {
                ctx.ok(op, Op::Post { msg, chunks });
            }
        }
    }

    pub(super) fn on_timer(&mut self, ctx: Ctx<'_, '_>, timer: GossipTimer) {
        match timer {
            GossipTimer::Post => self.post(ctx),
            GossipTimer::AckTimeout(msg) => {
                if let Some((op, chunks)) = self.pending.remove(&msg) {
                    ctx.info(op, Op::Post { msg, chunks });
                }
            }
            GossipTimer::AntiEntropy => {}
        }
    }

    fn post(&mut self, ctx: Ctx<'_, '_>) {
        let s = self.shared.clone();
        if s.stop.is_some_and(|stop| ctx.now().0 >= stop.0) {
            return;
        }
        if (s.posts_per_user > 0 && self.posted >= s.posts_per_user) || self.posted >= MSG_STRIDE {
            return;
        }
        let gap = self.gap(ctx);
        ctx.set_timer(gap, GossipTimer::Post);
        let seq = self.posted;
        self.posted += 1;
        ctx.storage().put("posted", Stored::Posted(self.posted));
        ctx.storage().sync();
        let msg = message_id(self.rank, seq);
        let len = ctx.rng().random_range(1..=s.params.message_len);
        let chunks = s.params.chunks_for(len);
        let node = s.nodes[ctx.rng().random_range(0..s.nodes.len())];
        let op = ctx.invoke(Op::Post { msg, chunks });
        ctx.note(|| format!("post msg {msg} ({len} bytes, {chunks} chunks) to {node}"));
        for chunk in 0..chunks {
            ctx.send(
                node,
                GossipMsg::Post {
                    msg,
                    chunk: chunk as u8,
                    of: chunks as u8,
                },
            );
        }
        self.pending.insert(msg, (op, chunks));
        ctx.set_timer(s.timeout, GossipTimer::AckTimeout(msg));
    }
}
