//! The scaffolding of lab `wal`: the server's state, the log's record names and checksum, the
//! node that calls the student's functions, and the run. The functions themselves are the
//! student's, in `wal.rs`.
//!
//! The server answers reads from its map and hands every write (a put, or a cas whose expected
//! value matched) to the student's `on_write`; at every boot it calls the student's `recover`.
//! A server the student marked `stopped` answers `Unavailable` until it restarts.

use crate::wal::{Functions, STUDENT};
use crate::Code;
use clustersim::history::Op;
use clustersim::node::{Context, Node, NodeFactory, NodeId, Snapshot};
use clustersim::protocols::kv::client::{
    ClientConfig, ClientTimer, KvClient, KvOp, KvReply, KvRequest, KvResult, Target,
};
use clustersim::protocols::{only_roles, require_role};
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use std::collections::BTreeMap;

/// Shorthand for the context the student's functions receive.
pub type Ctx<'a> = Context<'a, WalNode>;

/// The history event a boot records after `recover`: the map it rebuilt, as (key, value)
/// pairs (`RecoversOnlyWrittenValues` judges it).
pub const RECOVERED: &str = "recovered";

/// Where every record of the log lives: keys start with this.
pub const LOG: &str = "wal/";

/// How long after the workload stops the clients read every key once (the reads `Durable`
/// judges).
pub const FINAL_READS_AFTER: Duration = Duration(300_000_000);

/// The three words one log entry is stored as, each a record of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The key the entry writes.
    Key,
    /// The value it writes there.
    Value,
    /// `checksum(index, key, value)`: tells a whole entry from a torn or mixed one.
    Sum,
}

impl Part {
    /// Every part, in the order an entry is written.
    pub const ALL: [Part; 3] = [Part::Key, Part::Value, Part::Sum];

    fn letter(self) -> char {
        match self {
            Part::Key => 'k',
            Part::Value => 'v',
            Part::Sum => 's',
        }
    }
}

/// The storage key of word `part` of log entry `index`, copy `copy`: `wal/00000012/k~0`. The
/// fault atlas never damages both copies `~0` and `~1` of one word.
pub fn record(index: u64, part: Part, copy: u8) -> String {
    format!("{LOG}{index:08}/{}~{copy}", part.letter())
}

/// The key every record of entry `index` and of every later entry sorts at or after (for
/// `Storage::delete_from(LOG, ..)` and `Storage::keys`).
pub fn entry_start(index: u64) -> String {
    format!("{LOG}{index:08}")
}

