//! A sharded linearizable key-value store (MIT 6.5840's Lab 5, DSLabs' lab 4): keys split into
//! shards, each served by one replica group, shards moved between groups as groups join and
//! leave.
//!
//! Three roles:
//! - `ctrl`: the configuration service, a group of the shipped Raft servers running the
//!   shipped key-value state machine; configuration `n` is key `n` (`config.rs`).
//! - `server`: one node per replica group (`group.rs`); spares join as new groups, and a server
//!   asked to leave (`Leave`) hands its shards over before it departs.
//! - `client`: the shared workload client, routed by configuration (`client.rs`).
//!
//! A group's server proposes the next configuration when the membership wants shards
//! elsewhere; the service's compare-and-set makes the configurations one sequence. A write's
//! result travels with its shard, so a retried write is applied once across moves.

pub mod client;
pub mod config;
pub mod ctrl;
pub mod group;

use self::client::ShardClient;
use self::config::{MAX_GROUPS, MAX_SHARDS};
use self::group::GroupServer;
use super::kv::client::{ClientConfig, ClientTimer, KvClient, KvReply, KvRequest, Target};
use super::raft::node::Server;
use super::raft::state_machine::KvStateMachine;
use super::raft::{RaftMsg, RaftParams, RaftTimer, Stored};
use crate::node::{Context, Node, NodeFactory, NodeId, RosterChange};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Parameters of the sharded store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShardKvParams {
    /// Shards the keys are split into (a key's shard is the key modulo this), 1 to 10.
    pub shards: u32,
    /// How often servers and waiting clients ask the configuration service for news.
    pub poll: Duration,
    /// The configuration service's Raft.
    pub ctrl: RaftParams,
    /// When clients read every key once (for `Durable`); `None`: no final reads.
    pub final_reads: Option<Duration>,
    /// Times a client sends a request again after a timeout (the store applies a retried
    /// write once).
    pub timeout_retries: u32,
    /// Serve a gained shard before its state arrived; `true` plants the migration bug.
    pub serve_before_arrival: bool,
    /// Keep serving a shard after handing it over; `true` plants two groups serving one shard.
    pub serve_after_handoff: bool,
}

impl Default for ShardKvParams {
    fn default() -> Self {
        ShardKvParams {
            shards: 10,
            poll: Duration::from_millis(100),
            ctrl: RaftParams::default(),
            final_reads: None,
            timeout_retries: 2,
            serve_before_arrival: false,
            serve_after_handoff: false,
        }
    }
}

/// Messages of the sharded store.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ShardMsg {
    /// The configuration service's Raft traffic, and requests to it and its answers.
    Raft(RaftMsg),
    /// Client -> group.
    Req(KvRequest),
    /// Group -> client.
    Rep(KvReply),
    /// Group -> group: send shard `shard` as of configuration `num`.
    Pull {
        /// The shard.
        shard: u32,
        /// The configuration that moved it.
        num: u64,
    },
    /// Group -> group: a shard's state.
    Shard {
        /// The shard.
        shard: u32,
        /// The configuration that moved it.
        num: u64,
        /// Its data and the results of the writes applied to it.
        state: Box<KvStateMachine>,
    },
    /// Group -> group: did shard `shard` of configuration `num` arrive?
    Handed {
        /// The shard.
        shard: u32,
        /// The configuration that moved it.
        num: u64,
    },
    /// Group -> group: shard `shard` of configuration `num` arrived; forget it.
    Taken {
        /// The shard.
        shard: u32,
        /// The configuration that moved it.
        num: u64,
    },
}

impl fmt::Debug for ShardMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardMsg::Raft(RaftMsg::Req(r)) => write!(f, "Ctrl {:?} #{}", r.op, r.id),
            ShardMsg::Raft(RaftMsg::Rep(r)) => write!(f, "Ctrl {:?} #{}", r.result, r.id),
            ShardMsg::Raft(m) => m.fmt(f),
            ShardMsg::Req(r) => write!(f, "{:?} #{}", r.op, r.id),
            ShardMsg::Rep(r) => write!(f, "{:?} #{}", r.result, r.id),
            ShardMsg::Pull { shard, num } => write!(f, "Pull(shard {shard} of #{num})"),
            ShardMsg::Shard { shard, num, state } => {
                write!(f, "Shard({shard} of #{num}, {} keys)", state.data().len())
            }
            ShardMsg::Handed { shard, num } => write!(f, "Handed(shard {shard} of #{num})"),
            ShardMsg::Taken { shard, num } => write!(f, "Taken(shard {shard} of #{num})"),
        }
    }
}

impl From<RaftMsg> for ShardMsg {
    fn from(m: RaftMsg) -> Self {
        ShardMsg::Raft(m)
    }
}

impl From<KvRequest> for ShardMsg {
    fn from(r: KvRequest) -> Self {
        ShardMsg::Req(r)
    }
}

/// Timers of the sharded store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShardTimer {
    /// A configuration server's Raft timer.
    Raft(RaftTimer),
    /// A client's workload timer.
    Client(ClientTimer),
    /// Time to ask for news.
    Poll,
}

impl From<RaftTimer> for ShardTimer {
    fn from(t: RaftTimer) -> Self {
        ShardTimer::Raft(t)
    }
}

impl From<ClientTimer> for ShardTimer {
    fn from(t: ClientTimer) -> Self {
        ShardTimer::Client(t)
    }
}

/// A node of the sharded store.
#[derive(Clone, Debug, Hash)]
pub enum ShardNode {
    /// A configuration server (Raft).
    Ctrl(Box<Server>),
    /// A replica group's server.
    Group(Box<GroupServer>),
    /// A workload client.
    Client(Box<ShardClient>),
}

