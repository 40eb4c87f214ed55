//! Reference solution of lab `wal`: every word of an entry written twice with a checksum, synced
//! before the answer, written again after a failed sync; recovery reads the intact copy, takes
//! an entry only when its words agree with its checksum, and cuts the torn tail off for good.

use clustersim::node::NodeId;
use clustersim::protocols::kv::client::KvResult;
use clustersim::storage::Storage;
use clustersim_exercises::wal::Functions;
use clustersim_exercises::wal_node::{
    checksum, entry_start, record, reply, Ctx, Part, WalServer, LOG,
};

/// Copies of every word: the fault atlas damages at most one of `~0` and `~1`.
pub const COPIES: u8 = 2;

/// Syncs tried (each after writing the entry again) before the server gives up on its disk.
pub const ATTEMPTS: usize = 8;

// ANCHOR: solution
/// Writes entry `index` (every word, every copy, checksummed); false when the disk is full, with
/// whatever it wrote of the entry deleted again.
pub fn write_entry(st: &mut Storage<u64>, index: u64, key: u64, value: u64) -> bool {
    let words = [key, value, checksum(index, key, value)];
    let mut written: Vec<String> = Vec::new();
    for (part, word) in Part::ALL.into_iter().zip(words) {
        for copy in 0..COPIES {
            let at = record(index, part, copy);
            if st.try_put_checked(at.clone(), word).is_err() {
                for k in written {
                    st.delete(&k);
                }
                return false;
            }
            written.push(at);
        }
    }
    true
}

/// Makes entry `index` durable: a failed sync dropped the entry's writes from the disk (and a
/// later sync would not bring them back), so each retry writes the entry again first.
pub fn sync_entry(st: &mut Storage<u64>, index: u64, key: u64, value: u64) -> bool {
    for _ in 0..ATTEMPTS {
        if st.try_sync().is_ok() {
            return true;
        }
        if !write_entry(st, index, key, value) {
            return false;
        }
    }
    false
}

/// Logs the write, syncs it, and only then applies and acknowledges it.
pub fn on_write(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let index = s.next;
    let st = ctx.storage();
    if !write_entry(st, index, key, value) {
        // The disk is full and nothing of the entry is left: the write never happens.
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    if !sync_entry(st, index, key, value) {
        // The disk will not keep it: stop, and let the client's timeout say "unknown".
        s.stopped = true;
        return;
    }
    s.next = index + 1;
    s.kv.insert(key, value);
    reply(ctx, client, id, KvResult::Done(None));
}

/// Every readable copy of word `part` of entry `index` that passes its checksum.
fn intact(st: &Storage<u64>, index: u64, part: Part) -> Vec<u64> {
    (0..COPIES)
        .filter_map(|c| st.try_get(&record(index, part, c)).ok().flatten().copied())
        .collect()
}

/// Entry `index` as (key, value), if some copy of each word is intact and they agree with the
/// entry's checksum (a torn entry's words, or a word another write landed on, do not).
pub fn read_entry(st: &Storage<u64>, index: u64) -> Option<(u64, u64)> {
    let (keys, values, sums) = (
        intact(st, index, Part::Key),
        intact(st, index, Part::Value),
        intact(st, index, Part::Sum),
    );
    keys.iter()
        .flat_map(|k| values.iter().map(move |v| (*k, *v)))
        .find(|(k, v)| sums.contains(&checksum(index, *k, *v)))
}

/// Deletes every record of entry `from` and after, durably: a failed sync dropped the deletes,
/// and deleting an absent key writes nothing, so each retry writes a word there first.
fn truncate(st: &mut Storage<u64>, from: u64) -> bool {
    let start = entry_start(from);
    let doomed: Vec<String> = st
        .keys(LOG)
        .filter(|k| *k >= start.as_str())
        .map(String::from)
        .collect();
    if doomed.is_empty() {
        return true;
    }
    for _ in 0..ATTEMPTS {
        for k in &doomed {
            if st.get(k).is_none() {
                st.put(k.clone(), 0);
            }
            st.delete(k);
        }
        if st.try_sync().is_ok() {
            return true;
        }
    }
    false
}

/// Replays the log up to its first entry that is not whole (a torn tail: never acknowledged),
/// then deletes that entry's leftovers and everything after it, so that no later entry written
/// there can be mixed with them.
pub fn recover(s: &mut WalServer, ctx: &mut Ctx<'_>) {
    let st = ctx.storage();
    let mut index = 1;
    while let Some((key, value)) = read_entry(st, index) {
        s.kv.insert(key, value);
        index += 1;
    }
    s.next = index;
    if !truncate(st, index) {
        s.stopped = true;
    }
}
// ANCHOR_END: solution

/// These functions, as the lab's table.
pub const FUNCTIONS: Functions = Functions { on_write, recover };
