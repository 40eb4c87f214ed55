//! Wrong write-ahead logs: the reference with one mistake each, a mistake real storage code made.

use clustersim::node::NodeId;
use clustersim::protocols::kv::client::KvResult;
use clustersim::storage::Storage;
use clustersim_exercises::wal::Functions;
use clustersim_exercises::wal_node::{
    checksum, entry_start, record, reply, Ctx, Part, WalServer, LOG,
};

use crate::wal as reference;

const RIGHT: Functions = reference::FUNCTIONS;

/// Writes every word of entry `index`, `copies` copies each, with `put_checked` (never failing:
/// a full disk drops the writes silently) or `put` when not `checked`.
fn write_blindly(
    st: &mut Storage<u64>,
    index: u64,
    key: u64,
    value: u64,
    copies: u8,
    checked: bool,
) {
    let words = [key, value, checksum(index, key, value)];
    for (part, word) in Part::ALL.into_iter().zip(words) {
        for copy in 0..copies {
            if checked {
                st.put_checked(record(index, part, copy), word);
            } else {
                st.put(record(index, part, copy), word);
            }
        }
    }
}

/// Applies and acknowledges: the tail of every correct `on_write`.
fn acknowledge(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    s.next += 1;
    s.kv.insert(key, value);
    reply(ctx, client, id, KvResult::Done(None));
}

