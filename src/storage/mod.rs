//! Simulated storage: each node's disk (`disk.rs`); what can go wrong with it joins it here.

mod disk;

pub use disk::Storage;
