//! Where a history's entries live: a fixed 24-byte record each, in chunks that never move, with
//! an operation's numbers packed into the record when they are small and kept in side tables
//! when they are not (a protocol's own `Custom` operations, wide keys and values).

use super::disk::{HistoryFile, CACHED};
use super::{Entry, Op, OpId, Phase};
use crate::node::NodeId;
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::sync::Mutex;

const CHUNK_BITS: u32 = 13;
/// Records per chunk (every chunk but the last is full; the first grows like a `Vec` up to it).
const CHUNK: usize = 1 << CHUNK_BITS;
/// The first chunk's first allocation: a short run's history stays small.
const FIRST_CAPACITY: usize = 64;

/// One entry: when, who, which operation, and a word holding phase, kind and payload.
#[derive(Clone, Copy, Debug)]
struct Record {
    time: u64,
    node: u32,
    /// The op id, or `LONG_ID` when it does not fit (then it is in `long_ids`).
    id: u32,
    /// Bits 63..61 the phase, 60..57 the kind, 56 "wide" (payload indexes `words`), 55..0 the
    /// payload.
    data: u64,
}

const LONG_ID: u32 = u32::MAX;
const PHASE_SHIFT: u32 = 61;
const KIND_SHIFT: u32 = 57;
const WIDE: u64 = 1 << 56;
const PAYLOAD: u64 = WIDE - 1;

const PUT: u64 = 0;
const GET: u64 = 1;
const CAS: u64 = 2;
const CAS_FAILED: u64 = 3;
const ENQUEUE: u64 = 4;
const DEQUEUE: u64 = 5;
const COMPLETE: u64 = 6;
const EFFECT: u64 = 7;
const POST: u64 = 8;
const DELIVER: u64 = 9;
const PING: u64 = 10;
const CUSTOM: u64 = 11;

fn phase_bits(p: Phase) -> u64 {
    match p {
        Phase::Invoke => 0,
        Phase::Ok => 1,
        Phase::Fail => 2,
        Phase::Info => 3,
        Phase::Event => 4,
    }
}

fn phase_of(bits: u64) -> Phase {
    match bits {
        0 => Phase::Invoke,
        1 => Phase::Ok,
        2 => Phase::Fail,
        3 => Phase::Info,
        _ => Phase::Event,
    }
}

/// `v` fits in `bits` bits.
fn fits(v: u64, bits: u32) -> bool {
    v >> bits == 0
}

fn low(v: u64, bits: u32) -> u64 {
    v & ((1u64 << bits) - 1)
}

/// Bytes of one record on disk.
const RECORD_BYTES: usize = 24;

impl Record {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.node.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.data.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Record {
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
        Record {
            time: word(0),
            node: half(8),
            id: half(12),
            data: word(16),
        }
    }
}

/// Where full chunks go when the history is kept on disk (`Store::on_disk`).
#[derive(Debug)]
struct Disk {
    file: HistoryFile,
    /// Chunks written (chunk k is at byte k * CHUNK * RECORD_BYTES).
    written: usize,
    /// A write failed (why): the rest stays in memory, and every entry is still there.
    stopped: Option<String>,
    /// The chunks read back most recently, newest last.
    cache: Mutex<Vec<(usize, Vec<Record>)>>,
    /// The first read that failed: what was read is not the history.
    error: Mutex<Option<String>>,
}

impl Disk {
    fn fail(&self, what: &str, e: std::io::Error) {
        let mut err = self.error.lock().unwrap_or_else(|p| p.into_inner());
        err.get_or_insert_with(|| format!("cannot {what}: {e}"));
    }

