//! The shipped models: `register`, `cas-register`, `kv`, `list-append`, `set`, `counter`,
//! `fifo-queue` and `mutex`. Each is a plain type implementing `Model`; `by_name` lists them for
//! the command line.

use super::edn::show;
use super::model::{Interner, Model, Operation, Outcome};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// An operation on one register (values are interned ids; `None` is "absent").
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegOp {
    /// Write a value.
    Write(u64),
    /// Read, returning this value.
    Read(Option<u64>),
    /// Compare-and-set: from, to.
    Cas(Option<u64>, u64),
    /// A cas whose compare failed: the register held something other than `from`.
    CasFailed(Option<u64>),
}

impl RegOp {
    fn written(self) -> Option<u64> {
        match self {
            RegOp::Write(v) | RegOp::Cas(_, v) => Some(v),
            _ => None,
        }
    }
}

/// Which register operations a register-family model accepts, and whether it splits by key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Family {
    Register,
    CasRegister,
    Kv,
}

/// A register (read, write), a cas-register (and cas, where a failed compare, a cas whose
/// result is `false`, is an observation of a different value), or a key-value store of
/// cas-registers, one partition per key.
#[derive(Clone, Debug)]
pub struct RegisterModel {
    family: Family,
    init: Option<u64>,
}

impl RegisterModel {
    /// A single read/write register starting at `init` (`None`: absent).
    pub fn register(init: Option<u64>) -> Self {
        RegisterModel {
            family: Family::Register,
            init,
        }
    }
    /// A single register with compare-and-set.
    pub fn cas_register(init: Option<u64>) -> Self {
        RegisterModel {
            family: Family::CasRegister,
            init,
        }
    }
    /// Independent cas-registers, one per key, each starting at `init`.
    pub fn kv(init: Option<u64>) -> Self {
        RegisterModel {
            family: Family::Kv,
            init,
        }
    }
}

/// The value `id` stands for, as the history wrote it (the id itself if `ids` never saw it:
/// a model built from a run's own numbers interns nothing).
fn value_of(id: u64, ids: &Interner) -> String {
    ids.value(id).map_or_else(|| id.to_string(), show)
}

