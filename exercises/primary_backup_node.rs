//! The scaffolding of lab `primary-backup`: the messages, the view server's and the servers'
//! state with the helpers their handlers use, the nodes that call the handlers, and the run.
//! The handlers themselves are the student's, in `primary_backup.rs`.
//!
//! The scaffolding does the bookkeeping no handler should have to: servers ping the view server
//! every [`PING`] with the view number they acknowledge (`PbServer::acked`), the view server
//! notes when it last heard from each server and answers every ping with its current view, a
//! server's `on_view` runs only for a view newer than the one it holds, and changes are recorded
//! in the history for the checkers: the view server's `view` and `view-ack` events, and each
//! server's `role` and `leader` events when it becomes or stops being a primary (views are
//! terms, so `ElectionSafety` judges one primary per view, and a nemesis with `pick: Leader`
//! aims at the primary).

use crate::primary_backup::{Functions, STUDENT};
use crate::Code;
use clustersim::history::{Op, RoleChange, LEADER, ROLE};
use clustersim::node::{Context, Node, NodeFactory, NodeId, Snapshot};
use clustersim::protocols::kv::client::{
    ClientConfig, ClientTimer, KvClient, KvOp, KvReply, KvRequest, KvResult, Target,
};
use clustersim::protocols::{only_roles, require_role};
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::time::{Duration, SimTime};
use clustersim::trace::TraceLevel;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The name of the view server's event for a new view (the `View` as its value).
pub const VIEW: &str = "view";
/// The name of the view server's event when a view's primary first acknowledges it (the view's
/// number as its value).
pub const VIEW_ACK: &str = "view-ack";

/// How often servers ping the view server, and how often it runs `on_check`.
pub const PING: Duration = Duration(100_000_000);
/// Pings a server may miss before the view server counts it as dead.
pub const DEAD_PINGS: u64 = 5;
/// How often `on_tick` runs on every server (to send again what was not answered).
pub const TICK: Duration = Duration(20_000_000);

/// Which server is primary and which is backup, numbered: view 0 has neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct View {
    /// The view's number; each new view has the next one.
    pub num: u64,
    /// The server that serves clients.
    pub primary: Option<NodeId>,
    /// The server that keeps a copy, and takes over when the primary fails.
    pub backup: Option<NodeId>,
}

/// Primary to backup: apply operation number `seq` of view `view`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Forward {
    /// The primary's view.
    pub view: u64,
    /// The operation's place in the primary's order (1, 2, 3, ...).
    pub seq: u64,
    /// The operation.
    pub op: KvOp,
}

/// Backup to primary: the answer to a `Forward`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ForwardReply {
    /// The backup's view.
    pub view: u64,
    /// What the backup acknowledges (your choice: the one forward, or all up to it).
    pub seq: u64,
    /// False: the backup refused (another view, not its primary, no state yet).
    pub ok: bool,
}

/// Primary to a new backup: the whole state, as of operation `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transfer {
    /// The primary's view.
    pub view: u64,
    /// Operations applied so far.
    pub seq: u64,
    /// The key-value map.
    pub kv: BTreeMap<u64, u64>,
    /// The results of the writes applied so far, by written value.
    pub applied_writes: BTreeMap<u64, KvResult>,
}

/// Backup to primary: the answer to a `Transfer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransferReply {
    /// The backup's view.
    pub view: u64,
    /// False: the backup refused (another view, or not the backup of it).
    pub ok: bool,
}

/// Every message of the lab.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PbMsg {
    /// Server to view server: I am alive and acknowledge view `view` (0 after a restart).
    Ping {
        /// The view number the server acknowledges.
        view: u64,
    },
    /// View server to server: the current view.
    ViewReply(View),
    /// Client to server.
    Req(KvRequest),
    /// Server to client.
    Rep(KvReply),
    /// Primary to backup.
    Forward(Forward),
    /// Backup to primary.
    ForwardReply(ForwardReply),
    /// Primary to new backup.
    Transfer(Box<Transfer>),
    /// New backup to primary.
    TransferReply(TransferReply),
}

impl From<KvRequest> for PbMsg {
    fn from(r: KvRequest) -> Self {
        PbMsg::Req(r)
    }
}

