//! A Raft server, written to read like Figure 2 of the Raft paper (Ongaro and Ousterhout, 2014).
//!
//! State, RPCs and rules keep the paper's names: `current_term`, `voted_for`, `log` (persistent,
//! synced before any reply), `commit_index`, `last_applied` (volatile), `next_index`,
//! `match_index` (leaders only), RequestVote and AppendEntries. Beyond the figure:
//!
//! - A new leader appends a no-op entry of its own term (section 8, `leader_noop`), so entries
//!   of earlier terms commit without waiting for a client write.
//! - Client requests go through the log, reads included, so every answer is linearizable. A
//!   server that is not the leader answers `NotLeader` with the leader it knows of. Only the
//!   server that accepted a request answers it, when the entry is applied; if the entry is lost
//!   to a new leader the client times out and records that it does not know.
//! - AppendEntries replies carry `match_index` on success and a `conflict_index` on failure (the
//!   first index of the conflicting term) so the leader backs off a term at a time.
//! - A candidate re-sends RequestVote to servers that have not answered every heartbeat.
//! - Each leader announces itself in the history (`leader(term)`) for the `ElectionSafety` check.

use super::log::{Command, Log, LogEntry, RecoveryMode};
use super::state_machine::KvStateMachine;
use super::{RaftHost, RaftMsg, RaftParams, RaftTimer, Stored};
use crate::history::{Op, RoleChange, LEADER, ROLE};
use crate::node::{Context, NodeId, Snapshot};
use crate::protocols::kv::client::{KvOp, KvReply, KvRequest, KvResult};
use crate::time::{Duration, SimTime};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Storage key of `current_term`.
pub const CURRENT_TERM: &str = "current_term";
/// The `current_term` and `voted_for` a server synced (0 and nobody on first boot).
pub fn recover_term_and_vote(storage: &crate::storage::Storage<Stored>) -> (u64, Option<NodeId>) {
    let current_term = match storage.get(CURRENT_TERM) {
        Some(Stored::CurrentTerm(t)) => *t,
        _ => 0,
    };
    let voted_for = match storage.get(VOTED_FOR) {
        Some(Stored::VotedFor(v)) => *v,
        _ => None,
    };
    (current_term, voted_for)
}

/// Storage key of `voted_for`.
pub const VOTED_FOR: &str = "voted_for";
/// Storage key of the mark of a server that lost its vote record (`Stored::Abstain`).
pub const ABSTAIN: &str = "abstain";
/// Storage keys of the two copies of `current_term` and `voted_for` a checksumming server
/// keeps (`Stored::Meta`); the fault atlas never damages both copies on one node.
pub const META: [&str; 2] = ["meta~0", "meta~1"];
/// Storage keys of the two copies of the last log index a checksumming server synced
/// (`Stored::Acked`).
pub const ACKED: [&str; 2] = ["acked~0", "acked~1"];

/// The highest (index, term) of a last log entry an intact copy of `Stored::Acked` records
/// ((0, 0): none).
fn recover_acked(storage: &crate::storage::Storage<Stored>) -> (u64, u64) {
    ACKED
        .iter()
        .filter_map(|k| match storage.try_get(k) {
            Ok(Some(Stored::Acked(i, t))) => Some((*i, *t)),
            _ => None,
        })
        .max()
        .unwrap_or((0, 0))
}

/// The log as `params` reads it back from `storage`.
fn read_log(params: &RaftParams, storage: &crate::storage::Storage<Stored>) -> Log {
    if !params.checksums {
        return Log::recover(storage);
    }
    let mode = RecoveryMode {
        corrupt_ends_log: params.corrupt_ends_log,
        trust_torn_log: params.trust_torn_log,
    };
    Log::recover_checked(storage, mode, recover_acked(storage).0)
}

/// Syncs a server tries (writing everything again before each retry) before it stops serving.
const SYNC_ATTEMPTS: u32 = 3;

/// `current_term` and `voted_for` read back from the intact copy (the newer one if both are:
/// a power loss may keep one copy of an unsynced update), and whether the server must abstain
/// from elections from now on: with no intact copy it may have voted in any term up to the
/// one it lost, and nothing tells which.
fn recover_checked_term_and_vote(
    storage: &crate::storage::Storage<Stored>,
    corrupt_ends_log: bool,
) -> (u64, Option<NodeId>, bool) {
    let mut best: Option<(u64, Option<NodeId>)> = None;
    let mut damaged = false;
    for key in META {
        match storage.try_get(key) {
            Ok(Some(Stored::Meta(t, v))) => {
                if best.is_none_or(|(bt, bv)| (*t, v.is_some()) > (bt, bv.is_some())) {
                    best = Some((*t, *v));
                }
            }
            Ok(None) => {}
            _ => damaged = true,
        }
    }
    let (current_term, voted_for) = best.unwrap_or((0, None));
    let lost = best.is_none() && damaged;
    // The planted mistake reads what it cannot trust as nothing at all.
    let abstains = !corrupt_ends_log && (lost || !matches!(storage.try_get(ABSTAIN), Ok(None)));
    (current_term, voted_for, abstains)
}

/// Invoked by candidates to gather votes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestVote {
    /// Candidate's term.
    pub term: u64,
    /// Candidate requesting the vote.
    pub candidate_id: NodeId,
    /// Index of the candidate's last log entry.
    pub last_log_index: u64,
    /// Term of the candidate's last log entry.
    pub last_log_term: u64,
}

/// The answer to RequestVote.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestVoteReply {
    /// `current_term`, for the candidate to update itself.
    pub term: u64,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// Invoked by the leader to replicate log entries; also the heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntries {
    /// Leader's term.
    pub term: u64,
    /// So followers can redirect clients.
    pub leader_id: NodeId,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: u64,
    /// Term of the `prev_log_index` entry.
    pub prev_log_term: u64,
    /// Entries to store (empty for a heartbeat).
    pub entries: Vec<LogEntry>,
    /// Leader's `commit_index`.
    pub leader_commit: u64,
}

/// The answer to AppendEntries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntriesReply {
    /// `current_term`, for the leader to update itself.
    pub term: u64,
    /// True if the follower contained an entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On success, the index of the last entry now known to match the leader's log. On
    /// failure, 0, or the first entry this server lost to its disk: the leader sends it again
    /// even if it had counted it as replicated here.
    pub match_index: u64,
    /// On failure, where the leader should retry from.
    pub conflict_index: u64,
}

/// Sent by a leader to confirm it still leads before it answers reads without the log
/// (ReadIndex, section 6.4 of Ongaro's dissertation; the Raft lab's level 10). The shipped
/// servers ignore it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReadIndex {
    /// Leader's term.
    pub term: u64,
    /// So the follower knows its leader.
    pub leader_id: NodeId,
    /// Which round of confirmation this is; the reply echoes it.
    pub round: u64,
}