/// Values by id, as the history wrote them, separated by spaces.
fn values_of<'a>(vals: impl Iterator<Item = &'a u64>, ids: &Interner) -> String {
    vals.map(|v| value_of(*v, ids))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value that may be JSON `null` (absent).
fn opt_id(v: &Json, ids: &mut Interner) -> Option<u64> {
    (!v.is_null()).then(|| ids.id(v))
}

/// The key and value of an operation: its own key, else the first of a `[key, value]` pair
/// (Jepsen's independent keys), else one partition for all.
fn keyed(op: &Operation, needs_key: bool) -> Result<(String, Json, Option<Json>), String> {
    if let Some(k) = &op.key {
        return Ok((show(k), op.value.clone(), op.result.clone()));
    }
    if !needs_key {
        return Ok((String::new(), op.value.clone(), op.result.clone()));
    }
    let pair = |v: &Json| match v {
        Json::Array(a) if a.len() == 2 => Some((a[0].clone(), a[1].clone())),
        _ => None,
    };
    let Some((key, value)) = pair(&op.value) else {
        return Err(format!(
            "`{}` has no key: give the key apart, or the value as a [key, value] pair",
            op.f
        ));
    };
    let result = op
        .result
        .as_ref()
        .map(|r| pair(r).map_or(r.clone(), |(_, v)| v));
    Ok((show(&key), value, result))
}

impl Model for RegisterModel {
    type Op = RegOp;
    type State = Option<u64>;

    fn init(&self) -> Option<u64> {
        self.init
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, RegOp)>, String> {
        let (key, value, result) = keyed(op, self.family == Family::Kv)?;
        let step = match op.f.as_str() {
            "write" => match op.outcome {
                Outcome::Fail => return Ok(None),
                _ => RegOp::Write(ids.id(&value)),
            },
            "read" => match (op.outcome, result) {
                (Outcome::Ok, Some(r)) => RegOp::Read(opt_id(&r, ids)),
                _ => return Ok(None),
            },
            "cas" if self.family != Family::Register => {
                let Json::Array(pair) = &value else {
                    return Err(format!("a cas value is [from, to], not {}", show(&value)));
                };
                let [from, to] = pair.as_slice() else {
                    return Err(format!("a cas value is [from, to], not {}", show(&value)));
                };
                let from = opt_id(from, ids);
                // A cas that reports `false` found another value: an observation, whether the
                // history calls it ok or fail. Any other failure did nothing.
                if result == Some(Json::Bool(false)) {
                    RegOp::CasFailed(from)
                } else if op.outcome == Outcome::Fail {
                    return Ok(None);
                } else {
                    RegOp::Cas(from, ids.id(to))
                }
            }
            other => {
                let valid = match self.family {
                    Family::Register => "read, write",
                    _ => "read, write, cas",
                };
                return Err(format!(
                    "operation `{other}` is not one this model knows ({valid})"
                ));
            }
        };
        Ok(Some((key, step)))
    }

    #[inline]
    fn show_state(&self, state: &Option<u64>, ids: &Interner) -> String {
        state.map_or_else(|| "empty (nil)".to_string(), |v| value_of(v, ids))
    }

    fn step(&self, state: &Option<u64>, op: &RegOp) -> Option<Option<u64>> {
        match *op {
            RegOp::Write(v) => Some(Some(v)),
            RegOp::Read(v) => (*state == v).then_some(*state),
            RegOp::Cas(from, to) => (*state == from).then_some(Some(to)),
            RegOp::CasFailed(from) => (*state != from).then_some(*state),
        }
    }

    fn is_read(&self, op: &RegOp) -> bool {
        matches!(op, RegOp::Read(_) | RegOp::CasFailed(_))
    }

    fn window_inits(&self, before: &[&RegOp], window: &[&RegOp]) -> Option<Vec<Option<u64>>> {
        // The window compares the register only with values it reads or expects, so every
        // other earlier value behaves alike: one stand-in covers them all.
        let mentioned: BTreeSet<u64> = window
            .iter()
            .filter_map(|o| match **o {
                RegOp::Read(v) | RegOp::Cas(v, _) | RegOp::CasFailed(v) => v,
                RegOp::Write(_) => None,
            })
            .collect();
        let written: BTreeSet<u64> = window.iter().filter_map(|o| o.written()).collect();
        let mut inits = vec![None];
        if let Some(v) = self.init {
            inits.push(Some(v));
        }
        let mut other = false;
        for v in before
            .iter()
            .filter_map(|o| o.written())
            .collect::<BTreeSet<u64>>()
        {
            if mentioned.contains(&v) {
                inits.push(Some(v));
            } else {
                other = true;
            }
        }
        if other {
            let stand_in = (0..=u64::MAX)
                .rev()
                .find(|v| !mentioned.contains(v) && !written.contains(v));
            inits.push(stand_in);
        }
        inits.dedup();
        Some(inits)
    }
}

/// The values of a list or set result (`null` is empty).
fn id_list(v: &Json, ids: &mut Interner) -> Result<Vec<u64>, String> {
    match v {
        Json::Null => Ok(Vec::new()),
        Json::Array(a) => Ok(a.iter().map(|x| ids.id(x)).collect()),
        other => Err(format!("expected a list of values, not {}", show(other))),
    }
}

/// Per key, a list that operations append to and read whole (Jepsen's list-append, one key
/// per operation).
#[derive(Clone, Debug, Default)]
pub struct ListAppend;

/// An operation on one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListOp {
    /// Append a value.
    Append(u64),
    /// Read the whole list.
    Read(Vec<u64>),
}

impl Model for ListAppend {
    type Op = ListOp;
    type State = Vec<u64>;

