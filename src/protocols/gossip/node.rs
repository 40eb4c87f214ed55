//! A gossip node: reassembles chunks into messages, pushes each new chunk to `fanout` random
//! peers, delivers complete messages, acknowledges posts, and runs anti-entropy rounds.
//!
//! Complete messages are synced to disk (one log per origin) before they are delivered or acknowledged, so a restart
//! keeps them; chunks of incomplete messages are volatile and vanish on a crash (anti-entropy
//! brings the whole message back later).

use super::digest::{split_id, Holdings, OriginDigest, MAX_CHUNKS};
use super::{GossipMsg, GossipNode, GossipTimer, Shared, Stored};
use crate::history::Op;
use crate::node::{Context, NodeId};
use crate::storage::Storage;
use crate::time::Duration;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

type Ctx<'a, 'b> = &'a mut Context<'b, GossipNode>;

/// Chunks received so far of a message not yet complete.
#[derive(Clone, Copy, Debug)]
struct Partial {
    /// Bit i set: chunk i is here.
    have: u64,
    /// How many chunks the message has.
    of: u8,
}

/// The storage key of one origin's log.
fn key(origin: u32) -> String {
    format!("o/{origin:06}")
}

/// A node of the chat room.
#[derive(Debug)]
pub struct Peer {
    shared: Arc<Shared>,
    held: Holdings,
    partial: BTreeMap<u64, Partial>,
    picks: Vec<NodeId>,
}

impl Peer {
    /// Rebuilds a node from its durable storage: the complete messages it synced.
    pub fn new(shared: Arc<Shared>, mut held: Holdings, storage: &Storage<Stored>) -> Self {
        for (k, v) in storage.scan("o/") {
            if let (Some(origin), Stored::Log(chunks)) =
                (k.strip_prefix("o/").and_then(|o| o.parse().ok()), v)
            {
                held.restore(origin, chunks);
            }
        }
        Peer {
            shared,
            held,
            partial: BTreeMap::new(),
            picks: Vec::new(),
        }
    }

    /// The messages it holds per user, those it is still assembling, its last push targets,
    /// then the protocol's parameters, for the debugger.
    pub fn describe_tree(&self) -> crate::describe::Describe {
        use crate::describe::{Describe, Part};
        let mut d = Describe::new();
        let mut held = Describe::new();
        for (rank, user) in self.shared.users.iter().enumerate() {
            let log = self.held.log(rank as u32);
            let whole = log.iter().filter(|&&c| c != 0).count();
            if whole > 0 {
                held.parts(
                    "",
                    vec![Part::Node(*user), Part::Text(format!(": {whole} messages"))],
                );
            }
        }
        d.section("holds", format!("{} messages", self.held.len()), held);
        let mut partial = Describe::new();
        for (msg, p) in &self.partial {
            partial.field(
                format!("message {msg}"),
                format!("{} of {} chunks here", p.have.count_ones(), p.of),
            );
        }
        d.section("assembling", self.partial.len(), partial);
        d.nodes("last pushed to", self.picks.iter().copied());
        d.config("parameters", format!("{:?}", self.shared.params))
            .config("gossip nodes", self.shared.nodes.len())
            .config_nodes("users", self.shared.users.iter().copied());
        d
    }

    /// The complete messages this node holds.
    pub fn held(&self) -> &Holdings {
        &self.held
    }

    pub(super) fn on_start(&mut self, ctx: Ctx<'_, '_>) {
        if let Some(period) = self.shared.params.anti_entropy {
            // A random first round keeps a thousand nodes from exchanging digests in lockstep.
            let first = ctx.rng().random_range(0..period.0.max(1));
            ctx.set_timer(Duration(first + 1), GossipTimer::AntiEntropy);
        }
    }

    pub(super) fn on_message(&mut self, ctx: Ctx<'_, '_>, from: NodeId, msg: GossipMsg) {
        match msg {
            GossipMsg::Post { msg, chunk, of } => self.on_chunk(ctx, from, msg, chunk, of, true),
            GossipMsg::Chunk { msg, chunk, of } => self.on_chunk(ctx, from, msg, chunk, of, false),
            GossipMsg::Digest { have, reply } => self.on_digest(ctx, from, &have, reply),
            GossipMsg::Repair { messages } => self.on_repair(ctx, messages),
            GossipMsg::Ack { .. } => {}
        }
    }

