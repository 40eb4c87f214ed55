//! The scaffolding of lab `raft`: the server's state, the helpers its handlers use, the node
//! that calls them, and the run. The handlers themselves are the student's, in `raft.rs`.
//!
//! After every handler the node compares the server's role and term with what they were and
//! records a change in the history (`role` and `leader` events, which `ElectionSafety` and the
//! lab's goals read), so a handler never has to. In level 11 (a scenario with
//! `snapshot_threshold`) it also records the log's length when it is longer than ever since the
//! server booted (`log-length`) and a `last_applied` moved back (`applied-back`).

use crate::raft::{Functions, STUDENT};
use crate::{Code, ExerciseSpec};
use clustersim::history::{Op, RoleChange, LEADER, ROLE};
use clustersim::node::{Context, Node, NodeFactory, NodeId};
use clustersim::protocols::kv::client::{
    sequence_number, ClientConfig, KvClient, KvOp, KvReply, KvResult, Target,
};
use clustersim::protocols::raft::log::{Command, Log};
use clustersim::protocols::raft::node::{recover_term_and_vote, CURRENT_TERM, VOTED_FOR};
use clustersim::protocols::raft::{RaftMsg, RaftTimer, Stored};
use clustersim::protocols::{only_roles, require_role};
use clustersim::rand::Rng;
use clustersim::scenario::Plan;
use clustersim::sim::{RunOutcome, Sim};
use clustersim::storage::Storage;
use clustersim::time::{Duration, SimTime};
use clustersim::trace::TraceLevel;
use std::collections::{BTreeMap, BTreeSet};

pub use clustersim::protocols::raft::node::Role;

/// The history event a server records when it applies a read from its log (level 10 asks for
/// reads answered without the log).
pub const READ_IN_LOG: &str = "read-in-log";

/// The history event a server records, in level 11, whenever its log holds more entries than
/// ever before since it booted (the value: how many); `LogBounded` reads it.
pub const LOG_LENGTH: &str = "log-length";

/// The history event a server records, in level 11, when a handler moved its `last_applied`
/// back (the value: from where, to where); `StateNeverGoesBack` reads it.
pub const APPLIED_BACK: &str = "applied-back";

/// The storage key prefix of the words of the saved snapshot (level 11).
pub const SNAPSHOT_PREFIX: &str = "s/";

/// Shorthand for the context the handlers receive.
pub type Ctx<'a> = Context<'a, LabNode>;

/// The lab's timing (a level's scenario may change the election timeout and the batch).
#[derive(Clone, Copy, Debug, Hash)]
pub struct Timing {
    /// Shortest election timeout.
    pub election_min: Duration,
    /// Longest election timeout.
    pub election_max: Duration,
    /// How often `on_tick` runs for a leader or a candidate.
    pub heartbeat: Duration,
    /// Most entries one AppendEntries should carry.
    pub max_batch: usize,
}

/// The timing levels use unless their scenario says otherwise: elections after 150-300 ms of silence, heartbeats every 50 ms.
pub const TIMING: Timing = Timing {
    election_min: Duration(150_000_000),
    election_max: Duration(300_000_000),
    heartbeat: Duration(50_000_000),
    max_batch: 64,
};

/// A Raft server's state: Figure 2's names, plus what the scaffolding needs. Add fields of
/// your own if you like (they start empty after a restart).
#[derive(Clone, Debug, Hash)]
pub struct RaftServer {
    /// This server.
    pub me: NodeId,
    /// Every server of the cluster, this one included.
    pub servers: Vec<NodeId>,
    /// Timeouts and batch size.
    pub timing: Timing,

    /// Persistent: the latest term this server has seen (restored after a restart from what
    /// `save_term_and_vote` synced).
    pub current_term: u64,
    /// Persistent: whom this server voted for in `current_term`.
    pub voted_for: Option<NodeId>,
    /// Persistent: the log (entries you append are written to storage; `sync_log` makes them
    /// survive a crash).
    pub log: Log,

