//! Jepsen's rw-register workload: each key is a register; a transaction is a list of steps
//! `[:w k v]` (set `k` to `v`) and `[:r k v]` (read `k`; `nil`: never written). Written values
//! are unique per key, so a read names its writer (a write-read edge), but unlike list-append
//! a read does not reveal the order of versions. As Elle does (`elle.rw-register`), the version
//! order of each key is inferred from what may be assumed: `nil` comes before every value; and
//! when asked, within a transaction a write follows its read (`Assume::wfr`), each client sees
//! a key's versions in order (`sequential_keys`), or real time orders them (`linearizable_keys`).
//! An assumption whose versions would form a cycle is refused and reported (`cyclic-versions`).
//! Each pair of versions `v1 < v2` gives write-write edges from `v1`'s writer to `v2`'s and
//! read-write edges from `v1`'s readers to `v2`'s writer.
//!
//! Only a transaction's external steps count: its first read of a key before it writes it, and
//! its last write of a key. Besides cycles: G1a (a read of an aborted write), G1b (a read of a
//! write its transaction overwrote), garbage reads (a value nobody wrote), internal
//! inconsistency (a read that disagrees with the transaction's own earlier step) and lost
//! updates (two committed transactions read one version of a key and both wrote it).

use super::checked::{Checked, Finding};
use super::graph::{cycles, Edge, EdgeKind};
use super::record::{read_txns, Orders, Step, Txn, Workload};
use crate::lin::{ModelError, Operation, Outcome};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};

/// Which version orders a rw-register check may assume besides "`nil` comes first".
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Assume {
    /// Within a transaction writes follow reads: a read of `v` then a write of `v'` to the same
    /// key puts `v` before `v'` (Elle's `:wfr-keys?`).
    pub wfr: bool,
    /// Each key is sequentially consistent: each client's committed transactions see its
    /// versions in order (Elle's `:sequential-keys?`).
    pub sequential_keys: bool,
    /// Each key is linearizable: a committed transaction's versions come before those of every
    /// transaction invoked after it completed (Elle's `:linearizable-keys?`).
    pub linearizable_keys: bool,
}

/// A value of a key: `None` is `nil`, the state before any write.
type Version<'a> = Option<&'a str>;

/// A transaction's external reads (committed ones only: others' reads are not known) and
/// external writes (any that may have taken effect).
struct Ext<'a> {
    reads: BTreeMap<&'a str, Version<'a>>,
    writes: BTreeMap<&'a str, &'a str>,
}

impl<'a> Ext<'a> {
    fn of(txn: &'a Txn) -> Ext<'a> {
        let mut reads = BTreeMap::new();
        let mut writes: BTreeMap<&str, &str> = BTreeMap::new();
        for step in &txn.steps {
            match step {
                Step::ReadRegister(k, Some(v))
                    if txn.committed() && !writes.contains_key(k.as_str()) =>
                {
                    reads.entry(k.as_str()).or_insert(v.as_deref());
                }
                Step::Write(k, v) if txn.may_have_written() => {
                    writes.insert(k, v);
                }
                _ => {}
            }
        }
        Ext { reads, writes }
    }

    /// The first version of `k` the transaction saw (its read, else its write).
    fn first(&self, k: &str) -> Option<Version<'a>> {
        self.reads
            .get(k)
            .copied()
            .or_else(|| self.writes.get(k).map(|v| Some(*v)))
    }

    /// The version of `k` the transaction left (its write, else its read).
    fn last(&self, k: &str) -> Option<Version<'a>> {
        self.writes
            .get(k)
            .map(|v| Some(*v))
            .or_else(|| self.reads.get(k).copied())
    }

    fn keys(&self) -> BTreeSet<&'a str> {
        self.reads
            .keys()
            .chain(self.writes.keys())
            .copied()
            .collect()
    }
}

fn show(v: Version<'_>) -> &str {
    v.unwrap_or("nil")
}

/// Reads the transactions of `ops` (operations whose `f` is `txn`) and checks them as
/// rw-register transactions, with `orders` added and the version orders `assume` allows.
pub fn check_rw_register(
    ops: &[Operation],
    orders: Orders,
    assume: Assume,
) -> Result<Checked, ModelError> {
    let txns = read_txns(ops, Workload::RwRegister)?;
    let writers = unique_writes(&txns)?;
    let ext: Vec<Ext<'_>> = txns.iter().map(Ext::of).collect();
    let mut findings = internal(&txns);
    findings.extend(dirty_reads(&txns, &writers));
    findings.extend(lost_updates(&txns));
    let mut edges = write_reads(&txns, &ext);
    let (versions, cyclic) = version_order(&txns, &ext, assume);
    findings.extend(cyclic);
    edges.extend(version_edges(&ext, &versions));
    edges.extend(orders.edges(&txns));
    edges.sort();
    let cycles = cycles(txns.len(), &edges);
    Ok(Checked {
        workload: Workload::RwRegister,
        txns,
        edges,
        cycles,
        findings,
    })
}

