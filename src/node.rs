//! The sans-IO node API: a protocol node reacts to start, messages and timers through a `Context`.
//!
//! A node never performs I/O. It writes its effects (sends, timers, history records) into the
//! context, and the engine carries them out. After a crash the engine rebuilds the node from its
//! durable storage alone, so volatile state vanishes by construction.

use crate::history::{History, Op, OpId};
use crate::sim::rng::{SimRng, Streams};
use crate::storage::Storage;
use crate::time::{Duration, SimTime};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;

/// A node's index in the cluster; names live in the `Roster`.
#[derive(
    Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct NodeId(pub u32);

/// Hashes as its index does, or, inside `hashing_renamed`, as the index it is renamed to.
impl Hash for NodeId {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let id = if RENAMING.with(std::cell::Cell::get) {
            RENAMED.with(|r| r.borrow().get(self.index()).copied().unwrap_or(self.0))
        } else {
            self.0
        };
        id.hash(h)
    }
}

thread_local! {
    /// Whether `hashing_renamed` is running on this thread.
    static RENAMING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// What each index hashes as meanwhile.
    static RENAMED: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with every `NodeId` hashing as `names[id]` (the exhaustive search's symmetry
/// reduction hashes a state as if its interchangeable nodes had traded names).
#[doc(hidden)]
pub fn hashing_renamed<R>(names: &[u32], f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            RENAMING.with(|r| r.set(self.0));
        }
    }
    let before = RENAMING.with(|r| r.replace(true));
    let saved = RENAMED.with(|r| std::mem::replace(&mut *r.borrow_mut(), names.to_vec()));
    let _restore = Restore(before);
    let out = f();
    RENAMED.with(|r| *r.borrow_mut() = saved);
    out
}

impl NodeId {
    /// The index as a `usize`, for vectors indexed by node.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A set of nodes that hashes alike whatever order its members' names sort in: the
/// exhaustive search's symmetry reduction (`check --symmetry`) hashes a state with its
/// interchangeable nodes renamed, and a `BTreeSet<NodeId>` would hash their new names in the
/// old order. Keep sets of interchangeable nodes in one of these.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeSet(std::collections::BTreeSet<NodeId>);

impl NodeSet {
    /// An empty set.
    pub fn new() -> Self {
        NodeSet::default()
    }

    /// Adds `node`; false if it was there already.
    pub fn insert(&mut self, node: NodeId) -> bool {
        self.0.insert(node)
    }

    /// Removes `node`; false if it was not there.
    pub fn remove(&mut self, node: NodeId) -> bool {
        self.0.remove(&node)
    }

    /// Whether `node` is in the set.
    pub fn contains(&self, node: NodeId) -> bool {
        self.0.contains(&node)
    }

    /// How many nodes the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members, smallest id first.
    pub fn iter(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<NodeId> for NodeSet {
    fn from_iter<I: IntoIterator<Item = NodeId>>(iter: I) -> Self {
        NodeSet(iter.into_iter().collect())
    }
}

/// The count and a sum of each member's own hash: no order in it.
impl Hash for NodeSet {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hasher as _;
        let sum = self.0.iter().fold(0u64, |acc, n| {
            // Fixed keys: the same on every run and every machine.
            let mut one = std::hash::DefaultHasher::new();
            n.hash(&mut one);
            acc.wrapping_add(one.finish())
        });
        self.0.len().hash(h);
        sum.hash(h);
    }
}

/// A timer handle, used to cancel it.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TimerId(pub u64);

/// Every node a scenario declares: each node's name, role and whether it starts as a spare
/// (a machine that exists but has not joined; `Fault::Join` brings it in), fixed for a run.
/// Who is a member *now* is the engine's (`Context::members`).
///
/// Shared, not copied, by a run's copies (the exhaustive search clones a run per state).
#[derive(Clone, Debug, Default)]
pub struct Roster {
    names: std::sync::Arc<[String]>,
    roles: std::sync::Arc<[String]>,
    /// Empty when no node is a spare (the common case); else one flag per node.
    spares: std::sync::Arc<[bool]>,
}

impl Roster {
    /// Builds a roster from (name, role) pairs; node ids follow the order given; no spares.
    pub fn new(members: impl IntoIterator<Item = (String, String)>) -> Self {
        let (names, roles): (Vec<String>, Vec<String>) = members.into_iter().unzip();
        Roster {
            names: names.into(),
            roles: roles.into(),
            spares: Vec::new().into(),
        }
    }

