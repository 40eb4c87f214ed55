//! The book's graded exercises and labs: sans-IO protocols with pieces left for the student.
//!
//! Each exercise is a file in `exercises/` (the scaffolding plus the student's pieces, marked
//! `ANCHOR: student`), one or more levels (a scenario in `scenarios/exercises/` and the goals
//! it is graded by, checkers in `goals.rs`), and a reference solution that is *not* in this
//! crate: it lives in `solutions/` (the `clustersim-solutions` crate), which a course can leave
//! out of the students' copy. Scenarios run an exercise with `protocol: Exercise(name: "NAME")`;
//! `clustersim-exercises check-exercise NAME` grades the student's code, level by level.
//!
//! The student's pieces are plain functions gathered in a table (`Functions`, one per exercise,
//! `STUDENT` its value here); a run takes its table from a [`Code`], so the solutions crate (or a
//! grader's test of a wrong solution) runs the same scaffolding with other functions.
//!
//! This is a crate of its own that registers its protocol and goals through the public
//! `Registry`, as any user's crate does: editing an exercise rebuilds only this crate.

pub mod anti_entropy;
pub mod broadcast;
pub mod cli;
pub mod durable_counter;
pub mod exactly_once;
pub mod goals;
pub mod idempotent_sink;
pub mod lease_queue;
pub mod primary_backup;
pub mod primary_backup_node;
pub mod raft;
pub mod raft_node;
pub mod reliable_ping;
pub mod sync_replication;
pub mod wal;
pub mod wal_node;
pub mod watchdog;

use clustersim::check::{Status, Verdict};
use clustersim::debug::Stepper;
use clustersim::error::{Error, Result};
use clustersim::explore::exhaustive::{check_scenario, ExhaustiveConfig, ExhaustiveOutcome};
use clustersim::history::Phase;
use clustersim::registry::{AnyCheck, AnyProtocol, Build, Registry};
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::{parse, Plan, Spec};
use clustersim::sim::{RunOutcome, StopReason};
use clustersim::time::Duration;
use clustersim::trace::TraceLevel;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt::Write as _;

pub use goals::{Goal, GoalCheck};

/// The program that knows the exercises, named in replay commands.
pub const PROGRAM: &str = "clustersim-exercises";

/// The shipped registry plus the `Exercise` protocol (the student's code) and its goals.
pub fn registry() -> Registry {
    register(Registry::shipped().named(PROGRAM), student)
}

/// Adds the `Exercise` protocol, built by `build`, and the `Exercise(GOAL)` check to `registry`.
pub fn register(registry: Registry, build: Build<dyn AnyProtocol>) -> Registry {
    registry
        .protocol_with("Exercise", build)
        .check::<GoalCheck>()
}

/// Builds an exercise run of the student's code; `solution: true` is refused (not in this crate).
fn student(
    spec: &Spec,
) -> std::result::Result<Box<dyn AnyProtocol>, clustersim::scenario::ParamsError> {
    let spec: ExerciseSpec = spec.params()?;
    let code = (!spec.solution).then_some(Code::Student);
    Ok(Box::new(ExerciseRun::new(spec, code)))
}

/// Whose code an exercise runs: the student's (the functions in its file) or another table of
/// the exercise's `Functions` type (a reference solution, or a grader's wrong solution).
#[derive(Clone, Copy)]
pub enum Code {
    /// The functions in the exercise's file (`STUDENT`).
    Student,
    /// Another `Functions` value of the exercise.
    Other(&'static (dyn Any + Send + Sync)),
}

impl Code {
    /// Runs `table` (a `Functions` value of the exercise it is used with).
    pub const fn of<T: Any + Send + Sync>(table: &'static T) -> Code {
        Code::Other(table)
    }

    /// The table to run: `student` for the student's code, else the other table if it is a `T`.
    pub fn pick<T: Any>(self, student: &'static T) -> &'static T {
        match self {
            Code::Student => student,
            Code::Other(table) => table.downcast_ref().unwrap_or(student),
        }
    }

    /// True when the other table is a `T` (or this is the student's code).
    pub fn fits<T: Any>(self) -> bool {
        match self {
            Code::Student => true,
            Code::Other(table) => table.is::<T>(),
        }
    }
}

/// How a level is searched exhaustively instead of run on seeds (DSLabs' search tests): every
/// order of events due within `window` of each other, and crashes of servers, within bounds.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    /// Events due within this much of the earliest may run before it.
    pub window: Duration,
    /// Most crashes along one path (of nodes of role `targets`).
    pub crashes: u32,
    /// Most disk faults along one path (`check --disk-faults`): a failed sync, or a crash
    /// inside a handler at one of its next syncs, of a node of role `targets`.
    pub disk_faults: u32,
    /// The role whose nodes may crash.
    pub targets: &'static str,
    /// A crashed server may restart at any later step.
    pub restarts: bool,
    /// Most choices along one path.
    pub max_depth: usize,
    /// Most distinct states before the search stops.
    pub max_states: u64,
}

/// One level of an exercise: a scenario and the goals in it, graded over a few seeds (or, with
/// `search`, over every path of a small configuration).
pub struct Level {
    /// What the level asks, in a few words ("leader election").
    pub name: &'static str,
    /// The scenario's path from the workspace root.
    pub file: &'static str,
    /// The scenario's text (built into the binary, so everyone is graded on the same runs).
    pub scenario: &'static str,
    /// Search every path instead of running seeds.
    pub search: Option<Search>,
    /// How many seeds the grader runs (the scenario's own, then seeds drawn from the code).
    pub seeds: u64,
}

/// Seeds a level runs unless it says otherwise.
pub const SEEDS: u64 = 20;

/// One exercise: its name, the file the student edits, its levels, and how to run it.
pub struct Exercise {
    /// The name used by `check-exercise` and in scenarios.
    pub name: &'static str,
    /// The file holding the student's pieces.
    pub file: &'static str,
    /// That file's text in this build: grading draws its seeds from it.
    pub source: &'static str,
    /// What the student has to do, in one line.
    pub task: &'static str,
    /// A fair estimate of the work, for someone who has read the chapter.
    pub effort: &'static str,
    /// The levels, in the order they are meant to be passed.
    pub levels: &'static [Level],
    /// The checks its scenarios may name: `Exercise` (its goals) and the shipped ones it fits.
    pub checks: &'static [&'static str],
    validate: fn(&Plan, Code) -> std::result::Result<(), String>,
    sim: fn(&Plan, &ExerciseSpec, Code, TraceLevel) -> Box<dyn Stepper>,
    search: Option<SearchFn>,
}

