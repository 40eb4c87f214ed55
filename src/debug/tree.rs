//! The tree of explored states (as DSLabs' DViz keeps it): each node is one event (a visible
//! step in time order, a branch chosen by hand, a fault) taken from its parent's state, and
//! holds the steps that take it there; going back and taking another branch adds a child and
//! discards nothing. A node's state is the run replayed from the seed along the steps of the
//! nodes from the root to it. What the page is shown of the tree is `TreeView`: long chains
//! are folded to their ends, the steps around the current one and one gap item per fold.

use super::Taken;
use crate::node::{name_in, NodeId};
use crate::time::SimTime;
use crate::trace::{TraceEvent, TraceKind};
use serde::Serialize;

/// No node (a root's parent, a leaf's first child, a last sibling).
pub(super) const NONE: u32 = u32::MAX;

/// Events of a chain shown at each end of its fold, and either side of the current one.
const SHOWN: usize = 6;

/// Most chains the page is shown (the rest are counted).
const MAX_CHAINS: usize = 200;

/// What an event was, in a few words for the tree (names are looked up when shown).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Label {
    /// The run's start.
    Start,
    /// A message was delivered (from, to).
    Deliver(NodeId, NodeId),
    /// A message was lost (from, to).
    Lost(NodeId, NodeId),
    /// A timer fired at a node.
    Timer(NodeId),
    /// A node booted.
    Boot(NodeId),
    /// A client operation or event was recorded at a node.
    Op(NodeId),
    /// Anything else, in words (faults).
    Text(Box<str>),
}

impl Label {
    /// What the trace events one event recorded say it was: the first delivery, timer, boot,
    /// fault or loss among them.
    ///
    /// Faults the run applied after it in the same step (a scheduled fault due before the
    /// next node event comes with the step before it) are said too, with the event's time:
    /// the tree never hides a fault.
    pub(super) fn of(events: &[TraceEvent], names: &[String]) -> Label {
        let mut op = None;
        let mut first = None;
        for (i, e) in events.iter().enumerate() {
            let label = match &e.kind {
                TraceKind::Deliver { from, to, .. } => Label::Deliver(*from, *to),
                TraceKind::Timer { node, .. } => Label::Timer(*node),
                TraceKind::Start { node } => Label::Boot(*node),
                TraceKind::Fault { fault } => Label::Text(fault.describe(names).into()),
                TraceKind::Drop { from, to, .. } => Label::Lost(*from, *to),
                TraceKind::Op { node, .. } => {
                    op = op.or(Some(*node));
                    continue;
                }
                _ => continue,
            };
            first = Some((i, label));
            break;
        }
        let Some((i, label)) = first else {
            return op.map_or(Label::Text("nothing visible".into()), Label::Op);
        };
        let later: Vec<String> = events[i + 1..]
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::Fault { fault } => Some(fault.describe(names)),
                _ => None,
            })
            .collect();
        if later.is_empty() {
            return label;
        }
        Label::Text(
            format!(
                "{} at {}, then {}",
                label.text(names),
                events[i].time,
                later.join(", then ")
            )
            .into(),
        )
    }

    fn text(&self, names: &[String]) -> String {
        let n = |id: &NodeId| name_in(names, id);
        match self {
            Label::Start => "start".into(),
            Label::Deliver(from, to) => format!("{} -> {}", n(from), n(to)),
            Label::Lost(from, to) => format!("lost {} -> {}", n(from), n(to)),
            Label::Timer(node) => format!("timer {}", n(node)),
            Label::Boot(node) => format!("boot {}", n(node)),
            Label::Op(node) => format!("op {}", n(node)),
            Label::Text(t) => t.to_string(),
        }
    }
}

/// One explored state: the event that led to it from its parent's.
#[derive(Clone, Debug)]
pub(super) struct TreeNode {
    /// The state it was taken from (`NONE` for the start).
    pub parent: u32,
    first_child: u32,
    next_sibling: u32,
    /// The child the current branch goes on to (where "forward" leads), if any.
    pub branch: u32,
    /// Its steps: `taken[start..start + len]`.
    start: u32,
    len: u32,
    /// Steps from the start to it (the path's length).
    pub depth: u32,
    /// Events from the start to it (its depth in the tree).
    pub events: u32,
    /// Steps on the path to it that were not time order's choice.
    pub branches: u32,
    /// True when one of its own steps was chosen by hand (a branch or a fault).
    pub by_hand: bool,
    /// Virtual time at its state.
    pub time: SimTime,
    /// What its event was.
    pub label: Label,
}

/// Every state explored in a session, and the steps between them.
#[derive(Debug)]
pub(super) struct Tree {
    nodes: Vec<TreeNode>,
    taken: Vec<Taken>,
    /// The chains: runs of nodes each the only child of the one before, kept as nodes are
    /// added (a node's second child splits its chain after it), so showing the tree never
    /// walks it.
    chains: Vec<Vec<u32>>,
    /// Each node's chain and its index in it.
    place: Vec<(u32, u32)>,
}

