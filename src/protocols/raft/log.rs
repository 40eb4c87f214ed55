//! The Raft log: entries indexed from 1, each with the term it was created in, kept in memory
//! and mirrored to durable storage (one key per entry) so a restarted server reads it back.
//!
//! Callers sync storage before they tell anyone about entries they appended (Figure 2, "Rules
//! for all servers": respond to RPCs only after updating stable storage).

use super::Stored;
use crate::node::NodeId;
use crate::protocols::kv::client::KvOp;
use crate::storage::Storage;
use std::fmt::Write;

/// The storage key prefix of log entries.
pub const LOG_PREFIX: &str = "l/";

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
}

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogEntry {
    /// The leader's term when the entry was created.
    pub term: u64,
    /// What to apply.
    pub command: Command,
}

/// The log; index 0 is the empty prefix with term 0.
#[derive(Clone, Debug, Default, Hash)]
pub struct Log {
    entries: Vec<LogEntry>,
}

impl Log {
    /// Bytes the entries hold, roughly.
    pub fn heap_bytes(&self) -> u64 {
        (self.entries.capacity() * std::mem::size_of::<LogEntry>()) as u64
    }
}

/// The storage key of entry `index`: the digit count as a letter, then the digits, so keys
/// sort by index and stay short (storage compares keys on every write).
fn key(index: u64) -> String {
    let digits = index.checked_ilog10().unwrap_or(0) + 1;
    let mut k = String::with_capacity(LOG_PREFIX.len() + 1 + digits as usize);
    k.push_str(LOG_PREFIX);
    k.push(char::from(b'a' + digits as u8));
    // Writing a u64 into a String cannot fail.
    let _ = write!(k, "{index}");
    k
}

impl Log {
    /// Reads the log back from storage after a restart.
    pub fn recover(storage: &Storage<Stored>) -> Self {
        let entries = storage
            .scan(LOG_PREFIX)
            .filter_map(|(_, v)| match v {
                Stored::Entry(e) => Some(*e),
                _ => None,
            })
            .collect();
        Log { entries }
    }

    /// Index of the last entry (0 when empty).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Term of the last entry (0 when empty).
    pub fn last_term(&self) -> u64 {
        self.term_at(self.last_index()).unwrap_or(0)
    }

    /// The term of entry `index`; `Some(0)` for index 0, `None` past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        self.get(index).map(|e| e.term)
    }

    /// Entry `index`, if present.
    pub fn get(&self, index: u64) -> Option<&LogEntry> {
        let i = usize::try_from(index).ok()?.checked_sub(1)?;
        self.entries.get(i)
    }

    /// Up to `max` entries starting at `index`.
    pub fn entries_from(&self, index: u64, max: usize) -> Vec<LogEntry> {
        let start = (index.max(1) - 1) as usize;
        if start >= self.entries.len() {
            return Vec::new();
        }
        let end = (start + max).min(self.entries.len());
        self.entries[start..end].to_vec()
    }

    /// The first index of the term that entry `index` belongs to (for fast back-off).
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// Appends `entry` at the end and writes it to storage (not synced).
    pub fn append(&mut self, storage: &mut Storage<Stored>, entry: LogEntry) -> u64 {
        self.entries.push(entry);
        let index = self.last_index();
        storage.put(key(index), Stored::Entry(entry));
        index
    }

    /// Deletes entry `index` and everything after it, in memory and in storage (not synced).
    pub fn truncate_from(&mut self, storage: &mut Storage<Stored>, index: u64) {
        if index == 0 || index > self.last_index() {
            return;
        }
        self.entries.truncate((index - 1) as usize);
        storage.delete_from(LOG_PREFIX, &key(index));
    }

    /// Stores the leader's `entries` after `prev_log_index` (Figure 2, AppendEntries receiver
    /// steps 3 and 4): an entry that conflicts with a new one (same index, different term) is
    /// deleted with all that follow; entries already present are kept, so a stale or duplicated
    /// AppendEntries never truncates. Returns true if storage changed.
    pub fn merge(
        &mut self,
        storage: &mut Storage<Stored>,
        prev_log_index: u64,
        entries: &[LogEntry],
    ) -> bool {
        let mut changed = false;
        for (i, entry) in entries.iter().enumerate() {
            let index = prev_log_index + 1 + i as u64;
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

    #[test]
    fn keys_sort_by_index() {
        let keys: Vec<String> = [0, 1, 9, 10, 99, 100, 12_345, u64::MAX].map(key).to_vec();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
