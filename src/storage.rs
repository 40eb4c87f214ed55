//! Simulated disk: a node's durable key-value store where only synced writes survive a crash.

use std::collections::{BTreeMap, BTreeSet};

/// A node's durable storage: reads see every write, a crash keeps only what was synced.
#[derive(Clone, Debug)]
pub struct Storage<V> {
    current: BTreeMap<String, V>,
    synced: BTreeMap<String, V>,
    dirty: BTreeSet<String>,
    writes: u64,
    syncs: u64,
}

impl<V> Default for Storage<V> {
    fn default() -> Self {
        Storage {
            current: BTreeMap::new(),
            synced: BTreeMap::new(),
            dirty: BTreeSet::new(),
            writes: 0,
            syncs: 0,
        }
    }
}

impl<V: Clone> Storage<V> {
    /// The value stored under `key`, synced or not.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key)
    }

    /// Writes `value` under `key`; it survives a crash only after `sync`.
    pub fn put(&mut self, key: impl Into<String>, value: V) {
        let key = key.into();
        self.writes += 1;
        self.dirty.insert(key.clone());
        self.current.insert(key, value);
    }

    /// Removes `key`; the removal survives a crash only after `sync`.
    pub fn delete(&mut self, key: &str) {
        if self.current.remove(key).is_some() {
            self.writes += 1;
            self.dirty.insert(key.to_string());
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

    /// Makes every write so far durable (fsync).
    pub fn sync(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        self.syncs += 1;
        for key in std::mem::take(&mut self.dirty) {
            match self.current.get(&key) {
                Some(v) => {
                    self.synced.insert(key, v.clone());
                }
                None => {
                    self.synced.remove(&key);
                }
            }
        }
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a V)> + 'a {
        self.current
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
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
        !self.dirty.is_empty()
    }

    /// Counts of writes and syncs so far, for reports.
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Loses every unsynced write, as a power failure would.
    pub(crate) fn crash(&mut self) {
        if !self.dirty.is_empty() {
            self.current = self.synced.clone();
            self.dirty.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
