//! Models by name: `NamedModel`, the trait a model implements once to be named on the command
//! line (`check-history --model NAME`), its type-erased form `AnyModel`, and `Models`, the
//! names one program knows. `Models::shipped` registers clustersim's models through the same
//! `add::<M>()` a user's program calls (through `Registry::model`).

use super::model::{Interner, Model, Operation};
use super::models::{naming, RegisterModel};
use super::search::Window;
use super::PartitionVerdict;
use serde_json::Value as Json;

/// A model the command line can name: its name, and how `--init` builds it.
pub trait NamedModel: Model + Sized + 'static {
    /// The name `--model` takes.
    const NAME: &'static str;
    /// The model starting from `init` (`--init`, as JSON or EDN read into JSON; `None`: the
    /// model's own start); `Err` with a sentence if `init` is not a start it can take. Values
    /// it keeps are interned in `ids`, as `prepare` interns the history's.
    fn build(init: Option<&Json>, ids: &mut Interner) -> Result<Self, String>;
}

/// An operation a model cannot read (`op`: its index in the history), or a problem with no
/// operation of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// The operation, as an index into the operations checked.
    pub op: Option<usize>,
    /// What the model expected.
    pub message: String,
}

impl ModelError {
    /// The message with the operation's line and column in front (`line 3:1: ...`).
    pub fn at(&self, ops: &[Operation]) -> String {
        match self.op.and_then(|i| ops.get(i)) {
            Some(op) => format!("line {}:{}: {}", op.line, op.col, self.message),
            None => self.message.clone(),
        }
    }
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The verdict on a history against a named model, without its type.
#[derive(Clone, Debug)]
pub struct Judged {
    /// Each partition's verdict, in key order.
    pub partitions: Vec<PartitionVerdict>,
    /// Search steps used.
    pub steps: u64,
    /// The first partition that is not linearizable.
    pub failing: Option<String>,
    /// The search stopped at its memory limit (`judge_within`).
    pub out_of_memory: bool,
    /// In the failing partition, the position of the return its search could not get past
    /// (`search::search_frontier`), which spares the window's narrowing that search.
    pub frontier: Option<usize>,
}

impl Judged {
    /// True when every partition is linearizable.
    pub fn linearizable(&self) -> bool {
        super::all_linearizable(&self.partitions)
    }

    /// The first partition the budget gave up on, when none failed.
    pub fn undecided(&self) -> Option<&PartitionVerdict> {
        super::first_undecided(&self.partitions, self.failing.is_some())
    }

