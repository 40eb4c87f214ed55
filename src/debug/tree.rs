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
    pub(super) fn of(events: &[TraceEvent], names: &[String]) -> Label {
        let mut op = None;
        for e in events {
            match &e.kind {
                TraceKind::Deliver { from, to, .. } => return Label::Deliver(*from, *to),
                TraceKind::Timer { node, .. } => return Label::Timer(*node),
                TraceKind::Start { node } => return Label::Boot(*node),
                TraceKind::Fault { fault } => return Label::Text(fault.describe(names).into()),
                TraceKind::Drop { from, to, .. } => return Label::Lost(*from, *to),
                TraceKind::Op { node, .. } => op = op.or(Some(*node)),
                _ => {}
            }
        }
        op.map_or(Label::Text("nothing visible".into()), Label::Op)
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
    pub label: Label,
}

/// Every state explored in a session, and the steps between them.
#[derive(Debug)]
pub(super) struct Tree {
    nodes: Vec<TreeNode>,
    taken: Vec<Taken>,
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
        match self.children(at).last() {
            Some(last) => self.nodes[last as usize].next_sibling = id,
            None => self.nodes[at as usize].first_child = id,
        }
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
            + self.taken.capacity() * std::mem::size_of::<Taken>()) as u64
    }

    /// What the page is shown of the tree, standing at `at`.
    pub fn view(&self, at: u32, names: &[String]) -> TreeView {
        // The path from the start to `at`, marked once (a walk per item would cost its depth).
        let mut marked = vec![false; self.nodes.len()];
        let mut c = at;
        while c != NONE {
            marked[c as usize] = true;
            c = self.node(c).parent;
        }
        let on_path = |id: u32| marked[id as usize];
        let mut chains = Vec::new();
        let mut left = 0;
        // Chains depth first: each starts at the start or at a child of a node with more than
        // one, and runs down while a node has exactly one child.
        let mut stack: Vec<(u32, u32)> = vec![(0, 0)];
        while let Some((head, level)) = stack.pop() {
            if chains.len() == MAX_CHAINS {
                left += 1;
                continue;
            }
            let mut ids = vec![head];
            let mut c = head;
            loop {
                let mut kids = self.children(c);
                match (kids.next(), kids.next()) {
                    (Some(only), None) => {
                        ids.push(only);
                        c = only;
                    }
                    _ => break,
                }
            }
            let fork: Vec<u32> = self.children(c).collect();
            for k in fork.into_iter().rev() {
                stack.push((k, level + 1));
            }
            chains.push(self.chain_view(&ids, level, at, names, &on_path));
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

    fn chain_view(
        &self,
        ids: &[u32],
        level: u32,
        at: u32,
        names: &[String],
        on_path: &impl Fn(u32) -> bool,
    ) -> ChainView {
        let n = ids.len();
        let mut shown = vec![false; n];
        for (i, s) in shown.iter_mut().enumerate() {
            *s = i < SHOWN || i + SHOWN >= n;
        }
        if let Some(here) = ids.iter().position(|&id| id == at) {
            for s in shown
                .iter_mut()
                .take((here + SHOWN + 1).min(n))
                .skip(here.saturating_sub(SHOWN))
            {
                *s = true;
            }
        }
        let mut items = Vec::new();
        let mut i = 0;
        while i < n {
            if shown[i] {
                let id = ids[i];
                let node = self.node(id);
                items.push(ItemView {
                    id,
                    gap: 0,
                    t: node.time.0,
                    l: node.label.text(names),
                    hand: node.by_hand,
                    path: on_path(id),
                });
                i += 1;
            } else {
                let end = (i..n).find(|&j| shown[j]).unwrap_or(n);
                // A fold is one item, which goes to the event in its middle.
                let mid = ids[(i + end) / 2];
                let node = self.node(mid);
                items.push(ItemView {
                    id: mid,
                    gap: end - i,
                    t: node.time.0,
                    l: String::new(),
                    hand: false,
                    path: on_path(mid),
                });
                i = end;
            }
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
