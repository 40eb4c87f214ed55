//! A small transactional store for Jepsen's list-append workload: one `server` holds lists by
//! key; `client`s run interactive transactions of reads and appends against it, checked by
//! `Transactional` (Elle's anomalies). A transaction takes two round trips: `Begin` executes its
//! steps on a snapshot of the committed state (each read sees the snapshot plus the
//! transaction's own appends) and `Commit`, after the client thinks, validates and installs its
//! appends, so transactions of different clients overlap.
//!
//! How commits are validated is the protocol's switch (`concurrency`):
//! - `Serializable`: optimistic concurrency control with backward validation: a transaction
//!   aborts if any key it read or appended to was committed since its snapshot. Serializable.
//! - `SnapshotIsolation`: first committer wins on the keys it appends to only. Snapshot
//!   isolation, and so write skew: two transactions that each read what the other appends to
//!   both commit (G2-item).
//! - `LostUpdate`: no validation, and an append writes back the snapshot's list with the new
//!   element: a concurrent transaction's committed append to the same key disappears.
//!
//! Commits are durable (stored and synced before the reply); a transaction open when the server
//! crashes is forgotten, and its client records it as unknown (`info`) when its timeout fires.

use crate::history::{Op, OpId};
use crate::node::NodeFactory;
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::storage::Storage;
use crate::time::{Duration, SimTime};
use crate::{Context, Node, NodeId};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// How the server decides whether a transaction may commit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Concurrency {
    /// Abort when a key read or appended to changed since the snapshot: serializable.
    Serializable,
    /// Abort when a key appended to changed since the snapshot (first committer wins):
    /// snapshot isolation, which allows write skew.
    SnapshotIsolation,
    /// Planted bug: never abort, and append by writing back the snapshot's list.
    LostUpdate,
}

/// Parameters of `protocol: TxnStore(...)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxnStoreParams {
    /// How commits are validated.
    pub concurrency: Concurrency,
    /// The most steps in one transaction (each a read or an append; at least 1).
    pub max_steps: u32,
    /// The longest a client thinks between a transaction's execution and its commit.
    pub think: Duration,
}

impl Default for TxnStoreParams {
    fn default() -> Self {
        TxnStoreParams {
            concurrency: Concurrency::Serializable,
            max_steps: 4,
            think: Duration::from_millis(10),
        }
    }
}

/// The most steps a transaction may have.
pub const MAX_STEPS: u32 = 64;

/// One step of a transaction: read a key, or append a value to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxnStep {
    /// Read the key's list.
    Read(u64),
    /// Append the value to the key's list.
    Append(u64, u64),
}

/// What clients and the server send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Execute transaction `id`'s steps on a snapshot.
    Begin {
        /// The client's transaction id.
        id: u64,
        /// Its steps.
        steps: Vec<TxnStep>,
    },
    /// The steps ran; the transaction is open.
    Executed {
        /// The transaction.
        id: u64,
    },
    /// Commit transaction `id`.
    Commit {
        /// The transaction.
        id: u64,
    },
    /// It committed; each read step's list, in step order.
    Committed {
        /// The transaction.
        id: u64,
        /// The lists its reads returned.
        reads: Vec<Vec<u64>>,
    },
    /// It aborted: a conflicting transaction committed first. Nothing was applied.
    Aborted {
        /// The transaction.
        id: u64,
    },
}

/// Client timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Time to start the next transaction.
    Next,
    /// Time to commit transaction `id`.
    Commit(u64),
    /// Transaction `id` has waited long enough.
    Timeout(u64),
}

/// A node of the store.
#[derive(Clone, Debug)]
pub enum TxnStoreNode {
    /// The server.
    Server(Box<Server>),
    /// A client.
    Client(Box<Client>),
}

/// A transaction the server has executed and not yet committed or aborted.
#[derive(Clone, Debug)]
struct Open {
    id: u64,
    /// The commit count its snapshot was taken at.
    snapshot: u64,
    read_keys: BTreeSet<u64>,
    appends: Vec<(u64, u64)>,
    /// The list of each key appended to, as the snapshot had it.
    base: BTreeMap<u64, Vec<u64>>,
    reads: Vec<Vec<u64>>,
}

