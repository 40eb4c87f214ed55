//! Single-decree Paxos as a register, after stateright 0.31's `examples/paxos.rs` and its
//! `actor::register` clients, message for message, so the exhaustive search can be compared
//! with stateright's on the same model.
//!
//! Servers (`server`) decide one value. A server that receives a client's `Put` while it has
//! no proposal of its own leads a term: it takes the next round under its own id as its
//! ballot, promises itself, and sends `Prepare`; a server whose ballot is lower promises
//! (`Prepared`, with the proposal it accepted last). On a quorum of promises the leader
//! proposes the accepted proposal with the highest ballot, or its client's when none was
//! accepted, and sends `Accept`; a server whose ballot is not higher accepts. On a quorum of
//! acceptances the value is decided: the leader tells the others (`Decided`) and answers its
//! client (`PutOk`). A decided server answers `Get` with the value; an undecided one never
//! answers it (it cannot know whether a value was decided elsewhere).
//!
//! A client (`client`) puts one value to the server its index names, then gets from the next
//! server. Its calls are the history `Linearizable` reads. Nothing here sets a timer, so a
//! run ends when the messages do; the untimed search (`clustersim check --untimed`) tries
//! every order of delivery.

use crate::history::{Op, OpId};
use crate::node::{NodeFactory, Snapshot};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::{Context, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

/// The one key the register's calls name.
const KEY: u64 = 0;

/// Parameters of `protocol: Paxos(...)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaxosParams {
    /// Planted bug: a leader proposes its own client's value even when a promise carries a
    /// proposal accepted earlier (phase 2 forgets what phase 1 learned).
    pub ignore_accepted: bool,
}

/// A round and the server that leads it; ballots order by round, then by server.
pub type Ballot = (u32, NodeId);

/// A client's request a leader proposes: its request id, the client and the value.
pub type Proposal = (u64, NodeId, u64);

/// What Paxos servers and their clients send.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Msg {
    /// A client asks to write `value`.
    Put {
        /// The client's request id.
        request: u64,
        /// The value.
        value: u64,
    },
    /// A client asks for the decided value.
    Get {
        /// The client's request id.
        request: u64,
    },
    /// The write `request` was decided.
    PutOk {
        /// The request answered.
        request: u64,
    },
    /// The decided value.
    GetOk {
        /// The request answered.
        request: u64,
        /// The value.
        value: u64,
    },
    /// Phase 1a: a leader asks for a promise to ignore lower ballots.
    Prepare {
        /// The leader's ballot.
        ballot: Ballot,
    },
    /// Phase 1b: the promise, with the proposal accepted last.
    Prepared {
        /// The ballot promised.
        ballot: Ballot,
        /// The last proposal accepted and its ballot.
        last_accepted: Option<(Ballot, Proposal)>,
    },
    /// Phase 2a: a leader asks to accept a proposal.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The proposal.
        proposal: Proposal,
    },
    /// Phase 2b: the proposal was accepted.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
    },
    /// A quorum accepted the proposal.
    Decided {
        /// The deciding ballot.
        ballot: Ballot,
        /// The proposal decided.
        proposal: Proposal,
    },
}

/// A Paxos node: a server or a client.
#[derive(Clone, Debug, Hash)]
pub enum PaxosNode {
    /// A server.
    Server(Server),
    /// A client.
    Client(Client),
}

/// A server's state (stateright's `PaxosState`) and its configuration.
#[derive(Clone, Debug)]
pub struct Server {
    /// The highest ballot seen, shared by the leader and acceptor roles.
    ballot: Ballot,
    /// The proposal this server leads, once a client asked it.
    proposal: Option<Proposal>,
    /// The promises this server's ballot gathered, each with the sender's last acceptance.
    prepares: BTreeMap<NodeId, Option<(Ballot, Proposal)>>,
    /// The servers that accepted this server's proposal.
    accepts: BTreeSet<NodeId>,
    /// The proposal accepted last and its ballot.
    accepted: Option<(Ballot, Proposal)>,
    is_decided: bool,
    /// The other servers.
    peers: Vec<NodeId>,
    ignore_accepted: bool,
}

