//! Corpora of wrong solutions: for each lab, the reference with one mistake students make, named
//! for it, and the level and check that must catch it (`tests/grading.rs` proves each one).

pub mod chapters;
pub mod primary_backup;
pub mod raft;
pub mod wal;

use clustersim_exercises::Code;

/// One wrong solution and where the grader must catch it.
pub struct Mistake {
    /// A short name, in kebab case (`votes-twice`).
    pub name: &'static str,
    /// The mistake, in a few words, as the book's table says it.
    pub what: &'static str,
    /// The wrong solution's table of functions.
    pub code: Code,
    /// The level (from 1) that must fail it; 0 for a mistake no level catches yet.
    pub level: usize,
    /// The check whose failure names the mistake there.
    pub check: &'static str,
}

/// The corpus of exercise `name` (empty for an exercise without one).
pub fn corpus(name: &str) -> &'static [Mistake] {
    match name {
        "raft" => RAFT,
        "primary-backup" => PRIMARY_BACKUP,
        "reliable-ping" => RELIABLE_PING,
        "lease-queue" => LEASE_QUEUE,
        "idempotent-sink" => IDEMPOTENT_SINK,
        "durable-counter" => DURABLE_COUNTER,
        "sync-replication" => SYNC_REPLICATION,
        "anti-entropy" => ANTI_ENTROPY,
        "exactly-once" => EXACTLY_ONCE,
        "broadcast" => BROADCAST,
        "wal" => WAL,
        _ => &[],
    }
}

/// The corpus of exercise `name` that no level catches yet (`level` 0): wrong solutions a
/// tester found passing every level, kept so a new level can be tried against them
/// (`examples/scenario_rates.rs`, `examples/mistake_rates.rs`); the book says why each slips
/// through.
pub fn uncaught(name: &str) -> &'static [Mistake] {
    match name {
        "raft" => RAFT_UNCAUGHT,
        "primary-backup" => PRIMARY_BACKUP_UNCAUGHT,
        _ => &[],
    }
}

macro_rules! mistake {
    ($name:literal, $what:literal, $table:expr, $level:literal, $check:literal) => {
        Mistake {
            name: $name,
            what: $what,
            code: Code::of(&$table),
            level: $level,
            check: $check,
        }
    };
}

