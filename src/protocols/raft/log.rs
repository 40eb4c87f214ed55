//! The Raft log: entries indexed from 1, each with the term it was created in, kept in memory
//! and mirrored to durable storage (one key per entry) so a restarted server reads it back.
//!
//! A log may be compacted (the Raft lab's level 11, section 7 of the paper): the entries up to
//! a *base* (a snapshot's last included index, with its term) are discarded, in memory and in
//! storage, and the rest keep their indices. An uncompacted log has base 0 of term 0, and the
//! shipped server never compacts.
//!
//! Callers sync storage before they tell anyone about entries they appended (Figure 2, "Rules
//! for all servers": respond to RPCs only after updating stable storage).
//!
//! A disk can fail (issue 39). Each stored entry carries the term of the entry before it, and
//! `recover_checked` reads the log back as Protocol-Aware Recovery (Alagappan et al., FAST 2018)
//! asks: past the last entry it synced, it stops at a gap or at an entry whose predecessor is
//! not the one it was written after (the leftovers of a power loss that kept some unsynced
//! writes); an entry that fails its checksum or cannot be read, or is missing where it had
//! been synced (a lost write), is a *faulty slot*, kept in place for the leader to repair, never
//! taken as the end of the log.

use super::Stored;
use crate::node::NodeId;
use crate::protocols::kv::client::KvOp;
use crate::storage::Storage;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The storage key prefix of log entries.
pub const LOG_PREFIX: &str = "l/";

/// The storage key of a compacted log's base (`Stored::Base`); outside `LOG_PREFIX`.
pub const LOG_BASE: &str = "lb";

/// What a log entry asks the state machine to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Appended by a new leader at the start of its term, so entries of earlier terms commit.
    Noop,
    /// A client's key-value operation.
    Kv {
        /// The client that asked.
        client: NodeId,
        /// The client's request id, to match the reply.
        request: u64,
        /// The operation.
        op: KvOp,
    },
    // Appended after `Kv`: an entry's hash covers its variant's index.
    /// A new configuration (the dissertation's chapter 4, one server added or removed at a
    /// time): the voting servers, as a set of positions in the list of every node with the
    /// server role (spares included). A server uses the latest one in its log, committed or not.
    Config {
        /// Bit `i` set: the `i`-th server-role node votes.
        voters: u64,
    },
}

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogEntry {
    /// The leader's term when the entry was created.
    pub term: u64,
    /// What to apply.
    pub command: Command,
}

/// The log; index 0 is the empty prefix with term 0 (the base, for a compacted log).
#[derive(Clone, Debug, Default, Hash)]
pub struct Log {
    /// The entries after the base: `entries[0]` is entry `base + 1`.
    entries: Vec<LogEntry>,
    /// The index of the last entry compaction discarded (0: none).
    base: u64,
    /// The term of entry `base`.
    base_term: u64,
    /// Slots whose record failed its checksum or could not be read at recovery, with the slot's
    /// term when the intact entry after it names it. `get` returns nothing for them.
    faulty: BTreeMap<u64, Option<u64>>,
    /// Entries are written with a checksum (`Storage::put_checked`).
    checked: bool,
    /// The highest index ever written to storage, for a rewrite after a failed sync.
    high: u64,
    /// A write was refused (a full disk) since the last `take_write_failed`.
    write_failed: bool,
}

/// How `Log::recover_checked` reads a log back (each flag a planted mistake of issue 39).
#[derive(Copy, Clone, Debug, Default)]
pub struct RecoveryMode {
    /// A record that fails its checksum or cannot be read ends the log (instead of a faulty
    /// slot repaired from the leader).
    pub corrupt_ends_log: bool,
    /// Every record is taken as the next entry, gaps closed up and the chain unchecked (the
    /// leftovers of a torn write believed).
    pub trust_torn_log: bool,
}

impl Log {
    /// Bytes the entries hold, roughly.
    pub fn heap_bytes(&self) -> u64 {
        (self.entries.capacity() * std::mem::size_of::<LogEntry>()) as u64
    }
}