/// Every timer of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PbTimer {
    /// Servers: ping the view server. View server: run `on_check`.
    Ping,
    /// Servers: run `on_tick`.
    Tick,
    /// A client's timer.
    Client(ClientTimer),
}

impl From<ClientTimer> for PbTimer {
    fn from(t: ClientTimer) -> Self {
        PbTimer::Client(t)
    }
}

/// Shorthand for the context the handlers receive.
pub type Ctx<'a> = Context<'a, LabNode>;

/// The view server's state.
#[derive(Clone, Debug, Hash)]
pub struct ViewServer {
    /// Every server of the cluster (not the view server, not the clients).
    pub servers: Vec<NodeId>,
    /// The current view.
    pub view: View,
    /// True once the primary of `view` pinged with `view.num`: only then may the view change.
    pub acked: bool,
    /// When each server last pinged (kept by the scaffolding, before `on_ping` runs).
    pub last_heard: BTreeMap<NodeId, SimTime>,
    /// The newest view whose acknowledgement the scaffolding recorded.
    ack_recorded: u64,
    code: &'static Functions,
}

impl ViewServer {
    /// True when `server` pinged within the last `DEAD_PINGS` ping intervals.
    pub fn alive(&self, server: NodeId, now: SimTime) -> bool {
        self.last_heard
            .get(&server)
            .is_some_and(|t| now.since(*t) < Duration(PING.0 * DEAD_PINGS))
    }

    /// The first live server that is neither the primary nor the backup of `view`.
    pub fn idle(&self, now: SimTime) -> Option<NodeId> {
        self.servers.iter().copied().find(|s| {
            Some(*s) != self.view.primary && Some(*s) != self.view.backup && self.alive(*s, now)
        })
    }

    /// Moves to the next view, with `primary` and `backup`, not acknowledged yet.
    pub fn change_view(&mut self, primary: Option<NodeId>, backup: Option<NodeId>) {
        self.view = View {
            num: self.view.num + 1,
            primary,
            backup,
        };
        self.acked = false;
    }
}

/// A request the primary applied and has not answered yet (it waits for the backup).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Waiting {
    /// Whom to answer.
    pub client: NodeId,
    /// The client's request id.
    pub id: u64,
    /// The operation.
    pub op: KvOp,
    /// What to answer.
    pub result: KvResult,
}

/// A primary-backup server's state. Nothing survives a crash: a restarted server starts empty
/// and pings with view 0. Add fields of your own if you like.
#[derive(Clone, Debug, Hash)]
pub struct PbServer {
    /// This server.
    pub me: NodeId,
    /// The view server.
    pub viewserver: NodeId,
    /// The newest view this server knows.
    pub view: View,
    /// The view number this server's pings acknowledge (the primary's acknowledgement lets the
    /// view server move on: acknowledge only a view you are ready to serve in).
    pub acked: u64,
    /// The key-value map.
    pub kv: BTreeMap<u64, u64>,
    /// The results of the writes applied so far, by written value (for `apply`, if you need it).
    pub applied_writes: BTreeMap<u64, KvResult>,
    /// Operations applied so far, in order (the primary numbers its forwards with it).
    pub seq: u64,
    /// Primary: requests applied and forwarded, waiting for the backup, by `seq`.
    pub waiting: BTreeMap<u64, Waiting>,
    /// Backup: forwards that arrived before the ones before them, by `seq`.
    pub early: BTreeMap<u64, KvOp>,
    /// Backup: the view whose primary's `Transfer` this server took (its state is that
    /// primary's from then on).
    pub synced: u64,
    /// Primary: a `Transfer` to the backup of `view` is sent and not yet acknowledged.
    pub transferring: bool,
    /// Client requests (client, request id) this server answered or took already: the network
    /// delivers some twice, and a copy of a request refused with `NotLeader` must not be
    /// carried out later (the client took the refusal for an answer).
    pub seen: BTreeSet<(NodeId, u64)>,
    code: &'static Functions,
}

impl PbServer {
    fn new(me: NodeId, viewserver: NodeId, code: &'static Functions) -> Self {
        PbServer {
            me,
            viewserver,
            view: View::default(),
            acked: 0,
            kv: BTreeMap::new(),
            applied_writes: BTreeMap::new(),
            seq: 0,
            waiting: BTreeMap::new(),
            early: BTreeMap::new(),
            synced: 0,
            transferring: false,
            seen: BTreeSet::new(),
            code,
        }
    }