/// Searches a plan exhaustively with the given code and checks.
type SearchFn =
    fn(&Plan, &ExerciseSpec, Code, &[Box<dyn AnyCheck>], &ExhaustiveConfig) -> ExhaustiveOutcome;

/// An exercise graded on one scenario, `scenarios/exercises/NAME.ron`.
macro_rules! one_level {
    ($name:literal) => {
        &[Level {
            name: "graded",
            file: concat!("scenarios/exercises/", $name, ".ron"),
            scenario: include_str!(concat!("../scenarios/exercises/", $name, ".ron")),
            search: None,
            seeds: SEEDS,
        }]
    };
}

/// Checks the plan and that `code` is a table of functions of exercise module `$m`.
macro_rules! checked {
    ($m:ident) => {
        checked!($m, $m)
    };
    ($m:ident, $table:ident) => {
        |plan, code| {
            if !code.fits::<$table::Functions>() {
                return Err(format!(
                    "the code given to exercise `{}` is not a table of its functions",
                    stringify!($m)
                ));
            }
            $m::validate(plan)
        }
    };
}

/// Every exercise, in the order the book introduces them; the labs last.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "reliable-ping",
        file: "exercises/reliable_ping.rs",
        source: include_str!("reliable_ping.rs"),
        task: "retry a request until it is answered, over a network that drops 30% of messages",
        effort: "15 minutes",
        checks: &["Exercise"],
        levels: one_level!("reliable-ping"),
        validate: checked!(reliable_ping),
        search: None,
        sim: |p, _, c, t| Box::new(reliable_ping::sim(p, c, t)),
    },
    Exercise {
        name: "lease-queue",
        file: "exercises/lease_queue.rs",
        source: include_str!("lease_queue.rs"),
        task: "replace the queue's LPOP with a lease, so a crashed worker's task is handed out again",
        effort: "30 minutes",
        checks: &["Exercise"],
        levels: one_level!("lease-queue"),
        validate: checked!(lease_queue),
        search: None,
        sim: |p, _, c, t| Box::new(lease_queue::sim(p, c, t)),
    },
    Exercise {
        name: "idempotent-sink",
        file: "exercises/idempotent_sink.rs",
        source: include_str!("idempotent_sink.rs"),
        task: "apply each task's effect exactly once although deliveries repeat and the sink crashes",
        effort: "20 minutes",
        checks: &["Exercise"],
        levels: one_level!("idempotent-sink"),
        validate: checked!(idempotent_sink),
        search: None,
        sim: |p, _, c, t| Box::new(idempotent_sink::sim(p, c, t)),
    },
    Exercise {
        name: "durable-counter",
        file: "exercises/durable_counter.rs",
        source: include_str!("durable_counter.rs"),
        task: "make an acknowledged increment survive a crash of the counter server",
        effort: "10 minutes",
        checks: &["Exercise"],
        levels: one_level!("durable-counter"),
        validate: checked!(durable_counter),
        search: None,
        sim: |p, _, c, t| Box::new(durable_counter::sim(p, c, t)),
    },
    Exercise {
        name: "sync-replication",
        file: "exercises/sync_replication.rs",
        source: include_str!("sync_replication.rs"),
        task: "acknowledge a write only once the backup has it, so failover loses no acknowledged write",
        effort: "20 minutes",
        checks: &["Exercise"],
        levels: one_level!("sync-replication"),
        validate: checked!(sync_replication),
        search: None,
        sim: |p, _, c, t| Box::new(sync_replication::sim(p, c, t)),
    },
    Exercise {
        name: "anti-entropy",
        file: "exercises/anti_entropy.rs",
        source: include_str!("anti_entropy.rs"),
        task: "add digest-based anti-entropy so every chat message reaches every node after a partition heals",
        effort: "45 minutes",
        checks: &["Exercise"],
        levels: one_level!("anti-entropy"),
        validate: checked!(anti_entropy),
        search: None,
        sim: |p, _, c, t| Box::new(anti_entropy::sim(p, c, t)),
    },
    Exercise {
        name: "exactly-once",
        file: "exercises/exactly_once.rs",
        source: include_str!("exactly_once.rs"),
        task: "an append RPC that takes effect exactly once: retries, deduplication, and a dedup table that survives a crash",
        effort: "1 hour",
        checks: &["Exercise"],
        levels: &[
            Level {
                name: "retry",
                file: "scenarios/exercises/exactly-once-1-retry.ron",
                scenario: include_str!("../scenarios/exercises/exactly-once-1-retry.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "deduplicate",
                file: "scenarios/exercises/exactly-once-2-dedup.ron",
                scenario: include_str!("../scenarios/exercises/exactly-once-2-dedup.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "survive a crash",
                file: "scenarios/exercises/exactly-once-3-crash.ron",
                scenario: include_str!("../scenarios/exercises/exactly-once-3-crash.ron"),
                search: None,
                seeds: SEEDS,
            },
        ],
        validate: checked!(exactly_once),
        search: None,
        sim: |p, _, c, t| Box::new(exactly_once::sim(p, c, t)),
    },
    Exercise {
        name: "primary-backup",
        file: "exercises/primary_backup.rs",
        source: include_str!("primary_backup.rs"),
        task: "primary-backup with a view server: views, replication through the backup, state transfer, an unreliable network, a deposed primary",
        effort: "1 day (part 1: 2 hours, 2: 3 hours, 3: 1 hour, 4: 2 hours, 5: 30 minutes)",
        checks: &["Exercise", "Linearizable", "ElectionSafety", "Liveness", "Converged"],
        levels: &[
            Level {
                name: "the view service",
                file: "scenarios/exercises/primary-backup-1-views.ron",
                scenario: include_str!("../scenarios/exercises/primary-backup-1-views.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "replication and state transfer",
                file: "scenarios/exercises/primary-backup-2-replication.ron",
                scenario: include_str!("../scenarios/exercises/primary-backup-2-replication.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "crashes and restarts",
                file: "scenarios/exercises/primary-backup-3-restarts.ron",
                scenario: include_str!("../scenarios/exercises/primary-backup-3-restarts.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "an unreliable network",
                file: "scenarios/exercises/primary-backup-4-unreliable.ron",
                scenario: include_str!("../scenarios/exercises/primary-backup-4-unreliable.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "a deposed primary",
                file: "scenarios/exercises/primary-backup-5-deposed.ron",
                scenario: include_str!("../scenarios/exercises/primary-backup-5-deposed.ron"),
                search: None,
                seeds: 100,
            },
        ],
        validate: checked!(primary_backup_node, primary_backup),
        sim: |p, spec, c, t| Box::new(primary_backup_node::sim(p, spec.client_retries, c, t)),
        search: Some(|p, spec, c, checks, config| {
            let sim = primary_backup_node::sim(p, spec.client_retries, c, TraceLevel::HashOnly);
            clustersim::explore::exhaustive::search(sim, checks, config)
        }),
    },
    Exercise {
        name: "broadcast",
        file: "exercises/broadcast.rs",
        source: include_str!("broadcast.rs"),
        task: "broadcast to 25 nodes: flood, survive partitions, then meet message and latency budgets",
        effort: "3 hours",
        checks: &["Exercise"],
        levels: &[
            Level {
                name: "flood",
                file: "scenarios/exercises/broadcast-1-flood.ron",
                scenario: include_str!("../scenarios/exercises/broadcast-1-flood.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "partitions",
                file: "scenarios/exercises/broadcast-2-partition.ron",
                scenario: include_str!("../scenarios/exercises/broadcast-2-partition.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "at most 30 messages a value",
                file: "scenarios/exercises/broadcast-3-efficient.ron",
                scenario: include_str!("../scenarios/exercises/broadcast-3-efficient.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "fast and efficient",
                file: "scenarios/exercises/broadcast-4-fast.ron",
                scenario: include_str!("../scenarios/exercises/broadcast-4-fast.ron"),
                search: None,
                seeds: SEEDS,
            },
        ],
        validate: checked!(broadcast),
        search: None,
        sim: |p, _, c, t| Box::new(broadcast::sim(p, c, t)),
    },
    Exercise {
        name: "raft",
        file: "exercises/raft.rs",
        source: include_str!("raft.rs"),
        task: "Raft in four parts (leader election, log replication, persistence, a key-value service with client retries), then four levels that hunt for rare bugs; part 2: client sessions, reads without the log (ReadIndex), snapshots and InstallSnapshot, a message and latency budget",
        effort: "2 days (part 1: 3 hours, 2: 6 hours, 3: 2 hours, 4: 2 hours), part 2 about a day and a half (snapshots: half a day)",
        checks: &["Exercise", "Linearizable", "Durable", "ElectionSafety", "Converged"],
        levels: &[
            Level {
                name: "leader election",
                file: "scenarios/exercises/raft-1-election.ron",
                scenario: include_str!("../scenarios/exercises/raft-1-election.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "log replication",
                file: "scenarios/exercises/raft-2-replication.ron",
                scenario: include_str!("../scenarios/exercises/raft-2-replication.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "persistence",
                file: "scenarios/exercises/raft-3-persistence.ron",
                scenario: include_str!("../scenarios/exercises/raft-3-persistence.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "key-value service with client retries",
                file: "scenarios/exercises/raft-4-kv.ron",
                scenario: include_str!("../scenarios/exercises/raft-4-kv.ron"),
                search: None,
                seeds: 50,
            },
            Level {
                name: "crashes at any moment",
                file: "scenarios/exercises/raft-5-crashes.ron",
                scenario: include_str!("../scenarios/exercises/raft-5-crashes.ron"),
                search: None,
                seeds: 100,
            },
            Level {
                name: "votes that survive a restart",
                file: "scenarios/exercises/raft-6-votes.ron",
                scenario: include_str!("../scenarios/exercises/raft-6-votes.ron"),
                search: None,
                seeds: 100,
            },
            Level {
                name: "leaders isolated in turn (Figure 8)",
                file: "scenarios/exercises/raft-7-figure8.ron",
                scenario: include_str!("../scenarios/exercises/raft-7-figure8.ron"),
                search: None,
                seeds: 1000,
            },
            Level {
                name: "every path of a small election",
                file: "scenarios/exercises/raft-8-search.ron",
                scenario: include_str!("../scenarios/exercises/raft-8-search.ron"),
                search: Some(Search {
                    window: Duration(0),
                    crashes: 1,
                    disk_faults: 0,
                    targets: "server",
                    restarts: true,
                    max_depth: 400,
                    max_states: 1_000_000,
                }),
                seeds: 1,
            },
            Level {
                name: "client sessions",
                file: "scenarios/exercises/raft-9-sessions.ron",
                scenario: include_str!("../scenarios/exercises/raft-9-sessions.ron"),
                search: None,
                seeds: 50,
            },
            Level {
                name: "reads without the log (ReadIndex)",
                file: "scenarios/exercises/raft-10-reads.ron",
                scenario: include_str!("../scenarios/exercises/raft-10-reads.ron"),
                search: None,
                seeds: 100,
            },
            Level {
                name: "snapshots and InstallSnapshot",
                file: "scenarios/exercises/raft-11-snapshots.ron",
                scenario: include_str!("../scenarios/exercises/raft-11-snapshots.ron"),
                search: None,
                seeds: 100,
            },
            Level {
                name: "a message and latency budget per operation",
                file: "scenarios/exercises/raft-12-performance.ron",
                scenario: include_str!("../scenarios/exercises/raft-12-performance.ron"),
                search: None,
                seeds: SEEDS,
            },
        ],
        validate: checked!(raft_node, raft),
        sim: |p, spec, c, t| Box::new(raft_node::sim(p, spec, c, t)),
        search: Some(|p, spec, c, checks, config| {
            let sim = raft_node::sim(p, spec, c, TraceLevel::HashOnly);
            clustersim::explore::exhaustive::search(sim, checks, config)
        }),
    },
    Exercise {
        name: "wal",
        file: "exercises/wal.rs",
        source: include_str!("wal.rs"),
        task: "a write-ahead log on one server that loses no acknowledged write through power loss, torn writes, failed syncs, corruption and a full disk",
        effort: "4 hours (levels 1-2: 1 hour, 3: 30 minutes, 4: 2 hours, 5: 30 minutes)",
        checks: &["Exercise", "Linearizable", "Durable"],
        levels: &[
            Level {
                name: "power loss",
                file: "scenarios/exercises/wal-1-power-loss.ron",
                scenario: include_str!("../scenarios/exercises/wal-1-power-loss.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "torn writes and crashes inside a handler",
                file: "scenarios/exercises/wal-2-torn.ron",
                scenario: include_str!("../scenarios/exercises/wal-2-torn.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "failed syncs (fsyncgate)",
                file: "scenarios/exercises/wal-3-sync-failure.ron",
                scenario: include_str!("../scenarios/exercises/wal-3-sync-failure.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "corruption, lost writes and a full disk, under the fault atlas",
                file: "scenarios/exercises/wal-4-corruption.ron",
                scenario: include_str!("../scenarios/exercises/wal-4-corruption.ron"),
                search: None,
                seeds: SEEDS,
            },
            Level {
                name: "every path of a small run",
                file: "scenarios/exercises/wal-5-search.ron",
                scenario: include_str!("../scenarios/exercises/wal-5-search.ron"),
                search: Some(Search {
                    window: Duration(0),
                    crashes: 1,
                    disk_faults: 1,
                    targets: "server",
                    restarts: true,
                    max_depth: 200,
                    max_states: 1_000_000,
                }),
                seeds: 1,
            },
        ],
        validate: checked!(wal_node, wal),
        sim: |p, _, c, t| Box::new(wal_node::sim(p, c, t)),
        search: Some(|p, _, c, checks, config| {
            let sim = wal_node::sim(p, c, TraceLevel::HashOnly);
            clustersim::explore::exhaustive::search(sim, checks, config)
        }),
    },
];

/// Finds an exercise by name; the error names every exercise.
pub fn find(name: &str) -> std::result::Result<&'static Exercise, String> {
    EXERCISES.iter().find(|e| e.name == name).ok_or_else(|| {
        format!(
            "there is no exercise `{name}`; the exercises are: {}",
            names().join(", ")
        )
    })
}

/// The names of every exercise.
pub fn names() -> Vec<&'static str> {
    EXERCISES.iter().map(|e| e.name).collect()
}

/// The `protocol: Exercise(...)` parameters of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSpec {
    /// Which exercise, e.g. "reliable-ping".
    pub name: String,
    /// Run the reference solution instead of the student's code (needs `clustersim-solutions`).
    #[serde(default)]
    pub solution: bool,
    /// For exercises with a key-value client: how many times a request that timed out is sent
    /// again before it counts as unknown (0: never).
    #[serde(default)]
    pub client_retries: u32,
    /// Lab `raft` only: the shortest and longest election timeout (default 150 ms and 300 ms).
    #[serde(default)]
    pub election_timeout: Option<Range>,
    /// Lab `raft` only: the most entries one AppendEntries carries (default 64).
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// Lab `raft` only: clients with sessions (every attempt at an operation carries its
    /// sequence number; `ClientConfig::sessions`).
    #[serde(default)]
    pub sessions: bool,
    /// Lab `raft` only: each client writes values from a cycle of this many (0: every value new).
    #[serde(default)]
    pub reused_values: u64,
    /// Lab `raft` only, with `sessions`: a request every server refused waits out its timeout
    /// and goes round again (`ClientConfig::wait_out_refusals`) instead of ending.
    #[serde(default)]
    pub wait_out_refusals: bool,
    /// Lab `raft` only: a server takes a snapshot once its log holds this many applied entries
    /// (level 11; `None`: never).
    #[serde(default)]
    pub snapshot_threshold: Option<u64>,
}

/// A range of durations, both ends included: `(min: "150ms", max: "300ms")`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The shortest.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

impl ExerciseSpec {
    /// Refuses timing overrides the exercise does not take or that are out of range.
    fn validate(&self) -> std::result::Result<(), String> {
        let raft_only = self.election_timeout.is_some()
            || self.max_batch.is_some()
            || self.sessions
            || self.reused_values > 0
            || self.wait_out_refusals
            || self.snapshot_threshold.is_some();
        if raft_only && self.name != "raft" {
            return Err(format!(
                "`election_timeout`, `max_batch`, `sessions`, `reused_values`, `wait_out_refusals` and `snapshot_threshold` are parameters of the raft lab, not of `{}`",
                self.name
            ));
        }
        if self
            .snapshot_threshold
            .is_some_and(|t| t == 0 || t > 1_000_000)
        {
            return Err("snapshot_threshold must be between 1 and 1000000".into());
        }
        if let Some(Range { min: lo, max: hi }) = self.election_timeout {
            if lo.0 == 0 || lo > hi || hi > Duration::from_secs(60) {
                return Err(format!(
                    "election_timeout must be (min, max) with 0 < min <= max <= 60s, not ({lo}, {hi})"
                ));
            }
        }
        if self.max_batch.is_some_and(|b| b == 0 || b > 1_000_000) {
            return Err("max_batch must be between 1 and 1000000".into());
        }
        Ok(())
    }
}

/// An exercise's parameters with the code to run; `None` when the code asked for is not in this
/// build (the reference solutions outside `clustersim-solutions`).
pub struct ExerciseRun {
    spec: ExerciseSpec,
    code: Option<Code>,
}

impl ExerciseRun {
    /// A run of exercise `spec.name` with `code`.
    pub fn new(spec: ExerciseSpec, code: Option<Code>) -> Self {
        ExerciseRun { spec, code }
    }
}

// Every exercise has its own node type, so the one `Exercise` protocol implements the
// registry's type-erased `AnyProtocol` and picks the exercise from its parameters.
impl AnyProtocol for ExerciseRun {
    fn name(&self) -> &'static str {
        "Exercise"
    }

    fn validate(&self, plan: &Plan) -> std::result::Result<(), String> {
        let exercise = find(&self.spec.name)?;
        self.spec.validate()?;
        let Some(code) = self.code else {
            return Err(format!(
                "the reference solutions are not part of {PROGRAM}; grade them with \
                 `clustersim-solutions check-exercise {}` (the crate in solutions/)",
                self.spec.name
            ));
        };
        (exercise.validate)(plan, code)
    }

    fn checks(&self) -> &'static [&'static str] {
        find(&self.spec.name).map_or(&["Exercise"], |e| e.checks)
    }

    // Without it `clustersim-exercises check` refused every exercise, the searched levels'
    // own scenarios (raft-8-search.ron's header command) included.
    fn searchable(&self) -> bool {
        self.code.is_some() && find(&self.spec.name).is_ok_and(|e| e.search.is_some())
    }

    fn exhaustive(
        &self,
        plan: &Plan,
        checks: &[Box<dyn AnyCheck>],
        config: &ExhaustiveConfig,
    ) -> Option<ExhaustiveOutcome> {
        let code = self.code?;
        let search = find(&self.spec.name).ok()?.search?;
        Some(search(plan, &self.spec, code, checks, config))
    }

    fn stepper(&self, plan: &Plan) -> Option<Box<dyn Stepper>> {
        let code = self.code?;
        find(&self.spec.name)
            .ok()
            .map(|e| (e.sim)(plan, &self.spec, code, TraceLevel::Full))
    }

    fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome {
        match (find(&self.spec.name), self.code) {
            (Ok(e), Some(code)) => (e.sim)(plan, &self.spec, code, trace).finish(),
            // validate() rejected unknown names and missing code before any run could start
            (Err(e), _) => unreachable!("{e}"),
            (_, None) => unreachable!("validate() refuses a run without code"),
        }
    }
}

/// How one graded run went.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// A check failed: the verdict and a summary of the run around it.
    Failed {
        /// The first failing verdict.
        verdict: Verdict,
        /// Counters, faults and the history entries around the failure.
        summary: Vec<String>,
    },
    /// The code hit a `todo!()`.
    NotImplemented {
        /// The panic message and where it was raised.
        message: String,
    },
    /// The code panicked for another reason.
    Panicked {
        /// The panic message and where it was raised.
        message: String,
    },
    /// Nothing failed, but not everything was judged (a search that ran out of its budget).
    Inconclusive {
        /// What was left unjudged, and why.
        reason: String,
    },
}

/// How one level went: each seed and its run's outcome.
#[derive(Clone, Debug)]
pub struct LevelGrade {
    /// The level's position, from 1.
    pub number: usize,
    /// What the level asks.
    pub name: &'static str,
    /// The level's scenario path.
    pub file: &'static str,
    /// Each seed and how its run went (one entry for a searched level).
    pub runs: Vec<(u64, Outcome)>,
    /// For a searched level: distinct states reached, and whether that was every path.
    pub searched: Option<(u64, bool)>,
}

impl LevelGrade {
    /// True when every run passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(|(_, o)| matches!(o, Outcome::Passed))
    }
}

/// The result of grading one exercise, level by level, over several seeds.
#[derive(Clone, Debug)]
pub struct Grade {
    /// The exercise's name.
    pub name: &'static str,
    /// The file the student edits.
    pub file: &'static str,
    /// True when the reference solution was graded.
    pub solution: bool,
    /// How the seeds were chosen.
    pub seeds: Seeds,
    /// The number the drawn seeds came from (`--draw` grades the same seeds again).
    pub draw: u64,
    /// How many levels the exercise has.
    pub of: usize,
    /// The levels graded, in order.
    pub levels: Vec<LevelGrade>,
    /// Each seed of the levels graded and how its run went, level after level.
    pub runs: Vec<(u64, Outcome)>,
}

impl Grade {
    /// True when every run of every level graded passed.
    pub fn passed(&self) -> bool {
        self.levels.iter().all(LevelGrade::passed)
    }

    /// True when some run hit a `todo!()`.
    pub fn not_implemented(&self) -> bool {
        self.runs
            .iter()
            .any(|(_, o)| matches!(o, Outcome::NotImplemented { .. }))
    }

    /// The grading report: per level the seeds run and their verdict, the failing seeds with
    /// details of the first, the verdict of the whole.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let whose = if self.solution {
            "reference solution, solutions/".to_string()
        } else {
            format!("your code, {}", self.file)
        };
        let how_many = match self.seeds.count {
            Some(n) => format!("{n} seed{} per level", if n == 1 { "" } else { "s" }),
            None => "each level's seeds".to_string(),
        };
        let _ = writeln!(o, "check-exercise {} ({whose}): {how_many}", self.name);
        let origin = if self.seeds.draw.is_some() {
            "drawn from --draw"
        } else if self.solution {
            "drawn from the exercise file's hash"
        } else {
            "drawn from your file's hash, new whenever it changes"
        };
        let _ = writeln!(
            o,
            "  the scenario's own seed, then seeds {origin} ({}; --draw {} grades the same seeds again)",
            self.draw, self.draw
        );
        let mut explained = false;
        for level in &self.levels {
            if self.of > 1 {
                let _ = writeln!(
                    o,
                    "level {} of {}, {} ({}):",
                    level.number, self.of, level.name, level.file
                );
            }
            if let Some((states, _)) = level.searched {
                if level.passed() {
                    let _ = writeln!(o, "  every path ({states} distinct states): pass");
                }
            } else if level.passed() {
                let seeds: Vec<String> = level.runs.iter().map(|(s, _)| s.to_string()).collect();
                let shown = if seeds.len() > 4 {
                    format!("{}, ... {}", seeds[..3].join(", "), seeds[seeds.len() - 1])
                } else {
                    seeds.join(", ")
                };
                let _ = writeln!(
                    o,
                    "  {} seed{} ({shown}): pass",
                    seeds.len(),
                    if seeds.len() == 1 { "" } else { "s" }
                );
                continue;
            }
            let failing: Vec<&(u64, Outcome)> = level
                .runs
                .iter()
                .filter(|(_, r)| !matches!(r, Outcome::Passed))
                .collect();
            if level.searched.is_none() && failing.len() < level.runs.len() {
                let _ = writeln!(o, "  {} of {} seeds fail:", failing.len(), level.runs.len());
            }
            const SHOWN: usize = 5;
            for (seed, outcome) in failing.iter().take(SHOWN) {
                let seed = *seed;
                match outcome {
                    Outcome::Passed => {}
                    Outcome::Inconclusive { reason } => {
                        let (states, _) = level.searched.unwrap_or_default();
                        let _ =
                            writeln!(o, "  INCONCLUSIVE after {states} distinct states: {reason}");
                    }
                    Outcome::NotImplemented { message } => {
                        let _ = writeln!(o, "  seed {seed}: not implemented yet: {message}");
                    }
                    Outcome::Panicked { message } => {
                        let _ = writeln!(o, "  seed {seed}: your code panicked: {message}");
                        if !explained && level.searched.is_none() && !self.solution {
                            explained = true;
                            let _ = writeln!(
                                o,
                                "    replay it: {PROGRAM} run {} --seed {seed} --timeline",
                                level.file
                            );
                        }
                    }
                    Outcome::Failed { verdict, summary } => {
                        let at = if level.searched.is_some() {
                            "  a path".to_string()
                        } else {
                            format!("  seed {seed}")
                        };
                        let _ = writeln!(
                            o,
                            "{at}: {} {}: {}",
                            verdict.status, verdict.check, verdict.summary
                        );
                        if !explained {
                            explained = true;
                            for d in &verdict.details {
                                let _ = writeln!(o, "      {d}");
                            }
                            for line in summary {
                                let _ = writeln!(o, "    {line}");
                            }
                            if level.searched.is_none() && self.solution {
                                let _ = writeln!(
                                    o,
                                    "    replay it: write `solution: true` in the protocol of {}, then clustersim-solutions run {} --seed {seed} --timeline",
                                    level.file, level.file
                                );
                            } else if level.searched.is_none() {
                                let _ = writeln!(
                                    o,
                                    "    replay it: {PROGRAM} run {} --seed {seed} --timeline",
                                    level.file
                                );
                            }
                        }
                    }
                }
            }
            if failing.len() > SHOWN {
                let rest: Vec<String> = failing[SHOWN..]
                    .iter()
                    .take(20)
                    .map(|(s, _)| s.to_string())
                    .collect();
                let more = if failing.len() > SHOWN + 20 {
                    ", ..."
                } else {
                    ""
                };
                let _ = writeln!(o, "  also failing: seeds {}{more}", rest.join(", "));
            }
        }
        let graded = self.levels.len();
        let inconclusive = self
            .runs
            .iter()
            .any(|(_, r)| matches!(r, Outcome::Inconclusive { .. }));
        if self.passed() && graded == self.of {
            let _ = writeln!(o, "PASS: {} passes on every seed", self.name);
        } else if self.passed() {
            let _ = writeln!(
                o,
                "PASS: {} passes level{} {} on every seed",
                self.name,
                if graded == 1 { "" } else { "s" },
                self.levels
                    .iter()
                    .map(|l| l.number.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        } else if self.not_implemented() {
            let _ = writeln!(
                o,
                "FAIL: not implemented yet; replace the todo!() in {} and run this again",
                self.file
            );
        } else {
            let passed: Vec<String> = self
                .levels
                .iter()
                .filter(|l| l.passed())
                .map(|l| l.number.to_string())
                .collect();
            let passed = if self.of > 1 {
                format!(
                    " (levels passed: {})",
                    if passed.is_empty() {
                        "none".to_string()
                    } else {
                        passed.join(", ")
                    }
                )
            } else {
                String::new()
            };
            let why = if inconclusive {
                "NOT PASSED: a level could not be judged completely; "
            } else {
                "FAIL: "
            };
            let _ = writeln!(o, "{why}{} does not pass yet{passed}", self.name);
        }
        o
    }
}

/// How a grading picks the seeds of each level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seeds {
    /// Seeds per level; `None`: each level's own count ([`Level::seeds`]).
    pub count: Option<u64>,
    /// The number the seeds are drawn from; `None`: a hash of the exercise's file in this build,
    /// so the seeds change whenever the code does and nobody can tune a solution to them.
    pub draw: Option<u64>,
}

impl Seeds {
    /// `count` seeds per level, drawn from `draw`.
    pub fn new(count: Option<u64>, draw: Option<u64>) -> Self {
        Seeds { count, draw }
    }

    /// The seeds of `level`: its scenario's own seed first, then seeds drawn from `draw` and the
    /// level's file, all distinct.
    pub fn of(&self, level: &Level, first: u64, draw: u64) -> Vec<u64> {
        let count = self.count.unwrap_or(level.seeds).max(1);
        let mut state = draw ^ fnv1a(level.file.as_bytes());
        let mut seeds = vec![first];
        let mut seen = std::collections::BTreeSet::from([first]);
        while (seeds.len() as u64) < count {
            // Seeds a person can type: below a billion.
            let seed = splitmix64(&mut state) % 1_000_000_000;
            if seen.insert(seed) {
                seeds.push(seed);
            }
        }
        seeds
    }
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions and machines.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's step: the next well-mixed number of a sequence.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The draw of exercise `e` in this build: a hash of the file the student edits.
pub fn build_draw(e: &Exercise) -> u64 {
    draw_of(e.source)
}

/// The draw of a file whose text is `source`.
pub fn draw_of(source: &str) -> u64 {
    fnv1a(source.as_bytes()) % 1_000_000_000
}

/// Grades the student's code for exercise `name` (every level, or only `level`, from 1) with
/// [`registry()`] and the seeds `seeds` picks. A panic in the code becomes an `Outcome`.
pub fn grade(name: &str, seeds: Seeds, level: Option<usize>) -> Result<Grade> {
    grade_with(&registry(), name, false, seeds, level)
}

/// Grades exercise `name` with `registry` (whose `Exercise` protocol decides what code runs),
/// the reference solution if `solution`, every level or only `level`, on the seeds `seeds`
/// picks for each level.
pub fn grade_with(
    registry: &Registry,
    name: &str,
    solution: bool,
    seeds: Seeds,
    level: Option<usize>,
) -> Result<Grade> {
    grade_with_progress(registry, name, solution, seeds, level, &|_, _| {})
}

/// Grades as [`grade_with`] does, calling `started(level, seed)` before each run (the
/// scenario's own seed for a searched level).
pub fn grade_with_progress(
    registry: &Registry,
    name: &str,
    solution: bool,
    seeds: Seeds,
    level: Option<usize>,
    started: &dyn Fn(usize, u64),
) -> Result<Grade> {
    let exercise = find(name).map_err(Error::Usage)?;
    if seeds.count == Some(0) {
        return Err(Error::Usage("--seeds must be at least 1".into()));
    }
    if seeds.count.is_some_and(|n| n > 1_000_000) {
        return Err(Error::Usage("--seeds must be at most 1000000".into()));
    }
    let of = exercise.levels.len();
    if let Some(l) = level {
        if l == 0 || l > of {
            return Err(Error::Usage(format!(
                "--level must be between 1 and {of} for `{name}` (it has {of} level{})",
                if of == 1 { "" } else { "s" }
            )));
        }
    }
    let draw = seeds.draw.unwrap_or_else(|| build_draw(exercise));
    // Panics in the student's code end their run quietly; the grade reports them.
    clustersim::sim::quiet_panics();
    let mut levels = Vec::new();
    let mut all = Vec::new();
    for (i, lvl) in exercise.levels.iter().enumerate() {
        if level.is_some_and(|l| l != i + 1) {
            continue;
        }
        let (runs, searched) = grade_level(registry, lvl, solution, &seeds, draw, &|seed| {
            started(i + 1, seed)
        })?;
        all.extend(runs.iter().cloned());
        let todo = runs
            .iter()
            .any(|(_, o)| matches!(o, Outcome::NotImplemented { .. }));
        levels.push(LevelGrade {
            number: i + 1,
            name: lvl.name,
            file: lvl.file,
            runs,
            searched,
        });
        // A todo!() is reached on every level after it too; one level says it.
        if todo {
            break;
        }
    }
    Ok(Grade {
        name: exercise.name,
        file: exercise.file,
        solution,
        seeds,
        draw,
        of,
        levels,
        runs: all,
    })
}

/// A level's runs, and for a searched level its distinct states and whether it was complete.
type LevelRuns = (Vec<(u64, Outcome)>, Option<(u64, bool)>);

fn grade_level(
    registry: &Registry,
    level: &Level,
    solution: bool,
    seeds: &Seeds,
    draw: u64,
    started: &dyn Fn(u64),
) -> Result<LevelRuns> {
    let origin = level.file.to_string();
    let mut scenario = parse(level.scenario, &origin)?;
    let mut spec: ExerciseSpec = scenario.protocol.params().map_err(|e| Error::Parse {
        path: origin.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    spec.solution = solution;
    scenario.protocol = Spec::of("Exercise", &spec);
    // Fail early on a broken scenario, with its own error, before hiding panics.
    let prepared = registry.prepare(&scenario, &origin)?;
    if let Some(search) = level.search {
        let config = ExhaustiveConfig::default()
            .max_depth(search.max_depth)
            .window(search.window)
            .crashes(search.crashes)
            .disk_faults(search.disk_faults)
            .drops(0)
            .isolations(0)
            .targets(prepared.plan.roster.members(search.targets))
            .restarts(search.restarts)
            .max_states(search.max_states);
        started(scenario.seed);
        let (out, _) = check_scenario(registry, &scenario, &origin, &config)?;
        let outcome = match &out.violation {
            None => Outcome::Passed,
            Some(v) => {
                match &v.outcome.panic {
                    Some(p) => panicked(p),
                    None => match v.failed.first() {
                        Some(verdict) => {
                            let mut summary = vec![format!(
                            "search: {} distinct states, the failing path is {} choices long: {}",
                            out.unique,
                            v.steps.len(),
                            v.steps
                                .iter()
                                .map(|s| format!("{:?}", s.map(|n| prepared.plan.roster.name(*n).to_string())))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )];
                            summary.extend(run_summary(&v.outcome, verdict));
                            Outcome::Failed {
                                verdict: verdict.clone(),
                                summary,
                            }
                        }
                        None => Outcome::Passed,
                    },
                }
            }
        };
        // A search cut short judged only some paths: that is not a pass.
        let outcome = match outcome {
            Outcome::Passed if !out.complete => Outcome::Inconclusive {
                reason: format!(
                    "the search stopped at its budget of {} distinct states before it had \
                     tried every path; a pass needs every path (a smaller state, or fewer \
                     events, makes the search fit)",
                    search.max_states
                ),
            },
            other => other,
        };
        return Ok((
            vec![(scenario.seed, outcome)],
            Some((out.unique, out.complete)),
        ));
    }
    let mut runs = Vec::new();
    for seed in seeds.of(level, scenario.seed, draw) {
        started(seed);
        let opts = RunOptions::default().seed(Some(seed));
        let report = run_scenario(registry, &scenario, &origin, &opts)?;
        let outcome = match &report.outcome.panic {
            Some(p) => panicked(p),
            None if report.outcome.stop == StopReason::EventLimit => event_limit(&report),
            None => judge(&report),
        };
        // Every seed reaches the same todo!(); one line says it.
        let stop = matches!(outcome, Outcome::NotImplemented { .. });
        runs.push((seed, outcome));
        if stop {
            break;
        }
    }
    Ok((runs, None))
}

/// A run a panic ended: `todo!()` is work not done yet, anything else a bug in the code.
fn panicked(panic: &clustersim::sim::Panic) -> Outcome {
    let text = &panic.message;
    let message = match &panic.location {
        Some(at) => format!("{text} (at {at})"),
        None => text.clone(),
    };
    if text.starts_with("not yet implemented") || text.starts_with("not implemented") {
        Outcome::NotImplemented { message }
    } else {
        Outcome::Panicked { message }
    }
}

/// A run that stopped at its event limit was cut short: what the checks say of it (often that
/// it was too short to judge) matters less than why it was.
fn event_limit(report: &Report) -> Outcome {
    let out = &report.outcome;
    let verdict = Verdict::fail(
        "EventLimit",
        format!(
            "the run stopped at its event limit ({} events by {} of simulated time): a message \
             or timer storm?",
            out.stats.events, out.end_time
        ),
    );
    let mut summary = run_summary(out, &verdict);
    if let Some(v) = report.verdicts.iter().find(|v| v.status != Status::Pass) {
        summary.push(format!(
            "of the run up to there: {} {}: {}",
            v.status, v.check, v.summary
        ));
    }
    Outcome::Failed { verdict, summary }
}

fn judge(report: &Report) -> Outcome {
    // A goal that could not judge (nothing acknowledged, nothing read) is not met either.
    let Some(verdict) = report.verdicts.iter().find(|v| v.status != Status::Pass) else {
        return Outcome::Passed;
    };
    Outcome::Failed {
        verdict: verdict.clone(),
        summary: run_summary(&report.outcome, verdict),
    }
}

/// A few lines that explain a failed run: counters, faults, and the history around the failure.
fn run_summary(out: &RunOutcome, verdict: &Verdict) -> Vec<String> {
    let st = &out.stats;
    let names = out.roster.names();
    let mut lines = vec![format!(
        "run: {} events, messages sent {} delivered {} dropped {} duplicated {}, ended at {}",
        st.events,
        st.sent,
        st.delivered,
        st.dropped_total(),
        st.duplicated,
        out.end_time
    )];
    for (t, f) in &out.faults {
        lines.push(format!("fault at {t}: {}", f.describe(names)));
    }
    let entries = out.history.entries();
    let shown: Vec<clustersim::history::Entry> = match verdict.window {
        Some((lo, hi)) => entries.filter(|e| e.time >= lo && e.time <= hi).collect(),
        None => Vec::new(),
    };
    let marked: Vec<usize> = verdict.culprits.clone();
    if !shown.is_empty() {
        lines.push("history around the failure (* = the operations the check names):".into());
        let skip = shown.len().saturating_sub(14);
        if skip > 0 {
            lines.push(format!("  ... {skip} earlier entries in the window"));
        }
        for e in shown.iter().skip(skip) {
            let mark = if marked.contains(&e.index) { '*' } else { ' ' };
            let phase = match e.phase {
                Phase::Invoke => "invoke",
                Phase::Ok => "ok",
                Phase::Fail => "fail",
                Phase::Info => "info",
                Phase::Event => "event",
            };
            lines.push(format!(
                "{mark} {:>9} {:<10} {:<6} {}",
                e.time.to_string(),
                names.get(e.node.index()).map(String::as_str).unwrap_or("?"),
                phase,
                e.op
            ));
        }
    }
    lines
}
