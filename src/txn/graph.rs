//! The dependency graph of a transactional history and the anomalies that are cycles in it:
//! G0 (write cycle: only ww edges), G1c (circular information flow: ww and wr edges, at least
//! one wr), G-single (read skew: exactly one rw edge), G-nonadjacent (two or more rw edges,
//! never two in a row: snapshot isolation rules it out) and G2-item (write skew and the like:
//! two or more rw edges, two of them in a row). Cycles are searched inside strongly connected components only, so an
//! acyclic history costs one pass of Tarjan's algorithm.

use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Why one transaction must precede another.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// Write-write: the first wrote a version of a key the second overwrote (appended after).
    Ww,
    /// Write-read: the second read a version the first wrote.
    Wr,
    /// Read-write (anti-dependency): the first read a version the second overwrote.
    Rw,
    /// Process order: one client ran the first, then the second.
    Process,
    /// Real-time order: the first completed before the second was invoked.
    Realtime,
}

impl EdgeKind {
    /// Its short name: `ww`, `wr`, `rw`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Process => "process",
            EdgeKind::Realtime => "realtime",
        }
    }
}

/// One dependency, with the key and values that show it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// What kind of dependency.
    pub kind: EdgeKind,
    /// The transaction that must come first (an index into the transactions).
    pub from: usize,
    /// The transaction that must come after.
    pub to: usize,
    /// The key, as the history writes it.
    pub key: String,
    /// Why, in words (`appended 2 after 1`).
    pub why: String,
}

/// A class of anomaly, each a kind of cycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anomaly {
    /// A cycle of write-write edges only.
    G0,
    /// A cycle of write-write and write-read edges, at least one write-read.
    G1c,
    /// A cycle with exactly one read-write edge.
    GSingle,
    /// A cycle with two or more read-write edges, no two of them adjacent (snapshot isolation
    /// rules it out: its cycles all have two rw edges in a row).
    GNonadjacent,
    /// A cycle with two or more read-write edges, two of them adjacent.
    G2Item,
}

impl Anomaly {
    /// Its name as Adya and Elle write it.
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::G0 => "G0",
            Anomaly::G1c => "G1c",
            Anomaly::GSingle => "G-single",
            Anomaly::GNonadjacent => "G-nonadjacent",
            Anomaly::G2Item => "G2-item",
        }
    }

    /// The consistency models the anomaly rules out, weakest first, in words.
    pub fn rules_out(self) -> String {
        super::isolation::ruled_out_by(self.name(), None)
    }

    /// The class of a cycle of these edge kinds.
    fn of(kinds: &[EdgeKind]) -> Anomaly {
        let rw = kinds.iter().filter(|k| **k == EdgeKind::Rw).count();
        let wr = kinds.contains(&EdgeKind::Wr);
        // Two rw edges in a row, the last and the first counting as in a row.
        let adjacent = (0..kinds.len())
            .any(|i| kinds[i] == EdgeKind::Rw && kinds[(i + 1) % kinds.len()] == EdgeKind::Rw);
        match (rw, wr) {
            (0, false) => Anomaly::G0,
            (0, true) => Anomaly::G1c,
            (1, _) => Anomaly::GSingle,
            _ if !adjacent => Anomaly::GNonadjacent,
            _ => Anomaly::G2Item,
        }
    }
}

/// A cycle of dependencies: each edge's `to` is the next edge's `from`, the last returns to the
/// first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// Its class.
    pub anomaly: Anomaly,
    /// The order it needs besides the data dependencies: `Some(Realtime)` if it has a
    /// real-time edge, else `Some(Process)` if it has a process edge, else `None`.
    pub order: Option<EdgeKind>,
    /// The edges, in order around the cycle.
    pub edges: Vec<Edge>,
}

impl Cycle {
    /// Its name as Elle writes it: `G-single`, `G-single-process`, `G2-item-realtime`.
    pub fn name(&self) -> String {
        match self.order {
            Some(order) => format!("{}-{}", self.anomaly.name(), order.name()),
            None => self.anomaly.name().to_string(),
        }
    }

    /// The consistency models it rules out, in words.
    pub fn rules_out(&self) -> String {
        super::isolation::ruled_out_by(self.anomaly.name(), self.order)
    }
}