/// The storage key of entry `index`: the digit count as a letter, then the digits, so keys
/// sort by index and stay short (storage compares keys on every write).
pub fn key(index: u64) -> String {
    let digits = index.checked_ilog10().unwrap_or(0) + 1;
    let mut k = String::with_capacity(LOG_PREFIX.len() + 1 + digits as usize);
    k.push_str(LOG_PREFIX);
    k.push(char::from(b'a' + digits as u8));
    // Writing a u64 into a String cannot fail.
    let _ = write!(k, "{index}");
    k
}

impl Log {
    /// Reads the log back from storage after a restart, trusting every record it can read
    /// (past the base, if the log was compacted).
    pub fn recover(storage: &Storage<Stored>) -> Self {
        let (base, base_term) = match storage.get(LOG_BASE) {
            Some(Stored::Base(index, term)) => (*index, *term),
            _ => (0, 0),
        };
        let entries: Vec<LogEntry> = storage
            .scan(LOG_PREFIX)
            .filter_map(|(_, v)| match v {
                Stored::Entry(e, _, at) if *at > base => Some(*e),
                _ => None,
            })
            .collect();
        let high = base + entries.len() as u64;
        Log {
            entries,
            base,
            base_term,
            high,
            ..Log::default()
        }
    }

    /// The index of the last entry compaction discarded (a snapshot's last included index);
    /// 0 for a log never compacted.
    pub fn base_index(&self) -> u64 {
        self.base
    }

    /// The term of entry `base_index()` (0 for a log never compacted).
    pub fn base_term(&self) -> u64 {
        self.base_term
    }

    /// How many entries the log holds (those after the base).
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// True when the log holds no entry after its base.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position in `entries` of entry `index` (past the base).
    fn slot(&self, index: u64) -> usize {
        (index - self.base - 1) as usize
    }

    /// Discards every entry up to and including `index`, which the log holds, in memory and in
    /// storage (not synced): `index` and its term become the base, the entries after it stay.
    /// False (nothing changed) if `index` is at or below the base or past the last entry.
    pub fn compact(&mut self, storage: &mut Storage<Stored>, index: u64) -> bool {
        if index <= self.base || index > self.last_index() {
            return false;
        }
        let term = self.term_at(index).unwrap_or(0);
        self.entries.drain(..self.slot(index) + 1);
        self.set_base(storage, index, term);
        true
    }

    /// Discards the whole log, in memory and in storage (not synced): it now starts after
    /// entry `index` of `term` (an installed snapshot's last included entry), which may lie
    /// past its old end.
    pub fn restart_at(&mut self, storage: &mut Storage<Stored>, index: u64, term: u64) {
        self.entries.clear();
        self.faulty.clear();
        self.set_base(storage, index, term);
        self.high = self.high.max(index);
    }

    fn set_base(&mut self, storage: &mut Storage<Stored>, index: u64, term: u64) {
        self.base = index;
        self.base_term = term;
        storage.put(LOG_BASE, Stored::Base(index, term));
        // Every record up to the base goes, whatever was stored there.
        let through = key(index + 1);
        let doomed: Vec<String> = storage
            .keys(LOG_PREFIX)
            .take_while(|k| *k < through.as_str())
            .map(str::to_string)
            .collect();
        for k in doomed {
            storage.delete(&k);
        }
    }