impl Node for ShardNode {
    type Msg = ShardMsg;
    type Timer = ShardTimer;
    type Stored = Stored;

    fn heap_bytes(&self) -> u64 {
        match self {
            ShardNode::Ctrl(s) => s.heap_bytes(),
            ShardNode::Group(g) => g.heap_bytes(),
            ShardNode::Client(_) => 0,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            ShardNode::Ctrl(s) => s.describe(),
            ShardNode::Group(g) => g.describe(&[]),
            ShardNode::Client(c) => format!("routes by configuration {:?}", c.config()),
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            ShardNode::Ctrl(s) => s.on_start(ctx),
            ShardNode::Group(g) => g.on_start(ctx),
            ShardNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: ShardMsg) {
        match (self, msg) {
            (ShardNode::Ctrl(s), ShardMsg::Raft(m)) => s.on_raft_message(ctx, from, m),
            (ShardNode::Group(g), ShardMsg::Raft(RaftMsg::Rep(r))) => g.on_ctrl_reply(ctx, r),
            (ShardNode::Group(g), ShardMsg::Req(r)) => g.on_request(ctx, from, r),
            (ShardNode::Group(g), ShardMsg::Pull { shard, num }) => {
                g.on_pull(ctx, from, shard, num)
            }
            (ShardNode::Group(g), ShardMsg::Shard { shard, num, state }) => {
                g.on_shard(ctx, from, shard, num, *state)
            }
            (ShardNode::Group(g), ShardMsg::Handed { shard, num }) => {
                g.on_handed(ctx, from, shard, num)
            }
            (ShardNode::Group(g), ShardMsg::Taken { shard, num }) => g.on_taken(ctx, shard, num),
            (ShardNode::Client(c), ShardMsg::Raft(RaftMsg::Rep(r))) => c.on_ctrl_reply(ctx, r),
            (ShardNode::Client(c), ShardMsg::Rep(r)) => c.on_group_reply(ctx, from, r),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: ShardTimer) {
        match (self, timer) {
            (ShardNode::Ctrl(s), ShardTimer::Raft(t)) => s.on_raft_timer(ctx, t),
            (ShardNode::Group(g), ShardTimer::Poll) => g.on_poll(ctx),
            (ShardNode::Client(c), ShardTimer::Poll) => c.on_poll(ctx),
            (ShardNode::Client(c), ShardTimer::Client(t)) => c.on_client_timer(ctx, t),
            _ => {}
        }
    }

    fn on_roster_change(&mut self, ctx: &mut Context<'_, Self>, change: RosterChange) {
        match self {
            ShardNode::Ctrl(s) => s.on_roster_change(change),
            ShardNode::Group(g) => g.on_roster_change(ctx, change),
            ShardNode::Client(_) => {}
        }
    }
}

impl Protocol for ShardKvParams {
    type Node = ShardNode;

    const NAME: &'static str = "ShardKv";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        for role in ["ctrl", "server", "client"] {
            require_role(plan, Self::NAME, role)?;
        }
        only_roles(plan, Self::NAME, &["ctrl", "server", "client"])?;
        if self.shards == 0 || self.shards as usize > MAX_SHARDS {
            return Err(format!(
                "ShardKv shards must be 1 to {MAX_SHARDS}, got {}",
                self.shards
            ));
        }
        let groups = plan.roster.with_role("server").len();
        if groups > MAX_GROUPS {
            return Err(format!(
                "ShardKv has at most {MAX_GROUPS} servers (one per replica group, spares \
                 included), got {groups}"
            ));
        }
        if self.poll == Duration::ZERO {
            return Err("ShardKv poll must be greater than zero".into());
        }
        if self.timeout_retries > 100 {
            return Err(format!(
                "ShardKv timeout_retries must be at most 100, got {}",
                self.timeout_retries
            ));
        }
        self.ctrl.validate_timing()
    }

    fn open_loop(&self) -> bool {
        true
    }

    /// A configuration leader within a few election timeouts, a few polls for every group to
    /// take the new configuration and move its shards, and a client's timeout.
    fn recovery(&self, plan: &Plan) -> Option<Duration> {
        let election = self.ctrl.election_timeout_max.0.saturating_mul(4);
        let polls = self.poll.0.saturating_mul(10);
        Some(Duration(
            election
                .saturating_add(polls)
                .saturating_add(plan.workload().timeout.0),
        ))
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Linearizable", "Durable", "ElectionSafety"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<ShardNode> {
        let params = self.clone();
        let ctrl = plan.roster.members("ctrl");
        let all_ctrl = plan.roster.with_role("ctrl");
        let groups = plan.roster.with_role("server");
        let clients = plan.roster.members("client");
        let nodes = plan.roster.len();
        let mut config = ClientConfig::from_plan(plan, clients.len(), self.final_reads);
        config.timeout_retries = self.timeout_retries;
        Box::new(move |id, roster, storage| match roster.role(id) {
            "ctrl" => ShardNode::Ctrl(Box::new(
                Server::recover(
                    params.ctrl.clone(),
                    ctrl.clone(),
                    all_ctrl.clone(),
                    nodes,
                    storage,
                )
                .in_role("ctrl"),
            )),
            "server" => ShardNode::Group(Box::new(GroupServer::recover(
                params.clone(),
                groups.clone(),
                ctrl.clone(),
                id,
                storage,
            ))),
            _ => ShardNode::Client(Box::new(ShardClient::new(
                KvClient::new(config.clone(), groups.clone(), Target::Routed),
                ctrl.clone(),
                groups.clone(),
                params.shards as usize,
                params.poll,
            ))),
        })
    }
}