    /// Builds a roster from (name, role, spare) triples; node ids follow the order given.
    pub fn with_spares(nodes: impl IntoIterator<Item = (String, String, bool)>) -> Self {
        let mut names = Vec::new();
        let mut roles = Vec::new();
        let mut spares = Vec::new();
        for (name, role, spare) in nodes {
            names.push(name);
            roles.push(role);
            spares.push(spare);
        }
        if !spares.contains(&true) {
            spares.clear();
        }
        Roster {
            names: names.into(),
            roles: roles.into(),
            spares: spares.into(),
        }
    }

    /// True when the node starts as a spare: declared, not booted, not a member until it joins.
    #[inline]
    pub fn is_spare(&self, id: NodeId) -> bool {
        self.spares.get(id.index()).copied().unwrap_or(false)
    }

    /// True when some node starts as a spare.
    pub fn has_spares(&self) -> bool {
        !self.spares.is_empty()
    }

    /// Each node's place in the membership at the start: spares spare, the rest members.
    pub fn initial_states(&self) -> Vec<MemberState> {
        self.ids()
            .map(|id| {
                if self.is_spare(id) {
                    MemberState::Spare
                } else {
                    MemberState::Member
                }
            })
            .collect()
    }

    /// Every spare node with `role` (all roles for `None`), in id order.
    pub fn spares(&self, role: Option<&str>) -> Vec<NodeId> {
        self.ids()
            .filter(|id| self.is_spare(*id) && role.is_none_or(|r| self.role(*id) == r))
            .collect()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every node id in order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.names.len() as u32).map(NodeId)
    }

    /// The node's name, as written in the scenario.
    pub fn name(&self, id: NodeId) -> &str {
        self.names
            .get(id.index())
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The node's role.
    pub fn role(&self, id: NodeId) -> &str {
        self.roles
            .get(id.index())
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// All node names in id order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The id of the node called `name`.
    pub fn by_name(&self, name: &str) -> Option<NodeId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u32))
    }

    /// Every node with `role` that is a member from the start (spares left out), in id order:
    /// the cluster a protocol is set up with. `Context::members` is the membership now.
    pub fn members(&self, role: &str) -> Vec<NodeId> {
        self.ids()
            .filter(|id| self.role(*id) == role && !self.is_spare(*id))
            .collect()
    }

    /// Every node with `role`, spares included, in id order.
    pub fn with_role(&self, role: &str) -> Vec<NodeId> {
        self.ids().filter(|id| self.role(*id) == role).collect()
    }

    /// The distinct roles, in order of first appearance.
    pub fn roles(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for r in self.roles.iter() {
            if !seen.contains(&r.as_str()) {
                seen.push(r);
            }
        }
        seen
    }
}

/// A node's final state as key -> value text, read by convergence checkers.
pub type Snapshot = BTreeMap<String, String>;

