//! Jepsen's list-append workload: each key holds a list; a transaction (`:f :txn`) is a list
//! of steps `[:append k v]` (add `v` to the end of `k`'s list) and `[:r k list]` (read `k`'s
//! whole list; `nil` is empty). Appended values are unique per key, so every read names the
//! transactions that wrote each element, and the longest read of a key is its version order:
//! consecutive elements give write-write edges, a read's last element a write-read edge from
//! its writer, and the element after a read's last a read-write edge to its writer. A
//! committed append no read saw came after every read of its key: a write-write edge from the
//! last element read, and a read-write edge from every read.

use super::graph::{cycles, Cycle, Edge, EdgeKind};
use crate::lin::edn::{name_of, show};
use crate::lin::{ModelError, Operation, Outcome};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// One step of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Append the value to the key's list.
    Append(String, String),
    /// Read the key's list (`None`: its value is not known).
    Read(String, Option<Vec<String>>),
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
}

/// The verdict on a list-append history.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The transactions read.
    pub txns: Vec<Txn>,
    /// Every dependency inferred.
    pub edges: Vec<Edge>,
    /// The cycles found, strongest class first.
    pub cycles: Vec<Cycle>,
    /// Reads no single order of a key explains (one read is not a prefix of another), in
    /// words; such a key gives no write-write or read-write edges.
    pub incompatible: Vec<String>,
    /// G1a, aborted reads: a committed read saw a value only an aborted transaction appended.
    pub aborted_reads: Vec<String>,
    /// G1b, intermediate reads: a committed read ended in a value its writer appended to
    /// before appending more to the same key.
    pub intermediate_reads: Vec<String>,
}

impl Checked {
    /// True when no cycle, no aborted or intermediate read and no incompatible read was found.
    pub fn valid(&self) -> bool {
        self.cycles.is_empty()
            && self.incompatible.is_empty()
            && self.aborted_reads.is_empty()
            && self.intermediate_reads.is_empty()
    }

    /// A cycle in words, one line per dependency.
    pub fn explain(&self, cycle: &Cycle) -> Vec<String> {
        cycle
            .edges
            .iter()
            .map(|e| {
                format!(
                    "{} < {}: {} on {}: {}",
                    self.txns[e.from].name(e.from),
                    self.txns[e.to].name(e.to),
                    e.kind.name(),
                    e.key,
                    e.why
                )
            })
            .collect()
    }
}

/// Which orders between transactions a check adds to their data dependencies.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Orders {
    /// Each client's committed transactions in the order it ran them (strong-session models).
    pub process: bool,
    /// A committed transaction before every one invoked after it completed (strict models).
    pub realtime: bool,
}

/// Reads the transactions of `ops` (operations whose `f` is `txn`; any other is an error) and
/// checks them as list-append transactions, on their data dependencies alone.
pub fn check_list_append(ops: &[Operation]) -> Result<Checked, ModelError> {
    check_list_append_with(ops, Orders::default())
}

/// As `check_list_append`, adding the process and real-time orders `orders` asks for.
pub fn check_list_append_with(ops: &[Operation], orders: Orders) -> Result<Checked, ModelError> {
    let mut txns = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        txns.push(read_txn(i, op).map_err(|message| ModelError {
            op: Some(i),
            message,
        })?);
    }
    let (mut edges, incompatible) = infer(&txns);
    if orders.process {
        edges.extend(process_order(&txns));
    }
    if orders.realtime {
        edges.extend(realtime_order(&txns));
    }
    let cycles = cycles(txns.len(), &edges);
    let (aborted_reads, intermediate_reads) = dirty_reads(&txns);
    Ok(Checked {
        txns,
        edges,
        cycles,
        incompatible,
        aborted_reads,
        intermediate_reads,
    })
}

