//! Replicated key-value stores and the workload client they share.
//!
//! `client` is protocol-agnostic (Raft reuses it); `primary_backup` and `quorum` are the two
//! replication designs of issue 4.

pub mod client;
pub mod primary_backup;
pub mod quorum;