    fn init(&self) -> Vec<u64> {
        Vec::new()
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, ListOp)>, String> {
        let (key, value, result) = keyed(op, true)?;
        let step = match op.f.as_str() {
            "append" => match op.outcome {
                Outcome::Fail => return Ok(None),
                _ => ListOp::Append(ids.id(&value)),
            },
            "read" => match (op.outcome, result) {
                (Outcome::Ok, Some(r)) => ListOp::Read(id_list(&r, ids)?),
                _ => return Ok(None),
            },
            other => {
                return Err(format!(
                    "operation `{other}` is not one list-append knows (append, read)"
                ))
            }
        };
        Ok(Some((key, step)))
    }

    fn show_state(&self, state: &Vec<u64>, ids: &Interner) -> String {
        format!("[{}]", values_of(state.iter(), ids))
    }

    fn step(&self, state: &Vec<u64>, op: &ListOp) -> Option<Vec<u64>> {
        match op {
            ListOp::Append(v) => {
                let mut s = state.clone();
                s.push(*v);
                Some(s)
            }
            ListOp::Read(l) => (state == l).then(|| state.clone()),
        }
    }

    fn is_read(&self, op: &ListOp) -> bool {
        matches!(op, ListOp::Read(_))
    }
}

/// A set that operations add to and read whole.
#[derive(Clone, Debug, Default)]
pub struct SetModel;

/// An operation on the set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// Add a value.
    Add(u64),
    /// Read every member.
    Read(BTreeSet<u64>),
}

impl Model for SetModel {
    type Op = SetOp;
    type State = BTreeSet<u64>;

    fn init(&self) -> BTreeSet<u64> {
        BTreeSet::new()
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, SetOp)>, String> {
        let (key, value, result) = keyed(op, false)?;
        let step = match op.f.as_str() {
            "add" => match op.outcome {
                Outcome::Fail => return Ok(None),
                _ => SetOp::Add(ids.id(&value)),
            },
            "read" => match (op.outcome, result) {
                (Outcome::Ok, Some(r)) => SetOp::Read(id_list(&r, ids)?.into_iter().collect()),
                _ => return Ok(None),
            },
            other => {
                return Err(format!(
                    "operation `{other}` is not one the set model knows (add, read)"
                ))
            }
        };
        Ok(Some((key, step)))
    }

    fn show_state(&self, state: &BTreeSet<u64>, ids: &Interner) -> String {
        format!("#{{{}}}", values_of(state.iter(), ids))
    }

    fn step(&self, state: &BTreeSet<u64>, op: &SetOp) -> Option<BTreeSet<u64>> {
        match op {
            SetOp::Add(v) => {
                let mut s = state.clone();
                s.insert(*v);
                Some(s)
            }
            SetOp::Read(r) => (state == r).then(|| state.clone()),
        }
    }

    fn is_read(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }
}

/// A counter that operations add to (`add n`, `incr`) and read.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    init: i64,
}

impl Counter {
    /// A counter starting at `init`.
    pub fn new(init: i64) -> Self {
        Counter { init }
    }
}

/// An operation on the counter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CounterOp {
    /// Add this much (negative subtracts).
    Add(i64),
    /// Read, returning this count.
    Read(i64),
}

impl Model for Counter {
    type Op = CounterOp;
    type State = i64;

    fn init(&self) -> i64 {
        self.init
    }

    fn prepare(
        &self,
        op: &Operation,
        _ids: &mut Interner,
    ) -> Result<Option<(String, CounterOp)>, String> {
        let (key, value, result) = keyed(op, false)?;
        let number = |v: &Json| {
            v.as_i64()
                .ok_or_else(|| format!("a counter takes integers, not {}", show(v)))
        };
        let step = match op.f.as_str() {
            "add" | "incr" => match op.outcome {
                Outcome::Fail => return Ok(None),
                _ if value.is_null() => CounterOp::Add(1),
                _ => CounterOp::Add(number(&value)?),
            },
            "read" => match (op.outcome, result) {
                (Outcome::Ok, Some(r)) => CounterOp::Read(number(&r)?),
                _ => return Ok(None),
            },
            other => {
                return Err(format!(
                    "operation `{other}` is not one the counter knows (add, incr, read)"
                ))
            }
        };
        Ok(Some((key, step)))
    }

    fn step(&self, state: &i64, op: &CounterOp) -> Option<i64> {
        match *op {
            CounterOp::Add(n) => state.checked_add(n),
            CounterOp::Read(v) => (*state == v).then_some(*state),
        }
    }