/// The Raft lab's corpus.
pub const RAFT: &[Mistake] = &[
    mistake!(
        "applies-twice",
        "a retried write applied twice",
        raft::APPLIES_TWICE,
        4,
        "Linearizable"
    ),
    mistake!(
        "votes-twice",
        "a vote granted twice in one term",
        raft::VOTES_TWICE,
        1,
        "ElectionSafety"
    ),
    mistake!(
        "chatty",
        "four heartbeats where one would do",
        raft::CHATTY,
        1,
        "MessagesPerSecond"
    ),
    mistake!(
        "vote-not-saved-before-reply",
        "a vote not saved before the reply",
        raft::VOTE_NOT_SAVED_BEFORE_REPLY,
        5,
        "ElectionSafety"
    ),
    mistake!(
        "voted-for-not-persisted",
        "`voted_for` never saved (the term is)",
        raft::VOTED_FOR_NOT_PERSISTED,
        6,
        "ElectionSafety"
    ),
    mistake!(
        "no-election-restriction",
        "votes for a candidate whatever its log (section 5.4.1 left out)",
        raft::NO_ELECTION_RESTRICTION,
        2,
        "Linearizable"
    ),
    mistake!(
        "up-to-date-by-length",
        "\"up to date\" judged by the log's length only",
        raft::UP_TO_DATE_BY_LENGTH,
        7,
        "Linearizable"
    ),
    mistake!(
        "never-commits",
        "a leader that never learns what followers stored",
        raft::NEVER_COMMITS,
        2,
        "Liveness"
    ),
    mistake!(
        "commits-old-terms-by-counting",
        "an earlier term's entry committed by counting replicas (Figure 8)",
        raft::COMMITS_OLD_TERMS_BY_COUNTING,
        7,
        "Linearizable"
    ),
    mistake!(
        "counts-stale-votes",
        "votes of an earlier term's election counted",
        raft::COUNTS_STALE_VOTES,
        8,
        "ElectionSafety"
    ),
    mistake!(
        "majority-off-by-one",
        "half the servers taken for a majority",
        raft::MAJORITY_OFF_BY_ONE,
        8,
        "ElectionSafety"
    ),
    mistake!(
        "truncates-on-every-append",
        "the log truncated after `prev_log_index` on every AppendEntries",
        raft::TRUNCATES_ON_EVERY_APPEND,
        7,
        "Durable"
    ),
    mistake!(
        "commits-to-own-last-index",
        "a follower committing to its own last index",
        raft::COMMITS_TO_OWN_LAST_INDEX,
        7,
        "Linearizable"
    ),
    mistake!(
        "accepts-stale-leaders",
        "AppendEntries of an older term accepted",
        raft::ACCEPTS_STALE_LEADERS,
        7,
        "Linearizable"
    ),
    mistake!(
        "follower-acks-unsynced",
        "a follower acknowledging entries it has not synced",
        raft::FOLLOWER_ACKS_UNSYNCED,
        5,
        "Linearizable"
    ),
    mistake!(
        "leader-skips-own-sync",
        "a leader counting its own entry without syncing it",
        raft::LEADER_SKIPS_OWN_SYNC,
        5,
        "Linearizable"
    ),
    mistake!(
        "answers-before-commit",
        "a client answered when its entry is appended, before it commits",
        raft::ANSWERS_BEFORE_COMMIT,
        2,
        "Linearizable"
    ),
    mistake!(
        "reads-without-quorum",
        "a leader answering reads from its own state",
        raft::READS_WITHOUT_QUORUM,
        5,
        "Linearizable"
    ),
    mistake!(
        "reuses-term-for-election",
        "a new election in the term it already voted in",
        raft::REUSES_TERM_FOR_ELECTION,
        6,
        "ElectionSafety"
    ),
    mistake!(
        "never-backs-off",
        "`next_index` never moved back on a refusal",
        raft::NEVER_BACKS_OFF,
        7,
        "Durable"
    ),
    mistake!(
        "dedups-by-value",
        "writes deduplicated by value, not by client and sequence number",
        raft::DEDUPS_BY_VALUE,
        9,
        "Linearizable"
    ),
    mistake!(
        "sessions-only-at-the-leader",
        "the session table kept only by the leader, not by every server's `apply`",
        raft::SESSIONS_ONLY_AT_THE_LEADER,
        9,
        "Linearizable"
    ),
    mistake!(
        "not-leader-to-retries",
        "`NotLeader` answered to a retry of an applied operation",
        raft::NOT_LEADER_TO_RETRIES,
        9,
        "WritesAnsweredOnceWhole"
    ),
    mistake!(
        "ignores-retries",
        "a retry of an applied operation dropped unanswered",
        raft::IGNORES_RETRIES,
        9,
        "WritesAnsweredOnceWhole"
    ),
    mistake!(
        "reads-without-confirmation",
        "a leader answering reads at its read index without a round of ReadIndex",
        raft::READS_WITHOUT_CONFIRMATION,
        10,
        "Linearizable"
    ),
    mistake!(
        "skips-own-term-commit",
        "a new leader answering reads before it committed an entry of its term",
        raft::SKIPS_OWN_TERM_COMMIT,
        10,
        "Linearizable"
    ),
    mistake!(
        "reads-at-followers",
        "a follower answering reads from its own state",
        raft::READS_AT_FOLLOWERS,
        10,
        "Linearizable"
    ),
    mistake!(
        "reads-in-the-log",
        "reads appended to the log like writes",
        raft::READS_IN_THE_LOG,
        10,
        "ReadsNotLogged"
    ),
    mistake!(
        "never-compacts",
        "a server that never takes a snapshot",
        raft::NEVER_COMPACTS,
        11,
        "LogBounded"
    ),
    mistake!(
        "compacts-past-applied",
        "the log compacted through its last entry, not its last applied one",
        raft::COMPACTS_PAST_APPLIED,
        11,
        "Converged"
    ),
    mistake!(
        "installs-old-snapshots",
        "a follower installing a snapshot older than what it committed",
        raft::INSTALLS_OLD_SNAPSHOTS,
        11,
        "StateNeverGoesBack"
    ),
    mistake!(
        "never-sends-snapshots",
        "a leader sending AppendEntries from a compacted index instead of its snapshot",
        raft::NEVER_SENDS_SNAPSHOTS,
        11,
        "Converged"
    ),
    mistake!(
        "snapshot-not-persisted",
        "the snapshot kept in memory only, the log compacted on disk",
        raft::SNAPSHOT_NOT_PERSISTED,
        11,
        "Durable"
    ),
    mistake!(
        "replicates-on-heartbeat",
        "a new entry sent to the followers only with the next heartbeat",
        raft::REPLICATES_ON_HEARTBEAT,
        12,
        "Throughput"
    ),
    mistake!(
        "commits-on-heartbeat",
        "`commit_index` advanced only on the heartbeat",
        raft::COMMITS_ON_HEARTBEAT,
        12,
        "Throughput"
    ),
    mistake!(
        "answers-every-reply",
        "every AppendEntries reply answered with another AppendEntries",
        raft::ANSWERS_EVERY_REPLY,
        12,
        "MessagesPerOperation"
    ),
];