/// The server's state.
#[derive(Clone, Debug)]
pub struct Server {
    concurrency: Concurrency,
    lists: BTreeMap<u64, Vec<u64>>,
    /// The commit count at which each key last changed.
    changed: BTreeMap<u64, u64>,
    commits: u64,
    /// Each client's open transaction.
    open: BTreeMap<NodeId, Open>,
    /// Each client's last finished transaction id (committed or aborted) and its reply.
    done: BTreeMap<NodeId, (u64, Msg)>,
}

/// A transaction the client is waiting on.
#[derive(Clone, Debug)]
struct Pending {
    id: u64,
    op: OpId,
    steps: Vec<TxnStep>,
}

/// A client's state.
#[derive(Clone, Debug)]
pub struct Client {
    server: NodeId,
    limit: u64,
    issued: u64,
    interval: Duration,
    start: Duration,
    stop: Option<Duration>,
    timeout: Duration,
    keys: u64,
    reads: f64,
    max_steps: u32,
    think: Duration,
    next_id: u64,
    /// This client's place among the clients, and their number: values are unique per client.
    index: u64,
    clients: u64,
    next_value: u64,
    pending: Option<Pending>,
}

/// The history's form of a transaction: Jepsen's `[["append", k, v], ["r", k, list]]`, a
/// read's list `null` until known.
fn recorded(steps: &[TxnStep], reads: Option<&[Vec<u64>]>) -> Op {
    let mut lists = reads.map(|r| r.iter());
    let value: Vec<Json> = steps
        .iter()
        .map(|s| match s {
            TxnStep::Append(k, v) => json!(["append", k, v]),
            TxnStep::Read(k) => {
                let list = lists.as_mut().and_then(|l| l.next());
                json!(["r", k, list])
            }
        })
        .collect();
    Op::custom("txn", &value)
}

fn list_key(k: u64) -> String {
    format!("list/{k:020}")
}

fn changed_key(k: u64) -> String {
    format!("changed/{k:020}")
}

impl Server {
    fn boot(concurrency: Concurrency, storage: &Storage<Vec<u64>>) -> Server {
        let mut lists = BTreeMap::new();
        let mut changed = BTreeMap::new();
        for (name, v) in storage.scan("list/") {
            if let Ok(k) = name["list/".len()..].parse::<u64>() {
                lists.insert(k, v.clone());
            }
        }
        for (name, v) in storage.scan("changed/") {
            if let (Ok(k), Some(&at)) = (name["changed/".len()..].parse::<u64>(), v.first()) {
                changed.insert(k, at);
            }
        }
        let mut done = BTreeMap::new();
        for (name, v) in storage.scan("done/") {
            if let (Ok(c), Some(&id)) = (name["done/".len()..].parse::<u32>(), v.first()) {
                // The reply is not kept: a late copy of a finished transaction is ignored.
                done.insert(NodeId(c), (id, Msg::Aborted { id }));
            }
        }
        let commits = storage.get("commits").and_then(|v| v.first()).copied();
        Server {
            concurrency,
            lists,
            changed,
            commits: commits.unwrap_or(0),
            open: BTreeMap::new(),
            done,
        }
    }

    fn finished(&self, client: NodeId, id: u64) -> bool {
        self.done.get(&client).is_some_and(|(last, _)| id <= *last)
    }

    fn begin(
        &mut self,
        ctx: &mut Context<'_, TxnStoreNode>,
        from: NodeId,
        id: u64,
        steps: &[TxnStep],
    ) {
        if self.finished(from, id) {
            return;
        }
        if self.open.get(&from).is_none_or(|o| o.id != id) {
            let mut own: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
            let mut open = Open {
                id,
                snapshot: self.commits,
                read_keys: BTreeSet::new(),
                appends: Vec::new(),
                base: BTreeMap::new(),
                reads: Vec::new(),
            };
            for step in steps {
                match *step {
                    TxnStep::Read(k) => {
                        let mut list = self.lists.get(&k).cloned().unwrap_or_default();
                        list.extend(own.get(&k).into_iter().flatten());
                        open.read_keys.insert(k);
                        open.reads.push(list);
                    }
                    TxnStep::Append(k, v) => {
                        own.entry(k).or_default().push(v);
                        open.appends.push((k, v));
                        open.base
                            .entry(k)
                            .or_insert_with(|| self.lists.get(&k).cloned().unwrap_or_default());
                    }
                }
            }
            self.open.insert(from, open);
        }
        ctx.send(from, Msg::Executed { id });
    }

