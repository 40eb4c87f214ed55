//! The Wing-Gong-Lowe search with Porcupine's memoisation, for any `Model`, and the smallest
//! window of a history that has no linearization.
//!
//! The search walks one partition's call and return events in history order, tentatively
//! linearizing calls the model accepts and backtracking when it reaches the return of a call not
//! yet linearized; (linearized set, state) pairs already explored are cached so no configuration
//! is searched twice. Calls without a return (indeterminate: `info`, or never completed) may take
//! effect at any point after their call, or never. The budget counts search steps, never time.

use super::model::Model;
use std::collections::HashSet;

/// One operation of one partition, as the search sees it.
#[derive(Clone, Debug)]
pub struct LinOp<O> {
    /// The operation as the model steps it.
    pub op: O,
    /// Position of its call among the history's events.
    pub call: usize,
    /// Position of its return; `None` for an indeterminate operation.
    pub ret: Option<usize>,
    /// The caller's index for this operation (reported in windows).
    pub origin: usize,
}

/// Doubly linked list of call and return events, with entries removable and restorable.
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
}

/// Searches `ops` from each of the `inits` states: `Some(true)` if a linearization exists,
/// `Some(false)` if none does, `None` if `budget` ran out.
pub fn search<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    inits: &[M::State],
    budget: &mut u64,
) -> Option<bool> {
    match search_within(model, ops, inits, budget, u64::MAX) {
        Searched::Decided(v) => Some(v),
        Searched::OutOfSteps | Searched::OutOfMemory => None,
    }
}

/// How a search bounded in steps and memory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Searched {
    /// Linearizable (`true`) or not (`false`).
    Decided(bool),
    /// The step budget ran out first.
    OutOfSteps,
    /// The memo and stack would have held more than the memory allowed.
    OutOfMemory,
}

/// As `search`, holding at most about `max_bytes` in its memo of explored configurations and
/// its stack (each memo entry holds a bit per operation: a long history fills memory fast).
pub fn search_within<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    inits: &[M::State],
    budget: &mut u64,
    max_bytes: u64,
) -> Searched {
    for start in inits {
        match search_from(model, ops, start.clone(), budget, max_bytes, &mut 0, None) {
            Searched::Decided(false) => {}
            other => return other,
        }
    }
    Searched::Decided(false)
}

/// As `search_within` from one `init`, also saying where the search got stuck: the latest
/// position of a return it could not get past (0 when it never stopped at one). When the
/// search fails, the prefix of the history up to that return is the shortest that fails.
pub fn search_frontier<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    init: M::State,
    budget: &mut u64,
    max_bytes: u64,
) -> (Searched, usize) {
    let mut frontier = 0;
    let searched = search_from(model, ops, init, budget, max_bytes, &mut frontier, None);
    (searched, frontier)
}

/// Where a failed search got furthest, as Porcupine shows a non-linearizable history: the
/// longest order of operations that fits the model, the state the model is in after it, and
/// the operation that must take effect next (its return comes before any other can) and
/// cannot, or can but leaves no order for the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    /// The operations of that order, as their `origin`s, in the order they take effect.
    pub order: Vec<usize>,
    /// The model's state after them.
    pub state: String,
    /// The operation whose return comes next, as its `origin`.
    pub blocked: usize,
    /// The model would take it then (but no order of the rest goes on from there); false when
    /// it cannot take effect at all after the order.
    pub fits: bool,
}

/// Where a failed search of `ops` from any of `inits` got furthest (`Stuck`, the state in
/// words as `show` says it): the latest return it stopped at, and of those, the longest order;
/// `None` if the search found a linearization or did not end within `max_steps`.
pub fn explain<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    inits: &[M::State],
    max_steps: u64,
    show: &dyn Fn(&M::State) -> String,
) -> Option<Stuck> {
    let mut budget = max_steps;
    let mut best: Option<(usize, Stuck)> = None;
    for init in inits {
        let searched = search_from(
            model,
            ops,
            init.clone(),
            &mut budget,
            u64::MAX,
            &mut 0,
            Some((&mut best, show)),
        );
        if searched != Searched::Decided(false) {
            return None;
        }
    }
    best.map(|(_, stuck)| stuck)
}

/// Where `search_from` keeps the furthest point it reached (its return's position and the
/// `Stuck` there), and how it says a state in words.
type Recorder<'a, S> = (&'a mut Option<(usize, Stuck)>, &'a dyn Fn(&S) -> String);