fn sync_at_the_next_write(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    // The mistake: the previous entry is made durable when the next one comes, so each write
    // is acknowledged while it is still only in the cache (group commit with the ack first).
    let st = ctx.storage();
    if st.try_sync().is_err() {
        s.stopped = true;
        return;
    }
    if !reference::write_entry(st, s.next, key, value) {
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    acknowledge(s, ctx, client, id, key, value);
}

/// Syncs the previous write when the next one arrives, and acknowledges each before its sync.
pub const SYNCS_AT_THE_NEXT_WRITE: Functions = Functions {
    on_write: sync_at_the_next_write,
    ..RIGHT
};

fn ack_then_sync(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let index = s.next;
    if !reference::write_entry(ctx.storage(), index, key, value) {
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    // The mistake: the answer goes out before the sync, in the same handler. A crash at that
    // sync takes the write back after the client was told.
    acknowledge(s, ctx, client, id, key, value);
    if !reference::sync_entry(ctx.storage(), index, key, value) {
        s.stopped = true;
    }
}

/// Acknowledges a write in the handler that syncs it, but before the sync.
pub const ACKS_BEFORE_SYNC: Functions = Functions {
    on_write: ack_then_sync,
    ..RIGHT
};

fn recover_trusting_the_tail(s: &mut WalServer, ctx: &mut Ctx<'_>) {
    // The mistake: any intact key and value words make an entry (the checksum word is never
    // compared), and the records after the last entry are left where they are.
    let st = ctx.storage();
    let first = |index: u64, part: Part| {
        (0..reference::COPIES)
            .find_map(|c| st.try_get(&record(index, part, c)).ok().flatten().copied())
    };
    let mut index = 1;
    while let (Some(key), Some(value)) = (first(index, Part::Key), first(index, Part::Value)) {
        s.kv.insert(key, value);
        index += 1;
    }
    s.next = index;
}

/// Believes whatever words it finds at the end of the log: a torn entry's key with the value
/// an earlier torn entry left in the same place.
pub const TRUSTS_TORN_TAIL: Functions = Functions {
    recover: recover_trusting_the_tail,
    ..RIGHT
};

fn write_ignoring_sync_errors(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let st = ctx.storage();
    if !reference::write_entry(st, s.next, key, value) {
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    // The mistake: `sync()` cannot fail, so a failed sync is acknowledged as if it had worked.
    st.sync();
    acknowledge(s, ctx, client, id, key, value);
}

/// Calls `sync()`, which hides a failed sync, and acknowledges whatever happened.
pub const IGNORES_FAILED_SYNC: Functions = Functions {
    on_write: write_ignoring_sync_errors,
    ..RIGHT
};

fn retry_the_sync_alone(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let st = ctx.storage();
    if !reference::write_entry(st, s.next, key, value) {
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    // The mistake (PostgreSQL's until 2018): retry the sync until it succeeds. The second one
    // has nothing left to cover and always does.
    let synced = (0..reference::ATTEMPTS).any(|_| st.try_sync().is_ok());
    if !synced {
        s.stopped = true;
        return;
    }
    acknowledge(s, ctx, client, id, key, value);
}

/// Retries a failed sync without writing the entry again.
pub const RETRIES_SYNC_WITHOUT_REWRITING: Functions = Functions {
    on_write: retry_the_sync_alone,
    ..RIGHT
};

fn stop_but_acknowledge(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let st = ctx.storage();
    if !reference::write_entry(st, s.next, key, value) {
        return reply(ctx, client, id, KvResult::Unavailable);
    }
    // The mistake: the server gives up on its disk as it should, but answers the write it was
    // making first: an acknowledged write the disk never kept.
    if !reference::sync_entry(st, s.next, key, value) {
        s.stopped = true;
    }
    acknowledge(s, ctx, client, id, key, value);
}

/// Retries and stops as it should when the disk will not sync, but acknowledges the write it
/// gave up on.
pub const STOPS_BUT_ACKNOWLEDGES: Functions = Functions {
    on_write: stop_but_acknowledge,
    ..RIGHT
};

fn write_unchecked(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let index = s.next;
    let st = ctx.storage();
    let words = [key, value, checksum(index, key, value)];
    for (part, word) in Part::ALL.into_iter().zip(words) {
        for copy in 0..reference::COPIES {
            if st.try_put(record(index, part, copy), word).is_err() {
                return reply(ctx, client, id, KvResult::Unavailable);
            }
        }
    }
    if !reference::sync_entry(st, index, key, value) {
        s.stopped = true;
        return;
    }
    acknowledge(s, ctx, client, id, key, value);
}

fn recover_unchecked(s: &mut WalServer, ctx: &mut Ctx<'_>) {
    // The mistake: `get` returns whatever the record holds, and a corrupt record holds another
    // record's word; nothing compares the words with the entry's checksum.
    let st = ctx.storage();
    let first = |index: u64, part: Part| {
        (0..reference::COPIES).find_map(|c| st.get(&record(index, part, c)).copied())
    };
    let mut index = 1;
    while let (Some(key), Some(value)) = (first(index, Part::Key), first(index, Part::Value)) {
        s.kv.insert(key, value);
        index += 1;
    }
    s.next = index;
    st.delete_from(LOG, &entry_start(index));
    if st.try_sync().is_err() {
        s.stopped = true;
    }
}

/// Two copies, written and read without checksums: a corrupt record is read as a value.
pub const NO_CHECKSUMS: Functions = Functions {
    on_write: write_unchecked,
    recover: recover_unchecked,
};

fn write_one_copy(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let index = s.next;
    let st = ctx.storage();
    let words = [key, value, checksum(index, key, value)];
    for (part, word) in Part::ALL.into_iter().zip(words) {
        if st.try_put_checked(record(index, part, 0), word).is_err() {
            return reply(ctx, client, id, KvResult::Unavailable);
        }
    }
    let synced = (0..reference::ATTEMPTS).any(|_| {
        st.try_sync().is_ok() || {
            write_blindly(st, index, key, value, 1, true);
            false
        }
    });
    if !synced {
        s.stopped = true;
        return;
    }
    acknowledge(s, ctx, client, id, key, value);
}

/// Keeps each word once (checksummed): a damaged record is an entry lost.
pub const ONE_COPY: Functions = Functions {
    on_write: write_one_copy,
    ..RIGHT
};

fn recover_to_the_first_bad_record(s: &mut WalServer, ctx: &mut Ctx<'_>) {
    let st = ctx.storage();
    let mut index = 1;
    'log: loop {
        let mut words = [0; 3];
        for (i, part) in Part::ALL.into_iter().enumerate() {
            // The mistake: a record that fails its checksum, or cannot be read, is taken for a
            // torn write at the end of the log; its other copy is read only when it is absent.
            let mut found = None;
            for c in 0..reference::COPIES {
                match st.try_get(&record(index, part, c)) {
                    Ok(Some(w)) => {
                        found = Some(*w);
                        break;
                    }
                    Ok(None) => continue,
                    Err(_) => break 'log,
                }
            }
            match found {
                Some(w) => words[i] = w,
                None => break 'log,
            }
        }
        let [key, value, sum] = words;
        if sum != checksum(index, key, value) {
            break;
        }
        s.kv.insert(key, value);
        index += 1;
    }
    s.next = index;
    st.delete_from(LOG, &entry_start(index));
    if st.try_sync().is_err() {
        s.stopped = true;
    }
}

/// Takes the first record that fails its checksum for the end of the log (LogCabin's and
/// ZooKeeper's recovery once did), and cuts off every entry after it.
pub const CORRUPT_ENDS_LOG: Functions = Functions {
    recover: recover_to_the_first_bad_record,
    ..RIGHT
};

fn write_ignoring_a_full_disk(
    s: &mut WalServer,
    ctx: &mut Ctx<'_>,
    client: NodeId,
    id: u64,
    key: u64,
    value: u64,
) {
    let index = s.next;
    let st = ctx.storage();
    // The mistake: `put_checked` on a full disk writes nothing and says nothing, and a sync
    // with nothing to cover succeeds.
    write_blindly(st, index, key, value, reference::COPIES, true);
    if !reference::sync_entry(st, index, key, value) {
        s.stopped = true;
        return;
    }
    acknowledge(s, ctx, client, id, key, value);
}

/// Writes with `put_checked`, which a full disk drops silently, and acknowledges.
pub const IGNORES_FULL_DISK: Functions = Functions {
    on_write: write_ignoring_a_full_disk,
    ..RIGHT
};
