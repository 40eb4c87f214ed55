//! Jepsen-style operation history: each client call is an invoke followed by ok, fail or info.
//!
//! `ok` means the operation took effect, `fail` that it certainly did not, `info` that nobody
//! knows (a timeout, a lost reply). Operations never completed are treated as `info`.
//! `event` records what the system did that is not a client call, such as a sink applying a task.

use crate::node::NodeId;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt;

mod disk;
pub mod goals;
mod store;

pub use disk::HistoryFile;
pub use goals::Goal;

/// The name of the event a node records when it becomes leader, with its term as the value
/// (`Op::custom(LEADER, &term)`): `ElectionSafety` and the nemesis's `pick: Leader` read it.
pub const LEADER: &str = "leader";

/// The name of the event a node records on every change of its role or term, with a
/// `RoleChange` as the value (`Op::custom(ROLE, &change)`): `ElectionSafety` counts a node that
/// took the leader role even if it never announced itself.
pub const ROLE: &str = "role";

/// A node's role and term after a change (the value of a `ROLE` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChange {
    /// The term the node is in.
    pub term: u64,
    /// Its role in it: `leader`, `candidate`, `follower`, or the protocol's own word.
    pub role: String,
}

/// Identifies one client operation across its invoke and completion.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct OpId(pub u64);

/// What a history entry says about its operation.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Phase {
    /// The client called the operation.
    Invoke,
    /// The operation took effect and returned.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// The outcome is unknown: it may or may not have taken effect.
    Info,
    /// Something the system did that is not a client call.
    Event,
}

/// An operation and, on completion, its result.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Op {
    /// Write `value` to `key`.
    Put {
        /// The key.
        key: u64,
        /// The (unique) value written.
        value: u64,
    },
    /// Read `key`; `value` is the result on completion (`None`: key absent).
    Get {
        /// The key.
        key: u64,
        /// The value read.
        value: Option<u64>,
    },
    /// Set `key` to `to` if it holds `from` (`None`: absent).
    Cas {
        /// The key.
        key: u64,
        /// The expected current value.
        from: Option<u64>,
        /// The new value.
        to: u64,
    },
    /// Submit task `task` to a queue.
    Enqueue {
        /// The task id.
        task: u64,
    },
    /// A worker took task `task` from the queue.
    Dequeue {
        /// The task id.
        task: u64,
    },
    /// A worker finished processing task `task`.
    Complete {
        /// The task id.
        task: u64,
    },
    /// The sink applied the effect of task `task`.
    Effect {
        /// The task id.
        task: u64,
    },
    /// Post chat message `msg` (of `chunks` chunks).
    Post {
        /// The message id.
        msg: u64,
        /// How many chunks the message was split into.
        chunks: u32,
    },
    /// Chat message `msg` was fully delivered at the recording node.
    Deliver {
        /// The message id.
        msg: u64,
    },
    /// Ping `peer` with sequence number `seq`.
    Ping {
        /// The node pinged.
        peer: NodeId,
        /// The ping's sequence number.
        seq: u64,
    },
    /// A protocol-specific event or call, with a typed value a checker reads back by name
    /// (`Op::custom("leader", &term)`, then `op.custom::<u64>("leader")`).
    Custom {
        /// What happened.
        name: String,
        /// Its value, any serde value.
        value: Value,
    },
    /// The completion of a `Cas` whose compare failed: the key held something other than
    /// `from`, and nothing changed. Recorded as `fail` (no effect), it is still an observation.
    /// (Last, so the variants before it keep their hashes.)
    CasFailed {
        /// The key.
        key: u64,
        /// The value the cas expected and did not find.
        from: Option<u64>,
        /// The value it would have written.
        to: u64,
    },
}

/// The value of a protocol's own history event: any serde value, stored as JSON, read back as
/// the type that wrote it. It prints (and hashes) as plain text: strings bare, numbers in
/// decimal, lists joined by commas, maps as `k=v, ...`, nothing as `nil`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Value(serde_json::Value);

