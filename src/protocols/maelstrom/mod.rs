//! Maelstrom programs as nodes: Gossip Glomers solutions in any language, run under
//! clustersim's network, faults and checks.
//!
//! A `Maelstrom(bin: "./my-node", workload: Broadcast(...))` scenario starts one child process
//! per node of role `n` (named n1, n2, ... as Maelstrom names them) and speaks Maelstrom's
//! protocol with it: one JSON message per line on stdin and stdout
//! (`{"src","dest","body":{"type","msg_id","in_reply_to",...}}`), `init` first. Every message a
//! program writes travels through the simulated network; nodes of role `c` are the workload's
//! clients (`client.rs`). The engine's one thread of virtual time is kept: a message is written
//! to its program, the program is read until it is quiet (`process.rs`), and only the lines it
//! wrote, in their order, decide what happens next.
//!
//! - Timers: a program asks for a tick in virtual time with
//!   `{"dest":"clustersim","body":{"type":"set_timer","ms":100,"tag":T}}` and receives
//!   `{"src":"clustersim","body":{"type":"timer","tag":T}}` when it is due.
//! - Crashes: a crash kills the process (and its process group); a restart starts a new one.
//!   Each node's program gets a directory of its own in `CLUSTERSIM_NODE_DIR`, inside a
//!   directory the run owns and removes; what it wrote there survives a crash (a process
//!   crash: the files reached the OS), and a `Wipe` fault empties it.
//! - Services: nodes of role `services` named `lin-kv`, `seq-kv`, `lww-kv` or `lin-tso` are
//!   Maelstrom's services (`services.rs`), reached by that name across the simulated network.
//! - Workloads: `workload/` (a `MaelstromWorkload` per workload; `Workload` names one).
//! - A program that fails (exits, writes a line that is not a Maelstrom message, never goes
//!   quiet) ends the run as a node's panic does, naming the node and the line; one that cannot
//!   start or answer `init` is refused before the run (`validate`).

pub mod client;
mod process;
mod rundir;
pub mod services;
pub mod wire;
pub mod workload;

use crate::node::{Context, Node, NodeFactory, NodeId, Snapshot};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::time::Duration;
use process::{Failure, Program};
use rundir::RunDir;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wire::Packet;
use workload::MaelstromWorkload;

pub use client::ClientNode;

/// The name programs write as `dest` to reach clustersim itself (timers).
pub const CLUSTERSIM: &str = "clustersim";

/// What a run of programs guarantees about replay (the report prints it).
pub const GUARANTEE: &str = "replays exactly when the programs read no clock and time \
     themselves with clustersim's virtual timers (set_timer); a program on wall-clock timers \
     still runs, and --check-determinism says whether its run reproduced";

/// The client that sends `init` and `topology`, as Maelstrom names it.
pub const INIT_CLIENT: &str = "c0";

/// Parameters of a Maelstrom program run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaelstromParams {
    /// The program, as a path (relative to the current directory) or a name on `PATH`.
    pub bin: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// What the clients do and what the checks judge.
    pub workload: Workload,
    /// The role whose nodes run the program.
    #[serde(default = "default_nodes")]
    pub nodes: String,
    /// The role whose nodes are the workload's clients.
    #[serde(default = "default_clients")]
    pub clients: String,
    /// The role whose nodes are Maelstrom's services, each named for one (`lin-kv`, `seq-kv`,
    /// `lww-kv`, `lin-tso`): `(role: "services", names: ["seq-kv"])`. Optional.
    #[serde(default = "default_services")]
    pub services: String,
    /// Virtual time between the workload's `stop` and the final reads (broadcast, counters).
    #[serde(default = "default_settle")]
    pub settle: Duration,
    /// Real time a program may take to start and answer `init`.
    #[serde(default = "default_wait_init")]
    pub wait_init: Duration,
    /// Real time a program may take to go quiet after one message.
    #[serde(default = "default_wait_quiet")]
    pub wait_quiet: Duration,
}

fn default_nodes() -> String {
    "n".into()
}
fn default_clients() -> String {
    "c".into()
}
fn default_services() -> String {
    "services".into()
}
fn default_settle() -> Duration {
    Duration::from_secs(1)
}
fn default_wait_init() -> Duration {
    Duration::from_secs(10)
}
fn default_wait_quiet() -> Duration {
    Duration::from_secs(5)
}

