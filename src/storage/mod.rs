//! Simulated storage: each node's disk (`disk.rs`) and what can go wrong with it (`faults.rs`).

mod disk;
mod faults;

pub use disk::Storage;
pub use faults::{DiskRates, DiskRule, Keep, ReadError, SyncError, WriteError};
