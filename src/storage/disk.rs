//! The disk itself: a node's durable key-value store where only synced writes survive a crash.

use super::faults::{
    Bad, CrashPoint, DiskFaults, DiskRates, Keep, ReadError, SyncError, WriteError,
};
use crate::sim::rng::SimRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Undo logs up to this long are searched before a write is logged.
const SHORT_LOG: usize = 8;

/// A node's durable storage: reads see every write, a crash keeps only what was synced.
///
/// Unsynced writes are kept in an undo log of the values they replaced, so `sync` costs no
/// copying (it forgets the log) and a crash restores the synced state by undoing the log
/// backwards. The keys and values are shared by a run's copies until one of them writes (the
/// exhaustive search clones a run per state; most steps write no disk).
#[derive(Debug)]
pub struct Storage<V> {
    current: Arc<BTreeMap<String, V>>,
    /// For each unsynced write, in order: the key and the value it replaced (`None`: absent).
    undo: Vec<(String, Option<V>)>,
    writes: u64,
    syncs: u64,
    /// `fingerprint`'s last result, until the next write, sync or crash.
    print: Option<u64>,
    /// The fault model, when the run injects storage faults; `None` keeps every operation as
    /// it always was (one branch).
    faults: Option<Box<DiskFaults<V>>>,
}

impl<V: Clone> Clone for Storage<V> {
    fn clone(&self) -> Self {
        Storage {
            current: Arc::clone(&self.current),
            undo: self.undo.clone(),
            writes: self.writes,
            syncs: self.syncs,
            print: self.print,
            faults: self.faults.clone(),
        }
    }

    /// Reuses the undo log's buffers (the exhaustive search copies runs into used ones).
    fn clone_from(&mut self, source: &Self) {
        self.current.clone_from(&source.current);
        self.undo.clone_from(&source.undo);
        self.writes = source.writes;
        self.syncs = source.syncs;
        self.print = source.print;
        self.faults.clone_from(&source.faults);
    }
}

impl<V> Default for Storage<V> {
    fn default() -> Self {
        Storage {
            current: Arc::new(BTreeMap::new()),
            undo: Vec::new(),
            writes: 0,
            syncs: 0,
            print: None,
            faults: None,
        }
    }
}

impl<V: std::hash::Hash> Storage<V> {
    /// A hash (by `H`) of what the store holds and what a crash would undo, for the exhaustive
    /// search's state fingerprints; the write and sync counters are left out. Kept until the
    /// store changes, so a run's copies that never touch the disk do not hash it again.
    pub fn fingerprint<H: std::hash::Hasher + Default>(&mut self) -> u64 {
        if let Some(print) = self.print {
            return print;
        }
        let print = self.fingerprint_now::<H>();
        self.print = Some(print);
        print
    }

    /// `fingerprint`, hashed now and not kept (values whose hash depends on the moment, as
    /// node names renamed by the search's symmetry reduction).
    pub fn fingerprint_now<H: std::hash::Hasher + Default>(&self) -> u64 {
        use std::hash::Hash;
        let mut h = H::default();
        self.current.hash(&mut h);
        self.undo.hash(&mut h);
        if let Some(f) = &self.faults {
            f.hash_into(&mut h);
        }
        h.finish()
    }
}

impl<V: Clone> Storage<V> {
    /// The keys and values, to write (copied first if a copy of the run shares them).
    fn map(&mut self) -> &mut BTreeMap<String, V> {
        self.print = None;
        Arc::make_mut(&mut self.current)
    }