impl Value {
    /// The value of `v`, through serde (a value serde cannot represent becomes `nil`).
    pub fn of<T: Serialize + ?Sized>(v: &T) -> Value {
        Value(serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
    }

    /// The value read back as `T`; `None` if it does not have that shape.
    pub fn to<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.0).ok()
    }

    /// Bytes the value holds on the heap, estimated.
    pub fn approx_bytes(&self) -> usize {
        fn walk(v: &serde_json::Value) -> usize {
            use serde_json::Value as J;
            let own = std::mem::size_of::<J>();
            own + match v {
                J::String(s) => s.capacity(),
                J::Array(a) => a.iter().map(walk).sum(),
                J::Object(m) => m.iter().map(|(k, v)| k.capacity() + 32 + walk(v)).sum(),
                _ => 0,
            }
        }
        walk(&self.0)
    }

    /// The value as JSON.
    pub fn json(&self) -> &serde_json::Value {
        &self.0
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value(serde_json::Value::String(s.to_string()))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value(serde_json::Value::String(s))
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value(serde_json::Value::from(n))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value(serde_json::Value::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value(serde_json::Value::Bool(b))
    }
}

fn write_plain(v: &serde_json::Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use serde_json::Value as J;
    match v {
        J::Null => f.write_str("nil"),
        J::Bool(b) => write!(f, "{b}"),
        J::Number(n) => write!(f, "{n}"),
        J::String(s) => f.write_str(s),
        J::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write_plain(item, f)?;
            }
            Ok(())
        }
        J::Object(map) => {
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}=")?;
                write_plain(item, f)?;
            }
            Ok(())
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_plain(&self.0, f)
    }
}

// Hashes as its text, so a trace hash does not depend on how the value is stored.
impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_string().hash(state);
    }
}

impl Op {
    /// A protocol's own operation or event `name` with value `value`.
    pub fn custom<T: Serialize + ?Sized>(name: &str, value: &T) -> Op {
        Op::Custom {
            name: name.to_string(),
            value: Value::of(value),
        }
    }

    /// The value of custom operation `name` read as `T`; `None` for other operations.
    pub fn custom_value<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        match self {
            Op::Custom { name: n, value } if n == name => value.to(),
            _ => None,
        }
    }
}

impl Op {
    /// The operation's name, as its text starts: `put`, `get`, `cas`, `enqueue`, a custom name.
    pub fn name(&self) -> &str {
        match self {
            Op::Put { .. } => "put",
            Op::Get { .. } => "get",
            Op::Cas { .. } | Op::CasFailed { .. } => "cas",
            Op::Enqueue { .. } => "enqueue",
            Op::Dequeue { .. } => "dequeue",
            Op::Complete { .. } => "complete",
            Op::Effect { .. } => "effect",
            Op::Post { .. } => "post",
            Op::Deliver { .. } => "deliver",
            Op::Ping { .. } => "ping",
            Op::Custom { name, .. } => name,
        }
    }
}

impl Op {
    /// The operation as text, with nodes it names (a ping's peer) by their names in `names`.
    pub fn describe(&self, names: &[String]) -> String {
        match self {
            Op::Ping { peer, seq } => match names.get(peer.index()) {
                Some(name) => format!("ping({name}, seq {seq})"),
                None => self.to_string(),
            },
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<u64>| v.map_or_else(|| "nil".to_string(), |v| v.to_string());
        match self {
            Op::Put { key, value } => write!(f, "put(k{key}, {value})"),
            Op::Get { key, value } => write!(f, "get(k{key}) -> {}", opt(value)),
            Op::Cas { key, from, to } => write!(f, "cas(k{key}, {}, {to})", opt(from)),
            Op::CasFailed { key, from, to } => {
                write!(f, "cas(k{key}, {}, {to}) -> mismatch", opt(from))
            }
            Op::Enqueue { task } => write!(f, "enqueue(task {task})"),
            Op::Dequeue { task } => write!(f, "dequeue(task {task})"),
            Op::Complete { task } => write!(f, "complete(task {task})"),
            Op::Effect { task } => write!(f, "effect(task {task})"),
            Op::Post { msg, chunks } => write!(f, "post(msg {msg}, {chunks} chunks)"),
            Op::Deliver { msg } => write!(f, "deliver(msg {msg})"),
            Op::Ping { peer, seq } => write!(f, "ping({peer}, seq {seq})"),
            Op::Custom { name, value } => write!(f, "{name}({value})"),
        }
    }
}

/// One line of the history.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the history.
    pub index: usize,
    /// Virtual (true) time at which it was recorded.
    pub time: SimTime,
    /// The node that recorded it (the client, or the node where an event happened).
    pub node: NodeId,
    /// The operation this entry belongs to (events get their own id).
    pub op_id: OpId,
    /// Invoke, ok, fail, info or event.
    pub phase: Phase,
    /// The operation, with its result on completion.
    pub op: Op,
}