/// The primary-backup lab's corpus.
pub const PRIMARY_BACKUP: &[Mistake] = &[
    mistake!(
        "ignores-acks",
        "the view server changes a view nobody acknowledged",
        primary_backup::IGNORES_ACKS,
        1,
        "ViewsValid"
    ),
    mistake!(
        "ignores-restarts",
        "the view server ignores a ping with 0",
        primary_backup::IGNORES_RESTARTS,
        1,
        "FailoverWithin"
    ),
    mistake!(
        "never-forwards",
        "the primary answers without forwarding",
        primary_backup::NEVER_FORWARDS,
        2,
        "Linearizable"
    ),
    mistake!(
        "no-transfer",
        "no state transfer: a new backup takes forwards with whatever it holds",
        primary_backup::NO_TRANSFER,
        3,
        "Linearizable"
    ),
    mistake!(
        "answers-early",
        "the primary answers as soon as it sends the forward",
        primary_backup::ANSWERS_EARLY,
        4,
        "Linearizable"
    ),
    mistake!(
        "local-reads",
        "the primary answers reads from its own copy",
        primary_backup::LOCAL_READS,
        4,
        "Linearizable"
    ),
    mistake!(
        "applies-twice",
        "a retried write applied twice",
        primary_backup::APPLIES_TWICE,
        4,
        "Linearizable"
    ),
    mistake!(
        "no-retransmit",
        "nothing is ever sent again",
        primary_backup::NO_RETRANSMIT,
        4,
        "Liveness"
    ),
    mistake!(
        "promotes-idle",
        "the view server makes an idle server primary when primary and backup are both gone",
        primary_backup::PROMOTES_IDLE,
        1,
        "ViewsValid"
    ),
    mistake!(
        "forwards-from-anyone",
        "the backup applies forwards from anyone, of any view",
        primary_backup::FORWARDS_FROM_ANYONE,
        5,
        "Linearizable"
    ),
    mistake!(
        "transfer-from-anyone",
        "the backup takes a state transfer from anyone, of any view",
        primary_backup::TRANSFER_FROM_ANYONE,
        5,
        "Linearizable"
    ),
];

