//! Jepsen's list-append workload: each key holds a list; a transaction (`:f :txn`) is a list
//! of steps `[:append k v]` (add `v` to the end of `k`'s list) and `[:r k list]` (read `k`'s
//! whole list; `nil` is empty). Appended values are unique per key, so every read names the
//! transactions that wrote each element, and the longest read of a key is its version order:
//! consecutive elements give write-write edges, a read's last element a write-read edge from
//! its writer, and the element after a read's last a read-write edge to its writer. A
//! committed append no read saw came after every read of its key: a write-write edge from the
//! last element read, and a read-write edge from every read.

use super::checked::{Checked, Finding};
use super::graph::{cycles, Edge, EdgeKind};
use super::record::{read_txns, Orders, Step, Txn, Workload};
use crate::lin::{ModelError, Operation, Outcome};
use std::collections::{BTreeMap, BTreeSet};

/// Reads the transactions of `ops` (operations whose `f` is `txn`; any other is an error) and
/// checks them as list-append transactions, on their data dependencies alone.
pub fn check_list_append(ops: &[Operation]) -> Result<Checked, ModelError> {
    check_list_append_with(ops, Orders::default())
}

/// As `check_list_append`, adding the process and real-time orders `orders` asks for.
pub fn check_list_append_with(ops: &[Operation], orders: Orders) -> Result<Checked, ModelError> {
    let txns = read_txns(ops, Workload::ListAppend)?;
    unique_appends(&txns)?;
    let (mut edges, incompatible) = infer(&txns);
    edges.extend(orders.edges(&txns));
    let cycles = cycles(txns.len(), &edges);
    let mut findings = incompatible;
    findings.extend(duplicates(&txns));
    findings.extend(dirty_reads(&txns));
    findings.extend(internal(&txns));
    findings.extend(lost_updates(&txns));
    Ok(Checked {
        workload: Workload::ListAppend,
        txns,
        edges,
        cycles,
        findings,
    })
}

/// Appended values are unique per key (that is what lets a read name its writers): a value
/// appended by two transactions is an error naming the second.
fn unique_appends(txns: &[Txn]) -> Result<(), ModelError> {
    let mut by: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            if let Step::Append(k, v) = step {
                if let Some(&first) = by.get(&(k.as_str(), v.as_str())) {
                    if first != t {
                        return Err(ModelError {
                            op: Some(txn.op),
                            message: format!(
                                "appends {v} to {k}, which {} appended already; list-append needs each value appended once per key",
                                txns[first].name(first)
                            ),
                        });
                    }
                }
                by.insert((k, v), t);
            }
        }
    }
    Ok(())
}

/// Reads whose list holds one element twice (an append applied twice).
fn duplicates(txns: &[Txn]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            let Step::Read(k, Some(list)) = step else {
                continue;
            };
            let mut seen = BTreeSet::new();
            let twice: BTreeSet<&str> = list
                .iter()
                .filter(|v| !seen.insert(v.as_str()))
                .map(String::as_str)
                .collect();
            if !twice.is_empty() {
                found.push(Finding {
                    name: "duplicate-elements",
                    text: format!(
                        "{} read {k} = [{}], which holds {} more than once",
                        txn.name(t),
                        brief(list),
                        twice.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    txns: vec![t],
                });
            }
        }
    }
    found
}

/// Within one committed transaction, a read that disagrees with its own earlier reads and
/// appends of the key (`internal`), or that holds a value it appends only later
/// (`future-read`).
fn internal(txns: &[Txn]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        // Per key: what the transaction expects to read: (known whole list, or only its tail).
        let mut expect: BTreeMap<&str, (bool, Vec<&str>)> = BTreeMap::new();
        let mut read_values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for step in &txn.steps {
            match step {
                Step::Append(k, v) => {
                    if read_values
                        .get(k.as_str())
                        .is_some_and(|s| s.contains(v.as_str()))
                    {
                        found.push(Finding {
                            name: "future-read",
                            text: format!(
                                "{} read {v} in {k} before appending {v} itself",
                                txn.name(t)
                            ),
                            txns: vec![t],
                        });
                    }
                    expect
                        .entry(k)
                        .or_insert_with(|| (false, Vec::new()))
                        .1
                        .push(v);
                }
                Step::Read(k, Some(list)) => {
                    let got: Vec<&str> = list.iter().map(String::as_str).collect();
                    if let Some((whole, want)) = expect.get(k.as_str()) {
                        let fits = if *whole {
                            got == *want
                        } else {
                            got.ends_with(want)
                        };
                        if !fits {
                            let want_text = if *whole {
                                format!("[{}]", brief(want))
                            } else {
                                format!("[... {}]", brief(want))
                            };
                            found.push(Finding {
                                name: "internal",
                                text: format!(
                                    "{} read {k} = [{}] where its own earlier steps say {want_text}",
                                    txn.name(t),
                                    brief(&got)
                                ),
                                txns: vec![t],
                            });
                        }
                    }
                    read_values
                        .entry(k)
                        .or_default()
                        .extend(got.iter().copied());
                    expect.insert(k, (true, got));
                }
                _ => {}
            }
        }
    }
    found
}

