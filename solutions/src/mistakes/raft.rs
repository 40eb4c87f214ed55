//! Wrong Raft servers: the reference with one mistake each, a mistake students make.
//!
//! Each is a table of the lab's functions in which one or two handlers wrap the reference's
//! (or the starter's) with the mistake; the corpus in `mistakes/mod.rs` names the level and the
//! check that must catch it.

use clustersim::node::NodeId;
use clustersim::protocols::kv::client::{KvOp, KvRequest, KvResult};
use clustersim::protocols::raft::log::{Command, LogEntry};
use clustersim::protocols::raft::node::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, InstallSnapshotReply, ReadIndexReply,
    RequestVote, RequestVoteReply, VOTED_FOR,
};
use clustersim::protocols::raft::{RaftMsg, Stored};
use clustersim_exercises::raft::Functions;
use clustersim_exercises::raft_node::{Ctx, PendingRead, RaftServer, Role, Session, Snapshot};

use crate::raft as reference;

const RIGHT: Functions = reference::FUNCTIONS;

/// Applies a write every time it is in the log (the starter's `apply`).
pub const APPLIES_TWICE: Functions = Functions {
    apply: clustersim_exercises::raft::apply,
    ..RIGHT
};

fn forgetful_vote(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
    s.voted_for = None;
    reference::on_request_vote(s, ctx, rv);
}

/// Grants a vote to every candidate of the term, not only the first.
pub const VOTES_TWICE: Functions = Functions {
    on_request_vote: forgetful_vote,
    ..RIGHT
};

fn chatty_tick(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    for _ in 0..4 {
        reference::on_tick(s, ctx);
    }
}

/// Sends four heartbeats where one would do.
pub const CHATTY: Functions = Functions {
    on_tick: chatty_tick,
    ..RIGHT
};

fn vote_unsynced(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
    if rv.term > s.current_term {
        s.current_term = rv.term;
        s.voted_for = None;
        s.role = Role::Follower;
    }
    let up_to_date =
        (rv.last_log_term, rv.last_log_index) >= (s.log.last_term(), s.log.last_index());
    let granted =
        rv.term == s.current_term && s.voted_for.is_none_or(|v| v == rv.candidate_id) && up_to_date;
    if granted {
        // The mistake: the vote is not saved before the reply goes out.
        s.voted_for = Some(rv.candidate_id);
        s.reset_election_timer(ctx);
    }
    let reply = RequestVoteReply {
        term: s.current_term,
        vote_granted: granted,
    };
    s.send(ctx, rv.candidate_id, RaftMsg::RequestVoteReply(reply));
}

/// Votes without saving the vote (or a higher term) before the reply goes out.
pub const VOTE_NOT_SAVED_BEFORE_REPLY: Functions = Functions {
    on_request_vote: vote_unsynced,
    ..RIGHT
};

/// Overwrites the saved vote with "nobody" (the term is still saved).
fn unsave_vote(ctx: &mut Ctx<'_>) {
    let st = ctx.storage();
    st.put(VOTED_FOR, Stored::VotedFor(None));
    st.sync();
}

fn vote_term_only(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
    reference::on_request_vote(s, ctx, rv);
    unsave_vote(ctx);
}

fn elect_term_only(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    reference::on_election_timeout(s, ctx);
    unsave_vote(ctx);
}

/// Saves `current_term` but never `voted_for`: after a restart the server votes again in a
/// term it already voted in.
pub const VOTED_FOR_NOT_PERSISTED: Functions = Functions {
    on_request_vote: vote_term_only,
    on_election_timeout: elect_term_only,
    ..RIGHT
};

fn any_log_will_do(s: &mut RaftServer, ctx: &mut Ctx<'_>, mut rv: RequestVote) {
    // The mistake: the candidate's log is taken to be as up to date as anyone's.
    rv.last_log_term = u64::MAX;
    reference::on_request_vote(s, ctx, rv);
}

/// Votes for any candidate of the term, whatever its log (section 5.4.1 left out).
pub const NO_ELECTION_RESTRICTION: Functions = Functions {
    on_request_vote: any_log_will_do,
    ..RIGHT
};