    fn commit(&mut self, ctx: &mut Context<'_, TxnStoreNode>, from: NodeId, id: u64) {
        if let Some((last, reply)) = self.done.get(&from) {
            if *last == id {
                // A copy of a commit already decided: the same answer again.
                ctx.send(from, reply.clone());
                return;
            }
        }
        let Some(open) = self.open.remove_if_id(from, id) else {
            // Unknown (forgotten in a crash, or never begun): no answer; the client times out.
            return;
        };
        let since = |k: &u64| self.changed.get(k).is_some_and(|&at| at > open.snapshot);
        let conflict = match self.concurrency {
            Concurrency::Serializable => {
                open.read_keys.iter().any(since) || open.appends.iter().any(|(k, _)| since(k))
            }
            Concurrency::SnapshotIsolation => open.appends.iter().any(|(k, _)| since(k)),
            Concurrency::LostUpdate => false,
        };
        let reply = if conflict {
            Msg::Aborted { id }
        } else {
            if !open.appends.is_empty() {
                self.commits += 1;
                let storage = ctx.storage();
                for (k, list) in &open.base {
                    let new: Vec<u64> = match self.concurrency {
                        Concurrency::LostUpdate => list.clone(),
                        _ => self.lists.get(k).cloned().unwrap_or_default(),
                    }
                    .into_iter()
                    .chain(open.appends.iter().filter(|(a, _)| a == k).map(|(_, v)| *v))
                    .collect();
                    storage.put(list_key(*k), new.clone());
                    storage.put(changed_key(*k), vec![self.commits]);
                    self.lists.insert(*k, new);
                    self.changed.insert(*k, self.commits);
                }
                storage.put("commits", vec![self.commits]);
            }
            Msg::Committed {
                id,
                reads: open.reads,
            }
        };
        let storage = ctx.storage();
        storage.put(format!("done/{}", from.0), vec![id]);
        storage.sync();
        self.done.insert(from, (id, reply.clone()));
        ctx.send(from, reply);
    }
}

/// Removing an entry only when it is the transaction asked for.
trait RemoveIfId {
    fn remove_if_id(&mut self, client: NodeId, id: u64) -> Option<Open>;
}

impl RemoveIfId for BTreeMap<NodeId, Open> {
    fn remove_if_id(&mut self, client: NodeId, id: u64) -> Option<Open> {
        if self.get(&client)?.id == id {
            self.remove(&client)
        } else {
            None
        }
    }
}

impl Client {
    fn jitter(&self, ctx: &mut Context<'_, TxnStoreNode>) -> Duration {
        let i = self.interval.0.max(2);
        Duration(ctx.rng().random_range(i / 2..=i + i / 2))
    }

    fn schedule(&mut self, ctx: &mut Context<'_, TxnStoreNode>) {
        let next = self.jitter(ctx);
        ctx.set_timer(next, Timer::Next);
    }