/// A client's state (stateright's `RegisterActorState::Client`) and its configuration.
#[derive(Clone, Debug)]
pub struct Client {
    /// The request it waits on.
    awaiting: Option<u64>,
    /// Requests sent.
    op_count: u64,
    /// The history's id for the call in flight.
    call: Option<OpId>,
    /// The servers, in id order.
    servers: Vec<NodeId>,
}

/// What a server knows: its configuration never changes, so it is no part of the state.
impl Hash for Server {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.ballot.hash(h);
        self.proposal.hash(h);
        self.prepares.hash(h);
        self.accepts.hash(h);
        self.accepted.hash(h);
        self.is_decided.hash(h);
    }
}

/// What a client knows: the call's id follows from the history, which a state holds already.
impl Hash for Client {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.awaiting.hash(h);
        self.op_count.hash(h);
    }
}

/// A majority of `n`.
fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The value client `id` puts: 'A' for the first client, 'B' for the next (stateright's).
fn value_of(id: NodeId, servers: usize) -> u64 {
    u64::from(b'A') + u64::from(id.0) - servers as u64
}

impl Server {
    fn on_message(&mut self, ctx: &mut Context<'_, PaxosNode>, from: NodeId, msg: Msg) {
        if self.is_decided {
            if let Msg::Get { request } = msg {
                let (_, (_, _, value)) = self.accepted.expect("decided but nothing accepted");
                ctx.send(from, Msg::GetOk { request, value });
            }
            return;
        }
        let id = ctx.id();
        let quorum = majority(self.peers.len() + 1);
        match msg {
            Msg::Put { request, value } if self.proposal.is_none() => {
                self.proposal = Some((request, from, value));
                self.prepares.clear();
                self.accepts.clear();
                // Its own Prepare and Prepared, without the round trip.
                self.ballot = (self.ballot.0 + 1, id);
                self.prepares.insert(id, self.accepted);
                self.broadcast(
                    ctx,
                    Msg::Prepare {
                        ballot: self.ballot,
                    },
                );
            }
            Msg::Prepare { ballot } if self.ballot < ballot => {
                self.ballot = ballot;
                let last_accepted = self.accepted;
                ctx.send(
                    from,
                    Msg::Prepared {
                        ballot,
                        last_accepted,
                    },
                );
            }
            Msg::Prepared {
                ballot,
                last_accepted,
            } if ballot == self.ballot => {
                self.prepares.insert(from, last_accepted);
                if self.prepares.len() == quorum {
                    // Drive the proposal the latest ballot accepted, if any: it may be decided.
                    let latest = self.prepares.values().max().copied().flatten();
                    let own = self.proposal.expect("a leader has its client's proposal");
                    let proposal = match latest {
                        Some((_, p)) if !self.ignore_accepted => p,
                        _ => own,
                    };
                    self.proposal = Some(proposal);
                    // Its own Accept and Accepted.
                    self.accepted = Some((ballot, proposal));
                    self.accepts.insert(id);
                    self.broadcast(ctx, Msg::Accept { ballot, proposal });
                }
            }
            Msg::Accept { ballot, proposal } if self.ballot <= ballot => {
                self.ballot = ballot;
                self.accepted = Some((ballot, proposal));
                ctx.send(from, Msg::Accepted { ballot });
            }
            Msg::Accepted { ballot } if ballot == self.ballot => {
                self.accepts.insert(from);
                if self.accepts.len() == quorum {
                    self.is_decided = true;
                    let proposal = self.proposal.expect("a leader has a proposal");
                    self.broadcast(ctx, Msg::Decided { ballot, proposal });
                    let (request, client, _) = proposal;
                    ctx.send(client, Msg::PutOk { request });
                }
            }
            Msg::Decided { ballot, proposal } => {
                self.ballot = ballot;
                self.accepted = Some((ballot, proposal));
                self.is_decided = true;
            }
            _ => {}
        }
    }

    fn broadcast(&self, ctx: &mut Context<'_, PaxosNode>, msg: Msg) {
        for &p in &self.peers {
            ctx.send(p, msg.clone());
        }
    }
}

impl Client {
    /// Client `id`'s index among all nodes (stateright's `Id`: the servers come first).
    fn index(id: NodeId) -> u64 {
        u64::from(id.0)
    }

    /// The server this client's `k`th request goes to.
    fn server(&self, id: NodeId, k: u64) -> NodeId {
        let n = self.servers.len() as u64;
        self.servers[((Self::index(id) + k) % n) as usize]
    }

    fn on_start(&mut self, ctx: &mut Context<'_, PaxosNode>) {
        let id = ctx.id();
        // Request ids unique across clients: the index, then twice it (stateright's).
        let request = Self::index(id);
        let value = value_of(id, self.servers.len());
        self.call = Some(ctx.invoke(Op::Put { key: KEY, value }));
        ctx.send(self.server(id, 0), Msg::Put { request, value });
        self.awaiting = Some(request);
        self.op_count = 1;
    }

    fn on_message(&mut self, ctx: &mut Context<'_, PaxosNode>, msg: Msg) {
        let (Some(awaiting), Some(call)) = (self.awaiting, self.call) else {
            return;
        };
        let id = ctx.id();
        match msg {
            Msg::PutOk { request } if request == awaiting => {
                let value = value_of(id, self.servers.len());
                ctx.ok(call, Op::Put { key: KEY, value });
                let request = (self.op_count + 1) * Self::index(id);
                self.call = Some(ctx.invoke(Op::Get {
                    key: KEY,
                    value: None,
                }));
                ctx.send(self.server(id, self.op_count), Msg::Get { request });
                self.awaiting = Some(request);
                self.op_count += 1;
            }
            Msg::GetOk { request, value } if request == awaiting => {
                ctx.ok(
                    call,
                    Op::Get {
                        key: KEY,
                        value: Some(value),
                    },
                );
                self.call = None;
                self.awaiting = None;
                self.op_count += 1;
            }
            _ => {}
        }
    }
}

impl Node for PaxosNode {
    type Msg = Msg;
    type Timer = ();
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let PaxosNode::Client(c) = self {
            c.on_start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            PaxosNode::Server(s) => s.on_message(ctx, from, msg),
            PaxosNode::Client(c) => c.on_message(ctx, msg),
        }
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            PaxosNode::Server(s) if s.is_decided => {
                let (_, (_, _, value)) = s.accepted?;
                Some(Snapshot::from([(
                    "decided".to_string(),
                    char_of(value).to_string(),
                )]))
            }
            _ => None,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            PaxosNode::Server(s) => format!(
                "ballot {:?}, proposal {:?}, accepted {:?}{}",
                s.ballot,
                s.proposal.map(|(_, c, v)| (c, char_of(v))),
                s.accepted.map(|(b, (_, _, v))| (b, char_of(v))),
                if s.is_decided { ", decided" } else { "" }
            ),
            PaxosNode::Client(c) => {
                format!("awaiting {:?}, {} requests sent", c.awaiting, c.op_count)
            }
        })
    }
}