impl Entry {
    /// The entry as one JSON object (a line of a `.jsonl` history), naming nodes by `names`.
    pub fn to_json(&self, names: &[String]) -> String {
        let mut o = String::with_capacity(96);
        o.push_str(&format!(
            "{{\"index\":{},\"t_ns\":{},\"node\":",
            self.index, self.time.0
        ));
        let node = names
            .get(self.node.index())
            .cloned()
            .unwrap_or_else(|| self.node.to_string());
        crate::trace::json_escape(&node, &mut o);
        o.push_str(&format!(
            ",\"op_id\":{},\"phase\":\"{:?}\",\"op\":",
            self.op_id.0, self.phase
        ));
        crate::trace::json_escape(&self.op.to_string(), &mut o);
        // The operation's fields as JSON too, so tools read values without parsing `op`.
        if let Ok(data) = serde_json::to_string(&self.op) {
            o.push_str(",\"data\":");
            o.push_str(&data);
        }
        o.push('}');
        o
    }
}

/// The recorded history of a run, about 24 bytes an entry (see `store`).
#[derive(Debug, Default)]
pub struct History {
    store: store::Store,
    next_op: u64,
    goals: goals::Goals,
    /// A running digest of the entries and how many it covers (`digest`).
    digest: (u64, usize),
}

impl Clone for History {
    fn clone(&self) -> Self {
        History {
            store: self.store.clone(),
            next_op: self.next_op,
            goals: self.goals.clone(),
            digest: self.digest,
        }
    }

    /// Reuses the buffers (the exhaustive search recycles runs).
    fn clone_from(&mut self, source: &Self) {
        self.store.clone_from(&source.store);
        self.next_op = source.next_op;
        self.goals.clone_from(&source.goals);
        self.digest = source.digest;
    }
}

/// Every entry of a `History` in order, decoded one at a time.
#[derive(Clone)]
pub struct Entries<'a> {
    store: &'a store::Store,
    front: usize,
    back: usize,
}