    pub(super) fn on_timer(&mut self, ctx: Ctx<'_, '_>, timer: GossipTimer) {
        if timer != GossipTimer::AntiEntropy {
            return;
        }
        let Some(period) = self.shared.params.anti_entropy else {
            return;
        };
        ctx.set_timer(period, GossipTimer::AntiEntropy);
        let me = ctx.id();
        let mut picks = std::mem::take(&mut self.picks);
        self.shared.pick_peers(ctx.rng(), me, me, 1, &mut picks);
        if let Some(&peer) = picks.first() {
            let have = self.held.digest();
            ctx.send(peer, GossipMsg::Digest { have, reply: true });
        }
        self.picks = picks;
    }

    fn on_chunk(
        &mut self,
        ctx: Ctx<'_, '_>,
        from: NodeId,
        msg: u64,
        chunk: u8,
        of: u8,
        posted: bool,
    ) {
        let valid = of >= 1 && u32::from(of) <= MAX_CHUNKS && chunk < of;
        let known_origin =
            split_id(msg).is_some_and(|(o, _)| (o as usize) < self.shared.users.len());
        if !valid || !known_origin {
            return;
        }
        if self.held.has(msg) {
            return;
        }
        let part = self.partial.entry(msg).or_insert(Partial { have: 0, of });
        let bit = 1u64 << chunk;
        if part.of != of || part.have & bit != 0 {
            return;
        }
        part.have |= bit;
        let complete = part.have.count_ones() == u32::from(of);
        self.push(ctx, from, GossipMsg::Chunk { msg, chunk, of });
        if complete {
            self.partial.remove(&msg);
            self.complete(ctx, msg, of);
            if posted {
                ctx.send(from, GossipMsg::Ack { msg });
            }
        }
    }

    /// Sends `gossip` to `fanout` random peers other than this node and `from`.
    fn push(&mut self, ctx: Ctx<'_, '_>, from: NodeId, gossip: GossipMsg) {
        let me = ctx.id();
        let k = self.shared.params.fanout as usize;
        let mut picks = std::mem::take(&mut self.picks);
        self.shared.pick_peers(ctx.rng(), me, from, k, &mut picks);
        for &p in &picks {
            ctx.send(p, gossip.clone());
        }
        self.picks = picks;
    }

    /// Stores a complete message durably, then delivers it.
    fn complete(&mut self, ctx: Ctx<'_, '_>, msg: u64, of: u8) {
        if !self.held.insert(msg, of) {
            return;
        }
        // One key per origin: a thousand nodes each syncing hundreds of messages stay cheap.
        let Some((origin, _)) = split_id(msg) else {
            return;
        };
        let log = Stored::Log(self.held.log(origin).to_vec());
        let st = ctx.storage();
        st.put(key(origin), log);
        st.sync();
        ctx.event(Op::Deliver { msg });
    }

    fn on_digest(&mut self, ctx: Ctx<'_, '_>, from: NodeId, have: &[OriginDigest], reply: bool) {
        let mut lacking = Vec::new();
        self.held.missing_from(have, &mut lacking);
        if !lacking.is_empty() {
            ctx.send(from, GossipMsg::Repair { messages: lacking });
        }
        if reply && self.held.lacks_any_of(have) {
            let mine = self.held.digest();
            ctx.send(
                from,
                GossipMsg::Digest {
                    have: mine,
                    reply: false,
                },
            );
        }
    }

    fn on_repair(&mut self, ctx: Ctx<'_, '_>, messages: Vec<(u64, u8)>) {
        for (msg, of) in messages {
            if of == 0 || u32::from(of) > MAX_CHUNKS || self.held.has(msg) {
                continue;
            }
            self.partial.remove(&msg);
            self.complete(ctx, msg, of);
        }
    }
}