impl Tree {
    /// A tree holding the start alone (node 0).
    pub fn new() -> Tree {
        Tree {
            nodes: vec![TreeNode {
                parent: NONE,
                first_child: NONE,
                next_sibling: NONE,
                branch: NONE,
                start: 0,
                len: 0,
                depth: 0,
                events: 0,
                branches: 0,
                by_hand: false,
                time: SimTime::ZERO,
                label: Label::Start,
            }],
            taken: Vec::new(),
            chains: vec![vec![0]],
            place: vec![(0, 0)],
        }
    }

    /// How many states it holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// One node; `id` must be one of the tree's.
    pub fn node(&self, id: u32) -> &TreeNode {
        &self.nodes[id as usize]
    }

    /// The node `id`, if the tree has one.
    pub fn get(&self, id: u32) -> Option<&TreeNode> {
        self.nodes.get(id as usize)
    }

    /// The steps of one node's own event.
    pub fn steps(&self, id: u32) -> &[Taken] {
        let n = self.node(id);
        &self.taken[n.start as usize..(n.start + n.len) as usize]
    }

    /// The children of `id`, in the order they were first taken.
    pub fn children(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let mut c = self.node(id).first_child;
        std::iter::from_fn(move || {
            let this = c;
            (this != NONE).then(|| {
                c = self.nodes[this as usize].next_sibling;
                this
            })
        })
    }

    /// The child of `at` reached by exactly `steps`, taken before, or a new one.
    pub fn child(&mut self, at: u32, steps: &[Taken], time: SimTime, label: Label) -> u32 {
        if let Some(c) = self.children(at).find(|&c| self.steps(c) == steps) {
            return c;
        }
        let id = self.nodes.len() as u32;
        let parent = self.node(at);
        let by_hand = steps.iter().any(|t| !t.default);
        let node = TreeNode {
            parent: at,
            first_child: NONE,
            next_sibling: NONE,
            branch: NONE,
            start: self.taken.len() as u32,
            len: steps.len() as u32,
            depth: parent.depth + steps.len() as u32,
            events: parent.events + 1,
            branches: parent.branches + steps.iter().filter(|t| !t.default).count() as u32,
            by_hand,
            time,
            label,
        };
        self.taken.extend_from_slice(steps);
        self.nodes.push(node);
        let had = self.children(at).take(2).count();
        match self.children(at).last() {
            Some(last) => self.nodes[last as usize].next_sibling = id,
            None => self.nodes[at as usize].first_child = id,
        }
        let (chain, index) = self.place[at as usize];
        if had == 0 {
            // `at` ends its chain: the child goes on with it.
            let ids = &mut self.chains[chain as usize];
            self.place.push((chain, ids.len() as u32));
            ids.push(id);
            return id;
        }
        if had == 1 {
            // `at` forks now: what came after it in its chain becomes a chain of its own.
            let tail = self.chains[chain as usize].split_off(index as usize + 1);
            let k = self.chains.len() as u32;
            for (j, &n) in tail.iter().enumerate() {
                self.place[n as usize] = (k, j as u32);
            }
            self.chains.push(tail);
        }
        self.place.push((self.chains.len() as u32, 0));
        self.chains.push(vec![id]);
        id
    }

    /// Makes `child` the one "forward" goes to from `id`.
    pub fn set_branch(&mut self, id: u32, child: u32) {
        self.nodes[id as usize].branch = child;
    }

    /// Marks the path from the start to `id` as the current branch (where "forward" goes).
    pub fn follow(&mut self, id: u32) {
        let mut c = id;
        while let Some(p) = self.get(c).map(|n| n.parent).filter(|&p| p != NONE) {
            self.nodes[p as usize].branch = c;
            c = p;
        }
    }