/// A Maelstrom workload: what the clients ask and the checks that judge the answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Workload {
    /// `echo`: every reply must carry the request's text (check `Echo`).
    Echo,
    /// `generate`: every id must be unique (check `UniqueIds`).
    UniqueIds,
    /// `broadcast` and `read` after a `topology` message; final reads on every node (check
    /// `BroadcastDelivered`).
    Broadcast {
        /// The neighbours each node is told about.
        #[serde(default)]
        topology: Topology,
    },
    /// `add` and `read` of a grow-only counter; final reads on every node (check
    /// `CounterConverged`).
    GCounter,
    /// `add` (of deltas below zero too) and `read` of a counter; final reads on every node
    /// (check `CounterConverged`).
    PnCounter,
    /// Kafka-style logs: `send`, `poll`, `commit_offsets` and `list_committed_offsets` of
    /// `workload.keys` keys (check `KafkaLog`).
    Kafka,
    /// `read`, `write` and `cas` of `workload.keys` keys (check `Linearizable`).
    LinKv,
    /// Transactions reading and writing registers (check
    /// `Transactional(workload: "rw-register")`).
    TxnRwRegister,
    /// Transactions reading lists and appending to them (check `Transactional`).
    TxnListAppend,
}

/// The `topology` message of the broadcast workload, as Maelstrom builds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Topology {
    /// Nodes on a square grid, each with its up to four neighbours (Maelstrom's default).
    #[default]
    Grid,
    /// A line: each node with the one before and after it.
    Line,
    /// Everyone neighbours everyone.
    Total,
}

impl Workload {
    /// The workload's clients and checks: the one place a `Workload` is matched.
    pub fn driver(&self) -> Arc<dyn MaelstromWorkload> {
        match self {
            Workload::Echo => Arc::new(workload::Echo),
            Workload::UniqueIds => Arc::new(workload::UniqueIds),
            Workload::Broadcast { topology } => Arc::new(workload::Broadcast(*topology)),
            Workload::GCounter => Arc::new(workload::Counter { negative: false }),
            Workload::PnCounter => Arc::new(workload::Counter { negative: true }),
            Workload::Kafka => Arc::new(workload::Kafka),
            Workload::LinKv => Arc::new(workload::LinKv),
            Workload::TxnRwRegister => Arc::new(workload::Txn(workload::TxnKind::RwRegister)),
            Workload::TxnListAppend => Arc::new(workload::Txn(workload::TxnKind::ListAppend)),
        }
    }

    /// The name of the check made for this workload's history.
    pub fn check(&self) -> &'static str {
        self.driver().checks()[0]
    }
}

/// What every node of one run shares: the parameters, the roster's roles and the run's
/// directory.
#[derive(Debug)]
pub(crate) struct Shared {
    params: MaelstromParams,
    driver: Arc<dyn MaelstromWorkload>,
    programs: Vec<NodeId>,
    clients: Vec<NodeId>,
    services: Vec<NodeId>,
    workload: crate::scenario::WorkloadSpec,
    dir: Result<Arc<RunDir>, String>,
    /// Messages programs sent each other this run, every incarnation counted.
    server_msgs: AtomicU64,
}

/// Messages of a Maelstrom run: one line of JSON each.
pub type MaelstromMsg = Packet;

/// Timers of a Maelstrom run.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum MaelstromTimer {
    /// A program's own virtual timer, with its tag as JSON text.
    Program(String),
    /// A client's next operation.
    Next,
    /// A client's request with this `msg_id` has waited long enough.
    Timeout(u64),
    /// A client's final read of this node.
    FinalRead(NodeId),
}

/// A node of a Maelstrom run: a program or a workload client.
#[derive(Debug)]
pub enum MaelstromNode {
    /// A node of role `n`: the program, as a child process.
    Program(ProgramNode),
    /// A node of role `c`: a workload client.
    Client(ClientNode),
    /// A node of role `services`: one of Maelstrom's services.
    Service(ServiceNode),
}

/// A service node: the service its name names, answering requests as they arrive.
#[derive(Debug)]
pub struct ServiceNode {
    name: String,
    service: Box<dyn services::Service>,
    answered: u64,
}