// ANCHOR: node_trait
/// A protocol node: plain data plus handlers that react through a `Context`.
pub trait Node: Sized + 'static {
    /// The messages nodes of this protocol exchange.
    type Msg: Clone + fmt::Debug + Hash;
    /// The tags a node puts on its timers.
    type Timer: Clone + fmt::Debug + Hash;
    /// The values a node keeps in durable storage.
    type Stored: Clone + fmt::Debug;

    /// Called when the node boots, first and after every restart.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>);

    /// Called when a message from `from` arrives.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);

    /// Called when a timer set earlier fires.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer);

    /// Called when the cluster's membership changes (a node joined, was asked to leave, left,
    /// or was replaced), on every member that is up, the node named included. The default
    /// ignores it; a node that was asked to leave goes when it calls `Context::depart` or when
    /// its grace period ends.
    fn on_roster_change(&mut self, ctx: &mut Context<'_, Self>, change: RosterChange) {
        let _ = (ctx, change);
    }

    /// The node's state at the end of the run, for convergence checks; `None` if not a replica.
    fn snapshot(&self) -> Option<Snapshot> {
        None
    }

    /// The node's state in a few lines for a person (the debugger's node panel); `None`: the
    /// protocol does not describe its nodes.
    fn describe(&self) -> Option<String> {
        None
    }

    /// The node's state as a tree for the debugger's node panel (`describe::Describe`):
    /// labelled fields the page folds, live state first, configuration last, node ids shown
    /// by name. The default is `describe`'s text as one field; `None`: not described.
    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        self.describe().map(crate::describe::Describe::text)
    }

    /// Bytes the node holds on the heap beyond its own size (its vectors, maps and logs), a
    /// rough count: the run's memory budget sees it when the node boots, and a scenario whose
    /// nodes would not fit is refused before it runs. Default 0: not counted.
    fn heap_bytes(&self) -> u64 {
        0
    }

    /// How long this node takes to handle `msg` under the capacity model, given the time the
    /// scenario's `service` distribution drew (`drawn`); the default takes it as drawn. A
    /// protocol whose messages cost differently (a batch, a scan) scales it here.
    fn service_time(&self, msg: &Self::Msg, drawn: Duration) -> Duration {
        let _ = msg;
        drawn
    }

    /// The size of `msg` on the wire, for links with a bandwidth; the default is the size of
    /// the message type in memory.
    fn message_bytes(msg: &Self::Msg) -> u64 {
        let _ = msg;
        std::mem::size_of::<Self::Msg>() as u64
    }
}
// ANCHOR_END: node_trait

/// Builds a node from its id and durable storage, at boot and after every crash.
///
/// A function of its arguments only (`Fn`, not `FnMut`): a replayed or searched run calls it
/// in another order and from other threads (`check --threads`), and must get the same nodes.
pub type NodeFactory<N> =
    Box<dyn Fn(NodeId, &Roster, &Storage<<N as Node>::Stored>) -> N + Send + Sync>;

/// An effect a handler asked for, carried out by the engine after the handler returns.
#[derive(Debug)]
pub enum Effect<M, T> {
    /// Send `msg` to `to` through the network.
    Send {
        /// Destination node.
        to: NodeId,
        /// The message.
        msg: M,
    },
    /// Fire `timer` after `after` of the node's local time.
    SetTimer {
        /// Handle for cancellation.
        id: TimerId,
        /// Delay on the node's own clock.
        after: Duration,
        /// The tag passed back to `on_timer`.
        timer: T,
    },
    /// Cancel a timer set earlier.
    CancelTimer(TimerId),
    /// Leave the cluster now (`Context::depart`).
    Depart,
}

/// A change of the cluster's membership, told to every member (`Node::on_roster_change`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RosterChange {
    /// The node joined: it boots and is a member from now on.
    Joined(NodeId),
    /// The node was asked to leave: it is still a member and still reachable until it
    /// departs (`Context::depart`, or when its grace period ends).
    Leaving(NodeId),
    /// The node is gone: messages to it are lost from now on.
    Left(NodeId),
    /// `old` is gone for good (its disk with it) and `new` joined in its place.
    Replaced {
        /// The node that is gone.
        old: NodeId,
        /// The node that took its place.
        new: NodeId,
    },
}

/// The node's name from `names` (its id, if it has none there).
pub fn name_in(names: &[String], id: &NodeId) -> String {
    names
        .get(id.index())
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

impl RosterChange {
    /// The change in words, naming nodes by `names`.
    pub fn describe(&self, names: &[String]) -> String {
        let n = |id: &NodeId| name_in(names, id);
        match self {
            RosterChange::Joined(x) => format!("{} joined", n(x)),
            RosterChange::Leaving(x) => format!("{} is leaving", n(x)),
            RosterChange::Left(x) => format!("{} left", n(x)),
            RosterChange::Replaced { old, new } => format!("{} replaced {}", n(new), n(old)),
        }
    }
}

/// Where a node stands in the cluster's membership.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Declared but not joined: not booted, unreachable.
    Spare,
    /// A member.
    Member,
    /// Asked to leave, still a member until it departs.
    Leaving,
    /// Gone for good: unreachable, never restarted, never joins again (a new machine is a
    /// spare of another name).
    Left,
}