use chapters::{
    anti_entropy as ae, broadcast as bc, durable_counter as dc, exactly_once as eo,
    idempotent_sink as is, lease_queue as lq, reliable_ping as rp, sync_replication as sr,
};

/// The `reliable-ping` exercise's corpus.
pub const RELIABLE_PING: &[Mistake] = &[
    mistake!(
        "never-resends",
        "waits again but never resends",
        rp::NEVER_RESENDS,
        1,
        "EveryRequestAnswered"
    ),
    mistake!(
        "resends-once",
        "resends once and never again",
        rp::RESENDS_ONCE,
        1,
        "EveryRequestAnswered"
    ),
    mistake!(
        "resends-another-number",
        "resends under another sequence number",
        rp::RESENDS_ANOTHER_NUMBER,
        1,
        "EveryRequestAnswered"
    ),
    mistake!(
        "gives-up",
        "gives up after a few retries",
        rp::GIVES_UP,
        1,
        "EveryRequestAnswered"
    ),
    mistake!(
        "timer-not-rearmed",
        "resends without setting the timer again",
        rp::TIMER_NOT_REARMED,
        1,
        "EveryRequestAnswered"
    ),
];

/// The `lease-queue` exercise's corpus.
pub const LEASE_QUEUE: &[Mistake] = &[
    mistake!(
        "pops",
        "pops the task (`LPOP`)",
        lq::POPS,
        1,
        "EveryTaskCompleted"
    ),
    mistake!(
        "no-lease-timer",
        "leases with no timer",
        lq::NO_LEASE_TIMER,
        1,
        "EveryTaskCompleted"
    ),
    mistake!(
        "ignores-acks",
        "ignores acknowledgements",
        lq::IGNORES_ACKS,
        1,
        "EveryTaskCompleted"
    ),
    mistake!(
        "requeues-acked-tasks",
        "requeues a task acknowledged while its lease ran",
        lq::REQUEUES_ACKED_TASKS,
        1,
        "BoundedRedelivery"
    ),
    mistake!(
        "drops-expired-tasks",
        "forgets a task whose lease ran out",
        lq::DROPS_EXPIRED_TASKS,
        1,
        "EveryTaskCompleted"
    ),
    mistake!(
        "lease-too-short",
        "a lease far shorter than the work",
        lq::LEASE_TOO_SHORT,
        1,
        "BoundedRedelivery"
    ),
];

/// The `idempotent-sink` exercise's corpus.
pub const IDEMPOTENT_SINK: &[Mistake] = &[
    mistake!(
        "no-dedup",
        "applies every delivery",
        is::NO_DEDUP,
        1,
        "EffectsExactlyOnce"
    ),
    mistake!(
        "dedup-in-memory",
        "remembers applied tasks in memory only",
        is::DEDUP_IN_MEMORY,
        1,
        "EffectsExactlyOnce"
    ),
    mistake!(
        "record-not-synced",
        "writes the record of a task but never syncs it",
        is::RECORD_NOT_SYNCED,
        1,
        "EffectsExactlyOnce"
    ),
    mistake!(
        "acks-first-only",
        "acknowledges only the first delivery",
        is::ACKS_FIRST_ONLY,
        1,
        "EffectsExactlyOnce"
    ),
    mistake!(
        "records-last-only",
        "one key for every task's record",
        is::RECORDS_LAST_ONLY,
        1,
        "EffectsExactlyOnce"
    ),
];