impl ServiceNode {
    fn on_message(&mut self, ctx: Ctx<'_, '_>, from: NodeId, msg: &Packet) {
        let Ok(request) = wire::parse(msg.text()) else {
            return;
        };
        let now = ctx.now();
        let mut reply = self
            .service
            .handle(&request.src, &request.body, now, ctx.rng());
        let Some(msg_id) = request.body.get("msg_id").cloned() else {
            return;
        };
        let kind = reply
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(body) = reply.as_object_mut() {
            body.insert("in_reply_to".into(), msg_id);
        }
        let line = serde_json::json!({"src": self.name, "dest": request.src, "body": reply});
        self.answered += 1;
        ctx.send(from, Packet::new(kind, line.to_string()));
    }
}

/// A program node: the child process of its current incarnation.
pub struct ProgramNode {
    shared: Arc<Shared>,
    name: String,
    boot: u64,
    program: Option<Program>,
    lines_in: u64,
}

impl std::fmt::Debug for ProgramNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramNode")
            .field("name", &self.name)
            .field("boot", &self.boot)
            .field("pid", &self.program.as_ref().map(Program::pid))
            .finish()
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, MaelstromNode>;

impl ProgramNode {
    /// Ends the run: the program failed, in `what`.
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        let tail = self
            .program
            .as_ref()
            .map(Program::stderr_tail)
            .unwrap_or_default();
        panic!(
            "{} (`{}`, boot {}): {what}{tail}",
            self.name, self.shared.params.bin, self.boot
        )
    }

    fn on_start(&mut self, ctx: Ctx<'_, '_>) {
        let dir = match &self.shared.dir {
            Ok(d) => d.clone(),
            Err(e) => self.fail(e),
        };
        // Storage that lost the boot count was wiped: so is the program's directory.
        let wiped = ctx.storage().get("boots").is_none();
        self.boot = match ctx.storage().get("boots") {
            Some(n) => n + 1,
            None => 1,
        };
        ctx.storage().put("boots", self.boot);
        ctx.storage().sync();
        let node_dir = match dir.node_dir(&self.name, wiped) {
            Ok(d) => d,
            Err(e) => self.fail(e),
        };
        let log = dir.stderr_path(&self.name, self.boot);
        let p = &self.shared.params;
        match Program::spawn(&p.bin, &p.args, &node_dir, &log) {
            Ok(program) => self.program = Some(program),
            Err(e) => self.fail(e),
        }
        let roster = ctx.roster().clone();
        let names: Vec<&str> = self
            .shared
            .programs
            .iter()
            .map(|id| roster.name(*id))
            .collect();
        let init = wire::init(&self.name, &names);
        let wait = real(self.shared.params.wait_init);
        self.call(ctx, &init, "init", wait);
        let wait = real(self.shared.params.wait_quiet);
        for (what, line) in self.shared.driver.setup(&self.name, &names) {
            self.call(ctx, &line, what, wait);
        }
    }

    /// Sends clustersim's own request `line` (from `c0`) and routes what the program says,
    /// which must include the reply.
    fn call(&mut self, ctx: Ctx<'_, '_>, line: &str, what: &str, wait: std::time::Duration) {
        let replied = self.deliver(ctx, line, wait);
        match replied {
            Some(Ok(())) => {}
            Some(Err(body)) => self.fail(format!("it answered `{what}` with an error: {body}")),
            None => self.fail(format!(
                "it went quiet without answering `{what}` (a reply to {INIT_CLIENT} with \
                 in_reply_to {})",
                wire::INIT_MSG_ID
            )),
        }
    }

    /// Writes `line` to the program and routes every line it writes back; returns what it
    /// answered `c0`, if anything (`Err` with the body of an `error` reply).
    fn deliver(
        &mut self,
        ctx: Ctx<'_, '_>,
        line: &str,
        wait: std::time::Duration,
    ) -> Option<Result<(), String>> {
        self.lines_in += 1;
        let program = self.program.as_mut()?;
        let lines = match program.exchange(Some(line), wait) {
            Ok(lines) => lines,
            Err(e) => self.fail(match e {
                Failure::NotQuiet(_) => format!("after input line {} ({line}): {e}", self.lines_in),
                _ => format!("after input line {}: {e}", self.lines_in),
            }),
        };
        let unprompted = program.unprompted;
        if unprompted > 0 {
            let name = self.name.clone();
            ctx.note(|| {
                format!(
                    "{name} wrote {unprompted} lines while no input was pending (a wall-clock \
                     timer or thread?): taken with this input, so this run may not replay"
                )
            });
        }
        let mut answer = None;
        for (number, text) in lines {
            let msg = match wire::parse(&text) {
                Ok(m) => m,
                Err(e) => self.fail(format!("its output line {number} {e}: {}", clip(&text))),
            };
            if msg.src != self.name {
                self.fail(format!(
                    "its output line {number} has src \"{}\"; this node is \"{}\": {}",
                    msg.src,
                    self.name,
                    clip(&text)
                ));
            }
            if msg.dest == INIT_CLIENT {
                answer = Some(if msg.kind == "error" {
                    Err(serde_json::Value::Object(msg.body).to_string())
                } else {
                    Ok(())
                });
            } else if msg.dest == CLUSTERSIM {
                match wire::timer_request(&msg) {
                    Ok((after, tag)) => {
                        ctx.set_timer(after, MaelstromTimer::Program(tag));
                    }
                    Err(e) => self.fail(format!("its output line {number}: {e}: {}", clip(&text))),
                }
            } else if let Some(to) = ctx.roster().by_name(&msg.dest) {
                if self.shared.programs.contains(&to) {
                    self.shared.server_msgs.fetch_add(1, Ordering::Relaxed);
                }
                ctx.send(to, Packet::new(msg.kind, text));
            } else if services::NAMES.contains(&msg.dest.as_str()) {
                self.fail(format!(
                    "its output line {number} is addressed to the service \"{}\", which this \
                     run lacks: add (role: \"{}\", names: [\"{}\"]) to its nodes: {}",
                    msg.dest,
                    self.shared.params.services,
                    msg.dest,
                    clip(&text)
                ));
            } else {
                self.fail(format!(
                    "its output line {number} is addressed to \"{}\", which is no node or \
                     client of this run: {}",
                    msg.dest,
                    clip(&text)
                ));
            }
        }
        answer
    }
}

