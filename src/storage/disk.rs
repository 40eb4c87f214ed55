//! The disk itself: a node's durable key-value store where only synced writes survive a crash.

use std::collections::BTreeMap;
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
}

impl<V: Clone> Clone for Storage<V> {
    fn clone(&self) -> Self {
        Storage {
            current: Arc::clone(&self.current),
            undo: self.undo.clone(),
            writes: self.writes,
            syncs: self.syncs,
            print: self.print,
        }
    }

    /// Reuses the undo log's buffers (the exhaustive search copies runs into used ones).
    fn clone_from(&mut self, source: &Self) {
        self.current.clone_from(&source.current);
        self.undo.clone_from(&source.undo);
        self.writes = source.writes;
        self.syncs = source.syncs;
        self.print = source.print;
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
        h.finish()
    }
}

impl<V: Clone> Storage<V> {
    /// The keys and values, to write (copied first if a copy of the run shares them).
    fn map(&mut self) -> &mut BTreeMap<String, V> {
        self.print = None;
        Arc::make_mut(&mut self.current)
    }

    /// The value stored under `key`, synced or not.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key)
    }

    /// Writes `value` under `key`; it survives a crash only after `sync`.
    pub fn put(&mut self, key: impl Into<String>, value: V) {
        let key = key.into();
        self.writes += 1;
        if let Some(slot) = self.map().get_mut(&key) {
            let old = std::mem::replace(slot, value);
            self.remember(key, Some(old));
        } else {
            self.map().insert(key.clone(), value);
            self.remember(key, None);
        }
    }

    /// Removes `key`; the removal survives a crash only after `sync`.
    pub fn delete(&mut self, key: &str) {
        if !self.current.contains_key(key) {
            return;
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

    /// Makes every write so far durable (fsync).
    pub fn sync(&mut self) {
        if self.undo.is_empty() {
            return;
        }
        self.syncs += 1;
        self.undo.clear();
        self.print = None;
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
        !self.undo.is_empty()
    }

    /// Counts of writes and syncs so far, for reports.
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Loses every unsynced write, as a power failure would.
    /// The disk is lost: everything, synced or not, is gone (a replaced machine).
    pub(crate) fn wipe(&mut self) {
        self.current = Arc::new(BTreeMap::new());
        self.undo.clear();
        self.print = None;
    }

    pub(crate) fn crash(&mut self) {
        if self.undo.is_empty() {
            return;
        }
        let mut undo = std::mem::take(&mut self.undo);
        let current = self.map();
        // Backwards, so the oldest entry of each key (its synced value) is restored last.
        while let Some((key, old)) = undo.pop() {
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
