//! What a real disk does that a kind one does not: power loss keeping some unsynced writes,
//! failed syncs that drop data (fsyncgate), lost and misdirected writes, corruption, unreadable
//! sectors, a full disk. The errors a protocol sees, the per-node rates a scenario sets, and the
//! state a node's disk keeps while faults are on (none at all while they are off).

use super::atlas::Atlas;
use crate::sim::rng::SimRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which of the writes not yet synced a power loss keeps (each a seeded draw).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Keep {
    /// The first k of them, in the order they were made (k uniform from none to all).
    Prefix,
    /// Any subset, each kept with probability 1/2, applied in the order they were made.
    #[default]
    Subset,
    /// The first k of a random permutation, applied in that order: a key may end with an
    /// older value than one written after it.
    Reordered,
    /// None of them (as `Crash`; no draw): the exhaustive search's power loss.
    Nothing,
}

/// A sync that failed: the writes it covered are not durable, and a retry will not make them so.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The disk reported an I/O error; the writes since the last sync were dropped from the
    /// disk (reads still see them until a crash), as Linux does after a failed fsync.
    #[error("sync failed: the writes since the last sync are not durable and never will be")]
    Failed,
}

/// A read that did not return the stored value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A latent sector error: the record cannot be read (until it is written again).
    #[error("the record cannot be read (latent sector error)")]
    Unreadable,
    /// The record was written with a checksum (`put_checked`) and no longer matches it.
    #[error("the record is corrupt (its checksum does not match)")]
    Corrupt,
}

/// A write that did not happen.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The disk is full: nothing was written (deletes still work).
    #[error("the disk is full")]
    DiskFull,
}

/// Per-node disk fault rates: `disk: [(nodes: ["n1"], sync_fail: 0.01, corrupt: 0.001)]`.
/// A rule sets every rate of its nodes (a later rule naming a node replaces an earlier one);
/// rates are per synced key (lost, misdirected, corrupt, unreadable) or per sync (sync_fail).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskRule {
    /// Node or role names the rule applies to; empty means every node.
    pub nodes: Vec<String>,
    /// Probability that a sync with writes to cover fails (`SyncError::Failed`).
    pub sync_fail: f64,
    /// Probability that a key a successful sync covers is silently not persisted.
    pub lost_write: f64,
    /// Probability that a key a successful sync covers is persisted under another key instead.
    pub misdirected_write: f64,
    /// Probability that a key a successful sync covers is corrupt on disk (seen after a crash).
    pub corrupt: f64,
    /// Probability that a key a successful sync covers sits on a bad sector (seen after a crash).
    pub unreadable: f64,
}

impl DiskRule {
    /// The rates alone.
    pub fn rates(&self) -> DiskRates {
        DiskRates {
            sync_fail: self.sync_fail,
            lost_write: self.lost_write,
            misdirected_write: self.misdirected_write,
            corrupt: self.corrupt,
            unreadable: self.unreadable,
        }
    }

    /// An error naming the first rate that is not a probability.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in self.rates().named() {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!(
                    "{name} must be a probability between 0 and 1, got {p}"
                ));
            }
        }
        Ok(())
    }
}

/// One node's disk fault rates, resolved from the scenario's `disk` rules.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct DiskRates {
    /// Probability that a sync with writes to cover fails.
    pub sync_fail: f64,
    /// Probability that a synced key is silently not persisted.
    pub lost_write: f64,
    /// Probability that a synced key is persisted under another key.
    pub misdirected_write: f64,
    /// Probability that a synced key is corrupt on disk.
    pub corrupt: f64,
    /// Probability that a synced key sits on a bad sector.
    pub unreadable: f64,
}

impl DiskRates {
    /// Each rate with its scenario name.
    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("sync_fail", self.sync_fail),
            ("lost_write", self.lost_write),
            ("misdirected_write", self.misdirected_write),
            ("corrupt", self.corrupt),
            ("unreadable", self.unreadable),
        ]
    }

    /// True when no rate is above zero (the disk then draws nothing).
    pub fn is_zero(&self) -> bool {
        self.named().iter().all(|(_, p)| *p == 0.0)
    }

    /// True when some per-key rate is above zero.
    fn per_key(&self) -> bool {
        self.lost_write > 0.0
            || self.misdirected_write > 0.0
            || self.corrupt > 0.0
            || self.unreadable > 0.0
    }
}

impl std::fmt::Display for DiskRates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set: Vec<String> = self
            .named()
            .iter()
            .filter(|(_, p)| *p > 0.0)
            .map(|(n, p)| format!("{n} {p}"))
            .collect();
        if set.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&set.join(", "))
        }
    }
}

/// A crash armed to fall inside a handler, at one of its syncs (`Fault::CrashAtSync`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CrashPoint {
    /// Syncs with writes to cover still to come before the crash (the crash falls at the last).
    pub(crate) syncs: u32,
    /// A power loss (else a process crash).
    pub(crate) power: bool,
    /// Which unsynced writes a power loss keeps.
    pub(crate) keep: Keep,
    /// A power loss may keep part of one handler's writes.
    pub(crate) torn: bool,
    /// How many effects (sends, timers) the handler had asked for when it last reached for its
    /// storage: those before the crash.
    pub(crate) effects: usize,
}

/// What a fault left on a record's durable copy, seen once the cache is gone (after a crash).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Bad {
    Corrupt,
    Unreadable,
}