    /// Volatile: the highest index known to be committed.
    pub commit_index: u64,
    /// Volatile: the highest index applied to `kv`.
    pub last_applied: u64,
    /// Follower, candidate or leader.
    pub role: Role,
    /// The leader this server knows of, to redirect clients.
    pub leader_id: Option<NodeId>,
    /// When the election timeout elapses (see `reset_election_timer`).
    pub election_deadline: SimTime,
    /// Votes received in this term (candidates), this server's included.
    pub votes: BTreeSet<NodeId>,

    /// Leaders: for each server (by `NodeId::index`), the next log index to send it.
    pub next_index: Vec<u64>,
    /// Leaders: for each server, the highest index known to be stored there.
    pub match_index: Vec<u64>,

    /// The key-value map committed operations are applied to.
    pub kv: BTreeMap<u64, u64>,
    /// Results of the writes applied so far, by written value (for `apply`, if you need it).
    pub applied_writes: BTreeMap<u64, KvResult>,
    /// Client requests this server accepted as leader: log index -> (client, request id).
    pub pending: BTreeMap<u64, (NodeId, u64)>,
    /// Client requests (client, request id) seen already: the network delivers some twice.
    pub seen: BTreeSet<(NodeId, u64)>,
    /// Leaders (level 10): reads waiting to be answered without the log.
    pub reads: Vec<PendingRead>,
    /// Leaders (level 10): the latest round of `ReadIndex` this server started in its term.
    pub read_round: u64,
    /// Leaders (level 10): the servers (this one included) that acknowledged `read_round`.
    pub read_acks: BTreeSet<NodeId>,
    /// Leaders (level 10): the latest round a majority acknowledged.
    pub confirmed_round: u64,
    /// Client sessions, for `apply` to keep (levels 4 and 9): each client's latest applied
    /// operation (its sequence number) and the result it was told. Part of the replicated
    /// state: rebuilt, like `kv`, by applying the log again after a restart.
    pub sessions: BTreeMap<NodeId, Session>,
    /// Level 11: the latest snapshot this server took or installed (restored after a restart
    /// from what `save_snapshot` wrote and a sync made durable); `None` before the first.
    pub snapshot: Option<Snapshot>,
    /// Level 11: `apply_committed` calls your `snapshot` once the log holds this many applied
    /// entries past its base (`last_applied - log.base_index()`); `None` (levels 1 to 10):
    /// never.
    pub snapshot_threshold: Option<u64>,
    /// The most entries the log held since boot, for `LOG_LENGTH` events.
    log_high: u64,

    client_sessions: bool,
    code: &'static Functions,
}

/// A client's read a leader holds until it may answer it without the log (level 10).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct PendingRead {
    /// Who asked.
    pub client: NodeId,
    /// The request id to answer.
    pub id: u64,
    /// The key read.
    pub key: u64,
    /// The read index: `commit_index` when the read came (`None`: the leader had not yet
    /// committed an entry of its term, so its `commit_index` could be behind).
    pub read_index: Option<u64>,
    /// The round of `ReadIndex` that must be acknowledged by a majority before the answer.
    pub round: u64,
}

/// A snapshot of the key-value state machine (level 11): the state after applying every entry
/// up to `last_included_index`, which replaces those entries (section 7 of the paper).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Snapshot {
    /// The last entry the snapshot replaces.
    pub last_included_index: u64,
    /// That entry's term.
    pub last_included_term: u64,
    /// The key-value map as it was after applying that entry.
    pub kv: BTreeMap<u64, u64>,
    /// The client sessions as they were then.
    pub sessions: BTreeMap<NodeId, Session>,
}

impl Snapshot {
    /// The state (`kv` and `sessions`) as words, for `InstallSnapshot::data` and storage.
    pub fn encode(&self) -> Vec<u64> {
        let mut words = vec![self.kv.len() as u64];
        for (k, v) in &self.kv {
            words.extend([*k, *v]);
        }
        words.push(self.sessions.len() as u64);
        for (client, session) in &self.sessions {
            let (tag, value) = match session.result {
                KvResult::Done(None) => (0, 0),
                KvResult::Done(Some(v)) => (1, v),
                KvResult::CasMismatch => (2, 0),
                KvResult::NotLeader { leader: None } => (3, 0),
                KvResult::NotLeader { leader: Some(l) } => (4, u64::from(l.0)),
                KvResult::Unavailable => (5, 0),
            };
            words.extend([u64::from(client.0), session.seq, tag, value]);
        }
        words
    }