/// One search from `init`. `frontier` ends at the latest position of a return the search
/// stopped at, over all it tried: the prefix of the history up to that return has no
/// linearization when the search fails, and the prefix before it has one. With `stuck`, it
/// also keeps where it got furthest (that return's position, and the order and state then).
fn search_from<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    init: M::State,
    budget: &mut u64,
    max_bytes: u64,
    frontier: &mut usize,
    mut stuck: Option<Recorder<'_, M::State>>,
) -> Searched {
    let n = ops.len();
    // Node 2i is op i's call, 2i+1 its return; node 2n is the list head.
    let head = 2 * n;
    let nil = usize::MAX;
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(2 * n);
    for (i, o) in ops.iter().enumerate() {
        order.push((o.call, 2 * i));
        if let Some(r) = o.ret {
            order.push((r, 2 * i + 1));
        }
    }
    order.sort_unstable();
    let mut ev = Events {
        next: vec![nil; 2 * n + 1],
        prev: vec![nil; 2 * n + 1],
    };
    let mut last = head;
    for &(_, node) in &order {
        ev.next[last] = node;
        ev.prev[node] = last;
        last = node;
    }
    let mut remaining = ops.iter().filter(|o| o.ret.is_some()).count();
    let words = n.div_ceil(64).max(1);
    let mut linearized = Linearized::new(words);
    // Membership tests only, never iterated: its order cannot reach a verdict.
    let mut cache: HashSet<(MemoKey, M::State)> = HashSet::new();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    // What the memo holds: each entry's own words, plus what every entry holds besides (the
    // hash set's slot overhead included; a state's heap is not seen, so this is a lower bound).
    let entry_bytes = (std::mem::size_of::<(MemoKey, M::State)>() + 8) as u64;
    let mut cache_bytes = 0u64;
    let frame_bytes = std::mem::size_of::<(usize, M::State)>() as u64;
    let fixed = (2 * n as u64 + 1) * 16 + words as u64 * 8;
    let mut state = init;
    let mut entry = ev.next[head];
    while remaining > 0 {
        if *budget == 0 {
            return Searched::OutOfSteps;
        }
        *budget -= 1;
        let held = fixed
            .saturating_add(cache_bytes)
            .saturating_add((stack.len() as u64).saturating_mul(frame_bytes));
        if held > max_bytes {
            return Searched::OutOfMemory;
        }
        if entry != nil && entry.is_multiple_of(2) {
            let i = entry / 2;
            if let Some(s) = model.step(&state, &ops[i].op) {
                linearized.set(i);
                let key = linearized.key();
                let key_bytes = key.1.len() as u64 * 8;
                if cache.insert((key, s.clone())) {
                    cache_bytes = cache_bytes.saturating_add(entry_bytes + key_bytes);
                    stack.push((i, std::mem::replace(&mut state, s)));
                    if ops[i].ret.is_some() {
                        remaining -= 1;
                    }
                    lift(&mut ev, i, ops[i].ret.is_some());
                    entry = ev.next[head];
                    continue;
                }
                linearized.clear(i);
            }
            entry = ev.next[entry];
            continue;
        }
        // The end of the list (only indeterminate calls were left to try), or a return for an
        // operation not yet linearized: undo the last choice.
        if entry != nil {
            if let Some(r) = ops[entry / 2].ret {
                *frontier = (*frontier).max(r);
                if let Some((best, show)) = stuck.as_mut() {
                    let further = best
                        .as_ref()
                        .is_none_or(|(at, b)| (r, stack.len()) > (*at, b.order.len()));
                    if further {
                        **best = Some((
                            r,
                            Stuck {
                                order: stack.iter().map(|(i, _)| ops[*i].origin).collect(),
                                state: show(&state),
                                blocked: ops[entry / 2].origin,
                                fits: model.step(&state, &ops[entry / 2].op).is_some(),
                            },
                        ));
                    }
                }
            }
        }
        let Some((i, prev_state)) = stack.pop() else {
            return Searched::Decided(false);
        };
        state = prev_state;
        linearized.clear(i);
        if ops[i].ret.is_some() {
            remaining += 1;
        }
        unlift(&mut ev, i, ops[i].ret.is_some());
        entry = ev.next[2 * i];
    }
    Searched::Decided(true)
}