/// The answer to ReadIndex: `term` equal to the leader's acknowledges it as leader of that term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReadIndexReply {
    /// `current_term`, for the leader to update itself.
    pub term: u64,
    /// The round answered.
    pub round: u64,
}

/// Sent by a leader instead of AppendEntries when the entries a follower needs were compacted
/// into its snapshot (Figure 13 of the paper, sent whole as 6.5840 does; the Raft lab's level
/// 11). The shipped servers never compact and ignore it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstallSnapshot {
    /// Leader's term.
    pub term: u64,
    /// So the follower knows its leader.
    pub leader_id: NodeId,
    /// The snapshot replaces every entry up to and including this index.
    pub last_included_index: u64,
    /// The term of that entry.
    pub last_included_term: u64,
    /// The snapshot's state, as words (the lab's `Snapshot::encode`).
    pub data: Vec<u64>,
}

/// The answer to InstallSnapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstallSnapshotReply {
    /// `current_term`, for the leader to update itself.
    pub term: u64,
    /// The snapshot answered (its last included index), so the leader knows what the follower
    /// now holds whichever copy this answers.
    pub last_included_index: u64,
}

/// Invoked by a leader whose disk lost entry `index`: a server whose log holds the anchor
/// entry holds the same entries up to it (Log Matching), so its entry `index` is the one lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FetchEntry {
    /// Leader's term.
    pub term: u64,
    /// The entry the leader lost.
    pub index: u64,
    /// An entry at or after `index` whose term the leader knows.
    pub anchor_index: u64,
    /// That entry's term.
    pub anchor_term: u64,
}

/// The answer to FetchEntry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FetchEntryReply {
    /// `current_term`.
    pub term: u64,
    /// The entry asked for.
    pub index: u64,
    /// The entry, if this server holds it under the same anchor.
    pub entry: Option<LogEntry>,
    /// This server never held the entry, as far as its intact disk says: its log ends before
    /// it or holds another term's entry there, and it lost no write and has no faulty slot up
    /// to there. Enough such servers prove the entry was never committed.
    pub never_held: bool,
}

/// A server's role.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Answers RPCs, redirects clients.
    Follower,
    /// Asks for votes.
    Candidate,
    /// Accepts client requests and replicates the log.
    Leader,
}

/// A Raft server and its key-value state machine.
#[derive(Clone, Debug, Hash)]
pub struct Server {
    params: RaftParams,
    /// Every server of the cluster, this one included.
    servers: Vec<NodeId>,

    // Persistent state on all servers (synced before responding to RPCs).
    current_term: u64,
    voted_for: Option<NodeId>,
    log: Log,

    // Volatile state on all servers.
    commit_index: u64,
    last_applied: u64,
    role: Role,
    leader_id: Option<NodeId>,
    election_deadline: SimTime,
    state_machine: KvStateMachine,
    /// Client requests this server accepted as leader: log index -> (client, request id).
    pending: BTreeMap<u64, (NodeId, u64)>,
    /// Client requests (client, request id) this server accepted or rejected: a late copy
    /// of one is ignored.
    seen: BTreeSet<(NodeId, u64)>,

    // Volatile state on leaders (reinitialized after election), indexed by `NodeId::index`.
    next_index: Vec<u64>,
    match_index: Vec<u64>,
    /// An AppendEntries to this server awaits its reply; new entries wait for it (or for the
    /// next heartbeat, which sends regardless) instead of being sent again and again.
    in_flight: Vec<bool>,
    /// Servers that granted their vote in this term (candidates).
    votes: Vec<NodeId>,
    /// Reused buffer for finding the majority's match index.
    scratch: Vec<u64>,

    // What the disk has done to this server (issue 39).
    /// The last log index known to be on disk (a leader counts itself only up to it).
    durable_last: u64,
    /// The server lost its vote record: it never votes or stands for election again.
    abstains: bool,
    /// The disk would not sync or write: the server stopped serving until it restarts.
    wedged: bool,
    /// The last log index this server synced, as its disk records it.
    acked: u64,
    /// The term of that entry.
    acked_term: u64,
    /// The log read back at boot was shorter than `acked`: the disk lost entries this server
    /// may have acknowledged (until the log is as long again).
    lost: bool,
    /// Leaders: for each faulty slot of their log, the servers that never held its entry.
    never_held: BTreeMap<u64, BTreeSet<NodeId>>,

    // Membership changes (issue 40; only in runs whose membership can change).
    /// The run's membership can change: the server follows its log's configurations.
    dynamic: bool,
    /// Every node with the server role, spares included: a configuration's bit positions.
    all_servers: Vec<NodeId>,
    /// The configuration the cluster started with.
    initial: Vec<NodeId>,
    /// A server that joined with an empty disk: it knows no configuration until a leader's
    /// entries reach it, and votes only once its log's configuration includes it (a vote of
    /// a new machine must not count for the one that had its name in an older configuration).
    fresh: bool,
    /// This server (known from its first handler on).
    me: NodeId,
    /// The index of the latest configuration entry in the log (0: none, the initial one).
    config_index: u64,
    /// The role whose members form the cluster ("server" unless a host protocol says).
    members_role: &'static str,
}

impl Server {
    /// Bytes the server holds on the heap, roughly: its lists of servers and replication
    /// progress (one entry per node of the cluster), its log and its request tables.
    pub fn heap_bytes(&self) -> u64 {
        let per_node = self.servers.capacity() * 4
            + self.next_index.capacity() * 8
            + self.match_index.capacity() * 8
            + self.in_flight.capacity()
            + self.votes.capacity() * 4
            + self.scratch.capacity() * 8;
        per_node as u64
            + self.log.heap_bytes()
            + (self.pending.len() * 48 + self.seen.len() * 40) as u64
    }