fn longer_log_wins(s: &mut RaftServer, ctx: &mut Ctx<'_>, mut rv: RequestVote) {
    // The mistake: "up to date" judged by length alone, not by the last entry's term first.
    if rv.last_log_index >= s.log.last_index() {
        rv.last_log_term = u64::MAX;
    } else {
        rv.last_log_term = 0;
    }
    reference::on_request_vote(s, ctx, rv);
}

/// Judges "at least as up to date" by the log's length only.
pub const UP_TO_DATE_BY_LENGTH: Functions = Functions {
    on_request_vote: longer_log_wins,
    ..RIGHT
};

fn ignores_leader(_s: &mut RaftServer, _ctx: &mut Ctx<'_>, _from: NodeId, _r: AppendEntriesReply) {}

/// Never learns what followers stored, so it never commits.
pub const NEVER_COMMITS: Functions = Functions {
    on_append_entries_reply: ignores_leader,
    ..RIGHT
};

/// Commits the highest index a majority stores, whatever the term of its entry.
fn commit_by_counting(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    if s.role != Role::Leader {
        return;
    }
    let mut matched: Vec<u64> = s
        .servers
        .iter()
        .map(|p| {
            if *p == s.me {
                s.log.last_index()
            } else {
                s.match_index[p.index()]
            }
        })
        .collect();
    matched.sort_unstable_by(|a, b| b.cmp(a));
    let n = matched[s.majority() - 1];
    if n > s.commit_index {
        s.commit_index = n;
        s.apply_committed(ctx);
    }
}

fn counting_reply(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, r: AppendEntriesReply) {
    reference::on_append_entries_reply(s, ctx, from, r);
    commit_by_counting(s, ctx);
}

/// Commits an entry of an earlier term by counting its replicas (Figure 8).
pub const COMMITS_OLD_TERMS_BY_COUNTING: Functions = Functions {
    on_append_entries_reply: counting_reply,
    ..RIGHT
};

fn count_any_vote(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, mut r: RequestVoteReply) {
    // The mistake: a vote granted in an earlier term is counted for this one.
    if r.term < s.current_term {
        r.term = s.current_term;
    }
    reference::on_request_vote_reply(s, ctx, from, r);
}

/// Counts votes granted for an earlier term's election.
pub const COUNTS_STALE_VOTES: Functions = Functions {
    on_request_vote_reply: count_any_vote,
    ..RIGHT
};

fn elect_with_half(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, r: RequestVoteReply) {
    let granted = r.vote_granted;
    reference::on_request_vote_reply(s, ctx, from, r);
    // The mistake: half the servers are taken for a majority.
    if s.role == Role::Candidate && granted && s.votes.len() >= s.servers.len() / 2 {
        reference::become_leader(s, ctx);
    }
}

/// Takes half of the servers for a majority of votes.
pub const MAJORITY_OFF_BY_ONE: Functions = Functions {
    on_request_vote_reply: elect_with_half,
    ..RIGHT
};

fn truncate_then_append(s: &mut RaftServer, ctx: &mut Ctx<'_>, ae: AppendEntries) {
    // The mistake: everything after prev_log_index is deleted, not only what conflicts, so a
    // late or duplicated AppendEntries removes entries this server already acknowledged.
    if ae.term >= s.current_term && s.log.term_at(ae.prev_log_index) == Some(ae.prev_log_term) {
        s.log.truncate_from(ctx.storage(), ae.prev_log_index + 1);
    }
    reference::on_append_entries(s, ctx, ae);
}

/// Truncates the log after `prev_log_index` on every AppendEntries.
pub const TRUNCATES_ON_EVERY_APPEND: Functions = Functions {
    on_append_entries: truncate_then_append,
    ..RIGHT
};

fn commit_own_last(s: &mut RaftServer, ctx: &mut Ctx<'_>, ae: AppendEntries) {
    let (term, commit) = (ae.term, ae.leader_commit);
    let matched = s.log.term_at(ae.prev_log_index) == Some(ae.prev_log_term);
    reference::on_append_entries(s, ctx, ae);
    // The mistake: the follower commits up to its own last index, not the last new entry, so
    // entries of an old leader that this AppendEntries did not check get applied.
    if matched && term == s.current_term && commit > s.commit_index {
        s.commit_index = commit.min(s.log.last_index());
        s.apply_committed(ctx);
    }
}

/// A follower commits up to `min(leader_commit, its own last index)`.
pub const COMMITS_TO_OWN_LAST_INDEX: Functions = Functions {
    on_append_entries: commit_own_last,
    ..RIGHT
};

fn obey_stale_leader(s: &mut RaftServer, ctx: &mut Ctx<'_>, mut ae: AppendEntries) {
    // The mistake: an AppendEntries of an older term is not refused.
    if ae.term < s.current_term {
        ae.term = s.current_term;
    }
    reference::on_append_entries(s, ctx, ae);
}

/// Accepts AppendEntries from a leader of an older term.
pub const ACCEPTS_STALE_LEADERS: Functions = Functions {
    on_append_entries: obey_stale_leader,
    ..RIGHT
};

fn append_unsynced(s: &mut RaftServer, ctx: &mut Ctx<'_>, ae: AppendEntries) {
    let leader = ae.leader_id;
    if ae.term < s.current_term || s.log.term_at(ae.prev_log_index) != Some(ae.prev_log_term) {
        reference::on_append_entries(s, ctx, ae);
        return;
    }
    if ae.term > s.current_term || s.role != Role::Follower {
        reference::become_follower(s, ctx, ae.term);
    }
    s.leader_id = Some(leader);
    s.reset_election_timer(ctx);
    // The mistake: the new entries are written but not synced before the reply.
    s.log.merge(ctx.storage(), ae.prev_log_index, &ae.entries);
    let last_new = ae.prev_log_index + ae.entries.len() as u64;
    if ae.leader_commit > s.commit_index {
        s.commit_index = s.commit_index.max(ae.leader_commit.min(last_new));
        s.apply_committed(ctx);
    }
    reference::reply_append(s, ctx, leader, true, last_new, 0);
}

/// A follower acknowledges entries it has not synced.
pub const FOLLOWER_ACKS_UNSYNCED: Functions = Functions {
    on_append_entries: append_unsynced,
    ..RIGHT
};

fn lead_unsynced(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    if !s.seen.insert((client, req.id)) {
        return;
    }
    if s.role != Role::Leader {
        let leader = s.leader_id.filter(|l| *l != s.me);
        s.reply(ctx, client, req.id, KvResult::NotLeader { leader });
        return;
    }
    let entry = LogEntry {
        term: s.current_term,
        command: Command::Kv {
            client,
            request: req.id,
            op: req.op,
        },
    };
    // The mistake: the leader counts its own copy without syncing it.
    let index = s.log.append(ctx.storage(), entry);
    s.pending.insert(index, (client, req.id));
    reference::advance_commit_index(s, ctx);
    for peer in s.peers() {
        if s.next_index[peer.index()] == index {
            reference::send_append_entries(s, ctx, peer);
        }
    }
}

/// The leader counts its own new entry as stored without syncing it.
pub const LEADER_SKIPS_OWN_SYNC: Functions = Functions {
    on_client_request: lead_unsynced,
    ..RIGHT
};

fn refuse_copies(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: a second copy of a request already accepted is answered NotLeader, so the
    // client takes a write that will be applied for one that failed.
    if s.seen.contains(&(client, req.id)) {
        s.reply(ctx, client, req.id, KvResult::NotLeader { leader: None });
        return;
    }
    reference::on_client_request(s, ctx, client, req);
}

/// Answers `NotLeader` to a duplicate of a request it already accepted.
pub const NOT_LEADER_TO_DUPLICATES: Functions = Functions {
    on_client_request: refuse_copies,
    ..RIGHT
};

fn answer_on_append(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    let leader = s.role == Role::Leader && !s.seen.contains(&(client, req.id));
    let op = req.op;
    reference::on_client_request(s, ctx, client, req);
    // The mistake: the client is answered when the entry is appended, before it commits.
    let Some((&index, _)) = s.pending.iter().find(|(_, w)| **w == (client, req.id)) else {
        return;
    };
    if leader {
        s.pending.remove(&index);
        let result = match op {
            KvOp::Get { key } => KvResult::Done(s.kv.get(&key).copied()),
            _ => KvResult::Done(None),
        };
        s.reply(ctx, client, req.id, result);
    }
}

/// Answers a client as soon as its entry is in the leader's log, before it commits.
pub const ANSWERS_BEFORE_COMMIT: Functions = Functions {
    on_client_request: answer_on_append,
    ..RIGHT
};

fn local_reads(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: a leader answers reads from its own map, without a round with a majority,
    // so a deposed leader that does not know it yet serves stale values.
    if let KvOp::Get { key } = req.op {
        if s.role == Role::Leader && s.seen.insert((client, req.id)) {
            let value = s.kv.get(&key).copied();
            s.reply(ctx, client, req.id, KvResult::Done(value));
            return;
        }
    }
    reference::on_client_request(s, ctx, client, req);
}

/// A leader answers reads from its own state machine, without the log or a quorum.
pub const READS_WITHOUT_QUORUM: Functions = Functions {
    on_client_request: local_reads,
    ..RIGHT
};

fn reelect_same_term(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    // The mistake: a candidate whose election timed out stands again in the same term, voting
    // for itself although it may have voted for another server of that term.
    if s.voted_for.is_some() && s.role != Role::Leader {
        s.current_term -= 1;
    }
    reference::on_election_timeout(s, ctx);
}

/// Starts a new election in the same term it voted in.
pub const REUSES_TERM_FOR_ELECTION: Functions = Functions {
    on_election_timeout: reelect_same_term,
    ..RIGHT
};

fn never_back_off(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, r: AppendEntriesReply) {
    // The mistake: a refusal is ignored; the leader resends from the same next_index forever.
    if r.success || r.term > s.current_term {
        reference::on_append_entries_reply(s, ctx, from, r);
    }
}

/// Never moves `next_index` back when a follower refuses, so a lagging follower never catches up.
pub const NEVER_BACKS_OFF: Functions = Functions {
    on_append_entries_reply: never_back_off,
    ..RIGHT
};

fn counts_stale_replies(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    mut reply: AppendEntriesReply,
) {
    // The mistake: a reply of an earlier term counts as one of this term.
    if reply.term < s.current_term {
        reply.term = s.current_term;
    }
    reference::on_append_entries_reply(s, ctx, from, reply);
}

/// Counts an AppendEntries reply of an earlier term: a `match_index` from another leadership.
pub const COUNTS_STALE_REPLIES: Functions = Functions {
    on_append_entries_reply: counts_stale_replies,
    ..RIGHT
};

fn lead_keeping_match_index(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    reply: RequestVoteReply,
) {
    let kept = s.match_index.clone();
    let was_leader = s.role == Role::Leader;
    reference::on_request_vote_reply(s, ctx, from, reply);
    if s.role == Role::Leader && !was_leader {
        // The mistake: what followers stored under an earlier leadership is taken as still true.
        s.match_index = kept;
        reference::advance_commit_index(s, ctx);
    }
}

/// Keeps `match_index` from an earlier leadership instead of starting it at 0.
pub const KEEPS_MATCH_INDEX: Functions = Functions {
    on_request_vote_reply: lead_keeping_match_index,
    ..RIGHT
};

/// Level 4's first answer: a write's value names it (every value is new there), so a second copy
/// of a value gets the first one's result and changes nothing.
fn apply_once_per_value(s: &mut RaftServer, client: NodeId, seq: u64, op: KvOp) -> KvResult {
    let (key, value, expect) = match op {
        KvOp::Put { key, value } => (key, value, None),
        KvOp::Cas { key, from, to } => (key, to, Some(from)),
        KvOp::Get { .. } => return clustersim_exercises::raft::apply(s, client, seq, op),
    };
    // The mistake: a write that writes a value written before is taken for a copy of that write.
    if let Some(first) = s.applied_writes.get(&value) {
        return *first;
    }
    let result = match expect {
        Some(from) if s.kv.get(&key).copied() != from => KvResult::CasMismatch,
        _ => {
            s.kv.insert(key, value);
            KvResult::Done(None)
        }
    };
    s.applied_writes.insert(value, result);
    result
}

fn forward_everything(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // Level 4's handler, which never looks at sessions (its apply has none).
    if !s.seen.insert((client, req.id)) {
        return;
    }
    if s.role != Role::Leader {
        let leader = s.leader_id.filter(|l| *l != s.me);
        s.reply(ctx, client, req.id, KvResult::NotLeader { leader });
        return;
    }
    let entry = LogEntry {
        term: s.current_term,
        command: Command::Kv {
            client,
            request: req.id,
            op: req.op,
        },
    };
    let index = s.log.append(ctx.storage(), entry);
    s.sync_log(ctx);
    s.pending.insert(index, (client, req.id));
    reference::advance_commit_index(s, ctx);
    for peer in s.peers() {
        if s.next_index[peer.index()] == index {
            reference::send_append_entries(s, ctx, peer);
        }
    }
}

/// Deduplicates writes by their value, not by client and sequence number (right only while no
/// value is written twice).
pub const DEDUPS_BY_VALUE: Functions = Functions {
    on_client_request: forward_everything,
    apply: apply_once_per_value,
    ..RIGHT
};

fn apply_remembering_at_the_leader(
    s: &mut RaftServer,
    client: NodeId,
    seq: u64,
    op: KvOp,
) -> KvResult {
    let result = clustersim_exercises::raft::apply(s, client, seq, op);
    // The mistake: the leader, which answers clients, remembers what it answered; the log itself
    // is applied as it is, and no other server keeps the table.
    if s.role == Role::Leader {
        s.sessions.insert(client, Session { seq, result });
    }
    result
}

/// Keeps the session table at the leader, which answers clients, instead of in the replicated
/// state machine: a new leader (or a restarted one) appends a retry again and it is applied
/// twice.
pub const SESSIONS_ONLY_AT_THE_LEADER: Functions = Functions {
    apply: apply_remembering_at_the_leader,
    ..RIGHT
};

fn refuse_retries(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    let seq = s.sequence_number(req.id);
    // The mistake: a retry of an operation already applied is refused as if this server were
    // not the leader, so the client never learns its write took effect.
    if s.sessions.get(&client).is_some_and(|d| d.seq == seq) {
        s.seen.insert((client, req.id));
        s.reply(ctx, client, req.id, KvResult::NotLeader { leader: None });
        return;
    }
    reference::on_client_request(s, ctx, client, req);
}

/// Answers `NotLeader` to a retry of an operation already applied, instead of its result.
pub const NOT_LEADER_TO_RETRIES: Functions = Functions {
    on_client_request: refuse_retries,
    ..RIGHT
};

fn ignore_retries(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    let seq = s.sequence_number(req.id);
    // The mistake: a retry of an operation already applied is dropped as a duplicate, unanswered.
    if s.sessions.get(&client).is_some_and(|d| d.seq == seq) {
        return;
    }
    reference::on_client_request(s, ctx, client, req);
}

/// Drops a retry of an operation already applied without answering it.
pub const IGNORES_RETRIES: Functions = Functions {
    on_client_request: ignore_retries,
    ..RIGHT
};

/// A leader's read of `key`, held with `read_index` and `round` (the reference's `start_read`
/// with the mistake's choice of both).
fn hold_read(
    s: &mut RaftServer,
    client: NodeId,
    req: &KvRequest,
    read_index: Option<u64>,
    round: u64,
) -> bool {
    let KvOp::Get { key } = req.op else {
        return false;
    };
    if s.role != Role::Leader || !s.seen.insert((client, req.id)) {
        return false;
    }
    s.reads.push(PendingRead {
        client,
        id: req.id,
        key,
        read_index,
        round,
    });
    true
}

fn read_unconfirmed(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: no round of ReadIndex (round 0 counts as confirmed): a leader that a
    // partition has deposed without its knowing answers from its own state.
    let read_index = reference::own_term_committed(s).then_some(s.commit_index);
    if hold_read(s, client, &req, read_index, 0) {
        reference::serve_reads(s, ctx);
        return;
    }
    reference::on_client_request(s, ctx, client, req);
}

/// A leader answers a read once its read index is applied, without confirming with a majority
/// that it still leads.
pub const READS_WITHOUT_CONFIRMATION: Functions = Functions {
    on_client_request: read_unconfirmed,
    ..RIGHT
};

/// Answers confirmed reads at their read index whether or not this leader has committed an
/// entry of its term.
fn serve_reads_any_term(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    if s.role != Role::Leader {
        return;
    }
    let (applied, confirmed) = (s.last_applied, s.confirmed_round);
    let mut waiting = Vec::new();
    for read in std::mem::take(&mut s.reads) {
        let index = read.read_index.unwrap_or(0);
        if read.round <= confirmed && index <= applied {
            let value = s.kv.get(&read.key).copied();
            s.reply(ctx, read.client, read.id, KvResult::Done(value));
        } else {
            waiting.push(read);
        }
    }
    s.reads = waiting;
}

fn read_before_own_commit(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: the read index is the commit index now, even before this leader committed
    // an entry of its term, when it may be behind what an earlier leader committed.
    let (read_index, round) = (Some(s.commit_index), s.read_round + 1);
    if hold_read(s, client, &req, read_index, round) {
        if s.read_round == s.confirmed_round {
            reference::start_read_round(s, ctx);
        }
        serve_reads_any_term(s, ctx);
        return;
    }
    reference::on_client_request(s, ctx, client, req);
}

fn confirm_any_term(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, r: ReadIndexReply) {
    reference::on_read_index_reply(s, ctx, from, r);
    serve_reads_any_term(s, ctx);
}

/// A new leader answers reads at its commit index before it has committed an entry of its own
/// term (section 6.4's first step left out).
pub const SKIPS_OWN_TERM_COMMIT: Functions = Functions {
    on_client_request: read_before_own_commit,
    on_read_index_reply: confirm_any_term,
    ..RIGHT
};

fn read_anywhere(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: a follower answers a read from its own state machine, which lags the
    // leader's by a heartbeat or more.
    if let KvOp::Get { key } = req.op {
        if s.role != Role::Leader && s.seen.insert((client, req.id)) {
            let value = s.kv.get(&key).copied();
            s.reply(ctx, client, req.id, KvResult::Done(value));
            return;
        }
    }
    reference::on_client_request(s, ctx, client, req);
}

/// A follower answers reads from its own state.
pub const READS_AT_FOLLOWERS: Functions = Functions {
    on_client_request: read_anywhere,
    ..RIGHT
};

/// Appends reads to the log as writes are (right, and levels 2 to 9 accept it; level 10 asks
/// for reads without log entries).
pub const READS_IN_THE_LOG: Functions = Functions {
    on_client_request: forward_everything,
    ..RIGHT
};

fn never_snapshot(_s: &mut RaftServer, _ctx: &mut Ctx<'_>) {}

/// Never takes a snapshot: the log grows with every write (level 11 asks for compaction).
pub const NEVER_COMPACTS: Functions = Functions {
    snapshot: never_snapshot,
    ..RIGHT
};

fn snapshot_through_last_index(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    // The mistake: the log is compacted through its last entry, not through the last applied
    // one, so the entries received but not yet applied (or not yet committed) are gone, and
    // the snapshot claims a state it never reached.
    let index = s.log.last_index();
    let Some(term) = s.log.term_at(index) else {
        return;
    };
    if index <= s.log.base_index() {
        return;
    }
    let snap = Snapshot {
        last_included_index: index,
        last_included_term: term,
        kv: s.kv.clone(),
        sessions: s.sessions.clone(),
    };
    s.log.compact(ctx.storage(), index);
    s.last_applied = index;
    s.commit_index = s.commit_index.max(index);
    s.save_snapshot(ctx, snap);
    s.sync_log(ctx);
}

/// Compacts the log through its last entry instead of its last applied one.
pub const COMPACTS_PAST_APPLIED: Functions = Functions {
    snapshot: snapshot_through_last_index,
    ..RIGHT
};

fn install_any_snapshot(s: &mut RaftServer, ctx: &mut Ctx<'_>, is: InstallSnapshot) {
    // The mistake: a snapshot of the current term is installed whatever this server already
    // committed, so a late copy rolls its state machine and its log back.
    if is.term >= s.current_term && is.last_included_index <= s.commit_index {
        let Some(snap) = Snapshot::decode(is.last_included_index, is.last_included_term, &is.data)
        else {
            return;
        };
        if is.term > s.current_term || s.role != Role::Follower {
            reference::become_follower(s, ctx, is.term);
        }
        s.leader_id = Some(is.leader_id);
        s.reset_election_timer(ctx);
        let (index, term) = (is.last_included_index, is.last_included_term);
        if s.log.term_at(index) == Some(term) && index > s.log.base_index() {
            s.log.compact(ctx.storage(), index);
        } else {
            s.log.restart_at(ctx.storage(), index, term);
        }
        s.kv = snap.kv.clone();
        s.sessions = snap.sessions.clone();
        s.commit_index = index;
        s.last_applied = index;
        s.save_snapshot(ctx, snap);
        s.sync_log(ctx);
        let reply = InstallSnapshotReply {
            term: s.current_term,
            last_included_index: index,
        };
        s.send(ctx, is.leader_id, RaftMsg::InstallSnapshotReply(reply));
        return;
    }
    reference::on_install_snapshot(s, ctx, is);
}

/// Installs a snapshot older than what the follower committed, rolling its state back.
pub const INSTALLS_OLD_SNAPSHOTS: Functions = Functions {
    on_install_snapshot: install_any_snapshot,
    ..RIGHT
};

fn append_entries_only(s: &mut RaftServer, ctx: &mut Ctx<'_>, peer: NodeId) {
    // The mistake: AppendEntries from `next_index` even when those entries were compacted: it
    // carries none, and the follower refuses it for ever.
    let next = s.next_index[peer.index()];
    let prev_log_index = next - 1;
    let ae = AppendEntries {
        term: s.current_term,
        leader_id: s.me,
        prev_log_index,
        prev_log_term: s.log.term_at(prev_log_index).unwrap_or(0),
        entries: s.log.entries_from(next, s.timing.max_batch),
        leader_commit: s.commit_index,
    };
    s.send(ctx, peer, RaftMsg::AppendEntries(ae));
}

fn tick_without_snapshots(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    if s.role == Role::Leader {
        for peer in s.peers() {
            append_entries_only(s, ctx, peer);
        }
        if s.read_round > s.confirmed_round {
            reference::send_read_index(s, ctx);
        }
        return;
    }
    reference::on_tick(s, ctx);
}

fn reply_without_snapshots(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    r: AppendEntriesReply,
) {
    // The reference's reply handler, but what it sends next is AppendEntries whatever the base.
    let base = s.log.base_index();
    let f = from.index();
    if r.term == s.current_term && s.role == Role::Leader && !r.success {
        let next = r
            .conflict_index
            .min(s.next_index[f].saturating_sub(1))
            .max(s.match_index[f] + 1);
        if next <= base {
            let changed = next != s.next_index[f];
            s.next_index[f] = next;
            if changed {
                append_entries_only(s, ctx, from);
            }
            return;
        }
    }
    reference::on_append_entries_reply(s, ctx, from, r);
}

/// Never sends InstallSnapshot: a follower whose next entry was compacted gets AppendEntries
/// it cannot take and never catches up.
pub const NEVER_SENDS_SNAPSHOTS: Functions = Functions {
    on_tick: tick_without_snapshots,
    on_append_entries_reply: reply_without_snapshots,
    ..RIGHT
};

fn snapshot_in_memory(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    // The mistake: the log is compacted on disk, but the snapshot is kept in memory only.
    let index = s.last_applied;
    let Some(term) = s.log.term_at(index) else {
        return;
    };
    if index <= s.log.base_index() {
        return;
    }
    s.snapshot = Some(Snapshot {
        last_included_index: index,
        last_included_term: term,
        kv: s.kv.clone(),
        sessions: s.sessions.clone(),
    });
    s.log.compact(ctx.storage(), index);
    s.sync_log(ctx);
}

/// Keeps the snapshot in memory only: a restart finds a compacted log and no snapshot.
pub const SNAPSHOT_NOT_PERSISTED: Functions = Functions {
    snapshot: snapshot_in_memory,
    ..RIGHT
};

fn snapshot_without_sessions(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    // The mistake: the snapshot holds the map but not the session table, so a server restarted
    // (or brought up to date) from it applies a retry of an operation it covers again.
    let index = s.last_applied;
    let Some(term) = s.log.term_at(index) else {
        return;
    };
    if index <= s.log.base_index() {
        return;
    }
    let snap = Snapshot {
        last_included_index: index,
        last_included_term: term,
        kv: s.kv.clone(),
        sessions: std::collections::BTreeMap::new(),
    };
    s.log.compact(ctx.storage(), index);
    s.save_snapshot(ctx, snap);
    s.sync_log(ctx);
}

/// Leaves the session table out of the snapshot.
pub const SESSIONS_NOT_IN_SNAPSHOT: Functions = Functions {
    snapshot: snapshot_without_sessions,
    ..RIGHT
};

fn append_and_wait(s: &mut RaftServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // The mistake: a new entry is appended and synced, and left for the next heartbeat to carry
    // to the followers, so every write waits half a heartbeat on average.
    if s.role != Role::Leader || matches!(req.op, KvOp::Get { .. }) {
        reference::on_client_request(s, ctx, client, req);
        return;
    }
    if !s.seen.insert((client, req.id)) {
        return;
    }
    let seq = s.sequence_number(req.id);
    if let Some(done) = s.sessions.get(&client).copied() {
        if done.seq == seq {
            s.reply(ctx, client, req.id, done.result);
            return;
        }
        if done.seq > seq {
            return;
        }
    }
    let entry = LogEntry {
        term: s.current_term,
        command: Command::Kv {
            client,
            request: req.id,
            op: req.op,
        },
    };
    let index = s.log.append(ctx.storage(), entry);
    s.sync_log(ctx);
    s.pending.insert(index, (client, req.id));
    reference::advance_commit_index(s, ctx);
}

/// Sends a new entry to the followers only with the next heartbeat.
pub const REPLICATES_ON_HEARTBEAT: Functions = Functions {
    on_client_request: append_and_wait,
    ..RIGHT
};

fn reply_without_commit(
    s: &mut RaftServer,
    ctx: &mut Ctx<'_>,
    from: NodeId,
    r: AppendEntriesReply,
) {
    // The mistake: what the followers stored is noted, but the commit rule runs only on the
    // heartbeat, so every write waits for the next one to be answered.
    if r.term > s.current_term {
        reference::become_follower(s, ctx, r.term);
        return;
    }
    if s.role != Role::Leader || r.term != s.current_term {
        return;
    }
    let f = from.index();
    let before = (s.match_index[f], s.next_index[f]);
    if r.success {
        s.match_index[f] = s.match_index[f].max(r.match_index);
        s.next_index[f] = s.next_index[f].max(r.match_index + 1);
    } else {
        s.next_index[f] = r
            .conflict_index
            .min(s.next_index[f].saturating_sub(1))
            .max(s.match_index[f] + 1);
    }
    let learned = (s.match_index[f], s.next_index[f]) != before;
    if learned && s.next_index[f] <= s.log.last_index() {
        reference::send_append_entries(s, ctx, from);
    }
}

fn commit_on_tick(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
    if s.role == Role::Leader {
        reference::advance_commit_index(s, ctx);
    }
    reference::on_tick(s, ctx);
}

/// Advances `commit_index` only on the heartbeat, not when a reply makes a majority.
pub const COMMITS_ON_HEARTBEAT: Functions = Functions {
    on_append_entries_reply: reply_without_commit,
    on_tick: commit_on_tick,
    ..RIGHT
};

fn reply_with_more(s: &mut RaftServer, ctx: &mut Ctx<'_>, from: NodeId, r: AppendEntriesReply) {
    let success = r.success && r.term == s.current_term;
    let next = s.next_index[from.index()];
    reference::on_append_entries_reply(s, ctx, from, r);
    // The mistake: every successful reply is answered with another AppendEntries, whether the
    // follower lacks anything or not: a heartbeat at the speed of the network.
    if success && s.role == Role::Leader && s.next_index[from.index()] == next {
        reference::send_append_entries(s, ctx, from);
    }
}

/// Answers every successful AppendEntries reply with another AppendEntries.
pub const ANSWERS_EVERY_REPLY: Functions = Functions {
    on_append_entries_reply: reply_with_more,
    ..RIGHT
};