    /// Operations checked (those that constrain the model).
    pub fn ops(&self) -> usize {
        self.partitions.iter().map(|p| p.ops).sum()
    }
}

/// A built model with its type erased: what `check-history` drives.
pub trait AnyModel {
    /// Decides every partition of `ops` within `max_steps` search steps, each search holding
    /// at most about `max_bytes`.
    fn judge(
        &self,
        ops: &[Operation],
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Judged, ModelError>;
    /// The smallest failing window (indices into `ops`) of partition `key` the narrowing finds
    /// within `max_steps` search steps (`Window::smallest` says whether it finished).
    fn failing_window(
        &self,
        ops: &[Operation],
        key: &str,
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Window<usize>, ModelError>;
    /// As `failing_window`, given where the verdict's search of that partition got stuck
    /// (`Judged::frontier`). Default: the frontier is searched for again.
    fn failing_window_after(
        &self,
        ops: &[Operation],
        key: &str,
        frontier: Option<usize>,
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Window<usize>, ModelError> {
        let _ = frontier;
        self.failing_window(ops, key, max_steps, max_bytes)
    }
}

/// A model with the ids its start was interned with.
struct Built<M> {
    model: M,
    ids: Interner,
}

impl<M: Model> AnyModel for Built<M> {
    fn judge(
        &self,
        ops: &[Operation],
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Judged, ModelError> {
        let mut ids = self.ids.clone();
        let parts = super::partitions(&self.model, ops, &mut ids)?;
        let checked = super::check_partitions_within(&self.model, parts, max_steps, max_bytes);
        Ok(Judged {
            failing: checked.failing_key().map(str::to_string),
            frontier: checked.frontier(),
            out_of_memory: checked.out_of_memory,
            partitions: checked.partitions,
            steps: checked.steps,
        })
    }

    fn failing_window(
        &self,
        ops: &[Operation],
        key: &str,
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Window<usize>, ModelError> {
        self.failing_window_after(ops, key, None, max_steps, max_bytes)
    }

    fn failing_window_after(
        &self,
        ops: &[Operation],
        key: &str,
        frontier: Option<usize>,
        max_steps: u64,
        max_bytes: u64,
    ) -> Result<Window<usize>, ModelError> {
        let mut ids = self.ids.clone();
        let mut parts = super::partitions(&self.model, ops, &mut ids)?;
        let part = parts.remove(key).unwrap_or_default();
        let show = |s: &M::State| self.model.show_state(s, &ids);
        Ok(super::search::failing_window_shown(
            &self.model,
            &part,
            frontier,
            max_steps,
            max_bytes,
            &show,
        )
        .map(|o| o.origin))
    }
}

/// Builds a named model from `--init`, its type erased.
pub type BuildModel = fn(Option<&Json>) -> Result<Box<dyn AnyModel>, String>;

/// `model` with the ids its start was interned with, its type erased.
pub fn erase<M: Model + 'static>(model: M, ids: Interner) -> Box<dyn AnyModel> {
    Box::new(Built { model, ids })
}

/// The models one program can name, in the order they were added.
#[derive(Clone, Default)]
pub struct Models {
    entries: Vec<(&'static str, BuildModel)>,
}

impl Models {
    /// No models.
    pub fn new() -> Self {
        Models::default()
    }

    /// Every model clustersim ships (`models::NAMES`).
    pub fn shipped() -> Self {
        use super::models::{Counter, FifoQueue, ListAppend, MultiRegister, Mutex, SetModel};
        fn family(
            make: fn(Option<u64>) -> RegisterModel,
            init: Option<&Json>,
        ) -> Result<Box<dyn AnyModel>, String> {
            let mut ids = Interner::default();
            let model = naming::register_family(make, init, &mut ids);
            Ok(erase(model, ids))
        }
        Models::new()
            .add_with("register", |init| family(RegisterModel::register, init))
            .add_with("cas-register", |init| {
                family(RegisterModel::cas_register, init)
            })
            .add_with("kv", |init| family(RegisterModel::kv, init))
            .add::<ListAppend>()
            .add::<SetModel>()
            .add::<Counter>()
            .add::<FifoQueue>()
            .add::<Mutex>()
            .add::<MultiRegister>()
    }

    /// The builder of the model called `name`, if the program knows it.
    pub fn builder(&self, name: &str) -> Option<BuildModel> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, build)| *build)
    }

    /// Adds model `M` under `M::NAME`, replacing one of that name.
    pub fn add<M: NamedModel>(self) -> Self {
        self.add_with(M::NAME, |init| {
            let mut ids = Interner::default();
            let model = M::build(init, &mut ids)?;
            Ok(erase(model, ids))
        })
    }

    /// Adds a model built by `build` under `name` (one type under several names, say),
    /// replacing one of that name.
    pub fn add_with(mut self, name: &'static str, build: BuildModel) -> Self {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = build,
            None => self.entries.push((name, build)),
        }
        self
    }

    /// Adds every model of `other`, each replacing one of its name.
    pub fn with_all(self, other: &Models) -> Self {
        other
            .entries
            .iter()
            .fold(self, |models, &(name, build)| models.add_with(name, build))
    }

    /// The names, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|(n, _)| *n).collect()
    }

    /// True when a model called `name` is known.
    pub fn knows(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| *n == name)
    }

    /// The model called `name`, started from `init`; `Err` naming the valid models for an
    /// unknown name, or the model's own sentence for a start it cannot take.
    pub fn build(&self, name: &str, init: Option<&Json>) -> Result<Box<dyn AnyModel>, String> {
        match self.entries.iter().find(|(n, _)| *n == name) {
            Some((_, build)) => build(init),
            None => Err(format!(
                "unknown model `{name}`; valid models: {}",
                self.names().join(", ")
            )),
        }
    }
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