    /// Reads a log written with checksums back after a restart (see the module's text); the
    /// records past the end it finds are left for the caller to delete (`stale_from`). Entries
    /// up to `synced` were synced, so a record missing there is a write the disk lost (a
    /// faulty slot), not the end of the log.
    pub fn recover_checked(storage: &Storage<Stored>, mode: RecoveryMode, synced: u64) -> Self {
        let mut log = Log {
            checked: true,
            ..Log::default()
        };
        if mode.trust_torn_log {
            for k in storage.keys(LOG_PREFIX) {
                match storage.try_get(k) {
                    Ok(Some(Stored::Entry(e, ..))) => log.entries.push(*e),
                    _ if mode.corrupt_ends_log => break,
                    _ => log.push_faulty(None),
                }
            }
            log.high = log.last_index();
            return log;
        }
        for index in 1.. {
            match storage.try_get(&key(index)) {
                Ok(Some(Stored::Entry(e, prev, at))) if *at == index => {
                    // The entry must follow the one before it: the term it was written after.
                    let last = log.last_index();
                    let linked = match log.faulty.get(&last) {
                        Some(None) => {
                            log.faulty.insert(last, Some(*prev));
                            let at = log.slot(last);
                            log.entries[at].term = *prev;
                            true
                        }
                        Some(Some(t)) => t == prev,
                        None => log.term_at(last) == Some(*prev),
                    } && e.term >= *prev;
                    if linked {
                        log.entries.push(*e);
                    } else if index <= synced && !mode.corrupt_ends_log {
                        // Both were synced, so one of the two is an older entry a lost write
                        // left in place: neither is trusted, and the leader repairs both.
                        if last > 0 {
                            log.faulty.insert(last, None);
                        }
                        log.push_faulty(None);
                    } else {
                        break;
                    }
                }
                Ok(None) if index > synced || mode.corrupt_ends_log => break,
                _ if mode.corrupt_ends_log => break,
                _ => log.push_faulty(None),
            }
        }
        log.high = log.last_index();
        log
    }

    fn push_faulty(&mut self, term: Option<u64>) {
        self.entries.push(LogEntry {
            term: term.unwrap_or(0),
            command: Command::Noop,
        });
        self.faulty.insert(self.last_index(), term);
    }

    /// The first index past the log that still has a record in `storage` (stale leftovers
    /// recovery did not take), if any.
    pub fn stale_from(&self, storage: &Storage<Stored>) -> Option<String> {
        let from = key(self.last_index() + 1);
        storage
            .keys(LOG_PREFIX)
            .find(|k| *k >= from.as_str())
            .map(|_| from)
    }

    /// The first faulty slot (a record recovery could not trust), if any.
    pub fn first_faulty(&self) -> Option<u64> {
        self.faulty.keys().next().copied()
    }

    /// True when the last entry is a faulty slot (its term is not known for sure).
    pub fn last_is_faulty(&self) -> bool {
        self.faulty.contains_key(&self.last_index())
    }

    /// True when a write was refused since the last call (and forgets it).
    pub fn take_write_failed(&mut self) -> bool {
        std::mem::take(&mut self.write_failed)
    }

    /// Writes entry `index` (after the entry of term `prev`) to storage, not synced.
    fn write(&mut self, storage: &mut Storage<Stored>, index: u64, entry: LogEntry, prev: u64) {
        let record = Stored::Entry(entry, prev, index);
        let done = if self.checked {
            storage.try_put_checked(key(index), record)
        } else {
            storage.try_put(key(index), record)
        };
        self.write_failed |= done.is_err();
        self.high = self.high.max(index);
    }

    /// Writes every intact entry again and deletes every record past the end, for a sync that
    /// failed: the writes it covered are gone from the disk and only a new write brings them
    /// back (the records past the end are written, then deleted, so a successful sync covers
    /// their deletion too).
    pub fn rewrite(&mut self, storage: &mut Storage<Stored>) {
        for index in self.base + 1..=self.last_index() {
            if self.faulty.contains_key(&index) {
                continue;
            }
            let prev = self.term_at(index - 1).unwrap_or(0);
            let entry = self.entries[self.slot(index)];
            self.write(storage, index, entry, prev);
        }
        let noop = LogEntry {
            term: 0,
            command: Command::Noop,
        };
        for index in self.last_index() + 1..=self.high {
            let _ = storage.try_put(key(index), Stored::Entry(noop, 0, index));
            storage.delete(&key(index));
        }
    }