/// A line shortened for an error message.
fn clip(text: &str) -> String {
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push_str("...");
    }
    format!("`{s}`")
}

/// A scenario's duration as real time.
fn real(d: Duration) -> std::time::Duration {
    std::time::Duration::from_nanos(d.0)
}

impl Node for MaelstromNode {
    type Msg = MaelstromMsg;
    type Timer = MaelstromTimer;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            MaelstromNode::Program(p) => p.on_start(ctx),
            MaelstromNode::Client(c) => c.on_start(ctx),
            MaelstromNode::Service(_) => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Packet) {
        match self {
            MaelstromNode::Program(p) => {
                let wait = real(p.shared.params.wait_quiet);
                p.deliver(ctx, msg.text(), wait);
            }
            MaelstromNode::Client(c) => c.on_message(ctx, from, msg),
            MaelstromNode::Service(s) => s.on_message(ctx, from, &msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: MaelstromTimer) {
        match (self, timer) {
            (MaelstromNode::Program(p), MaelstromTimer::Program(tag)) => {
                let line = wire::timer(&p.name, &tag);
                let wait = real(p.shared.params.wait_quiet);
                p.deliver(ctx, &line, wait);
            }
            (MaelstromNode::Client(c), t) => c.on_timer(ctx, t),
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            MaelstromNode::Program(p) => Some(Snapshot::from([(
                SERVER_MSGS.to_string(),
                p.shared.server_msgs.load(Ordering::Relaxed).to_string(),
            )])),
            MaelstromNode::Client(_) | MaelstromNode::Service(_) => None,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            MaelstromNode::Program(p) => format!(
                "program {} {}\nboot {}, pid {}\nlines in {}, out {}",
                p.shared.params.bin,
                p.shared.params.args.join(" "),
                p.boot,
                p.program
                    .as_ref()
                    .map_or("none".into(), |x| x.pid().to_string()),
                p.lines_in,
                p.program.as_ref().map_or(0, |x| x.lines_out),
            ),
            MaelstromNode::Client(c) => format!("{c:#?}"),
            MaelstromNode::Service(s) => format!(
                "service {}\nanswered {}\n{:#?}",
                s.name, s.answered, s.service
            ),
        })
    }
}

