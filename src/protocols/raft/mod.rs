//! Raft consensus (Ongaro and Ousterhout, 2014) with a replicated key-value store on top.
//!
//! `node` is the server of Figure 2, `log` its log, `state_machine` the key-value map the
//! committed log drives. Clients are the shared [`KvClient`] with the `Leader` policy: they stick
//! to the server they believe leads and follow `NotLeader` hints.
//!
//! Two planted bugs, off by default, each a one-line departure from the paper:
//! - `persist_voted_for: false` forgets `voted_for` across a crash, so a restarted server can
//!   vote twice in one term and two leaders can be elected (`ElectionSafety` fails).
//! - `commit_old_terms_by_counting: true` commits entries of earlier terms once a majority holds
//!   them (the paper's Figure 8), so a committed entry can be overwritten
//!   (`Linearizable` or `Durable` fails).
//! - `local_reads: true` lets a leader answer reads from its own state without a log round, so
//!   a leader cut off and already replaced serves stale values (`StaleReads` fails).
//!
//! The disk can fail too (issue 39): by default a server checksums what it stores, keeps a
//! record it cannot trust as a faulty slot the leader repairs, retries a failed sync after
//! writing everything again, and reads back only a log whose entries follow one another.
//! `checksums: false`, `corrupt_ends_log`, `ignore_sync_failure` and `trust_torn_log` each
//! plant the mistake real systems made (`scenarios/zoo/raft-*disk*`).

pub mod log;
pub mod node;
pub mod state_machine;

use self::log::LogEntry;
use self::node::{
    AppendEntries, AppendEntriesReply, FetchEntry, FetchEntryReply, InstallSnapshot,
    InstallSnapshotReply, ReadIndex, ReadIndexReply, RequestVote, RequestVoteReply, Server,
};
use super::kv::client::{ClientConfig, ClientTimer, KvClient, KvReply, KvRequest, Target};
use crate::node::{Context, Node, NodeFactory, NodeId, RosterChange, Snapshot};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Parameters of Raft.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftParams {
    /// Shortest election timeout; each timeout is drawn uniformly from min..=max.
    pub election_timeout_min: Duration,
    /// Longest election timeout.
    pub election_timeout_max: Duration,
    /// Time between a leader's heartbeats (and a candidate's repeated vote requests).
    pub heartbeat: Duration,
    /// Most entries in one AppendEntries.
    pub max_batch: u32,
    /// A new leader appends a no-op entry of its term (section 8), so entries of earlier terms
    /// commit without waiting for a client write.
    pub leader_noop: bool,
    /// When clients read every key once (for `Durable`); `None`: no final reads.
    pub final_reads: Option<Duration>,
    /// Persist `voted_for` with `current_term`; `false` plants the forgotten-vote bug.
    pub persist_voted_for: bool,
    /// Commit entries of earlier terms by counting replicas; `true` plants the Figure 8 bug.
    pub commit_old_terms_by_counting: bool,
    /// A leader answers reads from its own state machine, without a log round or a lease;
    /// `true` plants the stale-read bug of a deposed leader that does not know it yet (etcd's
    /// reads before quorum reads, found by Jepsen in 2014).
    pub local_reads: bool,
    /// Sync the log to disk before acknowledging or counting an entry; `false` plants the
    /// unsynced-log bug (acknowledged entries live only in the page cache, as in the fsync
    /// studies of Pillai et al., OSDI 2014): a majority crashing at once loses committed writes.
    pub sync_log: bool,
    /// Grant a vote only to a candidate whose log is at least as up-to-date (section 5.4.1);
    /// `false` plants the missing election restriction: a leader without committed entries
    /// overwrites them.
    pub election_restriction: bool,
    /// Write the log, `current_term` and `voted_for` with checksums and read them back with
    /// them; `false` plants the disk-trusting server: a corrupt record reads as another value
    /// and is applied (Ganesan et al., FAST 2017).
    pub checksums: bool,
    /// Take a record that fails its checksum as the end of the log (and a corrupt term or vote
    /// as none); `true` plants the recovery of LogCabin and ZooKeeper that FAST 2018 showed
    /// losing committed entries. The protected server keeps a faulty slot for the leader to
    /// repair, and a server that lost its vote never votes again.
    pub corrupt_ends_log: bool,
    /// Carry on after a failed sync as if it had worked; `true` plants fsyncgate (PostgreSQL,
    /// 2018). The protected server writes everything again and retries, and stops serving if
    /// its disk still will not sync.
    pub ignore_sync_failure: bool,
    /// Read back every stored entry in key order, gaps closed up and unchecked; `true` plants
    /// trusting the leftovers of a power loss (ALICE, OSDI 2014). The protected server stops
    /// at a gap or at an entry not written after the one before it.
    pub trust_torn_log: bool,
    /// Propose a configuration change before committing an entry of the leader's own term;
    /// `true` plants the single-server membership change bug found in 2015 (Ongaro, raft-dev):
    /// a change left uncommitted by an earlier leader and a new leader's change overlap in no
    /// majority, and two leaders are elected in one term.
    pub change_config_before_own_commit: bool,
}