/// The `durable-counter` exercise's corpus.
pub const DURABLE_COUNTER: &[Mistake] = &[
    mistake!(
        "in-memory",
        "counts in memory only",
        dc::IN_MEMORY,
        1,
        "CounterNeverGoesBack"
    ),
    mistake!(
        "never-syncs",
        "writes the count, never syncs",
        dc::NEVER_SYNCS,
        1,
        "CounterNeverGoesBack"
    ),
    mistake!(
        "syncs-before-writing",
        "syncs, then writes",
        dc::SYNCS_BEFORE_WRITING,
        1,
        "CounterNeverGoesBack"
    ),
    mistake!(
        "syncs-every-tenth",
        "syncs every tenth increment",
        dc::SYNCS_EVERY_TENTH,
        1,
        "CounterNeverGoesBack"
    ),
    mistake!(
        "saves-before-increment",
        "saves the count before incrementing it",
        dc::SAVES_BEFORE_INCREMENT,
        1,
        "CounterNeverGoesBack"
    ),
];

/// The `sync-replication` exercise's corpus.
pub const SYNC_REPLICATION: &[Mistake] = &[
    mistake!(
        "acks-before-backup",
        "acknowledges as soon as the copy is sent",
        sr::ACKS_BEFORE_BACKUP,
        1,
        "AckedWritesVisible"
    ),
    mistake!(
        "never-replicates",
        "never copies to the backup",
        sr::NEVER_REPLICATES,
        1,
        "AckedWritesVisible"
    ),
    mistake!(
        "never-acknowledges",
        "waits for the backup, then never tells the client",
        sr::NEVER_ACKNOWLEDGES,
        1,
        "AckedWritesVisible"
    ),
    mistake!(
        "waits-for-half",
        "waits for the backup on every other write",
        sr::WAITS_FOR_HALF,
        1,
        "AckedWritesVisible"
    ),
    mistake!(
        "acks-with-the-copy",
        "acknowledges with the copy, ignores the backup's answer",
        sr::ACKS_WITH_THE_COPY,
        1,
        "AckedWritesVisible"
    ),
];

/// The `anti-entropy` exercise's corpus.
pub const ANTI_ENTROPY: &[Mistake] = &[
    mistake!(
        "no-digests",
        "never sends a digest",
        ae::NO_DIGESTS,
        1,
        "AllDelivered"
    ),
    mistake!(
        "ignores-digests",
        "ignores the digests it receives",
        ae::IGNORES_DIGESTS,
        1,
        "AllDelivered"
    ),
    mistake!(
        "always-the-same-peer",
        "every digest to the same peer",
        ae::ALWAYS_THE_SAME_PEER,
        1,
        "AllDelivered"
    ),
    mistake!(
        "answers-digest-with-digest",
        "answers a digest with a digest",
        ae::ANSWERS_DIGEST_WITH_DIGEST,
        1,
        "AllDelivered"
    ),
    mistake!(
        "compares-sizes",
        "compares a digest's size, not its contents",
        ae::COMPARES_SIZES,
        1,
        "AllDelivered"
    ),
];

/// The `exactly-once` lab's corpus.
pub const EXACTLY_ONCE: &[Mistake] = &[
    mistake!(
        "never-retries",
        "never sends a request again",
        eo::NEVER_RETRIES,
        1,
        "EveryRequestAnswered"
    ),
    mistake!(
        "no-dedup",
        "retries, but every copy is applied",
        eo::NO_DEDUP,
        2,
        "AppliedExactlyOnce"
    ),
    mistake!(
        "ignores-repeats",
        "a repeat recognised but not answered",
        eo::IGNORES_REPEATS,
        2,
        "EveryRequestAnswered"
    ),
    mistake!(
        "dedup-by-number-only",
        "a repeat recognised by request number alone",
        eo::DEDUP_BY_NUMBER_ONLY,
        2,
        "AppliedExactlyOnce"
    ),
    mistake!(
        "dedup-in-memory",
        "a dedup table in memory only",
        eo::DEDUP_IN_MEMORY,
        3,
        "AppliedExactlyOnce"
    ),
];

