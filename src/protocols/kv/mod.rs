//! Replicated key-value stores and the workload client they share.
//!
//! `client` is protocol-agnostic (Raft reuses it); `primary_backup` and `quorum` are the two
//! replication designs of issue 4; `view_service` decides primary-backup's views when its
//! `view_service` option is on.

pub mod client;
pub mod primary_backup;
pub mod quorum;
pub mod view_service;

use crate::node::Snapshot;

/// A key-value map as the `Converged` check compares replicas: key `k` as `k{k}`, values as text.
pub fn snapshot<'a>(kv: impl IntoIterator<Item = (&'a u64, &'a u64)>) -> Snapshot {
    kv.into_iter()
        .map(|(k, v)| (format!("k{k}"), v.to_string()))
        .collect()
}