impl Default for RaftParams {
    fn default() -> Self {
        RaftParams {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat: Duration::from_millis(50),
            max_batch: 64,
            leader_noop: true,
            final_reads: None,
            persist_voted_for: true,
            commit_old_terms_by_counting: false,
            local_reads: false,
            sync_log: true,
            election_restriction: true,
            checksums: true,
            corrupt_ends_log: false,
            ignore_sync_failure: false,
            trust_torn_log: false,
            change_config_before_own_commit: false,
        }
    }
}

/// What a server keeps in durable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stored {
    /// `current_term`.
    CurrentTerm(u64),
    /// `voted_for`.
    VotedFor(Option<NodeId>),
    /// One log entry, the term of the entry before it, and its index (the key holds it too: a
    /// record found under another key's name was misdirected there).
    Entry(LogEntry, u64, u64),
    /// `current_term` and `voted_for` together, as a checksumming server keeps them (twice).
    Meta(u64, Option<NodeId>),
    /// The index and term of the last log entry the server synced (twice): a log read back
    /// shorter lost entries the server may have acknowledged (a lost write).
    Acked(u64, u64),
    /// The server lost its `current_term` and `voted_for` and never votes again.
    Abstain,
    /// A word a protocol built on Raft keeps beside Raft's records (the sharded store's group
    /// servers keep their shards so).
    Word(u64),
    /// The index and term of the last entry a compacted log discarded (its snapshot's last
    /// included entry; the Raft lab's level 11).
    Base(u64, u64),
}

/// Messages of Raft: the two RPCs, their replies, and client traffic.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RaftMsg {
    /// Candidate -> server.
    RequestVote(RequestVote),
    /// Server -> candidate.
    RequestVoteReply(RequestVoteReply),
    /// Leader -> follower.
    AppendEntries(AppendEntries),
    /// Follower -> leader.
    AppendEntriesReply(AppendEntriesReply),
    /// Client -> server.
    Req(KvRequest),
    /// Server -> client.
    Rep(KvReply),
    /// Leader -> server: the entry the leader's disk lost (issue 39).
    FetchEntry(FetchEntry),
    /// Server -> leader: the entry, if it holds it.
    FetchEntryReply(FetchEntryReply),
    /// Leader -> follower: a round confirming leadership for reads (the Raft lab's level 10).
    ReadIndex(ReadIndex),
    /// Follower -> leader.
    ReadIndexReply(ReadIndexReply),
    // Appended after `ReadIndexReply`: a message's hash covers its variant's index.
    /// Leader -> follower: a snapshot that replaces the log the follower lacks (the Raft lab's
    /// level 11).
    InstallSnapshot(InstallSnapshot),
    /// Follower -> leader.
    InstallSnapshotReply(InstallSnapshotReply),
}