    /// True when this server is the primary of `view`.
    pub fn is_primary(&self) -> bool {
        self.view.primary == Some(self.me)
    }

    /// True when this server is the backup of `view`.
    pub fn is_backup(&self) -> bool {
        self.view.backup == Some(self.me)
    }

    /// Sends `msg` to `to`.
    pub fn send(&self, ctx: &mut Ctx<'_>, to: NodeId, msg: PbMsg) {
        ctx.send(to, msg);
    }

    /// Sends `msg` to the backup of `view`, if it has one.
    pub fn send_to_backup(&self, ctx: &mut Ctx<'_>, msg: PbMsg) {
        if let Some(b) = self.view.backup {
            ctx.send(b, msg);
        }
    }

    /// The whole state as a `Transfer` of `view`.
    pub fn transfer(&self) -> PbMsg {
        PbMsg::Transfer(Box::new(Transfer {
            view: self.view.num,
            seq: self.seq,
            kv: self.kv.clone(),
            applied_writes: self.applied_writes.clone(),
        }))
    }

    /// Applies `op` with your `apply` and counts it in `seq`; returns what its client is told.
    pub fn execute(&mut self, op: KvOp) -> KvResult {
        self.seq += 1;
        (self.code.apply)(self, op)
    }

    /// Answers request `id` of `client` with `result`.
    pub fn reply(&self, ctx: &mut Ctx<'_>, client: NodeId, id: u64, result: KvResult) {
        ctx.send(client, PbMsg::Rep(KvReply { id, result }));
    }

    /// Answers `client` that this server does not serve clients now, naming the primary it
    /// knows of (the client's next try goes there).
    pub fn redirect(&self, ctx: &mut Ctx<'_>, client: NodeId, id: u64) {
        let leader = self.view.primary.filter(|p| *p != self.me);
        self.reply(ctx, client, id, KvResult::NotLeader { leader });
    }

    fn snapshot(&self) -> Snapshot {
        clustersim::protocols::kv::snapshot(&self.kv)
    }
}

/// A node of the lab.
#[derive(Clone, Debug, Hash)]
pub enum LabNode {
    /// The view server, running the student's `on_ping` and `on_check`.
    ViewServer(Box<ViewServer>),
    /// A primary-backup server, running the student's handlers.
    Server(Box<PbServer>),
    /// A key-value client.
    Client(Box<KvClient>),
}

impl LabNode {
    /// Runs `handler` on the view server and records a new view.
    fn view_server(
        &mut self,
        ctx: &mut Ctx<'_>,
        handler: impl FnOnce(&mut ViewServer, &mut Ctx<'_>),
    ) {
        let LabNode::ViewServer(vs) = self else {
            return;
        };
        let before = vs.view;
        handler(vs, ctx);
        if vs.view != before {
            ctx.event(Op::custom(VIEW, &vs.view));
        }
    }

    /// Runs `handler` on the server and records a change of whether it is the primary.
    fn server(&mut self, ctx: &mut Ctx<'_>, handler: impl FnOnce(&mut PbServer, &mut Ctx<'_>)) {
        let LabNode::Server(s) = self else { return };
        let before = (s.is_primary(), s.view.num);
        handler(s, ctx);
        let after = (s.is_primary(), s.view.num);
        if after != before && (before.0 || after.0) {
            let role = if after.0 { "leader" } else { "follower" };
            ctx.event(Op::custom(
                ROLE,
                &RoleChange {
                    term: s.view.num,
                    role: role.to_string(),
                },
            ));
            if after.0 {
                ctx.event(Op::custom(LEADER, &s.view.num));
            }
        }
    }
}