    /// The nodes from the start (excluded) to `id` (included).
    pub fn line(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.node(id).events as usize);
        let mut c = id;
        while c != 0 && c != NONE {
            out.push(c);
            c = self.node(c).parent;
        }
        out.reverse();
        out
    }

    /// Every step from the start to `id`.
    pub fn path(&self, id: u32) -> Vec<Taken> {
        let mut out = Vec::with_capacity(self.node(id).depth as usize);
        for n in self.line(id) {
            out.extend_from_slice(self.steps(n));
        }
        out
    }

    /// True when `a` is `b` or lies on the path from the start to `b`.
    pub fn leads_to(&self, a: u32, b: u32) -> bool {
        let target = self.node(a).events;
        let mut c = b;
        while c != NONE && self.node(c).events > target {
            c = self.node(c).parent;
        }
        c == a
    }

    /// Bytes it holds, estimated.
    pub fn memory(&self) -> u64 {
        (self.nodes.capacity() * std::mem::size_of::<TreeNode>()
            + self.taken.capacity() * std::mem::size_of::<Taken>()
            + self.place.capacity() * std::mem::size_of::<(u32, u32)>()
            + self
                .chains
                .iter()
                .map(|c| c.capacity() * 4 + 24)
                .sum::<usize>()) as u64
    }

    /// What the page is shown of the tree, standing at `at`: its cost grows with the chains and
    /// the items shown, not with the events explored.
    pub fn view(&self, at: u32, names: &[String]) -> TreeView {
        // The chains the path to `at` runs through: wholly, but for `at`'s own, up to `at`.
        let (at_chain, at_index) = self.place[at as usize];
        let mut on_path = vec![false; self.chains.len()];
        let mut c = at_chain;
        loop {
            on_path[c as usize] = true;
            let head = self.chains[c as usize][0];
            match self.node(head).parent {
                NONE => break,
                p => c = self.place[p as usize].0,
            }
        }
        let mut chains = Vec::new();
        let mut left = 0;
        // Depth first from the start's chain: a chain's branches are the chains of the children
        // of its last node, in the order they were first taken.
        let mut stack: Vec<(u32, u32)> = vec![(self.place[0].0, 0)];
        while let Some((chain, level)) = stack.pop() {
            if chains.len() == MAX_CHAINS {
                left += 1;
                continue;
            }
            let ids = &self.chains[chain as usize];
            let last = *ids.last().expect("a chain is never empty");
            let fork: Vec<u32> = self.children(last).collect();
            for k in fork.into_iter().rev() {
                stack.push((self.place[k as usize].0, level + 1));
            }
            let path_to = match (chain == at_chain, on_path[chain as usize]) {
                (true, _) => Some(at_index as usize),
                (false, true) => Some(ids.len() - 1),
                (false, false) => None,
            };
            let here = (chain == at_chain).then_some(at_index as usize);
            chains.push(self.chain_view(ids, level, here, path_to, names));
        }
        let now = self.node(at);
        TreeView {
            at,
            events: now.events,
            forward: (now.branch != NONE).then_some(now.branch),
            states: self.nodes.len(),
            chains,
            more: left,
        }
    }

    /// One chain as shown: its ends and the events around `here` (the current one, if in it)
    /// one item each, every run between them one fold; the items up to `path_to` lie on the
    /// path to the current state.
    fn chain_view(
        &self,
        ids: &[u32],
        level: u32,
        here: Option<usize>,
        path_to: Option<usize>,
        names: &[String],
    ) -> ChainView {
        let n = ids.len();
        let mut spans = vec![(0, SHOWN.min(n)), (n.saturating_sub(SHOWN), n)];
        if let Some(h) = here {
            spans.push((h.saturating_sub(SHOWN), (h + SHOWN + 1).min(n)));
        }
        spans.sort_unstable();
        let on_path = |i: usize| path_to.is_some_and(|p| i <= p);
        let mut items = Vec::new();
        let mut i = 0;
        for (from, to) in spans {
            if from > i {
                // A fold is one item, which goes to the event in its middle.
                let mid = (i + from) / 2;
                let node = self.node(ids[mid]);
                items.push(ItemView {
                    id: ids[mid],
                    gap: from - i,
                    t: node.time.0,
                    l: String::new(),
                    hand: false,
                    path: on_path(mid),
                });
            }
            for (k, &id) in ids.iter().enumerate().take(to).skip(i.max(from)) {
                let node = self.node(id);
                items.push(ItemView {
                    id,
                    gap: 0,
                    t: node.time.0,
                    l: node.label.text(names),
                    hand: node.by_hand,
                    path: on_path(k),
                });
            }
            i = i.max(to);
        }
        let head = self.node(ids[0]);
        ChainView {
            from: (head.parent != NONE).then_some(head.parent),
            level,
            n,
            items,
        }
    }
}

/// The tree as the page shows it.
#[derive(Serialize, PartialEq, Clone, Debug)]
pub struct TreeView {
    /// The node the session stands at.
    at: u32,
    /// Events from the start to it.
    events: u32,
    /// The node "forward" goes to, if the current branch goes on.
    forward: Option<u32>,
    /// States explored in all.
    states: usize,
    /// The chains of events, depth first.
    chains: Vec<ChainView>,
    /// Chains not shown (past the most the page is sent).
    more: usize,
}

/// One chain of events: a run of nodes each with one child, folded to its ends.
#[derive(Serialize, PartialEq, Clone, Debug)]
struct ChainView {
    /// The node it branches from (none for the chain from the start).
    from: Option<u32>,
    /// How deep it is nested (branches from the start to it).
    level: u32,
    /// Events in it.
    n: usize,
    items: Vec<ItemView>,
}

/// One event of a chain, or a fold of `gap` events (shown as the one in its middle).
#[derive(Serialize, PartialEq, Clone, Debug)]
struct ItemView {
    id: u32,
    #[serde(skip_serializing_if = "is_zero")]
    gap: usize,
    t: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    l: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    hand: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    path: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