/// Compact, so a timeline row shows the whole message: `12@t1` is index 12, of term 1.
impl fmt::Debug for RaftMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftMsg::RequestVote(rv) => write!(
                f,
                "RequestVote(term {}, last {}@t{})",
                rv.term, rv.last_log_index, rv.last_log_term
            ),
            RaftMsg::RequestVoteReply(r) => write!(
                f,
                "RequestVoteReply(term {}, {})",
                r.term,
                if r.vote_granted { "granted" } else { "refused" }
            ),
            RaftMsg::AppendEntries(ae) => write!(
                f,
                "AppendEntries(term {}, prev {}@t{}, +{}, commit {})",
                ae.term,
                ae.prev_log_index,
                ae.prev_log_term,
                ae.entries.len(),
                ae.leader_commit
            ),
            RaftMsg::AppendEntriesReply(r) if r.success => write!(
                f,
                "AppendEntriesReply(term {}, match {})",
                r.term, r.match_index
            ),
            RaftMsg::AppendEntriesReply(r) => write!(
                f,
                "AppendEntriesReply(term {}, retry from {})",
                r.term, r.conflict_index
            ),
            RaftMsg::Req(r) => write!(f, "{:?} #{}", r.op, r.id),
            RaftMsg::Rep(r) => write!(f, "{:?} #{}", r.result, r.id),
            RaftMsg::FetchEntry(x) => write!(
                f,
                "FetchEntry(term {}, {} under {}@t{})",
                x.term, x.index, x.anchor_index, x.anchor_term
            ),
            RaftMsg::FetchEntryReply(r) => write!(
                f,
                "FetchEntryReply(term {}, {}: {})",
                r.term,
                r.index,
                match (r.entry.is_some(), r.never_held) {
                    (true, _) => "found",
                    (false, true) => "never held",
                    (false, false) => "not held",
                }
            ),
            RaftMsg::ReadIndex(x) => write!(f, "ReadIndex(term {}, round {})", x.term, x.round),
            RaftMsg::ReadIndexReply(r) => {
                write!(f, "ReadIndexReply(term {}, round {})", r.term, r.round)
            }
            RaftMsg::InstallSnapshot(x) => write!(
                f,
                "InstallSnapshot(term {}, last {}@t{}, {} words)",
                x.term,
                x.last_included_index,
                x.last_included_term,
                x.data.len()
            ),
            RaftMsg::InstallSnapshotReply(r) => write!(
                f,
                "InstallSnapshotReply(term {}, last {})",
                r.term, r.last_included_index
            ),
        }
    }
}

impl From<KvRequest> for RaftMsg {
    fn from(r: KvRequest) -> Self {
        RaftMsg::Req(r)
    }
}

/// A node type that can run a Raft [`Server`]: it keeps Raft's records on its disk and carries
/// Raft's messages and timers, so a protocol built on Raft (the sharded store's configuration
/// service) runs the same server code inside a node type of its own.
pub trait RaftHost: Node<Stored = Stored, Msg: From<RaftMsg>, Timer: From<RaftTimer>> {}

impl<N: Node<Stored = Stored, Msg: From<RaftMsg>, Timer: From<RaftTimer>>> RaftHost for N {}

/// Timers of Raft.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftTimer {
    /// Check whether the election timeout elapsed.
    Election,
    /// Send heartbeats (leader) or repeat vote requests (candidate) in this term.
    Heartbeat(u64),
    /// A client timer.
    Client(ClientTimer),
}

impl From<ClientTimer> for RaftTimer {
    fn from(t: ClientTimer) -> Self {
        RaftTimer::Client(t)
    }
}

/// A Raft node: a server or a client.
#[derive(Clone, Debug, Hash)]
pub enum RaftNode {
    /// A Raft server.
    Server(Box<Server>),
    /// A workload client.
    Client(Box<KvClient>),
}

impl Node for RaftNode {
    type Msg = RaftMsg;
    type Timer = RaftTimer;
    type Stored = Stored;