impl MemberState {
    /// True for a member (leaving or not).
    #[inline]
    pub fn is_member(self) -> bool {
        matches!(self, MemberState::Member | MemberState::Leaving)
    }
}

/// What a node can do while it handles an event: send, set timers, read its clock, draw random
/// numbers, use durable storage and record client operations.
pub struct Context<'a, N: Node> {
    pub(crate) id: NodeId,
    pub(crate) true_now: SimTime,
    pub(crate) local_now: SimTime,
    pub(crate) roster: &'a Roster,
    /// Each node's place in the membership, when it can change in this run (`None`: everyone
    /// the roster declares, spares aside, is a member for the whole run).
    pub(crate) membership: Option<&'a [MemberState]>,
    /// The streams and which is this node's: taken only when the node draws, so a copy of the
    /// run that shares them (`Streams`) keeps sharing through handlers that draw nothing.
    pub(crate) rng: (&'a mut Streams, usize),
    pub(crate) storage: &'a mut Storage<N::Stored>,
    pub(crate) effects: &'a mut Vec<Effect<N::Msg, N::Timer>>,
    pub(crate) history: &'a mut History,
    pub(crate) next_timer: &'a mut u64,
    pub(crate) notes: Option<&'a mut Vec<(NodeId, SimTime, String)>>,
    /// Set while an exhaustive search runs the handler: `choose` takes its values from here
    /// instead of the node's stream.
    pub(crate) choices: Option<&'a mut Choices>,
    /// Set when the handler reads its clock (`now`): what it did may then rest on the time,
    /// which an untimed search's state leaves out.
    pub(crate) time_read: Option<&'a std::cell::Cell<bool>>,
}

/// The values an exhaustive search makes `Context::choose` return in one handler call, and what
/// the handler asked: one entry per call, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// The values to return, call by call (0 past the end).
    pub forced: Vec<u32>,
    /// How many values each call offered.
    pub offered: Vec<u32>,
    /// The value each call returned.
    pub made: Vec<u32>,
}

impl Choices {
    /// The next vector of values in the search's order, or none when every one was tried: the
    /// last call that has a larger value left takes it, and the calls after it start again.
    pub fn next(&self) -> Option<Vec<u32>> {
        let i = (0..self.made.len())
            .rev()
            .find(|&i| self.made[i] + 1 < self.offered[i])?;
        let mut next = self.made[..i].to_vec();
        next.push(self.made[i] + 1);
        Some(next)
    }
}

impl<'a, N: Node> Context<'a, N> {
    /// This context for another node type with the same messages, timers and storage (the
    /// node inside a wrapper such as `sim::SharedNode`).
    pub(crate) fn as_node<M>(&mut self) -> Context<'_, M>
    where
        M: Node<Msg = N::Msg, Timer = N::Timer, Stored = N::Stored>,
    {
        Context {
            id: self.id,
            true_now: self.true_now,
            local_now: self.local_now,
            roster: self.roster,
            membership: self.membership,
            rng: (&mut *self.rng.0, self.rng.1),
            storage: &mut *self.storage,
            effects: &mut *self.effects,
            history: &mut *self.history,
            next_timer: &mut *self.next_timer,
            notes: self.notes.as_deref_mut(),
            choices: self.choices.as_deref_mut(),
            time_read: self.time_read,
        }
    }

    /// This node's id.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The time on this node's own clock (skewed and drifting if a fault says so).
    #[inline]
    pub fn now(&self) -> SimTime {
        if let Some(read) = self.time_read {
            read.set(true);
        }
        self.local_now
    }

    /// Every node the scenario declares, spares included (`members` is who is in the
    /// cluster now).
    #[inline]
    pub fn roster(&self) -> &Roster {
        self.roster
    }

    /// The nodes with `role` that are members now (joined, not yet departed), in id order.
    pub fn members(&self, role: &str) -> Vec<NodeId> {
        match self.membership {
            None => self.roster.members(role),
            Some(states) => self
                .roster
                .ids()
                .filter(|id| {
                    self.roster.role(*id) == role
                        && states.get(id.index()).is_some_and(|s| s.is_member())
                })
                .collect(),
        }
    }

    /// True when this run's membership can change (spares, or membership faults): a
    /// protocol that follows the membership need only look when it is.
    #[inline]
    pub fn membership_changes(&self) -> bool {
        self.membership.is_some()
    }