/// Who wrote each (key, value), by any write step: values are unique per key, and a value
/// two transactions wrote is an error naming the second.
fn unique_writes(txns: &[Txn]) -> Result<BTreeMap<(&str, &str), usize>, ModelError> {
    let mut by: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            if let Step::Write(k, v) = step {
                if let Some(&first) = by.get(&(k.as_str(), v.as_str())) {
                    if first != t {
                        return Err(ModelError {
                            op: Some(txn.op),
                            message: format!(
                                "writes {v} to {k}, which {} wrote already; rw-register needs each value written once per key",
                                txns[first].name(first)
                            ),
                        });
                    }
                }
                by.insert((k, v), t);
            }
        }
    }
    Ok(by)
}

/// Within one committed transaction, a read that disagrees with its own earlier read or
/// write of the key.
fn internal(txns: &[Txn]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        let mut state: BTreeMap<&str, Version<'_>> = BTreeMap::new();
        for step in &txn.steps {
            match step {
                Step::Write(k, v) => {
                    state.insert(k, Some(v));
                }
                Step::ReadRegister(k, Some(v)) => {
                    let v = v.as_deref();
                    if let Some(&expected) = state.get(k.as_str()) {
                        if expected != v {
                            found.push(Finding {
                                name: "internal",
                                text: format!(
                                    "{} read {k} = {} where its own earlier step says {}",
                                    txn.name(t),
                                    show(v),
                                    show(expected)
                                ),
                                txns: vec![t],
                            });
                        }
                    }
                    state.insert(k, v);
                }
                _ => {}
            }
        }
    }
    found
}

/// G1a (a committed read of a value only an aborted transaction wrote), G1b (of a value its
/// writer overwrote in the same transaction) and garbage reads (of a value nobody wrote).
fn dirty_reads(txns: &[Txn], writers: &BTreeMap<(&str, &str), usize>) -> Vec<Finding> {
    // The final write of each (transaction, key).
    let mut last: BTreeMap<(usize, &str), &str> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            if let Step::Write(k, v) = step {
                last.insert((t, k), v);
            }
        }
    }
    let mut found = Vec::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        for step in &txn.steps {
            let Step::ReadRegister(k, Some(Some(v))) = step else {
                continue;
            };
            let Some(&w) = writers.get(&(k.as_str(), v.as_str())) else {
                found.push(Finding {
                    name: "garbage-read",
                    text: format!("{} read {k} = {v}, which no transaction wrote", txn.name(t)),
                    txns: vec![t],
                });
                continue;
            };
            if w == t {
                continue;
            }
            if txns[w].outcome == Outcome::Fail {
                found.push(Finding {
                    name: "G1a",
                    text: format!(
                        "{} read {k} = {v}, written only by aborted {}",
                        txn.name(t),
                        txns[w].name(w)
                    ),
                    txns: vec![w, t],
                });
            } else if last.get(&(w, k.as_str())) != Some(&v.as_str()) {
                found.push(Finding {
                    name: "G1b",
                    text: format!(
                        "{} read {k} = {v}, which {} overwrote with {} before it ended",
                        txn.name(t),
                        txns[w].name(w),
                        last[&(w, k.as_str())]
                    ),
                    txns: vec![w, t],
                });
            }
        }
    }
    found
}

/// Committed transactions that read one version of a key before writing it, and both wrote
/// it (Elle's lost update).
fn lost_updates(txns: &[Txn]) -> Vec<Finding> {
    let mut by_version: BTreeMap<(&str, Version<'_>), Vec<usize>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        let mut first_read: BTreeMap<&str, Version<'_>> = BTreeMap::new();
        let mut wrote: BTreeSet<&str> = BTreeSet::new();
        for step in &txn.steps {
            match step {
                Step::ReadRegister(k, Some(v)) if !wrote.contains(k.as_str()) => {
                    first_read.entry(k).or_insert(v.as_deref());
                }
                Step::Write(k, _) if wrote.insert(k) => {
                    if let Some(&v) = first_read.get(k.as_str()) {
                        by_version.entry((k, v)).or_default().push(t);
                    }
                }
                _ => {}
            }
        }
    }
    by_version
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|((k, v), ts)| Finding {
            name: "lost-update",
            text: format!(
                "{} all read {k} = {} and then wrote it; each committed",
                ts.iter()
                    .map(|&t| txns[t].name(t))
                    .collect::<Vec<_>>()
                    .join(", "),
                show(v)
            ),
            txns: ts,
        })
        .collect()
}

