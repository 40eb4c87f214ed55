//! What linearizability is checked against: the `Model` trait (a sequential specification: a
//! state, how an operation steps it, how operations split into independent partitions), and
//! the `Operation` record every history format is read into.

use super::edn::show;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// How a recorded operation ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It completed, with a result.
    Ok,
    /// It certainly did not take effect (or, for some models, observed something: a cas whose
    /// compare failed).
    Fail,
    /// Unknown: it may have taken effect at any time after its call, or never.
    Info,
}

/// One call of a recorded history, in whatever format it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The client (Jepsen's `:process`, clustersim's node).
    pub process: String,
    /// What it did, normalised: `read`, `write`, `cas`, `append`, `add`, `enqueue`, `dequeue`,
    /// `acquire`, `release`, or the history's own word.
    pub f: String,
    /// The key, when the history names one apart from the value.
    pub key: Option<Json>,
    /// The invocation's value (what to write, `[from, to]` of a cas, ...).
    pub value: Json,
    /// The completion's value (what a read returned); `None` when unknown.
    pub result: Option<Json>,
    /// How it ended.
    pub outcome: Outcome,
    /// Position of its call among the history's events.
    pub call: usize,
    /// Position of its completion; `None` for `info` and never-completed calls.
    pub ret: Option<usize>,
    /// Line of its call in the file (1-based), for messages.
    pub line: usize,
    /// Column of its call in the file (1-based, in characters), for messages.
    pub col: usize,
}

impl Operation {
    /// The operation in words: `p2 cas(k1, [1, 2]) -> false (ok, line 3:1)`.
    pub fn describe(&self) -> String {
        let key = self
            .key
            .as_ref()
            .map(|k| format!("{}, ", show(k)))
            .unwrap_or_default();
        let result = match &self.result {
            Some(r) => format!(" -> {}", show(r)),
            None => String::new(),
        };
        let outcome = match self.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        format!(
            "{} {}({key}{}){result} ({outcome}, line {}:{})",
            self.process,
            self.f,
            show(&self.value),
            self.line,
            self.col
        )
    }
}

/// Dense ids for the values a history mentions, so model states are small and cheap to hash.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    ids: BTreeMap<String, u64>,
    values: Vec<Json>,
}

impl Interner {
    /// The id of `v` (the same for equal values, different for different ones: a keyword and
    /// a string of one name differ), made on first sight.
    pub fn id(&mut self, v: &Json) -> u64 {
        let text = show(v);
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let id = self.values.len() as u64;
        self.ids.insert(text, id);
        self.values.push(v.clone());
        id
    }

    /// The value an id stands for.
    pub fn value(&self, id: u64) -> Option<&Json> {
        self.values.get(id as usize)
    }
}

/// A sequential specification that histories are checked against.
///
/// A model reads each recorded `Operation` into its own compact `Op` (`prepare`, which also
/// names the operation's partition: operations of different partitions never affect each
/// other, so each is checked alone, as P-compositionality allows), and steps a `State` by an
/// `Op` (`step`, which refuses an operation whose recorded result the state contradicts).
pub trait Model {
    /// An operation as the model steps it.
    type Op: Clone + Debug;
    /// The state of the object; equal states are explored once.
    type State: Clone + Eq + Hash + Debug;

    /// The state before the first operation.
    fn init(&self) -> Self::State;

    /// The operation as this model sees it, with its partition; `Ok(None)` if it constrains
    /// nothing (a read whose result is unknown, a write that failed); `Err` with a sentence if
    /// the model cannot read it.
    fn prepare(
        &self,
        op: &Operation,
        ids: &mut Interner,
    ) -> Result<Option<(String, Self::Op)>, String>;

    /// The state after `op`, or `None` if `op` cannot happen in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// `state` in words, its values as the history wrote them (`ids` has the values `prepare`
    /// interned). Default: the state's debug text.
    fn show_state(&self, state: &Self::State, ids: &Interner) -> String {
        let _ = ids;
        format!("{state:?}")
    }

    /// True for an operation that only observes: cut from a window when its result is lost.
    fn is_read(&self, op: &Self::Op) -> bool;

    /// Every state a window may open in, given the operations that completed before it (for
    /// the smallest failing window); `None` if the model cannot tell (the window is then the
    /// shortest failing prefix).
    fn window_inits(&self, before: &[&Self::Op], window: &[&Self::Op]) -> Option<Vec<Self::State>> {
        let _ = (before, window);
        None
    }
}