/// The `broadcast` lab's corpus.
pub const BROADCAST: &[Mistake] = &[
    mistake!(
        "floods",
        "floods every value to every peer at once",
        bc::FLOODS,
        3,
        "MessagesPerOperation"
    ),
    mistake!(
        "no-repair",
        "batches to everyone, never repairs a loss",
        bc::NO_REPAIR,
        2,
        "DeliveredEverywhere"
    ),
    mistake!(
        "never-relays",
        "passes on only its own values",
        bc::NEVER_RELAYS,
        1,
        "DeliveredEverywhere"
    ),
    mistake!(
        "one-peer-per-batch",
        "each batch to one random peer",
        bc::ONE_PEER_PER_BATCH,
        1,
        "DeliveredEverywhere"
    ),
    mistake!(
        "digests-everyone",
        "a digest to every peer on every tick",
        bc::DIGESTS_EVERYONE,
        3,
        "MessagesPerOperation"
    ),
];

/// The Raft lab's wrong solutions no level catches yet.
pub const RAFT_UNCAUGHT: &[Mistake] = &[
    mistake!(
        "counts-stale-replies",
        "an AppendEntries reply of an earlier term counted",
        raft::COUNTS_STALE_REPLIES,
        0,
        ""
    ),
    mistake!(
        "keeps-match-index",
        "`match_index` kept from an earlier leadership",
        raft::KEEPS_MATCH_INDEX,
        0,
        ""
    ),
    mistake!(
        "not-leader-to-duplicates",
        "`NotLeader` answered to a copy of an accepted request",
        raft::NOT_LEADER_TO_DUPLICATES,
        0,
        ""
    ),
    mistake!(
        "sessions-not-in-snapshot",
        "the session table left out of the snapshot",
        raft::SESSIONS_NOT_IN_SNAPSHOT,
        0,
        ""
    ),
];

/// The primary-backup lab's wrong solutions no level catches yet.
pub const PRIMARY_BACKUP_UNCAUGHT: &[Mistake] = &[mistake!(
    "counts-stale-acks",
    "the primary counts a forward acknowledgement of an older view",
    primary_backup::COUNTS_STALE_ACKS,
    0,
    ""
)];

/// The `wal` lab's corpus.
pub const WAL: &[Mistake] = &[
    mistake!(
        "syncs-at-the-next-write",
        "each write synced when the next one comes, acknowledged before",
        wal::SYNCS_AT_THE_NEXT_WRITE,
        1,
        "Durable"
    ),
    mistake!(
        "acks-before-sync",
        "the answer sent before the sync, in the same handler",
        wal::ACKS_BEFORE_SYNC,
        2,
        "Durable"
    ),
    mistake!(
        "trusts-torn-tail",
        "a torn entry's words believed without their checksum",
        wal::TRUSTS_TORN_TAIL,
        2,
        "Linearizable"
    ),
    mistake!(
        "ignores-failed-sync",
        "`sync()`, which hides a failed sync",
        wal::IGNORES_FAILED_SYNC,
        3,
        "Durable"
    ),
    mistake!(
        "retries-sync-without-rewriting",
        "a failed sync retried without writing again (fsyncgate)",
        wal::RETRIES_SYNC_WITHOUT_REWRITING,
        3,
        "Durable"
    ),
    mistake!(
        "stops-but-acknowledges",
        "the server stops when its disk will not sync, but answers the write it gave up on",
        wal::STOPS_BUT_ACKNOWLEDGES,
        3,
        "Durable"
    ),
    mistake!(
        "no-checksums",
        "records written and read without checksums",
        wal::NO_CHECKSUMS,
        4,
        "Linearizable"
    ),
    mistake!(
        "one-copy",
        "each word kept once",
        wal::ONE_COPY,
        4,
        "Durable"
    ),
    mistake!(
        "corrupt-ends-log",
        "the first record that fails its checksum taken for the end of the log",
        wal::CORRUPT_ENDS_LOG,
        4,
        "Durable"
    ),
    mistake!(
        "ignores-full-disk",
        "`put_checked` on a full disk, which writes nothing and says nothing",
        wal::IGNORES_FULL_DISK,
        4,
        "Durable"
    ),
];