/// Every cycle worth reporting: for each edge that closes a cycle (searched by class: ww
/// alone, then ww and wr, then one rw, then any), the shortest cycle through it; each set of
/// transactions is reported once, in its strongest class's order (G0 first).
pub fn cycles(txns: usize, edges: &[Edge]) -> Vec<Cycle> {
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(txns, edges.len());
    for t in 0..txns {
        graph.add_node(t);
    }
    // Distinct (from, to) pairs, each with the edges between them by kind.
    let mut between: BTreeMap<(usize, usize), BTreeMap<EdgeKind, &Edge>> = BTreeMap::new();
    for e in edges {
        if e.from != e.to {
            between
                .entry((e.from, e.to))
                .or_default()
                .entry(e.kind)
                .or_insert(e);
        }
    }
    for &(a, b) in between.keys() {
        graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
    }
    // Only edges inside one strongly connected component can be on a cycle.
    let mut component = vec![usize::MAX; txns];
    for (i, scc) in petgraph::algo::tarjan_scc(&graph).into_iter().enumerate() {
        if scc.len() > 1 {
            for n in scc {
                component[n.index()] = i;
            }
        }
    }
    let inside = |a: usize, b: usize| component[a] != usize::MAX && component[a] == component[b];
    // Adjacency inside components, by kind, in a fixed order.
    let mut next: Vec<Vec<(usize, EdgeKind)>> = vec![Vec::new(); txns];
    for (&(a, b), kinds) in &between {
        if inside(a, b) {
            for &k in kinds.keys() {
                next[a].push((b, k));
            }
        }
    }
    let mut found = Vec::new();
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    // Edge kinds a closing path may use, for each class searched, strongest first.
    let passes: [(EdgeKind, &[EdgeKind]); 5] = [
        (EdgeKind::Ww, &[EdgeKind::Ww]),
        (EdgeKind::Wr, &[EdgeKind::Ww, EdgeKind::Wr]),
        (EdgeKind::Rw, &[EdgeKind::Ww, EdgeKind::Wr]),
        // rw edges never two in a row (G-nonadjacent); the path's own kinds are the last
        // pass's, walked by `nonadjacent_path`.
        (EdgeKind::Rw, NONADJACENT),
        (EdgeKind::Rw, &[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw]),
    ];
    // Then, when the history's edges include them, cycles through a process or real-time edge.
    let with_process = [EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw, EdgeKind::Process];
    let with_all = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Rw,
        EdgeKind::Process,
        EdgeKind::Realtime,
    ];
    let orders: [(EdgeKind, &[EdgeKind]); 2] = [
        (EdgeKind::Process, &with_process),
        (EdgeKind::Realtime, &with_all),
    ];
    for (first, allowed) in passes.into_iter().chain(orders) {
        for (&(a, b), kinds) in &between {
            if !inside(a, b) || !kinds.contains_key(&first) {
                continue;
            }
            // The shortest path back from b to a over the allowed kinds closes a cycle.
            let path = if std::ptr::eq(allowed, NONADJACENT) {
                nonadjacent_path(&next, b, a)
            } else {
                shortest_path(&next, b, a, allowed)
            };
            let Some(path) = path else {
                continue;
            };
            let mut hops = vec![(a, b, first)];
            hops.extend(path);
            let mut members: Vec<usize> = hops.iter().map(|h| h.0).collect();
            members.sort_unstable();
            if !seen.insert(members) {
                continue;
            }
            let kinds: Vec<EdgeKind> = hops.iter().map(|h| h.2).collect();
            let order = if kinds.contains(&EdgeKind::Realtime) {
                Some(EdgeKind::Realtime)
            } else if kinds.contains(&EdgeKind::Process) {
                Some(EdgeKind::Process)
            } else {
                None
            };
            found.push(Cycle {
                anomaly: Anomaly::of(&kinds),
                order,
                edges: hops
                    .iter()
                    .map(|&(x, y, k)| between[&(x, y)][&k].clone())
                    .collect(),
            });
        }
    }
    found.sort_by_key(|c| (c.order, c.anomaly));
    found
}

/// The edge kinds of a G-nonadjacent search (marks the pass; `nonadjacent_path` walks it).
const NONADJACENT: &[EdgeKind] = &[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw, EdgeKind::Rw];

/// The shortest path from `from` to `to` over ww, wr and rw edges that, entered by an rw edge
/// and closed into one, never takes two rw edges in a row: its first and last edges are not rw.
fn nonadjacent_path(
    next: &[Vec<(usize, EdgeKind)>],
    from: usize,
    to: usize,
) -> Option<Vec<(usize, usize, EdgeKind)>> {
    // States: (transaction, whether the edge taken into it was rw).
    let mut came: BTreeMap<(usize, bool), ((usize, bool), EdgeKind)> = BTreeMap::new();
    let start = (from, true);
    let mut queue = VecDeque::from([start]);
    let mut visited = BTreeSet::from([start]);
    while let Some((n, after_rw)) = queue.pop_front() {
        if n == to && !after_rw && (n, after_rw) != start {
            let mut hops = Vec::new();
            let mut at = (n, after_rw);
            while at != start {
                let (prev, kind) = came[&at];
                hops.push((prev.0, at.0, kind));
                at = prev;
            }
            hops.reverse();
            return Some(hops);
        }
        for &(m, kind) in &next[n] {
            let rw = kind == EdgeKind::Rw;
            if !matches!(kind, EdgeKind::Ww | EdgeKind::Wr | EdgeKind::Rw) || (rw && after_rw) {
                continue;
            }
            if visited.insert((m, rw)) {
                came.insert((m, rw), ((n, after_rw), kind));
                queue.push_back((m, rw));
            }
        }
    }
    None
}

/// The shortest path from `from` to `to` over edges of the `allowed` kinds (breadth first, in
/// adjacency order), as (from, to, kind) hops.
fn shortest_path(
    next: &[Vec<(usize, EdgeKind)>],
    from: usize,
    to: usize,
    allowed: &[EdgeKind],
) -> Option<Vec<(usize, usize, EdgeKind)>> {
    let mut came: BTreeMap<usize, (usize, EdgeKind)> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    let mut visited = BTreeSet::from([from]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut hops = Vec::new();
            let mut at = to;
            while at != from {
                let (prev, kind) = came[&at];
                hops.push((prev, at, kind));
                at = prev;
            }
            hops.reverse();
            return Some(hops);
        }
        for &(m, kind) in &next[n] {
            if allowed.contains(&kind) && visited.insert(m) {
                came.insert(m, (n, kind));
                queue.push_back(m);
            }
        }
    }
    None
}