    /// Record `j` of chunk `k` (on disk), from the cache or read back into it.
    fn record(&self, k: usize, j: usize) -> Record {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = cache.iter().rposition(|(c, _)| *c == k) {
            // Least recently used goes first: a reader walking calls reads their invocations
            // and, a few chunks on, their completions.
            if at + 1 != cache.len() {
                let hit = cache.remove(at);
                cache.push(hit);
            }
            return cache
                .last()
                .and_then(|(_, chunk)| chunk.get(j).copied())
                .unwrap_or(ZERO);
        }
        let mut bytes = vec![0u8; CHUNK * RECORD_BYTES];
        let chunk: Vec<Record> = match self
            .file
            .read_at((k * CHUNK * RECORD_BYTES) as u64, &mut bytes)
        {
            Ok(()) => bytes
                .chunks_exact(RECORD_BYTES)
                .map(Record::decode)
                .collect(),
            Err(e) => {
                drop(cache);
                self.fail("read the history back", e);
                return ZERO;
            }
        };
        let r = chunk.get(j).copied().unwrap_or(ZERO);
        keep(&mut cache, k, chunk);
        r
    }
}

/// Puts chunk `k` into a cache of at most `CACHED`, dropping the least recently used.
fn keep(cache: &mut Vec<(usize, Vec<Record>)>, k: usize, chunk: Vec<Record>) {
    if cache.len() >= CACHED {
        cache.remove(0);
    }
    cache.push((k, chunk));
}

/// What a record that could not be read back decodes as (the run reports the error).
const ZERO: Record = Record {
    time: 0,
    node: 0,
    id: 0,
    data: 0,
};

/// The entries of one history, 24 bytes each plus what does not fit.
#[derive(Debug, Default)]
pub(super) struct Store {
    chunks: Vec<Vec<Record>>,
    len: usize,
    /// Fields of operations too wide for a record, a few words per operation.
    words: Vec<u64>,
    /// Operations with text in them (`Custom`).
    spilled: Vec<Op>,
    /// Op ids of `u32::MAX` and above, by entry index.
    long_ids: BTreeMap<usize, u64>,
    /// What spilled operations own on the heap, estimated.
    heap_bytes: u64,
    /// Full chunks go to this file, when set.
    disk: Option<Disk>,
}

/// A copy holds every entry in memory (a history on disk is read back into it).
impl Clone for Store {
    fn clone(&self) -> Self {
        let chunks = match &self.disk {
            None => self.chunks.clone(),
            Some(_) => (0..self.chunks.len())
                .map(|k| {
                    let n = if k + 1 == self.chunks.len() {
                        self.len - k * CHUNK
                    } else {
                        CHUNK
                    };
                    (0..n).map(|j| self.record(k * CHUNK + j)).collect()
                })
                .collect(),
        };
        Store {
            chunks,
            len: self.len,
            words: self.words.clone(),
            spilled: self.spilled.clone(),
            long_ids: self.long_ids.clone(),
            heap_bytes: self.heap_bytes,
            disk: None,
        }
    }
    /// Reuses the buffers when neither side is on disk (the exhaustive search recycles runs).
    fn clone_from(&mut self, source: &Self) {
        if self.disk.is_some() || source.disk.is_some() {
            *self = source.clone();
            return;
        }
        self.chunks.clone_from(&source.chunks);
        self.len = source.len;
        self.words.clone_from(&source.words);
        self.spilled.clone_from(&source.spilled);
        self.long_ids.clone_from(&source.long_ids);
        self.heap_bytes = source.heap_bytes;
    }
}

impl Store {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// From now on, full chunks are written to `file` and dropped from memory.
    pub(super) fn on_disk(&mut self, file: HistoryFile) {
        self.disk = Some(Disk {
            file,
            written: 0,
            stopped: None,
            cache: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        });
    }

    /// Why the history stopped going to its file (a failed write), if it did.
    pub(super) fn disk_warning(&self) -> Option<String> {
        self.disk.as_ref()?.stopped.clone()
    }

    /// The first read of the history file that failed, if any.
    pub(super) fn disk_error(&self) -> Option<String> {
        let disk = self.disk.as_ref()?;
        let err = disk.error.lock().unwrap_or_else(|p| p.into_inner());
        err.clone()
    }

