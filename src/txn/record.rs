//! Transactions as the checks read them: each operation of a history whose `f` is `txn`, its
//! steps in order (appends, writes, and reads with the value a committed read returned), how it
//! ended and where it sits in the history; and the two orders between transactions a check may
//! add to their data dependencies (each client's order, real time).

use super::graph::{Edge, EdgeKind};
use crate::lin::edn::{name_of, show};
use crate::lin::{ModelError, Operation, Outcome};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// One step of a transaction (keys and values as the history writes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// List-append: add the value to the end of the key's list.
    Append(String, String),
    /// List-append: read the key's whole list (`None`: not known, the transaction did not
    /// commit; `nil` reads as the empty list).
    Read(String, Option<Vec<String>>),
    /// Read-write register: set the key to the value.
    Write(String, String),
    /// Read-write register: read the key (`None`: not known; `Some(None)`: `nil`, never
    /// written).
    ReadRegister(String, Option<Option<String>>),
}

/// The workload a history's transactions come from: which steps they may have.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Jepsen's list-append: `[:append k v]` and `[:r k list]`.
    ListAppend,
    /// Jepsen's rw-register: `[:w k v]` and `[:r k v]`.
    RwRegister,
}

impl Workload {
    /// Every workload's name, as `check-txn --workload` and `Transactional(workload: ...)` take it.
    pub const NAMES: [&'static str; 2] = ["list-append", "rw-register"];

    /// The workload called `name`.
    pub fn named(name: &str) -> Option<Workload> {
        match name {
            "list-append" => Some(Workload::ListAppend),
            "rw-register" => Some(Workload::RwRegister),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Workload::ListAppend => "[:append :x 1]",
            Workload::RwRegister => "[:w :x 1]",
        }
    }
}

/// A transaction as the check reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    /// Its operation's index in the history read.
    pub op: usize,
    /// The client.
    pub process: String,
    /// How it ended: `Ok` committed, `Fail` aborted, `Info` unknown.
    pub outcome: Outcome,
    /// Its steps, in order (a committed one's reads with their values).
    pub steps: Vec<Step>,
    /// Line and column of its call.
    pub at: (usize, usize),
    /// Position of its call among the history's events.
    pub call: usize,
    /// Position of its completion; `None` for one never completed.
    pub ret: Option<usize>,
}

impl Txn {
    /// The transaction in a few words: `T3 (process 1, line 5:1)`.
    pub fn name(&self, index: usize) -> String {
        format!(
            "T{index} (process {}, line {}:{})",
            self.process, self.at.0, self.at.1
        )
    }

    /// True when it committed.
    pub fn committed(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// True when its writes may have taken effect (it did not certainly abort).
    pub fn may_have_written(&self) -> bool {
        self.outcome != Outcome::Fail
    }
}

/// Reads the transactions of `ops` (operations whose `f` is `txn`; any other is an error) as
/// steps of `workload`.
pub fn read_txns(ops: &[Operation], workload: Workload) -> Result<Vec<Txn>, ModelError> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            read_txn(i, op, workload).map_err(|message| ModelError {
                op: Some(i),
                message,
            })
        })
        .collect()
}

fn read_txn(index: usize, op: &Operation, workload: Workload) -> Result<Txn, String> {
    if op.f != "txn" {
        return Err(format!(
            "operation `{}` is not a transaction (:f :txn, whose value is [{} ...])",
            op.f,
            workload.example()
        ));
    }
    let value = match op.outcome {
        Outcome::Ok => op.result.as_ref().unwrap_or(&op.value),
        _ => &op.value,
    };
    let committed = op.outcome == Outcome::Ok;
    let steps = crate::lin::edn::txn_steps(value, workload.example())?;
    let mut out = Vec::with_capacity(steps.len());
    for parts in steps {
        let parts = parts?;
        let key = show(&parts[1]);
        let f = name_of(&parts[0]);
        out.push(match (workload, f) {
            (Workload::ListAppend, Some("append")) => Step::Append(key, show(&parts[2])),
            (Workload::ListAppend, Some("r" | "read")) if committed => match &parts[2] {
                Json::Null => Step::Read(key, Some(Vec::new())),
                Json::Array(list) => Step::Read(key, Some(list.iter().map(show).collect())),
                other => {
                    return Err(format!(
                        "a list-append read returns a list, not {}",
                        show(other)
                    ))
                }
            },
            (Workload::ListAppend, Some("r" | "read")) => Step::Read(key, None),
            (Workload::ListAppend, f) => {
                let hint = if matches!(f, Some("w" | "write")) {
                    " (a rw-register history? name its workload: `--workload rw-register` to check-txn, \
                     `Transactional(workload: \"rw-register\")` in a scenario)"
                } else {
                    ""
                };
                return Err(format!(
                    "a list-append step is :append or :r, not {}{hint}",
                    show(&parts[0])
                ));
            }
            (Workload::RwRegister, Some("w" | "write")) => {
                if parts[2].is_null() {
                    return Err("a rw-register write of nil cannot be told from the initial state; write unique non-nil values".into());
                }
                Step::Write(key, show(&parts[2]))
            }
            (Workload::RwRegister, Some("r" | "read")) if committed => {
                let value = (!parts[2].is_null()).then(|| show(&parts[2]));
                Step::ReadRegister(key, Some(value))
            }
            (Workload::RwRegister, Some("r" | "read")) => Step::ReadRegister(key, None),
            (Workload::RwRegister, f) => {
                let hint = if f == Some("append") {
                    " (a list-append history? name its workload: `--workload list-append` to check-txn, \
                     `Transactional(workload: \"list-append\")` in a scenario)"
                } else {
                    ""
                };
                return Err(format!(
                    "a rw-register step is :w or :r, not {}{hint}",
                    show(&parts[0])
                ));
            }
        });
    }
    Ok(Txn {
        op: index,
        process: op.process.clone(),
        outcome: op.outcome,
        steps: out,
        at: (op.line, op.col),
        call: op.call,
        ret: op.ret,
    })
}