    fn start_txn(&mut self, ctx: &mut Context<'_, TxnStoreNode>) {
        let now = ctx.now();
        if (self.limit > 0 && self.issued >= self.limit)
            || self.stop.is_some_and(|s| now >= SimTime::ZERO + s)
        {
            return;
        }
        self.issued += 1;
        let rng = ctx.rng();
        let count = rng.random_range(1..=self.max_steps);
        let mut steps = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let key = rng.random_range(0..self.keys);
            if rng.random::<f64>() < self.reads {
                steps.push(TxnStep::Read(key));
            } else {
                let value = self.next_value * self.clients + self.index + 1;
                self.next_value += 1;
                steps.push(TxnStep::Append(key, value));
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        let op = ctx.invoke(recorded(&steps, None));
        ctx.send(
            self.server,
            Msg::Begin {
                id,
                steps: steps.clone(),
            },
        );
        ctx.set_timer(self.timeout, Timer::Timeout(id));
        self.pending = Some(Pending { id, op, steps });
    }
}

impl Node for TxnStoreNode {
    type Msg = Msg;
    type Timer = Timer;
    type Stored = Vec<u64>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let TxnStoreNode::Client(c) = self {
            // Values and ids must not repeat across incarnations. The previous incarnation
            // started at most one transaction (of at most MAX_STEPS appends) per nanosecond,
            // so counting from the boot's virtual time in nanoseconds keeps them apart, and
            // the first boot's values small. Each client takes every `clients`-th value.
            c.next_value = ctx.true_now.0.saturating_mul(u64::from(MAX_STEPS));
            c.next_id = ctx.true_now.0;
            c.pending = None;
            let first = (SimTime::ZERO + c.start).since(ctx.now()) + c.jitter(ctx);
            ctx.set_timer(first, Timer::Next);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            TxnStoreNode::Server(s) => match msg {
                Msg::Begin { id, steps } => s.begin(ctx, from, id, &steps),
                Msg::Commit { id } => s.commit(ctx, from, id),
                _ => {}
            },
            TxnStoreNode::Client(c) => match msg {
                Msg::Executed { id } if c.pending.as_ref().is_some_and(|p| p.id == id) => {
                    let think = Duration(ctx.rng().random_range(0..=c.think.0));
                    ctx.set_timer(think, Timer::Commit(id));
                }
                Msg::Committed { id, reads } => {
                    if let Some(p) = c.pending.take_if(|p| p.id == id) {
                        ctx.ok(p.op, recorded(&p.steps, Some(&reads)));
                        c.schedule(ctx);
                    }
                }
                Msg::Aborted { id } => {
                    if let Some(p) = c.pending.take_if(|p| p.id == id) {
                        ctx.fail(p.op, recorded(&p.steps, None));
                        c.schedule(ctx);
                    }
                }
                _ => {}
            },
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        let TxnStoreNode::Client(c) = self else {
            return;
        };
        match timer {
            Timer::Next if c.pending.is_none() => c.start_txn(ctx),
            Timer::Commit(id) if c.pending.as_ref().is_some_and(|p| p.id == id) => {
                ctx.send(c.server, Msg::Commit { id });
            }
            Timer::Timeout(id) => {
                if let Some(p) = c.pending.take_if(|p| p.id == id) {
                    ctx.info(p.op, recorded(&p.steps, None));
                    c.schedule(ctx);
                }
            }
            _ => {}
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            TxnStoreNode::Server(s) => format!(
                "{} commits, {} keys, {} open transactions",
                s.commits,
                s.lists.len(),
                s.open.len()
            ),
            TxnStoreNode::Client(c) => match &c.pending {
                Some(p) => format!("waiting on transaction {} ({} steps)", p.id, p.steps.len()),
                None => format!("{} transactions issued", c.issued),
            },
        })
    }
}

impl Protocol for TxnStoreParams {
    type Node = TxnStoreNode;
    const NAME: &'static str = "TxnStore";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "server")?;
        require_role(plan, Self::NAME, "client")?;
        only_roles(plan, Self::NAME, &["server", "client"])?;
        if plan.roster.members("server").len() != 1 {
            return Err("TxnStore needs exactly one `server` node".into());
        }
        if self.max_steps == 0 || self.max_steps > MAX_STEPS {
            return Err(format!(
                "TxnStore max_steps must be between 1 and {MAX_STEPS}, got {}",
                self.max_steps
            ));
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Transactional"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<TxnStoreNode> {
        let params = self.clone();
        let server = plan.roster.members("server")[0];
        let clients = plan.roster.members("client").len().max(1) as u64;
        // The workload's settings as every client reads them (the total shared among clients).
        let w = crate::protocols::kv::client::ClientConfig::from_plan(plan, clients as usize, None);
        Box::new(move |id, roster, storage| {
            if roster.role(id) == "server" {
                TxnStoreNode::Server(Box::new(Server::boot(params.concurrency, storage)))
            } else {
                TxnStoreNode::Client(Box::new(Client {
                    server,
                    limit: w.limit,
                    issued: 0,
                    interval: w.interval,
                    start: w.start,
                    stop: w.stop,
                    timeout: w.timeout,
                    keys: w.keys.max(1),
                    reads: w.reads,
                    max_steps: params.max_steps,
                    think: params.think,
                    next_id: 0,
                    index: roster
                        .members("client")
                        .iter()
                        .position(|c| *c == id)
                        .unwrap_or(0) as u64,
                    clients,
                    next_value: 0,
                    pending: None,
                }))
            }
        })
    }
}