    /// Term, role, vote, log (its last entries), commit and apply points, and a leader's
    /// replication progress, for the debugger.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut o = format!(
            "term {}, {:?}, voted for {}, leader {}\n",
            self.current_term,
            self.role,
            self.voted_for.map_or("nobody".into(), |n| n.to_string()),
            self.leader_id.map_or("unknown".into(), |n| n.to_string()),
        );
        let last = self.log.last_index();
        let _ = writeln!(
            o,
            "log: {last} entries, commit index {}, applied {}",
            self.commit_index, self.last_applied
        );
        for i in last.saturating_sub(7).max(1)..=last {
            if let Some(e) = self.log.get(i) {
                let what = match e.command {
                    super::log::Command::Noop => "noop".to_string(),
                    super::log::Command::Config { voters } => format!(
                        "configuration {}",
                        self.voters_of(voters)
                            .iter()
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    super::log::Command::Kv { op, .. } => format!("{op:?}"),
                };
                let mark = if i <= self.commit_index {
                    "committed"
                } else {
                    ""
                };
                let _ = writeln!(o, "  {i}@t{} {what} {mark}", e.term);
            }
        }
        if self.role == Role::Leader {
            let _ = writeln!(
                o,
                "next index {:?}, match index {:?}",
                self.servers
                    .iter()
                    .map(|s| self.next_index[s.index()])
                    .collect::<Vec<_>>(),
                self.servers
                    .iter()
                    .map(|s| self.match_index[s.index()])
                    .collect::<Vec<_>>()
            );
        }
        o
    }

    /// Handles any Raft message (a server whose disk stopped it ignores them all).
    pub fn on_raft_message<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: NodeId,
        msg: RaftMsg,
    ) {
        if self.wedged() {
            return;
        }
        match msg {
            RaftMsg::RequestVote(rv) => self.on_request_vote(ctx, rv),
            RaftMsg::RequestVoteReply(r) => self.on_request_vote_reply(ctx, from, r),
            RaftMsg::AppendEntries(ae) => self.on_append_entries(ctx, ae),
            RaftMsg::AppendEntriesReply(r) => self.on_append_entries_reply(ctx, from, r),
            RaftMsg::Req(req) => self.on_client_request(ctx, from, req),
            RaftMsg::FetchEntry(x) => self.on_fetch_entry(ctx, from, x),
            RaftMsg::FetchEntryReply(r) => self.on_fetch_entry_reply(ctx, from, r),
            RaftMsg::Rep(_)
            | RaftMsg::ReadIndex(_)
            | RaftMsg::ReadIndexReply(_)
            | RaftMsg::InstallSnapshot(_)
            | RaftMsg::InstallSnapshotReply(_) => {}
        }
    }

    /// Handles a server's timer (a client timer is not the server's and is ignored).
    pub fn on_raft_timer<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, timer: RaftTimer) {
        match timer {
            _ if self.wedged() => {}
            RaftTimer::Election => self.on_election_timer(ctx),
            RaftTimer::Heartbeat(term) => self.on_heartbeat_timer(ctx, term),
            RaftTimer::Client(_) => {}
        }
    }

    /// `describe` as a tree: term, role, vote and leader by name, the log's last entries, a
    /// leader's replication progress per server, what the disk did, then the configuration.
    pub fn describe_tree(&self) -> crate::describe::Describe {
        use crate::describe::{Describe, Part};
        let mut d = Describe::new();
        d.field("term", self.current_term)
            .field("role", format!("{:?}", self.role).to_lowercase())
            .node("voted for", self.voted_for)
            .node("leader", self.leader_id)
            .field("election deadline", self.election_deadline);
        let last = self.log.last_index();
        let mut log = Describe::new();
        for i in last.saturating_sub(7).max(1)..=last {
            if let Some(e) = self.log.get(i) {
                let mut what = vec![Part::Text(format!("term {}: ", e.term))];
                match e.command {
                    super::log::Command::Noop => what.push(Part::Text("noop".into())),
                    super::log::Command::Config { voters } => {
                        what.push(Part::Text("configuration ".into()));
                        for (k, n) in self.voters_of(voters).into_iter().enumerate() {
                            if k > 0 {
                                what.push(Part::Text(", ".into()));
                            }
                            what.push(Part::Node(n));
                        }
                    }
                    super::log::Command::Kv { client, op, .. } => {
                        what.push(Part::Text(format!("{} from ", op.describe())));
                        what.push(Part::Node(client));
                    }
                }
                if i <= self.commit_index {
                    what.push(Part::Text(" (committed)".into()));
                }
                log.parts(i.to_string(), what);
            }
        }
        d.section(
            "log",
            format!(
                "{last} entries, commit index {}, applied {}",
                self.commit_index, self.last_applied
            ),
            log,
        );
        if self.role == Role::Leader {
            let mut progress = Describe::new();
            for s in &self.servers {
                progress.parts(
                    "",
                    vec![
                        Part::Node(*s),
                        Part::Text(format!(
                            ": next index {}, match index {}",
                            self.next_index[s.index()],
                            self.match_index[s.index()]
                        )),
                    ],
                );
            }
            d.section("replication", "", progress);
            d.field("client requests in the log", self.pending.len());
        }
        if self.role == Role::Candidate {
            d.nodes("votes", self.votes.iter().copied());
        }
        if self.wedged || self.abstains || self.lost {
            d.field(
                "disk",
                [
                    (
                        self.wedged,
                        "would not sync: serves nothing until restarted",
                    ),
                    (self.abstains, "lost its vote record: never votes again"),
                    (self.lost, "lost log entries it may have acknowledged"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, what)| *what)
                .collect::<Vec<_>>()
                .join("; "),
            );
        }
        d.config_nodes("servers", self.servers.iter().copied())
            .config("parameters", format!("{:?}", self.params));
        d
    }

    /// Boots a server from what it persisted (nothing, on first boot).
    pub fn recover(
        params: RaftParams,
        servers: Vec<NodeId>,
        all_servers: Vec<NodeId>,
        nodes: usize,
        storage: &crate::storage::Storage<Stored>,
    ) -> Self {
        let (mut current_term, voted_for, abstains) = if params.checksums {
            recover_checked_term_and_vote(storage, params.corrupt_ends_log)
        } else {
            let (t, v) = recover_term_and_vote(storage);
            (t, v, false)
        };
        let log = read_log(&params, storage);
        let (acked, acked_term) = if params.checksums {
            recover_acked(storage)
        } else {
            (0, 0)
        };
        if abstains {
            // The term is at least that of any entry it holds.
            current_term = current_term.max(log.last_term());
        }
        let durable_last = log.last_index();
        // The entry last synced is not in the log read back: a lost write took it.
        let lost_one = acked > 0 && log.term_at(acked) != Some(acked_term);
        let planted_truncation = params.corrupt_ends_log;
        Server {
            params,
            initial: servers.clone(),
            servers,
            all_servers,
            dynamic: false,
            fresh: false,
            me: NodeId(0),
            config_index: 0,
            members_role: "server",
            current_term,
            voted_for,
            log,
            commit_index: 0,
            last_applied: 0,
            role: Role::Follower,
            leader_id: None,
            election_deadline: SimTime::ZERO,
            state_machine: KvStateMachine::default(),
            pending: BTreeMap::new(),
            seen: BTreeSet::new(),
            next_index: vec![1; nodes],
            match_index: vec![0; nodes],
            in_flight: vec![false; nodes],
            votes: Vec::new(),
            scratch: Vec::with_capacity(nodes),
            durable_last,
            abstains,
            wedged: false,
            // The planted recovery that ends the log at a corrupt entry does not look back.
            lost: lost_one && !planted_truncation,
            acked,
            acked_term,
            never_held: BTreeMap::new(),
        }
    }

    /// The same server, in a cluster made of the members of `role` (a protocol that hosts a
    /// Raft group beside other servers names its role).
    pub fn in_role(mut self, role: &'static str) -> Self {
        self.members_role = role;
        self
    }

    /// True while the log lacks the last entry this server synced before its disk lost writes
    /// (it is shorter, or holds an older entry there): it may have acknowledged what it lacks,
    /// so it votes by the log it synced and does not stand, until it holds that entry again
    /// (or a newer leader's entry in its place).
    fn lost_entries(&self) -> bool {
        self.lost
            && self
                .log
                .term_at(self.acked)
                .is_none_or(|t| t < self.acked_term)
    }

    /// True when the server stopped serving because its disk would not sync or write.
    pub fn wedged(&self) -> bool {
        self.wedged
    }

    /// The server's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The latest term this server has seen.
    pub fn current_term(&self) -> u64 {
        self.current_term
    }

    /// The highest log index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    /// The candidate this server voted for in `current_term`, if any.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }

    /// The server's log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    fn majority(&self) -> usize {
        self.servers.len() / 2 + 1
    }

    /// Votes granted in this term by servers of the configuration (the candidate's own
    /// among them only if it belongs to it).
    fn vote_count(&self) -> usize {
        if !self.dynamic {
            return self.votes.len();
        }
        self.votes
            .iter()
            .filter(|v| self.servers.contains(v))
            .count()
    }

    /// The servers a configuration entry's `voters` names.
    fn voters_of(&self, voters: u64) -> Vec<NodeId> {
        self.all_servers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && voters & (1 << i) != 0)
            .map(|(_, s)| *s)
            .collect()
    }

    /// `servers` as a configuration entry's `voters`.
    fn voters_mask(&self, servers: &[NodeId]) -> u64 {
        self.all_servers
            .iter()
            .enumerate()
            .filter(|(i, s)| *i < 64 && servers.contains(s))
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    /// Takes the latest configuration in the log, committed or not (section 4.1): the initial
    /// one if the log holds none, and none at all for a server that joined empty and has heard
    /// from no leader yet.
    fn refresh_config(&mut self) {
        if !self.dynamic {
            return;
        }
        let latest = (1..=self.log.last_index())
            .rev()
            .find_map(|i| match self.log.get(i) {
                Some(LogEntry {
                    command: Command::Config { voters },
                    ..
                }) => Some((i, *voters)),
                _ => None,
            });
        (self.servers, self.config_index) = match latest {
            Some((i, voters)) => (self.voters_of(voters), i),
            None if self.fresh && self.log.last_index() == 0 => (Vec::new(), 0),
            None => (self.initial.clone(), 0),
        };
        if self.fresh && self.servers.contains(&self.me) {
            self.fresh = false;
        }
    }

    /// A node joined (or took a lost one's place): a new machine, whatever an earlier one of
    /// that name held, so a leader forgets what it knew of its log.
    pub fn on_roster_change(&mut self, change: crate::node::RosterChange) {
        use crate::node::RosterChange;
        if let RosterChange::Joined(n) | RosterChange::Replaced { new: n, .. } = change {
            if let (Some(m), Some(next)) = (
                self.match_index.get_mut(n.index()),
                self.next_index.get_mut(n.index()),
            ) {
                *m = 0;
                *next = self.log.last_index() + 1;
            }
            if let Some(f) = self.in_flight.get_mut(n.index()) {
                *f = false;
            }
        }
    }

    /// Leaders, in a run whose membership can change: bring the configuration one server
    /// closer to the cluster's members (removing a node that is gone first, then adding a
    /// member that has caught up, then removing one that is leaving), one change at a time:
    /// only once the last change committed, and (unless the 2015 bug is planted) once an entry
    /// of this leader's own term has.
    fn reconcile<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        if self.role != Role::Leader || self.config_index > self.commit_index {
            return;
        }
        let own_term_committed = self.log.term_at(self.commit_index) == Some(self.current_term);
        if !own_term_committed && !self.params.change_config_before_own_commit {
            return;
        }
        let me = ctx.id();
        let members = ctx.members(self.members_role);
        let staying = |n: &NodeId| ctx.member_state(*n) == crate::node::MemberState::Member;
        let gone = self.servers.iter().copied().find(|s| !members.contains(s));
        let caught_up = members.iter().copied().find(|m| {
            staying(m)
                && !self.servers.contains(m)
                && (*m == me || self.match_index[m.index()] >= self.commit_index)
        });
        let leaving = self.servers.iter().copied().find(|s| !staying(s));
        let next: Vec<NodeId> = match (gone, caught_up, leaving) {
            (Some(g), ..) | (None, None, Some(g)) => {
                self.servers.iter().copied().filter(|s| *s != g).collect()
            }
            (None, Some(new), _) => {
                let mut next = self.servers.clone();
                next.push(new);
                next.sort();
                next
            }
            (None, None, None) => return,
        };
        if next.is_empty() {
            return;
        }
        if !own_term_committed {
            ctx.reachable(
                "a leader changes the configuration before it committed an entry of its term",
            );
        }
        let voters = self.voters_mask(&next);
        let term = self.current_term;
        let index = self.log.append(
            ctx.storage(),
            LogEntry {
                term,
                command: Command::Config { voters },
            },
        );
        let names: Vec<String> = next
            .iter()
            .map(|n| ctx.roster().name(*n).to_string())
            .collect();
        ctx.note(|| format!("proposes configuration {} at {index}", names.join(",")));
        if !self.sync_log(ctx) {
            return;
        }
        self.refresh_config();
        self.advance_commit_index(ctx);
    }

    fn peers(&self, me: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.servers.iter().copied().filter(move |s| *s != me)
    }

    /// Makes `current_term`, `voted_for` and the log durable; false if the disk would not
    /// (the server then tells nobody what it changed).
    fn persist<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) -> bool {
        let written = self.write_term_and_vote(ctx);
        self.sync(ctx) && written
    }

    /// Writes `current_term`, `voted_for` (and the abstention mark) to storage, not synced;
    /// false if the disk refused a write (unless `ignore_sync_failure`).
    fn write_term_and_vote<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) -> bool {
        let checked = self.params.checksums;
        let st = ctx.storage();
        let mut put = |key: &str, value: Stored| {
            let done = if checked {
                st.try_put_checked(key, value)
            } else {
                st.try_put(key, value)
            };
            done.is_ok()
        };
        let vote = self.voted_for.filter(|_| self.params.persist_voted_for);
        let mut ok = true;
        if checked {
            for key in META {
                ok &= put(key, Stored::Meta(self.current_term, vote));
            }
        } else {
            ok &= put(CURRENT_TERM, Stored::CurrentTerm(self.current_term));
            if self.params.persist_voted_for {
                ok &= put(VOTED_FOR, Stored::VotedFor(self.voted_for));
            }
        }
        if self.abstains {
            ok &= put(ABSTAIN, Stored::Abstain);
        }
        ok || self.params.ignore_sync_failure
    }

    /// Syncs storage; on a failure (unless `ignore_sync_failure`) writes everything again and
    /// retries, and stops serving if the disk still will not sync. True when all is durable.
    fn sync<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) -> bool {
        if self.wedged {
            return false;
        }
        if self.params.ignore_sync_failure {
            ctx.storage().sync();
            self.durable_last = self.log.last_index();
            return true;
        }
        self.write_acked(ctx);
        let refused = self.log.take_write_failed();
        if refused {
            // A full disk refused entries: forget them (what the disk holds is the log), and
            // acknowledge nothing.
            ctx.note(|| "its disk refused a write: keeps the log its disk holds".to_string());
            self.log = read_log(&self.params, ctx.storage());
        }
        for _ in 0..SYNC_ATTEMPTS {
            if ctx.storage().try_sync().is_ok() {
                self.durable_last = self.log.last_index();
                return !refused;
            }
            ctx.note(|| "a sync failed: writes everything again and retries".to_string());
            self.write_term_and_vote(ctx);
            self.log.rewrite(ctx.storage());
            if self.log.take_write_failed() {
                self.log = read_log(&self.params, ctx.storage());
            }
        }
        self.wedge(ctx, "its disk will not sync");
        false
    }

    /// Records the last log index (twice, checksummed) with the writes a sync covers; while the
    /// log is shorter than what was recorded, the record stays (see `lost_entries`).
    fn write_acked<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        if !self.params.checksums {
            return;
        }
        let last = self.log.last_index();
        // While the log lacks what the record says, or its last entry's term is not known,
        // the record stays as it is.
        if self.lost_entries() || self.log.last_is_faulty() {
            return;
        }
        self.lost = false;
        let term = self.log.last_term();
        if (last, term) == (self.acked, self.acked_term) {
            return;
        }
        let st = ctx.storage();
        let mut ok = true;
        for key in ACKED {
            ok &= st.try_put_checked(key, Stored::Acked(last, term)).is_ok();
        }
        if ok {
            (self.acked, self.acked_term) = (last, term);
        }
    }

    /// Stops serving (as PostgreSQL panics on a failed fsync): what this server holds in memory
    /// is no longer what its disk holds, and only a restart reads the disk back.
    fn wedge<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, why: &'static str) {
        if !self.wedged {
            self.wedged = true;
            ctx.note(|| format!("stops serving until it restarts: {why}"));
        }
    }

    /// Makes the log's new entries durable (unless `sync_log` is off: the planted bug); false
    /// if the disk would not.
    fn sync_log<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) -> bool {
        if self.params.sync_log {
            self.sync(ctx)
        } else {
            true
        }
    }

    /// True when the server may vote and stand for election: it knows its vote, and the term
    /// of its last entry.
    fn may_vote(&self) -> bool {
        self.vouched_last().is_some() && !self.fresh
    }

    /// The (term, index) of the last entry of the log this server acknowledged, which a
    /// candidate's must be at least as up-to-date as to get its vote (section 5.4.1): its log's
    /// last entry, or, when its disk lost that entry or damaged it, the one it recorded
    /// syncing. `None`: it cannot tell (it lost its vote record, or the damaged last entry's
    /// term is not recorded), and votes for nobody.
    fn vouched_last(&self) -> Option<(u64, u64)> {
        if self.abstains {
            return None;
        }
        let last = self.log.last_index();
        if self.lost_entries() || (self.log.last_is_faulty() && self.acked == last && last > 0) {
            return Some((self.acked_term, self.acked));
        }
        (!self.log.last_is_faulty()).then(|| (self.log.last_term(), last))
    }

    /// True when the server may stand for election: it may vote, holds every entry it
    /// acknowledged, and knows the term of its last one (a leader fetches any other it lost).
    fn may_stand(&self) -> bool {
        self.may_vote() && !self.lost_entries() && !self.log.last_is_faulty()
    }

    fn reset_election_timer<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let (lo, hi) = (
            self.params.election_timeout_min.0,
            self.params
                .election_timeout_max
                .0
                .max(self.params.election_timeout_min.0),
        );
        let timeout = Duration(ctx.rng().random_range(lo..=hi));
        self.election_deadline = ctx.now() + timeout;
    }

    /// Boot: followers wait for a leader; the election timer runs for the server's whole life.
    /// A server that read back less than its disk holds deletes the rest first, and one that
    /// lost its vote marks itself as abstaining for good.
    pub fn on_start<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        if self.params.checksums {
            if let Some(from) = self.log.stale_from(ctx.storage()) {
                ctx.storage().delete_from(super::log::LOG_PREFIX, &from);
            }
            if self.abstains {
                ctx.note(|| "lost its vote record: never votes again".to_string());
                self.write_term_and_vote(ctx);
            }
            if ctx.storage().has_unsynced() {
                self.sync(ctx);
            }
        }
        if ctx.membership_changes() {
            self.dynamic = true;
            self.me = ctx.id();
            // Booted empty after the cluster started: a new server, told its configuration
            // by a leader (a server that starts with its own idea of one can elect itself).
            self.fresh = self.log.last_index() == 0 && ctx.now() > SimTime::ZERO;
            self.refresh_config();
        }
        self.reset_election_timer(ctx);
        ctx.set_timer(
            self.election_deadline.since(ctx.now()),
            RaftTimer::Election.into(),
        );
    }

    /// Followers (Figure 2): if the election timeout elapses without AppendEntries from the
    /// current leader or granting a vote, convert to candidate.
    pub fn on_election_timer<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        // A new server does not stand until a configuration includes it; one that its latest
        // configuration leaves out still does (the dissertation's section 4.2.2: until that
        // configuration commits, it may be needed), counting only the others' votes.
        if self.role == Role::Leader || !self.may_stand() || self.fresh {
            self.reset_election_timer(ctx);
        } else if ctx.now() >= self.election_deadline {
            self.start_election(ctx);
        }
        ctx.set_timer(
            self.election_deadline.since(ctx.now()),
            RaftTimer::Election.into(),
        );
    }

    /// Candidates (Figure 2): increment `current_term`, vote for self, reset the election
    /// timer, send RequestVote to all other servers.
    fn start_election<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let me = ctx.id();
        let before = (self.role, self.current_term, self.voted_for, self.leader_id);
        self.role = Role::Candidate;
        self.current_term += 1;
        self.voted_for = Some(me);
        self.leader_id = None;
        if !self.persist(ctx) {
            // Nobody heard of this term: stay as before and try again after a timeout.
            (self.role, self.current_term, self.voted_for, self.leader_id) = before;
            self.reset_election_timer(ctx);
            return;
        }
        self.record_role(ctx);
        self.votes.clear();
        self.votes.push(me);
        self.reset_election_timer(ctx);
        let term = self.current_term;
        ctx.note(|| format!("times out, stands for election in term {term}"));
        // One heartbeat loop per term: it repeats vote requests, then (if this server wins)
        // carries its heartbeats.
        ctx.set_timer(self.params.heartbeat, RaftTimer::Heartbeat(term).into());
        if self.vote_count() >= self.majority() {
            self.become_leader(ctx);
            return;
        }
        self.request_votes(ctx);
    }

    fn request_votes<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let me = ctx.id();
        let rv = RequestVote {
            term: self.current_term,
            candidate_id: me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.peers(me) {
            if !self.votes.contains(&peer) {
                ctx.send(peer, RaftMsg::RequestVote(rv.clone()).into());
            }
        }
    }

    /// All servers (Figure 2): if an RPC request or response contains term T > `current_term`,
    /// set `current_term` = T and convert to follower.
    fn become_follower<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, term: u64) {
        if self.role == Role::Leader {
            self.reset_election_timer(ctx);
        }
        let changed = term > self.current_term || self.role != Role::Follower;
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.leader_id = None;
            self.persist(ctx);
        }
        self.role = Role::Follower;
        if changed {
            self.record_role(ctx);
        }
    }

    /// Records the role and term this server is in now (`ElectionSafety` reads it).
    fn record_role<N: RaftHost>(&self, ctx: &mut Context<'_, N>) {
        let role = match self.role {
            Role::Leader => "leader",
            Role::Candidate => "candidate",
            Role::Follower => "follower",
        };
        ctx.event(Op::custom(
            ROLE,
            &RoleChange {
                term: self.current_term,
                role: role.to_string(),
            },
        ));
    }

    fn become_leader<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let me = ctx.id();
        self.role = Role::Leader;
        self.leader_id = Some(me);
        let term = self.current_term;
        self.record_role(ctx);
        ctx.event(Op::custom(LEADER, &term));
        ctx.sometimes(
            "a leader is elected with uncommitted entries of an earlier term",
            self.log.last_index() > self.commit_index,
        );
        ctx.note(|| format!("becomes leader of term {term}"));
        let next = self.log.last_index() + 1;
        self.next_index.iter_mut().for_each(|n| *n = next);
        self.match_index.iter_mut().for_each(|m| *m = 0);
        self.in_flight.iter_mut().for_each(|f| *f = false);
        self.never_held.clear();
        if self.params.leader_noop {
            // Section 8: a no-op of the new term lets entries of earlier terms commit.
            self.log.append(
                ctx.storage(),
                LogEntry {
                    term,
                    command: Command::Noop,
                },
            );
            if !self.sync_log(ctx) {
                return;
            }
            self.advance_commit_index(ctx);
        }
        if self.dynamic {
            // A change the cluster is waiting for, at once (the fixed server waits until its
            // no-op commits).
            self.reconcile(ctx);
            if self.role != Role::Leader {
                return;
            }
        }
        self.broadcast_append_entries(ctx, true);
        self.fetch_lost_entries(ctx);
    }

    /// Leaders whose disk lost entries ask every other server for them (Protocol-Aware
    /// Recovery): until then they commit nothing past the first.
    fn fetch_lost_entries<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let me = ctx.id();
        let asks: Vec<FetchEntry> = self
            .log
            .faulty()
            .filter_map(|(index, _)| {
                let (anchor_index, anchor_term) = self.log.anchor(index)?;
                Some(FetchEntry {
                    term: self.current_term,
                    index,
                    anchor_index,
                    anchor_term,
                })
            })
            .collect();
        for ask in asks {
            for peer in self.peers(me) {
                ctx.send(peer, RaftMsg::FetchEntry(ask.clone()).into());
            }
        }
    }

    /// A leader asks for an entry its disk lost: answer with ours if our log holds the anchor.
    pub fn on_fetch_entry<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: NodeId,
        x: FetchEntry,
    ) {
        if x.term > self.current_term {
            self.become_follower(ctx, x.term);
            if self.wedged {
                return;
            }
        }
        if x.term < self.current_term {
            return;
        }
        let entry = (self.log.term_at(x.anchor_index) == Some(x.anchor_term))
            .then(|| self.log.get(x.index).copied())
            .flatten();
        // The anchor is the entry itself when the leader knows its term.
        let other_term = x.anchor_index == x.index
            && self
                .log
                .term_at(x.index)
                .is_some_and(|t| t != x.anchor_term);
        let never_held = entry.is_none()
            && !self.lost
            && self.log.first_faulty().is_none_or(|f| f > x.index)
            && (x.index > self.log.last_index() || other_term);
        let reply = FetchEntryReply {
            term: self.current_term,
            index: x.index,
            entry,
            never_held,
        };
        ctx.send(from, RaftMsg::FetchEntryReply(reply).into());
    }

    /// A server sent an entry this leader's disk lost: put it back, durably. Or it never held
    /// it: once too few servers are left to have made a majority with this one, the entry was
    /// never committed, and the leader drops it with every entry after it.
    pub fn on_fetch_entry_reply<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: NodeId,
        r: FetchEntryReply,
    ) {
        if r.term > self.current_term {
            self.become_follower(ctx, r.term);
            return;
        }
        if self.role != Role::Leader || r.term != self.current_term {
            return;
        }
        let Some(entry) = r.entry else {
            if r.never_held && self.log.faulty().any(|(i, _)| i == r.index) {
                let never = self.never_held.entry(r.index).or_default();
                never.insert(from);
                // Committed means held by a majority, this leader perhaps among them.
                let n = self.servers.len();
                if never.len() > n - (n / 2 + 1) {
                    self.drop_uncommitted(ctx, r.index);
                }
            }
            return;
        };
        if self.log.fill(ctx.storage(), r.index, entry) {
            ctx.reachable("a leader repairs an entry its disk lost from a follower's copy");
            if !self.sync_log(ctx) {
                return;
            }
            self.advance_commit_index(ctx);
            self.broadcast_append_entries(ctx, false);
        }
    }

    /// Drops entry `index`, which this leader's disk lost and no majority ever held, and every
    /// entry after it (by Log Matching no majority held those either): none was committed, so
    /// none was answered; their clients will ask again. A no-op of this term takes their place.
    fn drop_uncommitted<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, index: u64) {
        ctx.reachable("a leader drops an entry its disk lost that no majority ever held");
        ctx.note(|| {
            format!("entry {index} was never committed (too few servers held it): drops it and all after it")
        });
        self.log.truncate_from(ctx.storage(), index);
        self.pending.split_off(&index);
        self.never_held.split_off(&index);
        self.refresh_config();
        for i in 0..self.next_index.len() {
            self.next_index[i] = self.next_index[i].min(index);
            self.match_index[i] = self.match_index[i].min(index - 1);
        }
        if self.params.leader_noop {
            self.log.append(
                ctx.storage(),
                LogEntry {
                    term: self.current_term,
                    command: Command::Noop,
                },
            );
        }
        if !self.sync_log(ctx) {
            return;
        }
        self.advance_commit_index(ctx);
        self.broadcast_append_entries(ctx, true);
    }

    /// Leaders send heartbeats (and any missing entries); candidates ask again for votes.
    pub fn on_heartbeat_timer<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, term: u64) {
        if term != self.current_term {
            return;
        }
        match self.role {
            Role::Leader => {
                if self.dynamic {
                    self.reconcile(ctx);
                }
                if self.role != Role::Leader {
                    return;
                }
                self.broadcast_append_entries(ctx, true);
                self.fetch_lost_entries(ctx);
            }
            Role::Candidate => self.request_votes(ctx),
            Role::Follower => return,
        }
        ctx.set_timer(self.params.heartbeat, RaftTimer::Heartbeat(term).into());
    }

    /// Sends AppendEntries to every other server; unless `all`, only to those not already
    /// waiting for a reply.
    fn broadcast_append_entries<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, all: bool) {
        for i in 0..self.servers.len() {
            let peer = self.servers[i];
            if peer != ctx.id() && (all || !self.in_flight[peer.index()]) {
                self.send_append_entries(ctx, peer);
            }
        }
        if self.dynamic {
            // Members outside the configuration: new servers catching up before they count
            // (non-voting, section 4.2.1), and removed ones still there to learn the commit.
            for peer in ctx.members(self.members_role) {
                if peer != ctx.id()
                    && !self.servers.contains(&peer)
                    && (all || !self.in_flight[peer.index()])
                {
                    self.send_append_entries(ctx, peer);
                }
            }
        }
    }

    /// Leaders: send AppendEntries with log entries starting at `next_index`.
    fn send_append_entries<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, peer: NodeId) {
        let next = self.next_index[peer.index()];
        let prev_log_index = next - 1;
        let ae = AppendEntries {
            term: self.current_term,
            leader_id: ctx.id(),
            prev_log_index,
            prev_log_term: self.log.term_at(prev_log_index).unwrap_or(0),
            entries: self.log.entries_from(next, self.params.max_batch as usize),
            leader_commit: self.commit_index,
        };
        self.in_flight[peer.index()] = true;
        ctx.send(peer, RaftMsg::AppendEntries(ae).into());
    }

    // ANCHOR: request_vote
    /// RequestVote receiver implementation (Figure 2).
    pub fn on_request_vote<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, rv: RequestVote) {
        if rv.term > self.current_term {
            self.become_follower(ctx, rv.term);
        }
        // 1. Reply false if term < current_term.
        // 2. If voted_for is null or candidate_id, and the candidate's log is at least as
        //    up-to-date as the receiver's log, grant vote. (The log it acknowledged, should
        //    its disk have lost the end of it: `vouched_last`.)
        let up_to_date = self
            .vouched_last()
            .is_some_and(|mine| (rv.last_log_term, rv.last_log_index) >= mine)
            || !self.params.election_restriction;
        let vote_granted = rv.term == self.current_term
            && self.voted_for.is_none_or(|v| v == rv.candidate_id)
            && up_to_date
            && self.may_vote();
        if vote_granted {
            self.voted_for = Some(rv.candidate_id);
            if !self.persist(ctx) {
                return;
            }
            self.reset_election_timer(ctx);
        }
        if self.wedged {
            return;
        }
        let reply = RequestVoteReply {
            term: self.current_term,
            vote_granted,
        };
        ctx.send(rv.candidate_id, RaftMsg::RequestVoteReply(reply).into());
    }
    // ANCHOR_END: request_vote

    /// Candidates (Figure 2): if votes are received from a majority of servers, become leader.
    pub fn on_request_vote_reply<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: NodeId,
        reply: RequestVoteReply,
    ) {
        if reply.term > self.current_term {
            self.become_follower(ctx, reply.term);
            return;
        }
        if self.role != Role::Candidate
            || reply.term != self.current_term
            || !reply.vote_granted
            || self.votes.contains(&from)
        {
            return;
        }
        self.votes.push(from);
        if self.vote_count() >= self.majority() {
            self.become_leader(ctx);
        }
    }

    /// AppendEntries receiver implementation (Figure 2).
    pub fn on_append_entries<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, ae: AppendEntries) {
        let leader = ae.leader_id;
        // 1. Reply false if term < current_term.
        if ae.term < self.current_term {
            self.reply_append(ctx, leader, false, 0, 0);
            return;
        }
        // Candidates: if AppendEntries is received from the new leader, convert to follower.
        if ae.term > self.current_term || self.role != Role::Follower {
            self.become_follower(ctx, ae.term);
            if self.wedged {
                return;
            }
        }
        self.leader_id = Some(leader);
        self.reset_election_timer(ctx);
        // A slot lost to the disk matches nothing: the leader must send it again, from there.
        if let Some(faulty) = self.log.first_faulty().filter(|f| ae.prev_log_index >= *f) {
            ctx.reachable("a follower asks the leader to repair an entry its disk lost");
            let reply = AppendEntriesReply {
                term: self.current_term,
                success: false,
                match_index: faulty,
                conflict_index: faulty,
            };
            ctx.send(leader, RaftMsg::AppendEntriesReply(reply).into());
            return;
        }
        // 2. Reply false if the log does not contain an entry at prev_log_index whose term
        //    matches prev_log_term.
        match self.log.term_at(ae.prev_log_index) {
            None => {
                let conflict = self.log.last_index() + 1;
                self.reply_append(ctx, leader, false, 0, conflict);
                return;
            }
            Some(term) if term != ae.prev_log_term => {
                let conflict = self.log.first_index_of_term_at(ae.prev_log_index);
                self.reply_append(ctx, leader, false, 0, conflict);
                return;
            }
            Some(_) => {}
        }
        // 3. If an existing entry conflicts with a new one, delete it and all that follow.
        // 4. Append any new entries not already in the log.
        let conflicts = ae.entries.iter().enumerate().any(|(i, e)| {
            self.log
                .term_at(ae.prev_log_index + 1 + i as u64)
                .is_some_and(|t| t != e.term)
        });
        ctx.sometimes("a follower deletes a conflicting log suffix", conflicts);
        if self
            .log
            .merge(ctx.storage(), ae.prev_log_index, &ae.entries)
            && !self.sync_log(ctx)
        {
            return;
        }
        self.refresh_config();
        // 5. If leader_commit > commit_index, set commit_index = min(leader_commit, index of
        //    last new entry).
        let last_new = ae.prev_log_index + ae.entries.len() as u64;
        if ae.leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(ae.leader_commit.min(last_new));
            self.apply_committed(ctx);
        }
        self.reply_append(ctx, leader, true, last_new, 0);
    }

    fn reply_append<N: RaftHost>(
        &self,
        ctx: &mut Context<'_, N>,
        leader: NodeId,
        success: bool,
        match_index: u64,
        conflict_index: u64,
    ) {
        // A server whose disk lost or damaged entries it may have acknowledged says where to
        // send from again (the leader may count them as replicated here, and an entry next to
        // a damaged one may be an older one a lost write left behind).
        let damaged = self.lost_entries() || self.log.first_faulty().is_some();
        let match_index = if !success && damaged {
            conflict_index
        } else {
            match_index
        };
        let reply = AppendEntriesReply {
            term: self.current_term,
            success,
            match_index,
            conflict_index,
        };
        ctx.send(leader, RaftMsg::AppendEntriesReply(reply).into());
    }

    /// Leaders (Figure 2): on success update `next_index` and `match_index` for the follower;
    /// on a log inconsistency decrement `next_index` and retry.
    pub fn on_append_entries_reply<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: NodeId,
        reply: AppendEntriesReply,
    ) {
        if reply.term > self.current_term {
            self.become_follower(ctx, reply.term);
            return;
        }
        if self.role != Role::Leader || reply.term != self.current_term {
            return;
        }
        let f = from.index();
        self.in_flight[f] = false;
        // Replies can arrive late or twice: indexes only move forward, and only a reply that
        // taught the leader something triggers the next AppendEntries (otherwise every stale
        // reply would put one more copy into circulation).
        let before = (self.match_index[f], self.next_index[f]);
        if !reply.success && reply.match_index > 0 {
            // The follower's disk lost an entry this leader may have counted: count it again
            // only once it is sent again.
            self.match_index[f] = self.match_index[f].min(reply.match_index - 1);
            self.next_index[f] = reply.match_index;
        } else if reply.success {
            self.match_index[f] = self.match_index[f].max(reply.match_index);
            self.next_index[f] = self.next_index[f].max(reply.match_index + 1);
            self.advance_commit_index(ctx);
        } else {
            self.next_index[f] = reply
                .conflict_index
                .min(self.next_index[f].saturating_sub(1))
                .max(self.match_index[f] + 1);
        }
        let learned = (self.match_index[f], self.next_index[f]) != before;
        if learned && self.next_index[f] <= self.log.last_index() {
            self.send_append_entries(ctx, from);
        }
    }

    // ANCHOR: commit_rule
    /// Leaders (Figure 2): if there exists an N > `commit_index` such that a majority of
    /// `match_index[i]` >= N, and `log[N].term == current_term`, set `commit_index` = N.
    fn advance_commit_index<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        let me = ctx.id();
        self.scratch.clear();
        for s in &self.servers {
            let matched = if *s != me {
                self.match_index[s.index()]
            } else if self.params.sync_log {
                // Only what is on its own disk, intact: an entry whose sync failed is not,
                // nor one its disk lost.
                let intact = self.log.first_faulty().map_or(u64::MAX, |f| f - 1);
                self.durable_last.min(intact)
            } else {
                self.log.last_index()
            };
            self.scratch.push(matched);
        }
        self.scratch.sort_unstable_by(|a, b| b.cmp(a));
        let n = self.scratch[self.majority() - 1];
        // The Figure 8 bug counts replicas of entries from earlier terms too.
        let countable = self.log.term_at(n) == Some(self.current_term)
            || self.params.commit_old_terms_by_counting;
        if n > self.commit_index && countable {
            let old_terms = (self.commit_index + 1..=n)
                .any(|i| self.log.term_at(i).is_some_and(|t| t < self.current_term));
            ctx.sometimes("a leader commits entries of an earlier term", old_terms);
            self.commit_index = n;
            self.apply_committed(ctx);
        }
    }
    // ANCHOR_END: commit_rule

    /// All servers (Figure 2): if `commit_index` > `last_applied`, increment `last_applied` and
    /// apply `log[last_applied]` to the state machine. The server that accepted the request
    /// answers the client.
    fn apply_committed<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>) {
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            // A faulty slot waits for its repair: nothing after it is applied before it.
            let Some(entry) = self.log.get(index) else {
                break;
            };
            self.last_applied = index;
            if let Command::Config { voters } = entry.command {
                self.config_committed(ctx, voters);
                continue;
            }
            let Command::Kv {
                client,
                request,
                op,
            } = entry.command
            else {
                continue;
            };
            let result = self.state_machine.apply(&op);
            if self.pending.remove(&index) == Some((client, request)) {
                ctx.send(
                    client,
                    RaftMsg::Rep(KvReply {
                        id: request,
                        result,
                    })
                    .into(),
                );
            }
        }
    }

    /// A configuration committed: a leader it leaves out steps down (section 4.2.2), and a
    /// server it leaves out that was asked to leave goes.
    fn config_committed<N: RaftHost>(&mut self, ctx: &mut Context<'_, N>, voters: u64) {
        let me = ctx.id();
        if self.voters_of(voters).contains(&me) {
            return;
        }
        if self.role == Role::Leader {
            ctx.note(|| "its removal committed: steps down".to_string());
            self.role = Role::Follower;
            self.leader_id = None;
            self.record_role(ctx);
            self.reset_election_timer(ctx);
        }
        if ctx.member_state(me) == crate::node::MemberState::Leaving {
            ctx.depart();
        }
    }

    /// A client request: the leader appends it to its log; others redirect the client.
    pub fn on_client_request<N: RaftHost>(
        &mut self,
        ctx: &mut Context<'_, N>,
        client: NodeId,
        req: KvRequest,
    ) {
        // The network may deliver a request twice, and late. `NotLeader` promises the client
        // that the request will not be applied, so a copy of an accepted request must not be
        // answered `NotLeader` (even after stepping down: the client may get that answer before
        // the real one), and a copy of a rejected request must not be appended (even after
        // becoming leader). A copy of an accepted one needs no second entry either.
        if !self.seen.insert((client, req.id)) {
            return;
        }
        if self.role != Role::Leader {
            let leader = self.leader_id.filter(|l| *l != ctx.id());
            let result = KvResult::NotLeader { leader };
            ctx.send(client, RaftMsg::Rep(KvReply { id: req.id, result }).into());
            return;
        }
        if let (true, KvOp::Get { key }) = (self.params.local_reads, req.op) {
            // The planted bug: no round trip proves this server is still the leader.
            let value = self.state_machine.data().get(&key).copied();
            let result = KvResult::Done(value);
            ctx.send(client, RaftMsg::Rep(KvReply { id: req.id, result }).into());
            return;
        }
        let index = self.log.append(
            ctx.storage(),
            LogEntry {
                term: self.current_term,
                command: Command::Kv {
                    client,
                    request: req.id,
                    op: req.op,
                },
            },
        );
        if !self.sync_log(ctx) {
            return;
        }
        self.pending.insert(index, (client, req.id));
        self.advance_commit_index(ctx);
        self.broadcast_append_entries(ctx, false);
    }

    /// The applied key-value map, for the `Converged` check.
    pub fn snapshot(&self) -> Snapshot {
        crate::protocols::kv::snapshot(self.state_machine.data())
    }
}
