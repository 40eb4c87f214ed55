//! Reference solutions: for each exercise, the student's piece filled in.
//!
//! Graded with `clustersim-exercises check-exercise NAME --solution`; `tests/exercises.rs` proves each one
//! passes where the starter fails. Read them after you have tried.

pub mod anti_entropy;
pub mod durable_counter;
pub mod idempotent_sink;
pub mod lease_queue;
pub mod reliable_ping;
pub mod sync_replication;