impl Iterator for Entries<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        (self.front < self.back).then(|| {
            self.front += 1;
            self.store.get(self.front - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }

    fn last(mut self) -> Option<Entry> {
        self.next_back()
    }

    fn nth(&mut self, n: usize) -> Option<Entry> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Entry> {
        (self.front < self.back).then(|| {
            self.back -= 1;
            self.store.get(self.back)
        })
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// An operation with its invocation and completion joined, as checkers want it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The operation id.
    pub id: OpId,
    /// The calling node.
    pub node: NodeId,
    /// The operation as invoked.
    pub invoked: Op,
    /// When it was invoked.
    pub invoke_time: SimTime,
    /// Index of the invoke entry.
    pub invoke_index: usize,
    /// Ok, Fail or Info (never-completed calls are Info).
    pub outcome: Phase,
    /// The operation as completed (with results); the invoked op when not completed.
    pub completed: Op,
    /// When it completed; `None` if it never did.
    pub complete_time: Option<SimTime>,
    /// Index of the completion entry, if any.
    pub complete_index: Option<usize>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    fn fresh_id(&mut self) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        id
    }

    /// A digest of every entry in order, `step(digest, entry)` folded over them from 0; the
    /// entries folded once are remembered, so a run's copies extend their parent's digest
    /// (the exhaustive search fingerprints each state). `step` must be the same on every call.
    pub(crate) fn digest(&mut self, step: impl Fn(u64, &Entry) -> u64) -> u64 {
        let (mut acc, from) = self.digest;
        for i in from..self.store.len() {
            acc = step(acc, &self.store.get(i));
        }
        self.digest = (acc, self.store.len());
        acc
    }

    /// `digest`, folded now over every entry and not remembered (a step whose result depends
    /// on the moment, as node names renamed by the search's symmetry reduction).
    pub(crate) fn digest_now(&self, step: impl Fn(u64, &Entry) -> u64) -> u64 {
        (0..self.store.len()).fold(0, |acc, i| step(acc, &self.store.get(i)))
    }

    /// Keeps the entries in `file` from now on, a few chunks of them in memory at a time
    /// (for runs whose history would not fit); every reader works as before. A copy of the
    /// history holds its entries in memory.
    pub fn on_disk(&mut self, file: HistoryFile) {
        self.store.on_disk(file);
    }

    /// The first failure to read the history's file back (`on_disk`), if any: what was read
    /// is then not the history, and no verdict on it stands.
    pub fn disk_error(&self) -> Option<String> {
        self.store.disk_error()
    }

    /// Why the history stopped going to its file, if a write failed (every entry is still
    /// there, in memory).
    pub fn disk_warning(&self) -> Option<String> {
        self.store.disk_warning()
    }

    /// Bytes the entries hold, estimated from their sizes.
    pub fn bytes(&self) -> u64 {
        self.store.bytes()
    }

    /// Records an invocation and returns its id.
    pub fn invoke(&mut self, time: SimTime, node: NodeId, op: Op) -> OpId {
        let id = self.fresh_id();
        self.store.push(time, node, id, Phase::Invoke, op);
        id
    }

    /// Records a successful completion.
    pub fn ok(&mut self, time: SimTime, node: NodeId, id: OpId, op: Op) {
        self.store.push(time, node, id, Phase::Ok, op);
    }

    /// Records a definite failure.
    pub fn fail(&mut self, time: SimTime, node: NodeId, id: OpId, op: Op) {
        self.store.push(time, node, id, Phase::Fail, op);
    }

    /// Records an indeterminate outcome.
    pub fn info(&mut self, time: SimTime, node: NodeId, id: OpId, op: Op) {
        self.store.push(time, node, id, Phase::Info, op);
    }

    /// Records a system event.
    pub fn event(&mut self, time: SimTime, node: NodeId, op: Op) {
        let id = self.fresh_id();
        self.store.push(time, node, id, Phase::Event, op);
    }

    /// Counts one evaluation of the coverage goal `name` (see `goals`); returns `cond`.
    pub fn sometimes(
        &mut self,
        name: &'static str,
        cond: bool,
        time: SimTime,
        node: NodeId,
    ) -> bool {
        self.goals.record(name, cond, time, node)
    }

    /// The run's coverage goals, in order of first evaluation.
    pub fn goals(&self) -> &[Goal] {
        self.goals.all()
    }

    /// Every entry in order (`.skip(n)` starts at entry `n` without decoding the ones before).
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            store: &self.store,
            front: 0,
            back: self.store.len(),
        }
    }

    /// Entry `index`, if there is one.
    pub fn entry(&self, index: usize) -> Option<Entry> {
        (index < self.store.len()).then(|| self.store.get(index))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Client calls with invocation and completion joined, in invocation order.
    ///
    /// A call completed more than once keeps its first completion; one never completed is `Info`.
    pub fn calls(&self) -> Vec<Call> {
        self.each_call().collect()
    }

    /// The calls of `calls()` one at a time, without holding them all: what a check over a long
    /// run iterates.
    pub fn each_call(&self) -> impl Iterator<Item = Call> + '_ {
        let completion = self.first_completions();
        let store = &self.store;
        (0..store.len())
            .filter(move |&i| store.head(i).0 == Phase::Invoke)
            .zip(completion)
            .map(move |(i, done)| {
                let invoke = store.get(i);
                let done = done.map(|j| store.get(j));
                Call {
                    id: invoke.op_id,
                    node: invoke.node,
                    invoke_time: invoke.time,
                    invoke_index: i,
                    outcome: done.as_ref().map_or(Phase::Info, |d| d.phase),
                    completed: done
                        .as_ref()
                        .map_or_else(|| invoke.op.clone(), |d| d.op.clone()),
                    complete_time: done.as_ref().map(|d| d.time),
                    complete_index: done.map(|d| d.index),
                    invoked: invoke.op,
                }
            })
    }

    /// Number of calls, and of those that completed ok, without decoding any operation.
    pub fn call_counts(&self) -> (usize, usize) {
        let store = &self.store;
        let (mut calls, mut ok) = (0, 0);
        for done in self.first_completions() {
            calls += 1;
            ok += usize::from(done.is_some_and(|j| store.head(j).0 == Phase::Ok));
        }
        (calls, ok)
    }

    /// Per invocation, in order, the index of its first completion: 4 bytes a call while it
    /// runs (8 past four billion entries).
    fn first_completions(&self) -> impl Iterator<Item = Option<usize>> {
        let store = &self.store;
        let long = store.len() >= u32::MAX as usize;
        let mut short: Vec<u32> = Vec::new();
        let mut wide: Vec<u64> = Vec::new();
        // Lookups only, never iterated: its order cannot leak.
        let mut open: std::collections::HashMap<OpId, usize> = Default::default();
        let mut calls = 0usize;
        for i in 0..store.len() {
            match store.head(i) {
                (Phase::Invoke, id) => {
                    open.insert(id, calls);
                    calls += 1;
                    if long {
                        wide.push(u64::MAX);
                    } else {
                        short.push(u32::MAX);
                    }
                }
                (Phase::Ok | Phase::Fail | Phase::Info, id) => {
                    if let Some(k) = open.remove(&id) {
                        if long {
                            wide[k] = i as u64;
                        } else {
                            short[k] = i as u32;
                        }
                    }
                }
                (Phase::Event, _) => {}
            }
        }
        let short = short
            .into_iter()
            .map(|j| (j != u32::MAX).then_some(j as usize));
        let wide = wide
            .into_iter()
            .map(|j| (j != u64::MAX).then_some(j as usize));
        short.chain(wide)
    }

    /// System events in order.
    pub fn events(&self) -> impl Iterator<Item = Entry> + '_ {
        let store = &self.store;
        (0..store.len())
            .filter(move |&i| store.head(i).0 == Phase::Event)
            .map(move |i| store.get(i))
    }

    /// The node that most recently announced itself leader (a `leader(term)` event).
    pub fn latest_leader(&self) -> Option<NodeId> {
        self.entries()
            .rev()
            .find(|e| {
                e.phase == Phase::Event
                    && matches!(&e.op, Op::Custom { name, .. } if name == LEADER)
            })
            .map(|e| e.node)
    }
}