    /// The value stored under `key`, synced or not. Never an error: an unreadable record
    /// reads as absent and a corrupt one as the wrong value (use `try_get` to see either).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V> {
        if let Some(f) = &self.faults {
            if f.unreadable.contains(key) {
                return None;
            }
            if f.corrupt.contains(key) {
                return self.wrong_value(key);
            }
        }
        self.current.get(key)
    }

    /// What a corrupt record reads as: the record beside it (a misdirected read; the one
    /// before it in key order, else the one after), or nothing when it is alone (or gone).
    fn wrong_value(&self, key: &str) -> Option<&V> {
        use std::ops::Bound::{Excluded, Unbounded};
        if !self.current.contains_key(key) {
            return None;
        }
        let before = self
            .current
            .range::<str, _>((Unbounded, Excluded(key)))
            .next_back();
        let after = || {
            self.current
                .range::<str, _>((Excluded(key), Unbounded))
                .next()
        };
        before.or_else(after).map(|(_, v)| v)
    }

    /// The value stored under `key`, or why it cannot be read: `Unreadable` for a latent
    /// sector error, `Corrupt` for a corrupt record written with `put_checked` (a corrupt
    /// record written with `put` has no checksum to fail and reads as a wrong value).
    pub fn try_get(&self, key: &str) -> Result<Option<&V>, ReadError> {
        if let (Some(f), true) = (&self.faults, self.current.contains_key(key)) {
            if f.unreadable.contains(key) {
                return Err(ReadError::Unreadable);
            }
            if f.corrupt.contains(key) {
                if f.checked.contains(key) {
                    return Err(ReadError::Corrupt);
                }
                return Ok(self.wrong_value(key));
            }
        }
        Ok(self.current.get(key))
    }

    /// Writes `value` under `key`; it survives a crash only after `sync`. On a full disk the
    /// write silently does not happen (as a program that ignores `ENOSPC`); `try_put` says so.
    #[inline]
    pub fn put(&mut self, key: impl Into<String>, value: V) {
        let _ = self.write(key.into(), value, false);
    }

    /// Writes `value` under `key`, or fails when the disk is full.
    pub fn try_put(&mut self, key: impl Into<String>, value: V) -> Result<(), WriteError> {
        self.write(key.into(), value, false)
    }

    /// Writes `value` under `key` with a checksum: if the record is corrupted later,
    /// `try_get` reports `ReadError::Corrupt` instead of returning a wrong value.
    pub fn put_checked(&mut self, key: impl Into<String>, value: V) {
        let _ = self.write(key.into(), value, true);
    }

    /// `put_checked`, or fails when the disk is full.
    pub fn try_put_checked(&mut self, key: impl Into<String>, value: V) -> Result<(), WriteError> {
        self.write(key.into(), value, true)
    }

    #[inline]
    fn write(&mut self, key: String, value: V, checked: bool) -> Result<(), WriteError> {
        if let Some(f) = self.faults.as_deref_mut() {
            if f.crashed.is_some() {
                // The process died at a sync of this handler: nothing it does reaches the disk.
                return Ok(());
            }
            if f.full {
                f.events.push(format!("write of {key} refused: disk full"));
                return Err(WriteError::DiskFull);
            }
            let keys = self.current.len();
            f.wrote(&key, Some(value.clone()), checked, keys);
        }
        self.writes += 1;
        if let Some(slot) = self.map().get_mut(&key) {
            let old = std::mem::replace(slot, value);
            self.remember(key, Some(old));
        } else {
            self.map().insert(key.clone(), value);
            self.remember(key, None);
        }
        Ok(())
    }

    /// Removes `key`; the removal survives a crash only after `sync`.
    pub fn delete(&mut self, key: &str) {
        if !self.current.contains_key(key) {
            return;
        }
        if let Some(f) = self.faults.as_deref_mut() {
            if f.crashed.is_some() {
                return;
            }
            let keys = self.current.len();
            f.wrote(key, None, false, keys);
        }
        if let Some(old) = self.map().remove(key) {
            self.writes += 1;
            self.remember(key.to_string(), Some(old));
        }
    }

    /// Records what an unsynced write replaced, keeping the log no longer than a few times the
    /// number of keys (a node that never syncs must not grow it forever). Only the first entry
    /// of each key matters (it holds the synced value), so a key already in a short log is not
    /// logged again: a node rewriting one key keeps one entry, not 64.
    fn remember(&mut self, key: String, old: Option<V>) {
        if self.undo.len() <= SHORT_LOG && self.undo.iter().any(|(k, _)| *k == key) {
            return;
        }
        self.undo.push((key, old));
        if self.undo.len() > 64 && self.undo.len() > 4 * self.current.len() {
            // Only the first entry of each key matters: it holds the synced value.
            let mut first: BTreeMap<String, Option<V>> = BTreeMap::new();
            for (k, v) in self.undo.drain(..) {
                first.entry(k).or_insert(v);
            }
            self.undo.extend(first);
        }
    }

    /// Removes every key that starts with `prefix` and sorts at or after `from`.
    pub fn delete_from(&mut self, prefix: &str, from: &str) {
        let doomed: Vec<String> = self
            .current
            .range(from.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.delete(&key);
        }
    }

    /// Makes every write so far durable (fsync). If the sync fails (a storage fault), the
    /// writes are silently not durable: the bug of a program that ignores fsync's error. Use
    /// `try_sync` to see it.
    #[inline]
    pub fn sync(&mut self) {
        let _ = self.try_sync();
    }

    /// Makes every write so far durable, or fails: the writes it covered are then dropped from
    /// the disk (reads see them until a crash) and a later sync, which succeeds, does not bring
    /// them back (fsyncgate). A sync with nothing to cover always succeeds.
    pub fn try_sync(&mut self) -> Result<(), SyncError> {
        if self.undo.is_empty() {
            return Ok(());
        }
        if let Some(f) = self.faults.as_deref_mut() {
            if f.crashed.is_some() {
                return Ok(());
            }
            if let Some(c) = f.crash_at.as_mut() {
                c.syncs = c.syncs.saturating_sub(1);
                if c.syncs == 0 {
                    // The crash falls here, before this sync takes effect.
                    f.crashed = f.crash_at.take();
                    return Ok(());
                }
            }
            self.sync_with_faults()?;
        }
        self.syncs += 1;
        self.undo.clear();
        self.print = None;
        Ok(())
    }

    /// A sync's fault draws: whether it fails, and which of the keys it covers are lost,
    /// misdirected, corrupt or unreadable on disk.
    fn sync_with_faults(&mut self) -> Result<(), SyncError> {
        let Some(f) = self.faults.as_deref_mut() else {
            return Ok(());
        };
        self.print = None;
        let rate = f.rates.sync_fail;
        if f.failing_syncs > 0 || f.chance(rate) {
            f.failing_syncs = f.failing_syncs.saturating_sub(1);
            f.events.push(format!(
                "sync failed: {} unsynced writes dropped from the disk",
                f.redo.len().max(1)
            ));
            f.divergent.append(&mut self.undo);
            f.redo.clear();
            return Err(SyncError::Failed);
        }
        let keys: BTreeSet<&str> = self.undo.iter().map(|(k, _)| k.as_str()).collect();
        f.made_durable(&keys);
        if !f.draws_per_key() {
            return Ok(());
        }
        let mut lose_one = f.lose_next.take().map(|misdirect| {
            let at = f.rng.random_range(0..self.undo.len());
            (self.undo[at].0.clone(), misdirect)
        });
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for (key, old) in &self.undo {
            if !done.insert(key.as_str()) {
                continue;
            }
            let armed = lose_one.as_ref().filter(|(k, _)| k == key).map(|(_, m)| *m);
            if armed.is_some() {
                lose_one = None;
            }
            if armed.is_none() && !f.may_damage(key) {
                continue;
            }
            let rates = f.rates;
            let misdirect =
                armed == Some(true) || (armed.is_none() && f.chance(rates.misdirected_write));
            let lost = armed == Some(false) || (!misdirect && f.chance(rates.lost_write));
            if misdirect {
                let others: Vec<&String> = self
                    .current
                    .keys()
                    .filter(|k| *k != key && (armed.is_some() || f.may_damage(k)))
                    .collect();
                if let Some(other) = others.get(f.rng.random_range(0..others.len().max(1))) {
                    f.events
                        .push(format!("write of {key} misdirected to {other}"));
                    f.divergent.push((key.clone(), old.clone()));
                    let value = self.current.get(key.as_str()).cloned();
                    f.divergent.push(((*other).clone(), value));
                } else {
                    f.events.push(format!("write of {key} lost"));
                    f.divergent.push((key.clone(), old.clone()));
                }
            } else if lost {
                f.events.push(format!("write of {key} lost"));
                f.divergent.push((key.clone(), old.clone()));
            }
            if f.chance(rates.corrupt) {
                f.events.push(format!("{key} corrupt on disk"));
                f.latent.push((key.clone(), Bad::Corrupt));
            }
            if f.chance(rates.unreadable) {
                f.events.push(format!("{key} on a bad sector"));
                f.latent.push((key.clone(), Bad::Unreadable));
            }
        }
        Ok(())
    }

    /// Entries whose key starts with `prefix`, in key order (unreadable records skipped,
    /// corrupt ones with their wrong values).
    pub fn scan<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a V)> + 'a {
        self.current
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(move |(k, v)| match &self.faults {
                None => Some((k.as_str(), v)),
                Some(f) if f.unreadable.contains(k.as_str()) => None,
                Some(f) if f.corrupt.contains(k.as_str()) => {
                    self.wrong_value(k).map(|w| (k.as_str(), w))
                }
                Some(_) => Some((k.as_str(), v)),
            })
    }

    /// Every stored key that starts with `prefix`, in key order, whatever its record holds
    /// (read each with `try_get` to learn whether it is intact).
    pub fn keys<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.current
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.as_str())
    }

    /// Number of keys currently stored.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// True when some writes have not been synced yet.
    pub fn has_unsynced(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Counts of writes and syncs so far, for reports.
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// The disk is lost: everything, synced or not, is gone (a replaced machine).
    pub(crate) fn wipe(&mut self) {
        self.current = Arc::new(BTreeMap::new());
        self.undo.clear();
        self.print = None;
        if let Some(f) = self.faults.as_deref_mut() {
            // A new disk: the stream, rates and atlas plan go on, nothing else.
            let atlas = f.atlas;
            *f = DiskFaults::new(f.rng.clone(), f.rates);
            f.atlas = atlas;
        }
    }

    /// Loses every unsynced write (the crash clustersim always had: a power loss keeping none).
    pub(crate) fn crash(&mut self) {
        if !self.undo.is_empty() {
            let mut undo = std::mem::take(&mut self.undo);
            restore(self.map(), &mut undo);
        }
        if self.faults.is_some() {
            self.crash_faults();
        }
    }

    /// What a crash does beyond undoing unsynced writes when faults are on: the disk's own
    /// contents come back (writes it never stored undone, misdirected ones in place), faults
    /// on durable copies show.
    fn crash_faults(&mut self) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        f.redo.clear();
        let mut divergent = std::mem::take(&mut f.divergent);
        let latent = std::mem::take(&mut f.latent);
        for (key, bad) in latent {
            match bad {
                Bad::Corrupt => {
                    f.corrupt.insert(key);
                }
                Bad::Unreadable => {
                    f.unreadable.insert(key);
                }
            }
        }
        self.print = None;
        if !divergent.is_empty() {
            let current = Arc::make_mut(&mut self.current);
            restore(current, &mut divergent);
        }
    }

    /// Turns the fault model on, drawing from `rng` at `rates`; once on it stays on.
    pub(crate) fn enable_faults(&mut self, rng: impl FnOnce() -> SimRng, rates: DiskRates) {
        match self.faults.as_deref_mut() {
            Some(f) => f.rates = rates,
            None => self.faults = Some(Box::new(DiskFaults::new(rng(), rates))),
        }
    }

    /// Plans this node's drawn record faults with the fault atlas: it is node `place` of
    /// `nodes` that hold the same records (the nodes of its role).
    pub(crate) fn plan_atlas(&mut self, place: u32, nodes: u32) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.atlas = Some(super::atlas::Atlas::new(place, nodes));
        }
    }

    /// True when the fault model is on.
    pub fn faults_on(&self) -> bool {
        self.faults.is_some()
    }

    /// A new handler call begins: its writes are one unit for an untorn power loss.
    #[inline]
    pub(crate) fn begin_handler(&mut self) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.batch += 1;
        }
    }

    /// True when the disk has fault events the trace has not seen.
    #[inline]
    pub(crate) fn has_events(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| !f.events.is_empty())
    }

    /// The disk's fault events since the last call, in words.
    pub(crate) fn take_events(&mut self) -> Vec<String> {
        self.faults
            .as_deref_mut()
            .map(|f| std::mem::take(&mut f.events))
            .unwrap_or_default()
    }

    /// The power goes out: synced writes stay, and of the unsynced ones those `keep` draws
    /// (whole handler calls unless `torn`, single writes if it is); the rest is a crash.
    /// Returns how many unsynced writes were kept, of how many.
    pub(crate) fn power_loss(&mut self, keep: Keep, torn: bool) -> (usize, usize) {
        let redo = match self.faults.as_deref_mut() {
            Some(f) => std::mem::take(&mut f.redo),
            None => Vec::new(),
        };
        self.crash();
        let Some(f) = self.faults.as_deref_mut() else {
            return (0, 0);
        };
        let total = redo.len();
        // Units: one per handler call, or one per write when torn.
        let mut units: Vec<Vec<(String, Option<V>)>> = Vec::new();
        let mut last = None;
        for (key, value, batch) in redo {
            if torn || last != Some(batch) || units.is_empty() {
                units.push(Vec::new());
            }
            last = Some(batch);
            if let Some(u) = units.last_mut() {
                u.push((key, value));
            }
        }
        let chosen: Vec<Vec<(String, Option<V>)>> = match keep {
            Keep::Prefix => {
                let k = f.rng.random_range(0..=units.len());
                units.truncate(k);
                units
            }
            Keep::Subset => units
                .into_iter()
                .filter(|_| f.rng.random::<bool>())
                .collect(),
            Keep::Reordered => {
                units.shuffle(&mut f.rng);
                let k = f.rng.random_range(0..=units.len());
                units.truncate(k);
                units
            }
            Keep::Nothing => Vec::new(),
        };
        let kept: usize = chosen.iter().map(Vec::len).sum();
        f.events.push(format!(
            "power loss ({keep:?}{}): {kept} of {total} unsynced writes kept",
            if torn { ", torn" } else { "" }
        ));
        if kept > 0 {
            let current = Arc::make_mut(&mut self.current);
            for (key, value) in chosen.into_iter().flatten() {
                match value {
                    Some(v) => {
                        current.insert(key, v);
                    }
                    None => {
                        current.remove(&key);
                    }
                }
            }
            self.print = None;
        }
        (kept, total)
    }

    /// Arms a failure of the next sync that has writes to cover.
    pub(crate) fn fail_next_sync(&mut self) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.failing_syncs += 1;
        }
    }

    /// Arms the loss (or, `misdirected`, the misdirection) of one write the next successful
    /// sync covers.
    pub(crate) fn lose_next_write(&mut self, misdirected: bool) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.lose_next = Some(misdirected);
        }
    }

    /// Fills (or frees) the disk.
    pub(crate) fn set_full(&mut self, full: bool) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.full = full;
        }
    }

    /// Makes `key`'s record (a stored key drawn from the disk's stream if `None`, one the fault
    /// atlas lets this node lose when it is on) corrupt or unreadable now, until it is written
    /// again; returns the key, if there was one.
    pub(crate) fn damage(&mut self, key: Option<&str>, corrupt: bool) -> Option<String> {
        let f = self.faults.as_deref_mut()?;
        let key = match key {
            Some(k) => self.current.contains_key(k).then(|| k.to_string())?,
            None => {
                let mut rng = f.rng.clone();
                let key = self.pick_key(&mut rng)?;
                if let Some(f) = self.faults.as_deref_mut() {
                    f.rng = rng;
                }
                key
            }
        };
        let f = self.faults.as_deref_mut()?;
        if corrupt {
            f.corrupt.insert(key.clone());
        } else {
            f.unreadable.insert(key.clone());
        }
        self.print = None;
        Some(key)
    }

    /// Arms a crash at the `sync`-th sync with writes to cover from now, inside its handler.
    pub(crate) fn arm_crash(&mut self, sync: u32, power: bool, keep: Keep, torn: bool) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.crash_at = Some(CrashPoint {
                syncs: sync.max(1),
                power,
                keep,
                torn,
                effects: 0,
            });
        }
    }

    /// Disarms a crash armed and not yet fallen.
    pub(crate) fn disarm_crash(&mut self) {
        if let Some(f) = self.faults.as_deref_mut() {
            f.crash_at = None;
        }
    }

    /// True when a crash is armed: the context then tells the disk how many effects the
    /// handler has asked for each time it reaches for it.
    #[inline]
    pub(crate) fn crash_armed(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| f.crash_at.is_some())
    }

    /// Notes how many effects the running handler has asked for (see `crash_armed`).
    pub(crate) fn note_effects(&mut self, effects: usize) {
        if let Some(c) = self.faults.as_deref_mut().and_then(|f| f.crash_at.as_mut()) {
            c.effects = effects;
        }
    }

    /// True when a crash is armed at a coming sync (`Fault::CrashAtSync`) and has not fallen.
    pub fn crash_pending(&self) -> bool {
        self.crash_armed()
    }

    /// True when the armed crash fell in the running handler: its process is dead.
    #[inline]
    pub(crate) fn dead_in_handler(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| f.crashed.is_some())
    }

    /// The crash that fell in the handler that just ran: (effects before it, power, keep, torn).
    pub(crate) fn take_crash(&mut self) -> Option<(usize, bool, Keep, bool)> {
        let c = self.faults.as_deref_mut()?.crashed.take()?;
        Some((c.effects, c.power, c.keep, c.torn))
    }

    /// A stored key drawn from `rng` for a fault to damage (under the fault atlas, one this
    /// node may lose); `None` when there is none.
    pub(crate) fn pick_key(&self, rng: &mut SimRng) -> Option<String> {
        let atlas = self.faults.as_ref().and_then(|f| f.atlas);
        let damageable = |k: &&String| atlas.is_none_or(|a| a.may_damage(k));
        let candidates = self.current.keys().filter(damageable).count();
        if candidates == 0 {
            return None;
        }
        let at = rng.random_range(0..candidates);
        self.current.keys().filter(damageable).nth(at).cloned()
    }

    /// Whether a record is marked corrupt (for tests and tools).
    pub fn is_corrupt(&self, key: &str) -> bool {
        self.faults
            .as_ref()
            .is_some_and(|f| f.corrupt.contains(key))
    }
}