    /// The snapshot whose state `data` encodes (`encode`'s words) and that replaces the entries
    /// up to `last_included_index` of `last_included_term`; `None` if `data` is not such words.
    pub fn decode(last_included_index: u64, last_included_term: u64, data: &[u64]) -> Option<Self> {
        let mut words = data.iter().copied();
        let mut kv = BTreeMap::new();
        for _ in 0..words.next()? {
            kv.insert(words.next()?, words.next()?);
        }
        let mut sessions = BTreeMap::new();
        for _ in 0..words.next()? {
            let client = NodeId(u32::try_from(words.next()?).ok()?);
            let seq = words.next()?;
            let result = match (words.next()?, words.next()?) {
                (0, _) => KvResult::Done(None),
                (1, v) => KvResult::Done(Some(v)),
                (2, _) => KvResult::CasMismatch,
                (3, _) => KvResult::NotLeader { leader: None },
                (4, l) => KvResult::NotLeader {
                    leader: Some(NodeId(u32::try_from(l).ok()?)),
                },
                (5, _) => KvResult::Unavailable,
                _ => return None,
            };
            sessions.insert(client, Session { seq, result });
        }
        if words.next().is_some() {
            return None;
        }
        Some(Snapshot {
            last_included_index,
            last_included_term,
            kv,
            sessions,
        })
    }

    /// The snapshot a server saved (`RaftServer::save_snapshot`), if any and readable.
    fn load(storage: &Storage<Stored>) -> Option<Self> {
        let words: Vec<u64> = storage
            .scan(SNAPSHOT_PREFIX)
            .map(|(_, v)| match v {
                Stored::Word(w) => Some(*w),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let (head, data) = words.split_at_checked(2)?;
        Snapshot::decode(head[0], head[1], data)
    }
}

/// The storage key of word `i` of the saved snapshot (keys sort by `i`).
fn snapshot_key(i: usize) -> String {
    format!("{SNAPSHOT_PREFIX}{i:010}")
}

/// What a server remembers of one client: its latest applied operation and that one's result.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Session {
    /// The sequence number of the client's latest applied operation.
    pub seq: u64,
    /// What that operation returned, to answer a retry of it again.
    pub result: KvResult,
}

impl RaftServer {
    /// A server booting from what it synced (nothing on first boot).
    fn recover(
        me: NodeId,
        servers: Vec<NodeId>,
        nodes: usize,
        storage: &clustersim::storage::Storage<Stored>,
        code: &'static Functions,
        timing: Timing,
        client_sessions: bool,
    ) -> Self {
        let (current_term, voted_for) = recover_term_and_vote(storage);
        // A restart rebuilds the state machine from the saved snapshot, then from the log.
        let snapshot = Snapshot::load(storage);
        let applied = snapshot.as_ref().map_or(0, |s| s.last_included_index);
        let (kv, sessions) = snapshot
            .as_ref()
            .map(|s| (s.kv.clone(), s.sessions.clone()))
            .unwrap_or_default();
        RaftServer {
            me,
            servers,
            timing,
            current_term,
            voted_for,
            log: Log::recover(storage),
            commit_index: applied,
            last_applied: applied,
            role: Role::Follower,
            leader_id: None,
            election_deadline: SimTime::ZERO,
            votes: BTreeSet::new(),
            next_index: vec![1; nodes],
            match_index: vec![0; nodes],
            kv,
            applied_writes: BTreeMap::new(),
            pending: BTreeMap::new(),
            seen: BTreeSet::new(),
            reads: Vec::new(),
            read_round: 0,
            read_acks: BTreeSet::new(),
            confirmed_round: 0,
            sessions,
            snapshot,
            snapshot_threshold: None,
            log_high: 0,
            client_sessions,
            code,
        }
    }