/// Committed transactions that read the same version of a key (before appending to it) and
/// then both appended to it: one's update was made without the other's (Elle's lost update).
fn lost_updates(txns: &[Txn]) -> Vec<Finding> {
    let mut by_version: BTreeMap<(&str, &[String]), Vec<usize>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.committed()) {
        let mut first_read: BTreeMap<&str, &[String]> = BTreeMap::new();
        let mut wrote: BTreeSet<&str> = BTreeSet::new();
        for step in &txn.steps {
            match step {
                Step::Read(k, Some(list)) if !wrote.contains(k.as_str()) => {
                    first_read.entry(k).or_insert(list);
                }
                Step::Append(k, _) if wrote.insert(k) => {
                    if let Some(list) = first_read.get(k.as_str()) {
                        by_version.entry((k, list)).or_default().push(t);
                    }
                }
                _ => {}
            }
        }
    }
    by_version
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|((k, list), ts)| Finding {
            name: "lost-update",
            text: format!(
                "{} all read {k} = [{}] and then appended to it; each committed",
                ts.iter()
                    .map(|&t| txns[t].name(t))
                    .collect::<Vec<_>>()
                    .join(", "),
                brief(list)
            ),
            txns: ts,
        })
        .collect()
}

/// G1a, G1b and garbage reads: committed reads of values only an aborted transaction appended,
/// ending in a value its writer appended to further, or of values nobody appended.
fn dirty_reads(txns: &[Txn]) -> Vec<Finding> {
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
    let mut found = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        if txn.outcome != Outcome::Ok {
            continue;
        }
        for step in &txn.steps {
            let Step::Read(k, Some(list)) = step else {
                continue;
            };
            for v in list {
                if !appended.contains_key(&(k.as_str(), v.as_str())) {
                    found.push(Finding {
                        name: "garbage-read",
                        text: format!(
                            "{} read {v} in {k} = [{}], which no transaction appended",
                            txn.name(t),
                            brief(list)
                        ),
                        txns: vec![t],
                    });
                }
                if let Some(&(a, false)) = appended.get(&(k.as_str(), v.as_str())) {
                    found.push(Finding {
                        name: "G1a",
                        text: format!(
                            "{} read {v} in {k} = [{}], appended only by aborted {}",
                            txn.name(t),
                            brief(list),
                            txns[a].name(a)
                        ),
                        txns: vec![a, t],
                    });
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
                found.push(Finding {
                    name: "G1b",
                    text: format!(
                        "{} read {k} = [{}], ending in {last}, which {} appended before appending {}",
                        txn.name(t),
                        brief(list),
                        txns[w].name(w),
                        own[own.iter().position(|v| v == last).map_or(0, |i| i + 1)..].join(" ")
                    ),
                    txns: vec![w, t],
                });
            }
        }
    }
    found
}

/// Every dependency between the transactions, and the keys whose reads disagree.
fn infer(txns: &[Txn]) -> (Vec<Edge>, Vec<Finding>) {
    // Who appended each (key, value): committed and unknown transactions (an aborted one's
    // appends never happened).
    let mut writer: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    // Every committed read of each key: (transaction, list).
    let mut reads: BTreeMap<&str, Vec<(usize, &[String])>> = BTreeMap::new();
    // Every append of each key that may have taken effect (committed or unknown), as Elle's
    // `h/possible`: (value, transaction). An unknown transaction none of whose appends was
    // read gets edges into it only, never out of it, so it closes no cycle; one whose append
    // was read committed, and its other appends are placed as a committed one's are.
    let mut committed: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for step in &txn.steps {
            match step {
                Step::Append(k, v) if txn.outcome != Outcome::Fail => {
                    writer.insert((k, v), t);
                    committed.entry(k).or_default().push((v, t));
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
            incompatible.push(Finding {
                name: "incompatible-order",
                text: format!(
                    "{} read {key} as [{}], which is not a prefix of [{}] read elsewhere",
                    txns[*t].name(*t),
                    brief(list),
                    brief(order)
                ),
                txns: vec![*t],
            });
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
                            brief(list)
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
                        brief(list)
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
                            brief(list),
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

/// A list's elements for a sentence: all of them when few, else the first two and the last
/// three around a count of those left out.
fn brief<S: AsRef<str>>(list: &[S]) -> String {
    const FEW: usize = 8;
    let all = |items: &[S]| {
        items
            .iter()
            .map(|s| s.as_ref())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if list.len() <= FEW {
        return all(list);
    }
    format!(
        "{} ...{} more... {}",
        all(&list[..2]),
        list.len() - 5,
        all(&list[list.len() - 3..])
    )
}