impl Node for LabNode {
    type Msg = PbMsg;
    type Timer = PbTimer;
    type Stored = ();

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            LabNode::ViewServer(_) => {
                ctx.set_timer(PING, PbTimer::Ping);
            }
            LabNode::Server(s) => {
                ctx.send(s.viewserver, PbMsg::Ping { view: s.acked });
                ctx.set_timer(PING, PbTimer::Ping);
                ctx.set_timer(TICK, PbTimer::Tick);
            }
            LabNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: PbMsg) {
        match self {
            LabNode::Client(c) => {
                if let PbMsg::Rep(reply) = msg {
                    c.on_reply(ctx, from, reply);
                }
            }
            LabNode::ViewServer(vs) => {
                let PbMsg::Ping { view } = msg else { return };
                if !vs.servers.contains(&from) {
                    return;
                }
                vs.last_heard.insert(from, ctx.now());
                if vs.view.primary == Some(from) && view == vs.view.num && view > vs.ack_recorded {
                    vs.ack_recorded = view;
                    ctx.event(Op::custom(VIEW_ACK, &view));
                }
                self.view_server(ctx, |vs, ctx| (vs.code.on_ping)(vs, ctx, from, view));
                if let LabNode::ViewServer(vs) = self {
                    ctx.send(from, PbMsg::ViewReply(vs.view));
                }
            }
            LabNode::Server(_) => self.server(ctx, |s, ctx| {
                let code = s.code;
                match msg {
                    PbMsg::ViewReply(view) if view.num > s.view.num => (code.on_view)(s, ctx, view),
                    PbMsg::Req(req) => (code.on_request)(s, ctx, from, req),
                    PbMsg::Forward(f) => (code.on_forward)(s, ctx, from, f),
                    PbMsg::ForwardReply(r) => (code.on_forward_reply)(s, ctx, from, r),
                    PbMsg::Transfer(t) => (code.on_transfer)(s, ctx, from, *t),
                    PbMsg::TransferReply(r) => (code.on_transfer_reply)(s, ctx, from, r),
                    PbMsg::ViewReply(_) | PbMsg::Ping { .. } | PbMsg::Rep(_) => {}
                }
            }),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: PbTimer) {
        match (&mut *self, timer) {
            (LabNode::Client(c), PbTimer::Client(t)) => c.on_timer(ctx, t),
            (LabNode::ViewServer(_), PbTimer::Ping) => {
                ctx.set_timer(PING, PbTimer::Ping);
                self.view_server(ctx, |vs, ctx| (vs.code.on_check)(vs, ctx));
            }
            (LabNode::Server(s), PbTimer::Ping) => {
                ctx.set_timer(PING, PbTimer::Ping);
                ctx.send(s.viewserver, PbMsg::Ping { view: s.acked });
            }
            (LabNode::Server(_), PbTimer::Tick) => {
                ctx.set_timer(TICK, PbTimer::Tick);
                self.server(ctx, |s, ctx| (s.code.on_tick)(s, ctx));
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            LabNode::Server(s) => Some(s.snapshot()),
            _ => None,
        }
    }
}

/// Checks the scenario has one view server, servers, and perhaps clients, and nothing else.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "primary-backup", "viewserver")?;
    require_role(plan, "primary-backup", "server")?;
    only_roles(plan, "primary-backup", &["viewserver", "server", "client"])?;
    let n = plan.roster.members("viewserver").len();
    if n != 1 {
        return Err(format!(
            "lab `primary-backup` has one view server; the scenario has {n} nodes of role `viewserver`"
        ));
    }
    Ok(())
}

/// The lab's run, not yet started, with `code`'s handlers; clients send a request that timed
/// out again up to `client_retries` times.
pub fn sim(plan: &Plan, client_retries: u32, code: Code, trace: TraceLevel) -> Sim<LabNode> {
    let functions = code.pick(&STUDENT);
    let viewserver = plan.roster.members("viewserver")[0];
    let servers = plan.roster.members("server");
    let clients = plan.roster.members("client");
    let final_reads = plan
        .workload()
        .stop
        .map(|s| s + Duration::from_millis(1500));
    let mut config = ClientConfig::from_plan(plan, clients.len().max(1), final_reads);
    config.timeout_retries = client_retries;
    let factory: NodeFactory<LabNode> =
        Box::new(move |id, roster, _storage| match roster.role(id) {
            "client" => LabNode::Client(Box::new(KvClient::new(
                config.clone(),
                servers.clone(),
                Target::Leader,
            ))),
            "viewserver" => LabNode::ViewServer(Box::new(ViewServer {
                servers: servers.clone(),
                view: View::default(),
                acked: false,
                last_heard: BTreeMap::new(),
                ack_recorded: 0,
                code: functions,
            })),
            _ => LabNode::Server(Box::new(PbServer::new(id, viewserver, functions))),
        });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the lab with `code`'s handlers to the end.
pub fn run(plan: &Plan, client_retries: u32, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, client_retries, code, trace).run()
}
