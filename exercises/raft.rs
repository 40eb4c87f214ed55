//! Lab `raft`: Raft in four parts and a part 2, on the same simulator, checkers and search as
//! everything else.
//!
//! You write the handlers of a Raft server (Figure 2 of Ongaro and Ousterhout's paper, which you
//! should have open beside this file). Everything else is given: the messages
//! (`clustersim::protocols::raft::node::{RequestVote, AppendEntries, ...}`), the log with its
//! storage (`Log`), the clients, the timers, and the helpers in `exercises/raft_node.rs`
//! (`majority`, `peers`, `reset_election_timer`, `save_term_and_vote`, `sync_log`, `send`,
//! `apply_committed`, `reply`, and for level 11 `save_snapshot` and `Snapshot`). The server records its role and term in the history by itself
//! after each handler, for the checkers; you never have to.
//!
//! The levels (`clustersim-exercises check-exercise raft --level N`; budget about two days):
//!
//! 1. **Leader election** (`scenarios/exercises/raft-1-election.ron`): the leader crashes
//!    twice; within 1 s of virtual time after the start and after each crash a new leader is
//!    elected, at most one per term, and the idle cluster sends at most 200 messages a second.
//!    Write `on_election_timeout`, `on_tick`, `on_request_vote`, `on_request_vote_reply`, and
//!    enough of `on_append_entries` to accept heartbeats.
//! 2. **Log replication** (`raft-2-replication.ron`): clients write and read through the
//!    leader while partitions isolate the leader and a minority; every history is
//!    linearizable, with at most 25 messages per client operation. Write `on_client_request`,
//!    all of `on_append_entries` and `on_append_entries_reply`, and the commit rule.
//! 3. **Persistence** (`raft-3-persistence.ron`): every server crashes and restarts in turn;
//!    no acknowledged write is lost and no server votes twice in a term. Save `current_term`
//!    and `voted_for` (`save_term_and_vote`) and sync new log entries (`sync_log`) before you
//!    answer anyone.
//! 4. **A key-value service with client retries** (`raft-4-kv.ron`): on a lossy, duplicating
//!    network clients send a request again when it times out, so the same write can reach the
//!    log twice; `apply` must apply each write once (every write carries a value no other
//!    write has, and every retry the operation's sequence number: either names it).
//! 5. **Crashes at any moment** (`raft-5-crashes.ron`): servers go down for a few
//!    milliseconds at any moment; whatever you answer before you sync is caught here.
//! 6. **Votes that survive a restart** (`raft-6-votes.ron`): five servers often stand in the
//!    same term while voters restart between their requests.
//! 7. **Leaders isolated in turn** (`raft-7-figure8.ron`): the paper's Figure 8, over a
//!    thousand seeds.
//! 8. **Every path of a small election** (`raft-8-search.ron`): instead of seeds, the grader
//!    searches every order of simultaneous events, with a crash and restart of any server at
//!    any step, on three servers for 500 ms, and judges `ElectionSafety` on each path.
//!
//! Part 2 (6.5840's key-value service):
//!
//! 9. **Client sessions** (`raft-9-sessions.ron`): clients resend a timed-out operation up to
//!    six times, every attempt with the operation's sequence number
//!    (`s.sequence_number(req.id)`), and write values that come back. Keep a session per client
//!    in `s.sessions` (its latest applied sequence number and result) *in `apply`*, so every
//!    server has it and a restart rebuilds it from the log; apply an operation whose sequence
//!    number is not newer than its client's session never again; answer a retry of an applied
//!    operation with the kept result (from any server: it is committed), never `NotLeader` and
//!    never silence.
//! 10. **Reads without the log** (`raft-10-reads.ron`): answer a `Get` without appending it
//!     (ReadIndex, section 6.4 of Ongaro's dissertation): the leader notes its `commit_index`
//!     as the read's index (once it has committed an entry of its own term: until then its
//!     `commit_index` may be behind), confirms it still leads with a round of `ReadIndex`
//!     that a majority acknowledges, waits until `last_applied` reaches the read index, and
//!     answers from `kv`. Use `s.reads`, `s.read_round`, `s.read_acks`, `s.confirmed_round`;
//!     write `on_read_index` and `on_read_index_reply`. A read in the log fails the level.
//! 11. **Snapshots and InstallSnapshot** (`raft-11-snapshots.ron`, 6.5840's 3D): once the log
//!     holds `snapshot_threshold` applied entries the scaffolding calls your `snapshot`: save
//!     a `Snapshot` of `kv` and `sessions` at `last_applied` (`s.save_snapshot`), discard the
//!     log up to there (`s.log.compact`) and sync both together; a restart starts from it. The
//!     log keeps its indices after a base (`s.log.base_index()`, `base_term()`): entries at or
//!     below it are gone (`term_at` says `None` below it). A leader whose `next_index` for a
//!     follower is at or below its base sends `InstallSnapshot` (`s.snapshot`) instead of
//!     AppendEntries; write `on_install_snapshot` and `on_install_snapshot_reply`. Crashes and
//!     partitions leave followers far behind; a server whose log grows past the level's bound
//!     fails it (`LogBounded`).
//! 12. **A message and latency budget** (`raft-12-performance.ron`): no faults, a steady
//!     network; at most 14 messages per completed operation, a median latency within 16 ms and
//!     a 99th percentile within 30 ms. A write needs 10 messages and four one-way delays: send
//!     a new entry to the followers at once (not on the next heartbeat), commit as soon as a
//!     reply makes a majority, and send AppendEntries again only when a follower lacks entries.
//!
//! Levels 1-7 and 9-12 run their scenario's seed and then seeds drawn from a hash of this
//! file: every edit is graded on new seeds (the report prints `--draw N` to grade the same ones
//! again).
//!
//! Hints: reply to every RPC with your `current_term`; a higher term in any message makes you a
//! follower of that term; grant a vote only to a log at least as up to date as yours; a leader
//! counts replicas only for entries of its own term (chapter 5's Figure 8).