/// A value as the letter stateright's clients write.
fn char_of(value: u64) -> char {
    u8::try_from(value).map(char::from).unwrap_or('?')
}

impl Protocol for PaxosParams {
    type Node = PaxosNode;
    const NAME: &'static str = "Paxos";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "server")?;
        require_role(plan, Self::NAME, "client")?;
        only_roles(plan, Self::NAME, &["server", "client"])?;
        let servers = plan.roster.members("server");
        let clients = plan.roster.members("client");
        // Stateright's clients find their servers by index: the servers come first.
        if clients.iter().any(|c| servers.iter().any(|s| s > c)) {
            return Err("Paxos needs its `server` nodes listed before its `client` nodes".into());
        }
        if clients.len() > 26 {
            return Err("Paxos clients write the letters A to Z: at most 26 clients".into());
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Linearizable"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<PaxosNode> {
        let ignore_accepted = self.ignore_accepted;
        let servers = plan.roster.members("server");
        Box::new(move |id, roster, _| {
            if roster.role(id) == "server" {
                PaxosNode::Server(Server {
                    ballot: (0, NodeId(0)),
                    proposal: None,
                    prepares: BTreeMap::new(),
                    accepts: BTreeSet::new(),
                    accepted: None,
                    is_decided: false,
                    peers: servers.iter().copied().filter(|&s| s != id).collect(),
                    ignore_accepted,
                })
            } else {
                PaxosNode::Client(Client {
                    awaiting: None,
                    op_count: 0,
                    call: None,
                    servers: servers.clone(),
                })
            }
        })
    }
}