/// Written and read as `{ entries: [...], next_op }`, as when it held its entries plainly.
#[derive(Serialize, Deserialize)]
struct Plain {
    entries: Vec<Entry>,
    next_op: u64,
}

impl Serialize for History {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Plain {
            entries: self.entries().collect(),
            next_op: self.next_op,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let plain = Plain::deserialize(d)?;
        let mut h = History {
            store: store::Store::default(),
            next_op: plain.next_op,
            goals: goals::Goals::default(),
            digest: (0, 0),
        };
        for e in plain.entries {
            h.store.push(e.time, e.node, e.op_id, e.phase, e.op);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_escapes_quotes_backslashes_and_control_characters() {
        let e = Entry {
            index: 3,
            time: SimTime(1500),
            node: NodeId(0),
            op_id: OpId(9),
            phase: Phase::Event,
            op: Op::custom("say", "a \"quoted\" C:\\path\nnext"),
        };
        let line = e.to_json(&["cli\"ent".to_string()]);
        assert_eq!(
            line,
            r#"{"index":3,"t_ns":1500,"node":"cli\"ent","op_id":9,"phase":"Event","op":"say(a \"quoted\" C:\\path\nnext)","data":{"Custom":{"name":"say","value":"a \"quoted\" C:\\path\nnext"}}}"#
        );
    }

    #[test]
    fn typed_values_read_back_and_print_as_the_text_they_replace() {
        let term = Op::custom(LEADER, &7u64);
        assert_eq!(term.custom_value::<u64>(LEADER), Some(7));
        assert_eq!(term.custom_value::<u64>("other"), None);
        assert_eq!(term.to_string(), "leader(7)");
        let read = Op::custom("read", &[1u64, 2, 3]);
        assert_eq!(read.to_string(), "read(1,2,3)");
        assert_eq!(read.custom_value::<Vec<u64>>("read"), Some(vec![1, 2, 3]));
        // Hashing goes through the text, as the old string values did.
        let text = Op::Custom {
            name: "read".into(),
            value: Value::from("1,2,3"),
        };
        assert_eq!(crate::trace::fnv_hash(&read), crate::trace::fnv_hash(&text));
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Grant {
            holder: u32,
            token: u64,
        }
        let g = Op::custom(
            "grant",
            &Grant {
                holder: 2,
                token: 9,
            },
        );
        assert_eq!(g.to_string(), "grant(holder=2, token=9)");
        assert_eq!(
            g.custom_value::<Grant>("grant"),
            Some(Grant {
                holder: 2,
                token: 9
            })
        );
    }
}
