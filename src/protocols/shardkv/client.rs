//! The sharded store's client: the shared key-value workload client, routed by the latest
//! configuration it has read. A group that does not serve the key refuses; the client then
//! reads the configurations after its own and sends the request where the newest one says.

use super::config::{shard_of, Config};
use super::ctrl::{Answer, Ask, CtrlLine};
use super::{ShardNode, ShardTimer};
use crate::node::{Context, NodeId};
use crate::protocols::kv::client::{KvClient, KvReply, KvResult};
use crate::time::Duration;

/// A workload client of the sharded store.
#[derive(Clone, Debug, Hash)]
pub struct ShardClient {
    kv: KvClient,
    line: CtrlLine,
    cfg: Config,
    /// Every node of the server role: group `g` is the `g`-th (from 1).
    groups: Vec<NodeId>,
    nshards: usize,
    poll: Duration,
}

impl ShardClient {
    /// A client over `kv` (routed), reading configurations from `ctrl`.
    pub fn new(
        kv: KvClient,
        ctrl: Vec<NodeId>,
        groups: Vec<NodeId>,
        nshards: usize,
        poll: Duration,
    ) -> Self {
        ShardClient {
            kv,
            line: CtrlLine::new(ctrl),
            cfg: Config::default(),
            groups,
            nshards,
            poll,
        }
    }

    /// The configuration the client routes by.
    pub fn config(&self) -> Config {
        self.cfg
    }

    /// Boots: starts the workload and reads the configurations.
    pub fn on_start(&mut self, ctx: &mut Context<'_, ShardNode>) {
        self.line.boot(ctx);
        self.kv.on_start(ctx);
        self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        ctx.set_timer(self.poll, ShardTimer::Poll);
    }

    /// Every `poll`: asks again what went unanswered, and reads newer configurations while a
    /// request waits (a group that left answers nothing, so a wait is reason enough).
    pub fn on_poll(&mut self, ctx: &mut Context<'_, ShardNode>) {
        ctx.set_timer(self.poll, ShardTimer::Poll);
        self.line.tick(ctx, Duration(self.poll.0.saturating_mul(2)));
        if self.kv.busy() && !self.line.busy() {
            self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        }
    }

    /// A workload timer.
    pub fn on_client_timer(
        &mut self,
        ctx: &mut Context<'_, ShardNode>,
        t: crate::protocols::kv::client::ClientTimer,
    ) {
        self.kv.on_timer(ctx, t);
    }

    /// A group answered; a refusal (the wrong group) sends the client to read newer
    /// configurations.
    pub fn on_group_reply(&mut self, ctx: &mut Context<'_, ShardNode>, from: NodeId, r: KvReply) {
        if r.result == (KvResult::NotLeader { leader: None }) && !self.line.busy() {
            self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        }
        self.kv.on_reply(ctx, from, r);
    }

    /// The configuration service answered: a newer configuration reroutes the client and the
    /// one after it is read next.
    pub fn on_ctrl_reply(&mut self, ctx: &mut Context<'_, ShardNode>, r: KvReply) {
        if let Some(Answer::Config(n, Some(c))) = self.line.on_reply(ctx, r) {
            if n == self.cfg.num + 1 {
                self.cfg = c;
                let route = (0..self.nshards)
                    .map(|s| {
                        let g = usize::from(c.shards[shard_of(s as u64, self.nshards)]);
                        self.groups[g.saturating_sub(1).min(self.groups.len() - 1)]
                    })
                    .collect();
                self.kv.reroute(ctx, route);
                self.line.ask(ctx, Ask::Get(c.num + 1));
            }
        }
    }
}