/// Which orders between transactions a check adds to their data dependencies.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Orders {
    /// Each client's committed transactions in the order it ran them (strong-session models).
    pub process: bool,
    /// A committed transaction before every one invoked after it completed (strict models).
    pub realtime: bool,
}

impl Orders {
    /// The edges these orders add between `txns`.
    pub fn edges(self, txns: &[Txn]) -> Vec<Edge> {
        let mut edges = Vec::new();
        if self.process {
            edges.extend(process_order(txns));
        }
        if self.realtime {
            edges.extend(realtime_order(txns));
        }
        edges
    }
}

/// Each client's transactions, one after another: from each committed one to the next
/// committed or unknown one (an unknown one ends its client's chain in a Jepsen history).
pub fn process_order(txns: &[Txn]) -> Vec<Edge> {
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    let mut edges = Vec::new();
    let mut by_call: Vec<usize> = (0..txns.len())
        .filter(|&t| txns[t].may_have_written())
        .collect();
    by_call.sort_by_key(|&t| txns[t].call);
    for t in by_call {
        if let Some(&prev) = last.get(txns[t].process.as_str()) {
            edges.push(Edge {
                kind: EdgeKind::Process,
                from: prev,
                to: t,
                key: format!("process {}", txns[t].process),
                why: format!("T{prev} then T{t} on one client"),
            });
        }
        if txns[t].committed() {
            last.insert(&txns[t].process, t);
        }
    }
    edges
}

/// Real-time order, reduced: from a committed transaction to each committed or unknown one
/// invoked after it completed, unless a third lies wholly between them (that order follows).
pub fn realtime_order(txns: &[Txn]) -> Vec<Edge> {
    let sources: Vec<(usize, usize, usize)> = txns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.committed())
        .filter_map(|(i, t)| t.ret.map(|r| (r, t.call, i)))
        .collect();
    let targets: Vec<(usize, usize)> = txns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.may_have_written())
        .map(|(i, t)| (t.call, i))
        .collect();
    realtime_pairs(sources, targets)
        .into_iter()
        .map(|(prev, t)| Edge {
            kind: EdgeKind::Realtime,
            from: prev,
            to: t,
            key: "real time".to_string(),
            why: format!("T{prev} completed before T{t} began"),
        })
        .collect()
}

/// The reduced real-time order from `sources` (`(completion, call, id)`) to `targets`
/// (`(call, id)`): `(a, b)` when `a` completed before `b` was called and no source lies wholly
/// between them.
pub fn realtime_pairs(
    sources: Vec<(usize, usize, usize)>,
    mut targets: Vec<(usize, usize)>,
) -> Vec<(usize, usize)> {
    let mut by_ret = sources;
    by_ret.sort_unstable();
    targets.sort_unstable();
    let mut pairs = Vec::new();
    // by_ret[..before] completed before the current target began; latest is the latest call
    // among them.
    let (mut before, mut latest) = (0usize, 0usize);
    for &(call, t) in &targets {
        while before < by_ret.len() && by_ret[before].0 < call {
            latest = latest.max(by_ret[before].1);
            before += 1;
        }
        let from = by_ret[..before].partition_point(|&(ret, _, _)| ret < latest);
        for &(_, _, prev) in &by_ret[from..before] {
            if prev != t {
                pairs.push((prev, t));
            }
        }
    }
    pairs
}