// What the handlers work with; the starter's todo!()s use few of them yet.
#[allow(unused_imports)]
use crate::raft_node::{Ctx, RaftServer, Role, Snapshot};
use clustersim::node::NodeId;
use clustersim::protocols::kv::client::{KvOp, KvRequest, KvResult};
#[allow(unused_imports)]
use clustersim::protocols::raft::log::{Command, LogEntry};
use clustersim::protocols::raft::node::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, InstallSnapshotReply, ReadIndex,
    ReadIndexReply, RequestVote, RequestVoteReply,
};
#[allow(unused_imports)]
use clustersim::protocols::raft::RaftMsg;

// ANCHOR: student
/// Your election timeout elapsed without a leader's heartbeat or a vote granted (the server is
/// not the leader): become a candidate of the next term, vote for yourself, and ask the others.
#[allow(unused_variables)]
pub fn on_election_timeout(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    todo!("start an election (Figure 2, Rules for Servers: Followers and Candidates)")
}

/// Called every heartbeat interval while you are a leader or a candidate: a leader sends
/// AppendEntries to every follower (new entries, or none as a heartbeat); a candidate asks the
/// servers that have not voted for it again (requests get lost).
#[allow(unused_variables)]
pub fn on_tick(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    todo!("heartbeats and repeated vote requests")
}

/// A candidate asks for your vote.
#[allow(unused_variables)]
pub fn on_request_vote(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
    todo!("RequestVote RPC, receiver implementation")
}

/// A server answered your vote request.
#[allow(unused_variables)]
pub fn on_request_vote_reply(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    reply: RequestVoteReply,
) {
    todo!("count the vote; with a majority, become leader (a helper of your own in this file)")
}

/// A leader sends entries (or a heartbeat).
#[allow(unused_variables)]
pub fn on_append_entries(s: &mut RaftServer, ctx: &mut Ctx<'_>, ae: AppendEntries) {
    todo!("AppendEntries RPC, receiver implementation")
}

/// A follower answered your AppendEntries.
#[allow(unused_variables)]
pub fn on_append_entries_reply(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    reply: AppendEntriesReply,
) {
    todo!("update next_index / match_index, advance commit_index, apply")
}

/// A client's request: a leader appends it to its log and answers once it is applied
/// (`s.pending` remembers whom to answer); anyone else answers `KvResult::NotLeader`. A retry
/// of an operation already applied (level 9) is answered from its client's session.
#[allow(unused_variables)]
pub fn on_client_request(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    todo!("append to the log, or redirect (or answer a retry from the session table)")
}

/// A leader asks whether you still take it for the leader (level 10): treat it as a heartbeat
/// of its term (or refuse an older term) and answer with your `current_term` and its `round`.
#[allow(unused_variables)]
pub fn on_read_index(s: &mut RaftServer, ctx: &mut Ctx<'_>, ri: ReadIndex) {
    todo!("ReadIndex: a heartbeat that carries a round; answer it")
}

/// A server answered your `ReadIndex` (level 10): count it for its round; once a majority has
/// acknowledged a round, answer the reads that waited for it whose read index is applied.
#[allow(unused_variables)]
pub fn on_read_index_reply(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    reply: ReadIndexReply,
) {
    todo!("count the acknowledgement; answer the reads it confirms")
}