    fn is_read(&self, op: &CounterOp) -> bool {
        matches!(op, CounterOp::Read(_))
    }
}

/// A first-in first-out queue: enqueue a value, dequeue the oldest (`null`: it was empty).
#[derive(Clone, Debug, Default)]
pub struct FifoQueue;

/// An operation on the queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QueueOp {
    /// Enqueue a value.
    Enqueue(u64),
    /// Dequeue, returning this value (`None`: the queue was empty).
    Dequeue(Option<u64>),
    /// A dequeue whose result is unknown: if it happened, it took the oldest value.
    DequeueUnknown,
}

impl Model for FifoQueue {
    type Op = QueueOp;
    type State = VecDeque<u64>;

    fn init(&self) -> VecDeque<u64> {
        VecDeque::new()
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, QueueOp)>, String> {
        let (key, value, result) = keyed(op, false)?;
        let step = match (op.f.as_str(), op.outcome) {
            (_, Outcome::Fail) => return Ok(None),
            ("enqueue", _) => QueueOp::Enqueue(ids.id(&value)),
            ("dequeue", Outcome::Ok) => match result {
                Some(r) => QueueOp::Dequeue(opt_id(&r, ids)),
                None => QueueOp::DequeueUnknown,
            },
            ("dequeue", Outcome::Info) => QueueOp::DequeueUnknown,
            (other, _) => {
                return Err(format!(
                    "operation `{other}` is not one the queue knows (enqueue, dequeue)"
                ))
            }
        };
        Ok(Some((key, step)))
    }

    fn show_state(&self, state: &VecDeque<u64>, ids: &Interner) -> String {
        format!("[{}] (front first)", values_of(state.iter(), ids))
    }

    fn step(&self, state: &VecDeque<u64>, op: &QueueOp) -> Option<VecDeque<u64>> {
        match *op {
            QueueOp::Enqueue(v) => {
                let mut s = state.clone();
                s.push_back(v);
                Some(s)
            }
            QueueOp::Dequeue(v) => {
                if state.front().copied() != v {
                    return None;
                }
                let mut s = state.clone();
                s.pop_front();
                Some(s)
            }
            QueueOp::DequeueUnknown => {
                let mut s = state.clone();
                s.pop_front();
                Some(s)
            }
        }
    }

    fn is_read(&self, _op: &QueueOp) -> bool {
        false
    }
}

/// A lock: a process acquires it when free and releases it while it holds it.
#[derive(Clone, Debug, Default)]
pub struct Mutex;

/// An operation on the lock (the process is an interned id).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MutexOp {
    /// `process` took the lock.
    Acquire(u64),
    /// `process` gave it back.
    Release(u64),
}

impl Model for Mutex {
    type Op = MutexOp;
    type State = Option<u64>;

    fn init(&self) -> Option<u64> {
        None
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, MutexOp)>, String> {
        let (key, _, _) = keyed(op, false)?;
        if op.outcome == Outcome::Fail {
            return Ok(None);
        }
        let who = ids.id(&Json::String(op.process.clone()));
        let step = match op.f.as_str() {
            "acquire" | "lock" => MutexOp::Acquire(who),
            "release" | "unlock" => MutexOp::Release(who),
            other => {
                return Err(format!(
                    "operation `{other}` is not one the mutex knows (acquire, release)"
                ))
            }
        };
        Ok(Some((key, step)))
    }

    fn show_state(&self, state: &Option<u64>, ids: &Interner) -> String {
        state.map_or_else(
            || "free".to_string(),
            |who| format!("held by {}", value_of(who, ids)),
        )
    }

    fn step(&self, state: &Option<u64>, op: &MutexOp) -> Option<Option<u64>> {
        match *op {
            MutexOp::Acquire(p) => state.is_none().then_some(Some(p)),
            MutexOp::Release(p) => (*state == Some(p)).then_some(None),
        }
    }

    fn is_read(&self, _op: &MutexOp) -> bool {
        false
    }
}