/// Write-read edges: from the transaction whose external write a committed transaction read.
fn write_reads(txns: &[Txn], ext: &[Ext<'_>]) -> Vec<Edge> {
    let mut writer: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (t, e) in ext.iter().enumerate() {
        for (&k, &v) in &e.writes {
            writer.insert((k, v), t);
        }
    }
    let mut edges = Vec::new();
    for (t, e) in ext.iter().enumerate() {
        for (&k, &v) in &e.reads {
            let Some(&w) = v.and_then(|v| writer.get(&(k, v))) else {
                continue;
            };
            if w != t && txns[w].may_have_written() {
                edges.push(Edge {
                    kind: EdgeKind::Wr,
                    from: w,
                    to: t,
                    key: k.to_string(),
                    why: format!("T{w} wrote {k} = {}, which T{t} read", show(v)),
                });
            }
        }
    }
    edges
}

/// The version graph of every key: pairs `(key, v1, v2)` with `v1` before `v2`, each with the
/// assumption it came from; and the assumptions refused because their versions form a cycle.
fn version_order<'a>(
    txns: &[Txn],
    ext: &[Ext<'a>],
    assume: Assume,
) -> (BTreeMap<VersionPair<'a>, &'static str>, Vec<Finding>) {
    let mut sources: Vec<(&'static str, Vec<VersionPair<'a>>)> =
        vec![("the initial state", initial_state(ext))];
    if assume.wfr {
        sources.push(("writes follow reads", writes_follow_reads(txns, ext)));
    }
    if assume.sequential_keys {
        sources.push(("sequential keys", sequential_keys(txns, ext)));
    }
    if assume.linearizable_keys {
        sources.push(("linearizable keys", linearizable_keys(txns, ext)));
    }
    let mut order: BTreeMap<VersionPair<'a>, &'static str> = BTreeMap::new();
    let mut refused = Vec::new();
    for (name, pairs) in sources {
        let mut with = order.clone();
        for p in pairs {
            with.entry(p).or_insert(name);
        }
        match version_cycle(&with) {
            None => order = with,
            Some((key, values)) => refused.push(Finding {
                name: "cyclic-versions",
                text: format!(
                    "assuming {name}, the versions of {key} would form a cycle, {}: the history breaks the assumption (or the database's order), which is left out",
                    values.join(" < ")
                ),
                txns: Vec::new(),
            }),
        }
    }
    (order, refused)
}

/// `(key, earlier version, later version)`.
type VersionPair<'a> = (&'a str, Version<'a>, Version<'a>);

/// `nil` before every value written or read.
fn initial_state<'a>(ext: &[Ext<'a>]) -> Vec<VersionPair<'a>> {
    let mut pairs = BTreeSet::new();
    for e in ext {
        for (&k, &v) in &e.writes {
            pairs.insert((k, None, Some(v)));
        }
        for (&k, &v) in &e.reads {
            if v.is_some() {
                pairs.insert((k, None, v));
            }
        }
    }
    pairs.into_iter().collect()
}

/// A committed transaction's external read of a key before its write of it.
fn writes_follow_reads<'a>(txns: &[Txn], ext: &[Ext<'a>]) -> Vec<VersionPair<'a>> {
    let mut pairs = Vec::new();
    for (t, e) in ext.iter().enumerate() {
        if !txns[t].committed() {
            continue;
        }
        for (&k, &v) in &e.reads {
            if let (Some(v), Some(&w)) = (v, e.writes.get(k)) {
                if v != w {
                    pairs.push((k, Some(v), Some(w)));
                }
            }
        }
    }
    pairs
}

/// Along each client's committed transactions, per key, the version one left before the
/// version the next one to touch the key saw first.
fn sequential_keys<'a>(txns: &[Txn], ext: &[Ext<'a>]) -> Vec<VersionPair<'a>> {
    let mut by_process: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        by_process.entry(&txn.process).or_default().push(t);
    }
    let mut pairs = Vec::new();
    for chain in by_process.values_mut() {
        chain.sort_by_key(|&t| txns[t].call);
        let mut left: BTreeMap<&str, Version<'a>> = BTreeMap::new();
        for &t in chain.iter() {
            for k in ext[t].keys() {
                if let (Some(&before), Some(first)) = (left.get(k), ext[t].first(k)) {
                    if before != first {
                        pairs.push((k, before, first));
                    }
                }
                if let Some(last) = ext[t].last(k) {
                    left.insert(k, last);
                }
            }
        }
    }
    pairs
}