    /// Where `node` stands in the membership now.
    pub fn member_state(&self, node: NodeId) -> MemberState {
        match self.membership {
            None if self.roster.is_spare(node) => MemberState::Spare,
            None => MemberState::Member,
            Some(states) => states
                .get(node.index())
                .copied()
                .unwrap_or(MemberState::Spare),
        }
    }

    /// Leaves the cluster once this handler returns: the node stops, and messages to it are
    /// lost from then on (what it sent before it went still travels). A node asked to leave
    /// calls it when it has handed over what it must; any member may.
    pub fn depart(&mut self) {
        self.effects.push(Effect::Depart);
    }

    /// This node's own random generator.
    #[inline]
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng.0.get_mut(self.rng.1)
    }

    /// A nondeterministic choice of one of `n` values (0 to n - 1; `n` of 0 counts as 1): in a
    /// run it is drawn from the node's stream; the exhaustive search (`clustersim check`) tries
    /// every value, as a branch of its own.
    pub fn choose(&mut self, n: usize) -> usize {
        let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        match self.choices.as_deref_mut() {
            Some(c) => {
                let at = c.made.len();
                let value = c.forced.get(at).copied().unwrap_or(0).min(n - 1);
                c.offered.push(n);
                c.made.push(value);
                value as usize
            }
            None => {
                use rand::Rng;
                self.rng().random_range(0..n) as usize
            }
        }
    }

    /// This node's durable storage.
    #[inline]
    pub fn storage(&mut self) -> &mut Storage<N::Stored> {
        if self.storage.crash_armed() {
            self.storage.note_effects(self.effects.len());
        }
        self.storage
    }

    /// Sends `msg` to `to`; the network decides when (and whether) it arrives.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Fires `timer` after `after` on this node's clock; returns a handle to cancel it.
    #[inline]
    pub fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        self.effects.push(Effect::SetTimer { id, after, timer });
        id
    }

    /// Cancels a timer; cancelling a fired or unknown timer does nothing.
    #[inline]
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer(id));
    }

    /// Records the invocation of a client operation; returns its id for completion.
    pub fn invoke(&mut self, op: Op) -> OpId {
        self.history.invoke(self.true_now, self.id, op)
    }

    /// Records that operation `id` succeeded, with its result in `op`.
    pub fn ok(&mut self, id: OpId, op: Op) {
        if !self.storage.dead_in_handler() {
            self.history.ok(self.true_now, self.id, id, op);
        }
    }

    /// Records that operation `id` certainly did not take effect.
    pub fn fail(&mut self, id: OpId, op: Op) {
        if !self.storage.dead_in_handler() {
            self.history.fail(self.true_now, self.id, id, op);
        }
    }

    /// Records that operation `id` may or may not have taken effect (timeout, lost reply).
    pub fn info(&mut self, id: OpId, op: Op) {
        if !self.storage.dead_in_handler() {
            self.history.info(self.true_now, self.id, id, op);
        }
    }

    /// Records a system event that is not a client call (a task processed, a message delivered);
    /// nothing once the node crashed inside this handler (`Fault::CrashAtSync`).
    pub fn event(&mut self, op: Op) {
        if !self.storage.dead_in_handler() {
            self.history.event(self.true_now, self.id, op);
        }
    }

    /// A coverage goal: something that should happen in some runs ("a follower truncates a
    /// conflicting entry"). Counts whether `cond` holds here; `explore` reports which goals no
    /// run reached (`--until-covered` searches until all are). Returns `cond`.
    #[inline]
    pub fn sometimes(&mut self, goal: &'static str, cond: bool) -> bool {
        self.history.sometimes(goal, cond, self.true_now, self.id)
    }

    /// A coverage goal reached whenever this line runs: `sometimes(goal, true)`.
    #[inline]
    pub fn reachable(&mut self, goal: &'static str) {
        self.sometimes(goal, true);
    }

    /// Adds a human-readable note to the trace; the text is built only when the trace is kept.
    pub fn note(&mut self, text: impl FnOnce() -> String) {
        if let Some(notes) = self.notes.as_deref_mut() {
            notes.push((self.id, self.true_now, text()));
        }
    }
}