/// A memo key's linearized set: its count of full leading words, then the words after them.
type MemoKey = (u32, Box<[u64]>);

/// The set of linearized operations, a bit each, with what a memo key needs kept at hand: how
/// many leading words are full and the last word with a bit set. A key is the count of full
/// words and the words after them up to the last set one, so a history that is mostly behind
/// the search (a long sequential one) costs a few words per entry, not a bit per operation.
struct Linearized {
    bits: Vec<u64>,
    /// Words `bits[..full]` are all ones.
    full: usize,
    /// Every word past `top` is zero (`top` may lag behind a cleared word: keys trim it).
    top: usize,
}

impl Linearized {
    fn new(words: usize) -> Self {
        Linearized {
            bits: vec![0; words],
            full: 0,
            top: 0,
        }
    }

    fn set(&mut self, i: usize) {
        let w = i / 64;
        self.bits[w] |= 1 << (i % 64);
        self.top = self.top.max(w);
        while self.full < self.bits.len() && self.bits[self.full] == u64::MAX {
            self.full += 1;
        }
    }

    fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.bits[w] &= !(1 << (i % 64));
        self.full = self.full.min(w);
        while self.top > 0 && self.bits[self.top] == 0 {
            self.top -= 1;
        }
    }

    /// The set as a memo key: (full words, the words after them up to the last set one).
    fn key(&self) -> MemoKey {
        let end = (self.top + 1).max(self.full);
        (self.full as u32, self.bits[self.full..end].into())
    }
}

fn unlink(ev: &mut Events, node: usize) {
    let (p, n) = (ev.prev[node], ev.next[node]);
    ev.next[p] = n;
    if n != usize::MAX {
        ev.prev[n] = p;
    }
}

fn relink(ev: &mut Events, node: usize) {
    let (p, n) = (ev.prev[node], ev.next[node]);
    ev.next[p] = node;
    if n != usize::MAX {
        ev.prev[n] = node;
    }
}

fn lift(ev: &mut Events, i: usize, has_ret: bool) {
    unlink(ev, 2 * i);
    if has_ret {
        unlink(ev, 2 * i + 1);
    }
}

fn unlift(ev: &mut Events, i: usize, has_ret: bool) {
    if has_ret {
        relink(ev, 2 * i + 1);
    }
    relink(ev, 2 * i);
}

/// The smallest window of a partition that has no linearization, within `max_steps` search
/// steps in all: the shortest failing prefix, then (when the model can say which states the
/// window may open in) its latest start that still fails from every one of them. Past the
/// budget the window found so far, which is known to fail, is returned.
pub fn smallest_window<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    max_steps: u64,
) -> Vec<LinOp<M::Op>> {
    smallest_window_within(model, ops, max_steps, u64::MAX)
}

/// As `smallest_window`, each search holding at most about `max_bytes`; a search that would
/// hold more ends the narrowing as a spent budget does.
pub fn smallest_window_within<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    max_steps: u64,
    max_bytes: u64,
) -> Vec<LinOp<M::Op>> {
    failing_window(model, ops, max_steps, max_bytes).ops
}

/// A window of a partition known to have no linearization.
#[derive(Clone, Debug)]
pub struct Window<T> {
    /// Its operations.
    pub ops: Vec<T>,
    /// True when the narrowing ran to its end (the smallest window it can find); false when the
    /// budget ran out first (a larger window, still failing).
    pub smallest: bool,
    /// Search steps the narrowing used.
    pub steps: u64,
    /// Where a search of the window got furthest (operations as their `origin`s), when the
    /// window is small enough to explain.
    pub stuck: Option<Stuck>,
}

impl<T> Window<T> {
    /// The same window with each operation mapped by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Window<U> {
        Window {
            ops: self.ops.into_iter().map(f).collect(),
            smallest: self.smallest,
            steps: self.steps,
            stuck: self.stuck,
        }
    }
}

/// Most operations a window may have to be explained (`Window::stuck`).
const EXPLAIN_OPS: usize = 64;
/// Most search steps an explanation takes.
const EXPLAIN_STEPS: u64 = 200_000;

/// `smallest_window_within`, saying whether the narrowing finished within `max_steps` and how
/// many steps it used.
pub fn failing_window<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    max_steps: u64,
    max_bytes: u64,
) -> Window<LinOp<M::Op>> {
    failing_window_after(model, ops, None, max_steps, max_bytes)
}