    fn heap_bytes(&self) -> u64 {
        match self {
            RaftNode::Server(s) => s.heap_bytes(),
            RaftNode::Client(_) => 0,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            RaftNode::Server(s) => s.describe(),
            RaftNode::Client(c) => format!("{c:#?}"),
        })
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        Some(match self {
            RaftNode::Server(s) => s.describe_tree(),
            RaftNode::Client(c) => c.describe_tree(),
        })
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            RaftNode::Server(s) => s.on_start(ctx),
            RaftNode::Client(c) => {
                if ctx.membership_changes() {
                    c.follow(ctx.members("server"));
                }
                c.on_start(ctx)
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RaftMsg) {
        let RaftNode::Server(s) = self else {
            if let (RaftNode::Client(c), RaftMsg::Rep(reply)) = (self, msg) {
                c.on_reply(ctx, from, reply);
            }
            return;
        };
        s.on_raft_message(ctx, from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: RaftTimer) {
        match (self, timer) {
            (RaftNode::Server(s), t) => s.on_raft_timer(ctx, t),
            (RaftNode::Client(c), RaftTimer::Client(t)) => c.on_timer(ctx, t),
            _ => {}
        }
    }

    fn on_roster_change(&mut self, ctx: &mut Context<'_, Self>, change: RosterChange) {
        // Servers follow the membership from their log (the leader reconciles it at its
        // heartbeats); clients send to the servers that are members now.
        match self {
            RaftNode::Server(s) => s.on_roster_change(change),
            RaftNode::Client(c) => c.follow(ctx.members("server")),
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            // A server that stopped serving (its disk would not sync) is as good as down.
            RaftNode::Server(s) if s.wedged() => None,
            RaftNode::Server(s) => Some(s.snapshot()),
            RaftNode::Client(_) => None,
        }
    }
}

impl RaftParams {
    /// Checks the timing parameters: timeouts, heartbeat and batch size.
    pub fn validate_timing(&self) -> Result<(), String> {
        if self.election_timeout_min == Duration::ZERO {
            return Err("Raft election_timeout_min must be greater than zero".into());
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err(format!(
                "Raft election_timeout_max ({}) must be at least election_timeout_min ({})",
                self.election_timeout_max, self.election_timeout_min
            ));
        }
        if self.heartbeat == Duration::ZERO || self.heartbeat >= self.election_timeout_min {
            return Err(format!(
                "Raft heartbeat must be greater than zero and shorter than election_timeout_min ({}), got {}",
                self.election_timeout_min, self.heartbeat
            ));
        }
        if self.max_batch == 0 {
            return Err("Raft max_batch must be at least 1".into());
        }
        Ok(())
    }
}

impl Protocol for RaftParams {
    type Node = RaftNode;

    const NAME: &'static str = "Raft";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "server")?;
        require_role(plan, Self::NAME, "client")?;
        only_roles(plan, Self::NAME, &["server", "client"])?;
        self.validate_timing()?;
        let servers = plan.roster.with_role("server").len();
        if servers > 64 && plan.membership_changes() {
            return Err(format!(
                "Raft changes its membership among at most 64 servers (spares included), got \
                 {servers}"
            ));
        }
        Ok(())
    }

    fn open_loop(&self) -> bool {
        true
    }

    /// A leader is elected within a few election timeouts of the last fault (split votes
    /// draw again), and a client's call that was cut off is retried once its timeout runs
    /// out: four of the longest election timeouts and a client timeout.
    fn recovery(&self, plan: &Plan) -> Option<Duration> {
        let election = self.election_timeout_max.0.saturating_mul(4);
        Some(Duration(election.saturating_add(plan.workload().timeout.0)))
    }

    fn checks(&self) -> &'static [&'static str] {
        &[
            "Linearizable",
            "Durable",
            "Converged",
            "StaleReads",
            "ElectionSafety",
        ]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<RaftNode> {
        let params = self.clone();
        let servers = plan.roster.members("server");
        let all_servers = plan.roster.with_role("server");
        let clients = plan.roster.members("client");
        let nodes = plan.roster.len();
        let config = ClientConfig::from_plan(plan, clients.len(), self.final_reads);
        Box::new(move |id, roster, storage| {
            if roster.role(id) == "client" {
                return RaftNode::Client(Box::new(KvClient::new(
                    config.clone(),
                    servers.clone(),
                    Target::Leader,
                )));
            }
            RaftNode::Server(Box::new(Server::recover(
                params.clone(),
                servers.clone(),
                all_servers.clone(),
                nodes,
                storage,
            )))
        })
    }
}
