//! Reference solutions of the book's exercises and labs, kept out of the students' crate.
//!
//! `clustersim-exercises` holds the scaffolding and the student's pieces; this crate fills the
//! pieces in, one table of functions per exercise, and registers an `Exercise` protocol that runs
//! them when a scenario says `solution: true`. A course hands out `exercises/` without
//! `solutions/`; the students' crate builds and grades without it. `tests/grading.rs` proves,
//! level by level, that every starter fails and every solution passes.

pub mod anti_entropy;
pub mod broadcast;
pub mod durable_counter;
pub mod exactly_once;
pub mod idempotent_sink;
pub mod lease_queue;
pub mod mistakes;
pub mod primary_backup;
pub mod raft;
pub mod reliable_ping;
pub mod sync_replication;
pub mod wal;

use clustersim::registry::{AnyProtocol, Registry};
use clustersim::scenario::{ParamsError, Spec};
use clustersim_exercises::{self as exercises, Code, ExerciseRun, ExerciseSpec};

/// The program that runs the reference solutions, named in replay commands.
pub const PROGRAM: &str = "clustersim-solutions";

/// The reference solution of exercise `name`; `None` for a name no exercise has.
pub fn code(name: &str) -> Option<Code> {
    Some(match name {
        "reliable-ping" => Code::of(&reliable_ping::FUNCTIONS),
        "lease-queue" => Code::of(&lease_queue::FUNCTIONS),
        "idempotent-sink" => Code::of(&idempotent_sink::FUNCTIONS),
        "durable-counter" => Code::of(&durable_counter::FUNCTIONS),
        "sync-replication" => Code::of(&sync_replication::FUNCTIONS),
        "anti-entropy" => Code::of(&anti_entropy::FUNCTIONS),
        "exactly-once" => Code::of(&exactly_once::FUNCTIONS),
        "broadcast" => Code::of(&broadcast::FUNCTIONS),
        "primary-backup" => Code::of(&primary_backup::FUNCTIONS),
        "raft" => Code::of(&raft::FUNCTIONS),
        "wal" => Code::of(&wal::FUNCTIONS),
        _ => return None,
    })
}

/// Builds an exercise run: the reference solution when the scenario says `solution: true`.
fn build(spec: &Spec) -> Result<Box<dyn AnyProtocol>, ParamsError> {
    let spec: ExerciseSpec = spec.params()?;
    let chosen = if spec.solution {
        code(&spec.name).or(Some(Code::Student))
    } else {
        Some(Code::Student)
    };
    Ok(Box::new(ExerciseRun::new(spec, chosen)))
}

/// The shipped registry plus the exercises, whose `solution: true` runs the reference solutions.
pub fn registry() -> Registry {
    exercises::register(Registry::shipped().named(PROGRAM), build)
}