/// As `failing_window`, given the `frontier` a failed search of the partition reported
/// (`search_frontier`), which saves searching the whole partition again.
pub fn failing_window_after<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    frontier: Option<usize>,
    max_steps: u64,
    max_bytes: u64,
) -> Window<LinOp<M::Op>> {
    failing_window_shown(model, ops, frontier, max_steps, max_bytes, &|s| {
        model.show_state(s, &super::model::Interner::default())
    })
}

/// As `failing_window_after`, the model's state in the window's explanation said by `show`
/// (a model whose values were interned needs its `Interner` to say them).
pub fn failing_window_shown<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    frontier: Option<usize>,
    max_steps: u64,
    max_bytes: u64,
    show: &dyn Fn(&M::State) -> String,
) -> Window<LinOp<M::Op>> {
    let search = |model: &M, ops: &[LinOp<M::Op>], inits: &[M::State], budget: &mut u64| {
        match search_within(model, ops, inits, budget, max_bytes) {
            Searched::Decided(v) => Some(v),
            _ => None,
        }
    };
    let mut budget = max_steps;
    let done = |window: Vec<LinOp<M::Op>>, smallest: bool, budget: u64| Window {
        ops: window,
        smallest,
        steps: max_steps - budget,
        stuck: None,
    };
    // The first return at which the prefix cannot be linearized: the one return a search of
    // the whole partition never got past (the prefixes before it have linearizations).
    let frontier = match frontier {
        Some(f) => f,
        None => match search_frontier(model, ops, model.init(), &mut budget, max_bytes) {
            (Searched::Decided(false), f) => f,
            // Linearizable after all, or the budget ran out: the whole partition is the window.
            _ => return done(ops.to_vec(), false, budget),
        },
    };
    let prefix = truncate(model, ops, frontier);
    // The latest start such that the suffix fails from every state the model could be in.
    let (mut lo, mut hi) = (0usize, prefix.len().saturating_sub(1));
    let mut finished = true;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let Some((window, inits)) = suffix(model, &prefix, mid) else {
            break;
        };
        match search(model, &window, &inits, &mut budget) {
            Some(false) => lo = mid,
            Some(true) => hi = mid - 1,
            None => {
                finished = false;
                break;
            }
        }
    }
    let (window, inits) = suffix(model, &prefix, lo).unwrap_or((prefix, vec![model.init()]));
    let stuck = (window.len() <= EXPLAIN_OPS)
        .then(|| explain(model, &window, &inits, EXPLAIN_STEPS, show))
        .flatten();
    Window {
        stuck,
        ..done(window, finished, budget)
    }
}

/// The operations called before event `cut`; those returning after it become indeterminate
/// (and those the model says constrain nothing without a result are dropped).
pub(crate) fn truncate<M: Model>(model: &M, ops: &[LinOp<M::Op>], cut: usize) -> Vec<LinOp<M::Op>> {
    ops.iter()
        .filter(|o| o.call < cut)
        .filter_map(|o| match o.ret {
            Some(r) if r <= cut => Some(o.clone()),
            _ if model.is_read(&o.op) => None,
            _ => Some(LinOp {
                ret: None,
                ..o.clone()
            }),
        })
        .collect()
}

/// Operations from the `start`-th call on (plus earlier ones still running then), with the
/// states the model says the window may open in; `None` if the model cannot tell.
#[allow(clippy::type_complexity)]
fn suffix<M: Model>(
    model: &M,
    ops: &[LinOp<M::Op>],
    start: usize,
) -> Option<(Vec<LinOp<M::Op>>, Vec<M::State>)> {
    let mut sorted: Vec<&LinOp<M::Op>> = ops.iter().collect();
    sorted.sort_by_key(|o| o.call);
    let Some(first) = sorted.get(start) else {
        return Some((Vec::new(), vec![model.init()]));
    };
    let open = first.call;
    let mut window = Vec::new();
    let mut before = Vec::new();
    for (i, o) in sorted.iter().enumerate() {
        if i >= start || o.ret.is_none_or(|r| r > open) {
            window.push((*o).clone());
        } else {
            before.push(&o.op);
        }
    }
    let inside: Vec<&M::Op> = window.iter().map(|o| &o.op).collect();
    let inits = model.window_inits(&before, &inside)?;
    Some((window, inits))
}