pub use crate::check::maelstrom::SERVER_MSGS;

impl Protocol for MaelstromParams {
    type Node = MaelstromNode;

    const NAME: &'static str = "Maelstrom";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, &self.nodes)?;
        require_role(plan, Self::NAME, &self.clients)?;
        only_roles(
            plan,
            Self::NAME,
            &[&self.nodes, &self.clients, &self.services],
        )?;
        for id in plan.roster.members(&self.services) {
            let name = plan.roster.name(id);
            if !services::NAMES.contains(&name) {
                return Err(format!(
                    "Maelstrom: node `{name}` of role `{}` names no service; valid names: {}",
                    self.services,
                    services::NAMES.join(", ")
                ));
            }
        }
        for id in plan.roster.ids() {
            let name = plan.roster.name(id);
            if name == INIT_CLIENT || name == CLUSTERSIM {
                return Err(format!(
                    "Maelstrom: the node name `{name}` is reserved (clustersim sends init as \
                     `{INIT_CLIENT}` and answers timers as `{CLUSTERSIM}`)"
                ));
            }
        }
        let w = plan.workload();
        if w.timeout == Duration::ZERO || w.interval == Duration::ZERO {
            return Err(
                "Maelstrom clients need workload.interval and workload.timeout above zero".into(),
            );
        }
        let final_reads = self.workload.driver().final_reads();
        if final_reads && w.stop.is_none() {
            return Err(format!(
                "Maelstrom workload {:?} ends with final reads of every node: set \
                 workload.stop (they run `settle` after it)",
                self.workload
            ));
        }
        if let (true, Some(stop)) = (final_reads, w.stop) {
            let at = stop + self.settle;
            let end = plan.scenario.bounds.max_time;
            if at >= end {
                return Err(format!(
                    "Maelstrom's final reads come at workload.stop + settle = {at}, not before \
                     the run ends at {end}: raise bounds.max_time or lower stop or settle"
                ));
            }
        }
        for (what, d) in [
            ("wait_init", self.wait_init),
            ("wait_quiet", self.wait_quiet),
        ] {
            if d == Duration::ZERO || d > Duration::from_secs(600) {
                return Err(format!(
                    "Maelstrom {what} is real time to wait for a program: between 1ms and 10m"
                ));
            }
        }
        let names: Vec<String> = plan
            .roster
            .members(&self.nodes)
            .into_iter()
            .map(|id| plan.roster.name(id).to_string())
            .collect();
        rundir::probe(self, &names)
    }

    fn checks(&self) -> &'static [&'static str] {
        self.workload.driver().checks()
    }

    fn external(&self) -> Option<crate::protocol::External> {
        Some(crate::protocol::External {
            program: self.bin.clone(),
            digest: rundir::digest(&self.bin),
            guarantee: GUARANTEE.to_string(),
        })
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<MaelstromNode> {
        let shared = Arc::new(Shared {
            params: self.clone(),
            driver: self.workload.driver(),
            programs: plan.roster.members(&self.nodes),
            clients: plan.roster.members(&self.clients),
            services: plan.roster.members(&self.services),
            workload: plan.workload().clone(),
            dir: RunDir::create().map(Arc::new),
            server_msgs: AtomicU64::new(0),
        });
        Box::new(move |id, roster, _storage| {
            if shared.programs.contains(&id) {
                MaelstromNode::Program(ProgramNode {
                    shared: shared.clone(),
                    name: roster.name(id).to_string(),
                    boot: 0,
                    program: None,
                    lines_in: 0,
                })
            } else if shared.services.contains(&id) {
                let name = roster.name(id).to_string();
                // `validate` refused other names; were one to pass, it answers "not supported".
                let service = services::named(&name).unwrap_or_else(|| Box::new(services::Unknown));
                MaelstromNode::Service(ServiceNode {
                    name,
                    service,
                    answered: 0,
                })
            } else {
                MaelstromNode::Client(ClientNode::new(shared.clone(), id))
            }
        })
    }
}