/// One unsynced write, kept in order for a power loss to replay some of: the key, the value
/// (`None`: a delete) and the handler call that made it.
pub(super) type Redo<V> = (String, Option<V>, u64);

/// A node's disk fault state: the disk's own seeded stream, its rates, what is armed, and what
/// the disk holds that reads do not show.
#[derive(Clone, Debug)]
pub(super) struct DiskFaults<V> {
    pub(super) rng: SimRng,
    pub(super) rates: DiskRates,
    /// Writes are refused.
    pub(super) full: bool,
    /// Syncs with writes to cover that will fail, armed by `Fault::SyncFail`.
    pub(super) failing_syncs: u32,
    /// The next successful sync loses one of its writes (`Some(true)`: misdirects it).
    pub(super) lose_next: Option<bool>,
    /// Keys last written with a checksum.
    pub(super) checked: BTreeSet<String>,
    /// Keys whose record is corrupt (until written again): reads show the record beside it.
    pub(super) corrupt: BTreeSet<String>,
    /// Keys whose record cannot be read (until written again).
    pub(super) unreadable: BTreeSet<String>,
    /// What the disk holds for keys whose reads show something it never stored (a failed
    /// sync's writes, lost and misdirected ones), in order: a crash applies them, the first
    /// entry of a key winning; a successful sync of the key drops them.
    pub(super) divergent: Vec<(String, Option<V>)>,
    /// Faults on durable copies that reads will see after the next crash.
    pub(super) latent: Vec<(String, Bad)>,
    /// The unsynced writes in order, for a power loss.
    pub(super) redo: Vec<Redo<V>>,
    /// The handler call the engine is running (writes of one call are one unit unless torn).
    pub(super) batch: u64,
    /// What happened since the engine last looked, in words, for the trace.
    pub(super) events: Vec<String>,
    /// The fault atlas's plan for this node; `None` lets a drawn fault hit any record.
    pub(super) atlas: Option<Atlas>,
    /// A crash armed to fall at a sync of a coming handler.
    pub(super) crash_at: Option<CrashPoint>,
    /// The armed crash fell in the handler running now: the process is dead, and what it still
    /// writes never reaches the disk.
    pub(super) crashed: Option<CrashPoint>,
}

impl<V> DiskFaults<V> {
    /// A disk drawing from `rng` at `rates`, nothing armed.
    pub(super) fn new(rng: SimRng, rates: DiskRates) -> Self {
        DiskFaults {
            rng,
            rates,
            full: false,
            failing_syncs: 0,
            lose_next: None,
            checked: BTreeSet::new(),
            corrupt: BTreeSet::new(),
            unreadable: BTreeSet::new(),
            divergent: Vec::new(),
            latent: Vec::new(),
            redo: Vec::new(),
            batch: 0,
            events: Vec::new(),
            atlas: None,
            crash_at: None,
            crashed: None,
        }
    }

    /// True when the atlas (if any) lets a drawn fault damage `key` on this node.
    pub(super) fn may_damage(&self, key: &str) -> bool {
        self.atlas.is_none_or(|a| a.may_damage(key))
    }

    /// A draw with probability `p` (none made when `p` is zero).
    pub(super) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    /// True when a sync's per-key draws can do anything.
    pub(super) fn draws_per_key(&self) -> bool {
        self.rates.per_key() || self.lose_next.is_some()
    }

    /// A key was written (or deleted, `value` `None`): its marks are gone, its checksum flag
    /// follows the write, and the write joins the redo log.
    pub(super) fn wrote(&mut self, key: &str, value: Option<V>, checked: bool, keys: usize) {
        self.corrupt.remove(key);
        self.unreadable.remove(key);
        if checked {
            if !self.checked.contains(key) {
                self.checked.insert(key.to_string());
            }
        } else {
            self.checked.remove(key);
        }
        self.redo.push((key.to_string(), value, self.batch));
        if self.redo.len() > 64 && self.redo.len() > 4 * keys.max(1) {
            // A node that never syncs: keep each key's last write, in the order of those.
            let mut seen = BTreeSet::new();
            let mut kept: Vec<Redo<V>> = Vec::new();
            for w in self.redo.drain(..).rev() {
                if seen.insert(w.0.clone()) {
                    kept.push(w);
                }
            }
            kept.reverse();
            self.redo = kept;
        }
    }

    /// Keys a successful sync made durable no longer carry older disk faults.
    pub(super) fn made_durable(&mut self, keys: &BTreeSet<&str>) {
        self.divergent.retain(|(k, _)| !keys.contains(k.as_str()));
        self.latent.retain(|(k, _)| !keys.contains(k.as_str()));
        self.redo.clear();
    }
}

impl<V: std::hash::Hash> DiskFaults<V> {
    /// Hashes what the disk state holds (the stream by its position), for fingerprints.
    pub(super) fn hash_into<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.rng.get_word_pos().hash(h);
        self.full.hash(h);
        self.failing_syncs.hash(h);
        self.lose_next.hash(h);
        self.atlas.hash(h);
        self.crash_at.hash(h);
        self.checked.hash(h);
        self.corrupt.hash(h);
        self.unreadable.hash(h);
        self.divergent.hash(h);
        self.latent.hash(h);
        for (k, v, _) in &self.redo {
            k.hash(h);
            v.hash(h);
        }
    }
}