/// A map of keys to registers that transactions read and write several of at once (Knossos's
/// `multi-register`): each operation is `:f :txn` with a value of `[f key value]` steps, `f`
/// being `:read` or `:write`; an `ok` transaction's reads are its completion's values. Every
/// key starts absent unless `--init` gives a map (`{:x 0 :y 0}`). Transactions span keys, so
/// the history is one partition.
#[derive(Clone, Debug, Default)]
pub struct MultiRegister {
    init: BTreeMap<u64, u64>,
}

/// One step of a transaction on a multi-register.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MultiStep {
    /// Read `key`, returning the value (`None`: absent).
    Read(u64, Option<u64>),
    /// Write the value to `key`.
    Write(u64, u64),
}

impl MultiRegister {
    /// A multi-register whose keys start as `init` says (the others absent).
    pub fn new(init: BTreeMap<u64, u64>) -> Self {
        MultiRegister { init }
    }
}

impl Model for MultiRegister {
    type Op = Vec<MultiStep>;
    type State = BTreeMap<u64, u64>;

    fn init(&self) -> BTreeMap<u64, u64> {
        self.init.clone()
    }

    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, Vec<MultiStep>)>, String> {
        if op.f != "txn" {
            return Err(format!(
                "operation `{}` is not one the multi-register knows (txn, whose value is \
                 [[:read k v] [:write k v] ...])",
                op.f
            ));
        }
        let steps = match op.outcome {
            Outcome::Fail => return Ok(None),
            // A completed transaction's reads are in its completion; an unknown one may have
            // written, and its reads say nothing.
            Outcome::Ok => op.result.as_ref().unwrap_or(&op.value),
            Outcome::Info => &op.value,
        };
        let steps = super::edn::txn_steps(steps, "[:read :x 1]")?;
        let mut out = Vec::with_capacity(steps.len());
        for parts in steps {
            let parts = parts?;
            let key = ids.id(&Json::String(super::edn::map_key(&parts[1])));
            match super::edn::name_of(&parts[0]) {
                Some("read" | "r") if op.outcome == Outcome::Ok => {
                    out.push(MultiStep::Read(key, opt_id(&parts[2], ids)))
                }
                Some("read" | "r") => {}
                Some("write" | "w") => out.push(MultiStep::Write(key, ids.id(&parts[2]))),
                _ => {
                    return Err(format!(
                        "a transaction step is :read or :write, not {}",
                        show(&parts[0])
                    ))
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some((String::new(), out)))
    }

    fn show_state(&self, state: &BTreeMap<u64, u64>, ids: &Interner) -> String {
        let pairs: Vec<String> = state
            .iter()
            .map(|(k, v)| format!("{} {}", value_of(*k, ids), value_of(*v, ids)))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    }

    fn step(&self, state: &BTreeMap<u64, u64>, op: &Vec<MultiStep>) -> Option<BTreeMap<u64, u64>> {
        let mut next: Option<BTreeMap<u64, u64>> = None;
        for step in op {
            let now = next.as_ref().unwrap_or(state);
            match *step {
                MultiStep::Read(k, v) => {
                    if now.get(&k).copied() != v {
                        return None;
                    }
                }
                MultiStep::Write(k, v) => {
                    next.get_or_insert_with(|| state.clone()).insert(k, v);
                }
            }
        }
        Some(next.unwrap_or_else(|| state.clone()))
    }

    fn is_read(&self, op: &Vec<MultiStep>) -> bool {
        op.iter().all(|s| matches!(s, MultiStep::Read(..)))
    }
}

/// The names `--model` accepts in the `clustersim` program, in the order `check-history
/// --help` lists them (`Models::shipped`).
pub const NAMES: [&str; 9] = [
    "register",
    "cas-register",
    "kv",
    "list-append",
    "set",
    "counter",
    "fifo-queue",
    "mutex",
    "multi-register",
];

pub use super::named::Judged;

/// Checks `ops` against the shipped model called `name`, starting from `init` (`None`: the
/// model's own start), within `max_steps` search steps.
pub fn judge(
    name: &str,
    ops: &[Operation],
    init: Option<&Json>,
    max_steps: u64,
) -> Result<Judged, String> {
    judge_within(name, ops, init, max_steps, u64::MAX)
}

/// As `judge`, the search holding at most about `max_bytes` (`Judged::out_of_memory` says
/// when it stopped there).
pub fn judge_within(
    name: &str,
    ops: &[Operation],
    init: Option<&Json>,
    max_steps: u64,
    max_bytes: u64,
) -> Result<Judged, String> {
    let model = super::named::Models::shipped().build(name, init)?;
    model
        .judge(ops, max_steps, max_bytes)
        .map_err(|e| e.at(ops))
}

/// The smallest failing window (indices into `ops`) of partition `key` under the model called
/// `name`, within `max_steps` search steps.
pub fn failing_window(
    name: &str,
    ops: &[Operation],
    init: Option<&Json>,
    key: &str,
    max_steps: u64,
) -> Result<Vec<usize>, String> {
    failing_window_within(name, ops, init, key, max_steps, u64::MAX)
}

/// As `failing_window`, each search holding at most about `max_bytes`.
pub fn failing_window_within(
    name: &str,
    ops: &[Operation],
    init: Option<&Json>,
    key: &str,
    max_steps: u64,
    max_bytes: u64,
) -> Result<Vec<usize>, String> {
    let model = super::named::Models::shipped().build(name, init)?;
    model
        .failing_window(ops, key, max_steps, max_bytes)
        .map(|w| w.ops)
        .map_err(|e| e.at(ops))
}

/// Shipped models as the command line names them.
pub(super) mod naming {
    use super::*;
    use crate::lin::named::NamedModel;

    impl NamedModel for ListAppend {
        const NAME: &'static str = "list-append";
        fn build(_init: Option<&Json>, _ids: &mut Interner) -> Result<Self, String> {
            Ok(ListAppend)
        }
    }

    impl NamedModel for SetModel {
        const NAME: &'static str = "set";
        fn build(_init: Option<&Json>, _ids: &mut Interner) -> Result<Self, String> {
            Ok(SetModel)
        }
    }

    impl NamedModel for Counter {
        const NAME: &'static str = "counter";
        fn build(init: Option<&Json>, _ids: &mut Interner) -> Result<Self, String> {
            match init {
                Some(v) => v
                    .as_i64()
                    .map(Counter::new)
                    .ok_or_else(|| format!("a counter starts at an integer, not {}", show(v))),
                None => Ok(Counter::new(0)),
            }
        }
    }

    impl NamedModel for FifoQueue {
        const NAME: &'static str = "fifo-queue";
        fn build(_init: Option<&Json>, _ids: &mut Interner) -> Result<Self, String> {
            Ok(FifoQueue)
        }
    }

    impl NamedModel for Mutex {
        const NAME: &'static str = "mutex";
        fn build(_init: Option<&Json>, _ids: &mut Interner) -> Result<Self, String> {
            Ok(Mutex)
        }
    }

    impl NamedModel for MultiRegister {
        const NAME: &'static str = "multi-register";
        fn build(init: Option<&Json>, ids: &mut Interner) -> Result<Self, String> {
            let mut start = BTreeMap::new();
            match init {
                None | Some(Json::Null) => {}
                Some(v @ Json::Object(m)) if crate::lin::edn::wrapped(v).is_none() => {
                    for (k, v) in m {
                        if !v.is_null() {
                            start.insert(ids.id(&Json::String(k.clone())), ids.id(v));
                        }
                    }
                }
                Some(other) => {
                    return Err(format!(
                    "a multi-register starts from a map of keys to values ({{:x 0 :y 0}}), not {}",
                    show(other)
                ))
                }
            }
            Ok(MultiRegister::new(start))
        }
    }

    /// `register`, `cas-register` and `kv` from `--init` (one value, or absent).
    pub(crate) fn register_family(
        make: fn(Option<u64>) -> RegisterModel,
        init: Option<&Json>,
        ids: &mut Interner,
    ) -> RegisterModel {
        make(init.and_then(|v| opt_id(v, ids)))
    }
}