    /// The sequence number of a client's request `id`: the same for every retry of one
    /// operation, larger for each later operation of that client (a client has one operation
    /// outstanding at a time). In levels whose clients never resend after a timeout each
    /// attempt is an operation of its own.
    pub fn sequence_number(&self, id: u64) -> u64 {
        if self.client_sessions {
            sequence_number(id)
        } else {
            id
        }
    }

    /// How many servers make a majority.
    pub fn majority(&self) -> usize {
        self.servers.len() / 2 + 1
    }

    /// Every server but this one.
    pub fn peers(&self) -> Vec<NodeId> {
        self.servers
            .iter()
            .copied()
            .filter(|s| *s != self.me)
            .collect()
    }

    /// Draws a new election timeout (between `timing.election_min` and `election_max`, from the
    /// server's own random stream) and moves `election_deadline` to now plus that.
    pub fn reset_election_timer(&mut self, ctx: &mut Ctx<'_>) {
        let (lo, hi) = (self.timing.election_min.0, self.timing.election_max.0);
        let timeout = Duration(ctx.rng().random_range(lo..=hi));
        self.election_deadline = ctx.now() + timeout;
    }

    /// Writes `current_term` and `voted_for` to storage and syncs them (with any log entries
    /// written since the last sync).
    pub fn save_term_and_vote(&self, ctx: &mut Ctx<'_>) {
        let st = ctx.storage();
        st.put(CURRENT_TERM, Stored::CurrentTerm(self.current_term));
        st.put(VOTED_FOR, Stored::VotedFor(self.voted_for));
        st.sync();
    }

    /// Level 11: writes `snapshot` to storage in place of the one saved before (not synced:
    /// sync it with the log you compacted, so a restart finds both or neither) and keeps it as
    /// `self.snapshot`, for `InstallSnapshot`. A restarted server starts from the snapshot it
    /// finds: `kv`, `sessions`, and `last_applied` and `commit_index` at its last included index.
    pub fn save_snapshot(&mut self, ctx: &mut Ctx<'_>, snapshot: Snapshot) {
        let mut words = vec![snapshot.last_included_index, snapshot.last_included_term];
        words.extend(snapshot.encode());
        let st = ctx.storage();
        for (i, w) in words.iter().enumerate() {
            st.put(snapshot_key(i), Stored::Word(*w));
        }
        st.delete_from(SNAPSHOT_PREFIX, &snapshot_key(words.len()));
        self.snapshot = Some(snapshot);
    }

    /// Makes the log entries written since the last sync durable.
    pub fn sync_log(&self, ctx: &mut Ctx<'_>) {
        ctx.storage().sync();
    }

    /// Sends `msg` to `to`.
    pub fn send(&self, ctx: &mut Ctx<'_>, to: NodeId, msg: RaftMsg) {
        ctx.send(to, msg);
    }

    /// Answers request `id` of `client` with `result`.
    pub fn reply(&self, ctx: &mut Ctx<'_>, client: NodeId, id: u64, result: KvResult) {
        ctx.send(client, RaftMsg::Rep(KvReply { id, result }));
    }

    /// Applies every entry up to `commit_index` not applied yet, with your `apply`, and answers
    /// the client of each entry this server accepted (see `pending`).
    pub fn apply_committed(&mut self, ctx: &mut Ctx<'_>) {
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            let Some(entry) = self.log.get(index).copied() else {
                break;
            };
            self.last_applied = index;
            let Command::Kv {
                client,
                request,
                op,
            } = entry.command
            else {
                continue;
            };
            if let KvOp::Get { .. } = op {
                // Level 10 asks that reads stay out of the log; its goal counts these.
                ctx.event(Op::custom(READ_IN_LOG, &index));
            }
            let seq = self.sequence_number(request);
            let result = (self.code.apply)(self, client, seq, op);
            if self.pending.remove(&index) == Some((client, request)) {
                self.reply(ctx, client, request, result);
            }
        }
        let due = self.snapshot_threshold.is_some_and(|threshold| {
            self.last_applied.saturating_sub(self.log.base_index()) >= threshold
        });
        if due {
            (self.code.snapshot)(self, ctx);
        }
    }