/// Level 11: the log holds `s.snapshot_threshold` applied entries past its base (the
/// scaffolding calls this from `apply_committed`): take a `Snapshot` of the state machine at
/// `last_applied` (its `kv` and its `sessions`: both are replicated state), save it with
/// `s.save_snapshot`, discard the log through `last_applied` (`s.log.compact`; never past what
/// was applied) and sync once, so a crash keeps both or neither.
#[allow(unused_variables)]
pub fn snapshot(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    todo!("snapshot kv and sessions at last_applied, compact the log, save and sync both")
}

/// A leader sends you its snapshot because the entries you lack were compacted (level 11):
/// refuse an older term as AppendEntries does; ignore a snapshot that is not ahead of what you
/// have committed (a late copy must never roll your state back); else keep the log after it if
/// your entry at its last included index has its term (`s.log.compact`), discard the whole log
/// if not (`s.log.restart_at`), take its `kv` and `sessions` (`Snapshot::decode`), move
/// `commit_index` and `last_applied` to it, save it and sync. Answer with your `current_term`.
#[allow(unused_variables)]
pub fn on_install_snapshot(s: &mut RaftServer, ctx: &mut Ctx<'_>, is: InstallSnapshot) {
    todo!("InstallSnapshot RPC, receiver implementation (Figure 13)")
}

/// A follower answered your `InstallSnapshot` (level 11): it now holds every entry up to the
/// snapshot's last included index; move `match_index` and `next_index` (only forwards), commit,
/// and send what it still lacks.
#[allow(unused_variables)]
pub fn on_install_snapshot_reply(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    reply: InstallSnapshotReply,
) {
    todo!("update next_index / match_index from the snapshot the follower installed")
}

/// Applies one committed operation of `client` (its sequence number `seq`: the same for every
/// retry of one operation) to the key-value map and returns what its client is told. This
/// version applies a write every time it appears in the log; with client retries (levels 4 and
/// 9) the same write can appear twice.
#[allow(unused_variables)]
pub fn apply(s: &mut RaftServer, client: NodeId, seq: u64, op: KvOp) -> KvResult {
    match op {
        KvOp::Get { key } => KvResult::Done(s.kv.get(&key).copied()),
        KvOp::Put { key, value } => {
            s.kv.insert(key, value);
            KvResult::Done(None)
        }
        KvOp::Cas { key, from, to } => {
            if s.kv.get(&key).copied() != from {
                return KvResult::CasMismatch;
            }
            s.kv.insert(key, to);
            KvResult::Done(None)
        }
    }
}
// ANCHOR_END: student

/// The student's pieces of this lab as a table a run calls (another `Code` swaps them).
#[derive(Debug, Hash)]
pub struct Functions {
    /// See [`on_election_timeout`].
    pub on_election_timeout: fn(&mut RaftServer, &mut Ctx<'_>),
    /// See [`on_tick`].
    pub on_tick: fn(&mut RaftServer, &mut Ctx<'_>),
    /// See [`on_request_vote`].
    pub on_request_vote: fn(&mut RaftServer, &mut Ctx<'_>, RequestVote),
    /// See [`on_request_vote_reply`].
    pub on_request_vote_reply: fn(&mut RaftServer, &mut Ctx<'_>, NodeId, RequestVoteReply),
    /// See [`on_append_entries`].
    pub on_append_entries: fn(&mut RaftServer, &mut Ctx<'_>, AppendEntries),
    /// See [`on_append_entries_reply`].
    pub on_append_entries_reply: fn(&mut RaftServer, &mut Ctx<'_>, NodeId, AppendEntriesReply),
    /// See [`on_client_request`].
    pub on_client_request: fn(&mut RaftServer, &mut Ctx<'_>, NodeId, KvRequest),
    /// See [`apply`].
    pub apply: fn(&mut RaftServer, NodeId, u64, KvOp) -> KvResult,
    /// See [`on_read_index`].
    pub on_read_index: fn(&mut RaftServer, &mut Ctx<'_>, ReadIndex),
    /// See [`on_read_index_reply`].
    pub on_read_index_reply: fn(&mut RaftServer, &mut Ctx<'_>, NodeId, ReadIndexReply),
    /// See [`snapshot`].
    pub snapshot: fn(&mut RaftServer, &mut Ctx<'_>),
    /// See [`on_install_snapshot`].
    pub on_install_snapshot: fn(&mut RaftServer, &mut Ctx<'_>, InstallSnapshot),
    /// See [`on_install_snapshot_reply`].
    pub on_install_snapshot_reply: fn(&mut RaftServer, &mut Ctx<'_>, NodeId, InstallSnapshotReply),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    on_election_timeout,
    on_tick,
    on_request_vote,
    on_request_vote_reply,
    on_append_entries,
    on_append_entries_reply,
    on_client_request,
    apply,
    on_read_index,
    on_read_index_reply,
    snapshot,
    on_install_snapshot,
    on_install_snapshot_reply,
};