    /// Index of the last entry (the base when the log holds none: 0 when never compacted).
    pub fn last_index(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Term of the last entry (the base's when the log holds none).
    pub fn last_term(&self) -> u64 {
        self.term_at(self.last_index()).unwrap_or(0)
    }

    /// The term of entry `index`; `Some(0)` for index 0 and the base's term for the base, `None`
    /// past the end, below the base (compacted away) and for a faulty slot whose term is not
    /// known.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base {
            return Some(self.base_term);
        }
        if index < self.base {
            return None;
        }
        if let Some(known) = self.faulty.get(&index) {
            return *known;
        }
        self.get(index).map(|e| e.term)
    }

    /// Entry `index`, if present and intact (never one at or below the base).
    pub fn get(&self, index: u64) -> Option<&LogEntry> {
        let i = usize::try_from(index.checked_sub(self.base)?)
            .ok()?
            .checked_sub(1)?;
        if !self.faulty.is_empty() && self.faulty.contains_key(&index) {
            return None;
        }
        self.entries.get(i)
    }

    /// Up to `max` entries starting at `index`; none if `index` is at or below the base of a
    /// compacted log (those entries are in its snapshot).
    pub fn entries_from(&self, index: u64, max: usize) -> Vec<LogEntry> {
        if self.base > 0 && index <= self.base {
            return Vec::new();
        }
        let start = (index.max(1) - self.base - 1) as usize;
        if start >= self.entries.len() {
            return Vec::new();
        }
        let mut end = (start + max).min(self.entries.len());
        // Never a faulty slot's placeholder: a leader sends only what it holds intact.
        if let Some((&f, _)) = self.faulty.range(index.max(1)..).next() {
            end = end.min(self.slot(f));
        }
        self.entries[start..end.max(start)].to_vec()
    }