    fn state(&self) -> clustersim::node::Snapshot {
        clustersim::protocols::kv::snapshot(&self.kv)
    }
}

/// A node of the lab: a Raft server or a workload client.
#[derive(Clone, Debug, Hash)]
pub enum LabNode {
    /// A server running the student's handlers.
    Server(Box<RaftServer>),
    /// A key-value client.
    Client(Box<KvClient>),
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Candidate => "candidate",
        Role::Follower => "follower",
    }
}

impl LabNode {
    /// Runs `handler` on the server and records any change of its role or term.
    fn server(&mut self, ctx: &mut Ctx<'_>, handler: impl FnOnce(&mut RaftServer, &mut Ctx<'_>)) {
        let LabNode::Server(s) = self else { return };
        let before = (s.role, s.current_term);
        let applied = s.last_applied;
        handler(s, ctx);
        if s.snapshot_threshold.is_some() {
            if s.log.len() > s.log_high {
                s.log_high = s.log.len();
                ctx.event(Op::custom(LOG_LENGTH, &s.log_high));
            }
            if s.last_applied < applied {
                ctx.event(Op::custom(APPLIED_BACK, &[applied, s.last_applied]));
            }
        }
        let after = (s.role, s.current_term);
        if after != before {
            ctx.event(Op::custom(
                ROLE,
                &RoleChange {
                    term: s.current_term,
                    role: role_name(s.role).to_string(),
                },
            ));
            if s.role == Role::Leader {
                ctx.event(Op::custom(LEADER, &s.current_term));
            }
        }
    }
}

impl Node for LabNode {
    type Msg = RaftMsg;
    type Timer = RaftTimer;
    type Stored = Stored;

    fn describe(&self) -> Option<String> {
        Some(format!("{self:#?}"))
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            LabNode::Server(s) => {
                s.reset_election_timer(ctx);
                ctx.set_timer(s.election_deadline.since(ctx.now()), RaftTimer::Election);
                ctx.set_timer(s.timing.heartbeat, RaftTimer::Heartbeat(0));
            }
            LabNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: RaftMsg) {
        if let LabNode::Client(c) = self {
            if let RaftMsg::Rep(reply) = msg {
                c.on_reply(ctx, from, reply);
            }
            return;
        }
        self.server(ctx, |s, ctx| {
            let code = s.code;
            match msg {
                RaftMsg::RequestVote(rv) => (code.on_request_vote)(s, ctx, rv),
                RaftMsg::RequestVoteReply(r) => (code.on_request_vote_reply)(s, ctx, from, r),
                RaftMsg::AppendEntries(ae) => (code.on_append_entries)(s, ctx, ae),
                RaftMsg::AppendEntriesReply(r) => (code.on_append_entries_reply)(s, ctx, from, r),
                RaftMsg::Req(req) => (code.on_client_request)(s, ctx, from, req),
                RaftMsg::ReadIndex(x) => (code.on_read_index)(s, ctx, x),
                RaftMsg::ReadIndexReply(r) => (code.on_read_index_reply)(s, ctx, from, r),
                RaftMsg::InstallSnapshot(x) => (code.on_install_snapshot)(s, ctx, x),
                RaftMsg::InstallSnapshotReply(r) => {
                    (code.on_install_snapshot_reply)(s, ctx, from, r)
                }
                RaftMsg::Rep(_) | RaftMsg::FetchEntry(_) | RaftMsg::FetchEntryReply(_) => {}
            }
        });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: RaftTimer) {
        if let LabNode::Client(c) = self {
            if let RaftTimer::Client(t) = timer {
                c.on_timer(ctx, t);
            }
            return;
        }
        self.server(ctx, |s, ctx| match timer {
            RaftTimer::Election => {
                if s.role == Role::Leader {
                    s.reset_election_timer(ctx);
                } else if ctx.now() >= s.election_deadline {
                    (s.code.on_election_timeout)(s, ctx);
                    if ctx.now() >= s.election_deadline {
                        // The handler did not draw a new timeout: wait a whole one again.
                        s.reset_election_timer(ctx);
                    }
                }
                ctx.set_timer(s.election_deadline.since(ctx.now()), RaftTimer::Election);
            }
            RaftTimer::Heartbeat(_) => {
                ctx.set_timer(s.timing.heartbeat, RaftTimer::Heartbeat(0));
                if s.role != Role::Follower {
                    (s.code.on_tick)(s, ctx);
                }
            }
            RaftTimer::Client(_) => {}
        });
    }