/// Per key, among committed transactions that touched it: the version one left before the
/// version each transaction invoked after it completed saw first (real time, reduced: not
/// past a transaction of the key in between).
fn linearizable_keys<'a>(txns: &[Txn], ext: &[Ext<'a>]) -> Vec<VersionPair<'a>> {
    let mut sources: BTreeMap<&str, Vec<(usize, usize, usize)>> = BTreeMap::new();
    let mut targets: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (t, e) in ext.iter().enumerate() {
        for k in e.keys() {
            if txns[t].may_have_written() {
                targets.entry(k).or_default().push((txns[t].call, t));
            }
            if let (true, Some(r)) = (txns[t].committed(), txns[t].ret) {
                sources.entry(k).or_default().push((r, txns[t].call, t));
            }
        }
    }
    let mut pairs = Vec::new();
    for (k, from) in sources {
        let to = targets.remove(k).unwrap_or_default();
        for (a, b) in super::record::realtime_pairs(from, to) {
            if let (Some(v1), Some(v2)) = (ext[a].last(k), ext[b].first(k)) {
                if v1 != v2 {
                    pairs.push((k, v1, v2));
                }
            }
        }
    }
    pairs
}

/// A cycle among one key's versions, if any: the key and the versions around it.
fn version_cycle<'a>(
    order: &BTreeMap<VersionPair<'a>, &'static str>,
) -> Option<(&'a str, Vec<String>)> {
    let mut graph: DiGraph<(&str, Version<'_>), ()> = DiGraph::new();
    let mut node: BTreeMap<(&str, Version<'_>), NodeIndex> = BTreeMap::new();
    let mut index =
        |g: &mut DiGraph<_, _>, k, v| *node.entry((k, v)).or_insert_with(|| g.add_node((k, v)));
    for &(k, v1, v2) in order.keys() {
        let (a, b) = (index(&mut graph, k, v1), index(&mut graph, k, v2));
        graph.add_edge(a, b, ());
    }
    let scc = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .min_by_key(|c| c.iter().map(|n| graph[*n]).min())?;
    // The versions around one cycle, in its order: the shortest way back to the least version
    // of the component, through the component.
    let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
    let start = *scc.iter().min_by_key(|n| graph[**n])?;
    let mut came: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(n) = queue.pop_front() {
        for m in graph.neighbors(n) {
            if m == start {
                last = Some(n);
                break 'search;
            }
            if members.contains(&m) && !came.contains_key(&m) {
                came.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    let mut path = vec![last?];
    // Back from the last step to the start, which has no step before it.
    while let Some(&prev) = came.get(path.last()?) {
        path.push(prev);
    }
    path.reverse();
    let key = graph[start].0;
    let mut values: Vec<String> = path.iter().map(|n| show(graph[*n].1).to_string()).collect();
    values.push(show(graph[start].1).to_string());
    Some((key, values))
}

/// Write-write and read-write edges from each pair of versions.
fn version_edges(ext: &[Ext<'_>], order: &BTreeMap<VersionPair<'_>, &'static str>) -> Vec<Edge> {
    let mut writers: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    let mut readers: BTreeMap<(&str, Version<'_>), Vec<usize>> = BTreeMap::new();
    for (t, e) in ext.iter().enumerate() {
        for (&k, &v) in &e.writes {
            writers.entry((k, v)).or_default().push(t);
        }
        for (&k, &v) in &e.reads {
            readers.entry((k, v)).or_default().push(t);
        }
    }
    let none = Vec::new();
    let mut edges = Vec::new();
    for (&(k, v1, v2), source) in order {
        let Some(v2) = v2 else { continue };
        let later = writers.get(&(k, v2)).unwrap_or(&none);
        if later.is_empty() {
            continue;
        }
        let earlier = v1.and_then(|v| writers.get(&(k, v))).unwrap_or(&none);
        for &a in earlier {
            for &b in later {
                if a != b {
                    edges.push(Edge {
                        kind: EdgeKind::Ww,
                        from: a,
                        to: b,
                        key: k.to_string(),
                        why: format!(
                            "T{a} set {k} to {}, T{b} set it to {v2}, which came later ({source})",
                            show(v1)
                        ),
                    });
                }
            }
        }
        for &a in readers.get(&(k, v1)).unwrap_or(&none) {
            for &b in later {
                if a != b {
                    edges.push(Edge {
                        kind: EdgeKind::Rw,
                        from: a,
                        to: b,
                        key: k.to_string(),
                        why: format!(
                            "T{a} read {k} = {}, T{b} set it to {v2}, which came later ({source})",
                            show(v1)
                        ),
                    });
                }
            }
        }
    }
    edges
}