/// Applies `(key, value)` entries backwards, so the first entry of each key wins.
fn restore<V>(current: &mut BTreeMap<String, V>, entries: &mut Vec<(String, Option<V>)>) {
    while let Some((key, old)) = entries.pop() {
        match old {
            Some(v) => {
                current.insert(key, v);
            }
            None => {
                current.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fingerprint hasher for the tests (the standard library's, seeded alike every time).
    #[derive(Default)]
    struct Plain(std::collections::hash_map::DefaultHasher);

    impl std::hash::Hasher for Plain {
        fn finish(&self) -> u64 {
            self.0.finish()
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.write(bytes)
        }
    }

    #[test]
    fn fingerprints_follow_every_change_and_copies_share_until_one_writes() {
        let mut a = Storage::default();
        let empty = a.fingerprint::<Plain>();
        a.put("k", 1);
        let unsynced = a.fingerprint::<Plain>();
        assert_ne!(empty, unsynced);
        a.sync();
        let synced = a.fingerprint::<Plain>();
        assert_ne!(unsynced, synced, "what a crash would undo is part of it");
        let mut b = a.clone();
        assert!(
            Arc::ptr_eq(&a.current, &b.current),
            "a copy shares the keys"
        );
        b.put("k", 2);
        assert!(!Arc::ptr_eq(&a.current, &b.current), "a write copies them");
        assert_eq!(a.get("k"), Some(&1));
        assert_ne!(b.fingerprint::<Plain>(), synced);
        b.crash();
        assert_eq!(b.get("k"), Some(&1));
        assert_eq!(
            b.fingerprint::<Plain>(),
            synced,
            "same contents, same print"
        );
        b.delete("k");
        b.wipe();
        assert_eq!(b.fingerprint::<Plain>(), empty);
        assert_eq!(a.fingerprint::<Plain>(), synced);
    }

    /// A store with the fault model on, drawing from a fixed stream.
    fn faulty(seed: u64) -> Storage<u32> {
        let mut s = Storage::default();
        s.enable_faults(
            || crate::sim::rng::stream(seed, crate::sim::rng::Stream::Disk(0)),
            DiskRates::default(),
        );
        s
    }

    /// Five unsynced writes of `k` (1..=5), each in its own handler call, after 0 was synced.
    fn five_unsynced(seed: u64) -> Storage<u32> {
        let mut s = faulty(seed);
        s.put("k", 0);
        s.sync();
        for v in 1..=5 {
            s.begin_handler();
            s.put("k", v);
            s.put(format!("w{v}"), v);
        }
        s
    }

    #[test]
    fn a_prefix_power_loss_keeps_writes_in_order_a_reordered_one_may_not() {
        let mut prefix_ok = true;
        let mut reordered_out_of_order = false;
        for seed in 0..64 {
            let mut s = five_unsynced(seed);
            s.power_loss(Keep::Prefix, false);
            // A prefix: `k` holds the last kept write, and every earlier marker is there.
            let k = *s.get("k").expect("k");
            prefix_ok &= (1..=5).all(|v| s.get(&format!("w{v}")).is_some() == (v <= k));
            let mut s = five_unsynced(seed);
            s.power_loss(Keep::Reordered, false);
            let k = *s.get("k").expect("k");
            reordered_out_of_order |= (1..=5).any(|v| v > k && s.get(&format!("w{v}")).is_some());
            assert!(!s.has_unsynced());
        }
        assert!(prefix_ok);
        assert!(
            reordered_out_of_order,
            "a later write kept, an earlier value of k on top"
        );
    }

    #[test]
    fn a_failed_sync_is_undone_by_a_crash_even_after_a_good_sync() {
        let mut s = faulty(1);
        s.put("a", 1);
        s.sync();
        s.put("a", 2);
        s.put("b", 2);
        s.fail_next_sync();
        assert_eq!(s.try_sync(), Err(SyncError::Failed));
        s.put("b", 3);
        assert_eq!(s.try_sync(), Ok(()));
        s.crash();
        assert_eq!(
            s.get("a"),
            Some(&1),
            "the failed sync's write never reached the disk"
        );
        assert_eq!(s.get("b"), Some(&3), "rewritten and synced: durable");
    }

    #[test]
    fn corruption_reads_wrong_unless_checksummed_and_a_rewrite_heals_it() {
        let mut s = faulty(1);
        s.put("a", 1);
        s.put_checked("b", 2);
        s.sync();
        s.damage(Some("a"), true);
        s.damage(Some("b"), true);
        assert_eq!(s.try_get("a"), Ok(Some(&2)), "another record's value");
        assert_eq!(s.try_get("b"), Err(ReadError::Corrupt));
        assert_eq!(s.get("b"), Some(&1), "get does not check the checksum");
        s.put_checked("b", 4);
        assert_eq!(s.try_get("b"), Ok(Some(&4)));
        s.damage(Some("b"), false);
        assert_eq!(s.try_get("b"), Err(ReadError::Unreadable));
        assert_eq!(s.get("b"), None);
        assert_eq!(s.scan("").count(), 1);
        s.set_full(true);
        assert_eq!(s.try_put("c", 5), Err(WriteError::DiskFull));
        s.put("c", 5);
        assert_eq!(s.get("c"), None);
    }

    #[test]
    fn wipe_loses_synced_writes_too() {
        let mut s = Storage::default();
        s.put("a", 1);
        s.sync();
        s.put("b", 2);
        s.wipe();
        s.crash();
        assert_eq!(s.get("a"), None);
        assert_eq!(s.get("b"), None);
    }

    #[test]
    fn crash_keeps_only_synced_writes() {
        let mut s = Storage::default();
        s.put("a", 1);
        s.sync();
        s.put("b", 2);
        s.put("a", 3);
        assert_eq!(s.get("a"), Some(&3));
        s.crash();
        assert_eq!(s.get("a"), Some(&1));
        assert_eq!(s.get("b"), None);
    }

    #[test]
    fn unsynced_delete_is_undone_by_crash() {
        let mut s = Storage::default();
        s.put("log/001", 'x');
        s.put("log/002", 'y');
        s.sync();
        s.delete_from("log/", "log/002");
        assert_eq!(s.scan("log/").count(), 1);
        s.crash();
        assert_eq!(s.scan("log/").count(), 2);
    }

    #[test]
    fn a_key_written_many_times_unsynced_comes_back_as_synced() {
        let mut s = Storage::default();
        s.put("k", 1);
        s.put("other", 9);
        s.sync();
        // Enough unsynced writes to compact the undo log several times.
        for v in 2..500 {
            s.put("k", v);
            s.put(format!("new{}", v % 7), v);
        }
        s.delete("other");
        assert!(s.has_unsynced());
        s.crash();
        assert_eq!(s.get("k"), Some(&1));
        assert_eq!(s.get("other"), Some(&9));
        assert_eq!(s.len(), 2);
        assert!(!s.has_unsynced());
    }

    #[test]
    fn rewriting_a_few_keys_keeps_one_undo_entry_each() {
        let mut s = Storage::default();
        s.put("seq", 0u64);
        s.sync();
        for v in 1..10_000u64 {
            s.put("seq", v);
            s.put("other", v);
        }
        assert_eq!(s.undo.len(), 2);
        assert_eq!(s.get("seq"), Some(&9_999));
        s.crash();
        assert_eq!(s.get("seq"), Some(&0));
        assert_eq!(s.get("other"), None);
    }

    #[test]
    fn crash_after_sync_loses_nothing_and_sync_counts_only_real_work() {
        let mut s = Storage::default();
        s.put("a", 1);
        s.delete("a");
        s.put("b", 2);
        s.sync();
        s.sync();
        s.crash();
        assert_eq!(s.get("a"), None);
        assert_eq!(s.get("b"), Some(&2));
        assert_eq!(s.counters(), (3, 1));
    }
}