    fn snapshot(&self) -> Option<clustersim::node::Snapshot> {
        match self {
            LabNode::Server(s) => Some(s.state()),
            LabNode::Client(_) => None,
        }
    }
}

/// Checks the scenario has servers and clients and nothing else.
pub fn validate(plan: &Plan) -> Result<(), String> {
    require_role(plan, "raft", "server")?;
    only_roles(plan, "raft", &["server", "client"])
}

/// The lab's run, not yet started, with `code`'s handlers and `spec`'s client retries (a request
/// that timed out is sent again up to that many times) and timing.
pub fn sim(plan: &Plan, spec: &ExerciseSpec, code: Code, trace: TraceLevel) -> Sim<LabNode> {
    let functions = code.pick(&STUDENT);
    let client_retries = spec.client_retries;
    let mut timing = TIMING;
    if let Some(range) = spec.election_timeout {
        (timing.election_min, timing.election_max) = (range.min, range.max);
    }
    if let Some(batch) = spec.max_batch {
        timing.max_batch = batch;
    }
    let servers = plan.roster.members("server");
    let clients = plan.roster.members("client");
    let nodes = plan.roster.len();
    let final_reads = plan.workload().stop.map(|s| s + Duration::from_millis(500));
    let mut config = ClientConfig::from_plan(plan, clients.len().max(1), final_reads);
    config.timeout_retries = client_retries;
    config.sessions = spec.sessions;
    config.reused_values = spec.reused_values;
    config.wait_out_refusals = spec.sessions && spec.wait_out_refusals;
    let client_sessions = spec.sessions;
    let snapshot_threshold = spec.snapshot_threshold;
    let factory: NodeFactory<LabNode> = Box::new(move |id, roster, storage| {
        if roster.role(id) == "client" {
            return LabNode::Client(Box::new(KvClient::new(
                config.clone(),
                servers.clone(),
                Target::Leader,
            )));
        }
        let mut server = RaftServer::recover(
            id,
            servers.clone(),
            nodes,
            storage,
            functions,
            timing,
            client_sessions,
        );
        server.snapshot_threshold = snapshot_threshold;
        LabNode::Server(Box::new(server))
    });
    Sim::new(plan.sim_config(trace), factory)
}

/// Runs the lab with `code`'s handlers to the end.
pub fn run(plan: &Plan, spec: &ExerciseSpec, code: Code, trace: TraceLevel) -> RunOutcome {
    sim(plan, spec, code, trace).run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_comes_back_from_its_words_and_other_words_are_refused() {
        let snap = Snapshot {
            last_included_index: 40,
            last_included_term: 3,
            kv: BTreeMap::from([(0, 7), (2, u64::MAX)]),
            sessions: BTreeMap::from([
                (
                    NodeId(5),
                    Session {
                        seq: 9,
                        result: KvResult::Done(Some(7)),
                    },
                ),
                (
                    NodeId(6),
                    Session {
                        seq: 2,
                        result: KvResult::CasMismatch,
                    },
                ),
            ]),
        };
        let words = snap.encode();
        assert_eq!(Snapshot::decode(40, 3, &words), Some(snap));
        // Cut short, too long, or an unknown result: refused, never a panic.
        assert_eq!(Snapshot::decode(40, 3, &words[..words.len() - 1]), None);
        assert_eq!(
            Snapshot::decode(40, 3, &[words.clone(), vec![0]].concat()),
            None
        );
        let mut bad = words.clone();
        let tag = bad.len() - 2;
        bad[tag] = 99;
        assert_eq!(Snapshot::decode(40, 3, &bad), None);
        assert_eq!(Snapshot::decode(40, 3, &[u64::MAX]), None);
    }
}
