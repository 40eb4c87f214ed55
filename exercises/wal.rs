//! Lab `wal`: a write-ahead log that survives the disk.
//!
//! One server keeps a key-value map; clients write and read it. Every write goes to a log in the
//! server's `Storage` before it is acknowledged, and after a crash the server rebuilds its map
//! from that log. There is no replica to ask: whatever the disk does, the log alone must bring
//! back every acknowledged write, and nothing else. The scaffolding (`exercises/wal_node.rs`)
//! answers reads from `s.kv`, checks a cas's expected value, and gives you:
//!
//! - `record(index, part, copy)`: the storage key of one word of a log entry. An entry is three
//!   words (`Part::Key`, `Part::Value`, `Part::Sum`), each a record of its own, so a power loss
//!   can keep some of an entry's words and not others.
//! - `checksum(index, key, value)`: what the `Sum` word of a whole entry holds.
//! - `entry_start(index)`, `LOG`: to list (`keys`) or delete (`delete_from`) the records of an
//!   entry and every entry after it.
//! - `reply(ctx, client, id, result)`: answers a client (`KvResult::Done(None)` acknowledges a
//!   write, `KvResult::Unavailable` says it was not applied).
//! - `s.stopped = true` makes the server answer `Unavailable` to everything until it restarts.
//!
//! The storage calls you need are in `clustersim::storage::Storage` (chapter 3, "What real
//! disks do"): `put`/`get`, `sync`, and the ones that tell you what went wrong: `try_put`,
//! `try_sync`, `put_checked` with `try_get`, `keys`, `delete_from`.
//!
//! The levels (`clustersim-exercises check-exercise wal --level N`; budget about four hours);
//! each is judged by `Durable` (final reads after the last fault see every acknowledged write),
//! `Linearizable` (no read returns a value that was not the key's at some moment) and
//! `RecoversOnlyWrittenValues` (every value `recover` put in `s.kv` was written to its key by a
//! client: no corrupt or torn record taken for an entry, read or not):
//!
//! 1. **Power loss** (`scenarios/exercises/wal-1-power-loss.ron`): the power goes out; the disk
//!    keeps what was synced and any subset of the rest, in any order.
//! 2. **Torn writes** (`wal-2-torn.ron`): the power goes out *inside* a handler, at one of its
//!    syncs (`CrashAtSync`), and keeps part of what that handler wrote. What you sent before
//!    the sync stays sent; an entry's words land in part, over the leftovers of the last one.
//! 3. **Sync failure** (`wal-3-sync-failure.ron`): a failed sync drops the writes it covered,
//!    and a later sync that succeeds does not bring them back (fsyncgate). Notice it
//!    (`try_sync`) and write again before you acknowledge, or stop.
//! 4. **A rotting disk** (`wal-4-corruption.ron`): records come back corrupt or unreadable,
//!    writes are lost or land on another record, the disk fills up. The fault atlas never
//!    damages both copies `~0` and `~1` of one word: keep each word twice, checksummed, and read
//!    the intact one. A bad record is not the end of the log when later records are intact.
//! 5. **Every path** (`wal-5-search.ron`): no seeds; the grader searches every order of a small
//!    run with a crash, a restart, and a failed sync or a crash inside a handler anywhere.

#[allow(unused_imports)]
use crate::wal_node::{checksum, entry_start, record, reply, Ctx, Part, WalServer, LOG};
use clustersim::node::NodeId;
use clustersim::protocols::kv::client::KvResult;

// ANCHOR: student
/// A client's write of `value` under `key` (a put, or a cas whose expected value matched):
/// log it, apply it to `s.kv`, and answer the client. Acknowledge (`Done(None)`) only what a
/// crash cannot take back; answer `Unavailable` only for a write that will never take effect.
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
    st.put(record(index, Part::Key, 0), key);
    st.put(record(index, Part::Value, 0), value);
    s.next += 1;
    s.kv.insert(key, value);
    reply(ctx, client, id, KvResult::Done(None));
}

/// The server boots (first, and after every crash) with an empty `s.kv` and `s.next == 1`:
/// rebuild both from the log, so that the next entry goes to `s.next`.
pub fn recover(s: &mut WalServer, ctx: &mut Ctx<'_>) {
    let st = ctx.storage();
    let mut index = 1;
    while let (Some(&key), Some(&value)) = (
        st.get(&record(index, Part::Key, 0)),
        st.get(&record(index, Part::Value, 0)),
    ) {
        s.kv.insert(key, value);
        index += 1;
    }
    s.next = index;
}
// ANCHOR_END: student

/// The student's pieces of this lab as a table a run calls (another `Code` swaps them).
#[derive(Debug, Hash)]
pub struct Functions {
    /// See [`on_write`].
    pub on_write: fn(&mut WalServer, &mut Ctx<'_>, NodeId, u64, u64, u64),
    /// See [`recover`].
    pub recover: fn(&mut WalServer, &mut Ctx<'_>),
}

/// The functions in this file.
pub const STUDENT: Functions = Functions { on_write, recover };
