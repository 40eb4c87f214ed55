//! Simulated storage: each node's disk (`disk.rs`), what can go wrong with it (`faults.rs`),
//! and the fault atlas that keeps drawn damage recoverable (`atlas.rs`).

mod atlas;
mod disk;
mod faults;

pub use disk::Storage;
pub use faults::{DiskRates, DiskRule, Keep, ReadError, SyncError, WriteError};