/// The checksum of entry `index` writing `value` under `key` (64-bit FNV-1a of the three).
pub fn checksum(index: u64, key: u64, value: u64) -> u64 {
    [index, key, value]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// Answers request `id` of `client` with `result` (`Done(None)` acknowledges a write).
pub fn reply(ctx: &mut Ctx<'_>, client: NodeId, id: u64, result: KvResult) {
    ctx.send(client, WalMsg::Rep(KvReply { id, result }));
}

/// The server's state. Everything here is lost in a crash: after a restart `recover` rebuilds it
/// from the log in storage.
#[derive(Clone, Debug, Hash)]
pub struct WalServer {
    /// The key-value map reads are answered from: every write acknowledged, nothing else.
    pub kv: BTreeMap<u64, u64>,
    /// The index the next log entry goes to (the first is 1).
    pub next: u64,
    /// True once the server gave up on its disk: it answers `Unavailable` to everything until
    /// it restarts (PostgreSQL stops after a failed fsync).
    pub stopped: bool,
    /// Free for your own use (e.g. whether an entry is written but not synced yet); starts at
    /// 0 after a restart.
    pub scratch: u64,
    code: &'static Functions,
}

impl WalServer {
    /// A server that has read nothing yet.
    fn new(code: &'static Functions) -> Self {
        WalServer {
            kv: BTreeMap::new(),
            next: 1,
            stopped: false,
            scratch: 0,
            code,
        }
    }
}

/// Messages: a client's request, a server's reply.
#[derive(Clone, Debug, Hash)]
pub enum WalMsg {
    /// A client's request.
    Req(KvRequest),
    /// The server's answer.
    Rep(KvReply),
}

impl From<KvRequest> for WalMsg {
    fn from(r: KvRequest) -> Self {
        WalMsg::Req(r)
    }
}

/// Timers: only the clients set any.
#[derive(Clone, Debug, Hash)]
pub enum WalTimer {
    /// A client's timer.
    Client(ClientTimer),
}

impl From<ClientTimer> for WalTimer {
    fn from(t: ClientTimer) -> Self {
        WalTimer::Client(t)
    }
}

/// A node of the lab: the server, or a workload client.
#[derive(Clone, Debug, Hash)]
pub enum WalNode {
    /// The server running the student's functions.
    Server(Box<WalServer>),
    /// A key-value client.
    Client(Box<KvClient>),
}

impl Node for WalNode {
    type Msg = WalMsg;
    type Timer = WalTimer;
    type Stored = u64;

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            WalNode::Server(s) => {
                (s.code.recover)(s, ctx);
                let map: Vec<(u64, u64)> = s.kv.iter().map(|(k, v)| (*k, *v)).collect();
                ctx.event(Op::custom(RECOVERED, &map));
            }
            WalNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: WalMsg) {
        match (self, msg) {
            (WalNode::Client(c), WalMsg::Rep(r)) => c.on_reply(ctx, from, r),
            (WalNode::Server(s), WalMsg::Req(KvRequest { id, op })) => {
                if s.stopped {
                    return reply(ctx, from, id, KvResult::Unavailable);
                }
                match op {
                    KvOp::Get { key } => {
                        reply(ctx, from, id, KvResult::Done(s.kv.get(&key).copied()))
                    }
                    KvOp::Put { key, value } => (s.code.on_write)(s, ctx, from, id, key, value),
                    KvOp::Cas {
                        key,
                        from: want,
                        to,
                    } => {
                        if s.kv.get(&key).copied() == want {
                            (s.code.on_write)(s, ctx, from, id, key, to);
                        } else {
                            reply(ctx, from, id, KvResult::CasMismatch);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: WalTimer) {
        if let (WalNode::Client(c), WalTimer::Client(t)) = (self, timer) {
            c.on_timer(ctx, t);
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            WalNode::Server(s) => Some(clustersim::protocols::kv::snapshot(&s.kv)),
            WalNode::Client(_) => None,
        }
    }
}

/// Checks the scenario has one server and clients, and nothing else.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "wal", "server")?;
    require_role(plan, "wal", "client")?;
    only_roles(plan, "wal", &["server", "client"])?;
    let servers = plan.roster.members("server").len();
    if servers != 1 {
        return Err(format!(
            "lab `wal` runs one server (its log is the only copy); the scenario has {servers}"
        ));
    }
    Ok(())
}

/// The lab's run, not yet started, with `code`'s functions.
pub fn sim(plan: &Plan, code: Code, trace: TraceLevel) -> Sim<WalNode> {
    let functions = code.pick(&STUDENT);
    let server = plan.roster.members("server");
    let clients = plan.roster.members("client").len();
    let final_reads = plan.workload().stop.map(|s| s + FINAL_READS_AFTER);
    let config = ClientConfig::from_plan(plan, clients.max(1), final_reads);
    let factory: NodeFactory<WalNode> = Box::new(move |id, roster, _storage| {
        if roster.role(id) == "client" {
            WalNode::Client(Box::new(KvClient::new(
                config.clone(),
                server.clone(),
                Target::Leader,
            )))
        } else {
            WalNode::Server(Box::new(WalServer::new(functions)))
        }
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the lab with `code`'s functions to the end.
pub fn run(plan: &Plan, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, code, trace).run()
}