    /// Writes the full chunks not yet on disk, oldest first, and drops them from memory.
    fn spill(&mut self) {
        let Some(disk) = self.disk.as_mut() else {
            return;
        };
        let full = self.len / CHUNK;
        let mut bytes = Vec::with_capacity(CHUNK * RECORD_BYTES);
        while disk.stopped.is_none() && disk.written < full {
            let k = disk.written;
            if self.chunks[k].is_empty() {
                disk.written += 1;
                continue;
            }
            bytes.clear();
            for r in &self.chunks[k] {
                r.encode(&mut bytes);
            }
            match disk
                .file
                .write_at((k * CHUNK * RECORD_BYTES) as u64, &bytes)
            {
                Ok(()) => {
                    let chunk = std::mem::take(&mut self.chunks[k]);
                    let cache = disk.cache.get_mut().unwrap_or_else(|p| p.into_inner());
                    keep(cache, k, chunk);
                    disk.written += 1;
                }
                Err(e) => {
                    disk.stopped = Some(format!(
                        "cannot write the history ({e}); the rest of it stayed in memory"
                    ));
                }
            }
        }
    }

    pub(super) fn push(&mut self, time: SimTime, node: NodeId, id: OpId, phase: Phase, op: Op) {
        let (kind, payload) = self.pack(op);
        let short = u32::try_from(id.0).ok().filter(|&i| i != LONG_ID);
        if short.is_none() {
            self.long_ids.insert(self.len, id.0);
        }
        let record = Record {
            time: time.0,
            node: node.0,
            id: short.unwrap_or(LONG_ID),
            data: phase_bits(phase) << PHASE_SHIFT | kind << KIND_SHIFT | payload,
        };
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(record),
            _ => {
                self.spill();
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() {
                    FIRST_CAPACITY
                } else {
                    CHUNK
                });
                chunk.push(record);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Bytes the store holds, estimated from its buffers.
    pub(super) fn bytes(&self) -> u64 {
        let records: usize = self.chunks.iter().map(Vec::capacity).sum();
        (records * std::mem::size_of::<Record>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<Record>>()
            + self.words.capacity() * 8
            + self.spilled.capacity() * std::mem::size_of::<Op>()
            + self.long_ids.len() * 48
            + if self.disk.is_some() {
                CACHED * CHUNK * std::mem::size_of::<Record>()
            } else {
                0
            }) as u64
            + self.heap_bytes
    }

    fn record(&self, i: usize) -> Record {
        let (k, j) = (i >> CHUNK_BITS, i & (CHUNK - 1));
        let chunk = &self.chunks[k];
        match &self.disk {
            Some(disk) if chunk.is_empty() => disk.record(k, j),
            _ => chunk[j],
        }
    }

    /// The phase and op id of entry `i`, without decoding its operation.
    pub(super) fn head(&self, i: usize) -> (Phase, OpId) {
        self.head_of(i, &self.record(i))
    }

    fn head_of(&self, i: usize, r: &Record) -> (Phase, OpId) {
        let id = if r.id == LONG_ID {
            self.long_ids.get(&i).copied().unwrap_or(u64::from(LONG_ID))
        } else {
            u64::from(r.id)
        };
        (phase_of(r.data >> PHASE_SHIFT), OpId(id))
    }

    /// Entry `i`, decoded (`i < len`).
    pub(super) fn get(&self, i: usize) -> Entry {
        let r = self.record(i);
        let (phase, op_id) = self.head_of(i, &r);
        Entry {
            index: i,
            time: SimTime(r.time),
            node: NodeId(r.node),
            op_id,
            phase,
            op: self.unpack(r.data),
        }
    }

    /// The words of a wide operation; returns the payload pointing at them.
    fn wide(&mut self, fields: &[u64]) -> u64 {
        let at = self.words.len() as u64;
        self.words.extend_from_slice(fields);
        WIDE | at
    }

    fn pack(&mut self, op: Op) -> (u64, u64) {
        let opt = |v: Option<u64>| (u64::from(v.is_some()), v.unwrap_or(0));
        match op {
            Op::Put { key, value } => (
                PUT,
                if fits(key, 20) && fits(value, 36) {
                    key << 36 | value
                } else {
                    self.wide(&[key, value])
                },
            ),
            Op::Get { key, value } => {
                let (some, v) = opt(value);
                (
                    GET,
                    if fits(key, 20) && fits(v, 35) {
                        key << 36 | some << 35 | v
                    } else {
                        self.wide(&[key, some, v])
                    },
                )
            }
            Op::Cas { key, from, to } | Op::CasFailed { key, from, to } => {
                let kind = if matches!(op, Op::Cas { .. }) {
                    CAS
                } else {
                    CAS_FAILED
                };
                let (some, f) = opt(from);
                (
                    kind,
                    if fits(key, 8) && fits(f, 23) && fits(to, 24) {
                        key << 48 | some << 47 | f << 24 | to
                    } else {
                        self.wide(&[key, some, f, to])
                    },
                )
            }
            Op::Enqueue { task } => (ENQUEUE, self.single(task)),
            Op::Dequeue { task } => (DEQUEUE, self.single(task)),
            Op::Complete { task } => (COMPLETE, self.single(task)),
            Op::Effect { task } => (EFFECT, self.single(task)),
            Op::Deliver { msg } => (DELIVER, self.single(msg)),
            Op::Post { msg, chunks } => (
                POST,
                if fits(msg, 40) && fits(u64::from(chunks), 16) {
                    msg << 16 | u64::from(chunks)
                } else {
                    self.wide(&[msg, u64::from(chunks)])
                },
            ),
            Op::Ping { peer, seq } => (
                PING,
                if fits(u64::from(peer.0), 24) && fits(seq, 32) {
                    u64::from(peer.0) << 32 | seq
                } else {
                    self.wide(&[u64::from(peer.0), seq])
                },
            ),
            op @ Op::Custom { .. } => {
                if let Op::Custom { name, value } = &op {
                    self.heap_bytes += (name.capacity() + value.approx_bytes()) as u64;
                }
                self.spilled.push(op);
                (CUSTOM, (self.spilled.len() - 1) as u64)
            }
        }
    }

    fn single(&mut self, v: u64) -> u64 {
        if fits(v, 56) {
            v
        } else {
            self.wide(&[v])
        }
    }

    fn unpack(&self, data: u64) -> Op {
        let kind = (data >> KIND_SHIFT) & 0xf;
        let payload = data & PAYLOAD;
        let wide = data & WIDE != 0;
        let w = |n: usize| self.words[payload as usize + n];
        let opt = |some: u64, v: u64| (some != 0).then_some(v);
        match kind {
            PUT if wide => Op::Put {
                key: w(0),
                value: w(1),
            },
            PUT => Op::Put {
                key: payload >> 36,
                value: low(payload, 36),
            },
            GET if wide => Op::Get {
                key: w(0),
                value: opt(w(1), w(2)),
            },
            GET => Op::Get {
                key: payload >> 36,
                value: opt(payload >> 35 & 1, low(payload, 35)),
            },
            CAS | CAS_FAILED => {
                let (key, from, to) = if wide {
                    (w(0), opt(w(1), w(2)), w(3))
                } else {
                    (
                        payload >> 48,
                        opt(payload >> 47 & 1, low(payload >> 24, 23)),
                        low(payload, 24),
                    )
                };
                if kind == CAS {
                    Op::Cas { key, from, to }
                } else {
                    Op::CasFailed { key, from, to }
                }
            }
            ENQUEUE | DEQUEUE | COMPLETE | EFFECT | DELIVER => {
                let v = if wide { w(0) } else { payload };
                match kind {
                    ENQUEUE => Op::Enqueue { task: v },
                    DEQUEUE => Op::Dequeue { task: v },
                    COMPLETE => Op::Complete { task: v },
                    EFFECT => Op::Effect { task: v },
                    _ => Op::Deliver { msg: v },
                }
            }
            POST if wide => Op::Post {
                msg: w(0),
                chunks: w(1) as u32,
            },
            POST => Op::Post {
                msg: payload >> 16,
                chunks: low(payload, 16) as u32,
            },
            PING if wide => Op::Ping {
                peer: NodeId(w(0) as u32),
                seq: w(1),
            },
            PING => Op::Ping {
                peer: NodeId((payload >> 32) as u32),
                seq: low(payload, 32),
            },
            _ => self.spilled[payload as usize].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(op: Op) {
        let mut s = Store::default();
        s.push(SimTime(7), NodeId(3), OpId(11), Phase::Ok, op.clone());
        let e = s.get(0);
        assert_eq!(e.op, op, "{op:?}");
        assert_eq!(
            (e.time, e.node, e.op_id, e.phase),
            (SimTime(7), NodeId(3), OpId(11), Phase::Ok)
        );
    }

    #[test]
    fn every_operation_reads_back_as_written_small_or_wide() {
        let big = u64::MAX;
        let vals = [
            0,
            1,
            255,
            256,
            (1 << 23) - 1,
            1 << 23,
            (1 << 35) + 5,
            1 << 40,
            big,
        ];
        for &a in &vals {
            for &b in &vals {
                round_trip(Op::Put { key: a, value: b });
                round_trip(Op::Get {
                    key: a,
                    value: Some(b),
                });
                round_trip(Op::Get {
                    key: a,
                    value: None,
                });
                round_trip(Op::Cas {
                    key: a,
                    from: Some(b),
                    to: a,
                });
                round_trip(Op::Cas {
                    key: b,
                    from: None,
                    to: a,
                });
                round_trip(Op::CasFailed {
                    key: a,
                    from: Some(a),
                    to: b,
                });
                round_trip(Op::Post {
                    msg: a,
                    chunks: b as u32,
                });
                round_trip(Op::Ping {
                    peer: NodeId(a as u32),
                    seq: b,
                });
            }
            round_trip(Op::Enqueue { task: a });
            round_trip(Op::Dequeue { task: a });
            round_trip(Op::Complete { task: a });
            round_trip(Op::Effect { task: a });
            round_trip(Op::Deliver { msg: a });
        }
        round_trip(Op::custom("leader", &3u64));
    }

    #[test]
    fn small_operations_cost_one_record_and_ids_past_u32_are_kept() {
        let mut s = Store::default();
        for i in 0..3 * CHUNK as u64 {
            s.push(
                SimTime(i),
                NodeId(1),
                OpId(i),
                Phase::Invoke,
                Op::Ping {
                    peer: NodeId(2),
                    seq: i,
                },
            );
        }
        assert!(s.words.is_empty() && s.spilled.is_empty());
        assert_eq!(s.chunks.len(), 3);
        assert_eq!(
            s.bytes() as usize,
            3 * CHUNK * 24 + s.chunks.capacity() * 24
        );
        assert_eq!(
            s.get(2 * CHUNK + 5).op,
            Op::Ping {
                peer: NodeId(2),
                seq: 2 * CHUNK as u64 + 5
            }
        );
        s.push(
            SimTime(0),
            NodeId(0),
            OpId(u64::from(u32::MAX)),
            Phase::Event,
            Op::Effect { task: 1 },
        );
        s.push(
            SimTime(0),
            NodeId(0),
            OpId(u64::MAX),
            Phase::Event,
            Op::Effect { task: 1 },
        );
        assert_eq!(s.get(3 * CHUNK).op_id, OpId(u64::from(u32::MAX)));
        assert_eq!(s.get(3 * CHUNK + 1).op_id, OpId(u64::MAX));
    }
}