fn read_txn(index: usize, op: &Operation) -> Result<Txn, String> {
    if op.f != "txn" {
        return Err(format!(
            "operation `{}` is not a transaction (:f :txn, whose value is [[:append k v] [:r k nil] ...])",
            op.f
        ));
    }
    let value = match op.outcome {
        Outcome::Ok => op.result.as_ref().unwrap_or(&op.value),
        _ => &op.value,
    };
    let steps = crate::lin::edn::txn_steps(value, "[:append :x 1]")?;
    let mut out = Vec::with_capacity(steps.len());
    for parts in steps {
        let parts = parts?;
        let key = show(&parts[1]);
        out.push(match name_of(&parts[0]) {
            Some("append") => Step::Append(key, show(&parts[2])),
            Some("r" | "read") if op.outcome == Outcome::Ok => match &parts[2] {
                Json::Null => Step::Read(key, Some(Vec::new())),
                Json::Array(list) => Step::Read(key, Some(list.iter().map(show).collect())),
                other => {
                    return Err(format!(
                        "a list-append read returns a list, not {}",
                        show(other)
                    ))
                }
            },
            Some("r" | "read") => Step::Read(key, None),
            _ => {
                return Err(format!(
                    "a list-append step is :append or :r, not {}",
                    show(&parts[0])
                ))
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

/// Each client's committed transactions, one after another.
fn process_order(txns: &[Txn]) -> Vec<Edge> {
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    let mut edges = Vec::new();
    let mut by_call: Vec<usize> = (0..txns.len())
        .filter(|&t| txns[t].outcome == Outcome::Ok)
        .collect();
    by_call.sort_by_key(|&t| txns[t].call);
    for t in by_call {
        if let Some(prev) = last.insert(&txns[t].process, t) {
            edges.push(Edge {
                kind: EdgeKind::Process,
                from: prev,
                to: t,
                key: format!("process {}", txns[t].process),
                why: format!("T{prev} then T{t} on one client"),
            });
        }
    }
    edges
}

/// Real-time order between committed transactions, reduced: an edge from T1 to T2 only when no
/// T3 both began after T1 completed and completed before T2 began (that order follows).
fn realtime_order(txns: &[Txn]) -> Vec<Edge> {
    let done: Vec<(usize, usize, usize)> = txns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.outcome == Outcome::Ok)
        .filter_map(|(i, t)| t.ret.map(|r| (r, t.call, i)))
        .collect();
    let mut by_ret = done.clone();
    by_ret.sort_unstable();
    let mut by_call = done;
    by_call.sort_unstable_by_key(|&(_, call, i)| (call, i));
    let mut edges = Vec::new();
    // by_ret[..before] completed before the current transaction began; latest is the latest
    // call among them.
    let (mut before, mut latest) = (0usize, 0usize);
    for &(_, call, t) in &by_call {
        while before < by_ret.len() && by_ret[before].0 < call {
            latest = latest.max(by_ret[before].1);
            before += 1;
        }
        let from = by_ret[..before].partition_point(|&(ret, _, _)| ret < latest);
        for &(_, _, prev) in &by_ret[from..before] {
            edges.push(Edge {
                kind: EdgeKind::Realtime,
                from: prev,
                to: t,
                key: "real time".to_string(),
                why: format!("T{prev} completed before T{t} began"),
            });
        }
    }
    edges
}

/// G1a and G1b in words: committed reads of values only an aborted transaction appended, and
/// committed reads ending in a value its writer appended to further.
fn dirty_reads(txns: &[Txn]) -> (Vec<String>, Vec<String>) {
    // For each (key, value): who appended it, and whether they committed or may have.
    let mut appended: BTreeMap<(&str, &str), (usize, bool)> = BTreeMap::new();
    // For each (transaction, key): the values it appended, in order.
    let mut appends: BTreeMap<(usize, &str), Vec<&str>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            if let Step::Append(k, v) = step {
                let took_effect = txn.outcome != Outcome::Fail;
                let entry = appended.entry((k, v)).or_insert((t, took_effect));
                if took_effect && !entry.1 {
                    *entry = (t, true);
                }
                appends.entry((t, k)).or_default().push(v);
            }
        }
    }
    let (mut aborted, mut intermediate) = (Vec::new(), Vec::new());
    for (t, txn) in txns.iter().enumerate() {
        if txn.outcome != Outcome::Ok {
            continue;
        }
        for step in &txn.steps {
            let Step::Read(k, Some(list)) = step else {
                continue;
            };
            for v in list {
                if let Some(&(a, false)) = appended.get(&(k.as_str(), v.as_str())) {
                    aborted.push(format!(
                        "{} read {v} in {k} = [{}], appended only by aborted {}",
                        txn.name(t),
                        list.join(" "),
                        txns[a].name(a)
                    ));
                }
            }
            let Some(last) = list.last() else {
                continue;
            };
            let Some(&(w, true)) = appended.get(&(k.as_str(), last.as_str())) else {
                continue;
            };
            let own = &appends[&(w, k.as_str())];
            if w != t && own.last() != Some(&last.as_str()) {
                intermediate.push(format!(
                    "{} read {k} = [{}], ending in {last}, which {} appended before appending {}",
                    txn.name(t),
                    list.join(" "),
                    txns[w].name(w),
                    own[own.iter().position(|v| v == last).map_or(0, |i| i + 1)..].join(" ")
                ));
            }
        }
    }
    (aborted, intermediate)
}

/// Every dependency between the transactions, and the keys whose reads disagree.
fn infer(txns: &[Txn]) -> (Vec<Edge>, Vec<String>) {
    // Who appended each (key, value): committed and unknown transactions (an aborted one's
    // appends never happened).
    let mut writer: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    // Every committed read of each key: (transaction, list).
    let mut reads: BTreeMap<&str, Vec<(usize, &[String])>> = BTreeMap::new();
    // Every committed append of each key: (value, transaction).
    let mut committed: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            match step {
                Step::Append(k, v) if txn.outcome != Outcome::Fail => {
                    writer.insert((k, v), t);
                    if txn.outcome == Outcome::Ok {
                        committed.entry(k).or_default().push((v, t));
                    }
                }
                Step::Read(k, Some(list)) => reads.entry(k).or_default().push((t, list)),
                _ => {}
            }
        }
    }
    let mut edges = Vec::new();
    let mut incompatible = Vec::new();
    for (&key, key_reads) in &reads {
        let order: &[String] = key_reads
            .iter()
            .map(|(_, l)| *l)
            .max_by_key(|l| l.len())
            .unwrap_or(&[]);
        let disagree = key_reads.iter().find(|(_, l)| !order.starts_with(l));
        if let Some((t, list)) = disagree {
            incompatible.push(format!(
                "{} read {key} as [{}], which is not a prefix of [{}] read elsewhere",
                txns[*t].name(*t),
                list.join(" "),
                order.join(" ")
            ));
        }
        let of = |v: &String| writer.get(&(key, v.as_str())).copied();
        if disagree.is_none() {
            for pair in order.windows(2) {
                if let (Some(a), Some(b)) = (of(&pair[0]), of(&pair[1])) {
                    edges.push(Edge {
                        kind: EdgeKind::Ww,
                        from: a,
                        to: b,
                        key: key.to_string(),
                        why: format!("T{b} appended {} after T{a}'s {}", pair[1], pair[0]),
                    });
                }
            }
        }
        // A committed append no read saw came after every read (lists only grow): after the
        // last element read, and after each read that lacks it.
        let seen: std::collections::BTreeSet<&str> = order.iter().map(String::as_str).collect();
        let unseen: Vec<(&str, usize)> = committed
            .get(key)
            .map(|all| {
                all.iter()
                    .filter(|(v, _)| !seen.contains(v))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        if disagree.is_none() {
            if let Some(a) = order.last().and_then(of) {
                for &(v, w) in &unseen {
                    edges.push(Edge {
                        kind: EdgeKind::Ww,
                        from: a,
                        to: w,
                        key: key.to_string(),
                        why: format!(
                            "T{w} appended {v}, which no read saw, after T{a}'s {}",
                            order[order.len() - 1]
                        ),
                    });
                }
            }
            for &(t, list) in key_reads {
                for &(v, w) in &unseen {
                    edges.push(Edge {
                        kind: EdgeKind::Rw,
                        from: t,
                        to: w,
                        key: key.to_string(),
                        why: format!(
                            "T{t} read [{}] without T{w}'s {v}, which no read saw",
                            list.join(" ")
                        ),
                    });
                }
            }
        }
        for &(t, list) in key_reads {
            if let Some(w) = list.last().and_then(of) {
                edges.push(Edge {
                    kind: EdgeKind::Wr,
                    from: w,
                    to: t,
                    key: key.to_string(),
                    why: format!(
                        "read [{}], whose last element the first appended",
                        list.join(" ")
                    ),
                });
            }
            if disagree.is_none() {
                if let Some(w) = order.get(list.len()).and_then(of) {
                    edges.push(Edge {
                        kind: EdgeKind::Rw,
                        from: t,
                        to: w,
                        key: key.to_string(),
                        why: format!(
                            "T{t} read [{}] before T{w} appended {}",
                            list.join(" "),
                            order[list.len()]
                        ),
                    });
                }
            }
        }
    }
    edges.sort();
    (edges, incompatible)
}