    /// The faulty slots (index and term if known), in order.
    pub fn faulty(&self) -> impl Iterator<Item = (u64, Option<u64>)> + '_ {
        self.faulty.iter().map(|(i, t)| (*i, *t))
    }

    /// The first slot at or after `index` whose term is known (an intact entry, or a faulty
    /// slot the chain names), with that term: a peer whose log has it holds the same entries
    /// up to there (Log Matching).
    pub fn anchor(&self, index: u64) -> Option<(u64, u64)> {
        (index..=self.last_index()).find_map(|j| self.term_at(j).map(|t| (j, t)))
    }

    /// Fills faulty slot `index` with `entry`, which a peer holds under the same anchor; false
    /// (nothing changed) if the slot is not faulty, its known term differs, or the term of
    /// the slot before it is not known yet (fill that one first).
    pub fn fill(&mut self, storage: &mut Storage<Stored>, index: u64, entry: LogEntry) -> bool {
        // Stored, it names the term of the entry before it: wait until that one is known.
        if self.term_at(index - 1).is_none() {
            return false;
        }
        match self.faulty.get(&index) {
            Some(Some(t)) if *t != entry.term => false,
            Some(_) => {
                self.faulty.remove(&index);
                let prev = self.term_at(index - 1).unwrap_or(0);
                let at = self.slot(index);
                self.entries[at] = entry;
                self.write(storage, index, entry, prev);
                true
            }
            None => false,
        }
    }

    /// The first index of the term that entry `index` belongs to (for fast back-off), never at
    /// or below the base.
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > self.base + 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// Appends `entry` at the end and writes it to storage (not synced).
    pub fn append(&mut self, storage: &mut Storage<Stored>, entry: LogEntry) -> u64 {
        let prev = self.last_term();
        self.entries.push(entry);
        let index = self.last_index();
        self.write(storage, index, entry, prev);
        index
    }

    /// Deletes entry `index` and everything after it, in memory and in storage (not synced);
    /// nothing at or below the base (a snapshot's entries are committed).
    pub fn truncate_from(&mut self, storage: &mut Storage<Stored>, index: u64) {
        if index <= self.base || index > self.last_index() {
            return;
        }
        let at = self.slot(index);
        self.entries.truncate(at);
        if !self.faulty.is_empty() {
            self.faulty.split_off(&index);
        }
        storage.delete_from(LOG_PREFIX, &key(index));
    }

    /// Puts the leader's `entry` into faulty slot `index` (the entries after it stay: by Log
    /// Matching they follow it, unless the slot's known term says it was another entry).
    fn repair(&mut self, storage: &mut Storage<Stored>, index: u64, entry: LogEntry) {
        match self.faulty.remove(&index) {
            Some(Some(term)) if term != entry.term => {
                self.truncate_from(storage, index);
                self.append(storage, entry);
            }
            _ => {
                let prev = self.term_at(index - 1).unwrap_or(0);
                let at = self.slot(index);
                self.entries[at] = entry;
                self.write(storage, index, entry, prev);
            }
        }
    }

    /// Stores the leader's `entries` after `prev_log_index` (Figure 2, AppendEntries receiver
    /// steps 3 and 4): an entry that conflicts with a new one (same index, different term) is
    /// deleted with all that follow; entries already present are kept, so a stale or duplicated
    /// AppendEntries never truncates; entries at or below the base are skipped (they are in the
    /// snapshot, committed). Returns true if storage changed.
    pub fn merge(
        &mut self,
        storage: &mut Storage<Stored>,
        prev_log_index: u64,
        entries: &[LogEntry],
    ) -> bool {
        let mut changed = false;
        for (i, entry) in entries.iter().enumerate() {
            let index = prev_log_index + 1 + i as u64;
            if index <= self.base {
                continue;
            }
            if !self.faulty.is_empty() && self.faulty.contains_key(&index) {
                self.repair(storage, index, *entry);
                changed = true;
                continue;
            }
            match self.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => self.truncate_from(storage, index),
                None => {}
            }
            self.append(storage, *entry);
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(term: u64) -> LogEntry {
        LogEntry {
            term,
            command: Command::Noop,
        }
    }

    #[test]
    fn merge_truncates_only_on_conflict_and_survives_restart() {
        let mut st = Storage::default();
        let mut log = Log::default();
        assert!(log.merge(&mut st, 0, &[e(1), e(1), e(2)]));
        // A stale AppendEntries carrying a prefix must not cut the tail off.
        assert!(!log.merge(&mut st, 0, &[e(1)]));
        assert_eq!(log.last_index(), 3);
        // A conflicting entry at index 2 replaces 2 and 3.
        assert!(log.merge(&mut st, 1, &[e(3)]));
        assert_eq!(log.last_index(), 2);
        assert_eq!(log.term_at(2), Some(3));
        assert_eq!(log.first_index_of_term_at(1), 1);
        st.sync();
        let back = Log::recover(&st);
        assert_eq!(back.last_index(), 2);
        assert_eq!(back.last_term(), 3);
        assert_eq!(back.entries_from(1, 10), vec![e(1), e(3)]);
    }

    /// A checked log of terms 1, 1, 2, 2, 3, synced.
    fn synced_log() -> Storage<Stored> {
        let mut st = Storage::default();
        let mut log = Log {
            checked: true,
            ..Log::default()
        };
        for t in [1, 1, 2, 2, 3] {
            log.append(&mut st, e(t));
        }
        st.sync();
        st
    }

    #[test]
    fn a_gap_ends_the_log_past_the_synced_point_and_is_a_faulty_slot_before_it() {
        let mut st = synced_log();
        st.delete(&key(3));
        st.sync();
        let mode = RecoveryMode::default();
        // Not known to be synced: the leftovers of a power loss end at the gap.
        let torn = Log::recover_checked(&st, mode, 2);
        assert_eq!(torn.last_index(), 2);
        assert_eq!(torn.first_faulty(), None);
        // Synced up to 5: entry 3 is a write the disk lost, and the entry after it names its term.
        let lost = Log::recover_checked(&st, mode, 5);
        assert_eq!(lost.last_index(), 5);
        assert_eq!(lost.faulty().collect::<Vec<_>>(), vec![(3, Some(2))]);
        assert_eq!(lost.get(3), None);
        assert_eq!(lost.term_at(5), Some(3));
    }

    #[test]
    fn a_broken_link_below_the_synced_point_leaves_both_entries_faulty() {
        let mut st = synced_log();
        // Entry 3 as an older write left it: term 1, written after a term-1 entry.
        st.put_checked(key(3), Stored::Entry(e(1), 1, 3));
        st.sync();
        let mode = RecoveryMode::default();
        assert_eq!(Log::recover_checked(&st, mode, 2).last_index(), 3);
        let both = Log::recover_checked(&st, mode, 5);
        assert_eq!(both.last_index(), 5);
        // Entry 4 says it follows a term-2 entry: 3 and 4 cannot both be right.
        assert_eq!(
            both.faulty().map(|(i, _)| i).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(both.term_at(5), Some(3));
    }

    #[test]
    fn a_faulty_slot_is_filled_only_once_the_slot_before_it_is_known() {
        let mut st = synced_log();
        st.delete(&key(2));
        st.delete(&key(3));
        st.sync();
        let mut log = Log::recover_checked(&st, RecoveryMode::default(), 5);
        assert_eq!(
            log.faulty().collect::<Vec<_>>(),
            vec![(2, None), (3, Some(2))]
        );
        // Stored now, entry 3 would name an unknown term before it and break the chain.
        assert!(!log.fill(&mut st, 3, e(2)));
        assert!(log.fill(&mut st, 2, e(1)));
        assert!(log.fill(&mut st, 3, e(2)));
        st.sync();
        let back = Log::recover_checked(&st, RecoveryMode::default(), 5);
        assert_eq!(back.first_faulty(), None);
        assert_eq!(back.last_index(), 5);
    }

    #[test]
    fn a_compacted_log_keeps_its_indices_and_recovers_from_its_base() {
        let mut st = Storage::default();
        let mut log = Log::default();
        assert!(log.merge(&mut st, 0, &[e(1), e(1), e(2), e(2), e(3)]));
        assert!(!log.compact(&mut st, 0));
        assert!(!log.compact(&mut st, 6));
        assert!(log.compact(&mut st, 3));
        assert_eq!((log.base_index(), log.base_term(), log.len()), (3, 2, 2));
        assert_eq!(log.last_index(), 5);
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.term_at(2), None);
        assert_eq!(log.get(3), None);
        assert_eq!(log.get(4), Some(&e(2)));
        assert_eq!(log.entries_from(2, 10), vec![]);
        assert_eq!(log.entries_from(4, 10), vec![e(2), e(3)]);
        assert_eq!(log.first_index_of_term_at(4), 4);
        // Below the base nothing is truncated, and a merge skips what the snapshot holds.
        log.truncate_from(&mut st, 2);
        assert_eq!(log.last_index(), 5);
        assert!(log.merge(&mut st, 1, &[e(1), e(2), e(2), e(4)]));
        assert_eq!((log.last_index(), log.last_term()), (5, 4));
        st.sync();
        let back = Log::recover(&st);
        assert_eq!((back.base_index(), back.base_term()), (3, 2));
        assert_eq!(back.entries_from(4, 10), vec![e(2), e(4)]);
        assert_eq!(st.keys(LOG_PREFIX).count(), 2);
        // A snapshot past the end replaces the whole log.
        log.restart_at(&mut st, 9, 5);
        assert_eq!((log.last_index(), log.last_term(), log.len()), (9, 5, 0));
        assert_eq!(log.append(&mut st, e(5)), 10);
        st.sync();
        let back = Log::recover(&st);
        assert_eq!((back.base_index(), back.last_index()), (9, 10));
        assert_eq!(st.keys(LOG_PREFIX).count(), 1);
    }

    #[test]
    fn keys_sort_by_index() {
        let keys: Vec<String> = [0, 1, 9, 10, 99, 100, 12_345, u64::MAX].map(key).to_vec();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
